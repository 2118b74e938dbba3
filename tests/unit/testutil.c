/*
 * testutil.c — shared helpers of the unit tests (see testutil.h).  Linked
 * into every build/tests/test_* binary by the Makefile.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
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

#include "platform/common/fsutil.h"
#include "tests/unit/testutil.h"
#include "tpm/tpm.h"

#define LJ_TEST_DATA_MAX (1u << 20)

char *
lj_test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *path = NULL;
    size_t n;

    if (base == NULL || base[0] != '/')
        base = "/tmp";
    n = strlen(base) + strlen(program_invocation_short_name) + sizeof("/lj-.XXXXXX");
    path = malloc(n);
    if (path == NULL)
        return NULL;
    snprintf(path, n, "%s/lj-%s.XXXXXX", base, program_invocation_short_name);
    if (mkdtemp(path) == NULL) {
        free(path);
        return NULL;
    }
    return path;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

int
lj_test_rmdir(const char *path)
{
    struct stat st;

    if (path == NULL || (lstat(path, &st) != 0 && errno == ENOENT))
        return 0;
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

const char *
lj_test_top(void)
{
    static char top[PATH_MAX];
    const char *env = getenv("LJ_TOP");
    char exe[PATH_MAX], probe[PATH_MAX + 16];
    ssize_t n;

    if (env != NULL && env[0] != '\0')
        return env;
    if (top[0] != '\0')
        return top;
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        for (int up = 0; up < 3; up++) { /* strip NAME, tests, BUILD */
            char *slash = strrchr(exe, '/');
            if (slash == NULL) {
                exe[0] = '\0';
                break;
            }
            *slash = '\0';
        }
        snprintf(probe, sizeof(probe), "%s/tests/data", exe);
        if (exe[0] != '\0' && lj_fs_exists(probe)) {
            snprintf(top, sizeof(top), "%s", exe);
            return top;
        }
    }
    snprintf(top, sizeof(top), ".");
    return top;
}

const char *
lj_test_data_path(const char *rel, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/tests/data/%s", lj_test_top(), rel);

    if (n < 0 || (size_t)n >= size)
        fail_msg("path of tests/data/%s does not fit in %zu bytes", rel, size);
    return buf;
}

char *
lj_test_load_data(const char *rel, size_t *len)
{
    char path[PATH_MAX];
    unsigned char *buf = NULL;
    size_t n = 0;

    lj_test_data_path(rel, path, sizeof(path));
    if (lj_fs_read(path, LJ_TEST_DATA_MAX, &buf, &n) != LJ_OK)
        fail_msg("cannot read %s", path);
    if (len != NULL)
        *len = n;
    return (char *)buf;
}

struct tpm_ctx *
lj_test_soft_tpm(const char *state_dir)
{
    struct tpm_open_opts o = {.state_dir = state_dir, .tcti = NULL, .provider = TPM_PROVIDER_SOFT};
    struct tpm_ctx *t = NULL;

    assert_int_equal(tpm_open(&o, &t), LJ_OK);
    return t;
}

static int
hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t
lj_test_unhex(const char *hex, unsigned char *out, size_t cap)
{
    size_t len = strlen(hex), n = len / 2;

    assert_true(len % 2 == 0);
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);

        assert_true(hi >= 0 && lo >= 0);
        out[i] = (unsigned char)(hi * 16 + lo);
    }
    return n;
}
