/*
 * Unit tests for agent/state/recover.c with the software key provider (no TPM):
 * what the state directory proves decides resume / retry / keys lost, and
 * lj_fs_move_files_aside keeps every file.  The certificate and TPM-cleared
 * cases need a real TPM and DRS certificate: tests/integration/test_crash.sh
 * and test_tpm_faults.sh.
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

#include "agent/ui/messages.h"

#include "agent/core/config.h"
#include "agent/state/journal.h"
#include "agent/state/recover.h"
#include "platform/common/fsutil.h"
#include "tpm/tpm.h"
#include "tests/unit/testutil.h"

/* The UI shows the notice from the catalog (notice.recover_<action>): the same sentence. */
static void
assert_notice_in_catalog(const struct lj_recover_report *r)
{
    char id[64];

    snprintf(id, sizeof(id), "notice.recover_%s", lj_recover_action_name(r->action));
    assert_non_null(lj_msg_en(id));
    assert_string_equal(lj_msg_en(id), r->notice);
}

static char *dir;
static struct lj_config cfg;

static int
setup(void **state)
{
    (void)state;
    dir = lj_test_tmpdir();
    if (dir == NULL)
        return -1;
    lj_config_defaults(&cfg);
    snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", dir);
    cfg.key_provider = LJ_KEYS_SOFT;
    return 0;
}

static int
teardown(void **state)
{
    int rc;
    (void)state;
    rc = lj_test_rmdir(dir);
    free(dir);
    dir = NULL;
    return rc;
}

static void
make_keys(void)
{
    struct tpm_ctx *t = lj_test_soft_tpm(dir);

    assert_int_equal(tpm_keys_ensure(t, NULL), LJ_OK);
    tpm_close(t);
}

static void
test_fresh_device_nothing_to_say(void **state)
{
    struct lj_journal j;
    struct lj_recover_report r;
    (void)state;
    lj_journal_init(&j);
    assert_int_equal(lj_recover(&cfg, &j, &r), LJ_OK);
    assert_int_equal(r.action, LJ_RECOVER_NONE);
    assert_string_equal(r.notice, "");
}

static void
test_interrupted_resumes(void **state)
{
    struct lj_journal j;
    struct lj_recover_report r;
    (void)state;
    make_keys();
    assert_int_equal(lj_recover_keys_check(&cfg, NULL, NULL), LJ_OK);
    lj_journal_init(&j);
    lj_journal_set_state(&j, LJ_JS_JOIN_SENT);
    assert_int_equal(lj_recover(&cfg, &j, &r), LJ_OK);
    assert_int_equal(r.action, LJ_RECOVER_RESUME);
    assert_string_equal(r.notice, "Setup was interrupted earlier; continuing where it stopped");
    assert_notice_in_catalog(&r);
    assert_int_equal(j.state, LJ_JS_JOIN_SENT);
}

static void
test_failed_run_retries(void **state)
{
    struct lj_journal j;
    struct lj_recover_report r;
    struct lj_error_record e;
    (void)state;
    make_keys();
    lj_journal_init(&j);
    lj_journal_set_state(&j, LJ_JS_KEYS_READY);
    memset(&e, 0, sizeof(e));
    snprintf(e.reason, sizeof(e.reason), "service_unavailable");
    lj_journal_set_error(&j, &e);
    assert_int_equal(lj_recover(&cfg, &j, &r), LJ_OK);
    assert_int_equal(r.action, LJ_RECOVER_RETRY);
    /* the slug goes to the log (last_reason=), not to the person's screen */
    assert_string_equal(r.notice, "Setup stopped last time before it finished; trying again");
    assert_notice_in_catalog(&r);
}

/* The journal says keys exist but the key record is gone: everything moves aside. */
static void
test_keys_missing_moves_state_aside(void **state)
{
    struct lj_journal j;
    struct lj_recover_report r;
    char p[600];
    (void)state;
    lj_journal_init(&j);
    lj_journal_set_state(&j, LJ_JS_JOINED);
    snprintf(j.device_id, sizeof(j.device_id), "0a2c1b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
    assert_int_equal(lj_journal_save(dir, &j), LJ_OK);
    assert_int_equal(lj_journal_save_cert(dir, (const unsigned char *)"x", 1), LJ_OK);
    assert_int_equal(lj_recover_keys_check(&cfg, NULL, NULL), LJ_ERR_NOT_FOUND);
    assert_int_equal(lj_recover(&cfg, &j, &r), LJ_OK);
    assert_int_equal(r.action, LJ_RECOVER_KEYS_LOST);
    assert_int_equal(j.state, LJ_JS_NEW);
    assert_null(strstr(r.notice, r.aside_dir)); /* the path is in the log line */
    snprintf(p, sizeof(p), "%s/journal.json", r.aside_dir);
    assert_true(lj_fs_exists(p));
    snprintf(p, sizeof(p), "%s/device-cert.der", r.aside_dir);
    assert_true(lj_fs_exists(p));
    snprintf(p, sizeof(p), "%s/journal.json", dir);
    assert_false(lj_fs_exists(p));
}

/*
 * A key record of version 1 (older key templates) is recovered as lost
 * keys: status sees tpm_keys_lost, the run moves the state aside and
 * names the reason.
 */
static void
test_old_record_version_moves_state_aside(void **state)
{
    struct lj_journal j;
    struct lj_recover_report r;
    char p[600], text[2048];
    unsigned char *buf = NULL;
    size_t len = 0;
    int n;
    (void)state;
    make_keys();
    snprintf(p, sizeof(p), "%s/keys.rec", dir);
    assert_int_equal(lj_fs_read(p, 4096, &buf, &len), LJ_OK);
    assert_true(len > 23 && memcmp(buf, "format=linkjoin-keys-2\n", 23) == 0);
    n = snprintf(text, sizeof(text), "format=linkjoin-keys-1\n%.*s", (int)(len - 23),
                 (const char *)buf + 23);
    assert_true(n > 0 && (size_t)n < sizeof(text));
    assert_int_equal(lj_fs_write_atomic(p, text, (size_t)n, 0600), LJ_OK);
    free(buf);
    lj_journal_init(&j);
    lj_journal_set_state(&j, LJ_JS_JOINED);
    snprintf(j.device_id, sizeof(j.device_id), "0a2c1b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
    assert_int_equal(lj_journal_save(dir, &j), LJ_OK);
    assert_int_equal(lj_recover_keys_check(&cfg, NULL, NULL), LJ_ERR_TPM_KEYS_LOST);
    assert_int_equal(lj_recover(&cfg, &j, &r), LJ_OK);
    assert_int_equal(r.action, LJ_RECOVER_KEYS_LOST);
    assert_int_equal(j.state, LJ_JS_NEW);
    /* plain words: no path, slug or portal on the person's screen */
    assert_string_equal(r.notice, "The security keys from an earlier setup no longer work on this "
                                  "device, so it is being set up again as a new device");
    assert_notice_in_catalog(&r);
    snprintf(p, sizeof(p), "%s/keys.rec", r.aside_dir);
    assert_true(lj_fs_exists(p));
    snprintf(p, sizeof(p), "%s/soft-transport.der", r.aside_dir);
    assert_true(lj_fs_exists(p));
    snprintf(p, sizeof(p), "%s/keys.rec", dir);
    assert_false(lj_fs_exists(p));
    assert_false(tpm_keys_present(dir));
}

static void
test_move_files_aside_keeps_dirs(void **state)
{
    char sub[512], p[640];
    FILE *f;
    (void)state;
    snprintf(p, sizeof(p), "%s/a", dir);
    f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/d", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(lj_fs_move_files_aside(dir, "lost", sub, sizeof(sub)), LJ_OK);
    snprintf(p, sizeof(p), "%s/a", sub);
    assert_true(lj_fs_exists(p));
    snprintf(p, sizeof(p), "%s/d", dir);
    assert_true(lj_fs_exists(p));
    snprintf(p, sizeof(p), "%s/a", dir);
    assert_false(lj_fs_exists(p));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh_device_nothing_to_say, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_run_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_missing_moves_state_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_record_version_moves_state_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_move_files_aside_keeps_dirs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
