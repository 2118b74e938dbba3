/*
 * Unit tests for platform/common/log.c's target selection (stderr or syslog) and
 * agent/cli/cli_log.c's global --log-target option.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/cli/cli_log.h"
#include "agent/core/config.h"
#include "agent/core/exitcodes.h"
#include "platform/common/log.h"

/* A temp file and its "DEV:INO" as systemd writes JOURNAL_STREAM. */
struct tmpstream {
    char path[64];
    int fd;
    char js[64];
};

static void
tmpstream_open(struct tmpstream *t)
{
    struct stat st;

    snprintf(t->path, sizeof(t->path), "/tmp/lj-test-log.XXXXXX");
    t->fd = mkstemp(t->path);
    assert_true(t->fd >= 0);
    assert_int_equal(fstat(t->fd, &st), 0);
    snprintf(t->js, sizeof(t->js), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
}

static void
tmpstream_close(struct tmpstream *t)
{
    close(t->fd);
    unlink(t->path);
}

static void
test_parse_target(void **state)
{
    enum lj_log_target t = LJ_LOG_TARGET_AUTO;
    (void)state;
    assert_true(lj_log_parse_target("stderr", &t));
    assert_int_equal(t, LJ_LOG_TARGET_STDERR);
    assert_true(lj_log_parse_target("syslog", &t));
    assert_int_equal(t, LJ_LOG_TARGET_SYSLOG);
    assert_true(lj_log_parse_target("auto", &t));
    assert_int_equal(t, LJ_LOG_TARGET_AUTO);
    assert_false(lj_log_parse_target("journal", &t));
    assert_false(lj_log_parse_target("", &t));
    assert_false(lj_log_parse_target(NULL, &t));
}

static void
test_auto_journal_stream_matches(void **state)
{
    struct tmpstream a;
    (void)state;
    tmpstream_open(&a);
    assert_int_equal(lj_log_resolve_target(LJ_LOG_TARGET_AUTO, a.js, a.fd), LJ_LOG_TARGET_SYSLOG);
    tmpstream_close(&a);
}

static void
test_auto_journal_stream_other_file(void **state)
{
    /* Inherited JOURNAL_STREAM, but stderr was redirected: keep stderr. */
    struct tmpstream a, b;
    (void)state;
    tmpstream_open(&a);
    tmpstream_open(&b);
    assert_int_equal(lj_log_resolve_target(LJ_LOG_TARGET_AUTO, a.js, b.fd), LJ_LOG_TARGET_STDERR);
    tmpstream_close(&a);
    tmpstream_close(&b);
}

static void
test_auto_without_or_bad_journal_stream(void **state)
{
    struct tmpstream a;
    char js[80];
    (void)state;
    tmpstream_open(&a);
    assert_int_equal(lj_log_resolve_target(LJ_LOG_TARGET_AUTO, NULL, a.fd), LJ_LOG_TARGET_STDERR);
    assert_int_equal(lj_log_resolve_target(LJ_LOG_TARGET_AUTO, "", a.fd), LJ_LOG_TARGET_STDERR);
    assert_int_equal(lj_log_resolve_target(LJ_LOG_TARGET_AUTO, "12", a.fd), LJ_LOG_TARGET_STDERR);
    assert_int_equal(lj_log_resolve_target(LJ_LOG_TARGET_AUTO, "x:y", a.fd), LJ_LOG_TARGET_STDERR);
    snprintf(js, sizeof(js), "%s ", a.js); /* trailing junk */
    assert_int_equal(lj_log_resolve_target(LJ_LOG_TARGET_AUTO, js, a.fd), LJ_LOG_TARGET_STDERR);
    assert_int_equal(lj_log_resolve_target(LJ_LOG_TARGET_AUTO, a.js, -1), LJ_LOG_TARGET_STDERR);
    tmpstream_close(&a);
}

static void
test_explicit_target_wins(void **state)
{
    struct tmpstream a;
    (void)state;
    tmpstream_open(&a);
    assert_int_equal(lj_log_resolve_target(LJ_LOG_TARGET_STDERR, a.js, a.fd), LJ_LOG_TARGET_STDERR);
    assert_int_equal(lj_log_resolve_target(LJ_LOG_TARGET_SYSLOG, NULL, a.fd), LJ_LOG_TARGET_SYSLOG);
    tmpstream_close(&a);
}

/* With stderr on a file named by JOURNAL_STREAM, auto picks syslog; set back to stderr. */
static void
test_set_target_uses_env_and_fd2(void **state)
{
    struct tmpstream a;
    int saved = dup(STDERR_FILENO);
    char buf[512];
    ssize_t n;
    (void)state;
    tmpstream_open(&a);
    assert_true(saved >= 0);
    assert_true(dup2(a.fd, STDERR_FILENO) >= 0);
    setenv("JOURNAL_STREAM", a.js, 1);
    assert_int_equal(lj_log_set_target(LJ_LOG_TARGET_AUTO, "linkjoin-test"), LJ_LOG_TARGET_SYSLOG);
    unsetenv("JOURNAL_STREAM");
    assert_int_equal(lj_log_set_target(LJ_LOG_TARGET_AUTO, "linkjoin-test"), LJ_LOG_TARGET_STDERR);
    lj_log(LJ_LOG_ERROR, "test", "event=probe key=value");
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    n = pread(a.fd, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "level=error mod=test event=probe key=value\n"));
    tmpstream_close(&a);
}

static void
test_cli_strips_option(void **state)
{
    char *argv[] = {"linkjoin",          "--log-target", "stderr", "csr",
                    "--log-target=auto", "--help",       NULL};
    int argc = 6;
    (void)state;
    assert_int_equal(lj_cli_log_setup(&argc, argv, stderr), 0);
    assert_int_equal(argc, 3);
    assert_string_equal(argv[0], "linkjoin");
    assert_string_equal(argv[1], "csr");
    assert_string_equal(argv[2], "--help");
    assert_null(argv[3]);
}

static void
test_cli_stops_at_double_dash(void **state)
{
    char *argv[] = {"linkjoin", "run", "--", "--log-target", "syslog", NULL};
    int argc = 5;
    (void)state;
    assert_int_equal(lj_cli_log_setup(&argc, argv, stderr), 0);
    assert_int_equal(argc, 5);
    assert_string_equal(argv[3], "--log-target");
}

static void
test_cli_bad_value(void **state)
{
    char *argv[] = {"linkjoin", "--log-target", "journal", "csr", NULL};
    int argc = 4;
    FILE *err = tmpfile();
    char buf[256] = "";
    (void)state;
    assert_non_null(err);
    assert_int_equal(lj_cli_log_setup(&argc, argv, err), LJ_EXIT_USAGE);
    rewind(err);
    assert_non_null(fgets(buf, sizeof(buf), err));
    assert_string_equal(buf, "linkjoin: bad value 'journal' for option '--log-target' "
                             "(auto, stderr or syslog)\n");
    fclose(err);
}

static void
test_cli_missing_value(void **state)
{
    char *argv[] = {"linkjoin", "csr", "--log-target", NULL};
    int argc = 3;
    FILE *err = tmpfile();
    char buf[256] = "";
    (void)state;
    assert_non_null(err);
    assert_int_equal(lj_cli_log_setup(&argc, argv, err), LJ_EXIT_USAGE);
    rewind(err);
    assert_non_null(fgets(buf, sizeof(buf), err));
    assert_string_equal(buf, "linkjoin: option '--log-target' needs a value "
                             "(auto, stderr or syslog)\n");
    fclose(err);
}

/* log_level (flag or file) becomes the threshold for every command that reads config. */
static void
test_config_applies_log_level(void **state)
{
    struct lj_config cfg;
    char *argv[] = {"config", "--config", "/nonexistent-lj/x.conf", NULL};
    char *argv2[] = {"config", "--log-level", "debug", "--check", NULL};
    char *argv3[] = {"config", "--log-level", "error", NULL};
    char *rest[8];
    int nrest = 0;
    (void)state;
    lj_log_set_level(LJ_LOG_WARN);
    /* A failing configuration leaves the level alone. */
    assert_int_equal(lj_config_from_args(&cfg, 3, argv, &nrest, rest), LJ_ERR_CONFIG);
    assert_int_equal(lj_log_get_level(), LJ_LOG_WARN);
    assert_int_equal(lj_config_from_args(&cfg, 4, argv2, &nrest, rest), LJ_OK);
    assert_int_equal(lj_log_get_level(), LJ_LOG_DEBUG);
    assert_int_equal(nrest, 2);
    assert_string_equal(rest[1], "--check");
    assert_int_equal(lj_config_from_args(&cfg, 3, argv3, &nrest, rest), LJ_OK);
    assert_int_equal(lj_log_get_level(), LJ_LOG_ERROR);
    lj_log_set_level(LJ_LOG_WARN);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_target),
        cmocka_unit_test(test_auto_journal_stream_matches),
        cmocka_unit_test(test_auto_journal_stream_other_file),
        cmocka_unit_test(test_auto_without_or_bad_journal_stream),
        cmocka_unit_test(test_explicit_target_wins),
        cmocka_unit_test(test_set_target_uses_env_and_fd2),
        cmocka_unit_test(test_cli_strips_option),
        cmocka_unit_test(test_cli_stops_at_double_dash),
        cmocka_unit_test(test_cli_bad_value),
        cmocka_unit_test(test_cli_missing_value),
        cmocka_unit_test(test_config_applies_log_level),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
