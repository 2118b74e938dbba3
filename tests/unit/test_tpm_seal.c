/*
 * Unit tests for tpm/seal.c through the software provider (no TPM): round
 * trip of binary data, no plaintext on disk, corruption and foreign-key
 * verdicts, name and size checks, contexts without a state dir.  The TPM
 * path is covered by tests/integration/test_tpm_seal.sh against swtpm.
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

#include "platform/common/fsutil.h"
#include "platform/common/secmem.h"
#include "tpm/tpm.h"
#include "tests/unit/testutil.h"

static char *dir;
static char path[128];

static int
setup(void **state)
{
    (void)state;
    dir = lj_test_tmpdir();
    if (dir == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/tok.sealed", dir);
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

static const unsigned char secret[] = "0.refresh\0token-with-a-NUL-and-more-bytes-0123456789";

static void
test_round_trip(void **state)
{
    struct tpm_ctx *t = lj_test_soft_tpm(dir);
    unsigned char *out = NULL, *file = NULL;
    size_t len = 0, flen = 0;
    struct stat st;

    (void)state;
    assert_int_equal(tpm_seal(t, "tok", secret, sizeof(secret)), LJ_OK);
    assert_true(tpm_sealed_present(dir, "tok"));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(tpm_unseal(t, "tok", &out, &len), LJ_OK);
    assert_int_equal(len, sizeof(secret));
    assert_memory_equal(out, secret, sizeof(secret));
    assert_int_equal(out[len], 0);
    lj_secure_free(out, len);
    /* No piece of the plaintext in the file. */
    assert_int_equal(lj_fs_read(path, 1 << 20, &file, &flen), LJ_OK);
    assert_null(memmem(file, flen, "token-with", 10));
    free(file);
    assert_int_equal(tpm_sealed_remove(dir, "tok"), LJ_OK);
    assert_false(tpm_sealed_present(dir, "tok"));
    assert_int_equal(tpm_sealed_remove(dir, "tok"), LJ_OK);
    assert_int_equal(tpm_unseal(t, "tok", &out, &len), LJ_ERR_NOT_FOUND);
    tpm_close(t);
}

static void
test_corrupt(void **state)
{
    struct tpm_ctx *t = lj_test_soft_tpm(dir);
    unsigned char *file = NULL, *out = NULL;
    size_t flen = 0, len = 0;

    (void)state;
    assert_int_equal(tpm_seal(t, "tok", secret, sizeof(secret)), LJ_OK);
    assert_int_equal(lj_fs_read(path, 1 << 20, &file, &flen), LJ_OK);
    for (size_t i = 0; i < flen; i += 7) {
        file[i] ^= 0x40;
        assert_int_equal(lj_fs_write_atomic(path, file, flen, 0600), LJ_OK);
        assert_int_equal(tpm_unseal(t, "tok", &out, &len), LJ_ERR_KEYS_CORRUPT);
        file[i] ^= 0x40;
    }
    for (size_t cut = 0; cut < flen; cut += 13) {
        assert_int_equal(lj_fs_write_atomic(path, file, cut, 0600), LJ_OK);
        assert_int_equal(tpm_unseal(t, "tok", &out, &len), LJ_ERR_KEYS_CORRUPT);
    }
    assert_int_equal(lj_fs_write_atomic(path, file, flen, 0600), LJ_OK);
    assert_int_equal(tpm_unseal(t, "tok", &out, &len), LJ_OK);
    lj_secure_free(out, len);
    free(file);
    tpm_close(t);
}

static void
test_other_key(void **state)
{
    struct tpm_ctx *t = lj_test_soft_tpm(dir);
    unsigned char *out = NULL;
    size_t len = 0;
    char kpath[128];

    (void)state;
    assert_int_equal(tpm_seal(t, "tok", secret, sizeof(secret)), LJ_OK);
    snprintf(kpath, sizeof(kpath), "%s/soft-seal.key", dir);
    assert_int_equal(lj_fs_write_atomic(kpath, "0123456789abcdef0123456789abcdef", 32, 0600),
                     LJ_OK);
    assert_int_equal(tpm_unseal(t, "tok", &out, &len), LJ_ERR_TPM_WRONG_TPM);
    assert_int_equal(lj_fs_remove(kpath), LJ_OK);
    assert_int_equal(tpm_unseal(t, "tok", &out, &len), LJ_ERR_KEYS_CORRUPT);
    tpm_close(t);
}

static void
test_args(void **state)
{
    struct tpm_ctx *t = lj_test_soft_tpm(dir), *t2 = NULL;
    unsigned char big[TPM_SEAL_DATA_MAX + 1], *out = NULL;
    size_t len = 0;

    (void)state;
    memset(big, 'a', sizeof(big));
    assert_int_equal(tpm_seal(t, "", secret, 4), LJ_ERR_INVAL);
    assert_int_equal(tpm_seal(t, "../x", secret, 4), LJ_ERR_INVAL);
    assert_int_equal(tpm_seal(t, "A", secret, 4), LJ_ERR_INVAL);
    assert_int_equal(tpm_seal(t, "a23456789012345678901234567890123", secret, 4), LJ_ERR_INVAL);
    assert_int_equal(tpm_seal(t, "tok", secret, 0), LJ_ERR_INVAL);
    assert_int_equal(tpm_seal(t, "tok", big, sizeof(big)), LJ_ERR_INVAL);
    assert_int_equal(tpm_seal(t, "tok", big, sizeof(big) - 1), LJ_OK);
    assert_int_equal(tpm_unseal(t, "tok", &out, &len), LJ_OK);
    assert_int_equal(len, TPM_SEAL_DATA_MAX);
    lj_secure_free(out, len);
    assert_int_equal(tpm_sealed_remove(dir, "../x"), LJ_ERR_INVAL);
    tpm_close(t);
    /* A context without a state dir can't seal. */
    {
        struct tpm_open_opts o = {.state_dir = NULL, .provider = TPM_PROVIDER_SOFT};
        struct tpm_health h;

        assert_int_equal(tpm_open(&o, &t2), LJ_OK);
        assert_int_equal(tpm_seal(t2, "tok", secret, 4), LJ_ERR_INVAL);
        assert_int_equal(tpm_keys_ensure(t2, NULL), LJ_ERR_INVAL);
        assert_int_equal(tpm_preflight(t2, &h), LJ_OK);
        assert_false(h.tpm_protected);
        tpm_close(t2);
    }
}

/*
 * tpm_seal_start/_wait: the same sealed file as tpm_seal, the caller's
 * buffer not needed after the start; one at a time; nothing to wait for
 * without a start; tpm_seal's argument checks; tpm_close collects one
 * left pending.
 */
static void
test_background(void **state)
{
    struct tpm_ctx *t = lj_test_soft_tpm(dir);
    unsigned char buf[sizeof(secret)], *out = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(tpm_seal_wait(t), LJ_ERR_NOT_FOUND);
    memcpy(buf, secret, sizeof(buf));
    assert_int_equal(tpm_seal_start(t, "tok", buf, sizeof(buf)), LJ_OK);
    memset(buf, 0, sizeof(buf)); /* the start copied it */
    assert_int_equal(tpm_seal_start(t, "tok", secret, sizeof(secret)), LJ_ERR_INVAL);
    assert_int_equal(tpm_seal_wait(t), LJ_OK);
    assert_int_equal(tpm_seal_wait(t), LJ_ERR_NOT_FOUND);
    assert_int_equal(tpm_unseal(t, "tok", &out, &len), LJ_OK);
    assert_int_equal(len, sizeof(secret));
    assert_memory_equal(out, secret, len);
    lj_secure_free(out, len);
    assert_int_equal(tpm_seal_start(t, "Bad/Name", secret, sizeof(secret)), LJ_ERR_INVAL);
    assert_int_equal(tpm_seal_start(t, "tok", secret, 0), LJ_ERR_INVAL);
    assert_int_equal(tpm_seal_start(t, "tok", NULL, 4), LJ_ERR_INVAL);
    assert_int_equal(tpm_seal_wait(t), LJ_ERR_NOT_FOUND);
    assert_int_equal(tpm_seal_start(t, "left", secret, sizeof(secret)), LJ_OK);
    tpm_close(t); /* waits for it */
    assert_true(tpm_sealed_present(dir, "left"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
