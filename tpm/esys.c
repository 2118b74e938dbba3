/*
 * esys.c — the TPM key provider over tpm2-tss ESAPI (TPM 2.0 Library
 * Part 3 commands through the TCG ESAPI): open/close, the storage parent,
 * and the device and transport keys.  Only tpm/esys*.c include tss2
 * headers (esys_int.h lists them); runs only on the tpm_ctx worker thread.
 *
 * Objects: the parent is the persistent SRK 0x81000001 when the TPM has
 * one, otherwise the ECC P-256 SRK template (restricted decrypt, AES-128-CFB,
 * empty unique, as `tpm2_createprimary -C o -G ecc256:aes128cfb`) created
 * transiently (~1 ms on swtpm).  The unique field must never change: it
 * selects the key.  Children: device key (RSA-2048, sign, unrestricted,
 * scheme NULL: each TPM2_Sign names its scheme, RSASSA-SHA256 for the CSR
 * and the RS256 JWTs, RSAPSS or RSASSA with SHA-256, -384 or -512 for a
 * TLS CertificateVerify; keys made before have scheme RSASSA-SHA256 and
 * still load, but sign RSASSA-SHA256 only)
 * and transport key (RSA-2048, decrypt only, unrestricted, scheme NULL:
 * the OAEP hash is chosen per RSA_Decrypt, SHA-1 for the PRT session key
 * of [MS-OAPXBC] 3.1.5.1.2.3, as himmelblau's msoapxbc_rsa_key_create and
 * msoapxbc_rsa_decipher_session_key do).  This file only ever passes
 * inScheme OAEP, never a raw decryption.  Neither key has an auth value,
 * and both are noDA (TPM 2.0 Library Part 1, "Dictionary Attack
 * Protection"): an empty auth cannot be guessed, and a DA-protected object
 * is counted after every non-orderly shutdown that follows its use, so
 * power cuts or another process's wrong passwords would lock the device
 * key out of signing.
 *
 * Every operation loads what it needs and flushes it before returning; the
 * parent is flushed right after Load.  libtpms has 3 object slots and no
 * resource manager sits behind a direct swtpm TCTI, so stale transient
 * objects of a crashed run are flushed at open.
 */
#include "tpm/esys_int.h"
#include "tpm/esys_crypto.h"

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform/common/elapsed.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "platform/testhook.h"

enum { F_DEV_PUB = 0, F_DEV_PRIV, F_TK_PUB, F_TK_PRIV };
static const char *const esys_files[] = {"device.pub", "device.priv", "transport.pub",
                                         "transport.priv"};

/* Every object here; the key record version changes with these templates (tpm.h). */
#define KEY_ATTRS                                                                                  \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |            \
     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA)

/* Templates keep the shape of the structure they fill (not clang-formatted). */
// clang-format off
static const TPM2B_PUBLIC tmpl_srk_ecc = {
    .publicArea = {
        .type = TPM2_ALG_ECC,
        .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = KEY_ATTRS | TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED |
                            TPMA_OBJECT_DECRYPT,
        .parameters.eccDetail = {
            .symmetric = {.algorithm = TPM2_ALG_AES,
                          .keyBits.aes = 128,
                          .mode.aes = TPM2_ALG_CFB},
            .scheme = {.scheme = TPM2_ALG_NULL},
            .curveID = TPM2_ECC_NIST_P256,
            .kdf = {.scheme = TPM2_ALG_NULL},
        },
    },
};

/*
 * The device key: sign only (no decrypt, so never a raw RSA oracle) and
 * scheme NULL, so TPM2_Sign takes the scheme of each call (Part 3,
 * TPM2_Sign: with the key's scheme NULL, inScheme decides).  RSASSA-PSS
 * is made inside the TPM: libtpms (swtpm) uses a salt as long as the
 * digest, which is what TLS asks for (RFC 8446 4.2.3; OpenSSL's verifier
 * checks RSA_PSS_SALTLEN_DIGEST, wolfSSL's the hash length);
 * tests/unit/test_tpm_sign.c checks it with wolfSSL and
 * tests/integration/test_tpm_sign.sh with `openssl pkeyutl -pkeyopt
 * rsa_pss_saltlen:digest`.  A TPM that follows the older Part 1 text
 * (largest salt) would fail the TLS peer's check, so tpm_rsa_sig_check
 * refuses such a signature by name.  The raw alternative (PSS encoded
 * here, TPM2_RSA_Decrypt with scheme NULL) needs the decrypt attribute on
 * the signing key, which would make it a raw RSA oracle, so it is not used.
 */
static const TPM2B_PUBLIC tmpl_device = {
    .publicArea = {
        .type = TPM2_ALG_RSA,
        .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = KEY_ATTRS | TPMA_OBJECT_SIGN_ENCRYPT,
        .parameters.rsaDetail = {
            .symmetric = {.algorithm = TPM2_ALG_NULL},
            .scheme = {.scheme = TPM2_ALG_NULL},
            .keyBits = 2048,
            .exponent = 0,
        },
    },
};

/* The device key as made before: scheme fixed to RSASSA-SHA256.  Such keys
   still load and sign RSASSA-SHA256; anything else is refused (esys_sign). */
static const TPM2B_PUBLIC tmpl_device_rsassa = {
    .publicArea = {
        .type = TPM2_ALG_RSA,
        .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = KEY_ATTRS | TPMA_OBJECT_SIGN_ENCRYPT,
        .parameters.rsaDetail = {
            .symmetric = {.algorithm = TPM2_ALG_NULL},
            .scheme = {.scheme = TPM2_ALG_RSASSA,
                       .details.rsassa.hashAlg = TPM2_ALG_SHA256},
            .keyBits = 2048,
            .exponent = 0,
        },
    },
};

static const TPM2B_PUBLIC tmpl_transport = {
    .publicArea = {
        .type = TPM2_ALG_RSA,
        .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = KEY_ATTRS | TPMA_OBJECT_DECRYPT,
        .parameters.rsaDetail = {
            .symmetric = {.algorithm = TPM2_ALG_NULL},
            .scheme = {.scheme = TPM2_ALG_NULL},
            .keyBits = 2048,
            .exponent = 0,
        },
    },
};
// clang-format on

/*
 * The one place TSS2 codes become enum lj_rc.  `loading` marks Esys_Load of
 * our blobs, where an integrity failure means "made by another TPM".
 */
enum lj_rc
esys_rc(TSS2_RC r, const char *op, bool loading)
{
    TSS2_RC layer = r & TSS2_RC_LAYER_MASK;
    TSS2_RC base = r & 0xffffu;
    TSS2_RC code;
    const char *text = Tss2_RC_Decode(r);

    if (layer == TSS2_TPM_RC_LAYER || layer == TSS2_RESMGR_TPM_RC_LAYER) {
        code = (r & TPM2_RC_FMT1) ? (r & (TPM2_RC_FMT1 | 0x3fu)) : (r & 0xfffu);
        if (loading && (code == TPM2_RC_INTEGRITY || code == TPM2_RC_BINDING))
            return lj_err_set(LJ_ERR_TPM_WRONG_TPM, TPM_MOD,
                              "event=%s_failed tss2_rc=0x%x tss2=\"%s\" reason=keys belong "
                              "to a different TPM (or the TPM was cleared)",
                              op, r, text);
        if (code == TPM2_RC_LOCKOUT)
            return lj_err_set(LJ_ERR_TPM_LOCKOUT, TPM_MOD,
                              "event=%s_failed tss2_rc=0x%x tss2=\"%s\" reason=TPM is in "
                              "dictionary-attack lockout",
                              op, r, text);
        if (code == TPM2_RC_OBJECT_MEMORY || code == TPM2_RC_OBJECT_HANDLES ||
            code == TPM2_RC_SESSION_MEMORY)
            return lj_err_set(LJ_ERR_TPM_OBJECT_MEMORY, TPM_MOD,
                              "event=%s_failed tss2_rc=0x%x tss2=\"%s\" reason=TPM out of "
                              "object memory",
                              op, r, text);
    } else if (base == TSS2_BASE_RC_IO_ERROR || base == TSS2_BASE_RC_NO_CONNECTION) {
        return lj_err_set(LJ_ERR_TPM_UNREACHABLE, TPM_MOD,
                          "event=%s_failed tss2_rc=0x%x tss2=\"%s\" reason=TPM unreachable", op, r,
                          text);
    }
    return lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=%s_failed tss2_rc=0x%x tss2=\"%s\"", op, r, text);
}

void
esys_flush(struct esys *e, ESYS_TR *h)
{
    TSS2_RC r;

    if (*h == ESYS_TR_NONE)
        return;
    esys_untrack(e, *h);
    r = Esys_FlushContext(e->ctx, *h);
    if (r != TSS2_RC_SUCCESS)
        lj_log(LJ_LOG_WARN, TPM_MOD, "event=flush_failed tss2_rc=0x%x tss2=\"%s\"", r,
               Tss2_RC_Decode(r));
    *h = ESYS_TR_NONE;
}

bool
esys_has_persistent_srk(struct esys *e, enum lj_rc *rc)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    TSS2_RC r;
    bool found = false;

    *rc = LJ_OK;
    /* asked once while the parent is held (a sequence of calls in a row) */
    if (e->hold && e->srk_known)
        return e->srk_persistent;
    r = Esys_GetCapability(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                           SRK_PERSISTENT, 1, &more, &cap);
    if (r != TSS2_RC_SUCCESS) {
        *rc = esys_rc(r, "get_capability", false);
        return false;
    }
    found = cap->data.handles.count >= 1 && cap->data.handles.handle[0] == SRK_PERSISTENT;
    Esys_Free(cap);
    e->srk_known = e->hold;
    e->srk_persistent = found;
    return found;
}

/*
 * Make the parent named by `parent` usable: *h gets its ESYS_TR and
 * *transient whether it must be flushed (else Esys_TR_Close'd).
 */
enum lj_rc
esys_parent_get(struct esys *e, const char *parent, ESYS_TR *h, bool *transient)
{
    TPM2B_SENSITIVE_CREATE sens = {0};
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    TPM2B_PUBLIC *opub = NULL;
    TPM2B_CREATION_DATA *cdata = NULL;
    TPM2B_DIGEST *chash = NULL;
    TPMT_TK_CREATION *ctk = NULL;
    TSS2_RC r;
    enum lj_rc rc = LJ_OK;

    *h = ESYS_TR_NONE;
    if (strcmp(parent, TPM_PARENT_ECC_TEMPLATE) == 0 && e->srk != ESYS_TR_NONE) {
        *h = e->srk; /* held (tpm_parent_hold): esys_parent_put leaves it loaded */
        *transient = false;
        return LJ_OK;
    }
    if (strcmp(parent, TPM_PARENT_ECC_TEMPLATE) == 0) {
        r = Esys_CreatePrimary(e->ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, &sens, &tmpl_srk_ecc, &outside, &pcrs, h, &opub,
                               &cdata, &chash, &ctk);
        Esys_Free(cdata);
        Esys_Free(chash);
        Esys_Free(ctk);
        if (r != TSS2_RC_SUCCESS) {
            Esys_Free(opub);
            *h = ESYS_TR_NONE;
            return esys_rc(r, "create_primary", false);
        }
        esys_track(e, *h, opub);
        Esys_Free(opub);
        *transient = true;
        if (e->hold) {
            e->srk = *h;
            *transient = false;
        }
        return LJ_OK;
    }
    if (strcmp(parent, "0x81000001") != 0)
        return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD, "event=parent_unknown parent=%.31s",
                          parent);
    if (!esys_has_persistent_srk(e, &rc)) {
        if (rc != LJ_OK)
            return rc;
        return lj_err_set(LJ_ERR_TPM_WRONG_TPM, TPM_MOD,
                          "event=parent_missing parent=0x81000001 reason=keys belong to a "
                          "different TPM (or the TPM was cleared)");
    }
    r = Esys_TR_FromTPMPublic(e->ctx, SRK_PERSISTENT, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, h);
    if (r != TSS2_RC_SUCCESS) {
        *h = ESYS_TR_NONE;
        return esys_rc(r, "srk_open", false);
    }
    *transient = false;
    return LJ_OK;
}

void
esys_parent_put(struct esys *e, ESYS_TR *h, bool transient)
{
    if (*h == ESYS_TR_NONE)
        return;
    if (*h == e->srk) { /* held: stays loaded until tpm_parent_hold(false) */
        *h = ESYS_TR_NONE;
        return;
    }
    if (transient)
        esys_flush(e, h);
    else
        Esys_TR_Close(e->ctx, h);
    *h = ESYS_TR_NONE;
}

/* Strict unmarshal: the whole buffer must be exactly one structure. */
static bool
unmarshal_pub(const struct tpm_blob *b, TPM2B_PUBLIC *out)
{
    size_t off = 0;

    memset(out, 0, sizeof(*out));
    return b->data != NULL &&
           Tss2_MU_TPM2B_PUBLIC_Unmarshal(b->data, b->len, &off, out) == TSS2_RC_SUCCESS &&
           off == b->len;
}

static bool
unmarshal_priv(const struct tpm_blob *b, TPM2B_PRIVATE *out)
{
    size_t off = 0;

    memset(out, 0, sizeof(*out));
    return b->data != NULL &&
           Tss2_MU_TPM2B_PRIVATE_Unmarshal(b->data, b->len, &off, out) == TSS2_RC_SUCCESS &&
           off == b->len;
}

/* The public area must be exactly what our template asks for. */
static bool
pub_matches(const TPM2B_PUBLIC *p, const TPM2B_PUBLIC *tmpl)
{
    const TPMT_PUBLIC *a = &p->publicArea, *t = &tmpl->publicArea;
    const TPMS_RSA_PARMS *ar = &a->parameters.rsaDetail, *tr = &t->parameters.rsaDetail;

    return a->type == TPM2_ALG_RSA && a->nameAlg == t->nameAlg &&
           a->objectAttributes == t->objectAttributes && a->authPolicy.size == 0 &&
           ar->symmetric.algorithm == TPM2_ALG_NULL && ar->scheme.scheme == tr->scheme.scheme &&
           ar->scheme.details.anySig.hashAlg == tr->scheme.details.anySig.hashAlg &&
           ar->keyBits == 2048 && (ar->exponent == 0 || ar->exponent == 65537) &&
           a->unique.rsa.size == TPM_RSA_BYTES;
}

static bool
pub_to_rsa(const TPM2B_PUBLIC *p, struct tpm_rsa_pub *out)
{
    UINT32 exp = p->publicArea.parameters.rsaDetail.exponent;
    unsigned char e[4];

    if (exp == 0)
        exp = 65537; /* TPM 2.0 Library Part 2, TPMS_RSA_PARMS: 0 means 2^16 + 1 */
    e[0] = (unsigned char)(exp >> 24);
    e[1] = (unsigned char)(exp >> 16);
    e[2] = (unsigned char)(exp >> 8);
    e[3] = (unsigned char)exp;
    return tpm_rsa_pub_set(out, p->publicArea.unique.rsa.buffer, p->publicArea.unique.rsa.size, e,
                           sizeof(e));
}

/* Copy the first len bytes of a marshalled buffer into b (caller frees b->data). */
static enum lj_rc
blob_take(const unsigned char *buf, size_t len, struct tpm_blob *b)
{
    b->data = malloc(len);
    if (b->data == NULL)
        return LJ_ERR_NOMEM;
    memcpy(b->data, buf, len);
    b->len = len;
    return LJ_OK;
}

static enum lj_rc
blob_marshal_pub(const TPM2B_PUBLIC *p, struct tpm_blob *b)
{
    unsigned char buf[sizeof(TPM2B_PUBLIC) + 8];
    size_t off = 0;

    if (Tss2_MU_TPM2B_PUBLIC_Marshal(p, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        return lj_err_set(LJ_ERR_INTERNAL, TPM_MOD, "event=marshal_failed what=public");
    return blob_take(buf, off, b);
}

static enum lj_rc
blob_marshal_priv(const TPM2B_PRIVATE *p, struct tpm_blob *b)
{
    unsigned char buf[sizeof(TPM2B_PRIVATE) + 8];
    size_t off = 0;

    if (Tss2_MU_TPM2B_PRIVATE_Marshal(p, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        return lj_err_set(LJ_ERR_INTERNAL, TPM_MOD, "event=marshal_failed what=private");
    return blob_take(buf, off, b);
}

static enum lj_rc
esys_open(struct tpm_ctx *t, const char *tcti, void **be)
{
    struct esys *e = NULL;
    TSS2_RC r;
    enum lj_rc rc = LJ_OK;

    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return LJ_ERR_NOMEM;
    e->srk = ESYS_TR_NONE;
    e->hsess = ESYS_TR_NONE;
    e->hkey = ESYS_TR_NONE;
    snprintf(e->tcti_conf, sizeof(e->tcti_conf), "%s", tcti);
    /* the TCTI's init talks to the TPM too (swtpm: connect, locality) */
    tpm_io_begin(t);
    r = Tss2_TctiLdr_Initialize(e->tcti_conf, &e->tcti);
    tpm_io_end(t);
    if (r != TSS2_RC_SUCCESS) {
        /* tpm2-tss 4.1.3's Tss2_TctiLdr_Initialize_Ex (src/tss2-tcti/tctildr.c)
         * returns the TCTI's init failure with *tctiContext still pointing at
         * its calloc()ed, never-initialised loader context: Tss2_TctiLdr_Finalize
         * ignores it (no magic), so it is freed here (LeakSanitizer found it). */
        free(e->tcti);
        e->tcti = NULL;
        rc = lj_err_set(LJ_ERR_TPM_UNREACHABLE, TPM_MOD,
                        "event=tcti_init_failed tcti=\"%s\" tss2_rc=0x%x tss2=\"%s\" "
                        "reason=TPM unreachable",
                        e->tcti_conf, r, Tss2_RC_Decode(r));
        goto out;
    }
    esys_gate_init(&e->gate, e->tcti, t);
    r = Esys_Initialize(&e->ctx, (TSS2_TCTI_CONTEXT *)&e->gate, NULL);
    if (r != TSS2_RC_SUCCESS) {
        e->ctx = NULL;
        rc = esys_rc(r, "esys_init", false);
        goto out;
    }
    /* tpm2-tss is built with --with-crypto=none: ESAPI's crypto is
       wolfCrypt's (tpm/esys_crypto.c); the table is copied. */
    r = Esys_SetCryptoCallbacks(e->ctx, (ESYS_CRYPTO_CALLBACKS *)tpm_esys_crypto_callbacks());
    if (r != TSS2_RC_SUCCESS) {
        rc = esys_rc(r, "esys_crypto", false);
        goto out;
    }
    esys_track_open(e, t->state_dir);
    lj_log(LJ_LOG_INFO, TPM_MOD, "event=tpm_opened tcti=\"%s\" resource_manager=%s", e->tcti_conf,
           e->rm ? "yes" : "no");
    *be = e;
    e = NULL;
out:
    if (e != NULL) {
        if (e->ctx != NULL)
            Esys_Finalize(&e->ctx);
        if (e->tcti != NULL)
            Tss2_TctiLdr_Finalize(&e->tcti);
        free(e);
    }
    return rc;
}

/*
 * tpm_parent_hold: the ECC template parent costs a TPM2_CreatePrimary per
 * call (the larger part of an HMAC or a seal on a discrete TPM); held, it
 * is created once and kept in one object slot until released.
 */
static void
esys_parent_hold(void *be, bool on)
{
    struct esys *e = be;

    e->hold = on;
    e->srk_known = false;
    if (!on) {
        esys_flush(e, &e->hsess);
        esys_hkey_drop(e);
        esys_flush(e, &e->srk);
    }
}

/* tpm_hold_prepare_start: the held salted session, made now (it stays held). */
static void
esys_hold_prepare(void *be)
{
    struct esys *e = be;
    ESYS_TR sess = ESYS_TR_NONE;

    if (!e->hold || e->srk == ESYS_TR_NONE || e->hsess != ESYS_TR_NONE)
        return;
    if (esys_salted_session(e, e->srk, TPMA_SESSION_DECRYPT, &sess) == LJ_OK)
        esys_session_put(e, &sess, LJ_OK);
}

static void
esys_close(void *be)
{
    struct esys *e = be;

    if (e == NULL)
        return;
    if (e->ctx != NULL) {
        esys_flush(e, &e->hsess);
        esys_hkey_drop(e);
        esys_flush(e, &e->srk);
    }
    free(e->hkey_blob);
    if (e->ctx != NULL)
        Esys_Finalize(&e->ctx);
    if (e->tcti != NULL)
        Tss2_TctiLdr_Finalize(&e->tcti);
    free(e);
}

static enum lj_rc
create_one(struct esys *e, ESYS_TR parent, const TPM2B_PUBLIC *tmpl, const char *what,
           struct tpm_blob *pub_b, struct tpm_blob *priv_b, struct tpm_rsa_pub *rsa)
{
    TPM2B_SENSITIVE_CREATE sens = {0};
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    TPM2B_PRIVATE *opriv = NULL;
    TPM2B_PUBLIC *opub = NULL;
    TPM2B_CREATION_DATA *cdata = NULL;
    TPM2B_DIGEST *chash = NULL;
    TPMT_TK_CREATION *ctk = NULL;
    TSS2_RC r;
    enum lj_rc rc;

    r = Esys_Create(e->ctx, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens, tmpl,
                    &outside, &pcrs, &opriv, &opub, &cdata, &chash, &ctk);
    if (r != TSS2_RC_SUCCESS) {
        rc = esys_rc(r, what, false);
        goto out;
    }
    if (!pub_matches(opub, tmpl) || !pub_to_rsa(opub, rsa)) {
        rc = lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=%s_failed reason=unexpected_public", what);
        goto out;
    }
    rc = blob_marshal_pub(opub, pub_b);
    if (rc == LJ_OK)
        rc = blob_marshal_priv(opriv, priv_b);
out:
    Esys_Free(opriv);
    Esys_Free(opub);
    Esys_Free(cdata);
    Esys_Free(chash);
    Esys_Free(ctk);
    return rc;
}

/* Tests of keys made before scheme NULL: LJ_TEST_DEVICE_KEY=rsassa (test builds only). */
static const TPM2B_PUBLIC *
device_template(void)
{
#if LJ_TEST_HOOKS_BUILT
    const char *v = getenv("LJ_TEST_DEVICE_KEY");

    if (lj_test_hooks_enabled() && v != NULL && strcmp(v, "rsassa") == 0) {
        lj_log(LJ_LOG_WARN, TPM_MOD, "event=test_device_key_rsassa");
        return &tmpl_device_rsassa;
    }
#endif
    return &tmpl_device;
}

static enum lj_rc
esys_create(void *be, struct tpm_keyset *ks)
{
    struct esys *e = be;
    ESYS_TR parent = ESYS_TR_NONE;
    bool transient = true;
    enum lj_rc rc = LJ_OK;

    if (esys_has_persistent_srk(e, &rc))
        snprintf(ks->parent, sizeof(ks->parent), "0x%08x", SRK_PERSISTENT);
    else if (rc != LJ_OK)
        return rc;
    else
        snprintf(ks->parent, sizeof(ks->parent), "%s", TPM_PARENT_ECC_TEMPLATE);
    rc = esys_parent_get(e, ks->parent, &parent, &transient);
    if (rc != LJ_OK)
        goto out;
    rc = create_one(e, parent, device_template(), "create_device_key", &ks->files[F_DEV_PUB],
                    &ks->files[F_DEV_PRIV], &ks->dev);
    if (rc != LJ_OK)
        goto out;
    rc = create_one(e, parent, &tmpl_transport, "create_transport_key", &ks->files[F_TK_PUB],
                    &ks->files[F_TK_PRIV], &ks->tk);
out:
    esys_parent_put(e, &parent, transient);
    return rc;
}

/*
 * Load one key under its parent; *key to flush.  sess NULL: the parent
 * goes at once.  Else *sess gets a session salted with the parent, made
 * before the parent goes (esys_salted_session, attrs its parameter
 * encryption; give it back with esys_session_put); a failure leaves
 * *sess ESYS_TR_NONE and no key loaded.
 */
static enum lj_rc
load_key_sess(struct esys *e, const struct tpm_keyset *ks, int pub_i, int priv_i,
              TPMA_SESSION attrs, ESYS_TR *key, ESYS_TR *sess)
{
    TPM2B_PUBLIC pub;
    TPM2B_PRIVATE priv;
    ESYS_TR parent = ESYS_TR_NONE;
    bool transient = true;
    TSS2_RC r;
    enum lj_rc rc;

    *key = ESYS_TR_NONE;
    if (!unmarshal_pub(&ks->files[pub_i], &pub) || !unmarshal_priv(&ks->files[priv_i], &priv))
        return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD, "event=blob_unmarshal_failed file=%s",
                          esys_files[pub_i]);
    rc = esys_parent_get(e, ks->parent, &parent, &transient);
    if (rc != LJ_OK)
        return rc;
    r = Esys_Load(e->ctx, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &priv, &pub, key);
    if (r != TSS2_RC_SUCCESS) {
        esys_parent_put(e, &parent, transient);
        *key = ESYS_TR_NONE;
        return esys_rc(r, "load", true);
    }
    esys_track(e, *key, &pub);
    if (sess != NULL)
        rc = esys_salted_session(e, parent, attrs, sess);
    esys_parent_put(e, &parent, transient);
    if (rc != LJ_OK)
        esys_flush(e, key);
    return rc;
}

/* Load one key under its parent (parent flushed at once); *key to flush. */
static enum lj_rc
load_key(struct esys *e, const struct tpm_keyset *ks, int pub_i, int priv_i, ESYS_TR *key)
{
    return load_key_sess(e, ks, pub_i, priv_i, 0, key, NULL);
}

static enum lj_rc
esys_validate(void *be, struct tpm_keyset *ks)
{
    struct esys *e = be;
    TPM2B_PUBLIC dev, tk;
    ESYS_TR key = ESYS_TR_NONE;
    enum lj_rc rc;

    if (!unmarshal_pub(&ks->files[F_DEV_PUB], &dev) ||
        !(pub_matches(&dev, &tmpl_device) || pub_matches(&dev, &tmpl_device_rsassa)) ||
        !pub_to_rsa(&dev, &ks->dev))
        return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD, "event=blob_invalid file=device.pub");
    if (!unmarshal_pub(&ks->files[F_TK_PUB], &tk) || !pub_matches(&tk, &tmpl_transport) ||
        !pub_to_rsa(&tk, &ks->tk))
        return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD, "event=blob_invalid file=transport.pub");
    /* Prove both load in this TPM under their parent. */
    rc = load_key(e, ks, F_DEV_PUB, F_DEV_PRIV, &key);
    esys_flush(e, &key);
    if (rc != LJ_OK)
        return rc;
    rc = load_key(e, ks, F_TK_PUB, F_TK_PRIV, &key);
    esys_flush(e, &key);
    return rc;
}

/*
 * Did TPM2_Sign refuse the hash itself?  A TPM that does not implement it
 * fails unmarshalling inScheme's hashAlg (TPM_RC_HASH) or finds the
 * scheme unusable (TPM_RC_SCHEME): both are format-1 parameter errors
 * (TPM 2.0 Library Part 2, TPM_RC).
 */
static bool
hash_refused(TSS2_RC r)
{
    TSS2_RC code = r & (TPM2_RC_FMT1 | 0x3fu);

    return (r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && (r & TPM2_RC_FMT1) != 0 &&
           (code == TPM2_RC_HASH || code == TPM2_RC_SCHEME);
}

/* TPM2_Sign of a digest of hash with the device key in scheme alg (RSASSA or RSAPSS). */
static enum lj_rc
sign_digest(struct esys *e, const struct tpm_keyset *ks, TPMI_ALG_SIG_SCHEME alg,
            enum tpm_hash hash, const unsigned char *dig, unsigned char *sig, size_t *sig_len)
{
    TPM2B_DIGEST digest = {.size = (UINT16)hash};
    TPMT_SIG_SCHEME scheme = {.scheme = alg};
    TPMT_TK_HASHCHECK ticket = {.tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL};
    TPMT_SIGNATURE *s = NULL;
    ESYS_TR key = ESYS_TR_NONE;
    TSS2_RC r;
    enum lj_rc rc;

    switch (hash) {
    case TPM_HASH_SHA256: scheme.details.any.hashAlg = TPM2_ALG_SHA256; break;
    case TPM_HASH_SHA384: scheme.details.any.hashAlg = TPM2_ALG_SHA384; break;
    case TPM_HASH_SHA512: scheme.details.any.hashAlg = TPM2_ALG_SHA512; break;
    default: return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=sign_failed reason=unknown_hash");
    }
    memcpy(digest.buffer, dig, (size_t)hash);
    rc = load_key(e, ks, F_DEV_PUB, F_DEV_PRIV, &key);
    if (rc != LJ_OK)
        goto out;
    r = Esys_Sign(e->ctx, key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &digest, &scheme,
                  &ticket, &s);
    if (r != TSS2_RC_SUCCESS && hash != TPM_HASH_SHA256 && hash_refused(r)) {
        rc = lj_err_set(LJ_ERR_SIG_UNSUPPORTED, TPM_MOD,
                        "event=sign_refused scheme=%s hash=%s tss2_rc=0x%x reason=\"the TPM "
                        "does not sign with %s\"",
                        alg == TPM2_ALG_RSAPSS ? "rsa_pss" : "rsassa", tpm_hash_name(hash), r,
                        tpm_hash_name(hash));
        goto out;
    }
    if (r != TSS2_RC_SUCCESS) {
        rc = esys_rc(r, "sign", false);
        goto out;
    }
    /* signature.rsassa and .rsapss are the same TPMS_SIGNATURE_RSA */
    if (s->sigAlg != alg || s->signature.rsassa.sig.size != TPM_RSA_BYTES) {
        rc = lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=sign_failed reason=unexpected_signature");
        goto out;
    }
    memcpy(sig, s->signature.rsassa.sig.buffer, TPM_RSA_BYTES);
    *sig_len = TPM_RSA_BYTES;
out:
    Esys_Free(s);
    esys_flush(e, &key);
    return rc;
}

/* What a device key's public area lets it sign (tpm.h enum tpm_dev_scheme). */
static enum tpm_dev_scheme
dev_scheme_of(const TPM2B_PUBLIC *p)
{
    if (p->publicArea.type != TPM2_ALG_RSA)
        return TPM_DEV_SCHEME_UNKNOWN;
    switch (p->publicArea.parameters.rsaDetail.scheme.scheme) {
    case TPM2_ALG_NULL: return TPM_DEV_SCHEME_ANY;
    case TPM2_ALG_RSASSA: return TPM_DEV_SCHEME_RSASSA;
    default: return TPM_DEV_SCHEME_UNKNOWN;
    }
}

/* backend describe_dev: device.pub as stored, no TPM (`linkjoin status`). */
static void
esys_describe_dev(const struct tpm_blob *file, struct tpm_describe *out)
{
    TPM2B_PUBLIC pub;

    if (!unmarshal_pub(file, &pub) || pub.publicArea.type != TPM2_ALG_RSA)
        return;
    out->dev_scheme = dev_scheme_of(&pub);
    out->dev_bits = pub.publicArea.parameters.rsaDetail.keyBits;
}

/*
 * backend sign: RSASSA or RSASSA-PSS (salt = digest length, see
 * tmpl_device) with SHA-256, -384 or -512.  A key of the RSASSA-SHA256
 * template signs only that; anything else is refused here
 * (LJ_ERR_KEY_SCHEME, taxonomy row device_key_outdated) before the TPM
 * would answer TPM_RC_SCHEME (Part 3 TPM2_Sign: a key's own scheme must
 * match inScheme).
 */
static enum lj_rc
esys_sign(void *be, const struct tpm_keyset *ks, enum tpm_sig_scheme scheme, enum tpm_hash hash,
          const unsigned char *dig, unsigned char *sig, size_t *sig_len)
{
    TPM2B_PUBLIC dev;
    bool any;

    if (!unmarshal_pub(&ks->files[F_DEV_PUB], &dev))
        return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD, "event=blob_invalid file=device.pub");
    any = dev_scheme_of(&dev) == TPM_DEV_SCHEME_ANY;
    if (!any && scheme == TPM_SIG_RSAPSS)
        return lj_err_set(LJ_ERR_KEY_SCHEME, TPM_MOD,
                          "event=sign_refused scheme=rsa_pss reason=\"the device key was made "
                          "for RSASSA-PKCS1-v1_5 only (the template of earlier versions); "
                          "RSA-PSS needs a key of the current template, made by a new join\"");
    if (!any && hash != TPM_HASH_SHA256)
        return lj_err_set(LJ_ERR_KEY_SCHEME, TPM_MOD,
                          "event=sign_refused scheme=rsassa hash=%s reason=\"the device key was "
                          "made for SHA-256 only (the template of earlier versions); %s needs a "
                          "key of the current template, made by a new join\"",
                          tpm_hash_name(hash), tpm_hash_name(hash));
    return sign_digest(be, ks, scheme == TPM_SIG_RSAPSS ? TPM2_ALG_RSAPSS : TPM2_ALG_RSASSA, hash,
                       dig, sig, sig_len);
}

/*
 * Did RSA_Decrypt fail because the ciphertext does not decode (wrong
 * hash, altered, another key) rather than because the TPM failed?  The
 * TCG reference code (CryptRsa.c, OaepDecode) answers TPM_RC_VALUE;
 * libtpms (stefanberger/libtpms, crypto/openssl/CryptRsa.c,
 * CryptRsaDecrypt) answers TPM_RC_FAILURE when OpenSSL's OAEP check fails,
 * without entering failure mode.  So TPM_RC_FAILURE counts as a refusal
 * only when the TPM then serves GetRandom, which a TPM in failure mode
 * refuses (Part 1, "Failure Mode").
 */
static bool
decrypt_refused(struct esys *e, TSS2_RC r)
{
    TPM2B_DIGEST *rnd = NULL;
    TSS2_RC r2;

    if ((r & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
        return false;
    if ((r & TPM2_RC_FMT1) != 0)
        return (r & (TPM2_RC_FMT1 | 0x3fu)) == TPM2_RC_VALUE;
    if ((r & 0xfffu) != TPM2_RC_FAILURE)
        return false;
    r2 = Esys_GetRandom(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, 1, &rnd);
    Esys_Free(rnd);
    return r2 == TSS2_RC_SUCCESS;
}

/*
 * TPM 2.0 Library Part 3, RSA_Decrypt: with the key's scheme NULL the
 * inScheme given here decides; OAEP uses its hashAlg for both the label
 * hash and MGF1 (Part 1, OAEP).  The label is empty.
 *
 * The plaintext is a secret (the PRT's session key): it must not cross
 * the TPM bus in clear in the response.  So the key's authorization is
 * an HMAC session salted with the storage parent (the held one in the
 * PRT sequence, else a new one; the key's auth value is empty, its HMAC
 * computed by ESAPI) with TPMA_SESSION_ENCRYPT: the response's first
 * parameter, outData, travels AES-128-CFB encrypted (TPM 2.0 Library
 * Part 1, "Session-based encryption": encrypt is the TPM-to-caller
 * direction, decrypt the caller-to-TPM one; wolfSSL/wolfTPM
 * tpm2_param_enc.c likewise decrypts a response with the session found by
 * TPM2_ParamEnc_FindEncryptSession).  test_tpm_hkey.sh
 * nothing_secret_on_bus checks the session key is not in the response.
 */
static enum lj_rc
esys_decrypt(void *be, const struct tpm_keyset *ks, enum tpm_oaep_hash hash,
             const unsigned char *ct, size_t ct_len, unsigned char *pt, size_t *pt_len)
{
    struct esys *e = be;
    TPM2B_PUBLIC_KEY_RSA cipher = {0};
    TPMT_RSA_DECRYPT scheme = {.scheme = TPM2_ALG_OAEP,
                               .details.oaep.hashAlg =
                                   hash == TPM_OAEP_SHA1 ? TPM2_ALG_SHA1 : TPM2_ALG_SHA256};
    TPM2B_DATA label = {0};
    TPM2B_PUBLIC_KEY_RSA *msg = NULL;
    ESYS_TR key = ESYS_TR_NONE, sess = ESYS_TR_NONE;
    TSS2_RC r;
    enum lj_rc rc;

    if (ct_len != TPM_RSA_BYTES)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=decrypt_failed reason=bad_length len=%zu",
                          ct_len);
    cipher.size = (UINT16)ct_len;
    memcpy(cipher.buffer, ct, ct_len);
    rc = load_key_sess(e, ks, F_TK_PUB, F_TK_PRIV, TPMA_SESSION_ENCRYPT, &key, &sess);
    if (rc != LJ_OK)
        goto out;
    r = Esys_RSA_Decrypt(e->ctx, key, sess, ESYS_TR_NONE, ESYS_TR_NONE, &cipher, &scheme, &label,
                         &msg);
    if (r != TSS2_RC_SUCCESS && decrypt_refused(e, r)) {
        rc = lj_err_set(LJ_ERR_CRYPTO, TPM_MOD,
                        "event=decrypt_failed tss2_rc=0x%x oaep=%s reason=does not decrypt "
                        "under this key and hash",
                        r, hash == TPM_OAEP_SHA1 ? "sha1" : "sha256");
        goto out;
    }
    if (r != TSS2_RC_SUCCESS) {
        rc = esys_rc(r, "decrypt", false);
        goto out;
    }
    if (msg->size > TPM_RSA_BYTES) {
        rc = lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=decrypt_failed reason=oversize");
        goto out;
    }
    memcpy(pt, msg->buffer, msg->size);
    *pt_len = msg->size;
out:
    if (msg != NULL) {
        lj_secure_zero(msg, sizeof(*msg));
        Esys_Free(msg);
    }
    esys_session_put(e, &sess, rc);
    esys_flush(e, &key);
    return rc;
}

const struct tpm_backend tpm_backend_esys = {
    .name = "tpm",
    .tpm_protected = true,
    .files = esys_files,
    .nfiles = 4,
    .open = esys_open,
    .close = esys_close,
    .parent_hold = esys_parent_hold,
    .hold_prepare = esys_hold_prepare,
    .create = esys_create,
    .validate = esys_validate,
    .sign = esys_sign,
    .decrypt = esys_decrypt,
    .health = esys_health,
    .selftest = esys_selftest,
    .random = esys_random,
    .ek_certs = esys_ek_certs,
    .eph_sign = esys_eph_sign,
    .transient_count = esys_transient_count,
    .seal_key = esys_seal_key,
    .unseal_key = esys_unseal_key,
    .clear = esys_clear,
    .hmac_import = esys_hmac_import,
    .hmac = esys_hmac,
    .describe_dev = esys_describe_dev,
    .dev_file = F_DEV_PUB,
};
