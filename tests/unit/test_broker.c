/*
 * test_broker.c — agent/proto/broker.c: the token broker's request parser
 * (each refusal with its exact sentence), the value rules shared with
 * `linkjoin token`'s flags, the error answer, and the client's reading of
 * an answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/proto/broker.h"

#define GRAPH "https://graph.microsoft.com"
#define W365 "a4a365df-50f1-4397-bc59-1a1564b8bb9c"

static enum lj_rc
parse(const char *line, struct broker_req *r, char *problem)
{
    return broker_req_parse(line, strlen(line), r, problem, 160);
}

static void
test_request_resource(void **state)
{
    struct broker_req r;
    char problem[160] = "";

    (void)state;
    assert_int_equal(parse("{\"resource\":\"" GRAPH "\"}", &r, problem), LJ_OK);
    assert_string_equal(r.resource, GRAPH);
    assert_string_equal(r.scope, "");
    assert_string_equal(r.client_id, "");
    assert_string_equal(r.redirect_uri, "");
}

static void
test_request_all_fields(void **state)
{
    struct broker_req r;
    char problem[160] = "";

    (void)state;
    assert_int_equal(parse("{\"scope\":\"" GRAPH "/.default openid\",\"client_id\":\"" W365
                           "\",\"redirect_uri\":\"ms-appx-web://x/y\"}",
                           &r, problem),
                     LJ_OK);
    assert_string_equal(r.scope, GRAPH "/.default openid");
    assert_string_equal(r.client_id, W365);
    assert_string_equal(r.redirect_uri, "ms-appx-web://x/y");
    assert_string_equal(r.resource, "");
}

/* Every refusal, with the sentence the broker sends back. */
static void
test_request_refusals(void **state)
{
    static const struct {
        const char *line;
        enum lj_rc rc;
        const char *problem;
    } cases[] = {
        {"", LJ_ERR_PARSE, "the request is not one JSON object of strings"},
        {"resource=x", LJ_ERR_PARSE, "the request is not one JSON object of strings"},
        {"[\"" GRAPH "\"]", LJ_ERR_PARSE, "the request is not one JSON object of strings"},
        {"{\"resource\":{\"a\":1}}", LJ_ERR_PARSE, "the request is not one JSON object of strings"},
        {"{\"resource\":\"" GRAPH "\"} x", LJ_ERR_PARSE,
         "the request is not one JSON object of strings"},
        {"{}", LJ_ERR_PARSE, "give exactly one of resource and scope"},
        {"{\"client_id\":\"" W365 "\"}", LJ_ERR_PARSE, "give exactly one of resource and scope"},
        {"{\"resource\":\"a\",\"scope\":\"b\"}", LJ_ERR_PARSE,
         "give exactly one of resource and scope"},
        {"{\"resource\":\"" GRAPH "\",\"user\":\"x\"}", LJ_ERR_PARSE, "unknown field 'user'"},
        {"{\"Resource\":\"" GRAPH "\"}", LJ_ERR_PARSE, "unknown field 'Resource'"},
        {"{\"resource\":\"a\",\"resource\":\"b\"}", LJ_ERR_PARSE, "field 'resource' given twice"},
        {"{\"resource\":5}", LJ_ERR_PARSE, "field 'resource' is not a string"},
        {"{\"resource\":null}", LJ_ERR_PARSE, "field 'resource' is not a string"},
        {"{\"resource\":\"\"}", LJ_ERR_PARSE,
         "field 'resource': 1 to 512 printable ASCII characters without spaces"},
        {"{\"resource\":\"https://a b\"}", LJ_ERR_PARSE,
         "field 'resource': 1 to 512 printable ASCII characters without spaces"},
        {"{\"resource\":\"https://a\\nb\"}", LJ_ERR_PARSE,
         "field 'resource': 1 to 512 printable ASCII characters without spaces"},
        {"{\"scope\":\"a\\tb\"}", LJ_ERR_PARSE,
         "field 'scope': 1 to 512 printable ASCII characters"},
        {"{\"resource\":\"x\",\"client_id\":\"not-a-guid\"}", LJ_ERR_PARSE,
         "field 'client_id': a GUID (8-4-4-4-12 hexadecimal digits)"},
        {"{\"resource\":\"x\",\"redirect_uri\":\"a b\"}", LJ_ERR_PARSE,
         "field 'redirect_uri': 1 to 512 printable ASCII characters without spaces"},
        {"{\"resource\":\"caf\xc3\xa9\"}", LJ_ERR_PARSE,
         "field 'resource': 1 to 512 printable ASCII characters without spaces"},
    };
    struct broker_req r;
    char problem[160];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&r, 0x5a, sizeof(r));
        problem[0] = '\0';
        assert_int_equal(parse(cases[i].line, &r, problem), cases[i].rc);
        assert_string_equal(problem, cases[i].problem);
        assert_int_equal(r.resource[0], 0x5a); /* untouched on failure */
    }
}

/* A NUL byte inside the line is refused (pjson_parse), not cut short. */
static void
test_request_nul_byte(void **state)
{
    static const char line[] = "{\"resource\":\"x\"}\0junk";
    struct broker_req r;
    char problem[160];

    (void)state;
    assert_int_equal(broker_req_parse(line, sizeof(line) - 1, &r, problem, sizeof(problem)),
                     LJ_ERR_PARSE);
    assert_string_equal(problem, "the request is not one JSON object of strings");
}

static void
test_request_sizes(void **state)
{
    char *line = malloc(BROKER_LINE_MAX + 2);
    char v[BROKER_VALUE_MAX + 2];
    struct broker_req r;
    char problem[160];
    int n;

    (void)state;
    assert_non_null(line);
    /* a value of exactly 512 bytes is fine, 513 is not */
    memset(v, 'a', BROKER_VALUE_MAX);
    v[BROKER_VALUE_MAX] = '\0';
    n = snprintf(line, BROKER_LINE_MAX + 2, "{\"resource\":\"%s\"}", v);
    assert_int_equal(broker_req_parse(line, (size_t)n, &r, problem, sizeof(problem)), LJ_OK);
    assert_int_equal(strlen(r.resource), BROKER_VALUE_MAX);
    v[BROKER_VALUE_MAX] = 'a';
    v[BROKER_VALUE_MAX + 1] = '\0';
    n = snprintf(line, BROKER_LINE_MAX + 2, "{\"resource\":\"%s\"}", v);
    assert_int_equal(broker_req_parse(line, (size_t)n, &r, problem, sizeof(problem)), LJ_ERR_PARSE);
    assert_string_equal(problem,
                        "field 'resource': 1 to 512 printable ASCII characters without spaces");
    /* the line: 4096 bytes parse (spaces are JSON whitespace), 4097 are too long */
    memset(line, ' ', BROKER_LINE_MAX + 1);
    memcpy(line, "{\"resource\":\"x\"}", 16);
    assert_int_equal(broker_req_parse(line, BROKER_LINE_MAX, &r, problem, sizeof(problem)), LJ_OK);
    assert_int_equal(broker_req_parse(line, BROKER_LINE_MAX + 1, &r, problem, sizeof(problem)),
                     LJ_ERR_TOO_BIG);
    assert_string_equal(problem, "the request is longer than 4096 bytes");
    free(line);
}

/* The flags of `linkjoin token` follow the same rules. */
static void
test_value_rules(void **state)
{
    (void)state;
    assert_null(broker_value_problem(BROKER_F_RESOURCE, GRAPH));
    assert_null(broker_value_problem(BROKER_F_SCOPE, "openid profile"));
    assert_null(broker_value_problem(BROKER_F_CLIENT_ID, W365));
    assert_null(broker_value_problem(BROKER_F_CLIENT_ID, "A4A365DF-50F1-4397-BC59-1A1564B8BB9C"));
    assert_string_equal(broker_value_problem(BROKER_F_RESOURCE, NULL), "missing");
    assert_string_equal(broker_value_problem(BROKER_F_CLIENT_ID, "{" W365 "}"),
                        "a GUID (8-4-4-4-12 hexadecimal digits)");
    assert_string_equal(broker_value_problem(BROKER_F_CLIENT_ID, W365 "0"),
                        "a GUID (8-4-4-4-12 hexadecimal digits)");
    assert_string_equal(broker_value_problem(BROKER_F_REDIRECT_URI, "x\x7f"),
                        "1 to 512 printable ASCII characters without spaces");
    assert_string_equal(broker_field_name(BROKER_F_REDIRECT_URI), "redirect_uri");
}

static void
test_request_json_round_trip(void **state)
{
    struct broker_req r;
    char problem[160];
    char *line = NULL;

    (void)state;
    assert_int_equal(broker_req_json(NULL, "a \"b\"", W365, NULL, &line), LJ_OK);
    assert_string_equal(line, "{\"scope\":\"a \\\"b\\\"\",\"client_id\":\"" W365 "\"}");
    assert_int_equal(broker_req_parse(line, strlen(line), &r, problem, sizeof(problem)), LJ_OK);
    assert_string_equal(r.scope, "a \"b\"");
    free(line);
}

static void
test_error_answer(void **state)
{
    struct broker_answer a;
    char *line = NULL;

    (void)state;
    assert_int_equal(broker_error_json("not_allowed", "uid 7 is \"not\"", 1, &line), LJ_OK);
    assert_string_equal(line, "{\"error\":\"not_allowed\",\"message\":\"uid 7 is \\\"not\\\"\","
                              "\"exit\":1}");
    assert_int_equal(broker_answer_parse(line, strlen(line), &a), LJ_OK);
    assert_false(a.token);
    assert_string_equal(a.error, "not_allowed");
    assert_string_equal(a.message, "uid 7 is \"not\"");
    assert_int_equal(a.exit_code, 1);
    free(line);
}

static void
test_answer_parse(void **state)
{
    static const char tok[] = "{\"token_type\":\"Bearer\",\"access_token\":\"eyJ.x.y\","
                              "\"expires_in\":3599,\"resource\":\"x\",\"client_id\":\"c\"}";
    static const char *const bad[] = {
        "",
        "{}",
        "{\"access_token\":\"x\"}",                     /* no token_type */
        "{\"error\":\"Bad-Slug\",\"message\":\"m\"}",   /* not [a-z_] */
        "{\"error\":\"x\"}",                            /* no message */
        "{\"error\":5,\"message\":\"m\"}",              /* not a string */
        "{\"error\":\"x\",\"message\":\"m\"} trailing", /* not one value */
        "{\"error\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"message\":\"m\"}",
    };
    struct broker_answer a;
    const char *ctl = "{\"error\":\"x\",\"message\":\"a\\nb\",\"exit\":7}";
    const char *wild = "{\"error\":\"x\",\"message\":\"m\",\"exit\":300}";

    (void)state;
    assert_int_equal(broker_answer_parse(tok, strlen(tok), &a), LJ_OK);
    assert_true(a.token);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(broker_answer_parse(bad[i], strlen(bad[i]), &a), LJ_ERR_PARSE);
    /* control characters in the message do not reach the terminal; exit kept */
    assert_int_equal(broker_answer_parse(ctl, strlen(ctl), &a), LJ_OK);
    assert_string_equal(a.message, "a b");
    assert_int_equal(a.exit_code, 7);
    /* an exit code out of range is read as 1 */
    assert_int_equal(broker_answer_parse(wild, strlen(wild), &a), LJ_OK);
    assert_int_equal(a.exit_code, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_resource),
        cmocka_unit_test(test_request_all_fields),
        cmocka_unit_test(test_request_refusals),
        cmocka_unit_test(test_request_nul_byte),
        cmocka_unit_test(test_request_sizes),
        cmocka_unit_test(test_value_rules),
        cmocka_unit_test(test_request_json_round_trip),
        cmocka_unit_test(test_error_answer),
        cmocka_unit_test(test_answer_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
