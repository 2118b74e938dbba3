/* Unit tests for agent/proto/oauth_*.c: URLs, bodies, PKCE, redirects, responses, errors, polling,
 * JWT. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/proto/oauth.h"
#include "platform/common/b64.h"
#include "platform/common/secmem.h"
#include "tests/unit/testutil.h"

static const struct oauth_params v2_drs = {NULL, "contoso.example", NULL, OAUTH_V2,
                                           OAUTH_DRS_SCOPE};
static const struct oauth_params v1_drs = {"https://login.microsoftonline.com/", "organizations",
                                           "1b730954-1685-4b74-9bfd-dac224a7b894", OAUTH_V1,
                                           OAUTH_DRS_RESOURCE};

static void
expect_url(const struct oauth_params *p, enum oauth_endpoint ep, const char *want)
{
    char *u = NULL;

    assert_int_equal(oauth_endpoint_url(p, ep, &u), LJ_OK);
    assert_string_equal(u, want);
    free(u);
}

static void
test_endpoint_urls(void **state)
{
    struct oauth_params bad = v2_drs;
    char *u = NULL;

    (void)state;
    expect_url(&v2_drs, OAUTH_EP_DEVICECODE,
               "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/devicecode");
    expect_url(&v2_drs, OAUTH_EP_TOKEN,
               "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token");
    expect_url(&v2_drs, OAUTH_EP_AUTHORIZE,
               "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/authorize");
    expect_url(&v1_drs, OAUTH_EP_DEVICECODE,
               "https://login.microsoftonline.com/organizations/oauth2/devicecode?api-version=1.0");
    expect_url(&v1_drs, OAUTH_EP_TOKEN,
               "https://login.microsoftonline.com/organizations/oauth2/token");
    bad.authority = "http://login.microsoftonline.com";
    assert_int_equal(oauth_endpoint_url(&bad, OAUTH_EP_TOKEN, &u), LJ_ERR_INVAL);
    bad.authority = "https://login.microsoftonline.com/x?y";
    assert_int_equal(oauth_endpoint_url(&bad, OAUTH_EP_TOKEN, &u), LJ_ERR_INVAL);
    bad = v2_drs;
    bad.tenant = "contoso.example/../x";
    assert_int_equal(oauth_endpoint_url(&bad, OAUTH_EP_TOKEN, &u), LJ_ERR_INVAL);
    bad.tenant = "";
    assert_int_equal(oauth_endpoint_url(&bad, OAUTH_EP_TOKEN, &u), LJ_ERR_INVAL);
    assert_null(u);
}

static void
test_bodies(void **state)
{
    struct oauth_params mdm = v1_drs;
    char *b = NULL;

    (void)state;
    assert_int_equal(oauth_body_devicecode_start(&v2_drs, &b), LJ_OK);
    assert_string_equal(b, "client_id=29d9ed98-a469-4536-ade2-f981bc1d605e&scope=01cb2876-7ebd-"
                           "4aa4-9cc9-d28bd4d359a9%2F.default%20offline_access");
    free(b);
    assert_int_equal(oauth_body_devicecode_start(&v1_drs, &b), LJ_OK);
    assert_string_equal(b, "client_id=1b730954-1685-4b74-9bfd-dac224a7b894&resource=urn%3Ams-drs%3A"
                           "enterpriseregistration.windows.net");
    free(b);
    assert_int_equal(oauth_body_devicecode_poll(&v2_drs, "DC+/=", &b), LJ_OK);
    assert_string_equal(
        b, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id="
           "29d9ed98-a469-4536-ade2-f981bc1d605e&device_code=DC%2B%2F%3D");
    lj_secret_free(b);
    assert_int_equal(oauth_body_devicecode_poll(&v1_drs, "DC1", &b), LJ_OK);
    assert_non_null(
        strstr(b, "&code=DC1&resource=urn%3Ams-drs%3Aenterpriseregistration.windows.net"));
    lj_secret_free(b);
    assert_int_equal(
        oauth_body_password(&v2_drs, "alice@contoso.example", "p&ss=w rd+%\xc3\xa9", &b), LJ_OK);
    assert_string_equal(
        b, "grant_type=password&client_id=29d9ed98-a469-4536-ade2-f981bc1d605e&username="
           "alice%40contoso.example&password=p%26ss%3Dw%20rd%2B%25%C3%A9&scope=01cb2876-"
           "7ebd-4aa4-9cc9-d28bd4d359a9%2F.default%20offline_access");
    lj_secret_free(b);
    assert_int_equal(oauth_body_code_redeem(&v2_drs, "C0DE", OAUTH_DEFAULT_REDIRECT,
                                            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", &b),
                     LJ_OK);
    assert_string_equal(
        b, "grant_type=authorization_code&client_id=29d9ed98-a469-4536-ade2-f981bc1d605e"
           "&code=C0DE&redirect_uri=ms-aadj-redir%3A%2F%2Fauth%2Fdrs&code_verifier="
           "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk&scope=01cb2876-7ebd-4aa4-9cc9-"
           "d28bd4d359a9%2F.default%20offline_access");
    lj_secret_free(b);
    mdm.target = OAUTH_MDM_RESOURCE;
    assert_int_equal(oauth_body_refresh(&mdm, "0.AAA-rt", &b), LJ_OK);
    assert_string_equal(
        b, "grant_type=refresh_token&client_id=1b730954-1685-4b74-9bfd-dac224a7b894"
           "&refresh_token=0.AAA-rt&resource=https%3A%2F%2Fenrollment.manage.microsoft.com%2F");
    lj_secret_free(b);
    b = NULL;
    assert_int_equal(oauth_body_password(&v2_drs, "alice", "", &b), LJ_ERR_INVAL);
    assert_int_equal(oauth_body_refresh(&v2_drs, NULL, &b), LJ_ERR_INVAL);
    assert_null(b);
}

static void
test_pkce(void **state)
{
    struct oauth_pkce a, b;
    char ch[44];
    char *u = NULL;

    (void)state;
    /* RFC 7636 appendix B. */
    assert_int_equal(oauth_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", ch),
                     LJ_OK);
    assert_string_equal(ch, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    assert_int_equal(oauth_pkce_challenge("short", ch), LJ_ERR_INVAL);
    assert_int_equal(oauth_pkce_new(&a), LJ_OK);
    assert_int_equal(oauth_pkce_new(&b), LJ_OK);
    assert_int_equal(strlen(a.verifier), 43);
    assert_int_equal(strlen(a.challenge), 43);
    assert_int_equal(strlen(a.state), 22);
    assert_string_not_equal(a.verifier, b.verifier);
    assert_string_not_equal(a.state, b.state);
    assert_int_equal(oauth_pkce_challenge(a.verifier, ch), LJ_OK);
    assert_string_equal(ch, a.challenge);

    assert_int_equal(oauth_authorize_url(&v2_drs, OAUTH_DEFAULT_REDIRECT, &a, false, &u), LJ_OK);
    {
        char want[1024];

        snprintf(
            want, sizeof(want),
            "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/authorize?client_id="
            "29d9ed98-a469-4536-ade2-f981bc1d605e&response_type=code&redirect_uri=ms-aadj-redir"
            "%%3A%%2F%%2Fauth%%2Fdrs&scope=01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9%%2F.default%%20"
            "offline_access&state=%s&code_challenge=%s&code_challenge_method=S256",
            a.state, a.challenge);
        assert_string_equal(u, want);
    }
    free(u);
    assert_int_equal(oauth_authorize_url(&v1_drs, "http://localhost:8400/", &a, true, &u), LJ_OK);
    assert_non_null(strstr(u, "/organizations/oauth2/authorize?"));
    assert_non_null(strstr(u, "&resource=urn%3Ams-drs%3Aenterpriseregistration.windows.net&"));
    assert_non_null(strstr(u, "&prompt=login"));
    free(u);
    oauth_pkce_wipe(&a);
    assert_int_equal(a.verifier[0], 0);
}

static void
test_redirect(void **state)
{
    struct oauth_pkce pk;
    struct oauth_error err;
    char url[1024];
    char *code = NULL;

    (void)state;
    assert_int_equal(oauth_pkce_new(&pk), LJ_OK);
    snprintf(url, sizeof(url), "ms-aadj-redir://auth/drs?code=0.AX%%2Fy-z&state=%s&session_state=x",
             pk.state);
    assert_int_equal(oauth_redirect_parse(&pk, OAUTH_DEFAULT_REDIRECT, url, &code, &err), LJ_OK);
    assert_string_equal(code, "0.AX/y-z");
    lj_secret_free(code);
    code = NULL;
    /* wrong state */
    snprintf(url, sizeof(url), "ms-aadj-redir://auth/drs?code=abc&state=AAAAAAAAAAAAAAAAAAAAAA");
    assert_int_equal(oauth_redirect_parse(&pk, OAUTH_DEFAULT_REDIRECT, url, &code, &err),
                     LJ_ERR_PROTOCOL);
    /* state prefix only */
    snprintf(url, sizeof(url), "ms-aadj-redir://auth/drs?code=abc&state=%.10s", pk.state);
    assert_int_equal(oauth_redirect_parse(&pk, OAUTH_DEFAULT_REDIRECT, url, &code, &err),
                     LJ_ERR_PROTOCOL);
    /* another redirect target */
    snprintf(url, sizeof(url), "ms-aadj-redir://auth/drsX?code=abc&state=%s", pk.state);
    assert_int_equal(oauth_redirect_parse(&pk, OAUTH_DEFAULT_REDIRECT, url, &code, &err),
                     LJ_ERR_PROTOCOL);
    snprintf(url, sizeof(url), "https://evil.example/?code=abc&state=%s", pk.state);
    assert_int_equal(oauth_redirect_parse(&pk, OAUTH_DEFAULT_REDIRECT, url, &code, &err),
                     LJ_ERR_PROTOCOL);
    /* missing code, duplicate code, bad escape */
    snprintf(url, sizeof(url), "ms-aadj-redir://auth/drs?state=%s", pk.state);
    assert_int_equal(oauth_redirect_parse(&pk, OAUTH_DEFAULT_REDIRECT, url, &code, &err),
                     LJ_ERR_PROTOCOL);
    snprintf(url, sizeof(url), "ms-aadj-redir://auth/drs?code=a&code=b&state=%s", pk.state);
    assert_int_equal(oauth_redirect_parse(&pk, OAUTH_DEFAULT_REDIRECT, url, &code, &err),
                     LJ_ERR_PROTOCOL);
    snprintf(url, sizeof(url), "ms-aadj-redir://auth/drs?code=a%%2&state=%s", pk.state);
    assert_int_equal(oauth_redirect_parse(&pk, OAUTH_DEFAULT_REDIRECT, url, &code, &err),
                     LJ_ERR_PROTOCOL);
    snprintf(url, sizeof(url), "ms-aadj-redir://auth/drs?code=a%%00b&state=%s", pk.state);
    assert_int_equal(oauth_redirect_parse(&pk, OAUTH_DEFAULT_REDIRECT, url, &code, &err),
                     LJ_ERR_PROTOCOL);
    /* error redirect */
    snprintf(url, sizeof(url),
             "ms-aadj-redir://auth/drs?error=access_denied&error_description=AADSTS53003%%3A+"
             "Access+has+been+blocked&state=%s",
             pk.state);
    assert_int_equal(oauth_redirect_parse(&pk, OAUTH_DEFAULT_REDIRECT, url, &code, &err),
                     LJ_ERR_AUTH);
    assert_string_equal(err.error, "access_denied");
    assert_int_equal(err.aadsts, 53003);
    assert_int_equal(err.cls, OAUTH_ERRC_CA_BLOCKED);
    assert_null(code);
    snprintf(url, sizeof(url), "ms-aadj-redir://auth/drs?error=access_denied&state=%s", pk.state);
    assert_int_equal(oauth_redirect_parse(&pk, OAUTH_DEFAULT_REDIRECT, url, &code, &err),
                     LJ_ERR_AUTH);
    assert_int_equal(err.cls, OAUTH_ERRC_DECLINED);
    /* a code and state handed over by the UI */
    assert_int_equal(oauth_code_check(&pk, "0.AXcode", pk.state), LJ_OK);
    assert_int_equal(oauth_code_check(&pk, "0.AX code", pk.state), LJ_ERR_PROTOCOL);
    assert_int_equal(oauth_code_check(&pk, "0.AXcode", "nope"), LJ_ERR_PROTOCOL);
    assert_int_equal(oauth_code_check(&pk, "", pk.state), LJ_ERR_PROTOCOL);
    oauth_pkce_wipe(&pk);
}

/* Every byte is one RFC 6749 §4.1.2.1 allows in error and error_description. */
static void
assert_nqschar(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        assert_true(c >= 0x20 && c <= 0x7e && c != '"' && c != '\\');
    }
}

/*
 * An error= redirect is acted on only with our state (RFC 6749 §4.1.2.1
 * returns state with errors); without it nothing of it is kept, and with
 * it the text is bounded and holds only the characters the RFC allows.
 */
static void
test_redirect_error_needs_state(void **state)
{
    struct oauth_pkce pk;
    struct oauth_error err;
    char url[4096], longdesc[1201];
    char *code = NULL;

    (void)state;
    assert_int_equal(oauth_pkce_new(&pk), LJ_OK);
    memset(&err, 0, sizeof(err));
    snprintf(url, sizeof(url),
             "ms-aadj-redir://auth/drs?error=access_denied&error_description=AADSTS53003%%3A+EVIL");
    assert_int_equal(oauth_redirect_parse(&pk, OAUTH_DEFAULT_REDIRECT, url, &code, &err),
                     LJ_ERR_PROTOCOL);
    assert_string_equal(err.error, "");
    assert_string_equal(err.description, "");
    assert_int_equal(err.aadsts, 0);
    snprintf(url, sizeof(url),
             "ms-aadj-redir://auth/drs?error=access_denied&error_description=EVIL"
             "&state=AAAAAAAAAAAAAAAAAAAAAA");
    assert_int_equal(oauth_redirect_parse(&pk, OAUTH_DEFAULT_REDIRECT, url, &code, &err),
                     LJ_ERR_PROTOCOL);
    assert_string_equal(err.description, "");
    snprintf(url, sizeof(url), "ms-aadj-redir://auth/drs?state=%.10s&error=access_denied",
             pk.state);
    assert_int_equal(oauth_redirect_parse(&pk, OAUTH_DEFAULT_REDIRECT, url, &code, &err),
                     LJ_ERR_PROTOCOL);
    assert_string_equal(err.error, "");
    /* our state: acted on, the text bounded and cleaned */
    memset(longdesc, 'A', sizeof(longdesc) - 1);
    longdesc[sizeof(longdesc) - 1] = '\0';
    snprintf(url, sizeof(url),
             "ms-aadj-redir://auth/drs?state=%s&error=access%%0A%%22denied%%5C"
             "&error_description=AADSTS65004%%3A+x%%0D%%0Ay%%22%%5C%%E2%%82%%AC%%7F+%s",
             pk.state, longdesc);
    assert_int_equal(oauth_redirect_parse(&pk, OAUTH_DEFAULT_REDIRECT, url, &code, &err),
                     LJ_ERR_AUTH);
    assert_null(code);
    assert_nqschar(err.error);
    assert_nqschar(err.description);
    assert_true(strlen(err.description) <= OAUTH_REDIRECT_DESC_MAX);
    assert_true(strncmp(err.description, "AADSTS65004: x", 14) == 0);
    assert_int_equal(err.aadsts, 65004);
    oauth_pkce_wipe(&pk);
}

static void
test_device_code_parse(void **state)
{
    struct oauth_device_code dc;
    size_t n;
    char *b;

    (void)state;
    b = lj_test_load_data("oauth/devicecode-response.json", &n);
    assert_int_equal(oauth_device_code_parse(b, n, &dc), LJ_OK);
    assert_string_equal(dc.user_code, "GFK7QPLM9");
    assert_string_equal(dc.verification_uri, "https://microsoft.com/devicelogin");
    assert_string_equal(dc.device_code, "GAQABAAEAAAAm-06blBE1TpVMil8KPQ41-test-device-code");
    assert_int_equal(dc.expires_in, 900);
    assert_int_equal(dc.interval, 5);
    assert_non_null(dc.message);
    assert_null(dc.verification_uri_complete); /* Entra sends none */
    oauth_device_code_free(&dc);
    free(b);
    /*
     * RFC 8628 3.2: verification_uri_complete is OPTIONAL; kept when it is
     * an https URI of plain characters, dropped (not fatal) otherwise.
     */
    {
        static const char *const forms[] = {"\"https://x.example/d?otc=U\"",
                                            "\"http://x.example/d?otc=U\"",
                                            "\"https://x.example/d?otc=U U\"", "7"};

        for (size_t i = 0; i < 4; i++) {
            char body[256];

            snprintf(body, sizeof(body),
                     "{\"device_code\":\"D\",\"user_code\":\"U\",\"verification_uri\":"
                     "\"https://x.example/d\",\"expires_in\":900,"
                     "\"verification_uri_complete\":%s}",
                     forms[i]);
            assert_int_equal(oauth_device_code_parse(body, strlen(body), &dc), LJ_OK);
            if (i == 0)
                assert_string_equal(dc.verification_uri_complete, "https://x.example/d?otc=U");
            else
                assert_null(dc.verification_uri_complete);
            oauth_device_code_free(&dc);
        }
    }
    b = lj_test_load_data("oauth/devicecode-response-v1.json", &n);
    assert_int_equal(oauth_device_code_parse(b, n, &dc), LJ_OK);
    assert_string_equal(dc.user_code, "HQ2XWB7RT");
    assert_int_equal(dc.expires_in, 900);
    oauth_device_code_free(&dc);
    free(b);
}

static void
expect_dc_fail(const char *body, enum lj_rc want)
{
    struct oauth_device_code dc;

    memset(&dc, 0x5a, sizeof(dc));
    assert_int_equal(oauth_device_code_parse(body, strlen(body), &dc), want);
}

static void
test_device_code_malformed(void **state)
{
    struct oauth_device_code dc;
    char *big, *bomb;
    const char *ok_tail =
        "\"user_code\":\"U\",\"verification_uri\":\"https://x/\",\"expires_in\":900}";
    char buf[512];

    (void)state;
    expect_dc_fail("{\"device_code\":\"D\",\"user_code\":\"U\"", LJ_ERR_PARSE); /* truncated */
    expect_dc_fail("[]", LJ_ERR_PARSE);
    expect_dc_fail("", LJ_ERR_PARSE);
    snprintf(buf, sizeof(buf), "{\"device_code\":5,%s", ok_tail);
    expect_dc_fail(buf, LJ_ERR_PROTOCOL); /* wrong type */
    snprintf(buf, sizeof(buf), "{%s", ok_tail);
    expect_dc_fail(buf, LJ_ERR_PROTOCOL); /* missing device_code */
    expect_dc_fail("{\"device_code\":\"D\",\"user_code\":\"U\",\"verification_uri\":\"http://x/\","
                   "\"expires_in\":900}",
                   LJ_ERR_PROTOCOL); /* not https */
    expect_dc_fail("{\"device_code\":\"D\",\"user_code\":\"U\",\"verification_uri\":\"https://x/\","
                   "\"expires_in\":0}",
                   LJ_ERR_PROTOCOL);
    expect_dc_fail("{\"device_code\":\"D\",\"user_code\":\"U\",\"verification_uri\":\"https://x/\","
                   "\"expires_in\":1.5}",
                   LJ_ERR_PROTOCOL);
    expect_dc_fail("{\"device_code\":\"D\",\"user_code\":\"U\",\"verification_uri\":\"https://x/\","
                   "\"expires_in\":\"9x\"}",
                   LJ_ERR_PROTOCOL);
    expect_dc_fail(
        "{\"device_code\":\"D\",\"user_code\":\"U U\",\"verification_uri\":\"https://x/\","
        "\"expires_in\":900}",
        LJ_ERR_PROTOCOL); /* space in the code */
    /* interval: absent -> 5, huge -> 60 */
    assert_int_equal(oauth_device_code_parse("{\"device_code\":\"D\",\"user_code\":\"U\","
                                             "\"verification_uri\":\"https://x/\",\"expires_in\":9,"
                                             "\"interval\":3600}",
                                             98, &dc),
                     LJ_OK);
    assert_int_equal(dc.interval, 60);
    oauth_device_code_free(&dc);
    /* huge string */
    big = malloc(70000);
    assert_non_null(big);
    memcpy(big, "{\"device_code\":\"", 16);
    memset(big + 16, 'A', 70000 - 16 - 3);
    memcpy(big + 70000 - 3, "\"}", 3);
    expect_dc_fail(big, LJ_ERR_TOO_BIG);
    /* string over the field ceiling but under the body ceiling */
    big[16 + OAUTH_MAX_TOKEN + 1] = '"';
    big[16 + OAUTH_MAX_TOKEN + 2] = '}';
    big[16 + OAUTH_MAX_TOKEN + 3] = '\0';
    expect_dc_fail(big, LJ_ERR_PROTOCOL);
    free(big);
    /* nesting bomb */
    bomb = malloc(20001);
    assert_non_null(bomb);
    bomb[0] = '{';
    bomb[1] = '"';
    bomb[2] = 'a';
    bomb[3] = '"';
    bomb[4] = ':';
    memset(bomb + 5, '[', 19995);
    bomb[20000] = '\0';
    expect_dc_fail(bomb, LJ_ERR_TOO_BIG);
    free(bomb);
    /* embedded NUL */
    assert_int_equal(oauth_device_code_parse("{\"a\":\"\0\"}", 8, &dc), LJ_ERR_PARSE);
}

static void
test_token_parse(void **state)
{
    struct oauth_token t;
    size_t n;
    char *b;

    (void)state;
    b = lj_test_load_data("oauth/token-response.json", &n);
    assert_int_equal(oauth_token_parse(b, n, &t), LJ_OK);
    assert_non_null(t.access_token);
    assert_string_equal(t.refresh_token, "0.AAAA-refresh-token-test-value");
    assert_non_null(t.id_token);
    assert_int_equal(t.expires_in, 4799);
    oauth_token_free(&t);
    assert_null(t.access_token);
    lj_secure_free(b, n);
    b = lj_test_load_data("oauth/token-response-v1.json", &n);
    assert_int_equal(oauth_token_parse(b, n, &t), LJ_OK);
    assert_int_equal(t.expires_in, 3599);
    assert_null(t.id_token);
    oauth_token_free(&t);
    lj_secure_free(b, n);
    assert_int_equal(oauth_token_parse("{\"token_type\":\"pop\",\"access_token\":\"x\"}", 39, &t),
                     LJ_ERR_PROTOCOL);
    assert_int_equal(oauth_token_parse("{\"token_type\":\"Bearer\"}", 23, &t), LJ_ERR_PROTOCOL);
    assert_int_equal(oauth_token_parse("{\"access_token\":[\"x\"]}", 22, &t), LJ_ERR_PROTOCOL);
    assert_int_equal(oauth_token_parse("{\"access_token\":\"x\",\"expires_in\":-1}", 36, &t),
                     LJ_ERR_PROTOCOL);
    assert_int_equal(oauth_token_parse("{\"access_token\":\"x\"", 19, &t), LJ_ERR_PARSE);
    assert_int_equal(oauth_token_parse("{\"access_token\":\"x\"} trailing", 29, &t), LJ_ERR_PARSE);
}

static void
test_error_parse(void **state)
{
    struct oauth_error e;
    size_t n;
    char *b;

    (void)state;
    b = lj_test_load_data("oauth/token-error-50126.json", &n);
    assert_int_equal(oauth_error_parse(b, n, OAUTH_GRANT_PASSWORD, &e), LJ_OK);
    assert_string_equal(e.error, "invalid_grant");
    assert_int_equal(e.aadsts, 50126);
    assert_int_equal(e.cls, OAUTH_ERRC_BAD_PASSWORD);
    assert_string_equal(e.trace_id, "71e43e05-25e6-4d51-a347-533bad9fef43");
    assert_string_equal(e.correlation_id, "d5a4a2ba-47e9-4ac7-a58d-aaff295702c3");
    assert_string_equal(e.timestamp, "2026-11-26T16:50:56.346117+00:00");
    assert_null(strchr(e.description, '\r'));
    free(b);
    b = lj_test_load_data("oauth/token-error-mfa-descr-only.json", &n);
    assert_int_equal(oauth_error_parse(b, n, OAUTH_GRANT_PASSWORD, &e), LJ_OK);
    assert_int_equal(e.aadsts, 50076);
    assert_int_equal(e.cls, OAUTH_ERRC_MFA_REQUIRED);
    assert_string_equal(e.trace_id, "11111111-2222-3333-4444-555555555555");
    assert_string_equal(e.correlation_id, "66666666-7777-8888-9999-000000000000");
    free(b);
    b = lj_test_load_data("oauth/token-error-pending.json", &n);
    assert_int_equal(oauth_error_parse(b, n, OAUTH_GRANT_DEVICE_CODE, &e), LJ_OK);
    assert_int_equal(e.cls, OAUTH_ERRC_PENDING);
    free(b);
    assert_int_equal(oauth_error_parse("<html>", 6, OAUTH_GRANT_PASSWORD, &e), LJ_ERR_PARSE);
    assert_int_equal(oauth_error_parse("{\"error\":7}", 11, OAUTH_GRANT_PASSWORD, &e),
                     LJ_ERR_PARSE);
    assert_int_equal(
        oauth_error_parse("{\"error\":\"x\",\"error_codes\":\"no\"}", 32, OAUTH_GRANT_PASSWORD, &e),
        LJ_OK);
    assert_int_equal(e.aadsts, 0);
    assert_int_equal(e.cls, OAUTH_ERRC_OTHER);
}

static void
test_classify(void **state)
{
    static const struct {
        const char *error;
        unsigned long code;
        enum oauth_grant grant;
        enum oauth_err_class want;
    } cases[] = {
        {"authorization_pending", 70016, OAUTH_GRANT_DEVICE_CODE, OAUTH_ERRC_PENDING},
        {"slow_down", 0, OAUTH_GRANT_DEVICE_CODE, OAUTH_ERRC_SLOW_DOWN},
        {"expired_token", 70019, OAUTH_GRANT_DEVICE_CODE, OAUTH_ERRC_EXPIRED},
        {"code_expired", 0, OAUTH_GRANT_DEVICE_CODE, OAUTH_ERRC_EXPIRED},
        {"authorization_declined", 0, OAUTH_GRANT_DEVICE_CODE, OAUTH_ERRC_DECLINED},
        {"access_denied", 53003, OAUTH_GRANT_AUTH_CODE, OAUTH_ERRC_CA_BLOCKED},
        {"invalid_grant", 65004, OAUTH_GRANT_AUTH_CODE, OAUTH_ERRC_DECLINED},
        {"invalid_grant", 50126, OAUTH_GRANT_PASSWORD, OAUTH_ERRC_BAD_PASSWORD},
        {"invalid_grant", 50034, OAUTH_GRANT_PASSWORD, OAUTH_ERRC_UNKNOWN_USER},
        {"invalid_grant", 50057, OAUTH_GRANT_PASSWORD, OAUTH_ERRC_DISABLED},
        {"invalid_grant", 50053, OAUTH_GRANT_PASSWORD, OAUTH_ERRC_LOCKED},
        {"invalid_grant", 50055, OAUTH_GRANT_PASSWORD, OAUTH_ERRC_PASSWORD_EXPIRED},
        {"invalid_request", 90002, OAUTH_GRANT_PASSWORD, OAUTH_ERRC_UNKNOWN_TENANT},
        {"invalid_grant", 50076, OAUTH_GRANT_PASSWORD, OAUTH_ERRC_MFA_REQUIRED},
        /* 50079/50072 (UserStrongAuthEnrollmentRequired): register MFA first */
        {"invalid_grant", 50079, OAUTH_GRANT_PASSWORD, OAUTH_ERRC_MFA_REGISTRATION},
        {"invalid_grant", 50072, OAUTH_GRANT_DEVICE_CODE, OAUTH_ERRC_MFA_REGISTRATION},
        {"invalid_grant", 50074, OAUTH_GRANT_AUTH_CODE, OAUTH_ERRC_MFA_REQUIRED},
        {"invalid_grant", 53003, OAUTH_GRANT_DEVICE_CODE, OAUTH_ERRC_CA_BLOCKED},
        /* Conditional Access on any grant, and before the refresh grant's
         * generic invalid_grant (a compliance block is not an expired session) */
        {"invalid_grant", 50005, OAUTH_GRANT_DEVICE_CODE, OAUTH_ERRC_CA_PLATFORM},
        {"invalid_grant", 53000, OAUTH_GRANT_REFRESH, OAUTH_ERRC_CA_COMPLIANT},
        {"invalid_grant", 53000, OAUTH_GRANT_DEVICE_CODE, OAUTH_ERRC_CA_COMPLIANT},
        {"invalid_grant", 53001, OAUTH_GRANT_REFRESH, OAUTH_ERRC_CA_DOMAIN_JOINED},
        {"invalid_grant", 53002, OAUTH_GRANT_REFRESH, OAUTH_ERRC_CA_APPROVED_APP},
        {"invalid_grant", 53003, OAUTH_GRANT_REFRESH, OAUTH_ERRC_CA_BLOCKED},
        {"invalid_grant", 53004, OAUTH_GRANT_PASSWORD, OAUTH_ERRC_CA_PROOFUP_RISK},
        {"invalid_grant", 530032, OAUTH_GRANT_REFRESH, OAUTH_ERRC_CA_SECURITY_POLICY},
        {"invalid_grant", 530034, OAUTH_GRANT_PASSWORD, OAUTH_ERRC_CA_DELEGATED_ADMIN},
        {"invalid_grant", 530035, OAUTH_GRANT_PASSWORD, OAUTH_ERRC_SECURITY_DEFAULTS},
        {"invalid_grant", 50158, OAUTH_GRANT_REFRESH, OAUTH_ERRC_CA_EXTERNAL},
        {"invalid_grant", 50079, OAUTH_GRANT_REFRESH, OAUTH_ERRC_MFA_REGISTRATION},
        {"invalid_request", 50011, OAUTH_GRANT_AUTH_CODE, OAUTH_ERRC_REDIRECT_MISMATCH},
        {"invalid_grant", 50011, OAUTH_GRANT_REFRESH, OAUTH_ERRC_REDIRECT_MISMATCH},
        {"invalid_grant", 70018, OAUTH_GRANT_DEVICE_CODE, OAUTH_ERRC_BAD_USER_CODE},
        {"invalid_grant", 70008, OAUTH_GRANT_REFRESH, OAUTH_ERRC_REFRESH_INVALID},
        {"invalid_grant", 0, OAUTH_GRANT_REFRESH, OAUTH_ERRC_REFRESH_INVALID},
        {"invalid_grant", 0, OAUTH_GRANT_PASSWORD, OAUTH_ERRC_OTHER},
        {"invalid_client", 700016, OAUTH_GRANT_PASSWORD, OAUTH_ERRC_OTHER},
        {NULL, 0, OAUTH_GRANT_PASSWORD, OAUTH_ERRC_OTHER},
        /* Device authentication: before the refresh grant's generic invalid_grant. */
        {"invalid_grant", 50155, OAUTH_GRANT_REFRESH, OAUTH_ERRC_DEVICE_AUTH_FAILED},
        {"invalid_grant", 50097, OAUTH_GRANT_REFRESH, OAUTH_ERRC_DEVICE_AUTH_FAILED},
        {"invalid_grant", 135011, OAUTH_GRANT_REFRESH, OAUTH_ERRC_DEVICE_DISABLED},
        {"invalid_grant", 700003, OAUTH_GRANT_REFRESH, OAUTH_ERRC_DEVICE_NOT_FOUND},
        {"invalid_grant", 50155, OAUTH_GRANT_PASSWORD, OAUTH_ERRC_DEVICE_AUTH_FAILED},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(oauth_error_classify(cases[i].error, cases[i].code, cases[i].grant),
                         cases[i].want);
    for (int c = 0; c < OAUTH_ERRC_COUNT__; c++)
        assert_string_not_equal(oauth_err_class_name((enum oauth_err_class)c), "unknown");
    assert_string_equal(oauth_err_class_name(OAUTH_ERRC_DEVICE_AUTH_FAILED), "device_auth_failed");
    assert_string_equal(oauth_err_class_name(OAUTH_ERRC_DEVICE_DISABLED), "device_disabled");
    assert_string_equal(oauth_err_class_name(OAUTH_ERRC_DEVICE_NOT_FOUND), "device_not_found");
}

/* The PRT error bodies of the wire contract: code from error_codes, else the description. */
static void
expect_device_error(const char *body, unsigned long code, enum oauth_err_class want)
{
    struct oauth_error e;

    assert_int_equal(oauth_error_parse(body, strlen(body), OAUTH_GRANT_REFRESH, &e), LJ_OK);
    assert_string_equal(e.error, "invalid_grant");
    assert_int_equal(e.aadsts, code);
    assert_int_equal(e.cls, want);
}

static void
test_error_device_auth_failed(void **state)
{
    (void)state;
    expect_device_error("{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS50155: "
                        "Device authentication failed for user.\",\"error_codes\":[50155],"
                        "\"trace_id\":\"t\",\"correlation_id\":\"c\"}",
                        50155, OAUTH_ERRC_DEVICE_AUTH_FAILED);
}

static void
test_error_device_auth_required(void **state)
{
    (void)state;
    expect_device_error("{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS50097: "
                        "Device authentication is required.\"}",
                        50097, OAUTH_ERRC_DEVICE_AUTH_FAILED);
}

static void
test_error_device_disabled(void **state)
{
    (void)state;
    expect_device_error("{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS135011: "
                        "Device used during the authentication is disabled.\","
                        "\"error_codes\":[135011]}",
                        135011, OAUTH_ERRC_DEVICE_DISABLED);
}

static void
test_error_device_not_found(void **state)
{
    (void)state;
    expect_device_error("{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS700003: "
                        "Device object was not found in the tenant directory.\","
                        "\"error_codes\":[700003]}",
                        700003, OAUTH_ERRC_DEVICE_NOT_FOUND);
}

static void
test_poll(void **state)
{
    long iv = 5, w = -1;

    (void)state;
    assert_int_equal(oauth_poll_next(OAUTH_ERRC_PENDING, 100, 1000, &iv, &w), OAUTH_POLL_WAIT);
    assert_int_equal(w, 5);
    assert_int_equal(iv, 5);
    assert_int_equal(oauth_poll_next(OAUTH_ERRC_SLOW_DOWN, 105, 1000, &iv, &w), OAUTH_POLL_WAIT);
    assert_int_equal(iv, 10);
    assert_int_equal(w, 10);
    assert_int_equal(oauth_poll_next(OAUTH_ERRC_PENDING, 115, 1000, &iv, &w), OAUTH_POLL_WAIT);
    assert_int_equal(iv, 10); /* slow_down persists */
    assert_int_equal(oauth_poll_next(OAUTH_ERRC_PENDING, 997, 1000, &iv, &w), OAUTH_POLL_WAIT);
    assert_int_equal(w, 3); /* never sleeps past expiry */
    assert_int_equal(oauth_poll_next(OAUTH_ERRC_PENDING, 1000, 1000, &iv, &w), OAUTH_POLL_EXPIRED);
    assert_int_equal(oauth_poll_next(OAUTH_ERRC_EXPIRED, 10, 1000, &iv, &w), OAUTH_POLL_EXPIRED);
    assert_int_equal(oauth_poll_next(OAUTH_ERRC_DECLINED, 10, 1000, &iv, &w), OAUTH_POLL_STOP);
    assert_int_equal(oauth_poll_next(OAUTH_ERRC_MFA_REQUIRED, 10, 1000, &iv, &w), OAUTH_POLL_STOP);
    iv = 58;
    assert_int_equal(oauth_poll_next(OAUTH_ERRC_SLOW_DOWN, 0, 1000, &iv, &w), OAUTH_POLL_WAIT);
    assert_int_equal(iv, 60); /* capped */
}

static char *
make_jwt(const char *payload)
{
    char *p = lj_b64_encode(payload, strlen(payload), LJ_B64_URL, NULL);
    size_t n = strlen(p) + 64;
    char *j = malloc(n);

    snprintf(j, n, "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.%s.c2lnbmF0dXJl", p);
    free(p);
    return j;
}

static void
test_jwt(void **state)
{
    struct oauth_jwt_claims c;
    char *j;

    (void)state;
    j = make_jwt(
        "{\"aud\":\"urn:ms-drs:enterpriseregistration.windows.net\",\"tid\":\"6b1c2a3e-0f4d-"
        "4c55-9a77-1e2f3a4b5c6d\",\"oid\":\"3d2c1b0a-1111-4222-8333-444455556666\",\"upn\":"
        "\"alice@contoso.example\",\"amr\":[\"pwd\",\"mfa\"],\"exp\":1795000000}");
    assert_int_equal(oauth_jwt_claims_parse(j, &c), LJ_OK);
    assert_string_equal(c.aud, OAUTH_DRS_RESOURCE);
    assert_string_equal(c.tid, "6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d");
    assert_string_equal(c.upn, "alice@contoso.example");
    assert_string_equal(c.amr, "pwd mfa");
    assert_true(oauth_jwt_has_amr(&c, "mfa"));
    assert_true(oauth_jwt_has_amr(&c, "pwd"));
    assert_false(oauth_jwt_has_amr(&c, "mf"));
    assert_int_equal(c.exp, 1795000000);
    free(j);
    j = make_jwt("{\"aud\":[\"a1\",\"a2\"],\"preferred_username\":\"bob@x\",\"amr\":\"pwd\"}");
    assert_int_equal(oauth_jwt_claims_parse(j, &c), LJ_OK);
    assert_string_equal(c.aud, "a1");
    assert_string_equal(c.upn, "bob@x");
    assert_string_equal(c.amr, "");
    assert_int_equal(c.exp, 0);
    free(j);
    assert_int_equal(oauth_jwt_claims_parse("a.b", &c), LJ_ERR_PARSE);
    assert_int_equal(oauth_jwt_claims_parse("a..c", &c), LJ_ERR_PARSE);
    assert_int_equal(oauth_jwt_claims_parse("a.b.c.d", &c), LJ_ERR_PARSE);
    assert_int_equal(oauth_jwt_claims_parse("a.!!!!.c", &c), LJ_ERR_PARSE);
    assert_int_equal(oauth_jwt_claims_parse("a.bm90IGpzb24.c", &c), LJ_ERR_PARSE); /* "not json" */
}

static void
test_redact(void **state)
{
    char out[512];

    (void)state;
    assert_string_equal(oauth_redact("grant_type=password&username=alice&password=hunter2&scope=x",
                                     out, sizeof(out)),
                        "grant_type=password&username=alice&password=***&scope=x");
    assert_string_equal(
        oauth_redact("grant_type=refresh_token&refresh_token=0.AAA&client_id=c", out, sizeof(out)),
        "grant_type=refresh_token&refresh_token=***&client_id=c");
    assert_string_equal(
        oauth_redact("ms-aadj-redir://auth/drs?code=SECRET&state=s", out, sizeof(out)),
        "ms-aadj-redir://auth/drs?code=***&state=s");
    assert_string_equal(oauth_redact("device_code=D&code_verifier=V", out, sizeof(out)),
                        "device_code=***&code_verifier=***");
    /* The PRT requests' jwt-bearer form (prt_body_jwt_bearer). */
    assert_string_equal(
        oauth_redact("windows_api_version=2.0&grant_type=urn%3Aietf%3Aparams%3Aoauth"
                     "%3Agrant-type%3Ajwt-bearer&request=eyJh.eyJy.c2ln&client_info=1",
                     out, sizeof(out)),
        "windows_api_version=2.0&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type"
        "%3Ajwt-bearer&request=***&client_info=1");
    assert_string_equal(oauth_redact("password=abcdef", out, 8), "passwor");
    assert_string_equal(oauth_redact(NULL, out, sizeof(out)), "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoint_urls),
        cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_pkce),
        cmocka_unit_test(test_redirect),
        cmocka_unit_test(test_redirect_error_needs_state),
        cmocka_unit_test(test_device_code_parse),
        cmocka_unit_test(test_device_code_malformed),
        cmocka_unit_test(test_token_parse),
        cmocka_unit_test(test_error_parse),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_error_device_auth_failed),
        cmocka_unit_test(test_error_device_auth_required),
        cmocka_unit_test(test_error_device_disabled),
        cmocka_unit_test(test_error_device_not_found),
        cmocka_unit_test(test_poll),
        cmocka_unit_test(test_jwt),
        cmocka_unit_test(test_redact),
    };
    return cmocka_run_group_tests_name("oauth", tests, NULL, NULL);
}
