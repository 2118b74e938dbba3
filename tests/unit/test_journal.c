/* Unit tests for agent/state/journal.c: round trip, modes, and every kind of bad journal. */
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

#include "agent/state/journal.h"
#include "platform/common/fsutil.h"
#include "tests/unit/testutil.h"

static char *base;
static char dir[128];
static char jpath[192];

static const char fp[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static int
setup(void **state)
{
    (void)state;
    base = lj_test_tmpdir();
    if (base == NULL)
        return -1;
    snprintf(dir, sizeof(dir), "%s/state", base);
    snprintf(jpath, sizeof(jpath), "%s/journal.json", dir);
    setenv("LJ_TEST_NOW", "1764177000", 1);
    return 0;
}

static int
teardown(void **state)
{
    int rc;
    (void)state;
    unsetenv("LJ_TEST_NOW");
    rc = lj_test_rmdir(base);
    free(base);
    base = NULL;
    return rc;
}

static void
write_raw(const char *text, size_t len)
{
    assert_int_equal(lj_fs_mkdir_private(dir), LJ_OK);
    assert_int_equal(lj_fs_write_atomic(jpath, text, len, 0600), LJ_OK);
}

static int
mode_of(const char *p)
{
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return (int)(st.st_mode & 07777);
}

static void
fill(struct lj_journal *j)
{
    struct lj_error_record e;
    lj_journal_init(j);
    lj_journal_set_state(j, LJ_JS_KEYS_READY);
    lj_journal_set_state(j, LJ_JS_SIGNED_IN);
    lj_journal_set_state(j, LJ_JS_JOIN_SENT);
    lj_journal_set_state(j, LJ_JS_JOINED);
    snprintf(j->device_id, sizeof(j->device_id), "4fd0b0b4-8e0e-4b4a-9a0b-1c2d3e4f5a6b");
    snprintf(j->tenant_id, sizeof(j->tenant_id), "72f988bf-86f1-41af-91ab-2d7cd011db47");
    snprintf(j->tenant_name, sizeof(j->tenant_name), "Contoso \"Ltd\"");
    snprintf(j->upn, sizeof(j->upn), "alice@contoso.example");
    snprintf(j->cert_thumbprint, sizeof(j->cert_thumbprint),
             "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3");
    snprintf(j->join_fingerprint, sizeof(j->join_fingerprint), "%s", fp);
    snprintf(j->join_request_id, sizeof(j->join_request_id),
             "11111111-2222-4333-8444-555555555555");
    j->join_attempts = 2;
    lj_journal_set_state(j, LJ_JS_MDM_PENDING);
    snprintf(j->mdm_enrollment_id, sizeof(j->mdm_enrollment_id),
             "d7f62f51-be4b-494c-ae7c-ecef89074c76");
    snprintf(j->mdm_server_url, sizeof(j->mdm_server_url), "https://r.manage.microsoft.com/x?a=b");
    snprintf(j->mdm_cert_thumbprint, sizeof(j->mdm_cert_thumbprint),
             "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3");
    j->mdm_attempts = 3;
    j->prt_updated = 1764170000;
    j->prt_expires = 1765379600;
    memset(&e, 0, sizeof(e));
    snprintf(e.phase, sizeof(e.phase), "join");
    snprintf(e.reason, sizeof(e.reason), "service_unavailable");
    snprintf(e.code, sizeof(e.code), "0x801c0021");
    e.http_status = 503;
    snprintf(e.error_type, sizeof(e.error_type), "ServiceUnavailable");
    snprintf(e.message, sizeof(e.message), "try later");
    snprintf(e.request_id, sizeof(e.request_id), "req-1");
    snprintf(e.trace_id, sizeof(e.trace_id), "trace-1");
    snprintf(e.correlation_id, sizeof(e.correlation_id), "corr-1");
    snprintf(e.server_time, sizeof(e.server_time), "2026-11-26 17:10:00Z");
    snprintf(e.rc, sizeof(e.rc), "http_error");
    lj_journal_set_error(j, &e);
}

static void
test_missing_is_fresh(void **state)
{
    struct lj_journal j;
    struct lj_journal_report rep;
    (void)state;
    assert_int_equal(lj_journal_load(dir, &j, &rep), LJ_OK);
    assert_false(rep.moved_aside);
    assert_int_equal(j.state, LJ_JS_NEW);
    assert_int_equal(j.version, LJ_JOURNAL_VERSION);
    assert_int_equal(j.times[LJ_JS_NEW], 1764177000);
    assert_false(j.has_error);
}

/*
 * check_roundtrip — a record saved with `save` into a fresh state directory
 * is stamped, private (0700/0600) and loads back whole into *b.
 */
static void
check_roundtrip(enum lj_rc (*save)(const char *, struct lj_journal *), struct lj_journal *a,
                struct lj_journal *b)
{
    struct lj_journal_report rep;

    fill(a);
    assert_int_equal(save(dir, a), LJ_OK);
    assert_int_equal(a->updated, 1764177000);
    assert_int_equal(mode_of(dir), 0700);
    assert_int_equal(mode_of(jpath), 0600);
    assert_int_equal(lj_journal_load(dir, b, &rep), LJ_OK);
    assert_false(rep.moved_aside);
    assert_memory_equal(a, b, sizeof(*a));
}

static void
test_roundtrip_and_modes(void **state)
{
    struct lj_journal a, b;
    (void)state;
    check_roundtrip(lj_journal_save, &a, &b);
    assert_int_equal(b.last_error.time, 1764177000);
    assert_int_equal(b.last_error.http_status, 503);

    /* An existing looser directory is tightened on save. */
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(lj_journal_save(dir, &a), LJ_OK);
    assert_int_equal(mode_of(dir), 0700);
}

/* The volatile save (no fsync) writes the same record: it loads back whole. */
static void
test_volatile_roundtrip(void **state)
{
    struct lj_journal a, b;
    (void)state;
    check_roundtrip(lj_journal_save_volatile, &a, &b);
}

static void
test_exact_json(void **state)
{
    struct lj_journal j;
    char *s;
    (void)state;
    lj_journal_init(&j);
    lj_journal_set_state(&j, LJ_JS_KEYS_READY);
    s = lj_journal_to_json(&j);
    assert_string_equal(s, "{\"version\":1,\"state\":\"keys_ready\",\"join_attempts\":0,"
                           "\"times\":{\"new\":1764177000,\"keys_ready\":1764177000}}");
    free(s);
    lj_journal_clear_error(&j);
    assert_false(j.has_error);
    /* the PRT's times appear only once there is a PRT */
    j.prt_updated = 1764177000;
    j.prt_expires = 1765386600;
    s = lj_journal_to_json(&j);
    assert_non_null(strstr(s, "\"prt_updated\":1764177000,\"prt_expires\":1765386600,"));
    free(s);
}

static void
expect_moved_aside(const char *text, size_t len, const char *reason)
{
    struct lj_journal j;
    struct lj_journal_report rep;
    unsigned char *kept = NULL;
    size_t klen = 0;

    write_raw(text, len);
    assert_int_equal(lj_journal_load(dir, &j, &rep), LJ_OK);
    assert_true(rep.moved_aside);
    if (strstr(rep.reason, reason) == NULL)
        fail_msg("reason '%s' does not contain '%s'", rep.reason, reason);
    assert_int_equal(j.state, LJ_JS_NEW); /* fresh */
    assert_false(lj_fs_exists(jpath));
    /* Kept, byte for byte, never deleted. */
    assert_non_null(strstr(rep.aside_path, "/journal.json.bad-"));
    assert_int_equal(lj_fs_read(rep.aside_path, 1 << 20, &kept, &klen), LJ_OK);
    assert_int_equal(klen, len);
    assert_memory_equal(kept, text, len);
    free(kept);
    unlink(rep.aside_path);
}

static void
test_truncated(void **state)
{
    struct lj_journal a;
    char *s;
    (void)state;
    fill(&a);
    s = lj_journal_to_json(&a);
    expect_moved_aside(s, strlen(s) / 2, "truncated or malformed JSON");
    expect_moved_aside(s, 0, "truncated or malformed JSON");
    free(s);
}

static void
test_corrupt(void **state)
{
    static const char junk[] = "\x01\x02garbage{{{";
    (void)state;
    expect_moved_aside(junk, sizeof(junk) - 1, "truncated or malformed JSON");
    expect_moved_aside("[1,2,3]", sizeof("[1,2,3]") - 1, "not a JSON object");
    expect_moved_aside("{\"version\":1}", sizeof("{\"version\":1}") - 1,
                       "missing or unknown state");
    expect_moved_aside("{\"version\":1,\"state\":\"flying\"}",
                       sizeof("{\"version\":1,\"state\":\"flying\"}") - 1,
                       "missing or unknown state");
    expect_moved_aside("{\"state\":\"new\"}", sizeof("{\"state\":\"new\"}") - 1,
                       "no valid version");
    expect_moved_aside("{\"version\":0,\"state\":\"new\"}",
                       sizeof("{\"version\":0,\"state\":\"new\"}") - 1, "bad journal version 0");
    expect_moved_aside("{\"version\":1,\"state\":\"new\",\"upn\":5}",
                       sizeof("{\"version\":1,\"state\":\"new\",\"upn\":5}") - 1,
                       "field 'upn' is not a string");
    expect_moved_aside("{\"version\":1,\"state\":\"new\",\"times\":{\"new\":-1}}",
                       sizeof("{\"version\":1,\"state\":\"new\",\"times\":{\"new\":-1}}") - 1,
                       "field 'new' is out of range");
}

static void
test_newer_version(void **state)
{
    static const char v2[] = "{\"version\":2,\"state\":\"joined\",\"new_field\":{}}";
    (void)state;
    expect_moved_aside(
        v2, sizeof(v2) - 1,
        "written by a newer version of linkjoin (journal version 2, this build reads 1)");
}

static void
test_inconsistent_states(void **state)
{
    char t[300];
    (void)state;
    expect_moved_aside("{\"version\":1,\"state\":\"join_sent\"}",
                       sizeof("{\"version\":1,\"state\":\"join_sent\"}") - 1,
                       "state join_sent without a valid join_fingerprint");
    snprintf(t, sizeof(t), "{\"version\":1,\"state\":\"joined\",\"join_fingerprint\":\"%s\"}", fp);
    expect_moved_aside(t, strlen(t), "state joined without device_id and tenant_id");
}

static void
test_too_large(void **state)
{
    size_t n = LJ_JOURNAL_MAX_BYTES + 10;
    char *big = malloc(n);
    (void)state;
    memset(big, ' ', n);
    expect_moved_aside(big, n, "larger than 65536 bytes");
    free(big);
}

static void
test_unknown_members_ignored(void **state)
{
    static const char t[] = "{\"version\":1,\"state\":\"keys_ready\",\"future\":[1,{\"x\":2}]}";
    struct lj_journal j;
    struct lj_journal_report rep;
    (void)state;
    write_raw(t, sizeof(t) - 1);
    assert_int_equal(lj_journal_load(dir, &j, &rep), LJ_OK);
    assert_false(rep.moved_aside);
    assert_int_equal(j.state, LJ_JS_KEYS_READY);
}

static void
test_unreadable_is_error(void **state)
{
    struct lj_journal j;
    struct lj_journal_report rep;
    (void)state;
    assert_int_equal(lj_fs_mkdir_private(jpath), LJ_OK); /* a directory where the file should be */
    assert_int_equal(lj_journal_load(dir, &j, &rep), LJ_ERR_IO);
    rmdir(jpath);
}

static void
test_cert_file(void **state)
{
    unsigned char der[300], *back = NULL, *big;
    size_t len = 0;
    char p[256];
    (void)state;
    for (size_t i = 0; i < sizeof(der); i++)
        der[i] = (unsigned char)i;
    assert_int_equal(lj_journal_load_cert(dir, &back, &len), LJ_ERR_NOT_FOUND);
    assert_int_equal(lj_journal_save_cert(dir, der, sizeof(der)), LJ_OK);
    snprintf(p, sizeof(p), "%s/device-cert.der", dir);
    assert_int_equal(mode_of(p), 0600);
    assert_int_equal(mode_of(dir), 0700);
    assert_int_equal(lj_journal_load_cert(dir, &back, &len), LJ_OK);
    assert_int_equal(len, sizeof(der));
    assert_memory_equal(back, der, len);
    free(back);
    big = calloc(1, LJ_JOURNAL_MAX_CERT + 1);
    assert_int_equal(lj_journal_save_cert(dir, big, LJ_JOURNAL_MAX_CERT + 1), LJ_ERR_INVAL);
    assert_int_equal(lj_fs_write_atomic(p, big, LJ_JOURNAL_MAX_CERT + 1, 0600), LJ_OK);
    assert_int_equal(lj_journal_load_cert(dir, &back, &len), LJ_ERR_TOO_BIG);
    free(big);
    assert_int_equal(lj_journal_remove(dir), LJ_OK);
    assert_false(lj_fs_exists(p));
    assert_int_equal(lj_journal_remove(dir), LJ_OK);
}

static void
test_mdm_files(void **state)
{
    unsigned char cert[200], ca[100], root[120];
    const unsigned char *chain[2] = {ca, root};
    size_t chain_len[2] = {sizeof(ca), sizeof(root)};
    unsigned char *back = NULL;
    size_t len = 0;
    char p[256], q[256];
    (void)state;
    memset(cert, 0x30, sizeof(cert));
    memset(ca, 0x31, sizeof(ca));
    memset(root, 0x32, sizeof(root));
    assert_int_equal(lj_journal_save_mdm(dir, cert, sizeof(cert), chain, chain_len, 2), LJ_OK);
    snprintf(p, sizeof(p), "%s/mdm-cert.der", dir);
    snprintf(q, sizeof(q), "%s/mdm-chain.pem", dir);
    assert_int_equal(mode_of(p), 0600);
    assert_int_equal(mode_of(q), 0600);
    assert_int_equal(lj_fs_read(p, 4096, &back, &len), LJ_OK);
    assert_int_equal(len, sizeof(cert));
    free(back);
    assert_int_equal(lj_fs_read(q, 4096, &back, &len), LJ_OK);
    assert_non_null(strstr((char *)back, "-----BEGIN CERTIFICATE-----\n"));
    assert_non_null(strstr(strstr((char *)back, "-----END CERTIFICATE-----\n") + 1,
                           "-----BEGIN CERTIFICATE-----\n"));
    free(back);
    assert_int_equal(lj_journal_save_mdm(dir, cert, 0, chain, chain_len, 2), LJ_ERR_INVAL);
    /* leave/reset removes them with the rest */
    assert_int_equal(lj_journal_remove(dir), LJ_OK);
    assert_false(lj_fs_exists(p));
    assert_false(lj_fs_exists(q));
    assert_int_equal(lj_journal_remove_mdm(dir), LJ_OK);
}

static void
test_state_names(void **state)
{
    enum lj_journal_state s;
    (void)state;
    for (int i = 0; i < LJ_JS_COUNT__; i++) {
        assert_true(lj_journal_state_parse(lj_journal_state_name((enum lj_journal_state)i), &s));
        assert_int_equal(s, i);
    }
    assert_string_equal(lj_journal_state_name(LJ_JS_MDM_PENDING), "mdm_pending");
    assert_false(lj_journal_state_parse("JOINED", &s));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_is_fresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_and_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volatile_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exact_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inconsistent_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_members_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_is_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mdm_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_names, setup, teardown),
    };
    return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
