/*
 * esys_health.c — the TPM provider's read-only checks and TPM2_Clear: fixed
 * and variable properties, self-test, random bytes, EK certificates read
 * from NV (TCG EK Credential Profile indices), an ephemeral ECC key in the
 * null hierarchy, the count of transient objects, and TPM2_Clear with
 * lockout authorization (TPM 2.0 Library Part 3 commands).  Only
 * esys_clear changes the TPM.
 */
#include "tpm/esys_int.h"

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform/common/elapsed.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"

/* ---- health and factory checks -------------------------------------- */

/* Read `count` tagged properties from `first` into a lookup (up to 64). */
struct props {
    TPM2_PT pt[64];
    UINT32 val[64];
    size_t n;
};

static enum lj_rc
props_read(struct esys *e, TPM2_PT first, UINT32 count, struct props *p)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    TSS2_RC r;
    TPM2_PT next = first;

    p->n = 0;
    /* Bounded: at most 4 round trips for one property group. */
    for (int round = 0; round < 4; round++) {
        r = Esys_GetCapability(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                               TPM2_CAP_TPM_PROPERTIES, next, count, &more, &cap);
        if (r != TSS2_RC_SUCCESS)
            return esys_rc(r, "get_capability", false);
        for (UINT32 i = 0; i < cap->data.tpmProperties.count && i < TPM2_MAX_TPM_PROPERTIES; i++) {
            TPM2_PT pt = cap->data.tpmProperties.tpmProperty[i].property;
            if (pt < first || pt >= first + count || p->n >= 64)
                continue;
            p->pt[p->n] = pt;
            p->val[p->n] = cap->data.tpmProperties.tpmProperty[i].value;
            p->n++;
            next = pt + 1;
        }
        Esys_Free(cap);
        cap = NULL;
        if (more != TPM2_YES || next >= first + count)
            break;
    }
    return LJ_OK;
}

static bool
prop_get(const struct props *p, TPM2_PT pt, UINT32 *v)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->pt[i] == pt) {
            *v = p->val[i];
            return true;
        }
    }
    return false;
}

/* Four big-endian characters of v appended to dst (printable; NULs end). */
static void
chars4(char *dst, size_t dsz, UINT32 v)
{
    size_t len = strlen(dst);

    for (int sh = 24; sh >= 0 && len + 1 < dsz; sh -= 8) {
        unsigned char c = (unsigned char)(v >> sh);
        if (c == 0)
            continue;
        dst[len++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[len] = '\0';
}

static void
trim_right(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
}

enum lj_rc
esys_health(void *be, struct tpm_health *out)
{
    struct esys *e = be;
    struct props fx, var;
    TPM2B_MAX_BUFFER *tdata = NULL;
    TPM2_RC tres = 0;
    UINT32 v = 0;
    TSS2_RC r;
    enum lj_rc rc;

    memset(out, 0, sizeof(*out));
    out->tpm_protected = true;
    rc = props_read(e, TPM2_PT_FIXED, 48, &fx);
    if (rc != LJ_OK)
        return rc;
    rc = props_read(e, TPM2_PT_VAR, 20, &var);
    if (rc != LJ_OK)
        return rc;
    if (prop_get(&fx, TPM2_PT_FAMILY_INDICATOR, &v))
        chars4(out->family, sizeof(out->family), v);
    if (prop_get(&fx, TPM2_PT_MANUFACTURER, &v)) {
        out->manufacturer_id = v;
        chars4(out->manufacturer, sizeof(out->manufacturer), v);
    }
    for (TPM2_PT pt = TPM2_PT_VENDOR_STRING_1; pt <= TPM2_PT_VENDOR_STRING_4; pt++)
        if (prop_get(&fx, pt, &v))
            chars4(out->vendor, sizeof(out->vendor), v);
    trim_right(out->vendor);
    (void)prop_get(&fx, TPM2_PT_FIRMWARE_VERSION_1, &out->firmware1);
    (void)prop_get(&fx, TPM2_PT_FIRMWARE_VERSION_2, &out->firmware2);
    snprintf(out->firmware, sizeof(out->firmware), "%u.%u.%u.%u", out->firmware1 >> 16,
             out->firmware1 & 0xffffu, out->firmware2 >> 16, out->firmware2 & 0xffffu);
    (void)prop_get(&fx, TPM2_PT_LEVEL, &out->spec_level);
    (void)prop_get(&fx, TPM2_PT_REVISION, &out->spec_revision);
    if (prop_get(&var, TPM2_PT_PERMANENT, &v)) {
        out->in_lockout = (v & TPMA_PERMANENT_INLOCKOUT) != 0;
        out->owner_auth_set = (v & TPMA_PERMANENT_OWNERAUTHSET) != 0;
    }
    (void)prop_get(&var, TPM2_PT_LOCKOUT_COUNTER, &out->lockout_counter);
    (void)prop_get(&var, TPM2_PT_MAX_AUTH_FAIL, &out->max_tries);
    (void)prop_get(&var, TPM2_PT_LOCKOUT_INTERVAL, &out->recovery_s);
    (void)prop_get(&var, TPM2_PT_LOCKOUT_RECOVERY, &out->lockout_recovery_s);
    r = Esys_GetTestResult(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tdata, &tres);
    Esys_Free(tdata);
    if (r != TSS2_RC_SUCCESS)
        return esys_rc(r, "get_test_result", false);
    out->self_test_rc = tres;
    out->self_test_ok = tres == TPM2_RC_SUCCESS;
    return LJ_OK;
}

enum lj_rc
esys_selftest(void *be, bool full)
{
    struct esys *e = be;
    TPM2B_MAX_BUFFER *tdata = NULL;
    TPM2_RC tres = 0;
    TSS2_RC r;

    r = Esys_SelfTest(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, full ? TPM2_YES : TPM2_NO);
    if (r != TSS2_RC_SUCCESS)
        return esys_rc(r, "self_test", false);
    r = Esys_GetTestResult(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tdata, &tres);
    Esys_Free(tdata);
    if (r != TSS2_RC_SUCCESS)
        return esys_rc(r, "get_test_result", false);
    if (tres != TPM2_RC_SUCCESS)
        return lj_err_set(LJ_ERR_TPM, TPM_MOD,
                          "event=self_test_failed test_result=0x%x tss2=\"%s\"", tres,
                          Tss2_RC_Decode(tres));
    return LJ_OK;
}

enum lj_rc
esys_random(void *be, unsigned char *buf, size_t n)
{
    struct esys *e = be;
    size_t off = 0;

    /* Bounded: each round returns >= 1 byte or fails; n <= 1024. */
    for (int rounds = 0; off < n && rounds < 1024; rounds++) {
        TPM2B_DIGEST *rnd = NULL;
        size_t want = n - off > 32 ? 32 : n - off;
        TSS2_RC r =
            Esys_GetRandom(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, (UINT16)want, &rnd);
        if (r != TSS2_RC_SUCCESS)
            return esys_rc(r, "get_random", false);
        if (rnd->size == 0 || rnd->size > want) {
            Esys_Free(rnd);
            return lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=get_random_failed reason=bad_size");
        }
        memcpy(buf + off, rnd->buffer, rnd->size);
        off += rnd->size;
        lj_secure_zero(rnd, sizeof(*rnd));
        Esys_Free(rnd);
    }
    return off == n ? LJ_OK : lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=get_random_failed");
}

/* TCG EK Credential Profile 2.x NV indices of EK certificates. */
static const struct {
    TPM2_HANDLE idx;
    const char *kind;
} ek_indices[TPM_EK_CERT_MAX] = {
    {0x01c00002u, "rsa2048"},  {0x01c0000au, "ecc-p256"}, {0x01c00012u, "rsa2048"},
    {0x01c00014u, "ecc-p256"}, {0x01c00016u, "ecc-p384"}, {0x01c00018u, "ecc-p521"},
    {0x01c0001cu, "rsa3072"},  {0x01c0001eu, "rsa4096"},
};

static enum lj_rc
nv_read_all(struct esys *e, TPM2_HANDLE idx, unsigned char **der, size_t *len)
{
    ESYS_TR nv = ESYS_TR_NONE;
    TPM2B_NV_PUBLIC *npub = NULL;
    TPM2B_NAME *nname = NULL;
    unsigned char *buf = NULL;
    UINT16 size, off = 0;
    TSS2_RC r;
    enum lj_rc rc = LJ_OK;

    r = Esys_TR_FromTPMPublic(e->ctx, idx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv);
    if (r != TSS2_RC_SUCCESS) {
        nv = ESYS_TR_NONE;
        rc = esys_rc(r, "nv_open", false);
        goto out;
    }
    r = Esys_NV_ReadPublic(e->ctx, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &npub, &nname);
    if (r != TSS2_RC_SUCCESS) {
        rc = esys_rc(r, "nv_read_public", false);
        goto out;
    }
    size = npub->nvPublic.dataSize;
    if (size == 0 || size > TPM_EK_CERT_BYTES) {
        rc = lj_err_set(LJ_ERR_TOO_BIG, TPM_MOD, "event=nv_read_failed index=0x%08x size=%u", idx,
                        size);
        goto out;
    }
    buf = malloc(size);
    if (buf == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    /* 512-byte chunks: below every TPM's MAX_NV_BUFFER_SIZE. */
    while (off < size) {
        TPM2B_MAX_NV_BUFFER *chunk = NULL;
        UINT16 want = (UINT16)(size - off > 512 ? 512 : size - off);
        r = Esys_NV_Read(e->ctx, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, want, off,
                         &chunk);
        if (r != TSS2_RC_SUCCESS) {
            rc = esys_rc(r, "nv_read", false);
            goto out;
        }
        if (chunk->size != want) {
            Esys_Free(chunk);
            rc = lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=nv_read_failed reason=short_read");
            goto out;
        }
        memcpy(buf + off, chunk->buffer, want);
        off = (UINT16)(off + want);
        Esys_Free(chunk);
    }
    *der = buf;
    *len = size;
    buf = NULL;
out:
    free(buf);
    Esys_Free(npub);
    Esys_Free(nname);
    if (nv != ESYS_TR_NONE)
        Esys_TR_Close(e->ctx, &nv);
    return rc;
}

enum lj_rc
esys_ek_certs(void *be, struct tpm_ek_cert *out, size_t *n)
{
    struct esys *e = be;
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    TSS2_RC r;
    enum lj_rc rc = LJ_OK;

    *n = 0;
    r = Esys_GetCapability(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                           0x01c00000u, 64, &more, &cap);
    if (r != TSS2_RC_SUCCESS)
        return esys_rc(r, "get_capability", false);
    for (size_t k = 0; k < TPM_EK_CERT_MAX && rc == LJ_OK; k++) {
        bool present = false;
        for (UINT32 i = 0; i < cap->data.handles.count && i < TPM2_MAX_CAP_HANDLES; i++)
            present = present || cap->data.handles.handle[i] == ek_indices[k].idx;
        if (!present)
            continue;
        rc = nv_read_all(e, ek_indices[k].idx, &out[*n].der, &out[*n].len);
        if (rc == LJ_OK) {
            out[*n].nv_index = ek_indices[k].idx;
            out[*n].kind = ek_indices[k].kind;
            (*n)++;
        }
    }
    Esys_Free(cap);
    return rc;
}

/* Templates keep the shape of the structure they fill (not clang-formatted). */
// clang-format off
static const TPM2B_PUBLIC tmpl_eph_ecc = {
    .publicArea = {
        .type = TPM2_ALG_ECC,
        .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                            TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                            TPMA_OBJECT_NODA | TPMA_OBJECT_SIGN_ENCRYPT,
        .parameters.eccDetail = {
            .symmetric = {.algorithm = TPM2_ALG_NULL},
            .scheme = {.scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256},
            .curveID = TPM2_ECC_NIST_P256,
            .kdf = {.scheme = TPM2_ALG_NULL},
        },
    },
};
// clang-format on

static bool
ecc_param_copy(unsigned char dst[32], size_t *dlen, const TPM2B_ECC_PARAMETER *p)
{
    if (p->size == 0 || p->size > 32)
        return false;
    memcpy(dst, p->buffer, p->size);
    *dlen = p->size;
    return true;
}

enum lj_rc
esys_eph_sign(void *be, const unsigned char dig[32], struct tpm_ecc_sig *out)
{
    struct esys *e = be;
    TPM2B_SENSITIVE_CREATE sens = {0};
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    TPM2B_PUBLIC *opub = NULL;
    TPM2B_CREATION_DATA *cdata = NULL;
    TPM2B_DIGEST *chash = NULL;
    TPMT_TK_CREATION *ctk = NULL;
    TPM2B_DIGEST digest = {.size = 32};
    TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256};
    TPMT_TK_HASHCHECK ticket = {.tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL};
    TPMT_SIGNATURE *sig = NULL;
    ESYS_TR key = ESYS_TR_NONE;
    struct timespec t0, t1, t2;
    TSS2_RC r;
    enum lj_rc rc = LJ_OK;

    memset(out, 0, sizeof(*out));
    memcpy(digest.buffer, dig, 32);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = Esys_CreatePrimary(e->ctx, ESYS_TR_RH_NULL, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                           &sens, &tmpl_eph_ecc, &outside, &pcrs, &key, &opub, &cdata, &chash,
                           &ctk);
    if (r != TSS2_RC_SUCCESS) {
        key = ESYS_TR_NONE;
        rc = esys_rc(r, "create_ephemeral", false);
        goto out;
    }
    esys_track(e, key, opub);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r = Esys_Sign(e->ctx, key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &digest, &scheme,
                  &ticket, &sig);
    if (r != TSS2_RC_SUCCESS) {
        rc = esys_rc(r, "sign_ephemeral", false);
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t2);
    if (opub->publicArea.type != TPM2_ALG_ECC || sig->sigAlg != TPM2_ALG_ECDSA ||
        !ecc_param_copy(out->x, &out->x_len, &opub->publicArea.unique.ecc.x) ||
        !ecc_param_copy(out->y, &out->y_len, &opub->publicArea.unique.ecc.y) ||
        !ecc_param_copy(out->r, &out->r_len, &sig->signature.ecdsa.signatureR) ||
        !ecc_param_copy(out->s, &out->s_len, &sig->signature.ecdsa.signatureS)) {
        rc =
            lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=sign_ephemeral_failed reason=unexpected_output");
        goto out;
    }
    out->create_ms = lj_ms_between(&t0, &t1);
    out->sign_ms = lj_ms_between(&t1, &t2);
out:
    esys_flush(e, &key);
    Esys_Free(opub);
    Esys_Free(cdata);
    Esys_Free(chash);
    Esys_Free(ctk);
    Esys_Free(sig);
    return rc;
}

enum lj_rc
esys_transient_count(void *be, unsigned *n)
{
    struct esys *e = be;
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    TSS2_RC r;

    r = Esys_GetCapability(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                           TRANSIENT_FIRST, TPM2_MAX_CAP_HANDLES, &more, &cap);
    if (r != TSS2_RC_SUCCESS)
        return esys_rc(r, "get_capability", false);
    *n = 0;
    for (UINT32 i = 0; i < cap->data.handles.count && i < TPM2_MAX_CAP_HANDLES; i++)
        if ((cap->data.handles.handle[i] & 0xff000000u) == TRANSIENT_FIRST)
            (*n)++;
    Esys_Free(cap);
    return LJ_OK;
}

/* ---- TPM2_Clear (factory-reset --clear-tpm) -------------------------- */

/*
 * TPM2_Clear with lockout authorization (empty on swtpm and on TPMs whose
 * owner never set one: Windows sets it only when it takes ownership).  Not
 * retried with the platform hierarchy: firmware disables it before the OS
 * runs on real devices, and a second wrong-auth attempt would count
 * against lockoutAuth's own penalty.  TPM2_Clear changes the storage
 * primary seed, evicts owner persistent objects (0x81000001 included) and
 * flushes transient ones, so every blob made under the old seed fails to
 * load from now on (LJ_ERR_TPM_WRONG_TPM).
 */
enum lj_rc
esys_clear(void *be)
{
    struct esys *e = be;
    TPM2B_AUTH empty = {.size = 0};
    TSS2_RC r, code;

    r = Esys_TR_SetAuth(e->ctx, ESYS_TR_RH_LOCKOUT, &empty);
    if (r != TSS2_RC_SUCCESS)
        return esys_rc(r, "clear", false);
    r = Esys_Clear(e->ctx, ESYS_TR_RH_LOCKOUT, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
    if (r == TSS2_RC_SUCCESS) {
        /* the clear flushed every transient object, a held parent too */
        if (e->srk != ESYS_TR_NONE) {
            esys_untrack(e, e->srk);
            Esys_TR_Close(e->ctx, &e->srk);
            e->srk = ESYS_TR_NONE;
        }
        lj_log(LJ_LOG_INFO, TPM_MOD, "event=tpm_cleared auth=lockout");
        return LJ_OK;
    }
    code = (r & TPM2_RC_FMT1) ? (r & (TPM2_RC_FMT1 | 0x3fu)) : (r & 0xfffu);
    if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER &&
        (code == TPM2_RC_BAD_AUTH || code == TPM2_RC_AUTH_FAIL))
        return lj_err_set(LJ_ERR_AUTH, TPM_MOD,
                          "event=clear_failed tss2_rc=0x%x tss2=\"%s\" reason=the lockout "
                          "authorization is set (clear the TPM from the firmware setup)",
                          r, Tss2_RC_Decode(r));
    if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && code == TPM2_RC_DISABLED)
        return lj_err_set(LJ_ERR_TPM, TPM_MOD,
                          "event=clear_failed tss2_rc=0x%x tss2=\"%s\" reason=TPM2_Clear is "
                          "disabled (disableClear set; clear it from the firmware setup)",
                          r, Tss2_RC_Decode(r));
    return esys_rc(r, "clear", false);
}
