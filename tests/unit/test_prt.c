/* Unit tests for agent/proto/prt*.c: nonce, RS256/HS256 request JWTs, the SP 800-108 KDF input
 * ([MS-OAPXBC] 3.1.5.2.1.3 vectors), the PRT answer, session_key_jwe and the JWE answer.  The
 * fixtures in tests/data/prt were made by tests/data/prt/gen.py with python3-cryptography, so the
 * JWE and KDF checks do not test wolfSSL against itself. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "agent/proto/oauth.h"
#include "agent/proto/prt.h"
#include "platform/common/b64.h"
#include "platform/common/result.h"
#include "platform/common/secmem.h"
#include "tests/unit/testutil.h"

/* The first vector of tests/data/prt/kdf-vectors.json: the fixtures' session key and ctx. */
#define SK0 "1be0fa6104749c7d66cc377be931d5d003f7b0b0e05bdb390915629518fcf4bf"
#define CTX0 "57a24cf21999b3fd84b53cea4f1313e68394f0d78187c173"
#define CTX0_B64 "V6JM8hmZs/2EtTzqTxMT5oOU8NeBh8Fz"

/* Exactly n bytes of hex. */
static void
unhex(const char *hex, unsigned char *out, size_t n)
{
    assert_int_equal(lj_test_unhex(hex, out, n), n);
}

static void
hmac256(const unsigned char *key, size_t klen, const void *msg, size_t mlen, unsigned char out[32])
{
    Hmac h;

    assert_int_equal(wc_HmacInit(&h, NULL, INVALID_DEVID), 0);
    assert_int_equal(wc_HmacSetKey(&h, WC_SHA256, key, (word32)klen), 0);
    assert_int_equal(wc_HmacUpdate(&h, msg, (word32)mlen), 0);
    assert_int_equal(wc_HmacFinal(&h, out), 0);
    wc_HmacFree(&h);
}

/* derived = HMAC-SHA256(sk, prt_kdf_input(...)), as the TPM will compute it. */
static void
derive(int ver, const unsigned char sk[32], const unsigned char ctx[24], const char *payload,
       unsigned char out[32])
{
    unsigned char in[PRT_KDF_INPUT_MAX];
    size_t n = 0;

    assert_int_equal(
        prt_kdf_input(ver, ctx, payload, payload ? strlen(payload) : 0, in, sizeof(in), &n), LJ_OK);
    hmac256(sk, 32, in, n, out);
}

/* Segment i (0-based) of a dotted compact JWT/JWE, base64url-decoded, NUL-terminated. */
static unsigned char *
segment(const char *jwt, int i, size_t *len)
{
    const char *p = jwt, *e;
    unsigned char *out = NULL;

    for (; i > 0; i--) {
        p = strchr(p, '.');
        assert_non_null(p);
        p++;
    }
    e = strchr(p, '.');
    assert_true(lj_b64_decode(p, e ? (size_t)(e - p) : strlen(p), LJ_B64_URL, &out, len));
    return out;
}

static void
expect_detail(const char *want)
{
    if (strstr(lj_err_detail(), want) == NULL)
        fail_msg("detail '%s' lacks '%s'", lj_err_detail(), want);
}

/* ---- KDF ---- */

static void
test_kdf_vectors(void **state)
{
    size_t len = 0;
    char *text = lj_test_load_data("prt/kdf-vectors.json", &len);
    cJSON *root = cJSON_ParseWithLength(text, len);
    const cJSON *v;
    int count = 0;

    (void)state;
    assert_non_null(root);
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(root, "vectors"))
    {
        unsigned char sk[32], ctx[24], want1[32], want2[32], got[32];
        const char *payload = cJSON_GetObjectItem(v, "payload")->valuestring;

        unhex(cJSON_GetObjectItem(v, "session_key_hex")->valuestring, sk, 32);
        unhex(cJSON_GetObjectItem(v, "ctx_hex")->valuestring, ctx, 24);
        unhex(cJSON_GetObjectItem(v, "derived_v1_hex")->valuestring, want1, 32);
        unhex(cJSON_GetObjectItem(v, "derived_v2_hex")->valuestring, want2, 32);
        derive(1, sk, ctx, NULL, got);
        assert_memory_equal(got, want1, 32);
        derive(2, sk, ctx, payload, got);
        assert_memory_equal(got, want2, 32);
        count++;
    }
    assert_int_equal(count, 3);
    cJSON_Delete(root);
    free(text);
}

static void
test_kdf_input_layout(void **state)
{
    static const unsigned char head[] = "\x00\x00\x00\x01"
                                        "AzureAD-SecureConversation\x00";
    unsigned char ctx[24], out[PRT_KDF_INPUT_MAX];
    size_t n = 0;

    (void)state;
    unhex(CTX0, ctx, 24);
    assert_int_equal(prt_kdf_input(1, ctx, NULL, 0, out, sizeof(out), &n), LJ_OK);
    assert_int_equal(n, 59);
    assert_memory_equal(out, head, 31);
    assert_memory_equal(out + 31, ctx, 24);
    assert_memory_equal(out + 55, "\x00\x00\x01\x00", 4);
    assert_int_equal(prt_kdf_input(2, ctx, "{}", 2, out, sizeof(out), &n), LJ_OK);
    assert_int_equal(n, 67);
    assert_memory_equal(out + 63, "\x00\x00\x01\x00", 4);
}

static void
test_kdf_bad_version(void **state)
{
    unsigned char ctx[24] = {0}, out[PRT_KDF_INPUT_MAX];
    size_t n = 0;

    (void)state;
    assert_int_equal(prt_kdf_input(3, ctx, "{}", 2, out, sizeof(out), &n), LJ_ERR_INVAL);
    assert_int_equal(prt_kdf_input(0, ctx, "{}", 2, out, sizeof(out), &n), LJ_ERR_INVAL);
}

static void
test_kdf_small_buffer(void **state)
{
    unsigned char ctx[24] = {0}, out[PRT_KDF_INPUT_MAX];
    size_t n = 0;

    (void)state;
    assert_int_equal(prt_kdf_input(1, ctx, NULL, 0, out, PRT_KDF_INPUT_MAX - 1, &n), LJ_ERR_INVAL);
}

static void
test_kdf_v2_needs_payload(void **state)
{
    unsigned char ctx[24] = {0}, out[PRT_KDF_INPUT_MAX];
    size_t n = 0;

    (void)state;
    assert_int_equal(prt_kdf_input(2, ctx, NULL, 0, out, sizeof(out), &n), LJ_ERR_INVAL);
}

/* ---- nonce ---- */

static void
test_body_challenge(void **state)
{
    char *b = NULL;

    (void)state;
    assert_int_equal(prt_body_challenge(&b), LJ_OK);
    assert_string_equal(b, "grant_type=srv_challenge");
    free(b);
}

static enum lj_rc
nonce(const char *body, char *out, size_t nsz)
{
    lj_err_clear();
    return prt_nonce_parse(body, strlen(body), out, nsz);
}

static void
test_nonce_ok(void **state)
{
    char n[64];

    (void)state;
    assert_int_equal(nonce("{\"Nonce\":\"AwABAAEAAAACAOz_BAD0_x-y.z\"}", n, sizeof(n)), LJ_OK);
    assert_string_equal(n, "AwABAAEAAAACAOz_BAD0_x-y.z");
}

static void
test_nonce_missing(void **state)
{
    char n[64] = "keep";

    (void)state;
    assert_int_equal(nonce("{\"nonce\":\"abc\"}", n, sizeof(n)), LJ_ERR_PROTOCOL);
    expect_detail("field=Nonce");
    assert_string_equal(n, "keep");
}

static void
test_nonce_not_string(void **state)
{
    char n[64];

    (void)state;
    assert_int_equal(nonce("{\"Nonce\":12}", n, sizeof(n)), LJ_ERR_PROTOCOL);
}

static void
test_nonce_empty(void **state)
{
    char n[64];

    (void)state;
    assert_int_equal(nonce("{\"Nonce\":\"\"}", n, sizeof(n)), LJ_ERR_PROTOCOL);
}

static void
test_nonce_space(void **state)
{
    char n[64];

    (void)state;
    assert_int_equal(nonce("{\"Nonce\":\"ab cd\"}", n, sizeof(n)), LJ_ERR_PROTOCOL);
    expect_detail("printable_ascii");
}

static void
test_nonce_control_char(void **state)
{
    char n[64];

    (void)state;
    assert_int_equal(nonce("{\"Nonce\":\"ab\\u0001cd\"}", n, sizeof(n)), LJ_ERR_PROTOCOL);
}

static void
test_nonce_non_ascii(void **state)
{
    char n[64];

    (void)state;
    assert_int_equal(nonce("{\"Nonce\":\"ab\\u00e9\"}", n, sizeof(n)), LJ_ERR_PROTOCOL);
}

static void
test_nonce_longer_than_buffer(void **state)
{
    char n[4];

    (void)state;
    assert_int_equal(nonce("{\"Nonce\":\"abcd\"}", n, sizeof(n)), LJ_ERR_TOO_BIG);
}

static void
test_nonce_over_max(void **state)
{
    static char body[PRT_NONCE_MAX + 32];
    static char n[PRT_NONCE_MAX + 8];

    (void)state;
    memcpy(body, "{\"Nonce\":\"", 10);
    memset(body + 10, 'a', PRT_NONCE_MAX + 1);
    memcpy(body + 10 + PRT_NONCE_MAX + 1, "\"}", 3);
    assert_int_equal(nonce(body, n, sizeof(n)), LJ_ERR_TOO_BIG);
}

static void
test_nonce_not_json(void **state)
{
    char n[64];

    (void)state;
    assert_int_equal(nonce("Nonce=abc", n, sizeof(n)), LJ_ERR_PARSE);
}

static void
test_nonce_too_deep(void **state)
{
    char n[64];

    (void)state;
    assert_int_equal(nonce("{\"Nonce\":\"a\",\"x\":{\"y\":{}}}", n, sizeof(n)), LJ_ERR_TOO_BIG);
}

/* ---- RS256 ---- */

static const unsigned char cert_der[] = {0x30, 0x03, 0x02, 0x01, 0x05};

static void
expect_rs256(const struct prt_rs256_req *r, const char *payload)
{
    static const char hdr[] =
        "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"x5c\":[\"MAMCAQU=\"],\"kdf_ver\":2}";
    char *in = NULL;
    unsigned char *h, *p;
    size_t hl, pl;

    assert_int_equal(prt_rs256_signing_input(r, &in), LJ_OK);
    assert_null(strchr(strchr(in, '.') + 1, '.'));
    h = segment(in, 0, &hl);
    p = segment(in, 1, &pl);
    assert_string_equal((char *)h, hdr);
    assert_string_equal((char *)p, payload);
    free(h);
    lj_secret_free((char *)p);
    lj_secret_free(in);
}

static void
test_rs256_refresh_token(void **state)
{
    struct prt_rs256_req r = {
        cert_der, sizeof(cert_der), "N0nce", PRT_GRANT_REFRESH_TOKEN, "1.AXEA-rt", NULL,
        NULL,     "10.0.22631.1"};

    (void)state;
    /* ROADtools get_prt_with_refresh_token, minus group_sids. */
    expect_rs256(&r, "{\"client_id\":\"29d9ed98-a469-4536-ade2-f981bc1d605e\","
                     "\"request_nonce\":\"N0nce\",\"scope\":\"openid aza ugs\","
                     "\"grant_type\":\"refresh_token\",\"refresh_token\":\"1.AXEA-rt\","
                     "\"win_ver\":\"10.0.22631.1\"}");
}

static void
test_rs256_password_escaped(void **state)
{
    struct prt_rs256_req r = {cert_der,
                              sizeof(cert_der),
                              "N",
                              PRT_GRANT_PASSWORD,
                              NULL,
                              "u@contoso.example",
                              "p\"w\\d\n\xc3\xa9",
                              NULL};
    char *in = NULL;
    unsigned char *p;
    size_t pl;
    cJSON *j;

    (void)state;
    expect_rs256(&r, "{\"client_id\":\"38aa3b87-a06d-4817-b275-7a316988d93b\","
                     "\"request_nonce\":\"N\",\"scope\":\"openid aza ugs\","
                     "\"grant_type\":\"password\",\"username\":\"u@contoso.example\","
                     "\"password\":\"p\\\"w\\\\d\\u000a\xc3\xa9\",\"win_ver\":\"10.0.19041.868\"}");
    /* A JSON parser reads the password back byte for byte. */
    assert_int_equal(prt_rs256_signing_input(&r, &in), LJ_OK);
    p = segment(in, 1, &pl);
    j = cJSON_ParseWithLength((char *)p, pl);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "password")->valuestring, r.password);
    cJSON_Delete(j);
    lj_secret_free((char *)p);
    lj_secret_free(in);
}

static void
test_rs256_x5c_real_cert(void **state)
{
    size_t n = 0;
    char *der = lj_test_load_data("drs/device-cert.der", &n);
    struct prt_rs256_req r = {
        (unsigned char *)der, n, "N", PRT_GRANT_REFRESH_TOKEN, "rt", NULL, NULL, NULL};
    char *in = NULL, *b64 = lj_b64_encode(der, n, LJ_B64_STD, NULL);
    unsigned char *h;
    size_t hl;
    cJSON *j;

    (void)state;
    assert_int_equal(prt_rs256_signing_input(&r, &in), LJ_OK);
    h = segment(in, 0, &hl);
    j = cJSON_ParseWithLength((char *)h, hl);
    assert_non_null(j);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "x5c"), 0)->valuestring, b64);
    cJSON_Delete(j);
    free(h);
    free(b64);
    free(der);
    lj_secret_free(in);
}

static enum lj_rc
rs256(const struct prt_rs256_req *r)
{
    char *in = NULL;
    enum lj_rc rc;

    lj_err_clear();
    rc = prt_rs256_signing_input(r, &in);
    assert_true(rc == LJ_OK || in == NULL);
    lj_secret_free(in);
    return rc;
}

static void
test_rs256_no_cert(void **state)
{
    struct prt_rs256_req r = {NULL, 0, "N", PRT_GRANT_REFRESH_TOKEN, "rt", NULL, NULL, NULL};

    (void)state;
    assert_int_equal(rs256(&r), LJ_ERR_INVAL);
}

static void
test_rs256_bad_nonce(void **state)
{
    struct prt_rs256_req r = {cert_der, 5, "a b", PRT_GRANT_REFRESH_TOKEN, "rt", NULL, NULL, NULL};

    (void)state;
    assert_int_equal(rs256(&r), LJ_ERR_INVAL);
}

static void
test_rs256_no_refresh_token(void **state)
{
    struct prt_rs256_req r = {cert_der, 5, "N", PRT_GRANT_REFRESH_TOKEN, NULL, NULL, NULL, NULL};

    (void)state;
    assert_int_equal(rs256(&r), LJ_ERR_INVAL);
    expect_detail("field=refresh_token");
}

static void
test_rs256_no_password(void **state)
{
    struct prt_rs256_req r = {cert_der, 5, "N", PRT_GRANT_PASSWORD, NULL, "u", "", NULL};

    (void)state;
    assert_int_equal(rs256(&r), LJ_ERR_INVAL);
    expect_detail("field=password");
}

static void
test_rs256_bad_win_ver(void **state)
{
    struct prt_rs256_req r = {cert_der, 5,    "N",  PRT_GRANT_REFRESH_TOKEN,
                              "rt",     NULL, NULL, "10.0\"x"};

    (void)state;
    assert_int_equal(rs256(&r), LJ_ERR_INVAL);
    expect_detail("field=win_ver");
}

static void
test_rs256_bad_grant(void **state)
{
    struct prt_rs256_req r = {cert_der, 5, "N", (enum prt_grant)7, "rt", NULL, NULL, NULL};

    (void)state;
    assert_int_equal(rs256(&r), LJ_ERR_INVAL);
}

static void
test_jwt_join(void **state)
{
    static const unsigned char sig[] = {0xfb, 0xff, 0x00};
    char *j = NULL;

    (void)state;
    assert_int_equal(prt_jwt_join("aGVhZA.cGF5", sig, sizeof(sig), &j), LJ_OK);
    assert_string_equal(j, "aGVhZA.cGF5.-_8A");
    lj_secret_free(j);
    assert_int_equal(prt_jwt_join("aGVhZA.cGF5", sig, 0, &j), LJ_ERR_INVAL);
}

static void
test_body_jwt_bearer(void **state)
{
    char *f = NULL;

    (void)state;
    assert_int_equal(prt_body_jwt_bearer("aGVhZA.cGF5.-_8A", &f), LJ_OK);
    assert_string_equal(f, "windows_api_version=2.0&grant_type=urn%3Aietf%3Aparams%3Aoauth%3A"
                           "grant-type%3Ajwt-bearer&request=aGVhZA.cGF5.-_8A&client_info=1");
    lj_secret_free(f);
}

static void
test_body_jwt_bearer_bad_chars(void **state)
{
    char *f = NULL;

    (void)state;
    assert_int_equal(prt_body_jwt_bearer("a.b&c=d", &f), LJ_ERR_INVAL);
    assert_int_equal(prt_body_jwt_bearer("", &f), LJ_ERR_INVAL);
    assert_null(f);
}

/* ---- HS256 ---- */

static void
expect_hs256(const struct prt_hs256_req *r, const char *want)
{
    char *p = NULL;

    assert_int_equal(prt_hs256_payload(r, &p), LJ_OK);
    assert_string_equal(p, want);
    lj_secret_free(p);
}

static void
test_hs256_payload_intune(void **state)
{
    struct prt_hs256_req r = {
        PRT_HS256_TOKEN,           "0.PRT", "N1", NULL, NULL, OAUTH_MDM_RESOURCE, NULL,
        "ms-aadj-redir://auth/mdm"};

    (void)state;
    /* ROADtools aad_brokerplugin_prt_auth, pytune: the Intune enrollment token. */
    expect_hs256(&r,
                 "{\"client_id\":\"29d9ed98-a469-4536-ade2-f981bc1d605e\","
                 "\"resource\":\"https://enrollment.manage.microsoft.com/\","
                 "\"refresh_token\":\"0.PRT\",\"request_nonce\":\"N1\","
                 "\"grant_type\":\"refresh_token\",\"redirect_uri\":\"ms-aadj-redir://auth/mdm\","
                 "\"iss\":\"aad:brokerplugin\",\"win_ver\":\"10.0.19041.868\"}");
}

static void
test_hs256_payload_scope_default_redirect(void **state)
{
    struct prt_hs256_req r = {PRT_HS256_TOKEN,
                              "0.PRT",
                              "N1",
                              "10.0.1.2",
                              "1b730954-1685-4b74-9bfd-dac224a7b894",
                              NULL,
                              "https://graph.microsoft.com/.default openid",
                              NULL};

    (void)state;
    expect_hs256(&r, "{\"client_id\":\"1b730954-1685-4b74-9bfd-dac224a7b894\","
                     "\"scope\":\"https://graph.microsoft.com/.default openid\","
                     "\"refresh_token\":\"0.PRT\",\"request_nonce\":\"N1\","
                     "\"grant_type\":\"refresh_token\",\"redirect_uri\":\"ms-appx-web://"
                     "Microsoft.AAD.BrokerPlugin/1b730954-1685-4b74-9bfd-dac224a7b894\","
                     "\"iss\":\"aad:brokerplugin\",\"win_ver\":\"10.0.1.2\"}");
}

static void
test_hs256_payload_renew(void **state)
{
    struct prt_hs256_req r = {PRT_HS256_RENEW, "0.PRT", "N2", NULL, NULL, NULL, NULL, NULL};

    (void)state;
    /* ROADtools renew_prt, minus group_sids. */
    expect_hs256(&r, "{\"client_id\":\"38aa3b87-a06d-4817-b275-7a316988d93b\","
                     "\"request_nonce\":\"N2\",\"scope\":\"openid aza ugs\","
                     "\"iss\":\"aad:brokerplugin\",\"grant_type\":\"refresh_token\","
                     "\"refresh_token\":\"0.PRT\",\"previous_refresh_token\":\"0.PRT\","
                     "\"win_ver\":\"10.0.19041.868\"}");
}

static void
test_hs256_payload_resource_and_scope(void **state)
{
    struct prt_hs256_req r = {PRT_HS256_TOKEN, "0.PRT", "N", NULL, NULL, "r", "s", NULL};
    char *p = NULL;

    (void)state;
    lj_err_clear();
    assert_int_equal(prt_hs256_payload(&r, &p), LJ_ERR_INVAL);
    expect_detail("field=resource_or_scope");
    assert_null(p);
}

static void
test_hs256_payload_neither(void **state)
{
    struct prt_hs256_req r = {PRT_HS256_TOKEN, "0.PRT", "N", NULL, NULL, NULL, NULL, NULL};
    char *p = NULL;

    (void)state;
    assert_int_equal(prt_hs256_payload(&r, &p), LJ_ERR_INVAL);
}

static void
test_hs256_payload_no_prt(void **state)
{
    struct prt_hs256_req r = {PRT_HS256_RENEW, NULL, "N", NULL, NULL, NULL, NULL, NULL};
    char *p = NULL;

    (void)state;
    assert_int_equal(prt_hs256_payload(&r, &p), LJ_ERR_INVAL);
}

/*
 * The whole two-step HS256 request: payload, kdf v2 key from exactly those
 * bytes, JWT; then check it as a server would: header, payload bytes equal
 * to segment 2, HMAC over segments 1-2 with the key derived from them.
 */
static void
test_hs256_jwt_verifies(void **state)
{
    struct prt_hs256_req r = {PRT_HS256_RENEW, "0.PRT", "N2", NULL, NULL, NULL, NULL, NULL};
    unsigned char sk[32], ctx[24], derived[32], again[32], mac[32];
    char *payload = NULL, *jwt = NULL;
    unsigned char *h, *p, *s;
    size_t hl, pl, sl;
    const char *d2;

    (void)state;
    unhex(SK0, sk, 32);
    unhex(CTX0, ctx, 24);
    assert_int_equal(prt_hs256_payload(&r, &payload), LJ_OK);
    derive(2, sk, ctx, payload, derived);
    assert_int_equal(prt_hs256_jwt(ctx, payload, derived, &jwt), LJ_OK);

    h = segment(jwt, 0, &hl);
    assert_string_equal((char *)h, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"ctx\":\"" CTX0_B64
                                   "\",\"kdf_ver\":2}");
    p = segment(jwt, 1, &pl);
    assert_int_equal(pl, strlen(payload));
    assert_memory_equal(p, payload, pl);
    /* The server side: key from the header's ctx and segment 2's bytes. */
    derive(2, sk, ctx, (char *)p, again);
    assert_memory_equal(again, derived, 32);
    d2 = strrchr(jwt, '.');
    hmac256(again, 32, jwt, (size_t)(d2 - jwt), mac);
    s = segment(jwt, 2, &sl);
    assert_int_equal(sl, 32);
    assert_memory_equal(s, mac, 32);
    free(h);
    free(s);
    lj_secret_free((char *)p);
    lj_secret_free(payload);
    lj_secret_free(jwt);
}

/* The vector's payload through prt_hs256_jwt: the key the vectors give signs it. */
static void
test_hs256_jwt_vector_key(void **state)
{
    static const char payload[] =
        "{\"client_id\":\"29d9ed98-a469-4536-ade2-f981bc1d605e\",\"grant_type\":\"refresh_token\","
        "\"request_nonce\":\"AwABAAAA-nonce-0\",\"resource\":\"https://enrollment.manage.microsoft."
        "com/\"}";
    unsigned char derived[32], ctx[24], mac[32], *s;
    char *jwt = NULL;
    size_t sl;

    (void)state;
    unhex("3cc01d7280308a119b861996f98b99a9b6475fc56f19258c5727db1a128c6e23", derived, 32);
    unhex(CTX0, ctx, 24);
    assert_int_equal(prt_hs256_jwt(ctx, payload, derived, &jwt), LJ_OK);
    hmac256(derived, 32, jwt, (size_t)(strrchr(jwt, '.') - jwt), mac);
    s = segment(jwt, 2, &sl);
    assert_memory_equal(s, mac, 32);
    free(s);
    lj_secret_free(jwt);
}

/* ---- the PRT answer ---- */

static enum lj_rc
answer(const char *body, struct prt_answer *a)
{
    lj_err_clear();
    memset(a, 0, sizeof(*a));
    return prt_answer_parse(body, strlen(body), a);
}

static void
test_answer_strings(void **state)
{
    struct prt_answer a;

    (void)state;
    /* The v1 endpoint's shape: numbers as decimal strings. */
    assert_int_equal(answer("{\"token_type\":\"pop\",\"expires_in\":\"1209599\","
                            "\"ext_expires_in\":\"1209599\",\"expires_on\":\"1767225600\","
                            "\"refresh_token\":\"0.AXEA-prt\",\"refresh_token_expires_in\":"
                            "\"1209599\",\"session_key_jwe\":\"a.b.c.d.e\",\"id_token\":\"x.y.\","
                            "\"client_info\":\"eyJ1aWQiOiIxIn0\"}",
                            &a),
                     LJ_OK);
    assert_string_equal(a.prt, "0.AXEA-prt");
    assert_string_equal(a.session_key_jwe, "a.b.c.d.e");
    assert_string_equal(a.id_token, "x.y.");
    assert_string_equal(a.client_info, "eyJ1aWQiOiIxIn0");
    assert_string_equal(a.token_type, "pop");
    assert_int_equal(a.prt_expires_in, 1209599);
    assert_int_equal(a.expires_in, 1209599);
    assert_int_equal(a.expires_on, 1767225600LL);
    prt_answer_free(&a);
    assert_null(a.prt);
}

static void
test_answer_numbers(void **state)
{
    struct prt_answer a;

    (void)state;
    assert_int_equal(answer("{\"token_type\":\"pop\",\"expires_in\":3600,\"refresh_token\":\"p\","
                            "\"refresh_token_expires_in\":1209599,\"session_key_jwe\":\"j\"}",
                            &a),
                     LJ_OK);
    assert_int_equal(a.prt_expires_in, 1209599);
    assert_int_equal(a.expires_in, 3600);
    assert_int_equal(a.expires_on, 0);
    assert_null(a.id_token);
    prt_answer_free(&a);
}

static void
test_answer_no_session_key_jwe(void **state)
{
    struct prt_answer a;

    (void)state;
    assert_int_equal(answer("{\"token_type\":\"pop\",\"refresh_token\":\"p\"}", &a),
                     LJ_ERR_PROTOCOL);
    expect_detail("field=session_key_jwe");
    assert_null(a.prt);
}

static void
test_answer_no_refresh_token(void **state)
{
    struct prt_answer a;

    (void)state;
    assert_int_equal(answer("{\"token_type\":\"pop\",\"session_key_jwe\":\"j\"}", &a),
                     LJ_ERR_PROTOCOL);
    expect_detail("field=refresh_token");
}

static void
test_answer_token_type_bearer(void **state)
{
    struct prt_answer a;

    (void)state;
    assert_int_equal(answer("{\"token_type\":\"Bearer\",\"refresh_token\":\"p\","
                            "\"session_key_jwe\":\"j\"}",
                            &a),
                     LJ_ERR_PROTOCOL);
    expect_detail("field=token_type want=pop");
}

static void
test_answer_token_type_missing(void **state)
{
    struct prt_answer a;

    (void)state;
    assert_int_equal(answer("{\"refresh_token\":\"p\",\"session_key_jwe\":\"j\"}", &a),
                     LJ_ERR_PROTOCOL);
}

static void
test_answer_bad_number(void **state)
{
    struct prt_answer a;

    (void)state;
    assert_int_equal(answer("{\"token_type\":\"pop\",\"refresh_token\":\"p\",\"session_key_jwe\":"
                            "\"j\",\"refresh_token_expires_in\":\"12a\"}",
                            &a),
                     LJ_ERR_PROTOCOL);
    expect_detail("field=refresh_token_expires_in");
}

static void
test_answer_negative_number(void **state)
{
    struct prt_answer a;

    (void)state;
    assert_int_equal(answer("{\"token_type\":\"pop\",\"refresh_token\":\"p\",\"session_key_jwe\":"
                            "\"j\",\"expires_in\":-1}",
                            &a),
                     LJ_ERR_PROTOCOL);
}

static void
test_answer_prt_space(void **state)
{
    struct prt_answer a;

    (void)state;
    assert_int_equal(answer("{\"token_type\":\"pop\",\"refresh_token\":\"p q\","
                            "\"session_key_jwe\":\"j\"}",
                            &a),
                     LJ_ERR_PROTOCOL);
}

static void
test_answer_field_oversize(void **state)
{
    static const char pre[] =
        "{\"token_type\":\"pop\",\"session_key_jwe\":\"j\",\"refresh_token\":\"";
    size_t n = PRT_MAX_FIELD + 1, pl = sizeof(pre) - 1;
    char *body = malloc(pl + n + 3);
    struct prt_answer a;

    (void)state;
    memcpy(body, pre, pl);
    memset(body + pl, 'a', n);
    memcpy(body + pl + n, "\"}", 3);
    assert_int_equal(answer(body, &a), LJ_ERR_PROTOCOL);
    expect_detail("field=refresh_token rc=too_big");
    free(body);
}

static void
test_answer_body_oversize(void **state)
{
    struct prt_answer a;
    char *body = malloc(PRT_MAX_BODY + 2);

    (void)state;
    memset(body, ' ', PRT_MAX_BODY + 1);
    body[0] = '{';
    body[PRT_MAX_BODY] = '}';
    body[PRT_MAX_BODY + 1] = '\0';
    assert_int_equal(answer(body, &a), LJ_ERR_TOO_BIG);
    free(body);
}

static void
test_answer_not_json(void **state)
{
    struct prt_answer a;

    (void)state;
    assert_int_equal(answer("eyJhbGciOiJkaXIifQ..a.b.c", &a), LJ_ERR_PARSE);
}

/* ---- session_key_jwe ---- */

static enum lj_rc
skjwe(const char *jwe, unsigned char ek[PRT_EK_LEN])
{
    size_t n = 0;

    lj_err_clear();
    return prt_session_key_jwe_parse(jwe, ek, &n);
}

/* jwe with its first segment replaced by b64url(header). */
static char *
with_header(const char *jwe, const char *header)
{
    char *h = lj_b64_encode(header, strlen(header), LJ_B64_URL, NULL);
    const char *rest = strchr(jwe, '.');
    size_t hl = strlen(h), rl = strlen(rest);
    char *out = malloc(hl + rl + 1);

    assert_non_null(out);
    memcpy(out, h, hl);
    memcpy(out + hl, rest, rl + 1);
    free(h);
    return out;
}

static void
test_skjwe_fixture(void **state)
{
    char *jwe = lj_test_load_data("prt/session-key.jwe", NULL);
    size_t dlen = 0, n = 0;
    char *der = lj_test_load_data("prt/transport-key.der", &dlen);
    unsigned char ek[PRT_EK_LEN], sk[32], want[32];
    RsaKey key;
    WC_RNG rng;
    word32 idx = 0;
    int got;

    (void)state;
    assert_int_equal(prt_session_key_jwe_parse(jwe, ek, &n), LJ_OK);
    assert_int_equal(n, PRT_EK_LEN);
    /* RSA-OAEP-SHA1 as the TPM will undo it (ROADtools decrypt_jwe_with_transport_key). */
    assert_int_equal(wc_InitRsaKey(&key, NULL), 0);
    assert_int_equal(wc_RsaPrivateKeyDecode((unsigned char *)der, &idx, &key, (word32)dlen), 0);
    assert_int_equal(wc_InitRng(&rng), 0);
    assert_int_equal(wc_RsaSetRNG(&key, &rng), 0);
    got = wc_RsaPrivateDecrypt_ex(ek, PRT_EK_LEN, sk, sizeof(sk), &key, WC_RSA_OAEP_PAD,
                                  WC_HASH_TYPE_SHA, WC_MGF1SHA1, NULL, 0);
    assert_int_equal(got, 32);
    unhex(SK0, want, 32);
    assert_memory_equal(sk, want, 32);
    wc_FreeRsaKey(&key);
    wc_FreeRng(&rng);
    free(der);
    free(jwe);
}

static void
test_skjwe_four_segments(void **state)
{
    char *jwe = lj_test_load_data("prt/session-key.jwe", NULL);
    unsigned char ek[PRT_EK_LEN];

    (void)state;
    *strrchr(jwe, '.') = '\0';
    assert_int_equal(skjwe(jwe, ek), LJ_ERR_PARSE);
    expect_detail("session_key_jwe_not_5_segments");
    free(jwe);
}

static void
test_skjwe_bad_alg(void **state)
{
    char *jwe = lj_test_load_data("prt/session-key.jwe", NULL);
    char *bad = with_header(jwe, "{\"enc\":\"A256GCM\",\"alg\":\"RSA-OAEP-256\"}");
    unsigned char ek[PRT_EK_LEN];

    (void)state;
    assert_int_equal(skjwe(bad, ek), LJ_ERR_PROTOCOL);
    expect_detail("session_key_jwe_bad_alg");
    free(bad);
    free(jwe);
}

static void
test_skjwe_bad_enc(void **state)
{
    char *jwe = lj_test_load_data("prt/session-key.jwe", NULL);
    char *bad = with_header(jwe, "{\"enc\":\"A128CBC-HS256\",\"alg\":\"RSA-OAEP\"}");
    unsigned char ek[PRT_EK_LEN];

    (void)state;
    assert_int_equal(skjwe(bad, ek), LJ_ERR_PROTOCOL);
    expect_detail("session_key_jwe_bad_enc");
    free(bad);
    free(jwe);
}

static void
test_skjwe_header_not_json(void **state)
{
    char *jwe = lj_test_load_data("prt/session-key.jwe", NULL);
    char *bad = with_header(jwe, "alg=RSA-OAEP");
    unsigned char ek[PRT_EK_LEN];

    (void)state;
    assert_int_equal(skjwe(bad, ek), LJ_ERR_PARSE);
    expect_detail("session_key_jwe_bad_header");
    free(bad);
    free(jwe);
}

static void
test_skjwe_bad_b64(void **state)
{
    char *jwe = lj_test_load_data("prt/session-key.jwe", NULL);
    unsigned char ek[PRT_EK_LEN];

    (void)state;
    strchr(jwe, '.')[5] = '*';
    assert_int_equal(skjwe(jwe, ek), LJ_ERR_PARSE);
    expect_detail("session_key_jwe_bad_b64 segment=2");
    free(jwe);
}

static void
test_skjwe_short_key(void **state)
{
    unsigned char ek[PRT_EK_LEN];

    (void)state;
    /* 255 bytes: RSA-2048 ciphertexts are 256. */
    char seg2[341];
    char jwe[512];

    memset(seg2, 'A', 340);
    seg2[340] = '\0';
    snprintf(jwe, sizeof(jwe), "eyJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.%s.a.b.c", seg2);
    assert_int_equal(skjwe(jwe, ek), LJ_ERR_PROTOCOL);
    expect_detail("session_key_jwe_bad_key_len len=255");
}

static void
test_skjwe_oversize(void **state)
{
    char *jwe = malloc(PRT_MAX_FIELD + 2);
    unsigned char ek[PRT_EK_LEN];

    (void)state;
    memset(jwe, 'A', PRT_MAX_FIELD + 1);
    jwe[PRT_MAX_FIELD + 1] = '\0';
    assert_int_equal(skjwe(jwe, ek), LJ_ERR_TOO_BIG);
    free(jwe);
}

/* ---- the encrypted answer ---- */

static void
fixture_key(unsigned char key[32])
{
    unsigned char sk[32], ctx[24];

    unhex(SK0, sk, 32);
    unhex(CTX0, ctx, 24);
    derive(1, sk, ctx, NULL, key);
}

static enum lj_rc
decrypt(const char *jwe, const unsigned char key[32])
{
    char *plain = NULL;
    size_t n = 0;
    enum lj_rc rc;

    lj_err_clear();
    rc = prt_jwe_decrypt(jwe, strlen(jwe), key, &plain, &n);
    assert_true(rc == LJ_OK || plain == NULL);
    lj_secret_free(plain);
    return rc;
}

static void
test_jwe_fixture(void **state)
{
    size_t jl = 0, wl = 0, n = 0;
    char *jwe = lj_test_load_data("prt/response.jwe", &jl);
    char *want = lj_test_load_data("prt/response.json", &wl);
    unsigned char ctx[24], want_ctx[24], sk[32], key[32];
    struct oauth_token t;
    char *plain = NULL;

    (void)state;
    assert_int_equal(prt_jwe_header_ctx(jwe, jl, ctx), LJ_OK);
    unhex(CTX0, want_ctx, 24);
    assert_memory_equal(ctx, want_ctx, 24);
    /* The key from the RESPONSE header's ctx, kdf v1 (ROADtools decrypt_auth_response). */
    unhex(SK0, sk, 32);
    derive(1, sk, ctx, NULL, key);
    assert_int_equal(prt_jwe_decrypt(jwe, jl, key, &plain, &n), LJ_OK);
    assert_int_equal(n, wl);
    assert_string_equal(plain, want);
    /* The existing token parser reads the decrypted answer. */
    assert_int_equal(oauth_token_parse(plain, n, &t), LJ_OK);
    assert_string_equal(t.refresh_token, "1.AXEA-fixture-refresh-token");
    assert_int_equal(t.expires_in, 3599);
    assert_non_null(t.access_token);
    assert_non_null(t.id_token);
    oauth_token_free(&t);
    lj_secret_free(plain);
    free(want);
    free(jwe);
}

static void
test_jwe_renewal(void **state)
{
    size_t jl = 0, n = 0;
    char *jwe = lj_test_load_data("prt/renew.jwe", &jl);
    unsigned char key[32];
    struct prt_answer a;
    char *plain = NULL;

    (void)state;
    fixture_key(key);
    assert_int_equal(prt_jwe_decrypt(jwe, jl, key, &plain, &n), LJ_OK);
    assert_int_equal(prt_renew_answer_parse(plain, n, &a), LJ_OK);
    assert_string_equal(a.prt, "0.AXEA-fixture-renewed-prt");
    assert_int_equal(a.prt_expires_in, 1209599);
    assert_int_equal(a.expires_in, 3599);
    assert_string_equal(a.token_type, "Bearer");
    assert_null(a.session_key_jwe);
    prt_answer_free(&a);
    /* A PRT answer's token_type is pop: the renewal parser refuses it. */
    lj_secret_free(plain);
    plain = strdup("{\"token_type\":\"pop\",\"refresh_token\":\"p\"}");
    assert_int_equal(prt_renew_answer_parse(plain, strlen(plain), &a), LJ_ERR_PROTOCOL);
    lj_secret_free(plain);
    free(jwe);
}

static void
test_jwe_tampered_tag(void **state)
{
    char *jwe = lj_test_load_data("prt/response.jwe", NULL);
    unsigned char key[32];
    char *t;

    (void)state;
    fixture_key(key);
    t = strrchr(jwe, '.') + 1;
    t[0] = t[0] == 'A' ? 'B' : 'A';
    assert_int_equal(decrypt(jwe, key), LJ_ERR_CRYPTO);
    expect_detail("jwe_tag_mismatch");
    free(jwe);
}

static void
test_jwe_tampered_ciphertext(void **state)
{
    char *jwe = lj_test_load_data("prt/response.jwe", NULL);
    unsigned char key[32];
    char *c;

    (void)state;
    fixture_key(key);
    c = strchr(strchr(strchr(jwe, '.') + 1, '.') + 1, '.') + 1;
    c[3] = c[3] == 'A' ? 'B' : 'A';
    assert_int_equal(decrypt(jwe, key), LJ_ERR_CRYPTO);
    free(jwe);
}

static void
test_jwe_wrong_key(void **state)
{
    char *jwe = lj_test_load_data("prt/response.jwe", NULL);
    unsigned char key[32];

    (void)state;
    fixture_key(key);
    key[0] ^= 1;
    assert_int_equal(decrypt(jwe, key), LJ_ERR_CRYPTO);
    free(jwe);
}

static void
test_jwe_header_changed(void **state)
{
    char *jwe = lj_test_load_data("prt/response.jwe", NULL);
    char *bad =
        with_header(jwe, "{\"alg\":\"dir\",\"enc\":\"A256GCM\",\"ctx\":\"" CTX0_B64 "\",\"x\":1}");
    unsigned char key[32];

    (void)state;
    fixture_key(key);
    /* The header is the AAD: a changed one fails the tag. */
    assert_int_equal(decrypt(bad, key), LJ_ERR_CRYPTO);
    free(bad);
    free(jwe);
}

static void
test_jwe_bad_alg(void **state)
{
    char *jwe = lj_test_load_data("prt/response.jwe", NULL);
    char *bad =
        with_header(jwe, "{\"alg\":\"A256KW\",\"enc\":\"A256GCM\",\"ctx\":\"" CTX0_B64 "\"}");
    unsigned char key[32], ctx[24];

    (void)state;
    fixture_key(key);
    assert_int_equal(decrypt(bad, key), LJ_ERR_PROTOCOL);
    expect_detail("jwe_bad_alg want=dir");
    lj_err_clear();
    assert_int_equal(prt_jwe_header_ctx(bad, strlen(bad), ctx), LJ_ERR_PROTOCOL);
    free(bad);
    free(jwe);
}

static void
test_jwe_bad_enc(void **state)
{
    char *jwe = lj_test_load_data("prt/response.jwe", NULL);
    char *bad = with_header(jwe, "{\"alg\":\"dir\",\"enc\":\"A128GCM\",\"ctx\":\"" CTX0_B64 "\"}");
    unsigned char key[32];

    (void)state;
    fixture_key(key);
    assert_int_equal(decrypt(bad, key), LJ_ERR_PROTOCOL);
    expect_detail("jwe_bad_enc want=A256GCM");
    free(bad);
    free(jwe);
}

static void
test_jwe_four_segments(void **state)
{
    char *jwe = lj_test_load_data("prt/response.jwe", NULL);
    unsigned char key[32], ctx[24];

    (void)state;
    fixture_key(key);
    *strrchr(jwe, '.') = '\0';
    assert_int_equal(decrypt(jwe, key), LJ_ERR_PARSE);
    expect_detail("jwe_not_5_segments");
    assert_int_equal(prt_jwe_header_ctx(jwe, strlen(jwe), ctx), LJ_ERR_PARSE);
    free(jwe);
}

static void
test_jwe_six_segments(void **state)
{
    size_t n = 0;
    char *jwe = lj_test_load_data("prt/response.jwe", &n);
    char *six = malloc(n + 3);
    unsigned char key[32];

    (void)state;
    fixture_key(key);
    memcpy(six, jwe, n);
    memcpy(six + n, ".x", 3);
    assert_int_equal(decrypt(six, key), LJ_ERR_PARSE);
    free(six);
    free(jwe);
}

static void
test_jwe_bad_b64(void **state)
{
    char *jwe = lj_test_load_data("prt/response.jwe", NULL);
    unsigned char key[32];

    (void)state;
    fixture_key(key);
    /* Segment 3 (the IV) starts right after "..". */
    strstr(jwe, "..")[3] = '*';
    assert_int_equal(decrypt(jwe, key), LJ_ERR_PARSE);
    expect_detail("jwe_bad_b64 segment=3");
    free(jwe);
}

static void
test_jwe_iv_length(void **state)
{
    char *jwe = lj_test_load_data("prt/response.jwe", NULL);
    char *p = strstr(jwe, "..") + 2;
    unsigned char key[32];

    (void)state;
    fixture_key(key);
    /* "AAECAwQFBgcICQoL" (12 bytes) -> "AAECAwQFBgcI" (9 bytes). */
    memmove(p + 12, p + 16, strlen(p + 16) + 1);
    assert_int_equal(decrypt(jwe, key), LJ_ERR_PROTOCOL);
    expect_detail("jwe_bad_iv_len len=9");
    free(jwe);
}

static void
test_jwe_tag_length(void **state)
{
    char *jwe = lj_test_load_data("prt/response.jwe", NULL);
    unsigned char key[32];

    (void)state;
    fixture_key(key);
    strrchr(jwe, '.')[5] = '\0'; /* 4 characters: 3 bytes */
    assert_int_equal(decrypt(jwe, key), LJ_ERR_PROTOCOL);
    expect_detail("jwe_bad_tag_len len=3");
    free(jwe);
}

static void
test_jwe_encrypted_key_present(void **state)
{
    char *jwe = lj_test_load_data("prt/response.jwe", NULL);
    char *p = strstr(jwe, "..");
    size_t len = strlen(jwe), cut = (size_t)(p - jwe) + 1;
    char *bad = malloc(len + 5);
    unsigned char key[32];

    (void)state;
    assert_non_null(bad);
    fixture_key(key);
    /* "AAAA" as segment 2, which must be empty */
    memcpy(bad, jwe, cut);
    memcpy(bad + cut, "AAAA", 4);
    memcpy(bad + cut + 4, p + 1, len - cut + 1);
    assert_int_equal(decrypt(bad, key), LJ_ERR_PROTOCOL);
    expect_detail("jwe_encrypted_key_not_empty");
    free(bad);
    free(jwe);
}

static void
test_jwe_oversize(void **state)
{
    char *big = malloc(PRT_MAX_JWE + 2);
    unsigned char key[32] = {0}, ctx[24];

    (void)state;
    memset(big, 'A', PRT_MAX_JWE + 1);
    big[PRT_MAX_JWE + 1] = '\0';
    assert_int_equal(decrypt(big, key), LJ_ERR_TOO_BIG);
    assert_int_equal(prt_jwe_header_ctx(big, PRT_MAX_JWE + 1, ctx), LJ_ERR_TOO_BIG);
    free(big);
}

static void
test_jwe_plain_json(void **state)
{
    static const char body[] = "{\"error\":\"invalid_grant\",\"error_codes\":[50155]}";
    unsigned char ctx[24];

    (void)state;
    assert_int_equal(prt_jwe_header_ctx(body, sizeof(body) - 1, ctx), LJ_ERR_PARSE);
}

static void
test_jwe_ctx_missing(void **state)
{
    char *jwe = lj_test_load_data("prt/response.jwe", NULL);
    char *bad = with_header(jwe, "{\"alg\":\"dir\",\"enc\":\"A256GCM\"}");
    unsigned char ctx[24];

    (void)state;
    lj_err_clear();
    assert_int_equal(prt_jwe_header_ctx(bad, strlen(bad), ctx), LJ_ERR_PROTOCOL);
    expect_detail("jwe_bad_ctx want=string");
    free(bad);
    free(jwe);
}

static void
test_jwe_ctx_wrong_length(void **state)
{
    char *jwe = lj_test_load_data("prt/response.jwe", NULL);
    char *bad = with_header(jwe, "{\"alg\":\"dir\",\"enc\":\"A256GCM\",\"ctx\":\"AAAA\"}");
    unsigned char ctx[24];

    (void)state;
    lj_err_clear();
    assert_int_equal(prt_jwe_header_ctx(bad, strlen(bad), ctx), LJ_ERR_PARSE);
    expect_detail("jwe_bad_ctx");
    free(bad);
    free(jwe);
}

/* No error detail (which lj_err_set also logs) carries a token, password or plaintext. */
static void
test_no_secret_in_details(void **state)
{
    struct prt_rs256_req r = {cert_der, 5, "N", PRT_GRANT_PASSWORD, NULL, "u", "SECRETPW", "x"};
    char *jwe = lj_test_load_data("prt/response.jwe", NULL);
    unsigned char key[32] = {0};
    struct prt_answer a;

    (void)state;
    assert_int_equal(rs256(&r), LJ_ERR_INVAL);
    assert_null(strstr(lj_err_detail(), "SECRETPW"));
    assert_int_equal(answer("{\"token_type\":\"pop\",\"refresh_token\":\"SECRETPRT\"}", &a),
                     LJ_ERR_PROTOCOL);
    assert_null(strstr(lj_err_detail(), "SECRETPRT"));
    assert_int_equal(answer("{\"token_type\":\"pop\",\"refresh_token\":\"SECRET PRT\","
                            "\"session_key_jwe\":\"j\"}",
                            &a),
                     LJ_ERR_PROTOCOL);
    assert_null(strstr(lj_err_detail(), "SECRET"));
    assert_int_equal(decrypt(jwe, key), LJ_ERR_CRYPTO);
    assert_null(strstr(lj_err_detail(), "refresh"));
    free(jwe);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kdf_vectors),
        cmocka_unit_test(test_kdf_input_layout),
        cmocka_unit_test(test_kdf_bad_version),
        cmocka_unit_test(test_kdf_small_buffer),
        cmocka_unit_test(test_kdf_v2_needs_payload),
        cmocka_unit_test(test_body_challenge),
        cmocka_unit_test(test_nonce_ok),
        cmocka_unit_test(test_nonce_missing),
        cmocka_unit_test(test_nonce_not_string),
        cmocka_unit_test(test_nonce_empty),
        cmocka_unit_test(test_nonce_space),
        cmocka_unit_test(test_nonce_control_char),
        cmocka_unit_test(test_nonce_non_ascii),
        cmocka_unit_test(test_nonce_longer_than_buffer),
        cmocka_unit_test(test_nonce_over_max),
        cmocka_unit_test(test_nonce_not_json),
        cmocka_unit_test(test_nonce_too_deep),
        cmocka_unit_test(test_rs256_refresh_token),
        cmocka_unit_test(test_rs256_password_escaped),
        cmocka_unit_test(test_rs256_x5c_real_cert),
        cmocka_unit_test(test_rs256_no_cert),
        cmocka_unit_test(test_rs256_bad_nonce),
        cmocka_unit_test(test_rs256_no_refresh_token),
        cmocka_unit_test(test_rs256_no_password),
        cmocka_unit_test(test_rs256_bad_win_ver),
        cmocka_unit_test(test_rs256_bad_grant),
        cmocka_unit_test(test_jwt_join),
        cmocka_unit_test(test_body_jwt_bearer),
        cmocka_unit_test(test_body_jwt_bearer_bad_chars),
        cmocka_unit_test(test_hs256_payload_intune),
        cmocka_unit_test(test_hs256_payload_scope_default_redirect),
        cmocka_unit_test(test_hs256_payload_renew),
        cmocka_unit_test(test_hs256_payload_resource_and_scope),
        cmocka_unit_test(test_hs256_payload_neither),
        cmocka_unit_test(test_hs256_payload_no_prt),
        cmocka_unit_test(test_hs256_jwt_verifies),
        cmocka_unit_test(test_hs256_jwt_vector_key),
        cmocka_unit_test(test_answer_strings),
        cmocka_unit_test(test_answer_numbers),
        cmocka_unit_test(test_answer_no_session_key_jwe),
        cmocka_unit_test(test_answer_no_refresh_token),
        cmocka_unit_test(test_answer_token_type_bearer),
        cmocka_unit_test(test_answer_token_type_missing),
        cmocka_unit_test(test_answer_bad_number),
        cmocka_unit_test(test_answer_negative_number),
        cmocka_unit_test(test_answer_prt_space),
        cmocka_unit_test(test_answer_field_oversize),
        cmocka_unit_test(test_answer_body_oversize),
        cmocka_unit_test(test_answer_not_json),
        cmocka_unit_test(test_skjwe_fixture),
        cmocka_unit_test(test_skjwe_four_segments),
        cmocka_unit_test(test_skjwe_bad_alg),
        cmocka_unit_test(test_skjwe_bad_enc),
        cmocka_unit_test(test_skjwe_header_not_json),
        cmocka_unit_test(test_skjwe_bad_b64),
        cmocka_unit_test(test_skjwe_short_key),
        cmocka_unit_test(test_skjwe_oversize),
        cmocka_unit_test(test_jwe_fixture),
        cmocka_unit_test(test_jwe_renewal),
        cmocka_unit_test(test_jwe_tampered_tag),
        cmocka_unit_test(test_jwe_tampered_ciphertext),
        cmocka_unit_test(test_jwe_wrong_key),
        cmocka_unit_test(test_jwe_header_changed),
        cmocka_unit_test(test_jwe_bad_alg),
        cmocka_unit_test(test_jwe_bad_enc),
        cmocka_unit_test(test_jwe_four_segments),
        cmocka_unit_test(test_jwe_six_segments),
        cmocka_unit_test(test_jwe_bad_b64),
        cmocka_unit_test(test_jwe_iv_length),
        cmocka_unit_test(test_jwe_tag_length),
        cmocka_unit_test(test_jwe_encrypted_key_present),
        cmocka_unit_test(test_jwe_oversize),
        cmocka_unit_test(test_jwe_plain_json),
        cmocka_unit_test(test_jwe_ctx_missing),
        cmocka_unit_test(test_jwe_ctx_wrong_length),
        cmocka_unit_test(test_no_secret_in_details),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
