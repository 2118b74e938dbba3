/*
 * test_elapsed.c — platform/common/elapsed.c: the one monotonic clock.
 * No sleeps are timed against a bound: only order and arithmetic are checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "platform/common/elapsed.h"

static void
test_between(void **state)
{
    struct timespec a = {.tv_sec = 10, .tv_nsec = 900000000};
    struct timespec b = {.tv_sec = 12, .tv_nsec = 100000000};
    (void)state;
    assert_int_equal(lj_ms_between(&a, &b), 1200);
    assert_int_equal(lj_ms_between(&b, &a), -1200);
    assert_int_equal(lj_ms_between(&a, &a), 0);
}

static void
test_monotonic(void **state)
{
    struct timespec t0;
    long long m0 = lj_mono_ms(), m1;
    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    m1 = lj_mono_ms();
    assert_true(m1 >= m0);
    assert_true(lj_elapsed_ms(&t0) >= 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_between),
        cmocka_unit_test(test_monotonic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
