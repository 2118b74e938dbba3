/*
 * Unit tests for agent/cli/exit.c: every lj_rc exits with its taxonomy
 * row's code (the same `run` gives), and the sentence a command prints;
 * and for the exit status table of agent/core/exitcodes.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/cli/exit.h"
#include "agent/core/errors.h"
#include "agent/core/exitcodes.h"
#include "platform/common/log.h"
#include "platform/common/result.h"

/* The decisions the three commands used to make apart, now one. */
static void
test_exit_codes(void **state)
{
    static const struct {
        enum lj_rc rc;
        int want;
    } cases[] = {
        {LJ_OK, LJ_EXIT_OK},
        {LJ_ERR_TPM_UNREACHABLE, LJ_EXIT_TPM},
        {LJ_ERR_TPM_LOCKOUT, LJ_EXIT_TPM},
        {LJ_ERR_TPM_OBJECT_MEMORY, LJ_EXIT_TPM},
        {LJ_ERR_TPM, LJ_EXIT_TPM},
        {LJ_ERR_TPM_WRONG_TPM, LJ_EXIT_STATE},
        {LJ_ERR_KEYS_CORRUPT, LJ_EXIT_STATE},
        {LJ_ERR_TPM_KEYS_LOST, LJ_EXIT_STATE},     /* csr/tpm gave 1 before */
        {LJ_ERR_STATE, LJ_EXIT_STATE},             /* run gave 1 before */
        {LJ_ERR_KEY_SCHEME, LJ_EXIT_STATE},        /* leave with an old-template key gave 1 */
        {LJ_ERR_SIG_UNSUPPORTED, LJ_EXIT_NETWORK}, /* a SHA-1-only server at leave gave 1 */
        {LJ_ERR_NET_CONNECT, LJ_EXIT_NETWORK},
        {LJ_ERR_TLS_UNTRUSTED, LJ_EXIT_NETWORK},
        {LJ_ERR_PARSE, LJ_EXIT_SERVICE},
        {LJ_ERR_CANCELLED, LJ_EXIT_CANCELLED},
        {LJ_ERR_NOMEM, LJ_EXIT_FAILURE},
        {LJ_ERR_NOT_FOUND, LJ_EXIT_FAILURE},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (lj_cli_exit_for(cases[i].rc) != cases[i].want)
            fail_msg("%s: exit %d, expected %d", lj_rc_name(cases[i].rc),
                     lj_cli_exit_for(cases[i].rc), cases[i].want);
    }
}

/* For every rc: the exit code is the classified row's, whatever the enum order. */
static void
test_every_rc_through_table(void **state)
{
    struct lj_classified c;

    (void)state;
    for (int rc = 1; rc < LJ_RC_COUNT__; rc++) {
        lj_classify_rc((enum lj_rc)rc, &c);
        assert_non_null(lj_reason_get(c.reason));
        assert_int_equal(lj_cli_exit_for((enum lj_rc)rc), lj_reason_get(c.reason)->exit_code);
    }
    assert_int_equal(lj_cli_exit_for((enum lj_rc)1000), LJ_EXIT_FAILURE);
}

static char *
say(enum lj_rc rc, const struct lj_error_params *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    lj_cli_say(f, "csr", rc, p);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void
test_say(void **state)
{
    struct lj_error_params p = {.host = "login.example", .what = "its name did not resolve"};
    char *s;

    (void)state;
    lj_err_clear();
    lj_log_set_quiet(true);
    lj_err_set(LJ_ERR_STATE, "test", "event=secret_detail");
    s = say(LJ_ERR_STATE, NULL);
    assert_non_null(strstr(s, "(reason tpm_keys_lost, code 0x80090016)\nlinkjoin csr: admin "
                              "action: Reset the device to factory settings"));
    free(s);
    /* the log detail only at debug */
    lj_log_set_level(LJ_LOG_DEBUG);
    s = say(LJ_ERR_STATE, NULL);
    assert_non_null(strstr(s, "linkjoin csr: detail: event=secret_detail\n"));
    free(s);
    lj_log_set_level(LJ_LOG_WARN);
    s = say(LJ_ERR_NET_DNS, &p);
    assert_non_null(strstr(s, "admin action: The device could not reach login.example because its "
                              "name did not resolve"));
    assert_non_null(strstr(s, "(reason network_unreachable, code 0x80072ee7)"));
    free(s);
    /* the device key of the RSASSA-only template asked for RSA-PSS: its own row, the
       template and the way out named, the host filled in */
    p.host = "enterpriseregistration.windows.net";
    s = say(LJ_ERR_KEY_SCHEME, &p);
    assert_non_null(strstr(s, "linkjoin csr: This device's security key was made by an older "
                              "version of the setup program"));
    assert_non_null(strstr(s, "(reason device_key_outdated, code 0x80280092)\n"));
    assert_non_null(strstr(s, "admin action: The device key was made with the RSASSA-only key "
                              "template of earlier linkjoin versions (TPM key scheme "
                              "RSASSA-SHA256, not NULL), and enterpriseregistration.windows.net "
                              "asks in the TLS handshake for a signature that key cannot make "
                              "(RSA-PSS, or a hash other than SHA-256)"));
    assert_null(strstr(s, "internal"));
    free(s);
    /* a server that asks for a signature the device key does not make: its own row */
    s = say(LJ_ERR_SIG_UNSUPPORTED, &p);
    assert_non_null(strstr(s, "linkjoin csr: The device could not prove its identity to "
                              "Microsoft's service"));
    assert_non_null(strstr(s, "(reason tls_signature_unsupported, code 0x80090331)\n"));
    assert_non_null(strstr(s, "admin action: enterpriseregistration.windows.net asked the device "
                              "for a TLS client signature algorithm its key does not make"));
    assert_null(strstr(s, "internal"));
    free(s);
    s = say(LJ_OK, NULL);
    assert_true(s == NULL || s[0] == '\0');
    free(s);
    lj_err_clear();
}

/* Every enum lj_exit value has its row, in order, short enough for --help. */
static void
test_exit_table_complete(void **state)
{
    char *md = NULL;

    (void)state;
    for (int code = 0; code < LJ_EXIT_COUNT__; code++) {
        const struct lj_exit_info *e = lj_exit_get(code);

        assert_non_null(e);
        assert_int_equal(e->code, code);
        assert_true(e->meaning[0] != '\0' && strchr(e->meaning, '|') == NULL);
        assert_true(e->brief[0] != '\0' && strlen(e->brief) <= 40);
    }
    assert_null(lj_exit_get(-1));
    assert_null(lj_exit_get(LJ_EXIT_COUNT__));
    assert_int_equal(lj_exit_markdown(&md), LJ_OK);
    assert_non_null(strstr(md, "| code | meaning |\n|---|---|\n| 0 | ok: "));
    assert_non_null(strstr(md, "\n| 13 | local state unusable ("));
    free(md);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_every_rc_through_table),
        cmocka_unit_test(test_say),
        cmocka_unit_test(test_exit_table_complete),
    };
    return cmocka_run_group_tests_name("cli_exit", tests, NULL, NULL);
}
