/*
 * tls_tpmkey_wolfssl.c — TLS client certificate whose key stays in the TPM,
 * for the agent's static libcurl on wolfSSL (tools/deps-curl.sh; see tls_tpmkey.h).
 *
 * Design note.  wolfSSL's PK callbacks (HAVE_PK_CALLBACKS, set in Debian's
 * libwolfssl 5.5.4) replace its private-key operations per WOLFSSL_CTX:
 * with an RSA sign callback installed, wolfSSL accepts the certificate's
 * public key where the private key would go (ProcessBufferTryDecode and
 * DecodePrivateKey try wc_RsaPublicKeyDecode when
 * wolfSSL_CTX_IsPrivatePkSet), and a TLS 1.2 CertificateVerify calls the
 * callback with the DER DigestInfo (RFC 8017 9.2) of the handshake hash;
 * wolfSSL pads it.  The callback checks that it is a SHA-256, SHA-384 or
 * SHA-512 DigestInfo and hands the digest to the caller's sign function
 * (tpm_sign through cmd_leave's adapter; the device key's scheme is NULL,
 * so TPM2_Sign takes any of them); wolfSSL then verifies the signature with
 * the public key before sending it (VerifyRsaSign).  The wolfSSL crypto
 * callback (WOLF_CRYPTO_CB, used for the CSR in tpm/) would hand over the
 * already padded block instead.
 *
 * RSA-PSS: wolfSSL 5.5.4 picks the TLS 1.2 CertificateVerify algorithm in
 * PickHashSigAlgo (src/internal.c) from the server's CertificateRequest
 * list alone (the client's sigalgs list is not consulted), and once it
 * has chosen rsa_pss_rsae_sha256 its MatchSigAlgo compares later entries
 * with that choice, so rsa_pkcs1_sha256 can never replace it.  A server
 * that offers rsa_pss_rsae_sha256 (OpenSSL's and GnuTLS's defaults do;
 * Entra's own list was not captured) therefore gets an RSA-PSS signature,
 * and TLS 1.3 CertificateVerify is RSA-PSS anyway (RFC 8446 4.4.3).  The
 * PSS callback receives the digest and hands it to the caller's sign with
 * LJ_HTTP_SIG_PSS (tpm_sign: TPM2_Sign with scheme RSAPSS, salt = digest
 * length, what wolfSSL's check after signing and the server expect).  So
 * a connection that may authenticate allows TLS 1.3 when pss is
 * set (lj_tls_client_tls13; http.c then leaves the version to curl).
 * Without pss, or for a hash other than SHA-256, -384 or -512, the
 * callback fails with LJ_ERR_SIG_UNSUPPORTED (taxonomy row
 * tls_signature_unsupported); a CertificateRequest that offers nothing
 * the key makes (rsa_pkcs1_sha1 only, say) never reaches the callbacks:
 * wolfSSL fails the handshake with INVALID_PARAMETER, which
 * lj_tls_client_sigalgs_refused recognises, so the same row; for a
 * device key of the earlier RSASSA-only template tpm/ refuses by name
 * (TPM 2.0 Part 3 TPM2_Sign would answer TPM_RC_SCHEME) with
 * LJ_ERR_KEY_SCHEME, kept as is; http.c reports either as the reason the
 * handshake failed.
 * tests/integration/test_wolfssl.sh shows each outcome.  Also forced by
 * 5.5.4: on TLS 1.2 the signature type comes from the cipher suite, so a
 * connection that may authenticate offers ECDHE-RSA suites (and the TLS
 * 1.3 ones) only.
 *
 * Verified against entra-sim (GnuTLS server asking for an optional
 * certificate) and an OpenSSL server requiring one, on TLS 1.3 and 1.2:
 * tests/integration/test_wolfssl.sh.
 *
 * Threads: the callback runs on the thread inside curl_easy_perform; the
 * sign function may block (the TPM worker does the work).
 */
#include "agent/net/tls_tpmkey.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include "platform/common/log.h"

#define MOD "tls"
#define SPKI_MAX 1024

/* ECDHE with an RSA server certificate: the suites that let wolfSSL 5.5.4
   pick an RSA signature for the client certificate (see the top). */
#define CLIENT_AUTH_SUITES                                                                         \
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"
/* With RSA-PSS the TLS 1.3 suites too (their CertificateVerify is RSA-PSS). */
#define CLIENT_AUTH_SUITES_TLS13                                                                   \
    "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-"                     \
    "SHA256:" CLIENT_AUTH_SUITES

struct lj_tls_client {
    unsigned char *cert; /* DER, owned */
    size_t cert_len;
    unsigned char spki[SPKI_MAX]; /* the certificate's key, SubjectPublicKeyInfo DER */
    size_t spki_len;
    lj_http_sign_fn sign;
    bool pss; /* sign makes RSA-PSS too; false: refused, TLS 1.2 only */
    void *sign_arg;
    enum lj_rc sign_error; /* first failure since the last take */
    unsigned signs;
};

/*
 * The DigestInfo prefixes of RFC 8017 9.2 note 1, for the hashes the
 * device key signs in TLS (rsa_pkcs1_sha256/384/512, RFC 8446 4.2.3);
 * the digest follows.  rsa_pkcs1_sha1 (and anything else) is refused.
 */
static const struct {
    enum lj_http_hash hash;
    unsigned char prefix[19];
} digest_infos[] = {
    {LJ_HTTP_SHA256,
     {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
      0x05, 0x00, 0x04, 0x20}},
    {LJ_HTTP_SHA384,
     {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
      0x05, 0x00, 0x04, 0x30}},
    {LJ_HTTP_SHA512,
     {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
      0x05, 0x00, 0x04, 0x40}},
};

/* wolfSSL's hash OID and MGF1 of an rsa_pss_rsae_* CertificateVerify, per hash. */
static const struct {
    enum lj_http_hash hash;
    int oid, mgf;
} pss_hashes[] = {
    {LJ_HTTP_SHA256, SHA256h, WC_MGF1SHA256},
    {LJ_HTTP_SHA384, SHA384h, WC_MGF1SHA384},
    {LJ_HTTP_SHA512, SHA512h, WC_MGF1SHA512},
};

static pthread_once_t ex_once = PTHREAD_ONCE_INIT;
static int ex_index = -1;

static void
ex_init(void)
{
    ex_index = wolfSSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static struct lj_tls_client *
client_of(WOLFSSL *ssl)
{
    WOLFSSL_CTX *ctx = ssl != NULL ? wolfSSL_get_SSL_CTX(ssl) : NULL;

    return ctx != NULL && ex_index >= 0 ? wolfSSL_CTX_get_ex_data(ctx, ex_index) : NULL;
}

static void
keep_error(struct lj_tls_client *c, enum lj_rc rc)
{
    if (c->sign_error == LJ_OK)
        c->sign_error = rc;
}

/* What the client signs, for the log and the refusal. */
#define SIGNS_WHAT "rsa_pkcs1 or rsa_pss_rsae with sha256, sha384 or sha512"

/* The server asked for a signature the device key does not make: say which. */
static int
refuse(struct lj_tls_client *c, const char *scheme, int hash_oid, unsigned in_len)
{
    lj_log(LJ_LOG_WARN, MOD, "event=sign_refused scheme=%s hash_oid=%d len=%u", scheme, hash_oid,
           in_len);
    keep_error(c,
               lj_err_set(LJ_ERR_SIG_UNSUPPORTED, MOD,
                          "event=sign_refused scheme=%s reason=\"the device key signs " SIGNS_WHAT
                          " only\"",
                          scheme));
    return WC_HW_E;
}

/* Sign digest (hash bytes) through the caller's function; the signature to out (room *out_len). */
static int
sign_to(struct lj_tls_client *c, enum lj_http_sig scheme, enum lj_http_hash hash,
        const unsigned char *digest, unsigned char *out, word32 *out_len)
{
    unsigned char sig[512];
    size_t sig_len = 0;
    enum lj_rc rc;

    c->signs++;
    rc = c->sign(c->sign_arg, scheme, hash, digest, sig, &sig_len);
    if (rc != LJ_OK) { /* tpm/ logged why */
        keep_error(c, rc);
        return WC_HW_E;
    }
    if (sig_len == 0 || sig_len > sizeof(sig) || sig_len > *out_len) {
        keep_error(c, lj_err_set(LJ_ERR_INTERNAL, MOD, "event=sign_bad_length len=%zu", sig_len));
        return WC_HW_E;
    }
    memcpy(out, sig, sig_len);
    *out_len = (word32)sig_len;
    lj_log(LJ_LOG_DEBUG, MOD, "event=client_auth_signed scheme=%s hash=sha%d bytes=%zu",
           scheme == LJ_HTTP_SIG_PSS ? "rsa_pss" : "rsa_pkcs1", (int)hash * 8, sig_len);
    return 0;
}

/* CallbackRsaSign: in is the DigestInfo, out gets the signature (*outSz in: room). */
static int
rsa_sign_cb(WOLFSSL *ssl, const unsigned char *in, unsigned int in_len, unsigned char *out,
            word32 *out_len, const unsigned char *key_der, unsigned int key_len, void *arg)
{
    struct lj_tls_client *c = client_of(ssl);

    (void)key_der;
    (void)key_len;
    (void)arg;
    if (c == NULL)
        return WC_HW_E;
    for (size_t i = 0; i < sizeof(digest_infos) / sizeof(digest_infos[0]); i++) {
        size_t plen = sizeof(digest_infos[i].prefix);

        if (in_len == plen + (size_t)digest_infos[i].hash &&
            memcmp(in, digest_infos[i].prefix, plen) == 0)
            return sign_to(c, LJ_HTTP_SIG_PKCS1, digest_infos[i].hash, in + plen, out, out_len);
    }
    return refuse(c, "rsa_pkcs1", 0, in_len);
}

/*
 * CallbackRsaPssSign: in is the digest itself (RsaSign in wolfSSL's
 * src/internal.c passes TypeHash(hashAlgo) and the MGF1 of the
 * signature scheme).  rsa_pss_rsae_sha256/384/512: the TPM signs with a
 * salt as long as the digest (tpm_sign, which verifies it), what
 * wolfSSL's own check after signing (VerifyRsaSign, salt = hash length)
 * and the server expect (RFC 8446 4.2.3).
 */
static int
rsa_pss_sign_cb(WOLFSSL *ssl, const unsigned char *in, unsigned int in_len, unsigned char *out,
                word32 *out_len, int hash, int mgf, const unsigned char *key_der,
                unsigned int key_len, void *arg)
{
    struct lj_tls_client *c = client_of(ssl);

    (void)key_der;
    (void)key_len;
    (void)arg;
    if (c == NULL)
        return WC_HW_E;
    if (!c->pss) {
        lj_log(LJ_LOG_WARN, MOD, "event=sign_refused scheme=rsa_pss hash_oid=%d len=%u", hash,
               in_len);
        keep_error(c, lj_err_set(LJ_ERR_SIG_UNSUPPORTED, MOD,
                                 "event=sign_refused reason=\"the server asked for RSA-PSS; the "
                                 "device key signs rsa_pkcs1 only\""));
        return WC_HW_E;
    }
    for (size_t i = 0; i < sizeof(pss_hashes) / sizeof(pss_hashes[0]); i++)
        if (hash == pss_hashes[i].oid && mgf == pss_hashes[i].mgf &&
            in_len == (unsigned)pss_hashes[i].hash)
            return sign_to(c, LJ_HTTP_SIG_PSS, pss_hashes[i].hash, in, out, out_len);
    return refuse(c, "rsa_pss", hash, in_len);
}

void
lj_tls_client_free(struct lj_tls_client *c)
{
    if (c == NULL)
        return;
    free(c->cert);
    free(c);
}

/* The certificate's RSA key as SubjectPublicKeyInfo DER in c->spki, and its bits. */
static enum lj_rc
cert_key(struct lj_tls_client *c, int *bits)
{
    DecodedCert dc;
    RsaKey key;
    unsigned char pub[SPKI_MAX];
    word32 pub_len = sizeof(pub), idx = 0;
    int n;
    enum lj_rc rc = LJ_ERR_PARSE;

    wc_InitDecodedCert(&dc, c->cert, (word32)c->cert_len, NULL);
    if (wc_ParseCert(&dc, CERT_TYPE, NO_VERIFY, NULL) != 0) {
        wc_FreeDecodedCert(&dc);
        return lj_err_set(LJ_ERR_PARSE, MOD, "event=client_cert_unparsable");
    }
    if (dc.keyOID != RSAk || wc_GetPubKeyDerFromCert(&dc, pub, &pub_len) != 0) {
        wc_FreeDecodedCert(&dc);
        return lj_err_set(LJ_ERR_PARSE, MOD, "event=client_cert_not_rsa");
    }
    wc_FreeDecodedCert(&dc);
    if (wc_InitRsaKey(&key, NULL) != 0)
        return lj_err_set(LJ_ERR_CRYPTO, MOD, "event=rsa_setup_failed");
    if (wc_RsaPublicKeyDecode(pub, &idx, &key, pub_len) != 0) {
        rc = lj_err_set(LJ_ERR_PARSE, MOD, "event=client_cert_not_rsa");
        goto out;
    }
    *bits = wc_RsaEncryptSize(&key) * 8;
    n = wc_RsaKeyToPublicDer(&key, c->spki, sizeof(c->spki));
    if (n <= 0) {
        rc = lj_err_set(LJ_ERR_CRYPTO, MOD, "event=client_cert_key_unreadable");
        goto out;
    }
    c->spki_len = (size_t)n;
    rc = LJ_OK;
out:
    wc_FreeRsaKey(&key);
    return rc;
}

enum lj_rc
lj_tls_client_new(const struct lj_http_client_cert *cc, struct lj_tls_client **out)
{
    struct lj_tls_client *c = NULL;
    enum lj_rc rc = LJ_ERR_NOMEM;
    int bits = 0;

    if (cc == NULL || cc->cert_der == NULL || cc->cert_len == 0 || cc->cert_len > 65536 ||
        cc->sign == NULL)
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=client_cert_invalid");
    pthread_once(&ex_once, ex_init);
    if (ex_index < 0)
        return lj_err_set(LJ_ERR_CRYPTO, MOD, "event=ex_index_failed");
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto out;
    c->sign = cc->sign;
    c->pss = cc->pss;
    c->sign_arg = cc->sign_arg;
    c->cert = malloc(cc->cert_len);
    if (c->cert == NULL)
        goto out;
    memcpy(c->cert, cc->cert_der, cc->cert_len);
    c->cert_len = cc->cert_len;
    rc = cert_key(c, &bits);
    if (rc != LJ_OK)
        goto out;
    if (cc->key_spki != NULL &&
        (cc->key_spki_len != c->spki_len || memcmp(cc->key_spki, c->spki, c->spki_len) != 0)) {
        rc = lj_err_set(LJ_ERR_STATE, MOD,
                        "event=client_cert_key_mismatch reason=\"the certificate is not "
                        "for the signing key\"");
        goto out;
    }
    if (bits < 2048 || bits > 4096) {
        rc = lj_err_set(LJ_ERR_PARSE, MOD, "event=client_cert_key_size bits=%d", bits);
        goto out;
    }
    *out = c;
    c = NULL;
    rc = LJ_OK;
out:
    lj_tls_client_free(c);
    return rc;
}

enum lj_rc
lj_tls_ctx_setup(struct lj_tls_client *c, void *ssl_ctx)
{
    WOLFSSL_CTX *ctx = ssl_ctx;
    int groups[] = {WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1};

    if (wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS)
        return lj_err_set(LJ_ERR_TLS, MOD, "event=min_version_failed");
    /* X25519 first: Debian's wolfSSL has FP_ECC, whose fixed-point cache
       for a P-256 key share is 5.6 MiB of heap per thread (massif, the
       largest single cost of a join); X25519 needs none. */
    if (wolfSSL_CTX_set_groups(ctx, groups, (int)(sizeof(groups) / sizeof(groups[0]))) !=
        WOLFSSL_SUCCESS) {
        /* A TLS 1.2-only context (client authentication) has no key-share
           groups: its supported_groups extension lists the same curves. */
        for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
            if (wolfSSL_CTX_UseSupportedCurve(ctx, (word16)groups[i]) != WOLFSSL_SUCCESS)
                return lj_err_set(LJ_ERR_TLS, MOD, "event=groups_failed");
    }
    if (c == NULL)
        return LJ_OK;
    /* The callbacks first: wolfSSL takes the public key as the private one
       only when they are set. */
    wolfSSL_CTX_SetRsaSignCb(ctx, rsa_sign_cb);
    wolfSSL_CTX_SetRsaPssSignCb(ctx, rsa_pss_sign_cb);
    if (wolfSSL_CTX_set_ex_data(ctx, ex_index, c) != WOLFSSL_SUCCESS ||
        wolfSSL_CTX_set_cipher_list(ctx, c->pss ? CLIENT_AUTH_SUITES_TLS13 : CLIENT_AUTH_SUITES) !=
            WOLFSSL_SUCCESS ||
        wolfSSL_CTX_use_certificate_buffer(ctx, c->cert, (long)c->cert_len,
                                           WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS ||
        wolfSSL_CTX_use_PrivateKey_buffer(ctx, c->spki, (long)c->spki_len, WOLFSSL_FILETYPE_ASN1) !=
            WOLFSSL_SUCCESS)
        return lj_err_set(LJ_ERR_TLS, MOD, "event=client_cert_install_failed");
    return LJ_OK;
}

bool
lj_tls_client_sigalgs_refused(const struct lj_tls_client *c, const char *errbuf)
{
    char want[64];

    (void)c;
    /* curl's wolfSSL backend (lib/vtls/wolfssl.c): "SSL_connect failed with error %d: %s" */
    snprintf(want, sizeof(want), "SSL_connect failed with error %d:", INVALID_PARAMETER);
    if (errbuf == NULL || strstr(errbuf, want) == NULL)
        return false;
    lj_log(LJ_LOG_WARN, MOD,
           "event=sign_refused reason=\"the server's CertificateRequest offers no signature "
           "algorithm the device key makes (" SIGNS_WHAT ")\" wolfssl_error=%d",
           INVALID_PARAMETER);
    return true;
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
    return ssl == NULL ? -1 : (wolfSSL_session_reused((WOLFSSL *)ssl) == 1 ? 1 : 0);
}

const char *
lj_tls_version(void *ssl)
{
    const char *v = ssl != NULL ? wolfSSL_get_version((WOLFSSL *)ssl) : NULL;

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
    return c->pss;
}
