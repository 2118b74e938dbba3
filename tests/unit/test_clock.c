/* Unit tests for platform/clock.c: override, parse, format, plausibility. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "platform/clock.h"

static void
test_parse_format(void **state)
{
    int64_t t = 0;
    char buf[32];
    (void)state;
    assert_true(lj_clock_parse("1700000000", &t));
    assert_int_equal(t, 1700000000);
    assert_true(lj_clock_parse("2030-01-02T03:04:05Z", &t));
    lj_clock_format(t, buf, sizeof(buf));
    assert_string_equal(buf, "2030-01-02T03:04:05Z");
    assert_false(lj_clock_parse("2030-01-02T03:04:05+01:00", &t));
    assert_false(lj_clock_parse("soon", &t));
    assert_false(lj_clock_parse("-5", &t));
    assert_false(lj_clock_parse("", &t));
}

static void
test_override(void **state)
{
    (void)state;
    setenv("LJ_TEST_NOW", "2030-01-02T03:04:05Z", 1);
#ifdef LJ_TEST_HOOKS
    assert_int_equal(lj_clock_now(), 1893553445);
    assert_true(lj_clock_overridden());
#else
    assert_false(lj_clock_overridden());
#endif
    setenv("LJ_TEST_NOW", "garbage", 1);
    assert_true(lj_clock_now() - (int64_t)time(NULL) <= 1);
    assert_false(lj_clock_overridden());
    unsetenv("LJ_TEST_NOW");
    assert_true(lj_clock_now() - (int64_t)time(NULL) <= 1);
}

static void
test_plausibility(void **state)
{
    int64_t b = lj_clock_build_time();
    char why[160];
    (void)state;
    assert_true(b > 1700000000); /* built after Nov 2023 */
    assert_int_equal(b % 86400, 0);
    assert_int_equal(lj_clock_check(b, why, sizeof(why)), LJ_OK);
    assert_int_equal(lj_clock_check(b + 5LL * 365 * 86400, why, sizeof(why)), LJ_OK);
    assert_int_equal(lj_clock_check(b - 2 * 86400, why, sizeof(why)), LJ_ERR_STATE);
    assert_non_null(strstr(why, "before this software's build date"));
    /* the device's own time, for the person and the admin */
    assert_int_equal(lj_clock_check(978307200, why, sizeof(why)), LJ_ERR_STATE);
    assert_non_null(strstr(why, "the clock says 2001-01-01T00:00:00Z, before"));
    assert_int_equal(lj_clock_check(0, why, sizeof(why)), LJ_ERR_STATE);
    assert_int_equal(lj_clock_check(b + 40LL * 366 * 86400, why, sizeof(why)), LJ_ERR_STATE);
    assert_non_null(strstr(why, "more than 30 years after"));
    assert_int_equal(lj_clock_check((int64_t)time(NULL), NULL, 0), LJ_OK);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format),
        cmocka_unit_test(test_override),
        cmocka_unit_test(test_plausibility),
    };
    return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
