/* Unit tests for tpm/pem.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tpm/pem.h"

static void
test_short(void **state)
{
    char *p;

    (void)state;
    p = tpm_pem_encode("CERTIFICATE REQUEST", (const unsigned char *)"foo", 3);
    assert_non_null(p);
    assert_string_equal(p, "-----BEGIN CERTIFICATE REQUEST-----\nZm9v\n"
                           "-----END CERTIFICATE REQUEST-----\n");
    free(p);
}

/* 48 bytes = exactly one 64-character line; 49 bytes wrap onto a second. */
static void
test_line_wrap(void **state)
{
    unsigned char der[49];
    char *p, *line2;

    (void)state;
    memset(der, 0, sizeof(der));
    p = tpm_pem_encode("X", der, 48);
    assert_non_null(p);
    assert_string_equal(p, "-----BEGIN X-----\n"
                           "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
                           "-----END X-----\n");
    free(p);
    p = tpm_pem_encode("X", der, 49);
    assert_non_null(p);
    line2 = strchr(strchr(p, '\n') + 1, '\n') + 1;
    assert_int_equal(line2 - p, (long)strlen("-----BEGIN X-----\n") + 65);
    assert_memory_equal(line2, "AA==\n-----END X-----\n", 21);
    free(p);
}

static void
test_rejects(void **state)
{
    char label[80];

    (void)state;
    assert_null(tpm_pem_encode("", (const unsigned char *)"a", 1));
    assert_null(tpm_pem_encode(NULL, (const unsigned char *)"a", 1));
    memset(label, 'A', sizeof(label) - 1);
    label[sizeof(label) - 1] = '\0';
    assert_null(tpm_pem_encode(label, (const unsigned char *)"a", 1));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short),
        cmocka_unit_test(test_line_wrap),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests_name("pem", tests, NULL, NULL);
}
