/*
 * Unit tests for the client-certificate hook of agent/net/http.c
 * (agent/net/tls_tpmkey_wolfssl.c): what lj_http_new accepts as a TLS client
 * identity, and which failed handshake counts as a server that asks for a
 * signature the key does not make.  The handshake itself (TPM signing,
 * rsa_pkcs1 and rsa_pss_rsae with SHA-256/384/512, TLS 1.2 and 1.3) is
 * tested against entra-sim in tests/integration/test_wolfssl.sh and
 * test_leave.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/net/http.h"
#include "agent/net/tls_tpmkey.h"
#include "tests/unit/testutil.h"

static unsigned calls;

static enum lj_rc
never_sign(void *arg, enum lj_http_sig scheme, enum lj_http_hash hash, const unsigned char *digest,
           unsigned char *sig, size_t *sig_len)
{
    (void)arg;
    (void)scheme;
    (void)hash;
    (void)digest;
    (void)sig;
    (void)sig_len;
    calls++;
    return LJ_ERR_TPM;
}

/* A client with the certificate tests/data/CERT_FILE and the key SPKI_FILE (or none). */
static enum lj_rc
make(const char *cert_file, const char *spki_file)
{
    unsigned char *cert = NULL, *spki = NULL;
    size_t cert_len = 0, spki_len = 0;
    struct lj_http_client_cert cc;
    struct lj_http_config cfg;
    struct lj_http *h = NULL;
    enum lj_rc rc;

    cert = (unsigned char *)lj_test_load_data(cert_file, &cert_len);
    if (spki_file != NULL)
        spki = (unsigned char *)lj_test_load_data(spki_file, &spki_len);
    memset(&cc, 0, sizeof(cc));
    cc.cert_der = cert;
    cc.cert_len = cert_len;
    cc.sign = never_sign;
    cc.key_spki = spki;
    cc.key_spki_len = spki_len;
    memset(&cfg, 0, sizeof(cfg));
    cfg.client_cert = &cc;
    rc = lj_http_new(&cfg, &h);
    assert_true(rc == LJ_OK ? h != NULL : h == NULL);
    lj_http_free(h);
    free(cert);
    free(spki);
    return rc;
}

static void
test_device_cert_accepted(void **state)
{
    (void)state;
    assert_int_equal(make("drs/device-cert.der", NULL), LJ_OK);
    assert_int_equal(make("drs/device-cert.der", "drs/device-cert.spki.der"), LJ_OK);
    assert_int_equal(calls, 0); /* nothing is signed before a handshake */
}

static void
test_key_mismatch_refused(void **state)
{
    (void)state;
    assert_int_equal(make("drs/device-cert.der", "drs/other-key.spki.der"), LJ_ERR_STATE);
}

static void
test_not_a_certificate(void **state)
{
    (void)state;
    assert_int_equal(make("drs/other-key.spki.der", NULL), LJ_ERR_PARSE);
    assert_int_equal(make("drs/join-request.json", NULL), LJ_ERR_PARSE);
}

static void
test_missing_parts(void **state)
{
    struct lj_http_client_cert cc;
    struct lj_http_config cfg;
    struct lj_http *h = NULL;
    static const unsigned char one = 0x30;
    (void)state;

    memset(&cc, 0, sizeof(cc));
    memset(&cfg, 0, sizeof(cfg));
    cfg.client_cert = &cc;
    assert_int_equal(lj_http_new(&cfg, &h), LJ_ERR_INVAL); /* no certificate */
    cc.cert_der = &one;
    cc.cert_len = 1;
    assert_int_equal(lj_http_new(&cfg, &h), LJ_ERR_INVAL); /* no sign callback */
    assert_null(h);
}

/*
 * wolfSSL ends the handshake with INVALID_PARAMETER (-425) when the
 * CertificateRequest offers no signature algorithm the key makes (seen
 * with rsa_pkcs1_sha1 only, test_wolfssl.sh leave_sha1_refused); curl
 * reports it as CURLE_SSL_CONNECT_ERROR (http.c checks that) with that
 * number in its text.  Any other failure is not that.
 */
static void
test_sigalgs_refused(void **state)
{
    unsigned char *cert = NULL;
    size_t cert_len = 0;
    struct lj_http_client_cert cc;
    struct lj_tls_client *c = NULL;

    (void)state;
    cert = (unsigned char *)lj_test_load_data("drs/device-cert.der", &cert_len);
    memset(&cc, 0, sizeof(cc));
    cc.cert_der = cert;
    cc.cert_len = cert_len;
    cc.sign = never_sign;
    cc.pss = true;
    assert_int_equal(lj_tls_client_new(&cc, &c), LJ_OK);
    assert_true(lj_tls_client_tls13(c));
    assert_true(lj_tls_client_sigalgs_refused(
        c, "SSL_connect failed with error -425: The security parameter is invalid"));
    assert_false(lj_tls_client_sigalgs_refused(
        c, "SSL_connect failed with error -313: received alert fatal error"));
    assert_false(lj_tls_client_sigalgs_refused(c, "SSL_connect failed with error -4250: x"));
    assert_false(lj_tls_client_sigalgs_refused(c, NULL));
    assert_int_equal(lj_tls_client_take_sign_error(c), LJ_OK);
    assert_int_equal(lj_tls_client_sign_count(c), 0);
    lj_tls_client_free(c);
    free(cert);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_cert_accepted), cmocka_unit_test(test_key_mismatch_refused),
        cmocka_unit_test(test_not_a_certificate),    cmocka_unit_test(test_missing_parts),
        cmocka_unit_test(test_sigalgs_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
