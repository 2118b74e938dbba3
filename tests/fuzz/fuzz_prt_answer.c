/*
 * fuzz_prt_answer — the PRT answer (prt_answer_parse) and the renewal
 * answer (prt_renew_answer_parse) on the same bytes, then the answer's
 * session_key_jwe (prt_session_key_jwe_parse) as the flow reads it; ranges
 * and token characters as prt.h promises; prt_answer_free on everything.
 */
#include "tests/fuzz/fuzz.h"

#include <stdbool.h>

#include "agent/proto/prt.h"

static void
token(const char *s, bool required)
{
    if (s == NULL) {
        FUZZ_CHECK(!required);
        return;
    }
    FUZZ_CHECK(s[0] != '\0' && strlen(s) <= PRT_MAX_FIELD);
    for (const char *p = s; *p != '\0'; p++)
        FUZZ_CHECK(*p > 0x20 && *p < 0x7f);
}

static void
check(const struct prt_answer *a, bool renewal)
{
    FUZZ_TERMINATED(a->token_type);
    FUZZ_CHECK(strcasecmp(a->token_type, renewal ? "Bearer" : "pop") == 0);
    token(a->prt, true);
    token(a->session_key_jwe, !renewal);
    if (renewal)
        FUZZ_CHECK(a->session_key_jwe == NULL);
    token(a->id_token, false);
    token(a->client_info, false);
    FUZZ_CHECK(a->prt_expires_in >= 0 && a->prt_expires_in <= 0x7fffffff);
    FUZZ_CHECK(a->expires_in >= 0 && a->expires_in <= 0x7fffffff);
    FUZZ_CHECK(a->expires_on >= 0 && a->expires_on <= 253402300799LL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct prt_answer a;

    lj_err_clear();
    if (prt_answer_parse((const char *)data, size, &a) == LJ_OK) {
        unsigned char ek[PRT_EK_LEN];
        size_t n = 0;

        check(&a, false);
        if (prt_session_key_jwe_parse(a.session_key_jwe, ek, &n) == LJ_OK)
            FUZZ_CHECK(n == PRT_EK_LEN);
        prt_answer_free(&a);
        FUZZ_CHECK(a.prt == NULL && a.session_key_jwe == NULL);
    }
    if (prt_renew_answer_parse((const char *)data, size, &a) == LJ_OK) {
        check(&a, true);
        prt_answer_free(&a);
    }
    return 0;
}
