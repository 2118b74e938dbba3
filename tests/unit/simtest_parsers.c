/*
 * Unit tests for entra-sim's input parsers: DER reader, PKCS#10 check, RSA1
 * blob check, GUID byte order, form decoding, JWT mint/verify and tenant
 * file errors.  The CSR and blob are the shared sample vectors (made by an
 * independent implementation of the public formats).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hw-sim/entra-sim/der.h"
#include "hw-sim/entra-sim/jwt.h"
#include "hw-sim/entra-sim/pki.h"
#include "hw-sim/entra-sim/tenant.h"
#include "hw-sim/entra-sim/util.h"
#include "platform/common/b64.h"
#include "platform/common/secmem.h"

static const char vec_csr[] =
    "MIICdDCCAVwCAQAwLzEtMCsGA1UEAwwkN0U5ODBBRDktQjg2RC00MzA2LTk0MjUtOUFDMDY2RkIwMTRBMIIBIjANBgkqhk"
    "iG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAzWaZCT8anJfHJMkTcn0/BPU5n69I4KTlhLrAr6u1afcG6LwUffgxgTJ+tTxnJ/"
    "nY+Qy74VhTvqGwjpE2cT6qpnYrNIqKAlVhExtzdP/qYhmP4wvlMZmPCD/"
    "OPxsjJb+QpkLvKwmdVLe5OZ60RQzBPORyiyXhyPzRxXbVQubVRz63/"
    "08VKUUO7AhsRVkyQMx0Fd8idBjZ9JbvhrrIJlDuoDDgWVSSRUZw5NWYHP5jZubXPTrUSKvKu9hqStvkvB8X1ryY19YVP+"
    "AmlWaWbAGulnViZmiYWdocjo0tV52cpSJCjSlJtMuljKifdglQOEMqYbWhcTmbm3lvxOePyOoP+"
    "QIDAQABoAAwDQYJKoZIhvcNAQELBQADggEBAKFq6NNUGeejREjpQKcFdvZqkyl+"
    "xJouSirDGsENbMMcVPCSZPaA8AfCyYPMXVRfXZk9yKvacCHsdUoOw3BrPF+"
    "PAKRFeRCNgnNq65oPXd6C1j5RMFLSSjQLmK9rM+"
    "EB9VaRRl4TS1i9EidNDAw3k5MeVSCqn1u1jOSutzrPNM7abWXJWvwo9RxLMt6Ni8TU683C/"
    "MSyG7HnWylQxOG4hG5h7QQjTeWEPjsnKtjfgh6YYqrW0ErStUwjQnAptdIAG1g9q5hwLWPz5/WSVvUZvuLWhzhhJZwJK//"
    "HnfhY5VJyC1/B7bx06mWEPwHxLMncHgMAkSk8+SYL3/1sU45gxrM=";
static const char vec_tkey[] =
    "UlNBMQAIAAADAAAAAAEAAAAAAAAAAAAAAQABzWaZCT8anJfHJMkTcn0/"
    "BPU5n69I4KTlhLrAr6u1afcG6LwUffgxgTJ+tTxnJ/nY+Qy74VhTvqGwjpE2cT6qpnYrNIqKAlVhExtzdP/"
    "qYhmP4wvlMZmPCD/OPxsjJb+QpkLvKwmdVLe5OZ60RQzBPORyiyXhyPzRxXbVQubVRz63/"
    "08VKUUO7AhsRVkyQMx0Fd8idBjZ9JbvhrrIJlDuoDDgWVSSRUZw5NWYHP5jZubXPTrUSKvKu9hqStvkvB8X1ryY19YVP+"
    "AmlWaWbAGulnViZmiYWdocjo0tV52cpSJCjSlJtMuljKifdglQOEMqYbWhcTmbm3lvxOePyOoP+Q==";

static unsigned char *
decode(const char *b64, size_t *n)
{
    unsigned char *out = NULL;

    assert_true(lj_b64_decode(b64, strlen(b64), LJ_B64_STD, &out, n));
    return out;
}

static void
test_csr_vector_ok(void **state)
{
    size_t n;
    unsigned char *der = decode(vec_csr, &n);
    struct der spki;
    char why[200] = "";

    (void)state;
    assert_true(pki_csr_check(der, n, PKI_JOIN_CSR_CN, &spki, why, sizeof(why)));
    assert_true(spki.n > 256);
    /* Wrong expected CN, flipped signature bit, truncation: all refused. */
    assert_false(pki_csr_check(der, n, "OTHER", &spki, why, sizeof(why)));
    assert_non_null(strstr(why, "CN"));
    der[n - 5] ^= 1;
    assert_false(pki_csr_check(der, n, PKI_JOIN_CSR_CN, &spki, why, sizeof(why)));
    assert_non_null(strstr(why, "signature"));
    der[n - 5] ^= 1;
    for (size_t cut = 0; cut < n; cut += 7)
        assert_false(pki_csr_check(der, cut, PKI_JOIN_CSR_CN, &spki, why, sizeof(why)));
    free(der);
}

static void
test_rsa1_vector(void **state)
{
    size_t n;
    unsigned char *b = decode(vec_tkey, &n);
    char why[200] = "";

    (void)state;
    assert_int_equal(n, 283);
    assert_true(pki_rsa1_check(b, n, why, sizeof(why)));
    assert_false(pki_rsa1_check(b, n - 1, why, sizeof(why)));
    assert_non_null(strstr(why, "length"));
    b[0] = 'X';
    assert_false(pki_rsa1_check(b, n, why, sizeof(why)));
    assert_non_null(strstr(why, "magic"));
    b[0] = 'R';
    b[16] = 1; /* cbPrime1 */
    assert_false(pki_rsa1_check(b, n, why, sizeof(why)));
    assert_non_null(strstr(why, "cbPrime"));
    b[16] = 0;
    b[5] = 0x04; /* BitLength 1024 */
    assert_false(pki_rsa1_check(b, n, why, sizeof(why)));
    b[5] = 0x08;
    b[24] = 0; /* leading zero exponent */
    assert_false(pki_rsa1_check(b, n, why, sizeof(why)));
    for (size_t cut = 0; cut < n; cut++)
        assert_false(pki_rsa1_check(b, cut, why, sizeof(why)));
    free(b);
}

static void
test_der_reader_strict(void **state)
{
    static const unsigned char nonminimal[] = {0x30, 0x81, 0x01, 0x00};
    static const unsigned char overlong[] = {0x30, 0x05, 0x00};
    static const unsigned char indefinite[] = {0x30, 0x80, 0x00, 0x00};
    static const unsigned char ok[] = {0x30, 0x03, 0x02, 0x01, 0x05};
    struct der it, c;

    (void)state;
    it = (struct der){nonminimal, sizeof(nonminimal)};
    assert_false(der_get(&it, DER_SEQ, &c, NULL));
    it = (struct der){overlong, sizeof(overlong)};
    assert_false(der_get(&it, DER_SEQ, &c, NULL));
    it = (struct der){indefinite, sizeof(indefinite)};
    assert_false(der_get(&it, DER_SEQ, &c, NULL));
    it = (struct der){ok, sizeof(ok)};
    assert_false(der_get(&it, DER_SET, &c, NULL));
    assert_true(der_get(&it, DER_SEQ, &c, NULL));
    assert_int_equal(it.n, 0);
    assert_true(der_get(&c, DER_INTEGER, NULL, NULL));
}

static void
test_guid_windows_order(void **state)
{
    unsigned char g[16], w[16];
    static const unsigned char want[16] = {0x89, 0xac, 0x60, 0xb8, 0x07, 0xd9, 0x15, 0x47,
                                           0x97, 0x1e, 0x7e, 0x9c, 0x40, 0x32, 0x60, 0x2f};

    (void)state;
    /* Device id of the sample certificate and its .284.2 bytes. */
    assert_true(sim_guid_parse("b860ac89-d907-4715-971e-7e9c4032602f", g));
    sim_guid_windows_bytes(g, w);
    assert_memory_equal(w, want, 16);
    assert_false(sim_guid_parse("b860ac89-d907-4715-971e-7e9c4032602", g));
    assert_false(sim_guid_parse("b860ac89xd907-4715-971e-7e9c4032602f", g));
}

static void
test_form_parse(void **state)
{
    struct sim_form f;
    static const char q[] = "a=1&b=x%20y+z&c=&d";

    (void)state;
    assert_true(sim_form_parse(q, strlen(q), &f));
    assert_string_equal(sim_form_get(&f, "a"), "1");
    assert_string_equal(sim_form_get(&f, "b"), "x y z");
    assert_string_equal(sim_form_get(&f, "c"), "");
    assert_string_equal(sim_form_get(&f, "d"), "");
    assert_null(sim_form_get(&f, "e"));
    sim_form_free(&f);
    assert_false(sim_form_parse("a=%2", 4, &f));
    assert_false(sim_form_parse("a=%zz", 5, &f));
    assert_false(sim_form_parse("a=%00", 5, &f));
}

static void
test_jwt_roundtrip(void **state)
{
    struct pki_key *k = NULL, *other = NULL;
    const char *const auds[] = {"aud1", NULL};
    struct jwt_claims c = {
        .aud = "aud1", .tid = "t1", .oid = "o1", .upn = "u@x", .appid = "app", .mfa = true};
    struct jwt_info ji;
    char kid[64], why[160];
    size_t n;
    const unsigned char *spki;
    char *tok;

    (void)state;
    assert_int_equal(pki_key_generate(2048, &k), LJ_OK);
    assert_int_equal(pki_key_generate(2048, &other), LJ_OK);
    spki = pki_key_spki(k, &n);
    jwt_kid(spki, n, kid, sizeof(kid));
    c.iat = c.nbf = time(NULL);
    c.exp = c.iat + 60;
    tok = jwt_mint(k, kid, &c, JWT_GOOD, NULL);
    assert_non_null(tok);
    assert_true(jwt_verify(spki, n, kid, tok, auds, "t1", &ji, why, sizeof(why)));
    assert_true(ji.mfa);
    assert_string_equal(ji.upn, "u@x");
    assert_false(jwt_verify(spki, n, kid, tok, auds, "t2", &ji, why, sizeof(why)));
    lj_secret_free(tok);
    for (int f = JWT_BAD_SIGNATURE; f <= JWT_ALG_NONE; f++) {
        tok = jwt_mint(k, kid, &c, (enum jwt_forge)f, other);
        assert_non_null(tok);
        assert_false(jwt_verify(spki, n, kid, tok, auds, "t1", &ji, why, sizeof(why)));
        lj_secret_free(tok);
    }
    c.exp = c.iat - 1;
    tok = jwt_mint(k, kid, &c, JWT_GOOD, NULL);
    assert_false(jwt_verify(spki, n, kid, tok, auds, "t1", &ji, why, sizeof(why)));
    assert_string_equal(why, "expired");
    lj_secret_free(tok);
    assert_false(jwt_verify(spki, n, kid, "a.b.c", auds, "t1", &ji, why, sizeof(why)));
    assert_false(jwt_verify(spki, n, kid, "....", auds, "t1", &ji, why, sizeof(why)));
    pki_key_free(k);
    pki_key_free(other);
}

static void
test_tenant_errors(void **state)
{
    static const struct {
        const char *json;
        const char *want;
    } cases[] = {
        {"{", "not valid JSON"},
        {"[]", "must be an object"},
        {"{\"tenant_id\":\"x\",\"name\":\"n\",\"domains\":[\"a.b\"]}",
         "'tenant_id': must be a GUID"},
        {"{\"tenant_id\":\"6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d\",\"name\":\"n\"}", "'domains'"},
        {"{\"tenant_id\":\"6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d\",\"name\":\"n\",\"domains\":[\"a."
         "b\"],"
         "\"users\":[{\"upn\":\"x@a.b\"}]}",
         "'users[0].password': is required"},
        {"{\"tenant_id\":\"6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d\",\"name\":\"n\",\"domains\":[\"a."
         "b\"],"
         "\"device_settings\":{\"max_devices_per_user\":-1}}",
         "'device_settings.max_devices_per_user'"},
        {"{\"tenant_id\":\"6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d\",\"name\":\"n\",\"domains\":[\"a."
         "b\"]} x",
         "not valid JSON"},
    };
    char err[512];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sim_tenant *t = NULL;
        err[0] = '\0';
        assert_int_equal(tenant_parse(cases[i].json, strlen(cases[i].json), &t, err, sizeof(err)),
                         LJ_ERR_CONFIG);
        assert_null(t);
        if (strstr(err, cases[i].want) == NULL)
            fail_msg("case %zu: '%s' not in '%s'", i, cases[i].want, err);
    }
}

/* The Intune object: defaults, scope by group, licences, corporate identifiers. */
static void
test_tenant_intune(void **state)
{
    static const char base[] =
        "{\"tenant_id\":\"6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d\",\"name\":\"n\","
        "\"domains\":[\"a.b\"],\"groups\":[{\"name\":\"G\"}],"
        "\"users\":[{\"upn\":\"x@a.b\",\"password\":\"p\",\"groups\":[\"G\"],"
        "\"licenses\":[\"intune\",\"entra_p2\"]},"
        "{\"upn\":\"y@a.b\",\"password\":\"p\",\"licenses\":[\"intune\"]}]";
    char json[1024], err[512];
    struct sim_tenant *t = NULL;
    const char *missing = NULL;
    cJSON *o;

    (void)state;
    /* No intune object: not configured, nobody in scope. */
    snprintf(json, sizeof(json), "%s}", base);
    assert_int_equal(tenant_parse(json, strlen(json), &t, err, sizeof(err)), LJ_OK);
    assert_false(t->intune.configured);
    assert_false(tenant_mdm_in_scope(t, &t->users[0]));
    assert_int_equal(t->intune.device_limit, 5);
    tenant_free(t);
    /* Scope "some" by group; corporate identifiers trimmed, case-insensitive. */
    snprintf(json, sizeof(json),
             "%s,\"intune\":{\"mdm_user_scope\":\"some\",\"mdm_user_scope_groups\":[\"G\"],"
             "\"corporate_identifiers\":[\" Microsoft Corporation , Windows 365 Link ,SN-1\"]}}",
             base);
    assert_int_equal(tenant_parse(json, strlen(json), &t, err, sizeof(err)), LJ_OK);
    assert_true(tenant_mdm_in_scope(t, &t->users[0]));
    assert_false(tenant_mdm_in_scope(t, &t->users[1]));
    assert_true(tenant_mdm_licensed(&t->users[0], &missing));
    assert_false(tenant_mdm_licensed(&t->users[1], &missing));
    assert_string_equal(missing, "Microsoft Entra ID P1");
    assert_true(tenant_corp_id_match(t, "microsoft corporation", "WINDOWS 365 LINK", "sn-1"));
    assert_false(tenant_corp_id_match(t, "Microsoft Corporation", "Windows 365 Link", "SN-2"));
    assert_false(tenant_corp_id_match(t, "Microsoft Corporation", "Windows 365 Link", NULL));
    assert_false(tenant_corp_id_match(t, "", "", ""));
    /* A refused partial update leaves everything as it was. */
    o = cJSON_Parse("{\"windows\":\"blocked\",\"device_limit\":20}");
    assert_false(tenant_apply_intune(t, o, "intune", err, sizeof(err)));
    assert_non_null(strstr(err, "'intune.device_limit'"));
    assert_false(t->intune.windows_blocked);
    cJSON_Delete(o);
    tenant_free(t);
}

/* want_cn NULL (MDM enrollment): any subject, but the key and signature rules stay. */
static void
test_csr_any_subject(void **state)
{
    size_t n;
    unsigned char *der = decode(vec_csr, &n);
    struct der spki;
    char why[200] = "";

    (void)state;
    assert_true(pki_csr_check(der, n, NULL, &spki, why, sizeof(why)));
    der[n - 5] ^= 1;
    assert_false(pki_csr_check(der, n, NULL, &spki, why, sizeof(why)));
    free(der);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csr_vector_ok),     cmocka_unit_test(test_rsa1_vector),
        cmocka_unit_test(test_der_reader_strict), cmocka_unit_test(test_guid_windows_order),
        cmocka_unit_test(test_form_parse),        cmocka_unit_test(test_jwt_roundtrip),
        cmocka_unit_test(test_tenant_errors),     cmocka_unit_test(test_tenant_intune),
        cmocka_unit_test(test_csr_any_subject),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
