/*
 * esys_seal.c — the TPM side of tpm/seal.c: a 32-byte data key sealed in a
 * keyedHash object under the storage parent, created and unsealed through
 * an HMAC session salted with the parent and with parameter encryption, so
 * the key never crosses the TPM bus in clear (TPM 2.0 Library Part 1
 * sessions, Part 3 TPM2_Create and TPM2_Unseal).
 *
 * The object has no userWithAuth: only a policy session unseals it (Part 1
 * 19.7 "Enhanced Authorization"), so stock tools with a password session
 * cannot.  Its policy is PolicyPCR on PCR 7, the Secure Boot state (TCG PC
 * Client Platform Firmware Profile: the Secure Boot variables and
 * authorities are measured there), when the platform measures it (PCR 7
 * not all zero): another OS or Secure Boot turned off cannot unseal.  A
 * platform that never extends PCR 7 gets the fallback, PolicyAuthValue
 * with a random 32-byte auth value kept in the blob: this only stops a
 * plain tpm2_unseal, not someone who reads the file (logged as such).
 * Blob: TPM2B_PUBLIC | TPM2B_PRIVATE | mode u8 | (authvalue mode) auth[32].
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "tpm/esys_int.h"

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/common/log.h"
#include "platform/common/secmem.h"

/* ---- sealed data key ------------------------------------------------- */

#define MODE_PCR7 1
#define MODE_AUTHVALUE 2
#define AUTH_LEN 32

/*
 * A sealed data object: keyedHash with no scheme, neither sign nor decrypt
 * (so the TPM only ever returns its data through TPM2_Unseal), authPolicy
 * set at seal time, no userWithAuth (a policy session only).  noDA: a
 * lockout caused elsewhere should not make the refresh token unreadable,
 * and its auth value (fallback) is 256 random bits.
 */
/* Templates keep the shape of the structure they fill (not clang-formatted). */
// clang-format off
static const TPM2B_PUBLIC tmpl_sealed = {
    .publicArea = {
        .type = TPM2_ALG_KEYEDHASH,
        .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_NODA,
        .parameters.keyedHashDetail.scheme = {.scheme = TPM2_ALG_NULL},
    },
};

/* PCR 7 of the SHA-256 bank. */
static const TPML_PCR_SELECTION pcr7_sel = {
    .count = 1,
    .pcrSelections = {{.hash = TPM2_ALG_SHA256, .sizeofSelect = 3, .pcrSelect = {0x80, 0, 0}}},
};
// clang-format on

static bool
sealed_pub_ok(const TPM2B_PUBLIC *p)
{
    const TPMT_PUBLIC *a = &p->publicArea;

    return a->type == TPM2_ALG_KEYEDHASH && a->nameAlg == TPM2_ALG_SHA256 &&
           a->objectAttributes == tmpl_sealed.publicArea.objectAttributes &&
           a->authPolicy.size == 32 && a->parameters.keyedHashDetail.scheme.scheme == TPM2_ALG_NULL;
}

/*
 * Has PCR 7 (SHA-256) ever been extended on this boot?  pcr (32 bytes)
 * gets its value when it has been.
 */
static enum lj_rc
pcr7_extended(struct esys *e, bool *ext, unsigned char pcr[32])
{
    UINT32 upd = 0;
    TPML_PCR_SELECTION *sel = NULL;
    TPML_DIGEST *vals = NULL;
    TSS2_RC r;

    *ext = false;
    r = Esys_PCR_Read(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pcr7_sel, &upd, &sel,
                      &vals);
    if (r != TSS2_RC_SUCCESS)
        return esys_rc(r, "pcr_read", false);
    if (vals->count == 1 && vals->digests[0].size == 32) {
        for (UINT16 i = 0; i < 32; i++)
            *ext = *ext || vals->digests[0].buffer[i] != 0;
        memcpy(pcr, vals->digests[0].buffer, 32);
    }
    Esys_Free(sel);
    Esys_Free(vals);
    return LJ_OK;
}

/*
 * A policy session with mode's assertion run, salted with salt_key, that
 * encrypts the response parameter (Unseal's outData) with AES-128-CFB.
 */
static enum lj_rc
policy_session(struct esys *e, ESYS_TR salt_key, int mode, ESYS_TR *sess)
{
    TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB};
    TPM2B_DIGEST empty = {0};
    TSS2_RC r;

    r = Esys_StartAuthSession(e->ctx, salt_key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                              ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, sess);
    if (r != TSS2_RC_SUCCESS) {
        *sess = ESYS_TR_NONE;
        return esys_rc(r, "start_policy_session", false);
    }
    if (mode == MODE_PCR7)
        r = Esys_PolicyPCR(e->ctx, *sess, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &empty,
                           &pcr7_sel);
    else
        r = Esys_PolicyAuthValue(e->ctx, *sess, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE);
    if (r == TSS2_RC_SUCCESS)
        r = Esys_TRSess_SetAttributes(e->ctx, *sess,
                                      TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION, 0xff);
    if (r != TSS2_RC_SUCCESS) {
        esys_flush(e, sess);
        return esys_rc(r, "policy", false);
    }
    return LJ_OK;
}

/*
 * The policy digest of mode, for the template's authPolicy, computed here
 * as a trial session would (TPM 2.0 Library Part 3, 23.7 PolicyPCR and
 * 23.18 PolicyAuthValue; Part 1, 19.7.6): starting from 32 zero bytes,
 *   PolicyAuthValue: SHA-256(0^32 || TPM_CC_PolicyAuthValue)
 *   PolicyPCR:       SHA-256(0^32 || TPM_CC_PolicyPCR || pcrs || SHA-256(PCR 7))
 * with pcrs the marshalled TPML_PCR_SELECTION and pcr7 the value read by
 * pcr7_extended (what the TPM itself would hash).  It saves the four TPM
 * commands of a trial session; the TPM checks the same digest at unseal.
 */
static enum lj_rc
policy_digest(int mode, const unsigned char pcr7[32], TPM2B_DIGEST *out)
{
    unsigned char buf[32 + 4 + sizeof(TPML_PCR_SELECTION) + 32], cc[4];
    size_t off = 0;
    uint32_t code = mode == MODE_PCR7 ? TPM2_CC_PolicyPCR : TPM2_CC_PolicyAuthValue;
    wc_Sha256 sha;
    bool ok;

    memset(buf, 0, 32);
    off = 32;
    cc[0] = (unsigned char)(code >> 24);
    cc[1] = (unsigned char)(code >> 16);
    cc[2] = (unsigned char)(code >> 8);
    cc[3] = (unsigned char)code;
    memcpy(buf + off, cc, 4);
    off += 4;
    if (mode == MODE_PCR7) {
        if (Tss2_MU_TPML_PCR_SELECTION_Marshal(&pcr7_sel, buf, sizeof(buf) - 32, &off) !=
                TSS2_RC_SUCCESS ||
            wc_InitSha256(&sha) != 0)
            return lj_err_set(LJ_ERR_INTERNAL, TPM_MOD, "event=policy_digest_failed");
        ok = wc_Sha256Update(&sha, pcr7, 32) == 0 && wc_Sha256Final(&sha, buf + off) == 0;
        wc_Sha256Free(&sha);
        if (!ok)
            return lj_err_set(LJ_ERR_INTERNAL, TPM_MOD, "event=policy_digest_failed");
        off += 32;
    }
    if (wc_InitSha256(&sha) != 0)
        return lj_err_set(LJ_ERR_INTERNAL, TPM_MOD, "event=policy_digest_failed");
    ok = wc_Sha256Update(&sha, buf, (word32)off) == 0 && wc_Sha256Final(&sha, out->buffer) == 0;
    wc_Sha256Free(&sha);
    if (!ok)
        return lj_err_set(LJ_ERR_INTERNAL, TPM_MOD, "event=policy_digest_failed");
    out->size = 32;
    return LJ_OK;
}

/* TPM_RC_POLICY_FAIL (format 1, any session number): the policy did not match. */
static bool
is_policy_fail(TSS2_RC r)
{
    return (r & 0xffff0000u) == 0 && (r & TPM2_RC_FMT1) != 0 &&
           (r & 0xbfu) == (TPM2_RC_POLICY_FAIL & 0xbfu);
}

/*
 * An HMAC session salted with the parent key (ECDH with the ECC SRK),
 * AES-128-CFB parameter encryption: the data key crosses the TPM bus
 * encrypted (Create's inSensitive, Unseal's outData), not in clear.
 */
static enum lj_rc
session_start(struct esys *e, ESYS_TR salt_key, TPMA_SESSION attrs, ESYS_TR *sess)
{
    TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB};
    TSS2_RC r;

    r = Esys_StartAuthSession(e->ctx, salt_key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                              ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256, sess);
    if (r != TSS2_RC_SUCCESS) {
        *sess = ESYS_TR_NONE;
        return esys_rc(r, "start_session", false);
    }
    r = Esys_TRSess_SetAttributes(e->ctx, *sess, attrs | TPMA_SESSION_CONTINUESESSION, 0xff);
    if (r != TSS2_RC_SUCCESS) {
        esys_flush(e, sess);
        return esys_rc(r, "session_attributes", false);
    }
    return LJ_OK;
}

enum lj_rc
esys_salted_session(struct esys *e, ESYS_TR salt_key, TPMA_SESSION attrs, ESYS_TR *sess)
{
    enum lj_rc rc;

    if (!e->hold || salt_key == ESYS_TR_NONE || salt_key != e->srk)
        return session_start(e, salt_key, attrs, sess);
    if (e->hsess == ESYS_TR_NONE) {
        rc = session_start(e, salt_key, attrs, &e->hsess);
        if (rc != LJ_OK)
            return rc;
    } else if (Esys_TRSess_SetAttributes(e->ctx, e->hsess, attrs | TPMA_SESSION_CONTINUESESSION,
                                         0xff) != TSS2_RC_SUCCESS) {
        esys_flush(e, &e->hsess);
        return lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=session_attributes_failed");
    }
    *sess = e->hsess;
    return LJ_OK;
}

void
esys_session_put(struct esys *e, ESYS_TR *sess, enum lj_rc rc)
{
    if (*sess != ESYS_TR_NONE && *sess == e->hsess) {
        *sess = ESYS_TR_NONE;
        if (rc != LJ_OK)
            esys_flush(e, &e->hsess);
        return;
    }
    esys_flush(e, sess);
}

enum lj_rc
esys_seal_key(void *be, const char *state_dir, const unsigned char key[32], char parent[32],
              struct tpm_blob *blob)
{
    struct esys *e = be;
    TPM2B_SENSITIVE_CREATE *sens = NULL;
    TPM2B_PUBLIC tmpl = tmpl_sealed;
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    TPM2B_PRIVATE *opriv = NULL;
    TPM2B_PUBLIC *opub = NULL;
    TPM2B_CREATION_DATA *cdata = NULL;
    TPM2B_DIGEST *chash = NULL;
    TPMT_TK_CREATION *ctk = NULL;
    TPM2B_DIGEST *rnd = NULL;
    ESYS_TR ph = ESYS_TR_NONE, sess = ESYS_TR_NONE;
    bool transient = true, measured = false;
    unsigned char pcr7[32] = {0};
    unsigned char buf[sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE) + 1 + AUTH_LEN];
    size_t off = 0;
    int mode;
    TSS2_RC r;
    enum lj_rc rc = LJ_OK;

    (void)state_dir;
    if (esys_has_persistent_srk(e, &rc))
        snprintf(parent, 32, "0x%08x", SRK_PERSISTENT);
    else if (rc != LJ_OK)
        return rc;
    else
        snprintf(parent, 32, "%s", TPM_PARENT_ECC_TEMPLATE);
    rc = pcr7_extended(e, &measured, pcr7);
    if (rc != LJ_OK)
        return rc;
    mode = measured ? MODE_PCR7 : MODE_AUTHVALUE;
    if (measured)
        lj_log(LJ_LOG_INFO, TPM_MOD, "event=seal_policy policy=pcr7");
    else
        lj_log(LJ_LOG_WARN, TPM_MOD,
               "event=seal_policy policy=authvalue reason=pcr7_unextended "
               "note=\"no measured boot: bound to this TPM only, not to the boot state\"");
    rc = policy_digest(mode, pcr7, &tmpl.publicArea.authPolicy);
    if (rc != LJ_OK)
        return rc;
    sens = calloc(1, sizeof(*sens));
    if (sens == NULL)
        return LJ_ERR_NOMEM;
    sens->sensitive.data.size = 32;
    memcpy(sens->sensitive.data.buffer, key, 32);
    if (mode == MODE_AUTHVALUE) {
        r = Esys_GetRandom(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, AUTH_LEN, &rnd);
        if (r != TSS2_RC_SUCCESS || rnd->size != AUTH_LEN) {
            rc = r != TSS2_RC_SUCCESS ? esys_rc(r, "get_random", false)
                                      : lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=random_short");
            goto out;
        }
        sens->sensitive.userAuth.size = AUTH_LEN;
        memcpy(sens->sensitive.userAuth.buffer, rnd->buffer, AUTH_LEN);
    }
    rc = esys_parent_get(e, parent, &ph, &transient);
    if (rc != LJ_OK)
        goto out;
    rc = esys_salted_session(e, ph, TPMA_SESSION_DECRYPT, &sess);
    if (rc != LJ_OK)
        goto out;
    r = Esys_Create(e->ctx, ph, sess, ESYS_TR_NONE, ESYS_TR_NONE, sens, &tmpl, &outside, &pcrs,
                    &opriv, &opub, &cdata, &chash, &ctk);
    if (r != TSS2_RC_SUCCESS) {
        rc = esys_rc(r, "seal", false);
        goto out;
    }
    if (!sealed_pub_ok(opub) ||
        Tss2_MU_TPM2B_PUBLIC_Marshal(opub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_PRIVATE_Marshal(opriv, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS ||
        off + 1 + AUTH_LEN > sizeof(buf)) {
        rc = lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=seal_failed reason=unexpected_output");
        goto out;
    }
    buf[off++] = (unsigned char)mode;
    if (mode == MODE_AUTHVALUE) {
        memcpy(buf + off, sens->sensitive.userAuth.buffer, AUTH_LEN);
        off += AUTH_LEN;
    }
    blob->data = malloc(off);
    if (blob->data == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    memcpy(blob->data, buf, off);
    blob->len = off;
out:
    lj_secure_zero(buf, sizeof(buf));
    esys_session_put(e, &sess, rc);
    esys_parent_put(e, &ph, transient);
    lj_secure_free(sens, sizeof(*sens));
    if (rnd != NULL) {
        lj_secure_zero(rnd, sizeof(*rnd));
        Esys_Free(rnd);
    }
    Esys_Free(opriv);
    Esys_Free(opub);
    Esys_Free(cdata);
    Esys_Free(chash);
    Esys_Free(ctk);
    return rc;
}

enum lj_rc
esys_unseal_key(void *be, const char *state_dir, const char *parent, const struct tpm_blob *blob,
                unsigned char key[32])
{
    struct esys *e = be;
    TPM2B_PUBLIC pub;
    TPM2B_PRIVATE priv;
    TPM2B_AUTH auth = {0};
    TPM2B_SENSITIVE_DATA *data = NULL;
    ESYS_TR ph = ESYS_TR_NONE, obj = ESYS_TR_NONE, sess = ESYS_TR_NONE;
    bool transient = true;
    size_t off = 0;
    int mode = 0;
    TSS2_RC r;
    enum lj_rc rc;

    (void)state_dir;
    memset(&pub, 0, sizeof(pub));
    memset(&priv, 0, sizeof(priv));
    if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(blob->data, blob->len, &off, &pub) == TSS2_RC_SUCCESS &&
        Tss2_MU_TPM2B_PRIVATE_Unmarshal(blob->data, blob->len, &off, &priv) == TSS2_RC_SUCCESS &&
        off < blob->len)
        mode = blob->data[off++];
    if ((mode == MODE_AUTHVALUE && off + AUTH_LEN == blob->len) ||
        (mode == MODE_PCR7 && off == blob->len)) {
        if (mode == MODE_AUTHVALUE) {
            auth.size = AUTH_LEN;
            memcpy(auth.buffer, blob->data + off, AUTH_LEN);
        }
    } else {
        mode = 0;
    }
    if (mode == 0 || !sealed_pub_ok(&pub))
        return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD,
                          "event=unseal_failed reason=sealed object malformed");
    rc = esys_parent_get(e, parent, &ph, &transient);
    if (rc != LJ_OK)
        goto out;
    r = Esys_Load(e->ctx, ph, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &priv, &pub, &obj);
    if (r != TSS2_RC_SUCCESS) {
        obj = ESYS_TR_NONE;
        rc = esys_rc(r, "load_sealed", true);
        goto out;
    }
    esys_track(e, obj, &pub);
    if (mode == MODE_AUTHVALUE && Esys_TR_SetAuth(e->ctx, obj, &auth) != TSS2_RC_SUCCESS) {
        rc = lj_err_set(LJ_ERR_INTERNAL, TPM_MOD, "event=unseal_failed reason=set_auth");
        goto out;
    }
    /* Salted by the parent, which is flushed before Unseal (3 object slots). */
    rc = policy_session(e, ph, mode, &sess);
    esys_parent_put(e, &ph, transient);
    if (rc != LJ_OK)
        goto out;
    r = Esys_Unseal(e->ctx, obj, sess, ESYS_TR_NONE, ESYS_TR_NONE, &data);
    if (r != TSS2_RC_SUCCESS && is_policy_fail(r)) {
        rc = lj_err_set(LJ_ERR_AUTH, TPM_MOD,
                        "event=unseal_refused reason=\"boot state changed: PCR 7 is not what it "
                        "was when sealed\" tss2_rc=0x%x",
                        r);
        goto out;
    }
    if (r != TSS2_RC_SUCCESS) {
        rc = esys_rc(r, "unseal", false);
        goto out;
    }
    if (data->size != 32) {
        rc = lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD,
                        "event=unseal_failed reason=unexpected size %u", data->size);
        goto out;
    }
    memcpy(key, data->buffer, 32);
out:
    lj_secure_zero(&auth, sizeof(auth));
    if (data != NULL) {
        lj_secure_zero(data, sizeof(*data));
        Esys_Free(data);
    }
    esys_flush(e, &sess);
    esys_flush(e, &obj);
    esys_parent_put(e, &ph, transient);
    return rc;
}
