/*
 * esys_seal.c — the TPM side of tpm/seal.c: a 32-byte data key sealed in a
 * keyedHash object under the storage parent, created and unsealed through
 * an HMAC session salted with the parent and with parameter encryption, so
 * the key never crosses the TPM bus in clear (TPM 2.0 Library Part 1
 * sessions, Part 3 TPM2_Create and TPM2_Unseal).
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

/* ---- sealed data key ------------------------------------------------- */

/*
 * A sealed data object: keyedHash with no scheme, neither sign nor decrypt
 * (so the TPM only ever returns its data through TPM2_Unseal), empty auth.
 * noDA: its empty auth cannot be guessed, and a lockout caused elsewhere
 * should not make the refresh token unreadable.
 */
/* Templates keep the shape of the structure they fill (not clang-formatted). */
// clang-format off
static const TPM2B_PUBLIC tmpl_sealed = {
    .publicArea = {
        .type = TPM2_ALG_KEYEDHASH,
        .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                            TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA,
        .parameters.keyedHashDetail.scheme = {.scheme = TPM2_ALG_NULL},
    },
};
// clang-format on

static bool
sealed_pub_ok(const TPM2B_PUBLIC *p)
{
    const TPMT_PUBLIC *a = &p->publicArea;

    return a->type == TPM2_ALG_KEYEDHASH && a->nameAlg == TPM2_ALG_SHA256 &&
           a->objectAttributes == tmpl_sealed.publicArea.objectAttributes &&
           a->authPolicy.size == 0 && a->parameters.keyedHashDetail.scheme.scheme == TPM2_ALG_NULL;
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
esys_seal_key(void *be, const char *state_dir, const unsigned char key[32], char parent[32],
              struct tpm_blob *blob)
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
    if (esys_has_persistent_srk(e, &rc))
        snprintf(parent, 32, "0x%08x", SRK_PERSISTENT);
    else if (rc != LJ_OK)
        return rc;
    else
        snprintf(parent, 32, "%s", TPM_PARENT_ECC_TEMPLATE);
    sens = calloc(1, sizeof(*sens));
    if (sens == NULL)
        return LJ_ERR_NOMEM;
    sens->sensitive.data.size = 32;
    memcpy(sens->sensitive.data.buffer, key, 32);
    rc = esys_parent_get(e, parent, &ph, &transient);
    if (rc != LJ_OK)
        goto out;
    rc = session_start(e, ph, TPMA_SESSION_DECRYPT, &sess);
    if (rc != LJ_OK)
        goto out;
    r = Esys_Create(e->ctx, ph, sess, ESYS_TR_NONE, ESYS_TR_NONE, sens, &tmpl_sealed, &outside,
                    &pcrs, &opriv, &opub, &cdata, &chash, &ctk);
    if (r != TSS2_RC_SUCCESS) {
        rc = esys_rc(r, "seal", false);
        goto out;
    }
    if (!sealed_pub_ok(opub) ||
        Tss2_MU_TPM2B_PUBLIC_Marshal(opub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_PRIVATE_Marshal(opriv, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS) {
        rc = lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=seal_failed reason=unexpected_output");
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
    esys_flush(e, &sess);
    esys_parent_put(e, &ph, transient);
    lj_secure_free(sens, sizeof(*sens));
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
    TPM2B_SENSITIVE_DATA *data = NULL;
    ESYS_TR ph = ESYS_TR_NONE, obj = ESYS_TR_NONE, sess = ESYS_TR_NONE;
    bool transient = true;
    size_t off = 0;
    TSS2_RC r;
    enum lj_rc rc;

    (void)state_dir;
    memset(&pub, 0, sizeof(pub));
    memset(&priv, 0, sizeof(priv));
    if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(blob->data, blob->len, &off, &pub) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_PRIVATE_Unmarshal(blob->data, blob->len, &off, &priv) != TSS2_RC_SUCCESS ||
        off != blob->len || !sealed_pub_ok(&pub))
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
    esys_track(e, obj);
    /* Salted by the parent, which is flushed before Unseal (3 object slots). */
    rc = session_start(e, ph, TPMA_SESSION_ENCRYPT, &sess);
    esys_parent_put(e, &ph, transient);
    if (rc != LJ_OK)
        goto out;
    r = Esys_Unseal(e->ctx, obj, sess, ESYS_TR_NONE, ESYS_TR_NONE, &data);
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
    if (data != NULL) {
        lj_secure_zero(data, sizeof(*data));
        Esys_Free(data);
    }
    esys_flush(e, &sess);
    esys_flush(e, &obj);
    esys_parent_put(e, &ph, transient);
    return rc;
}
