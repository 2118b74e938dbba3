/* Unit tests for platform/common/fsutil.c: temporary names of atomic writes, the state directory
 * lock, private (secret) files. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/common/fsutil.h"
#include "tests/unit/testutil.h"

static char *base;

static int
setup(void **state)
{
    (void)state;
    base = lj_test_tmpdir();
    return base == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
    int rc;

    (void)state;
    rc = lj_test_rmdir(base);
    free(base);
    base = NULL;
    return rc;
}

/* Entries of dir whose name starts with prefix. */
static int
count_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

/*
 * An atomic write uses a temporary file of its own: a file another writer
 * left at the old fixed name PATH.tmp is neither truncated nor renamed, and
 * no temporary is left behind.
 */
static void
test_write_atomic_own_temp_name(void **state)
{
    char path[256], tmp[272];
    unsigned char *got = NULL;
    size_t len = 0;

    (void)state;
    assert_true(lj_path_join(path, sizeof(path), base, "journal.json"));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_equal(lj_fs_write_atomic(tmp, "other writer", 12, 0600), LJ_OK);
    assert_int_equal(lj_fs_write_atomic(path, "mine", 4, 0600), LJ_OK);
    assert_int_equal(lj_fs_read(path, 64, &got, &len), LJ_OK);
    assert_string_equal((char *)got, "mine");
    free(got);
    assert_int_equal(lj_fs_read(tmp, 64, &got, &len), LJ_OK);
    assert_string_equal((char *)got, "other writer");
    free(got);
    assert_int_equal(count_prefixed(base, "journal.json" LJ_FS_TMP_MARK), 0);
}

/*
 * check_replaces — a write of the kind `write` replaces NAME the way the
 * atomic one does: new content with the given mode, no temporary left.
 */
static void
check_replaces(enum lj_rc (*write)(const char *, const void *, size_t, mode_t), const char *name)
{
    char path[256], tmp[128];
    unsigned char *got = NULL;
    size_t len = 0;
    struct stat st;

    assert_true(lj_path_join(path, sizeof(path), base, name));
    assert_int_equal(write(path, "first", 5, 0600), LJ_OK);
    assert_int_equal(write(path, "second", 6, 0600), LJ_OK);
    assert_int_equal(lj_fs_read(path, 64, &got, &len), LJ_OK);
    assert_int_equal(len, 6);
    assert_string_equal((char *)got, "second");
    free(got);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    snprintf(tmp, sizeof(tmp), "%s%s", name, LJ_FS_TMP_MARK);
    assert_int_equal(count_prefixed(base, tmp), 0);
}

/* A volatile write (no fsync) replaces the file the same way. */
static void
test_write_volatile_replaces(void **state)
{
    (void)state;
    check_replaces(lj_fs_write_volatile, "tpm-objects");
}

/* An ordered write (the file fsync'ed, not its directory) too. */
static void
test_write_ordered_replaces(void **state)
{
    (void)state;
    check_replaces(lj_fs_write_ordered, "device-cert.der");
}

/* One holder at a time; the lock is free again once released; never waits. */
/* A secret's file: regular, not a symlink, our uid, no group/other bits. */
static void
test_read_private(void **state)
{
    char p[512], l[512];
    struct lj_fs_private pf;
    unsigned char *buf = NULL;
    size_t len = 0;

    (void)state;
    snprintf(p, sizeof(p), "%s/pw", base);
    snprintf(l, sizeof(l), "%s/pw-link", base);
    assert_int_equal(lj_fs_read_private(p, 64, &buf, &len, &pf), LJ_ERR_NOT_FOUND);
    assert_int_equal(lj_fs_write_atomic(p, "secret\n", 7, 0600), LJ_OK);
    assert_int_equal(lj_fs_read_private(p, 64, &buf, &len, &pf), LJ_OK);
    assert_int_equal(len, 7);
    assert_memory_equal(buf, "secret\n", 7);
    free(buf);
    assert_int_equal(lj_fs_read_private(p, 3, &buf, &len, &pf), LJ_ERR_TOO_BIG);
    assert_int_equal(chmod(p, 0400), 0);
    assert_int_equal(lj_fs_check_private(p, &pf), LJ_OK);
    assert_int_equal(chmod(p, 0640), 0);
    memset(&pf, 0, sizeof(pf));
    assert_int_equal(lj_fs_check_private(p, &pf), LJ_ERR_INVAL);
    assert_int_equal(pf.mode, 0640);
    assert_false(pf.not_regular);
    assert_int_equal(lj_fs_read_private(p, 64, &buf, &len, &pf), LJ_ERR_INVAL);
    assert_int_equal(chmod(p, 0604), 0);
    assert_int_equal(lj_fs_check_private(p, &pf), LJ_ERR_INVAL);
    assert_int_equal(pf.mode, 0604);
    assert_int_equal(chmod(p, 0600), 0);
    assert_int_equal(symlink(p, l), 0);
    memset(&pf, 0, sizeof(pf));
    assert_int_equal(lj_fs_check_private(l, &pf), LJ_ERR_INVAL);
    assert_true(pf.not_regular);
    assert_int_equal(lj_fs_check_private(base, &pf), LJ_ERR_INVAL);
    assert_true(pf.not_regular);
    if (geteuid() == 0) {
        assert_int_equal(chown(p, 65534, (gid_t)-1), 0);
        assert_int_equal(lj_fs_check_private(p, &pf), LJ_ERR_INVAL);
        assert_int_equal(pf.uid, 65534);
    }
}

static void
test_lock_dir(void **state)
{
    char missing[256];
    int a = -1, b = -1;
    bool busy = true;

    (void)state;
    assert_int_equal(lj_fs_lock_dir(base, &a, &busy), LJ_OK);
    assert_false(busy);
    assert_true(a >= 0);
    /* another open description of the directory (as another process has) */
    assert_int_equal(lj_fs_lock_dir(base, &b, &busy), LJ_ERR_IO);
    assert_true(busy);
    assert_int_equal(b, -1);
    lj_fs_unlock_dir(a);
    assert_int_equal(lj_fs_lock_dir(base, &b, &busy), LJ_OK);
    assert_false(busy);
    lj_fs_unlock_dir(b);
    /* nothing left in the directory by locking it */
    assert_int_equal(count_prefixed(base, "."), 2);
    assert_true(lj_path_join(missing, sizeof(missing), base, "nope"));
    assert_int_equal(lj_fs_lock_dir(missing, &a, &busy), LJ_ERR_NOT_FOUND);
    assert_false(busy);
    assert_int_equal(a, -1);
    lj_fs_unlock_dir(-1);
}

/* status tells "missing" and "not a directory" apart from a readable one (EACCES: integration). */
static void
test_dir_access(void **state)
{
    char p[512];

    (void)state;
    assert_int_equal(lj_fs_dir_access(base), LJ_OK);
    assert_true(lj_path_join(p, sizeof(p), base, "nope"));
    assert_int_equal(lj_fs_dir_access(p), LJ_ERR_NOT_FOUND);
    assert_int_equal(lj_fs_write_atomic(p, "x", 1, 0600), LJ_OK);
    assert_int_equal(lj_fs_dir_access(p), LJ_ERR_INVAL);
    assert_true(lj_path_join(p, sizeof(p), base, "nope/below"));
    assert_int_equal(lj_fs_dir_access(p), LJ_ERR_NOT_FOUND);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_atomic_own_temp_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_volatile_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_ordered_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_private, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_access, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
