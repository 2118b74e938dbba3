/* Unit tests for agent/core/json.c: limits, malformed input, typed getters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/core/json.h"

static cJSON *
parse_ok(const char *s)
{
    cJSON *root = NULL;
    assert_int_equal(lj_json_parse(s, strlen(s), 0, &root), LJ_OK);
    assert_non_null(root);
    return root;
}

static void
test_parse_ok_without_nul(void **state)
{
    const char text[] = "{\"a\":1}GARBAGE";
    cJSON *root = NULL;
    (void)state;
    /* Only the first 7 bytes are the document. */
    assert_int_equal(lj_json_parse(text, 7, 2, &root), LJ_OK);
    cJSON_Delete(root);
    assert_int_equal(lj_json_parse(text, sizeof(text) - 1, 2, &root), LJ_ERR_PARSE);
    assert_string_equal(lj_json_problem(), "trailing data at byte 7");
}

static void
test_malformed(void **state)
{
    static const char *const bad[] = {"", "{", "{\"a\":}", "[1,2", "nul", "{\"a\":1,}", "\"x"};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *root = (cJSON *)0x1;
        assert_int_equal(lj_json_parse(bad[i], strlen(bad[i]), 0, &root), LJ_ERR_PARSE);
        assert_ptr_equal(root, (cJSON *)0x1);
        assert_true(lj_json_problem()[0] != '\0');
    }
}

static void
test_nul_byte(void **state)
{
    const char text[] = "{\"a\":\"x\0y\"}";
    cJSON *root = NULL;
    (void)state;
    assert_int_equal(lj_json_parse(text, sizeof(text) - 1, 0, &root), LJ_ERR_PARSE);
    assert_string_equal(lj_json_problem(), "NUL byte in document");
}

static void
test_depth_limit(void **state)
{
    char deep[2100];
    cJSON *root = NULL;
    size_t n = 0;
    (void)state;
    for (int i = 0; i < 1000; i++)
        deep[n++] = '[';
    for (int i = 0; i < 1000; i++)
        deep[n++] = ']';
    assert_int_equal(lj_json_parse(deep, n, 0, &root), LJ_ERR_TOO_BIG);
    assert_string_equal(lj_json_problem(), "nesting deeper than 16");
    /* Brackets inside strings don't count. */
    root = parse_ok("{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"{{{{{{{{{{{{{{{{{{{{\"}");
    cJSON_Delete(root);
    assert_int_equal(lj_json_parse("{\"a\":{\"b\":{}}}", 14, 2, &root), LJ_ERR_TOO_BIG);
    assert_int_equal(lj_json_parse("{\"a\":{\"b\":{}}}", 14, 3, &root), LJ_OK);
    cJSON_Delete(root);
}

static void
test_size_limit(void **state)
{
    size_t n = LJ_JSON_MAX_BYTES + 1;
    char *big = malloc(n);
    cJSON *root = NULL;
    (void)state;
    memset(big, ' ', n);
    big[0] = '1';
    assert_int_equal(lj_json_parse(big, n, 0, &root), LJ_ERR_TOO_BIG);
    assert_int_equal(lj_json_parse(big, n - 1, 0, &root), LJ_OK);
    cJSON_Delete(root);
    free(big);
}

static void
test_getters(void **state)
{
    cJSON *root = parse_ok("{\"s\":\"str\",\"i\":42,\"neg\":-7,\"f\":1.5,\"b\":true,"
                           "\"o\":{\"x\":1},\"a\":[1,2],\"n\":null,\"Big\":1e300}");
    const char *s = NULL;
    long long i = 0;
    bool b = false;
    const cJSON *o = NULL;
    char buf[4];
    (void)state;

    assert_int_equal(lj_json_get_string(root, "s", &s), LJ_OK);
    assert_string_equal(s, "str");
    assert_int_equal(lj_json_get_int(root, "i", &i), LJ_OK);
    assert_int_equal(i, 42);
    assert_int_equal(lj_json_get_int(root, "neg", &i), LJ_OK);
    assert_int_equal(i, -7);
    assert_int_equal(lj_json_get_bool(root, "b", &b), LJ_OK);
    assert_true(b);
    assert_int_equal(lj_json_get_object(root, "o", &o), LJ_OK);
    assert_int_equal(lj_json_get_int(o, "x", &i), LJ_OK);
    assert_int_equal(lj_json_get_array(root, "a", &o), LJ_OK);
    assert_int_equal(cJSON_GetArraySize(o), 2);
    assert_int_equal(lj_json_copy_string(root, "s", buf, sizeof(buf)), LJ_OK);
    assert_string_equal(buf, "str");

    /* Missing fields name the field. */
    assert_int_equal(lj_json_get_string(root, "DeviceId", &s), LJ_ERR_NOT_FOUND);
    assert_string_equal(lj_json_problem(), "missing field 'DeviceId'");
    assert_int_equal(lj_json_get_string(root, "n", &s), LJ_ERR_NOT_FOUND);
    assert_string_equal(lj_json_problem(), "missing field 'n'");
    assert_int_equal(lj_json_get_string(root, "S", &s), LJ_ERR_NOT_FOUND); /* case-sensitive */

    /* Wrong types name the field and the type. */
    assert_int_equal(lj_json_get_string(root, "i", &s), LJ_ERR_PARSE);
    assert_string_equal(lj_json_problem(), "field 'i' is not a string");
    assert_int_equal(lj_json_get_int(root, "f", &i), LJ_ERR_PARSE);
    assert_string_equal(lj_json_problem(), "field 'f' is not an integer");
    assert_int_equal(lj_json_get_int(root, "Big", &i), LJ_ERR_PARSE);
    assert_int_equal(lj_json_get_int(root, "s", &i), LJ_ERR_PARSE);
    assert_int_equal(lj_json_get_bool(root, "i", &b), LJ_ERR_PARSE);
    assert_string_equal(lj_json_problem(), "field 'i' is not a boolean");
    assert_int_equal(lj_json_get_object(root, "a", &o), LJ_ERR_PARSE);
    assert_string_equal(lj_json_problem(), "field 'a' is not an object");
    assert_int_equal(lj_json_get_array(root, "o", &o), LJ_ERR_PARSE);
    assert_string_equal(lj_json_problem(), "field 'o' is not an array");

    /* Optional strings. */
    s = "unchanged";
    assert_int_equal(lj_json_get_string_opt(root, "absent", &s), LJ_OK);
    assert_null(s);
    assert_int_equal(lj_json_get_string_opt(root, "i", &s), LJ_ERR_PARSE);

    /* Bounded copy. */
    cJSON_Delete(root);
    root = parse_ok("{\"long\":\"abcd\"}");
    assert_int_equal(lj_json_copy_string(root, "long", buf, sizeof(buf)), LJ_ERR_TOO_BIG);
    assert_string_equal(lj_json_problem(), "field 'long' is longer than 3 bytes");

    /* Getters on a non-object. */
    assert_int_equal(lj_json_get_string(cJSON_GetObjectItem(root, "long"), "x", &s),
                     LJ_ERR_NOT_FOUND);
    cJSON_Delete(root);
}

static void
test_print(void **state)
{
    cJSON *root = parse_ok(" { \"a\" : [ 1 , \"x\" ] } ");
    char *s = lj_json_print(root);
    (void)state;
    assert_string_equal(s, "{\"a\":[1,\"x\"]}");
    free(s);
    cJSON_Delete(root);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok_without_nul),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_print),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
