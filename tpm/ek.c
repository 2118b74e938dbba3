/*
 * ek.c — certificate and signature checks for the factory test, with
 * wolfSSL only (no TPM): does an EK certificate read from NV parse and
 * chain to the manufacturer's CA bundle, and does an ephemeral TPM key's
 * ECDSA signature verify.
 *
 * wolfssl/options.h first (see csr.c).
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <stdio.h>
#include <string.h>

#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "tpm/backend.h"
#include "tpm/tpm.h"

#define CA_BUNDLE_MAX (256 * 1024)

/* Left-pad a big-endian value to 32 bytes. */
static bool
pad32(unsigned char out[32], const unsigned char *in, size_t len)
{
    if (len == 0 || len > 32)
        return false;
    memset(out, 0, 32);
    memcpy(out + 32 - len, in, len);
    return true;
}

bool
tpm_ecdsa_p256_verify(const struct tpm_ecc_sig *sig, const unsigned char dig[32])
{
    ecc_key key;
    unsigned char x[32], y[32], der[80];
    word32 der_len = sizeof(der);
    int res = 0;
    bool ok = false;

    if (!pad32(x, sig->x, sig->x_len) || !pad32(y, sig->y, sig->y_len))
        return false;
    if (wc_ecc_init(&key) != 0)
        return false;
    if (wc_ecc_import_unsigned(&key, x, y, NULL, ECC_SECP256R1) != 0 || wc_ecc_check_key(&key) != 0)
        goto out;
    if (wc_ecc_rs_raw_to_sig(sig->r, (word32)sig->r_len, sig->s, (word32)sig->s_len, der,
                             &der_len) != 0)
        goto out;
    ok = wc_ecc_verify_hash(der, der_len, dig, 32, &res, &key) == 0 && res == 1;
out:
    wc_ecc_free(&key);
    return ok;
}

enum lj_rc
tpm_ek_cert_verify(const unsigned char *der, size_t len, const char *ca_file, char *detail,
                   size_t dsz)
{
    WOLFSSL_X509 *x = NULL;
    WOLFSSL_CERT_MANAGER *cm = NULL;
    unsigned char *bundle = NULL;
    size_t blen = 0;
    char issuer[256] = "", subject[256] = "";
    bool ssl_init = false;
    int r;
    enum lj_rc rc = LJ_OK;

    snprintf(detail, dsz, "not checked");
    if (der == NULL || len == 0 || len > TPM_EK_CERT_BYTES) {
        snprintf(detail, dsz, "empty or oversized certificate (%zu bytes)", len);
        return LJ_ERR_PARSE;
    }
    if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
        snprintf(detail, dsz, "wolfSSL init failed");
        return LJ_ERR_CRYPTO;
    }
    ssl_init = true;
    x = wolfSSL_X509_load_certificate_buffer(der, (int)len, WOLFSSL_FILETYPE_ASN1);
    if (x == NULL) {
        snprintf(detail, dsz, "not a parsable X.509 certificate (%zu bytes)", len);
        rc = LJ_ERR_PARSE;
        goto out;
    }
    if (wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_issuer_name(x), issuer, (int)sizeof(issuer)) ==
        NULL)
        snprintf(issuer, sizeof(issuer), "?");
    if (wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_subject_name(x), subject,
                                  (int)sizeof(subject)) == NULL)
        snprintf(subject, sizeof(subject), "?");
    if (ca_file == NULL) {
        snprintf(detail, dsz, "parses (issuer %s); chain not checked (no --ek-ca)", issuer);
        goto out;
    }
    rc = lj_fs_read(ca_file, CA_BUNDLE_MAX, &bundle, &blen);
    if (rc != LJ_OK) {
        snprintf(detail, dsz, "CA bundle %s unreadable (%s)", ca_file, lj_rc_name(rc));
        goto out;
    }
    cm = wolfSSL_CertManagerNew();
    if (cm == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    r = wolfSSL_CertManagerLoadCABuffer(cm, bundle, (long)blen, WOLFSSL_FILETYPE_PEM);
    if (r != WOLFSSL_SUCCESS) {
        snprintf(detail, dsz, "CA bundle %s has no usable PEM certificate (wolfSSL %d)", ca_file,
                 r);
        rc = LJ_ERR_PARSE;
        goto out;
    }
    r = wolfSSL_CertManagerVerifyBuffer(cm, der, (long)len, WOLFSSL_FILETYPE_ASN1);
    if (r != WOLFSSL_SUCCESS) {
        snprintf(detail, dsz, "issuer %s does not chain to %s (%s)", issuer, ca_file,
                 wc_GetErrorString(r));
        rc = LJ_ERR_CRYPTO;
        goto out;
    }
    snprintf(detail, dsz, "subject %s, issuer %s, chains to %s", subject, issuer, ca_file);
out:
    wolfSSL_CertManagerFree(cm);
    free(bundle);
    wolfSSL_X509_free(x);
    if (ssl_init)
        wolfSSL_Cleanup();
    return rc;
}
