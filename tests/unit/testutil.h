/*
 * testutil.h — helpers every unit test links (tests/unit/testutil.c): temp
 * directories, the test data tree, a software-provider TPM context.  For
 * cmocka tests only: the helpers that cannot go on fail the running test.
 */
#ifndef LJ_TESTS_TESTUTIL_H
#define LJ_TESTS_TESTUTIL_H

#include <stddef.h>

struct tpm_ctx;

/*
 * A new empty directory (mode 0700) under $TMPDIR, else /tmp, named after
 * the test binary.  Returns a malloc'ed path (caller frees with free()), NULL
 * when it cannot be made.
 */
char *lj_test_tmpdir(void);

/*
 * Remove path and everything under it (no symlink is followed).  A missing
 * path or NULL is success.  Returns 0, or -1 when something was left.
 */
int lj_test_rmdir(const char *path);

/*
 * The top of the source tree: $LJ_TOP (tests/run.sh exports it), else the
 * directory two levels above the test binary (BUILD/tests/test_NAME) when it
 * holds tests/data, else ".".  Static storage.
 */
const char *lj_test_top(void);

/*
 * The path of tests/data/REL in buf (size bytes) and returns buf; fails the
 * test when it does not fit.
 */
const char *lj_test_data_path(const char *rel, char *buf, size_t size);

/*
 * The contents of tests/data/REL (at most 1 MiB), NUL-terminated; *len (when
 * len is not NULL) excludes the NUL.  Returns a malloc'ed buffer (caller
 * frees with free()); fails the test when the file cannot be read.
 */
char *lj_test_load_data(const char *rel, size_t *len);

/*
 * A software-provider TPM context (keys as files) in state_dir; fails the
 * test when it cannot be opened.  Caller closes it with tpm_close().
 */
struct tpm_ctx *lj_test_soft_tpm(const char *state_dir);

/*
 * Decode the lower- or upper-case hex string hex into out (room for cap
 * bytes); fails the test on an odd length, a non-hex digit or too long a
 * string.  Returns the number of bytes written.
 */
size_t lj_test_unhex(const char *hex, unsigned char *out, size_t cap);

#endif
