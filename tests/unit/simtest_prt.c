/*
 * Unit tests for entra-sim's PRT key derivation (prt.c): the NIST SP 800-108
 * counter-mode KDF of [MS-OAPXBC] 3.1.5.2.1.3 in its kdf_ver 1 (context =
 * ctx) and kdf_ver 2 (context = SHA-256(ctx || payload)) forms, against
 * vectors computed independently with python3-cryptography's KBKDFHMAC (and
 * a hand-written HMAC), plus the tenant file's "prt" and intune
 * require_device_claim options.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hw-sim/entra-sim/prt.h"
#include "hw-sim/entra-sim/tenant.h"

struct kdf_vec {
    const char *session_key, *ctx, *payload, *v1, *v2;
};

#define PAYLOAD(n)                                                                                 \
    "{\"client_id\":\"29d9ed98-a469-4536-ade2-f981bc1d605e\",\"grant_type\":\"refresh_token\","    \
    "\"request_nonce\":\"AwABAAAA-nonce-" n "\",\"resource\":\"https://"                           \
    "enrollment.manage.microsoft.com/\"}"

static const struct kdf_vec vecs[] = {
    {"1be0fa6104749c7d66cc377be931d5d003f7b0b0e05bdb390915629518fcf4bf",
     "57a24cf21999b3fd84b53cea4f1313e68394f0d78187c173", PAYLOAD("0"),
     "87ed6cf2f221e8eab8a97dde4d869bea7e6a117747e9718693f34367890d15c4",
     "3cc01d7280308a119b861996f98b99a9b6475fc56f19258c5727db1a128c6e23"},
    {"ae1462319c0d77eb34b730e380bdf29c292a8233ac6a87275c045a4616da3359",
     "b6d44cbebe5ecbaf699fa507c2c268d7748dea144e89de07", PAYLOAD("1"),
     "f5b027906feaee680f3f2a7fbdf8f5222f11583bf3a3b620a6ad6d437af59086",
     "39ecbdb1baa4c70aca25d8bb503f2e8e416d8213145fbf0db70901867b933ff1"},
    {"b7f6e7d384f69ea0267f8992d5f0152fb4cddd5fbff158b5758c65a40e389ea2",
     "e5f4a81e15f1cf5a8be63b8b9eb4a9a4b18da704796d165a", PAYLOAD("2"),
     "e8240752b26d0ea344a7b989eb339941147425448e6dc4cb952f7d742c0be77e",
     "d4cdb317420b17c5b3c9d05b73fcf01b1ff4c0859fc55f842dae0dfc2da3ae72"},
};

static size_t
unhex(const char *s, unsigned char *out, size_t max)
{
    size_t n = strlen(s) / 2;

    assert_true(n <= max);
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;

        for (size_t k = 0; k < 2; k++) {
            char c = s[2 * i + k];

            assert_true(isxdigit((unsigned char)c));
            v = v * 16 + (unsigned)(isdigit((unsigned char)c) ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        out[i] = (unsigned char)v;
    }
    return n;
}

static void
test_kdf_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
        unsigned char sk[32], ctx[24], want[32], got[32];
        const struct kdf_vec *v = &vecs[i];
        size_t pl = strlen(v->payload);

        assert_int_equal(unhex(v->session_key, sk, sizeof(sk)), 32);
        assert_int_equal(unhex(v->ctx, ctx, sizeof(ctx)), 24);
        unhex(v->v1, want, sizeof(want));
        assert_true(prt_derive(sk, 32, ctx, 24, (const unsigned char *)v->payload, pl, 1, got));
        assert_memory_equal(got, want, 32);
        prt_kdf(sk, 32, ctx, 24, got); /* kdf v1 is the bare KDF over ctx */
        assert_memory_equal(got, want, 32);
        unhex(v->v2, want, sizeof(want));
        assert_true(prt_derive(sk, 32, ctx, 24, (const unsigned char *)v->payload, pl, 2, got));
        assert_memory_equal(got, want, 32);
        /* one payload byte changed: another key */
        {
            char *p = strdup(v->payload);
            assert_non_null(p);
            p[pl - 3] ^= 1;
            assert_true(prt_derive(sk, 32, ctx, 24, (const unsigned char *)p, pl, 2, got));
            assert_memory_not_equal(got, want, 32);
            free(p);
        }
    }
}

static void
test_kdf_unknown_version(void **state)
{
    unsigned char sk[32] = {1}, ctx[24] = {2}, out[32];

    (void)state;
    assert_false(prt_derive(sk, 32, ctx, 24, (const unsigned char *)"{}", 2, 3, out));
    assert_false(prt_derive(sk, 32, ctx, 24, (const unsigned char *)"{}", 2, 0, out));
}

static const char base_tenant[] =
    "{\"tenant_id\":\"6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d\",\"name\":\"C\","
    "\"domains\":[\"contoso.example\"],\"users\":[{\"upn\":\"a@contoso.example\","
    "\"password\":\"p\"}]%s}";

static bool
parse_with(const char *extra, struct sim_tenant **t, char *err, size_t errsz)
{
    char text[1024];

    snprintf(text, sizeof(text), base_tenant, extra);
    return tenant_parse(text, strlen(text), t, err, errsz) == LJ_OK;
}

static void
test_tenant_prt_options(void **state)
{
    struct sim_tenant *t = NULL;
    char err[256] = "";

    (void)state;
    assert_true(parse_with("", &t, err, sizeof(err)));
    assert_int_equal(t->prt.nonce_lifetime, 300);
    assert_int_equal(t->prt.lifetime, 1209600);
    assert_int_equal(t->prt.not_ready_joined, 0);
    assert_true(t->intune.require_device_claim);
    assert_false(t->intune.mdm_claims_in_at);
    tenant_free(t);
    t = NULL;
    assert_true(parse_with(",\"prt\":{\"nonce_lifetime_s\":0,\"lifetime_s\":60,"
                           "\"auth_not_ready_after_join\":2},\"intune\":{"
                           "\"require_device_claim\":false,\"mdm_claims_in_access_token\":true}",
                           &t, err, sizeof(err)));
    assert_int_equal(t->prt.nonce_lifetime, 0);
    assert_int_equal(t->prt.lifetime, 60);
    assert_int_equal(t->prt.not_ready_joined, 2);
    assert_false(t->intune.require_device_claim);
    assert_true(t->intune.mdm_claims_in_at);
    tenant_free(t);
    t = NULL;
    assert_false(parse_with(",\"prt\":{\"lifetime_s\":0}", &t, err, sizeof(err)));
    assert_non_null(strstr(err, "field 'prt.lifetime_s'"));
    assert_false(parse_with(",\"prt\":{\"nonce_life\":1}", &t, err, sizeof(err)));
    assert_non_null(strstr(err, "prt.nonce_life"));
    assert_false(parse_with(",\"intune\":{\"require_device_claim\":1}", &t, err, sizeof(err)));
    assert_non_null(strstr(err, "field 'intune.require_device_claim'"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kdf_vectors),
        cmocka_unit_test(test_kdf_unknown_version),
        cmocka_unit_test(test_tenant_prt_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
