/* Unit tests for agent/state/marker.c: markers follow the journal state. */
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

#include "agent/state/marker.h"
#include "platform/common/fsutil.h"
#include "tests/unit/testutil.h"

static char *dir;

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

static bool
has(const char *name)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return lj_fs_exists(p);
}

static void
test_states(void **state)
{
    static const struct {
        enum lj_journal_state s;
        bool joined, pending;
    } cases[] = {
        {LJ_JS_NEW, false, false},         {LJ_JS_KEYS_READY, false, false},
        {LJ_JS_SIGNED_IN, false, false},   {LJ_JS_JOIN_SENT, false, false},
        {LJ_JS_JOINED, true, false},       {LJ_JS_MDM_PENDING, true, true},
        {LJ_JS_MDM_ENROLLED, true, false}, {LJ_JS_MDM_PENDING, true, true},
        {LJ_JS_NEW, false, false},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(lj_marker_sync(dir, cases[i].s), LJ_OK);
        assert_int_equal(has(LJ_MARKER_JOINED), cases[i].joined);
        assert_int_equal(has(LJ_MARKER_MDM_PENDING), cases[i].pending);
    }
}

static void
test_mode_and_idempotent(void **state)
{
    char p[128];
    struct stat st;
    (void)state;
    assert_int_equal(lj_marker_sync(dir, LJ_JS_MDM_PENDING), LJ_OK);
    assert_int_equal(lj_marker_sync(dir, LJ_JS_MDM_PENDING), LJ_OK);
    snprintf(p, sizeof(p), "%s/" LJ_MARKER_JOINED, dir);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(lj_marker_clear(dir), LJ_OK);
    assert_false(has(LJ_MARKER_JOINED));
    assert_false(has(LJ_MARKER_MDM_PENDING));
    assert_int_equal(lj_marker_clear(dir), LJ_OK);
}

static void
test_unwritable_dir(void **state)
{
    (void)state;
    assert_int_equal(lj_marker_sync("/nonexistent/lj-marker", LJ_JS_JOINED), LJ_ERR_IO);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_states),
        cmocka_unit_test(test_mode_and_idempotent),
        cmocka_unit_test(test_unwritable_dir),
    };
    return cmocka_run_group_tests_name("marker", tests, setup, teardown);
}
