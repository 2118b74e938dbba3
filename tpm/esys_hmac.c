/*
 * esys_hmac.c — the TPM side of tpm/hkey.c: a caller's key imported as an
 * HMAC-SHA256 keyedHash object under the storage parent (TPM2_Create with
 * the caller's sensitive data), and TPM2_HMAC with it (TPM 2.0 Library
 * Part 3 TPM2_Create, TPM2_Load, TPM2_HMAC; Part 1 sessions).  The key
 * goes to the TPM, and the HMAC comes back, only inside an HMAC session
 * salted with the parent, with parameter encryption: neither crosses the
 * TPM bus in clear.
 */
#include "tpm/esys_int.h"

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/common/log.h"
#include "platform/common/secmem.h"

/*
 * An HMAC key: keyedHash, sign (TPM2_HMAC needs it), scheme HMAC with
 * SHA-256, empty auth.  sensitiveDataOrigin is clear: the caller's key is
 * the sensitive data (Part 1 "Keyed Hash Object": with sign set that data
 * is the HMAC key).  noDA for the reasons of tpm/esys_seal.c's sealed
 * object: an empty auth cannot be guessed, and a lockout caused elsewhere
 * must not stop the agent from signing its requests.
 */
/* Templates keep the shape of the structure they fill (not clang-formatted). */
// clang-format off
static const TPM2B_PUBLIC tmpl_hmac = {
    .publicArea = {
        .type = TPM2_ALG_KEYEDHASH,
        .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH |
                            TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_NODA,
        .parameters.keyedHashDetail.scheme = {
            .scheme = TPM2_ALG_HMAC,
            .details.hmac.hashAlg = TPM2_ALG_SHA256,
        },
    },
};
// clang-format on

static bool
hmac_pub_ok(const TPM2B_PUBLIC *p)
{
    const TPMT_PUBLIC *a = &p->publicArea;
    const TPMT_KEYEDHASH_SCHEME *s = &a->parameters.keyedHashDetail.scheme;

    return a->type == TPM2_ALG_KEYEDHASH && a->nameAlg == TPM2_ALG_SHA256 &&
           a->objectAttributes == tmpl_hmac.publicArea.objectAttributes &&
           a->authPolicy.size == 0 && s->scheme == TPM2_ALG_HMAC &&
           s->details.hmac.hashAlg == TPM2_ALG_SHA256;
}

enum lj_rc
esys_hmac_import(void *be, const char *state_dir, const unsigned char *key, size_t len,
                 char parent[32], struct tpm_blob *blob)
{
    struct esys *e = be;
    TPM2B_SENSITIVE_CREATE *sens = NULL;
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    TPM2B_PRIVATE *opriv = NULL;
    TPM2B_PUBLIC *opub = NULL;
    TPM2B_CREATION_DATA *cdata = NULL;
    TPM2B_DIGEST *chash = NULL;
    TPMT_TK_CREATION *ctk = NULL;
    ESYS_TR ph = ESYS_TR_NONE, sess = ESYS_TR_NONE;
    bool transient = true;
    unsigned char buf[sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE) + 16];
    size_t off = 0;
    TSS2_RC r;
    enum lj_rc rc = LJ_OK;

    (void)state_dir;
    if (len == 0 || len > sizeof(sens->sensitive.data.buffer))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=hkey_import_failed reason=bad_length");
    /* The parent the device keys and sealed data use (tpm/esys.c). */
    if (esys_has_persistent_srk(e, &rc))
        snprintf(parent, 32, "0x%08x", SRK_PERSISTENT);
    else if (rc != LJ_OK)
        return rc;
    else
        snprintf(parent, 32, "%s", TPM_PARENT_ECC_TEMPLATE);
    sens = calloc(1, sizeof(*sens));
    if (sens == NULL)
        return LJ_ERR_NOMEM;
    sens->sensitive.data.size = (UINT16)len;
    memcpy(sens->sensitive.data.buffer, key, len);
    rc = esys_parent_get(e, parent, &ph, &transient);
    if (rc != LJ_OK)
        goto out;
    /* DECRYPT: Create's first parameter, inSensitive, travels encrypted. */
    rc = esys_salted_session(e, ph, TPMA_SESSION_DECRYPT, &sess);
    if (rc != LJ_OK)
        goto out;
    r = Esys_Create(e->ctx, ph, sess, ESYS_TR_NONE, ESYS_TR_NONE, sens, &tmpl_hmac, &outside, &pcrs,
                    &opriv, &opub, &cdata, &chash, &ctk);
    if (r != TSS2_RC_SUCCESS) {
        rc = esys_rc(r, "hkey_import", false);
        goto out;
    }
    if (!hmac_pub_ok(opub) ||
        Tss2_MU_TPM2B_PUBLIC_Marshal(opub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_PRIVATE_Marshal(opriv, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS) {
        rc = lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=hkey_import_failed reason=unexpected_output");
        goto out;
    }
    blob->data = malloc(off);
    if (blob->data == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    memcpy(blob->data, buf, off);
    blob->len = off;
out:
    esys_session_put(e, &sess, rc);
    esys_parent_put(e, &ph, transient);
    lj_secure_free(sens, sizeof(*sens));
    Esys_Free(opriv);
    Esys_Free(opub);
    Esys_Free(cdata);
    Esys_Free(chash);
    Esys_Free(ctk);
    return rc;
}

void
esys_hkey_drop(struct esys *e)
{
    esys_flush(e, &e->hkey);
    free(e->hkey_blob);
    e->hkey_blob = NULL;
    e->hkey_blob_len = 0;
}

/* The held key when it was loaded from this very blob under the held parent. */
static bool
hkey_held(const struct esys *e, const char *parent, const struct tpm_blob *blob)
{
    return e->hkey != ESYS_TR_NONE && e->srk != ESYS_TR_NONE &&
           strcmp(parent, TPM_PARENT_ECC_TEMPLATE) == 0 && e->hkey_blob_len == blob->len &&
           memcmp(e->hkey_blob, blob->data, blob->len) == 0;
}

/*
 * Load blob under parent into *obj.  While the parent is held the key
 * stays loaded for the next call with the same blob (the Intune token
 * takes two HMACs in a row, a renewal two more): *keep says so, and the
 * caller does not flush it.
 */
static enum lj_rc
hkey_load(struct esys *e, const char *parent, const struct tpm_blob *blob, TPM2B_PUBLIC *pub,
          TPM2B_PRIVATE *priv, ESYS_TR *ph, bool *transient, ESYS_TR *obj, bool *keep)
{
    TSS2_RC r;
    enum lj_rc rc;

    *keep = false;
    if (hkey_held(e, parent, blob)) {
        *obj = e->hkey;
        *keep = true;
        return esys_parent_get(e, parent, ph, transient);
    }
    rc = esys_parent_get(e, parent, ph, transient);
    if (rc != LJ_OK)
        return rc;
    r = Esys_Load(e->ctx, *ph, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, obj);
    if (r != TSS2_RC_SUCCESS) {
        *obj = ESYS_TR_NONE;
        return esys_rc(r, "load_hkey", true);
    }
    esys_track(e, *obj, pub);
    if (e->hold && *ph == e->srk) {
        unsigned char *copy = malloc(blob->len);

        if (copy != NULL) {
            esys_hkey_drop(e); /* one held key at a time: object slots are few */
            memcpy(copy, blob->data, blob->len);
            e->hkey = *obj;
            e->hkey_blob = copy;
            e->hkey_blob_len = blob->len;
            *keep = true;
        }
    }
    return LJ_OK;
}

enum lj_rc
esys_hmac(void *be, const char *state_dir, const char *parent, const struct tpm_blob *blob,
          const unsigned char *msg, size_t len, unsigned char out[32])
{
    struct esys *e = be;
    TPM2B_PUBLIC pub;
    TPM2B_PRIVATE priv;
    TPM2B_MAX_BUFFER in;
    TPM2B_DIGEST *mac = NULL;
    ESYS_TR ph = ESYS_TR_NONE, obj = ESYS_TR_NONE, sess = ESYS_TR_NONE;
    bool transient = true, keep = false;
    size_t off = 0;
    TSS2_RC r;
    enum lj_rc rc;

    (void)state_dir;
    if (len == 0 || len > sizeof(in.buffer))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=hmac_failed reason=bad_length len=%zu",
                          len);
    memset(&pub, 0, sizeof(pub));
    memset(&priv, 0, sizeof(priv));
    if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(blob->data, blob->len, &off, &pub) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_PRIVATE_Unmarshal(blob->data, blob->len, &off, &priv) != TSS2_RC_SUCCESS ||
        off != blob->len || !hmac_pub_ok(&pub))
        return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD,
                          "event=hmac_failed reason=key object malformed");
    in.size = (UINT16)len;
    memcpy(in.buffer, msg, len);
    rc = hkey_load(e, parent, blob, &pub, &priv, &ph, &transient, &obj, &keep);
    if (rc != LJ_OK)
        goto out;
    /*
     * Salted by the parent, which is flushed before the HMAC when it is not
     * held (3 object slots); ENCRYPT: the response's first parameter, the
     * HMAC, which is the caller's derived key, travels encrypted.
     */
    rc = esys_salted_session(e, ph, TPMA_SESSION_ENCRYPT, &sess);
    esys_parent_put(e, &ph, transient);
    if (rc != LJ_OK)
        goto out;
    r = Esys_HMAC(e->ctx, obj, sess, ESYS_TR_NONE, ESYS_TR_NONE, &in, TPM2_ALG_SHA256, &mac);
    if (r != TSS2_RC_SUCCESS) {
        rc = esys_rc(r, "hmac", false);
        goto out;
    }
    if (mac->size != 32) {
        rc = lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=hmac_failed reason=unexpected size %u",
                        mac->size);
        goto out;
    }
    memcpy(out, mac->buffer, 32);
out:
    if (mac != NULL) {
        lj_secure_zero(mac, sizeof(*mac));
        Esys_Free(mac);
    }
    lj_secure_zero(&in, sizeof(in));
    esys_session_put(e, &sess, rc);
    if (keep && rc != LJ_OK)
        esys_hkey_drop(e); /* a failure: load it afresh next time */
    else if (!keep)
        esys_flush(e, &obj);
    esys_parent_put(e, &ph, transient);
    return rc;
}
