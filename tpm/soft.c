/*
 * soft.c — the software key provider: two wolfSSL RSA-2048 keys kept as
 * PKCS#1 DER files in the state dir.  FOR UNIT TESTS ONLY: the private keys
 * are in process memory and on disk.  worker.c refuses it unless the caller
 * names it, and every report says TpmProtected=no.
 *
 * wolfssl/options.h first (see csr.c).
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "tpm/backend.h"

enum { F_DEV = 0, F_TK };
static const char *const soft_files[] = {"soft-device.der", "soft-transport.der"};

#define SOFT_DER_MAX 2048

static enum lj_rc
soft_open(struct tpm_ctx *t, const char *tcti, void **be)
{
    (void)t;
    (void)tcti;
    *be = NULL;
    lj_log(LJ_LOG_WARN, TPM_MOD,
           "event=soft_provider_in_use TpmProtected=no note=\"software keys: tests only\"");
    return LJ_OK;
}

static void
soft_close(void *be)
{
    (void)be;
}

static enum lj_rc
key_load(const struct tpm_blob *b, RsaKey *key)
{
    word32 idx = 0;

    if (wc_InitRsaKey(key, NULL) != 0)
        return lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=rsa_init_failed");
    if (b->data == NULL || wc_RsaPrivateKeyDecode(b->data, &idx, key, (word32)b->len) != 0 ||
        idx != b->len) {
        wc_FreeRsaKey(key);
        return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD, "event=soft_key_invalid");
    }
    return LJ_OK;
}

static enum lj_rc
key_pub(RsaKey *key, struct tpm_rsa_pub *out)
{
    unsigned char n[512], e[8];
    word32 nsz = sizeof(n), esz = sizeof(e);

    if (wc_RsaFlattenPublicKey(key, e, &esz, n, &nsz) != 0 || nsz != TPM_RSA_BYTES ||
        !tpm_rsa_pub_set(out, n, nsz, e, esz))
        return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD,
                          "event=soft_key_invalid reason=not_rsa2048");
    return LJ_OK;
}

static enum lj_rc
gen_one(WC_RNG *rng, struct tpm_blob *b, struct tpm_rsa_pub *pub)
{
    RsaKey key;
    unsigned char *der = NULL;
    int n;
    enum lj_rc rc = LJ_ERR_CRYPTO;

    if (wc_InitRsaKey(&key, NULL) != 0)
        return lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=rsa_init_failed");
    if (wc_MakeRsaKey(&key, 2048, WC_RSA_EXPONENT, rng) != 0) {
        lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=soft_keygen_failed");
        goto out;
    }
    der = malloc(SOFT_DER_MAX);
    if (der == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    n = wc_RsaKeyToDer(&key, der, SOFT_DER_MAX);
    if (n <= 0) {
        lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=soft_key_encode_failed err=%d", n);
        goto out;
    }
    rc = key_pub(&key, pub);
    if (rc != LJ_OK)
        goto out;
    b->data = der;
    b->len = (size_t)n;
    der = NULL;
out:
    if (der != NULL)
        lj_secure_free(der, SOFT_DER_MAX);
    wc_FreeRsaKey(&key);
    return rc;
}

static enum lj_rc
soft_create(void *be, struct tpm_keyset *ks)
{
    WC_RNG rng;
    enum lj_rc rc;

    (void)be;
    if (wc_InitRng(&rng) != 0)
        return lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=rng_failed");
    snprintf(ks->parent, sizeof(ks->parent), "none");
    rc = gen_one(&rng, &ks->files[F_DEV], &ks->dev);
    if (rc == LJ_OK)
        rc = gen_one(&rng, &ks->files[F_TK], &ks->tk);
    wc_FreeRng(&rng);
    return rc;
}

static enum lj_rc
soft_validate(void *be, struct tpm_keyset *ks)
{
    RsaKey key;
    enum lj_rc rc;

    (void)be;
    rc = key_load(&ks->files[F_DEV], &key);
    if (rc != LJ_OK)
        return rc;
    rc = key_pub(&key, &ks->dev);
    wc_FreeRsaKey(&key);
    if (rc != LJ_OK)
        return rc;
    rc = key_load(&ks->files[F_TK], &key);
    if (rc != LJ_OK)
        return rc;
    rc = key_pub(&key, &ks->tk);
    wc_FreeRsaKey(&key);
    return rc;
}

/* backend describe_dev: a wolfSSL key signs either scheme (soft_sign).
   No lj_err_set: a bad file only stays "unknown" here. */
static void
soft_describe_dev(const struct tpm_blob *file, struct tpm_describe *out)
{
    RsaKey key;
    word32 idx = 0;

    if (file->data == NULL || wc_InitRsaKey(&key, NULL) != 0)
        return;
    if (wc_RsaPrivateKeyDecode(file->data, &idx, &key, (word32)file->len) == 0 &&
        idx == file->len) {
        out->dev_scheme = TPM_DEV_SCHEME_ANY;
        out->dev_bits = (unsigned)wc_RsaEncryptSize(&key) * 8;
    }
    wc_FreeRsaKey(&key);
}

/*
 * The signature as the TPM makes it (tpm/esys.c tmpl_device): PKCS#1 v1.5
 * with hash's DigestInfo, or RSASSA-PSS with MGF1 of hash and a salt as
 * long as the digest.
 */
static enum lj_rc
soft_sign(void *be, const struct tpm_keyset *ks, enum tpm_sig_scheme scheme, enum tpm_hash hash,
          const unsigned char *dig, unsigned char *sig, size_t *sig_len)
{
    RsaKey key;
    WC_RNG rng;
    unsigned char enc[96]; /* DigestInfo: 19 + 64 at most */
    word32 enc_len;
    int type = 0, mgf = 0, n;
    enum lj_rc rc;

    (void)be;
    if (!tpm_wc_hash(hash, &type, &mgf))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=sign_failed reason=unknown_hash");
    rc = key_load(&ks->files[F_DEV], &key);
    if (rc != LJ_OK)
        return rc;
    if (wc_InitRng(&rng) != 0) {
        wc_FreeRsaKey(&key);
        return lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=rng_failed");
    }
    if (scheme == TPM_SIG_RSAPSS) {
        n = wc_RsaPSS_Sign_ex(dig, (word32)hash, sig, TPM_RSA_BYTES, (enum wc_HashType)type, mgf,
                              (int)hash, &key, &rng);
    } else {
        enc_len = wc_EncodeSignature(enc, dig, (word32)hash, wc_HashGetOID((enum wc_HashType)type));
        n = wc_RsaSSL_Sign(enc, enc_len, sig, TPM_RSA_BYTES, &key, &rng);
    }
    if (n != TPM_RSA_BYTES)
        rc = lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=soft_sign_failed scheme=%s err=%d",
                        scheme == TPM_SIG_RSAPSS ? "rsa_pss" : "rsassa", n);
    else
        *sig_len = (size_t)n;
    wc_FreeRng(&rng);
    wc_FreeRsaKey(&key);
    return rc;
}

/*
 * RSA-OAEP as the TPM does it for a scheme-NULL key given inScheme OAEP:
 * the label hash and MGF1 both use the hash asked for, empty label.
 */
static enum lj_rc
soft_decrypt(void *be, const struct tpm_keyset *ks, enum tpm_oaep_hash hash,
             const unsigned char *ct, size_t ct_len, unsigned char *pt, size_t *pt_len)
{
    RsaKey key;
    WC_RNG rng;
    enum wc_HashType ht = hash == TPM_OAEP_SHA1 ? WC_HASH_TYPE_SHA : WC_HASH_TYPE_SHA256;
    int mgf = hash == TPM_OAEP_SHA1 ? WC_MGF1SHA1 : WC_MGF1SHA256;
    int n;
    enum lj_rc rc;

    (void)be;
    if (ct_len != TPM_RSA_BYTES)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=decrypt_failed reason=bad_length len=%zu",
                          ct_len);
    rc = key_load(&ks->files[F_TK], &key);
    if (rc != LJ_OK)
        return rc;
    if (wc_InitRng(&rng) != 0) {
        wc_FreeRsaKey(&key);
        return lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=rng_failed");
    }
    wc_RsaSetRNG(&key, &rng);
    n = wc_RsaPrivateDecrypt_ex(ct, (word32)ct_len, pt, TPM_RSA_BYTES, &key, WC_RSA_OAEP_PAD, ht,
                                mgf, NULL, 0);
    if (n < 0)
        rc = lj_err_set(LJ_ERR_CRYPTO, TPM_MOD,
                        "event=decrypt_failed err=%d oaep=%s reason=does not decrypt under this "
                        "key and hash",
                        n, hash == TPM_OAEP_SHA1 ? "sha1" : "sha256");
    else
        *pt_len = (size_t)n;
    wc_FreeRng(&rng);
    wc_FreeRsaKey(&key);
    return rc;
}

/*
 * Sealing, soft: the data key is wrapped (AES-256-GCM) with a key kept in
 * clear in STATE_DIR/soft-seal.key.  Anyone who can read the state dir can
 * read the data: TESTS ONLY, like the rest of this provider.
 */
#define SOFT_SEAL_KEY TPM_SOFT_SEAL_KEY
#define SOFT_WRAP_LEN (12 + 32 + 16)

static enum lj_rc
soft_seal_kek(const char *state_dir, bool create, unsigned char kek[32])
{
    char path[PATH_MAX];
    unsigned char *buf = NULL;
    size_t len = 0;
    WC_RNG rng;
    enum lj_rc rc;

    if (!lj_path_join(path, sizeof(path), state_dir, SOFT_SEAL_KEY))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=path_too_long");
    rc = lj_fs_read(path, 64, &buf, &len);
    if (rc == LJ_OK && len == 32) {
        memcpy(kek, buf, 32);
        lj_secure_free(buf, len);
        return LJ_OK;
    }
    if (buf != NULL)
        lj_secure_free(buf, len);
    if (rc == LJ_OK || rc == LJ_ERR_TOO_BIG || !create)
        return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD,
                          "event=soft_seal_key_unusable file=%s reason=%s", path,
                          rc == LJ_ERR_NOT_FOUND ? "missing" : "wrong size");
    if (rc != LJ_ERR_NOT_FOUND)
        return rc;
    if (wc_InitRng(&rng) != 0)
        return lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=rng_failed");
    rc = wc_RNG_GenerateBlock(&rng, kek, 32) == 0 ? LJ_OK : LJ_ERR_CRYPTO;
    wc_FreeRng(&rng);
    if (rc == LJ_OK)
        rc = lj_fs_write_atomic(path, kek, 32, 0600);
    return rc;
}

static enum lj_rc
soft_wrap(bool enc, const unsigned char kek[32], unsigned char *wrap, unsigned char key[32])
{
    Aes aes;
    int r;

    if (wc_AesInit(&aes, NULL, INVALID_DEVID) != 0)
        return lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=aes_init_failed");
    r = wc_AesGcmSetKey(&aes, kek, 32);
    if (r == 0 && enc)
        r = wc_AesGcmEncrypt(&aes, wrap + 12, key, 32, wrap, 12, wrap + 44, 16, NULL, 0);
    else if (r == 0)
        r = wc_AesGcmDecrypt(&aes, key, wrap + 12, 32, wrap, 12, wrap + 44, 16, NULL, 0);
    wc_AesFree(&aes);
    lj_secure_zero(&aes, sizeof(aes));
    if (r != 0)
        return lj_err_set(enc ? LJ_ERR_CRYPTO : LJ_ERR_TPM_WRONG_TPM, TPM_MOD,
                          "event=soft_%s_failed err=%d%s", enc ? "seal" : "unseal", r,
                          enc ? "" : " reason=sealed with another soft-seal.key");
    return LJ_OK;
}

static enum lj_rc
soft_seal_key(void *be, const char *state_dir, const unsigned char key[32], char parent[32],
              struct tpm_blob *blob)
{
    unsigned char kek[32], tmp[32];
    unsigned char *wrap = NULL;
    WC_RNG rng;
    enum lj_rc rc;

    (void)be;
    rc = soft_seal_kek(state_dir, true, kek);
    if (rc != LJ_OK)
        return rc;
    wrap = malloc(SOFT_WRAP_LEN);
    if (wrap == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    if (wc_InitRng(&rng) != 0) {
        rc = lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=rng_failed");
        goto out;
    }
    rc = wc_RNG_GenerateBlock(&rng, wrap, 12) == 0 ? LJ_OK : LJ_ERR_CRYPTO;
    wc_FreeRng(&rng);
    memcpy(tmp, key, 32);
    if (rc == LJ_OK)
        rc = soft_wrap(true, kek, wrap, tmp);
    if (rc != LJ_OK)
        goto out;
    snprintf(parent, 32, "%s", SOFT_SEAL_KEY);
    blob->data = wrap;
    blob->len = SOFT_WRAP_LEN;
    wrap = NULL;
out:
    lj_secure_zero(kek, sizeof(kek));
    lj_secure_zero(tmp, sizeof(tmp));
    free(wrap);
    return rc;
}

static enum lj_rc
soft_unseal_key(void *be, const char *state_dir, const char *parent, const struct tpm_blob *blob,
                unsigned char key[32])
{
    unsigned char kek[32], wrap[SOFT_WRAP_LEN];
    enum lj_rc rc;

    (void)be;
    if (strcmp(parent, SOFT_SEAL_KEY) != 0 || blob->len != SOFT_WRAP_LEN)
        return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD, "event=soft_unseal_failed reason=bad_blob");
    rc = soft_seal_kek(state_dir, false, kek);
    if (rc != LJ_OK)
        return rc;
    memcpy(wrap, blob->data, SOFT_WRAP_LEN);
    rc = soft_wrap(false, kek, wrap, key);
    lj_secure_zero(kek, sizeof(kek));
    return rc;
}

/*
 * Keyed-hash keys, soft: the key is wrapped like the sealed data key
 * (AES-256-GCM under soft-seal.key), blob = nonce[12] | len u8 | ct | tag[16],
 * and the HMAC is wolfSSL's.  TESTS ONLY.
 */
#define SOFT_HKEY_AAD "linkjoin soft hkey"
#define SOFT_HKEY_BLOB_MAX (12 + 1 + TPM_HKEY_KEY_MAX + 16)

/* Wrap (enc) key[0..len) into blob, or unwrap blob into key; len from the blob when !enc. */
static enum lj_rc
soft_hkey_wrap(bool enc, const unsigned char kek[32], unsigned char *blob, unsigned char *key,
               size_t len)
{
    Aes aes;
    int r;

    if (wc_AesInit(&aes, NULL, INVALID_DEVID) != 0)
        return lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=aes_init_failed");
    r = wc_AesGcmSetKey(&aes, kek, 32);
    if (r == 0 && enc)
        r = wc_AesGcmEncrypt(&aes, blob + 13, key, (word32)len, blob, 12, blob + 13 + len, 16,
                             (const byte *)SOFT_HKEY_AAD, sizeof(SOFT_HKEY_AAD) - 1);
    else if (r == 0)
        r = wc_AesGcmDecrypt(&aes, key, blob + 13, (word32)len, blob, 12, blob + 13 + len, 16,
                             (const byte *)SOFT_HKEY_AAD, sizeof(SOFT_HKEY_AAD) - 1);
    wc_AesFree(&aes);
    lj_secure_zero(&aes, sizeof(aes));
    if (r != 0)
        return lj_err_set(enc ? LJ_ERR_CRYPTO : LJ_ERR_TPM_WRONG_TPM, TPM_MOD,
                          "event=soft_hkey_%s_failed err=%d%s", enc ? "wrap" : "unwrap", r,
                          enc ? "" : " reason=wrapped with another soft-seal.key");
    return LJ_OK;
}

static enum lj_rc
soft_hmac_import(void *be, const char *state_dir, const unsigned char *key, size_t len,
                 char parent[32], struct tpm_blob *blob)
{
    unsigned char kek[32], tmp[TPM_HKEY_KEY_MAX];
    unsigned char *wrap = NULL;
    size_t wlen = 12 + 1 + len + 16;
    WC_RNG rng;
    enum lj_rc rc;

    (void)be;
    if (len == 0 || len > TPM_HKEY_KEY_MAX)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=hkey_import_failed reason=bad_length");
    rc = soft_seal_kek(state_dir, true, kek);
    if (rc != LJ_OK)
        return rc;
    wrap = malloc(wlen);
    if (wrap == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    if (wc_InitRng(&rng) != 0) {
        rc = lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=rng_failed");
        goto out;
    }
    rc = wc_RNG_GenerateBlock(&rng, wrap, 12) == 0 ? LJ_OK : LJ_ERR_CRYPTO;
    wc_FreeRng(&rng);
    wrap[12] = (unsigned char)len;
    memcpy(tmp, key, len);
    if (rc == LJ_OK)
        rc = soft_hkey_wrap(true, kek, wrap, tmp, len);
    if (rc != LJ_OK)
        goto out;
    snprintf(parent, 32, "%s", SOFT_SEAL_KEY);
    blob->data = wrap;
    blob->len = wlen;
    wrap = NULL;
out:
    lj_secure_zero(kek, sizeof(kek));
    lj_secure_zero(tmp, sizeof(tmp));
    free(wrap);
    return rc;
}

static enum lj_rc
soft_hmac(void *be, const char *state_dir, const char *parent, const struct tpm_blob *blob,
          const unsigned char *msg, size_t len, unsigned char out[32])
{
    unsigned char kek[32], key[TPM_HKEY_KEY_MAX], wrap[SOFT_HKEY_BLOB_MAX];
    size_t klen;
    Hmac hmac;
    int r;
    enum lj_rc rc;

    (void)be;
    if (strcmp(parent, SOFT_SEAL_KEY) != 0 || blob->len < 12 + 1 + 16 ||
        blob->len > SOFT_HKEY_BLOB_MAX || blob->data[12] < TPM_HKEY_KEY_MIN ||
        blob->data[12] > TPM_HKEY_KEY_MAX || blob->len != 12 + 1 + (size_t)blob->data[12] + 16)
        return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD, "event=soft_hmac_failed reason=bad_blob");
    klen = blob->data[12];
    rc = soft_seal_kek(state_dir, false, kek);
    if (rc != LJ_OK)
        return rc;
    memcpy(wrap, blob->data, blob->len);
    rc = soft_hkey_wrap(false, kek, wrap, key, klen);
    lj_secure_zero(kek, sizeof(kek));
    if (rc != LJ_OK)
        goto out;
    if (wc_HmacInit(&hmac, NULL, INVALID_DEVID) != 0) {
        rc = lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=hmac_init_failed");
        goto out;
    }
    r = wc_HmacSetKey(&hmac, WC_SHA256, key, (word32)klen);
    if (r == 0)
        r = wc_HmacUpdate(&hmac, msg, (word32)len);
    if (r == 0)
        r = wc_HmacFinal(&hmac, out);
    wc_HmacFree(&hmac);
    lj_secure_zero(&hmac, sizeof(hmac));
    if (r != 0)
        rc = lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=soft_hmac_failed err=%d", r);
out:
    lj_secure_zero(key, sizeof(key));
    return rc;
}

const struct tpm_backend tpm_backend_soft = {
    .name = "soft",
    .tpm_protected = false,
    .files = soft_files,
    .nfiles = 2,
    .open = soft_open,
    .close = soft_close,
    .create = soft_create,
    .validate = soft_validate,
    .sign = soft_sign,
    .decrypt = soft_decrypt,
    .seal_key = soft_seal_key,
    .unseal_key = soft_unseal_key,
    .hmac_import = soft_hmac_import,
    .hmac = soft_hmac,
    .describe_dev = soft_describe_dev,
    .dev_file = F_DEV,
};
