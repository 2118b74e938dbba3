/* Unit tests for `linkjoin csr` option parsing (agent/cli/cmd_csr.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/cli/cmd_csr.h"
#include "agent/core/exitcodes.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

static void
test_defaults(void **state)
{
    char *argv[] = {"csr", NULL};
    struct cmd_csr_opts o;

    (void)state;
    assert_int_equal(cmd_csr_parse(ARGC(argv), argv, &o), 0);
    assert_string_equal(o.state_dir, CMD_CSR_DEFAULT_STATE_DIR);
    assert_string_equal(o.tcti, "device:/dev/tpmrm0");
    assert_int_equal(o.provider, TPM_PROVIDER_TPM); /* soft never by default */
    assert_false(o.transport_blob);
    assert_false(o.help);
}

static void
test_all_options(void **state)
{
    char *argv[] = {"csr",
                    "--state-dir",
                    "/tmp/x",
                    "--tcti=swtpm:host=127.0.0.1,port=2321",
                    "--key-provider",
                    "soft",
                    "--transport-key-blob",
                    "--log-level",
                    "debug",
                    NULL};
    struct cmd_csr_opts o;

    (void)state;
    assert_int_equal(cmd_csr_parse(ARGC(argv), argv, &o), 0);
    assert_string_equal(o.state_dir, "/tmp/x");
    assert_string_equal(o.tcti, "swtpm:host=127.0.0.1,port=2321");
    assert_int_equal(o.provider, TPM_PROVIDER_SOFT);
    assert_true(o.transport_blob);
    assert_string_equal(o.log_level, "debug");
}

/* The test hook's OAEP hash: SHA-256 unless =sha1 is named; anything else refused. */
static void
test_test_decrypt_hash(void **state)
{
    char *a1[] = {"csr", "--test-decrypt", NULL};
    char *a2[] = {"csr", "--test-decrypt=sha1", NULL};
    char *a3[] = {"csr", "--test-decrypt=sha256", NULL};
    char *a4[] = {"csr", "--test-decrypt=md5", NULL};
    struct cmd_csr_opts o;

    (void)state;
    assert_int_equal(cmd_csr_parse(ARGC(a1), a1, &o), 0);
    assert_true(o.test_decrypt);
    assert_int_equal(o.test_decrypt_hash, TPM_OAEP_SHA256);
    assert_int_equal(cmd_csr_parse(ARGC(a2), a2, &o), 0);
    assert_int_equal(o.test_decrypt_hash, TPM_OAEP_SHA1);
    assert_int_equal(cmd_csr_parse(ARGC(a3), a3, &o), 0);
    assert_int_equal(o.test_decrypt_hash, TPM_OAEP_SHA256);
    assert_int_equal(cmd_csr_parse(ARGC(a4), a4, &o), LJ_EXIT_USAGE);
}

static void
test_usage_errors(void **state)
{
    char *a1[] = {"csr", "--nope", NULL};
    char *a2[] = {"csr", "--state-dir", NULL};
    char *a3[] = {"csr", "--key-provider", "hsm", NULL};
    char *a4[] = {"csr", "stray", NULL};
    char *a5[] = {"csr", "--state-dir", "", NULL};
    char *a6[] = {"csr", "--log-level", "loud", NULL};
    char *a7[] = {"csr", "--transport-key-blob", "--test-decrypt", NULL};
    struct cmd_csr_opts o;

    (void)state;
    assert_int_equal(cmd_csr_parse(ARGC(a1), a1, &o), LJ_EXIT_USAGE);
    assert_int_equal(cmd_csr_parse(ARGC(a2), a2, &o), LJ_EXIT_USAGE);
    assert_int_equal(cmd_csr_parse(ARGC(a3), a3, &o), LJ_EXIT_USAGE);
    assert_int_equal(cmd_csr_parse(ARGC(a4), a4, &o), LJ_EXIT_USAGE);
    assert_int_equal(cmd_csr_parse(ARGC(a5), a5, &o), LJ_EXIT_USAGE);
    assert_int_equal(cmd_csr_parse(ARGC(a6), a6, &o), LJ_EXIT_USAGE);
    assert_int_equal(cmd_csr_parse(ARGC(a7), a7, &o), LJ_EXIT_USAGE);
}

static void
test_help(void **state)
{
    char *argv[] = {"csr", "-h", NULL};
    struct cmd_csr_opts o;

    (void)state;
    assert_int_equal(cmd_csr_parse(ARGC(argv), argv, &o), 0);
    assert_true(o.help);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_all_options),
        cmocka_unit_test(test_test_decrypt_hash),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests_name("cmd_csr", tests, NULL, NULL);
}
