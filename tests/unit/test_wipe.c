/* Unit tests for agent/state/wipe.c: what a leave/reset removes, and what it leaves. */
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

#include "agent/state/wipe.h"
#include "platform/common/fsutil.h"
#include "tests/unit/testutil.h"

static char *dir;

static const char *const ours[] = {
    "journal.json",
    "device-cert.der",
    "joined",
    "mdm-pending",
    "refresh_token.sealed",
    "soft-seal.key",
    "prt_session.hkey",
    "keys.rec",
    "device.pub",
    "device.priv",
    "transport.pub",
    "transport.priv",
    "soft-device.der",
    "soft-transport.der",
    "mdm-state.json",
    "mdm-cert.der",
    "journal.json.bad-1764177000",
    "device.pub.bad-1764177000-1",
    "journal.json.tmp",
    "journal.json.tmp-a1B2c3",
};
static const char *const theirs[] = {"linkjoin.conf", "notes.txt", "Bad.Sealed", "Bad.Hkey"};

static void
touch(const char *name)
{
    char p[256];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs("x", f);
    fclose(f);
}

static bool
has(const char *name)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return lj_fs_exists(p);
}

static int
setup(void **state)
{
    (void)state;
    dir = lj_test_tmpdir();
    return dir != NULL ? 0 : -1;
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
test_wipes_ours_only(void **state)
{
    struct lj_wipe_report rep;
    char p[256];
    (void)state;

    for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
        touch(ours[i]);
    for (size_t i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++)
        touch(theirs[i]);
    snprintf(p, sizeof(p), "%s/mdm-dir", dir);
    assert_int_equal(mkdir(p, 0700), 0); /* directories are never removed */
    assert_true(lj_wipe_anything(dir));
    assert_int_equal(lj_wipe_state(dir, &rep), LJ_OK);
    assert_string_equal(rep.failed, "");
    assert_int_equal(rep.removed, sizeof(ours) / sizeof(ours[0]));
    for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
        assert_false(has(ours[i]));
    for (size_t i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++)
        assert_true(has(theirs[i]));
    assert_true(has("mdm-dir"));
    assert_false(lj_wipe_anything(dir));
    /* Idempotent: a second wipe finds nothing and succeeds. */
    assert_int_equal(lj_wipe_state(dir, &rep), LJ_OK);
    assert_int_equal(rep.removed, 0);
}

static void
test_each_kind_counts_as_a_join(void **state)
{
    char p[256];
    (void)state;

    for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
        assert_false(lj_wipe_anything(dir));
        touch(ours[i]);
        assert_true(lj_wipe_anything(dir));
        snprintf(p, sizeof(p), "%s/%s", dir, ours[i]);
        unlink(p);
    }
    touch("notes.txt");
    assert_false(lj_wipe_anything(dir));
}

static void
test_missing_dir(void **state)
{
    struct lj_wipe_report rep;
    (void)state;

    assert_int_equal(lj_wipe_state("/tmp/lj-test-wipe-does-not-exist/x", &rep), LJ_OK);
    assert_int_equal(rep.removed, 0);
    assert_false(lj_wipe_anything("/tmp/lj-test-wipe-does-not-exist/x"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wipes_ours_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_kind_counts_as_a_join, setup, teardown),
        cmocka_unit_test(test_missing_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
