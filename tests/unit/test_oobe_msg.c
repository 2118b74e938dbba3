/*
 * Unit tests for platform/oobe/bridge/msg.c: every message the page may
 * send becomes the exact line the agent reads; every bad body is refused
 * with its slug and sentence; values with quotes, control characters and
 * non-ASCII text survive the trip; and a seeded run of mutated bodies
 * (a small fuzz) never crashes and never yields a line that is not one
 * JSON object of a known type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "platform/common/secmem.h"
#include "platform/oobe/bridge/msg.h"

static void
expect_line(const char *body, const char *line, const char *type)
{
    char *out = NULL, slug[32] = "", problem[160] = "";
    size_t len = 0;
    const char *t = NULL;

    if (oobe_msg_check(body, strlen(body), &out, &len, &t, slug, sizeof(slug), problem,
                       sizeof(problem)) != LJ_OK)
        fail_msg("body %s refused: %s: %s", body, slug, problem);
    assert_string_equal(out, line);
    assert_int_equal(len, strlen(line));
    assert_string_equal(t, type);
    lj_secure_free(out, len + 1);
}

static void
expect_bad(const char *body, size_t len, enum lj_rc rc, const char *slug, const char *problem)
{
    char *out = NULL, s[32] = "", p[160] = "";
    size_t ol = 0;
    const char *t = NULL;

    assert_int_equal(oobe_msg_check(body, len, &out, &ol, &t, s, sizeof(s), p, sizeof(p)), rc);
    if (strcmp(s, slug) != 0 || strcmp(p, problem) != 0)
        fail_msg("got '%s' '%s', want '%s' '%s'", s, p, slug, problem);
    assert_null(out);
    assert_null(t);
}

#define BAD(body, slug, problem) expect_bad(body, strlen(body), LJ_ERR_PARSE, slug, problem)

static void
test_good_messages(void **state)
{
    (void)state;
    expect_line("{\"type\":\"credentials\",\"username\":\"alice@contoso.example\","
                "\"password\":\"Demo-Passw0rd!\"}",
                "{\"type\":\"credentials\",\"username\":\"alice@contoso.example\","
                "\"password\":\"Demo-Passw0rd!\"}\n",
                "credentials");
    /* member order and white space do not matter; the line has the agent's order */
    expect_line(" \n{ \"password\" : \"p\", \"type\":\"credentials\", \"username\":\"u\" }\r\n",
                "{\"type\":\"credentials\",\"username\":\"u\",\"password\":\"p\"}\n",
                "credentials");
    expect_line("{\"type\":\"auth_code\",\"code\":\"0.AXk\",\"state\":\"s1\"}",
                "{\"type\":\"auth_code\",\"code\":\"0.AXk\",\"state\":\"s1\"}\n", "auth_code");
    expect_line("{\"type\":\"cancel\"}", "{\"type\":\"cancel\"}\n", "cancel");
    expect_line("{\"type\":\"retry\"}", "{\"type\":\"retry\"}\n", "retry");
}

/* Quotes, backslashes, control characters and UTF-8 come through unchanged. */
static void
test_values_round_trip(void **state)
{
    const char *body = "{\"type\":\"credentials\",\"username\":\"J\\u00f6rg@b\\u00fccher.example\","
                       "\"password\":\"a\\\"b\\\\c\\nd\\te\\u0001f\\u2028g\\ud83d\\ude00\"}";
    char *out = NULL, slug[32], problem[160];
    size_t len = 0;
    const char *t = NULL;
    cJSON *j;

    (void)state;
    assert_int_equal(oobe_msg_check(body, strlen(body), &out, &len, &t, slug, sizeof(slug), problem,
                                    sizeof(problem)),
                     LJ_OK);
    assert_int_equal(out[len - 1], '\n');
    assert_null(memchr(out, '\n', len - 1));
    j = cJSON_Parse(out);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "username")->valuestring, "J\xc3\xb6rg@b\xc3\xbc"
                                                                         "cher.example");
    assert_string_equal(cJSON_GetObjectItem(j, "password")->valuestring,
                        "a\"b\\c\nd\te\x01"
                        "f\xe2\x80\xa8g\xf0\x9f\x98\x80");
    cJSON_Delete(j);
    lj_secure_free(out, len + 1);
}

static void
test_bad_bodies(void **state)
{
    char big[OOBE_MSG_MAX_BODY + 2];
    char pw[OOBE_MSG_MAX_PASSWORD + 64];
    size_t head;

    (void)state;
    BAD("", "bad_json", "body is not one JSON object in UTF-8");
    BAD("{\"type\":", "bad_json", "body is not one JSON object");
    BAD("cancel", "bad_json", "body is not one JSON object");
    BAD("{\"type\":\"cancel\"}x", "bad_json", "body is not one JSON object");
    BAD("{\"type\":\"cancel\"}{\"type\":\"cancel\"}", "bad_json", "body is not one JSON object");
    BAD("\xff{\"type\":\"cancel\"}", "bad_json", "body is not one JSON object in UTF-8");
    BAD("{\"type\":\"cancel\",\"a\":\"\xc0\x80\"}", "bad_json",
        "body is not one JSON object in UTF-8");
    BAD("{\"type\":\"cancel\",\"a\":\"\xed\xa0\x80\"}", "bad_json",
        "body is not one JSON object in UTF-8");
    expect_bad("{\"type\":\"cancel\"}\0", 18, LJ_ERR_PARSE, "bad_json",
               "body is not one JSON object in UTF-8");
    BAD("[\"cancel\"]", "not_object", "body is not a JSON object");
    BAD("\"cancel\"", "not_object", "body is not a JSON object");
    BAD("{}", "missing_type", "missing field 'type'");
    BAD("{\"Type\":\"cancel\"}", "missing_type", "missing field 'type'");
    BAD("{\"type\":7}", "bad_field", "field 'type' must be a string");
    BAD("{\"type\":null}", "bad_field", "field 'type' must be a string");
    BAD("{\"type\":\"launch\"}", "unknown_type",
        "unknown type 'launch' (credentials, auth_code, cancel or retry)");
    BAD("{\"type\":\"can'cel\\n\"}", "unknown_type",
        "unknown type 'can?cel?' (credentials, auth_code, cancel or retry)");
    BAD("{\"type\":\"credentials\",\"username\":\"u\"}", "missing_field",
        "credentials: missing field 'password'");
    BAD("{\"type\":\"credentials\",\"password\":\"p\"}", "missing_field",
        "credentials: missing field 'username'");
    BAD("{\"type\":\"auth_code\",\"code\":\"c\"}", "missing_field",
        "auth_code: missing field 'state'");
    BAD("{\"type\":\"credentials\",\"username\":\"u\",\"password\":1}", "bad_field",
        "credentials: field 'password' must be a string");
    BAD("{\"type\":\"credentials\",\"username\":{\"a\":1},\"password\":\"p\"}", "bad_field",
        "credentials: field 'username' must be a string");
    BAD("{\"type\":\"credentials\",\"username\":\"u\",\"password\":\"\"}", "bad_field",
        "credentials: field 'password' must be 1 to 1024 bytes");
    BAD("{\"type\":\"cancel\",\"why\":\"x\"}", "unknown_field", "cancel: unknown field 'why'");
    BAD("{\"type\":\"cancel\",\"a\\\"b\\\\c\":\"x\"}", "unknown_field",
        "cancel: unknown field 'a?b?c'");
    BAD("{\"type\":\"retry\",\"type\":\"retry\"}", "duplicate_field",
        "retry: field 'type' given twice");
    BAD("{\"type\":\"credentials\",\"username\":\"u\",\"username\":\"v\",\"password\":\"p\"}",
        "duplicate_field", "credentials: field 'username' given twice");
    /* lengths: the agent's limits */
    snprintf(pw, sizeof(pw), "{\"type\":\"credentials\",\"username\":\"u\",\"password\":\"");
    head = strlen(pw);
    memset(pw + head, 'p', OOBE_MSG_MAX_PASSWORD + 1);
    memcpy(pw + head + OOBE_MSG_MAX_PASSWORD + 1, "\"}", 3);
    BAD(pw, "bad_field", "credentials: field 'password' must be 1 to 1024 bytes");
    memset(big, ' ', sizeof(big));
    memcpy(big, "{\"type\":\"cancel\"}", 17);
    expect_bad(big, OOBE_MSG_MAX_BODY + 1, LJ_ERR_TOO_BIG, "too_large", "body over 65536 bytes");
    expect_bad(NULL, 0, LJ_ERR_PARSE, "bad_json", "body is not one JSON object in UTF-8");
}

/* A body of exactly the limit is taken (white space after the object). */
static void
test_body_at_limit(void **state)
{
    char *big = malloc(OOBE_MSG_MAX_BODY);

    (void)state;
    assert_non_null(big);
    memset(big, ' ', OOBE_MSG_MAX_BODY);
    memcpy(big, "{\"type\":\"cancel\"}", 17);
    {
        char *out = NULL, s[32], p[160];
        size_t len = 0;
        const char *t = NULL;
        assert_int_equal(
            oobe_msg_check(big, OOBE_MSG_MAX_BODY, &out, &len, &t, s, sizeof(s), p, sizeof(p)),
            LJ_OK);
        assert_string_equal(out, "{\"type\":\"cancel\"}\n");
        free(out);
    }
    free(big);
}

/* xorshift64*: a fixed seed, so every run checks the same bodies. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next_rand(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ULL;
}

/*
 * Seeded mutations (flip, insert, delete, truncate, splice) of good and bad
 * bodies: every answer is either a refusal with a known slug and a
 * sentence, or one line that parses as an object of a known type whose
 * members are all strings.  Run under ASan (make SANITIZE=...) it also
 * checks every read stays in the body.
 */
static void
test_fuzz_mutations(void **state)
{
    static const char *const seeds[] = {
        "{\"type\":\"credentials\",\"username\":\"alice@contoso.example\",\"password\":\"pw\"}",
        "{\"type\":\"auth_code\",\"code\":\"0.AXk\",\"state\":\"abc\"}",
        "{\"type\":\"cancel\"}",
        "{\"type\":\"retry\"}",
        "{\"type\":\"credentials\",\"username\":\"\\u00e9\",\"password\":\"\\\"\\\\\"}",
        "[{\"type\":\"cancel\"}]",
    };
    static const char *const slugs[] = {"bad_json",      "not_object",     "missing_type",
                                        "unknown_type",  "missing_field",  "bad_field",
                                        "unknown_field", "duplicate_field"};
    static const char alphabet[] = "{}[]\":,\\ tu0123456789abcdefnrxyz\x80\xc3\xa9\xff";
    char buf[512];
    int accepted = 0, refused = 0;

    (void)state;
    for (int round = 0; round < 20000; round++) {
        const char *seed = seeds[next_rand() % (sizeof(seeds) / sizeof(seeds[0]))];
        size_t len = strlen(seed), n = 1 + next_rand() % 4;
        char *out = NULL, s[32] = "", p[160] = "";
        size_t ol = 0;
        const char *t = NULL;
        enum lj_rc rc;

        memcpy(buf, seed, len);
        for (size_t k = 0; k < n; k++) {
            size_t at = len > 0 ? next_rand() % len : 0;
            char c = alphabet[next_rand() % (sizeof(alphabet) - 1)];
            switch (next_rand() % 5) {
            case 0:
                if (len > 0)
                    buf[at] = c;
                break;
            case 1:
                if (len + 1 < sizeof(buf)) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = c;
                    len++;
                }
                break;
            case 2:
                if (len > 0) {
                    memmove(buf + at, buf + at + 1, len - at - 1);
                    len--;
                }
                break;
            case 3: len = at; break;
            default: {
                const char *o = seeds[next_rand() % (sizeof(seeds) / sizeof(seeds[0]))];
                size_t ol2 = strlen(o), from = next_rand() % ol2, cnt = next_rand() % 16;
                if (from + cnt > ol2)
                    cnt = ol2 - from;
                if (len + cnt < sizeof(buf)) {
                    memmove(buf + at + cnt, buf + at, len - at);
                    memcpy(buf + at, o + from, cnt);
                    len += cnt;
                }
            }
            }
        }
        rc = oobe_msg_check(buf, len, &out, &ol, &t, s, sizeof(s), p, sizeof(p));
        if (rc == LJ_OK) {
            cJSON *j = cJSON_ParseWithLength(out, ol);
            const cJSON *m;
            if (j == NULL || !cJSON_IsObject(j) || out[ol - 1] != '\n' ||
                memchr(out, '\n', ol - 1) != NULL)
                fail_msg("accepted %.*s as bad line %s", (int)len, buf, out);
            for (m = j->child; m != NULL; m = m->next)
                if (!cJSON_IsString(m))
                    fail_msg("line %s has a non-string member", out);
            assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, t);
            cJSON_Delete(j);
            lj_secure_free(out, ol + 1);
            accepted++;
        } else {
            bool known = false;
            assert_int_equal(rc, LJ_ERR_PARSE);
            assert_null(out);
            for (size_t k = 0; k < sizeof(slugs) / sizeof(slugs[0]); k++)
                known = known || strcmp(s, slugs[k]) == 0;
            if (!known || p[0] == '\0' || strpbrk(p, "\"\\") != NULL)
                fail_msg("body %.*s: slug '%s' problem '%s'", (int)len, buf, s, p);
            refused++;
        }
    }
    /* both outcomes were exercised */
    assert_true(accepted > 100);
    assert_true(refused > 100);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_messages),  cmocka_unit_test(test_values_round_trip),
        cmocka_unit_test(test_bad_bodies),     cmocka_unit_test(test_body_at_limit),
        cmocka_unit_test(test_fuzz_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
