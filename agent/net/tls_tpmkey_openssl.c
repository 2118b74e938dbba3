/*
 * tls_tpmkey_openssl.c — TLS client certificate whose key stays in the TPM,
 * for libcurl's OpenSSL backend, the default TLS stack (see tls_tpmkey.h;
 * tls_tpmkey_wolfssl.c is the wolfSSL one, which also signs RSA-PSS and
 * speaks TLS 1.3 with the device key).
 *
 * Design note.  The key is an OpenSSL 3 EVP_PKEY holding an RSA object
 * with our own RSA_METHOD: its public part (n, e) is copied from the
 * certificate, it has no private part, and its rsa_sign hook hands the
 * SHA-256 digest to the caller's sign callback (tpm_sign_sha256 through
 * cmd_leave's adapter).  OpenSSL 3 treats an RSA with a non-default method
 * as a "foreign" legacy key: it is never exported to a provider, and
 * EVP_DigestSign in libssl ends in RSA_sign(), which calls the hook.
 *
 * Why this way rather than the alternatives:
 *   - Debian's tpm2-openssl provider would open its own ESAPI context and
 *     want its own key format: ESAPI outside tpm/ and a second owner of the
 *     TPM (conventions rule 9), plus a new package on every device.
 *   - A custom OpenSSL provider (keymgmt + signature) is the modern API but
 *     some 300 lines of dispatch tables for one signature; RSA_METHOD is
 *     deprecated in 3.0 yet supported for the whole 3.x series, and it is
 *     contained here (OPENSSL_SUPPRESS_DEPRECATED only in this file).
 *   - TLS 1.3 needs RSA-PSS for CertificateVerify.  The device key can
 *     make it (tpm_sign_pss_sha256; keys of the earlier template cannot),
 *     but OpenSSL's PSS path for a legacy key pads in libcrypto and calls
 *     the method's raw priv_enc with the encoded block, which TPM2_Sign
 *     cannot take (only a raw RSA decrypt could, and the device key is
 *     sign-only on purpose); reaching TPM2_Sign would need a provider
 *     with its own signature dispatch.  So a connection that may
 *     authenticate is capped at TLS 1.2 and offers only rsa_pkcs1_sha256
 *     (lj_tls_client_tls13 says false); the hook refuses anything but a
 *     32-byte SHA-256 digest, so a misconfiguration fails the handshake
 *     instead of signing something else.
 * Verified against entra-sim (GnuTLS server asking for an optional
 * certificate): tests/integration/test_leave.sh.
 *
 * Threads: the hook runs on the thread inside curl_easy_perform; the
 * callback may block (the TPM worker does the work).
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "agent/net/tls_tpmkey.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "platform/common/log.h"
#include "platform/common/secmem.h"

#define MOD "tls"
#define SIG_MAX 512

struct lj_tls_client {
    X509 *cert;
    EVP_PKEY *key;
    lj_http_sign_fn sign;
    void *sign_arg;
    enum lj_rc sign_error; /* first failure since the last take */
    unsigned signs;
};

static pthread_once_t meth_once = PTHREAD_ONCE_INIT;
static RSA_METHOD *meth; /* process lifetime: RSA objects point at it */
static int ex_index = -1;

static int
hook_sign(int type, const unsigned char *m, unsigned int m_len, unsigned char *sigret,
          unsigned int *siglen, const RSA *rsa)
{
    struct lj_tls_client *c = RSA_get_ex_data(rsa, ex_index);
    unsigned char sig[SIG_MAX];
    size_t sig_len = 0;
    enum lj_rc rc;

    if (c == NULL)
        return 0;
    if (type != NID_sha256 || m_len != 32) {
        lj_log(LJ_LOG_WARN, MOD, "event=sign_refused nid=%d len=%u reason=\"only SHA-256\"", type,
               m_len);
        if (c->sign_error == LJ_OK)
            c->sign_error = lj_err_set(LJ_ERR_UNSUPPORTED, MOD,
                                       "event=sign_refused reason=\"only rsa_pkcs1_sha256\"");
        return 0;
    }
    c->signs++;
    rc = c->sign(c->sign_arg, m, sig, &sig_len);
    if (rc != LJ_OK) {
        if (c->sign_error == LJ_OK)
            c->sign_error = rc;
        return 0;
    }
    if (sig_len == 0 || sig_len > (size_t)RSA_size(rsa)) {
        if (c->sign_error == LJ_OK)
            c->sign_error =
                lj_err_set(LJ_ERR_INTERNAL, MOD, "event=sign_bad_length len=%zu", sig_len);
        return 0;
    }
    memcpy(sigret, sig, sig_len);
    *siglen = (unsigned int)sig_len;
    lj_log(LJ_LOG_DEBUG, MOD, "event=client_auth_signed bytes=%zu", sig_len);
    return 1;
}

/* No private exponent here: any other private operation is refused. */
static int
hook_priv_enc(int flen, const unsigned char *from, unsigned char *to, RSA *rsa, int padding)
{
    (void)flen;
    (void)from;
    (void)to;
    (void)rsa;
    (void)padding;
    return -1;
}

static int
hook_priv_dec(int flen, const unsigned char *from, unsigned char *to, RSA *rsa, int padding)
{
    (void)flen;
    (void)from;
    (void)to;
    (void)rsa;
    (void)padding;
    return -1;
}

static void
meth_init(void)
{
    const RSA_METHOD *def = RSA_PKCS1_OpenSSL();
    RSA_METHOD *m;

    ex_index = RSA_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    if (ex_index < 0)
        return;
    m = RSA_meth_new("linkjoin-tpm", 0);
    if (m == NULL)
        return;
    /* Public operations (verify, encrypt) stay OpenSSL's. */
    if (RSA_meth_set_pub_enc(m, RSA_meth_get_pub_enc(def)) != 1 ||
        RSA_meth_set_pub_dec(m, RSA_meth_get_pub_dec(def)) != 1 ||
        RSA_meth_set_priv_enc(m, hook_priv_enc) != 1 ||
        RSA_meth_set_priv_dec(m, hook_priv_dec) != 1 || RSA_meth_set_sign(m, hook_sign) != 1) {
        RSA_meth_free(m);
        return;
    }
    meth = m;
}

void
lj_tls_client_free(struct lj_tls_client *c)
{
    if (c == NULL)
        return;
    EVP_PKEY_free(c->key);
    X509_free(c->cert);
    free(c);
}

enum lj_rc
lj_tls_client_new(const struct lj_http_client_cert *cc, struct lj_tls_client **out)
{
    struct lj_tls_client *c = NULL;
    const unsigned char *p;
    EVP_PKEY *pub = NULL;
    RSA *rsa = NULL;
    BIGNUM *n = NULL, *e = NULL;
    enum lj_rc rc = LJ_ERR_NOMEM;
    int bits;

    if (cc == NULL || cc->cert_der == NULL || cc->cert_len == 0 || cc->cert_len > 65536 ||
        cc->sign == NULL)
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=client_cert_invalid");
    pthread_once(&meth_once, meth_init);
    if (meth == NULL)
        return lj_err_set(LJ_ERR_CRYPTO, MOD, "event=rsa_method_failed");
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto out;
    c->sign = cc->sign;
    c->sign_arg = cc->sign_arg;
    p = cc->cert_der;
    c->cert = d2i_X509(NULL, &p, (long)cc->cert_len);
    if (c->cert == NULL || p != cc->cert_der + cc->cert_len) {
        rc = lj_err_set(LJ_ERR_PARSE, MOD, "event=client_cert_unparsable");
        goto out;
    }
    pub = X509_get_pubkey(c->cert);
    if (pub == NULL || EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA) {
        rc = lj_err_set(LJ_ERR_PARSE, MOD, "event=client_cert_not_rsa");
        goto out;
    }
    if (cc->key_spki != NULL) {
        unsigned char *spki = NULL;
        int spki_len = i2d_PUBKEY(pub, &spki);
        bool same = spki_len > 0 && (size_t)spki_len == cc->key_spki_len &&
                    memcmp(spki, cc->key_spki, cc->key_spki_len) == 0;
        OPENSSL_free(spki);
        if (!same) {
            rc = lj_err_set(LJ_ERR_STATE, MOD,
                            "event=client_cert_key_mismatch reason=\"the certificate is not "
                            "for the signing key\"");
            goto out;
        }
    }
    bits = EVP_PKEY_get_bits(pub);
    if (bits < 2048 || bits > 4096) {
        rc = lj_err_set(LJ_ERR_PARSE, MOD, "event=client_cert_key_size bits=%d", bits);
        goto out;
    }
    if (EVP_PKEY_get_bn_param(pub, "n", &n) != 1 || EVP_PKEY_get_bn_param(pub, "e", &e) != 1) {
        rc = lj_err_set(LJ_ERR_CRYPTO, MOD, "event=client_cert_key_unreadable");
        goto out;
    }
    rsa = RSA_new_method(NULL);
    if (rsa == NULL)
        goto out;
    if (RSA_set_method(rsa, meth) != 1 || RSA_set0_key(rsa, n, e, NULL) != 1) {
        rc = lj_err_set(LJ_ERR_CRYPTO, MOD, "event=rsa_setup_failed");
        goto out;
    }
    n = e = NULL; /* owned by rsa now */
    if (RSA_set_ex_data(rsa, ex_index, c) != 1) {
        rc = lj_err_set(LJ_ERR_CRYPTO, MOD, "event=rsa_setup_failed");
        goto out;
    }
    c->key = EVP_PKEY_new();
    if (c->key == NULL)
        goto out;
    if (EVP_PKEY_assign_RSA(c->key, rsa) != 1) {
        rc = lj_err_set(LJ_ERR_CRYPTO, MOD, "event=pkey_setup_failed");
        goto out;
    }
    rsa = NULL; /* owned by c->key */
    *out = c;
    c = NULL;
    rc = LJ_OK;
out:
    BN_free(n);
    BN_free(e);
    RSA_free(rsa);
    EVP_PKEY_free(pub);
    lj_tls_client_free(c);
    return rc;
}

enum lj_rc
lj_tls_ctx_setup(struct lj_tls_client *c, void *ssl_ctx)
{
    SSL_CTX *ctx = ssl_ctx;

    if (c == NULL)
        return LJ_OK; /* the TLS 1.2 floor is CURLOPT_SSLVERSION's */
    if (SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set1_client_sigalgs_list(ctx, "RSA+SHA256") != 1 ||
        SSL_CTX_use_certificate(ctx, c->cert) != 1 || SSL_CTX_use_PrivateKey(ctx, c->key) != 1)
        return lj_err_set(LJ_ERR_TLS, MOD, "event=client_cert_install_failed");
    return LJ_OK;
}

enum lj_rc
lj_tls_client_take_sign_error(struct lj_tls_client *c)
{
    enum lj_rc rc = c->sign_error;

    c->sign_error = LJ_OK;
    return rc;
}

int
lj_tls_resumed(void *ssl)
{
    return ssl == NULL ? -1 : (SSL_session_reused((SSL *)ssl) == 1 ? 1 : 0);
}

const char *
lj_tls_version(void *ssl)
{
    const char *v = ssl != NULL ? SSL_get_version((SSL *)ssl) : NULL;

    return v != NULL ? v : "unknown";
}

unsigned
lj_tls_client_sign_count(const struct lj_tls_client *c)
{
    return c->signs;
}

bool
lj_tls_client_tls13(const struct lj_tls_client *c)
{
    (void)c;
    return false; /* the RSA_METHOD hook cannot reach TPM2_Sign for PSS (see the top) */
}
