/*
 * csr.c — the wolfSSL crypto-callback bridge: PKCS#10 requests and SPKI
 * encodings for keys whose private part lives elsewhere (in the TPM).
 *
 * wolfSSL builds and pads; at the RSA private operation it calls our
 * callback with the full EMSA-PKCS1-v1_5 block (00 01 FF..FF 00 DigestInfo
 * hash).  We check that block, take the SHA-256 hash out and hand it to the
 * provider's sign function (TPM2_Sign inside the TPM).  The RsaKey holds
 * only n and e, so a fallback to software fails safe (MP_EXPTMOD_E).
 *
 * wolfssl/options.h MUST be the first wolfSSL header: without it the
 * struct layouts differ from the library's (silent memory corruption).
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/cryptocb.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "platform/common/log.h"
#include "tpm/backend.h"

#define CSR_DEVID 0x4c4a5450 /* "LJTP" */
#define CSR_DER_MAX 4096

/* DER DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1). */
static const unsigned char sha256_prefix[19] = {
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
};

/* wolfSSL's device table is global: one CSR at a time per process. */
static pthread_mutex_t csr_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int init_count;

struct csr_cb_ctx {
    tpm_sign_fn sign;
    void *arg;
    enum lj_rc rc;
    int signs;
};

bool
tpm_rsa_pub_set(struct tpm_rsa_pub *out, const unsigned char *n, size_t n_len,
                const unsigned char *e, size_t e_len)
{
    while (n_len > 0 && n[0] == 0) {
        n++;
        n_len--;
    }
    while (e_len > 0 && e[0] == 0) {
        e++;
        e_len--;
    }
    if (n_len == 0 || e_len == 0 || n_len > sizeof(out->n) || e_len > sizeof(out->e))
        return false;
    memcpy(out->n, n, n_len);
    out->n_len = n_len;
    memcpy(out->e, e, e_len);
    out->e_len = e_len;
    return true;
}

enum lj_rc
tpm_wolf_init(void)
{
    enum lj_rc rc = LJ_OK;

    pthread_mutex_lock(&init_lock);
    if (init_count == 0 && wolfCrypt_Init() != 0)
        rc = lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=wolfcrypt_init_failed");
    else
        init_count++;
    pthread_mutex_unlock(&init_lock);
    return rc;
}

void
tpm_wolf_cleanup(void)
{
    pthread_mutex_lock(&init_lock);
    if (init_count > 0 && --init_count == 0)
        wolfCrypt_Cleanup();
    pthread_mutex_unlock(&init_lock);
}

/* Check the EMSA-PKCS1-v1_5 block and return the SHA-256 hash inside it. */
static bool
emsa_sha256_hash(const unsigned char *in, size_t len, const unsigned char **hash)
{
    size_t i, ps;

    if (len != TPM_RSA_BYTES || in[0] != 0x00 || in[1] != 0x01)
        return false;
    ps = len - 3 - sizeof(sha256_prefix) - 32;
    for (i = 2; i < 2 + ps; i++)
        if (in[i] != 0xff)
            return false;
    if (in[i++] != 0x00)
        return false;
    if (memcmp(in + i, sha256_prefix, sizeof(sha256_prefix)) != 0)
        return false;
    *hash = in + i + sizeof(sha256_prefix);
    return true;
}

static int
csr_crypto_cb(int devId, wc_CryptoInfo *info, void *vctx)
{
    struct csr_cb_ctx *c = vctx;
    const unsigned char *hash = NULL;
    size_t sig_len = 0;
    enum lj_rc rc;

    (void)devId;
    if (info->algo_type != WC_ALGO_TYPE_PK || info->pk.type != WC_PK_TYPE_RSA)
        return CRYPTOCB_UNAVAILABLE;
    if (info->pk.rsa.type != RSA_PRIVATE_ENCRYPT)
        return CRYPTOCB_UNAVAILABLE; /* public ops: wolfSSL does them itself */
    if (!emsa_sha256_hash(info->pk.rsa.in, info->pk.rsa.inLen, &hash)) {
        c->rc = lj_err_set(LJ_ERR_INTERNAL, TPM_MOD,
                           "event=csr_sign_refused reason=not_pkcs1_sha256 in_len=%u",
                           (unsigned)info->pk.rsa.inLen);
        return BAD_FUNC_ARG;
    }
    if (*info->pk.rsa.outLen < TPM_RSA_BYTES)
        return BUFFER_E;
    rc = c->sign(c->arg, hash, info->pk.rsa.out, &sig_len);
    if (rc != LJ_OK) {
        c->rc = rc;
        return WC_HW_E;
    }
    *info->pk.rsa.outLen = (word32)sig_len;
    c->signs++;
    return 0;
}

static enum lj_rc
rsa_key_from_pub(RsaKey *key, const struct tpm_rsa_pub *pub, int devId)
{
    if (wc_InitRsaKey_ex(key, NULL, devId) != 0)
        return lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=rsa_init_failed");
    if (wc_RsaPublicKeyDecodeRaw(pub->n, (word32)pub->n_len, pub->e, (word32)pub->e_len, key) !=
        0) {
        wc_FreeRsaKey(key);
        return lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=rsa_decode_failed");
    }
    return LJ_OK;
}

bool
tpm_wc_hash(enum tpm_hash hash, int *type, int *mgf)
{
    switch (hash) {
    case TPM_HASH_SHA256:
        *type = WC_HASH_TYPE_SHA256;
        *mgf = WC_MGF1SHA256;
        return true;
    case TPM_HASH_SHA384:
        *type = WC_HASH_TYPE_SHA384;
        *mgf = WC_MGF1SHA384;
        return true;
    case TPM_HASH_SHA512:
        *type = WC_HASH_TYPE_SHA512;
        *mgf = WC_MGF1SHA512;
        return true;
    }
    return false;
}

/* PKCS#1 v1.5: the signature opens to exactly hash's DigestInfo of dig (RFC 8017 8.2.2). */
static bool
pkcs1_verifies(RsaKey *key, int type, const unsigned char *dig, size_t dig_len,
               const unsigned char *sig)
{
    unsigned char plain[TPM_RSA_BYTES], enc[96]; /* DigestInfo: 19 + 64 at most */
    word32 enc_len = wc_EncodeSignature(enc, dig, (word32)dig_len, wc_HashGetOID(type));
    int n = wc_RsaSSL_Verify(sig, TPM_RSA_BYTES, plain, sizeof(plain), key);

    return enc_len > 0 && n == (int)enc_len && memcmp(plain, enc, enc_len) == 0;
}

/*
 * RFC 8446 4.2.3: the salt of an rsa_pss_rsae_* signature MUST be as long
 * as the digest, and TLS verifiers check it (OpenSSL's libssl with
 * RSA_PSS_SALTLEN_DIGEST, wolfSSL's VerifyRsaSign).  libtpms does that
 * (CryptRsaPssSaltSize: the digest length, capped by what fits, which an
 * RSA-2048 key never reaches for SHA-512); TPM 2.0 Part 1 (B.7 in older
 * revisions) let a TPM use the largest salt instead, which a server would
 * reject as a bad signature, so say it here by name.
 */
enum lj_rc
tpm_rsa_sig_check(const struct tpm_rsa_pub *pub, enum tpm_sig_scheme scheme, enum tpm_hash hash,
                  const unsigned char *dig, const unsigned char *sig, size_t sig_len)
{
    RsaKey key;
    unsigned char buf[TPM_RSA_BYTES], *out = NULL;
    int type = 0, mgf = 0, n = 0;
    enum lj_rc rc;

    if (!tpm_wc_hash(hash, &type, &mgf))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=sign_failed reason=unknown_hash");
    if (sig_len != TPM_RSA_BYTES)
        return lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=sign_failed reason=unexpected_signature");
    rc = rsa_key_from_pub(&key, pub, INVALID_DEVID);
    if (rc != LJ_OK)
        return rc;
    if (scheme == TPM_SIG_RSASSA) {
        if (!pkcs1_verifies(&key, type, dig, (size_t)hash, sig))
            rc = lj_err_set(LJ_ERR_TPM, TPM_MOD,
                            "event=sign_failed scheme=rsassa hash=%s reason=\"the TPM's "
                            "signature does not verify\"",
                            tpm_hash_name(hash));
        goto out;
    }
    memcpy(buf, sig, sizeof(buf));
    n = wc_RsaPSS_VerifyInline_ex(buf, sizeof(buf), &out, (enum wc_HashType)type, mgf, (int)hash,
                                  &key);
    if (n <= 0 ||
        wc_RsaPSS_CheckPadding_ex(dig, (word32)hash, out, (word32)n, (enum wc_HashType)type,
                                  (int)hash, wc_RsaEncryptSize(&key) * 8) != 0)
        rc = lj_err_set(LJ_ERR_SIG_UNSUPPORTED, TPM_MOD,
                        "event=sign_refused scheme=rsa_pss hash=%s reason=\"the TPM's RSA-PSS "
                        "signature does not verify with a %d-byte salt, which TLS requires\" "
                        "err=%d",
                        tpm_hash_name(hash), (int)hash, n);
out:
    wc_FreeRsaKey(&key);
    return rc;
}

enum lj_rc
tpm_rsa_pub_spki(const struct tpm_rsa_pub *pub, unsigned char **der, size_t *der_len)
{
    RsaKey key;
    unsigned char *buf = NULL;
    int n;
    enum lj_rc rc;

    rc = rsa_key_from_pub(&key, pub, INVALID_DEVID);
    if (rc != LJ_OK)
        return rc;
    buf = malloc(CSR_DER_MAX);
    if (buf == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    n = wc_RsaKeyToPublicDer(&key, buf, CSR_DER_MAX);
    if (n <= 0) {
        rc = lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=spki_encode_failed err=%d", n);
        goto out;
    }
    *der = buf;
    *der_len = (size_t)n;
    buf = NULL;
out:
    free(buf);
    wc_FreeRsaKey(&key);
    return rc;
}

enum lj_rc
tpm_csr_build(const struct tpm_rsa_pub *pub, const char *cn, tpm_sign_fn sign, void *arg,
              unsigned char **der, size_t *der_len)
{
    struct csr_cb_ctx cbctx = {sign, arg, LJ_OK, 0};
    Cert req;
    RsaKey key;
    WC_RNG rng;
    unsigned char *buf = NULL;
    bool have_key = false, have_rng = false, registered = false;
    int w;
    enum lj_rc rc = LJ_ERR_CRYPTO;

    if (cn == NULL || strlen(cn) == 0 || strlen(cn) >= CTC_NAME_SIZE)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=csr_failed reason=bad_cn");
    pthread_mutex_lock(&csr_lock);
    buf = malloc(CSR_DER_MAX);
    if (buf == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    if (wc_CryptoCb_RegisterDevice(CSR_DEVID, csr_crypto_cb, &cbctx) != 0) {
        lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=csr_failed reason=cryptocb_register");
        goto out;
    }
    registered = true;
    rc = rsa_key_from_pub(&key, pub, CSR_DEVID);
    if (rc != LJ_OK)
        goto out;
    have_key = true;
    rc = LJ_ERR_CRYPTO;
    if (wc_InitRng(&rng) != 0) {
        lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=csr_failed reason=rng");
        goto out;
    }
    have_rng = true;
    if (wc_InitCert(&req) != 0) {
        lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=csr_failed reason=init_cert");
        goto out;
    }
    req.version = 0; /* wc_InitCert sets 2 (an X.509 v3 value); PKCS#10 wants 0 */
    req.sigType = CTC_SHA256wRSA;
    memcpy(req.subject.commonName, cn, strlen(cn) + 1);
    w = wc_MakeCertReq_ex(&req, buf, CSR_DER_MAX, RSA_TYPE, &key);
    if (w <= 0) {
        lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=csr_failed reason=make_req err=%d", w);
        goto out;
    }
    w = wc_SignCert_ex(req.bodySz, req.sigType, buf, CSR_DER_MAX, RSA_TYPE, &key, &rng);
    if (w <= 0 || cbctx.signs != 1) {
        if (cbctx.rc != LJ_OK)
            rc = cbctx.rc; /* the provider's own error (e.g. TPM unreachable) */
        else
            lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=csr_failed reason=sign err=%d signs=%d", w,
                       cbctx.signs);
        goto out;
    }
    *der = buf;
    *der_len = (size_t)w;
    buf = NULL;
    rc = LJ_OK;
out:
    if (have_rng)
        wc_FreeRng(&rng);
    if (have_key)
        wc_FreeRsaKey(&key);
    if (registered)
        wc_CryptoCb_UnRegisterDevice(CSR_DEVID);
    pthread_mutex_unlock(&csr_lock);
    free(buf);
    return rc;
}
