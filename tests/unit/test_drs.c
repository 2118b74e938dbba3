/* Unit tests for agent/proto/drs.c: discovery, join body, join answer verification, error bodies.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/openssl/evp.h>
#include <wolfssl/wolfcrypt/hash.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "agent/proto/drs.h"
#include "platform/common/b64.h"
#include "platform/common/text.h"
#include "tests/unit/testutil.h"

/* The CSR DER and RSA1 blob of join-request.json (same key as the vector certificate). */
struct reqvec {
    unsigned char *csr, *blob;
    size_t csr_len, blob_len;
    unsigned char spki[1024];
    int spki_len;
};

static void
reqvec_load(struct reqvec *v)
{
    size_t n;
    char *body = lj_test_load_data("drs/join-request.json", &n);
    cJSON *j = cJSON_ParseWithLength(body, n);
    const char *d =
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "CertificateRequest"), "Data")->valuestring;
    const char *t = cJSON_GetObjectItem(j, "TransportKey")->valuestring;
    WOLFSSL_X509 *req;
    const unsigned char *p;

    assert_true(lj_b64_decode(d, strlen(d), LJ_B64_STD, &v->csr, &v->csr_len));
    assert_true(lj_b64_decode(t, strlen(t), LJ_B64_STD, &v->blob, &v->blob_len));
    p = v->csr;
    req = wolfSSL_X509_REQ_d2i(NULL, p, (int)v->csr_len);
    assert_non_null(req);
    {
        /* wolfSSL 5.5.4 gives the CSR's key as PKCS#1 RSAPublicKey here; drs accepts both forms. */
        WOLFSSL_EVP_PKEY *k = wolfSSL_X509_get_pubkey(req);
        unsigned char *o = NULL;

        assert_non_null(k);
        v->spki_len = wolfSSL_i2d_PUBKEY(k, &o);
        assert_true(v->spki_len > 0 && v->spki_len <= (int)sizeof(v->spki));
        memcpy(v->spki, o, (size_t)v->spki_len);
        XFREE(o, NULL, DYNAMIC_TYPE_OPENSSL);
        wolfSSL_EVP_PKEY_free(k);
    }
    wolfSSL_X509_free(req);
    cJSON_Delete(j);
    free(body);
}

static void
reqvec_free(struct reqvec *v)
{
    free(v->csr);
    free(v->blob);
}

static void
test_discover_url(void **state)
{
    char *u = NULL;

    (void)state;
    /* Before sign-in, no token: as dsreg (DSRegTool.ps1). */
    assert_int_equal(drs_discover_url(NULL, "contoso.example", false, &u), LJ_OK);
    assert_string_equal(
        u, "https://enterpriseregistration.windows.net/contoso.example/discover?api-version=1.7");
    free(u);
    /* With the DRS token: as libhimmelblau (src/discovery.rs). */
    assert_int_equal(drs_discover_url(NULL, "contoso.example", true, &u), LJ_OK);
    assert_string_equal(u, "https://enterpriseregistration.windows.net/contoso.example/"
                           "Discover?api-version=1.9&managed=True");
    free(u);
    assert_int_equal(drs_discover_url("https://drs.test:8443/", "x.y", false, &u), LJ_OK);
    assert_string_equal(u, "https://drs.test:8443/x.y/discover?api-version=1.7");
    free(u);
    assert_int_equal(drs_discover_url("https://drs.test:8443", "x.y", true, &u), LJ_OK);
    assert_string_equal(u, "https://drs.test:8443/x.y/Discover?api-version=1.9&managed=True");
    free(u);
    u = NULL;
    assert_int_equal(drs_discover_url(NULL, "a/b", false, &u), LJ_ERR_INVAL);
    assert_int_equal(drs_discover_url(NULL, "", true, &u), LJ_ERR_INVAL);
    assert_int_equal(drs_discover_url("http://drs.test", "x", false, &u), LJ_ERR_INVAL);
    assert_int_equal(drs_discover_url("https://drs.test/?a=b", "x", true, &u), LJ_ERR_INVAL);
    assert_null(u);
}

static void
test_discovery_vector(void **state)
{
    struct drs_discovery d;
    size_t n;
    char *b = lj_test_load_data("drs/discover-response.json", &n), *u = NULL;

    (void)state;
    assert_int_equal(drs_discovery_parse(b, n, NULL, &d), LJ_OK);
    assert_string_equal(d.join_endpoint,
                        "https://enterpriseregistration.windows.net/EnrollmentServer/device/");
    assert_string_equal(d.join_resource_id, "urn:ms-drs:enterpriseregistration.windows.net");
    assert_string_equal(d.join_service_version, "2.0");
    assert_string_equal(d.tenant_id, "6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d");
    assert_string_equal(d.tenant_name, "contoso.example");
    assert_string_equal(d.tenant_display_name, "Contoso");
    assert_string_equal(
        d.mdm_endpoint,
        "https://enterpriseregistration.windows.net/manage/6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d/");
    assert_string_equal(
        d.token_endpoint,
        "https://login.microsoftonline.com/6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d/oauth2/token");
    assert_false(d.join_fallback);
    assert_int_equal(drs_join_url(&d, &u), LJ_OK);
    assert_string_equal(
        u, "https://enterpriseregistration.windows.net/EnrollmentServer/device/?api-version=2.0");
    free(u);
    free(b);
}

static void
test_discovery_fallback_and_rejects(void **state)
{
    struct drs_discovery d;
    char *bomb;

    (void)state;
    assert_int_equal(drs_discovery_parse("{}", 2, "https://drs.test", &d), LJ_OK);
    assert_true(d.join_fallback);
    assert_string_equal(d.join_endpoint, "https://drs.test/EnrollmentServer/device/");
    assert_string_equal(d.join_service_version, "2.0");
    assert_string_equal(d.join_resource_id, "urn:ms-drs:enterpriseregistration.windows.net");
    assert_string_equal(d.tenant_id, "");
#define BAD(body, rc) assert_int_equal(drs_discovery_parse(body, strlen(body), NULL, &d), rc)
    BAD("{\"DeviceJoinService\":{\"JoinEndpoint\":\"http://enterpriseregistration.windows.net/x/"
        "\"}}",
        LJ_ERR_PROTOCOL);
    BAD("{\"DeviceJoinService\":{\"JoinEndpoint\":\"https://evil.example/EnrollmentServer/device/"
        "\"}}",
        LJ_ERR_PROTOCOL);
    BAD("{\"DeviceJoinService\":{\"JoinEndpoint\":\"https://enterpriseregistration.windows.net/d/"
        "?x=1\"}}",
        LJ_ERR_PROTOCOL);
    BAD("{\"DeviceJoinService\":{\"ServiceVersion\":2.0}}", LJ_ERR_PROTOCOL);
    BAD("{\"DeviceJoinService\":{\"ServiceVersion\":\"2.0; rm\"}}", LJ_ERR_PROTOCOL);
    BAD("{\"DeviceJoinService\":\"https://enterpriseregistration.windows.net/\"}", LJ_ERR_PROTOCOL);
    BAD("{\"TenantInfo\":{\"TenantId\":\"not-a-guid\"}}", LJ_ERR_PROTOCOL);
    BAD("{\"DeviceManagementService\":{\"DeviceManagementEndpoint\":\"ftp://x/\"}}",
        LJ_ERR_PROTOCOL);
    BAD("{\"DeviceJoinService\":{", LJ_ERR_PARSE);
    BAD("<html><body>proxy</body></html>", LJ_ERR_PARSE);
#undef BAD
    bomb = malloc(100001);
    assert_non_null(bomb);
    memset(bomb, '[', 100000);
    bomb[100000] = '\0';
    bomb[0] = '{';
    assert_int_equal(drs_discovery_parse(bomb, 100000, NULL, &d), LJ_ERR_TOO_BIG);
    free(bomb);
}

static void
test_join_body(void **state)
{
    struct reqvec v;
    struct drs_join_request r;
    char *body = NULL, *vec;
    size_t n;
    cJSON *got, *want;

    (void)state;
    reqvec_load(&v);
    memset(&r, 0, sizeof(r));
    r.csr_der = v.csr;
    r.csr_len = v.csr_len;
    r.tk_blob = v.blob;
    r.tk_len = v.blob_len;
    r.target_domain = "contoso.example";
    r.os_version = "10.0.26100.1";
    r.display_name = "LINK-0123";
    assert_int_equal(drs_join_body(&r, &body), LJ_OK);
    /* Same JSON as the reference vector, field for field. */
    vec = lj_test_load_data("drs/join-request.json", &n);
    got = cJSON_Parse(body);
    want = cJSON_ParseWithLength(vec, n);
    assert_non_null(got);
    assert_true(cJSON_Compare(got, want, true));
    cJSON_Delete(got);
    cJSON_Delete(want);
    free(vec);
    free(body);
    body = NULL;
    /* bad inputs */
    r.os_version = "12"; /* os-release's VERSION_ID: not a Windows version */
    assert_int_equal(drs_join_body(&r, &body), LJ_ERR_INVAL);
    r.os_version = "10.0.26100.1";
    r.display_name = "";
    assert_int_equal(drs_join_body(&r, &body), LJ_ERR_INVAL);
    r.display_name = "LINK\n0123";
    assert_int_equal(drs_join_body(&r, &body), LJ_ERR_INVAL);
    r.display_name = "LINK-0123";
    v.blob[0] = 'X'; /* not RSA1 */
    assert_int_equal(drs_join_body(&r, &body), LJ_ERR_INVAL);
    v.blob[0] = 'R';
    r.csr_len = 9000;
    assert_int_equal(drs_join_body(&r, &body), LJ_ERR_INVAL);
    assert_null(body);
    reqvec_free(&v);
}

static char *
make_resp(const unsigned char *der, size_t len, const char *thumb)
{
    unsigned char sha[WC_SHA_DIGEST_SIZE];
    char hex[41], *b64 = lj_b64_encode(der, len, LJ_B64_STD, NULL), *out;
    size_t n;

    wc_ShaHash(der, (word32)len, sha);
    for (int i = 0; i < 20; i++)
        snprintf(hex + 2 * i, 3, "%02X", sha[i]);
    n = strlen(b64) + 200;
    out = malloc(n);
    snprintf(
        out, n,
        "{\"Certificate\":{\"Thumbprint\":\"%s\",\"RawBody\":\"%s\"},\"User\":{\"Upn\":\"u@x\"}}",
        thumb ? thumb : hex, b64);
    free(b64);
    return out;
}

static enum drs_reject
verify(const char *body, const struct drs_join_verify *v, struct drs_join_result *r)
{
    enum drs_reject why = DRS_REJECT_COUNT__;
    struct drs_join_result tmp;

    if (r == NULL)
        r = &tmp;
    if (drs_join_response_parse(body, strlen(body), v, r, &why) == LJ_OK) {
        assert_int_equal(why, DRS_REJECT_NONE);
        if (r == &tmp)
            drs_join_result_free(r);
    } else {
        assert_int_not_equal(why, DRS_REJECT_NONE);
    }
    return why;
}

static void
test_join_response_vector(void **state)
{
    struct reqvec v;
    struct drs_join_verify jv;
    struct drs_join_result r;
    size_t n, dn;
    char *body = lj_test_load_data("drs/join-response.json", &n);
    unsigned char *der = (unsigned char *)lj_test_load_data("drs/device-cert.der", &dn);

    (void)state;
    reqvec_load(&v);
    memset(&jv, 0, sizeof(jv));
    jv.key.spki_der = v.spki;
    jv.key.spki_len = (size_t)v.spki_len;
    jv.tenant_id = "6B1C2A3E-0F4D-4C55-9A77-1E2F3A4B5C6D";
    jv.issuer_cn = "MS-Organization-Access";
    assert_int_equal(drs_join_response_parse(body, n, &jv, &r, NULL), LJ_OK);
    assert_string_equal(r.device_id, "b860ac89-d907-4715-971e-7e9c4032602f");
    assert_string_equal(r.tenant_id, "6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d");
    assert_string_equal(r.user_oid, "0a1b2c3d-1111-4222-8333-444455556666");
    assert_int_equal(r.join_type, 1);
    assert_string_equal(r.thumbprint, "97A583208F1DAA8587FDF4E50225C3D80A4F0DEC");
    assert_string_equal(r.upn, "alice@contoso.example");
    assert_non_null(strstr(r.issuer, "CN=MS-Organization-Access"));
    assert_int_equal(r.not_before, 1795711556LL); /* 2026-11-26T16:45:56Z */
    assert_int_equal(r.not_after, 2111071856LL);  /* 2036-11-23T16:50:56Z */
    assert_int_equal(r.cert_len, dn);
    assert_memory_equal(r.cert_der, der, dn);
    drs_join_result_free(&r);

    /* The same key given as modulus + exponent from the RSA1 blob. */
    memset(&jv, 0, sizeof(jv));
    jv.key.exponent = v.blob + 24;
    jv.key.exponent_len = 3;
    jv.key.modulus = v.blob + 27;
    jv.key.modulus_len = 256;
    assert_int_equal(verify(body, &jv, NULL), DRS_REJECT_NONE);

    /* One bit of the modulus off: not our key. */
    v.blob[100] ^= 1;
    assert_int_equal(verify(body, &jv, NULL), DRS_REJECT_KEY_MISMATCH);
    v.blob[100] ^= 1;

    /* Expected tenant or issuer differ. */
    jv.tenant_id = "00000000-0000-0000-0000-000000000000";
    assert_int_equal(verify(body, &jv, NULL), DRS_REJECT_TENANT);
    jv.tenant_id = NULL;
    jv.issuer_cn = "Someone Else";
    assert_int_equal(verify(body, &jv, NULL), DRS_REJECT_ISSUER);
    free(body);
    free(der);
    reqvec_free(&v);
}

static void
test_join_response_rejects(void **state)
{
    struct reqvec v;
    struct drs_join_verify jv, other;
    size_t n, dn, on;
    unsigned char *der = (unsigned char *)lj_test_load_data("drs/device-cert.der", &dn);
    unsigned char *okey = (unsigned char *)lj_test_load_data("drs/other-key.spki.der", &on);
    unsigned char *c, *longer;
    char *b;

    (void)state;
    reqvec_load(&v);
    memset(&jv, 0, sizeof(jv));
    jv.key.spki_der = v.spki;
    jv.key.spki_len = (size_t)v.spki_len;
    memset(&other, 0, sizeof(other));
    other.key.spki_der = okey;
    other.key.spki_len = on;

    /* lower-case thumbprint is fine; a wrong one is not */
    b = make_resp(der, dn, "97a583208f1daa8587fdf4e50225c3d80a4f0dec");
    assert_int_equal(verify(b, &jv, NULL), DRS_REJECT_NONE);
    free(b);
    b = make_resp(der, dn, "97A583208F1DAA8587FDF4E50225C3D80A4F0DED");
    assert_int_equal(verify(b, &jv, NULL), DRS_REJECT_THUMBPRINT);
    free(b);
    b = make_resp(der, dn, "97A583208F1DAA8587FDF4E50225C3D80A4F0DE");
    assert_int_equal(verify(b, &jv, NULL), DRS_REJECT_THUMBPRINT);
    free(b);
    /* certificate for another key */
    b = make_resp(der, dn, NULL);
    assert_int_equal(verify(b, &other, NULL), DRS_REJECT_KEY_MISMATCH);
    free(b);
    /* trailing bytes after the DER, truncated DER */
    longer = malloc(dn + 4);
    memcpy(longer, der, dn);
    memset(longer + dn, 0, 4);
    b = make_resp(longer, dn + 4, NULL);
    assert_int_equal(verify(b, &jv, NULL), DRS_REJECT_X509);
    free(b);
    b = make_resp(der, dn - 10, NULL);
    assert_int_equal(verify(b, &jv, NULL), DRS_REJECT_X509);
    free(b);
    free(longer);
    /* CN not a GUID; device-id extension differs from CN; malformed tenant extension */
    c = (unsigned char *)lj_test_load_data("drs/cert-cn-not-guid.der", &n);
    b = make_resp(c, n, NULL);
    assert_int_equal(verify(b, &other, NULL), DRS_REJECT_CN_NOT_GUID);
    free(b);
    free(c);
    c = (unsigned char *)lj_test_load_data("drs/cert-devid-mismatch.der", &n);
    b = make_resp(c, n, NULL);
    assert_int_equal(verify(b, &other, NULL), DRS_REJECT_DEVICE_ID_MISMATCH);
    free(b);
    free(c);
    c = (unsigned char *)lj_test_load_data("drs/cert-bad-tenant-ext.der", &n);
    b = make_resp(c, n, NULL);
    assert_int_equal(verify(b, &other, NULL), DRS_REJECT_TENANT);
    free(b);
    free(c);
    /* no Microsoft extensions: accepted, fields empty; an expected tenant then fails */
    c = (unsigned char *)lj_test_load_data("drs/cert-plain-guid.der", &n);
    b = make_resp(c, n, NULL);
    {
        struct drs_join_result r;

        assert_int_equal(verify(b, &other, &r), DRS_REJECT_NONE);
        assert_string_equal(r.device_id, "b860ac89-d907-4715-971e-7e9c4032602f");
        assert_string_equal(r.tenant_id, "");
        assert_int_equal(r.join_type, -1);
        drs_join_result_free(&r);
    }
    other.tenant_id = "6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d";
    assert_int_equal(verify(b, &other, NULL), DRS_REJECT_TENANT);
    free(b);
    free(c);
    /* JSON-level problems */
    assert_int_equal(
        verify("{\"Certificate\":{\"Thumbprint\":\"AA\",\"RawBody\":\"!!!!\"}}", &jv, NULL),
        DRS_REJECT_BASE64);
    assert_int_equal(
        verify("{\"Certificate\":{\"Thumbprint\":\"AA\",\"RawBody\":\"MIID\"}}", &jv, NULL),
        DRS_REJECT_X509);
    assert_int_equal(verify("{\"Certificate\":{\"Thumbprint\":\"AA\",\"RawBody\":5}}", &jv, NULL),
                     DRS_REJECT_NO_CERTIFICATE);
    assert_int_equal(verify("{\"User\":{\"Upn\":\"a\"}}", &jv, NULL), DRS_REJECT_NO_CERTIFICATE);
    assert_int_equal(verify("{\"Certificate\":", &jv, NULL), DRS_REJECT_JSON);
    assert_int_equal(verify("<html>502 Bad Gateway</html>", &jv, NULL), DRS_REJECT_JSON);
    for (int r = 0; r < DRS_REJECT_COUNT__; r++) {
        const char *t = drs_reject_text((enum drs_reject)r);

        assert_string_not_equal(drs_reject_name((enum drs_reject)r), "unknown");
        /* a clause for "...could not be used because %s": lower case, no slug */
        assert_true(t[0] >= 'a' && t[0] <= 'z');
        assert_null(strchr(t, '_'));
    }
    assert_string_equal(drs_reject_text(DRS_REJECT_KEY_MISMATCH),
                        "the certificate in it is for a key that is not this device's");
    free(der);
    free(okey);
    reqvec_free(&v);
}

static void
test_error_bodies(void **state)
{
    struct drs_error e;
    size_t n;
    char *b;

    (void)state;
    b = lj_test_load_data("drs/join-invalid-token.json", &n);
    assert_int_equal(drs_error_parse(401, b, n, &e), LJ_OK);
    assert_int_equal(e.kind, DRS_BODY_JSON);
    assert_int_equal(e.http_status, 401);
    assert_string_equal(e.error_type, "AuthenticationError");
    assert_string_equal(e.message, "Invalid JWT token.");
    assert_string_equal(e.trace_id, "c497222f-2cbe-47a6-8bec-d430e4a4dc61");
    assert_string_equal(e.time, "11-26-2026 16:50:56Z");
    free(b);
    b = lj_test_load_data("drs/drs-error-not-permitted.json", &n); /* has unknown fields */
    assert_int_equal(drs_error_parse(400, b, n, &e), LJ_OK);
    assert_int_equal(e.kind, DRS_BODY_JSON);
    assert_string_equal(e.error_type, "AuthorizationError");
    free(b);
    b = lj_test_load_data("drs/drs-error-proxy.html", &n);
    assert_int_equal(drs_error_parse(200, b, n, &e), LJ_OK);
    assert_int_equal(e.kind, DRS_BODY_HTML);
    assert_string_equal(e.error_type, "");
    free(b);
    assert_int_equal(drs_error_parse(503, NULL, 0, &e), LJ_OK);
    assert_int_equal(e.kind, DRS_BODY_EMPTY);
    assert_int_equal(drs_error_parse(400, "{\"ErrorType\":\"Dir", 17, &e), LJ_OK);
    assert_int_equal(e.kind, DRS_BODY_OTHER);
    /* a body of no known shape is kept verbatim, sanitised and bounded */
    assert_string_equal(e.message, "{\"ErrorType\":\"Dir");
    assert_int_equal(drs_error_parse(401, "Unauthorized:\r\n\tbad \x01token\xc3\xa9  \n", 31, &e),
                     LJ_OK);
    assert_int_equal(e.kind, DRS_BODY_OTHER);
    assert_string_equal(e.message, "Unauthorized: bad ?token??");
    assert_int_equal(drs_error_parse(400, "{\"error\":\"nope\"}", 16, &e), LJ_OK);
    assert_int_equal(e.kind, DRS_BODY_JSON);
    assert_string_equal(e.message, "{\"error\":\"nope\"}");
    {
        char big[2000];
        memset(big, 'A', sizeof(big));
        assert_int_equal(drs_error_parse(400, big, sizeof(big), &e), LJ_OK);
        assert_int_equal(strlen(e.message), sizeof(e.message) - 1);
        assert_string_equal(e.message + sizeof(e.message) - 4, "...");
    }
    assert_int_equal(drs_error_parse(400, "{\"ErrorType\":7,\"Message\":\"a\\u0001b\"}", 36, &e),
                     LJ_OK);
    assert_int_equal(e.kind, DRS_BODY_JSON);
    assert_string_equal(e.error_type, "");
    assert_string_equal(e.message, "a b");
    assert_int_equal(drs_error_parse(400, "x", 1, NULL), LJ_ERR_INVAL);
}

/* leave wipes the keys only on DRS's own "device not found" for this id. */
static void
test_device_not_found(void **state)
{
    static const char id[] = "3e2a1c6b-4d0f-554c-8a9b-0c1d2e3f4a5b";
    static const char body[] =
        "{\"ErrorType\":\"DirectoryError\",\"Message\":\"The device object by the given id "
        "(3E2A1C6B-4D0F-554C-8A9B-0C1D2E3F4A5B) is not found.\",\"TraceId\":\"t\","
        "\"Time\":\"12-03-2026 12:00:00Z\"}";
    struct drs_error e;

    (void)state;
    assert_int_equal(drs_error_parse(400, body, sizeof(body) - 1, &e), LJ_OK);
    assert_true(drs_device_not_found(&e, id));
    assert_int_equal(drs_error_parse(404, body, sizeof(body) - 1, &e), LJ_OK);
    assert_true(drs_device_not_found(&e, id));
    /* the same body under another status, or for another id */
    assert_int_equal(drs_error_parse(403, body, sizeof(body) - 1, &e), LJ_OK);
    assert_false(drs_device_not_found(&e, id));
    assert_int_equal(drs_error_parse(400, body, sizeof(body) - 1, &e), LJ_OK);
    assert_false(drs_device_not_found(&e, "3e2a1c6b-4d0f-554c-8a9b-0c1d2e3f4a5c"));
    assert_false(drs_device_not_found(&e, "3e2a1c6b"));
    assert_false(drs_device_not_found(&e, ""));
    assert_false(drs_device_not_found(&e, NULL));
    assert_false(drs_device_not_found(NULL, id));
    /* a 404 of any other shape */
    assert_int_equal(drs_error_parse(404, NULL, 0, &e), LJ_OK);
    assert_false(drs_device_not_found(&e, id));
    assert_int_equal(drs_error_parse(404, "<html>Not Found</html>", 22, &e), LJ_OK);
    assert_false(drs_device_not_found(&e, id));
    {
        static const char other[] = "{\"ErrorType\":\"InvalidParameter\",\"Message\":\"The "
                                    "requested resource was not found.\"}";
        static const char vague[] = "{\"ErrorType\":\"DirectoryError\",\"Message\":\"not found\"}";

        assert_int_equal(drs_error_parse(404, other, sizeof(other) - 1, &e), LJ_OK);
        assert_false(drs_device_not_found(&e, id));
        assert_int_equal(drs_error_parse(404, vague, sizeof(vague) - 1, &e), LJ_OK);
    }
    assert_false(drs_device_not_found(&e, id));
}

static void
test_guid_helpers(void **state)
{
    const unsigned char b[16] = {0x3e, 0x2a, 0x1c, 0x6b, 0x4d, 0x0f, 0x55, 0x4c,
                                 0x9a, 0x77, 0x1e, 0x2f, 0x3a, 0x4b, 0x5c, 0x6d};
    char g[37];

    (void)state;
    drs_guid_from_windows_bytes(b, g);
    assert_string_equal(g, "6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d");
    assert_true(lj_is_guid(g));
    assert_true(lj_is_guid("7E980AD9-B86D-4306-9425-9AC066FB014A"));
    assert_false(lj_is_guid("7E980AD9-B86D-4306-9425-9AC066FB014"));
    assert_false(lj_is_guid("7E980AD9xB86D-4306-9425-9AC066FB014A"));
    assert_false(lj_is_guid("7E980AD9-B86D-4306-9425-9AC066FB014G"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discover_url),
        cmocka_unit_test(test_discovery_vector),
        cmocka_unit_test(test_discovery_fallback_and_rejects),
        cmocka_unit_test(test_join_body),
        cmocka_unit_test(test_join_response_vector),
        cmocka_unit_test(test_join_response_rejects),
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test(test_device_not_found),
        cmocka_unit_test(test_guid_helpers),
    };
    return cmocka_run_group_tests_name("drs", tests, NULL, NULL);
}
