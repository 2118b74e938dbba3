/*
 * Unit tests for tpm/hkey.c (keyed-hash keys: the PRT session key kept by
 * the TPM) on both key providers.  The soft provider always runs; the TPM
 * provider runs when LJ_TEST_TCTI names a TCTI (a fresh swtpm started by
 * tests/integration/test_tpm_hkey.sh, which also sets LJ_TEST_TCTI_OTHER to
 * a second swtpm for the wrong-TPM case), else those cases are skipped.
 *
 * The PRT key-derivation vectors are reproduced through tpm_hmac_sha256:
 * NIST SP 800-108 counter mode with HMAC-SHA256 and one block,
 * fixed input = 00000001 || "AzureAD-SecureConversation" || 00 || context
 * || 00000100 ([MS-OAPXBC] 3.1.5.2.1.3; ROADtools roadlib deviceauth.py
 * calculate_derived_key / calculate_derived_key_v2 and pytune use KBKDFHMAC
 * with rlen=llen=4, counter before the fixed input, the same label).  kdf v1:
 * context = ctx; v2: context = SHA-256(ctx || payload bytes).  The vectors
 * were computed with python3-cryptography's KBKDFHMAC.
 * test_session_key_taken takes a vector's key the way the agent takes the
 * PRT's: RSA-OAEP-SHA1 to the transport key, tpm_transport_decrypt, import.
 * LJ_BENCH_HKEY=N (with LJ_TEST_TCTI) adds a timing loop, N imports then N
 * HMACs on each provider, that only prints (tests/bench/run.sh hkey).
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/common/fsutil.h"
#include "platform/common/secmem.h"
#include "tpm/tpm.h"
#include "tests/unit/testutil.h"

static char *dir;
static char path[256];

static const enum tpm_provider soft = TPM_PROVIDER_SOFT, hw = TPM_PROVIDER_TPM;

struct kdf_vector {
    const char *key_hex, *ctx_hex, *payload, *v1_hex, *v2_hex;
};

static const struct kdf_vector vectors[] = {
    {"1be0fa6104749c7d66cc377be931d5d003f7b0b0e05bdb390915629518fcf4bf",
     "57a24cf21999b3fd84b53cea4f1313e68394f0d78187c173",
     "{\"client_id\":\"29d9ed98-a469-4536-ade2-f981bc1d605e\",\"grant_type\":\"refresh_token\","
     "\"request_nonce\":\"AwABAAAA-nonce-0\",\"resource\":\"https://"
     "enrollment.manage.microsoft.com/\"}",
     "87ed6cf2f221e8eab8a97dde4d869bea7e6a117747e9718693f34367890d15c4",
     "3cc01d7280308a119b861996f98b99a9b6475fc56f19258c5727db1a128c6e23"},
    {"ae1462319c0d77eb34b730e380bdf29c292a8233ac6a87275c045a4616da3359",
     "b6d44cbebe5ecbaf699fa507c2c268d7748dea144e89de07",
     "{\"client_id\":\"29d9ed98-a469-4536-ade2-f981bc1d605e\",\"grant_type\":\"refresh_token\","
     "\"request_nonce\":\"AwABAAAA-nonce-1\",\"resource\":\"https://"
     "enrollment.manage.microsoft.com/\"}",
     "f5b027906feaee680f3f2a7fbdf8f5222f11583bf3a3b620a6ad6d437af59086",
     "39ecbdb1baa4c70aca25d8bb503f2e8e416d8213145fbf0db70901867b933ff1"},
    {"b7f6e7d384f69ea0267f8992d5f0152fb4cddd5fbff158b5758c65a40e389ea2",
     "e5f4a81e15f1cf5a8be63b8b9eb4a9a4b18da704796d165a",
     "{\"client_id\":\"29d9ed98-a469-4536-ade2-f981bc1d605e\",\"grant_type\":\"refresh_token\","
     "\"request_nonce\":\"AwABAAAA-nonce-2\",\"resource\":\"https://"
     "enrollment.manage.microsoft.com/\"}",
     "e8240752b26d0ea344a7b989eb339941147425448e6dc4cb952f7d742c0be77e",
     "d4cdb317420b17c5b3c9d05b73fcf01b1ff4c0859fc55f842dae0dfc2da3ae72"},
};

static const unsigned char key32[32] = {
    0x1b, 0xe0, 0xfa, 0x61, 0x04, 0x74, 0x9c, 0x7d, 0x66, 0xcc, 0x37, 0x7b, 0xe9, 0x31, 0xd5, 0xd0,
    0x03, 0xf7, 0xb0, 0xb0, 0xe0, 0x5b, 0xdb, 0x39, 0x09, 0x15, 0x62, 0x95, 0x18, 0xfc, 0xf4, 0xbf};
static const unsigned char msg[] = "00000001AzureAD-SecureConversation";

/* The SP 800-108 fixed input of one derived key (see the top comment). */
static size_t
kdf_input(const unsigned char *context, size_t clen, unsigned char *out)
{
    static const char label[] = "AzureAD-SecureConversation";
    size_t n = 0;

    memcpy(out, "\x00\x00\x00\x01", 4);
    n = 4;
    memcpy(out + n, label, sizeof(label) - 1);
    n += sizeof(label) - 1;
    out[n++] = 0x00;
    memcpy(out + n, context, clen);
    n += clen;
    memcpy(out + n, "\x00\x00\x01\x00", 4); /* L = 256 bits */
    return n + 4;
}

static void
hmac_ref(const unsigned char *k, size_t klen, const unsigned char *m, size_t mlen,
         unsigned char out[32])
{
    Hmac h;

    assert_int_equal(wc_HmacInit(&h, NULL, INVALID_DEVID), 0);
    assert_int_equal(wc_HmacSetKey(&h, WC_SHA256, k, (word32)klen), 0);
    assert_int_equal(wc_HmacUpdate(&h, m, (word32)mlen), 0);
    assert_int_equal(wc_HmacFinal(&h, out), 0);
    wc_HmacFree(&h);
}

static int
setup(void **state)
{
    (void)state;
    dir = lj_test_tmpdir();
    if (dir == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/prt_session.hkey", dir);
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

static const char *
env_tcti(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* A context of provider p in d (TPM: at tcti, else LJ_TEST_TCTI); skips without a TPM. */
static struct tpm_ctx *
ctx_open(enum tpm_provider p, const char *d, const char *tcti)
{
    struct tpm_open_opts o = {.state_dir = d, .provider = p};
    struct tpm_ctx *t = NULL;

    if (p == TPM_PROVIDER_SOFT)
        return lj_test_soft_tpm(d);
    o.tcti = tcti != NULL ? tcti : env_tcti("LJ_TEST_TCTI");
    if (o.tcti == NULL)
        skip();
    assert_int_equal(tpm_open(&o, &t), LJ_OK);
    return t;
}

static enum tpm_provider
prov(void **state)
{
    return *(const enum tpm_provider *)*state;
}

/* No transient object left in the TPM by the calls before (soft: nothing to check). */
static void
assert_no_transients(struct tpm_ctx *t, enum tpm_provider p)
{
    unsigned n = 99;

    if (p != TPM_PROVIDER_TPM)
        return;
    assert_int_equal(tpm_transient_count(t, &n), LJ_OK);
    assert_int_equal(n, 0);
}

static unsigned char *
file_read(size_t *len)
{
    unsigned char *f = NULL;

    assert_int_equal(lj_fs_read(path, 1 << 16, &f, len), LJ_OK);
    return f;
}

static void
test_kdf_vectors(void **state)
{
    struct tpm_ctx *t = ctx_open(prov(state), dir, NULL);

    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const struct kdf_vector *v = &vectors[i];
        unsigned char key[32], ctx[24], want[32], got[32], in[128], context[32];
        size_t n;
        wc_Sha256 sha;

        assert_int_equal(lj_test_unhex(v->key_hex, key, sizeof(key)), 32);
        assert_int_equal(lj_test_unhex(v->ctx_hex, ctx, sizeof(ctx)), 24);
        assert_int_equal(tpm_hmac_key_import(t, "prt_session", key, sizeof(key)), LJ_OK);
        /* kdf_ver 1: context = ctx */
        n = kdf_input(ctx, sizeof(ctx), in);
        assert_int_equal(n, 4 + 26 + 1 + 24 + 4);
        assert_int_equal(tpm_hmac_sha256(t, "prt_session", in, n, got), LJ_OK);
        lj_test_unhex(v->v1_hex, want, sizeof(want));
        assert_memory_equal(got, want, 32);
        /* kdf_ver 2: context = SHA-256(ctx || payload) */
        assert_int_equal(wc_InitSha256(&sha), 0);
        assert_int_equal(wc_Sha256Update(&sha, ctx, sizeof(ctx)), 0);
        assert_int_equal(
            wc_Sha256Update(&sha, (const unsigned char *)v->payload, (word32)strlen(v->payload)),
            0);
        assert_int_equal(wc_Sha256Final(&sha, context), 0);
        wc_Sha256Free(&sha);
        n = kdf_input(context, sizeof(context), in);
        assert_int_equal(n, 67);
        assert_int_equal(tpm_hmac_sha256(t, "prt_session", in, n, got), LJ_OK);
        lj_test_unhex(v->v2_hex, want, sizeof(want));
        assert_memory_equal(got, want, 32);
    }
    assert_no_transients(t, prov(state));
    tpm_close(t);
}

static void
test_file_holds_no_key(void **state)
{
    struct tpm_ctx *t = ctx_open(prov(state), dir, NULL);
    unsigned char *f, out[32], want[32];
    size_t flen = 0;
    char hex[65];
    struct stat st;

    assert_false(tpm_hmac_key_present(dir, "prt_session"));
    assert_int_equal(tpm_hmac_key_import(t, "prt_session", key32, sizeof(key32)), LJ_OK);
    assert_true(tpm_hmac_key_present(dir, "prt_session"));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    f = file_read(&flen);
    /* Neither the key, nor any 8-byte piece of it, nor its hex. */
    for (size_t i = 0; i + 8 <= sizeof(key32); i++)
        assert_null(memmem(f, flen, key32 + i, 8));
    for (size_t i = 0; i < sizeof(key32); i++)
        snprintf(hex + 2 * i, 3, "%02x", key32[i]);
    assert_null(memmem(f, flen, hex, 16));
    free(f);
    /* ... and the key still works. */
    assert_int_equal(tpm_hmac_sha256(t, "prt_session", msg, sizeof(msg) - 1, out), LJ_OK);
    hmac_ref(key32, sizeof(key32), msg, sizeof(msg) - 1, want);
    assert_memory_equal(out, want, 32);
    assert_no_transients(t, prov(state));
    tpm_close(t);
}

static void
test_reimport_replaces(void **state)
{
    struct tpm_ctx *t = ctx_open(prov(state), dir, NULL);
    unsigned char other[48], out[32], want[32];

    memset(other, 0x5a, sizeof(other));
    assert_int_equal(tpm_hmac_key_import(t, "prt_session", key32, sizeof(key32)), LJ_OK);
    assert_int_equal(tpm_hmac_key_import(t, "prt_session", other, sizeof(other)), LJ_OK);
    assert_int_equal(tpm_hmac_sha256(t, "prt_session", msg, sizeof(msg) - 1, out), LJ_OK);
    hmac_ref(other, sizeof(other), msg, sizeof(msg) - 1, want);
    assert_memory_equal(out, want, 32);
    /* Two names, two keys. */
    assert_int_equal(tpm_hmac_key_import(t, "second", key32, sizeof(key32)), LJ_OK);
    assert_int_equal(tpm_hmac_sha256(t, "second", msg, sizeof(msg) - 1, out), LJ_OK);
    hmac_ref(key32, sizeof(key32), msg, sizeof(msg) - 1, want);
    assert_memory_equal(out, want, 32);
    assert_no_transients(t, prov(state));
    tpm_close(t);
}

/* Every altered or cut file is LJ_ERR_KEYS_CORRUPT and stays as it was; out is untouched. */
static void
test_corrupt(void **state)
{
    struct tpm_ctx *t = ctx_open(prov(state), dir, NULL);
    unsigned char *file, *now, out[32], zero[32] = {0};
    size_t flen = 0, nlen = 0;
    size_t step = prov(state) == TPM_PROVIDER_TPM ? 29 : 5;

    assert_int_equal(tpm_hmac_key_import(t, "prt_session", key32, sizeof(key32)), LJ_OK);
    file = file_read(&flen);
    memset(out, 0, sizeof(out));
    for (size_t i = 0; i < flen; i += step) {
        file[i] ^= 0x40;
        assert_int_equal(lj_fs_write_atomic(path, file, flen, 0600), LJ_OK);
        assert_int_equal(tpm_hmac_sha256(t, "prt_session", msg, 8, out), LJ_ERR_KEYS_CORRUPT);
        now = file_read(&nlen);
        assert_int_equal(nlen, flen);
        assert_memory_equal(now, file, flen);
        free(now);
        file[i] ^= 0x40;
    }
    for (size_t cut = 0; cut < flen; cut += step) {
        assert_int_equal(lj_fs_write_atomic(path, file, cut, 0600), LJ_OK);
        assert_int_equal(tpm_hmac_sha256(t, "prt_session", msg, 8, out), LJ_ERR_KEYS_CORRUPT);
        assert_true(lj_fs_exists(path));
    }
    assert_memory_equal(out, zero, 32);
    /* One byte more is not a key file either. */
    {
        unsigned char *longer = malloc(flen + 1);
        assert_non_null(longer);
        memcpy(longer, file, flen);
        longer[flen] = 0;
        assert_int_equal(lj_fs_write_atomic(path, longer, flen + 1, 0600), LJ_OK);
        assert_int_equal(tpm_hmac_sha256(t, "prt_session", msg, 8, out), LJ_ERR_KEYS_CORRUPT);
        free(longer);
    }
    /* A key file under another name does not open. */
    {
        char p2[300];
        snprintf(p2, sizeof(p2), "%s/renamed.hkey", dir);
        assert_int_equal(lj_fs_write_atomic(p2, file, flen, 0600), LJ_OK);
        assert_int_equal(tpm_hmac_sha256(t, "renamed", msg, 8, out), LJ_ERR_KEYS_CORRUPT);
    }
    assert_int_equal(lj_fs_write_atomic(path, file, flen, 0600), LJ_OK);
    assert_int_equal(tpm_hmac_sha256(t, "prt_session", msg, 8, out), LJ_OK);
    lj_secure_zero(out, sizeof(out));
    free(file);
    assert_no_transients(t, prov(state));
    tpm_close(t);
}

static void
test_missing(void **state)
{
    struct tpm_ctx *t = ctx_open(prov(state), dir, NULL);
    unsigned char out[32];

    assert_int_equal(tpm_hmac_sha256(t, "prt_session", msg, 8, out), LJ_ERR_NOT_FOUND);
    assert_int_equal(tpm_hmac_key_import(t, "prt_session", key32, sizeof(key32)), LJ_OK);
    assert_int_equal(tpm_hmac_key_remove(dir, "prt_session"), LJ_OK);
    assert_false(tpm_hmac_key_present(dir, "prt_session"));
    assert_int_equal(tpm_hmac_sha256(t, "prt_session", msg, 8, out), LJ_ERR_NOT_FOUND);
    assert_int_equal(tpm_hmac_key_remove(dir, "prt_session"), LJ_OK);
    assert_no_transients(t, prov(state));
    tpm_close(t);
}

static void
test_bad_lengths(void **state)
{
    struct tpm_ctx *t = ctx_open(prov(state), dir, NULL);
    unsigned char key[TPM_HKEY_KEY_MAX + 1], big[TPM_HKEY_MSG_MAX + 1], out[32], want[32];

    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (unsigned char)(0xa0 + i);
    memset(big, 'm', sizeof(big));
    assert_int_equal(tpm_hmac_key_import(t, "k", key, TPM_HKEY_KEY_MIN - 1), LJ_ERR_INVAL);
    assert_int_equal(tpm_hmac_key_import(t, "k", key, TPM_HKEY_KEY_MAX + 1), LJ_ERR_INVAL);
    assert_int_equal(tpm_hmac_key_import(t, "k", key, 0), LJ_ERR_INVAL);
    assert_int_equal(tpm_hmac_key_import(t, "k", NULL, 32), LJ_ERR_INVAL);
    assert_false(tpm_hmac_key_present(dir, "k"));
    assert_int_equal(tpm_hmac_key_import(t, "", key, 32), LJ_ERR_INVAL);
    assert_int_equal(tpm_hmac_key_import(t, "../k", key, 32), LJ_ERR_INVAL);
    assert_int_equal(tpm_hmac_key_import(t, "K", key, 32), LJ_ERR_INVAL);
    assert_int_equal(tpm_hmac_key_import(t, NULL, key, 32), LJ_ERR_INVAL);
    assert_int_equal(tpm_hmac_key_import(t, "a23456789012345678901234567890123", key, 32),
                     LJ_ERR_INVAL);
    assert_int_equal(tpm_hmac_key_remove(dir, "../k"), LJ_ERR_INVAL);
    assert_false(tpm_hmac_key_present(dir, "../k"));
    /* The bounds themselves work, with the right result. */
    assert_int_equal(tpm_hmac_key_import(t, "k", key, TPM_HKEY_KEY_MIN), LJ_OK);
    assert_int_equal(tpm_hmac_sha256(t, "k", big, 1, out), LJ_OK);
    hmac_ref(key, TPM_HKEY_KEY_MIN, big, 1, want);
    assert_memory_equal(out, want, 32);
    assert_int_equal(tpm_hmac_key_import(t, "k", key, TPM_HKEY_KEY_MAX), LJ_OK);
    assert_int_equal(tpm_hmac_sha256(t, "k", big, TPM_HKEY_MSG_MAX, out), LJ_OK);
    hmac_ref(key, TPM_HKEY_KEY_MAX, big, TPM_HKEY_MSG_MAX, want);
    assert_memory_equal(out, want, 32);
    assert_int_equal(tpm_hmac_sha256(t, "k", big, 0, out), LJ_ERR_INVAL);
    assert_int_equal(tpm_hmac_sha256(t, "k", big, TPM_HKEY_MSG_MAX + 1, out), LJ_ERR_INVAL);
    assert_int_equal(tpm_hmac_sha256(t, "k", NULL, 8, out), LJ_ERR_INVAL);
    assert_int_equal(tpm_hmac_sha256(t, "k", big, 8, NULL), LJ_ERR_INVAL);
    assert_int_equal(tpm_hmac_sha256(t, "K", big, 8, out), LJ_ERR_INVAL);
    assert_no_transients(t, prov(state));
    tpm_close(t);
    /* A context without a state dir has no key files. */
    {
        struct tpm_open_opts o = {.state_dir = NULL, .provider = TPM_PROVIDER_SOFT};
        struct tpm_ctx *t2 = NULL;

        assert_int_equal(tpm_open(&o, &t2), LJ_OK);
        assert_int_equal(tpm_hmac_key_import(t2, "k", key, 32), LJ_ERR_INVAL);
        assert_int_equal(tpm_hmac_sha256(t2, "k", big, 8, out), LJ_ERR_INVAL);
        tpm_close(t2);
    }
}

/* Soft: the wrapping key replaced is the soft "other TPM"; gone, the key file is unusable. */
static void
test_soft_other_key(void **state)
{
    struct tpm_ctx *t = lj_test_soft_tpm(dir);
    unsigned char out[32];
    char kpath[300];

    (void)state;
    assert_int_equal(tpm_hmac_key_import(t, "prt_session", key32, sizeof(key32)), LJ_OK);
    snprintf(kpath, sizeof(kpath), "%s/soft-seal.key", dir);
    assert_int_equal(lj_fs_write_atomic(kpath, "0123456789abcdef0123456789abcdef", 32, 0600),
                     LJ_OK);
    assert_int_equal(tpm_hmac_sha256(t, "prt_session", msg, 8, out), LJ_ERR_TPM_WRONG_TPM);
    assert_int_equal(lj_fs_remove(kpath), LJ_OK);
    assert_int_equal(tpm_hmac_sha256(t, "prt_session", msg, 8, out), LJ_ERR_KEYS_CORRUPT);
    assert_true(lj_fs_exists(path));
    tpm_close(t);
}

/* TPM: a key imported by one TPM does not load in another; the file is left as it was. */
static void
test_wrong_tpm(void **state)
{
    const char *other = env_tcti("LJ_TEST_TCTI_OTHER");
    struct tpm_ctx *a, *b;
    unsigned char *before, *after, out[32];
    size_t blen = 0, alen = 0;

    (void)state;
    if (other == NULL)
        skip();
    a = ctx_open(TPM_PROVIDER_TPM, dir, NULL);
    assert_int_equal(tpm_hmac_key_import(a, "prt_session", key32, sizeof(key32)), LJ_OK);
    tpm_close(a);
    before = file_read(&blen);
    b = ctx_open(TPM_PROVIDER_TPM, dir, other);
    assert_int_equal(tpm_hmac_sha256(b, "prt_session", msg, 8, out), LJ_ERR_TPM_WRONG_TPM);
    assert_no_transients(b, TPM_PROVIDER_TPM);
    tpm_close(b);
    after = file_read(&alen);
    assert_int_equal(alen, blen);
    assert_memory_equal(after, before, blen);
    free(before);
    free(after);
}

/* A key file of one provider opened with the other is LJ_ERR_STATE. */
static void
test_other_provider(void **state)
{
    struct tpm_ctx *s, *t;
    unsigned char out[32];

    (void)state;
    t = ctx_open(TPM_PROVIDER_TPM, dir, NULL);
    s = lj_test_soft_tpm(dir);
    assert_int_equal(tpm_hmac_key_import(s, "soft_made", key32, sizeof(key32)), LJ_OK);
    assert_int_equal(tpm_hmac_key_import(t, "tpm_made", key32, sizeof(key32)), LJ_OK);
    assert_int_equal(tpm_hmac_sha256(t, "soft_made", msg, 8, out), LJ_ERR_STATE);
    assert_int_equal(tpm_hmac_sha256(s, "tpm_made", msg, 8, out), LJ_ERR_STATE);
    assert_no_transients(t, TPM_PROVIDER_TPM);
    tpm_close(s);
    tpm_close(t);
}

/* Leave/reset: a NAME.hkey alone is "something to wipe", and tpm_keys_remove deletes it. */
static void
test_wipe(void **state)
{
    struct tpm_ctx *t = lj_test_soft_tpm(dir);
    char p[300];

    (void)state;
    assert_false(tpm_files_present(dir));
    assert_int_equal(tpm_hmac_key_import(t, "prt_session", key32, sizeof(key32)), LJ_OK);
    assert_int_equal(tpm_hmac_key_import(t, "other", key32, sizeof(key32)), LJ_OK);
    tpm_close(t);
    /* Only the key files: the soft wrapping key goes with the sealed files. */
    snprintf(p, sizeof(p), "%s/soft-seal.key", dir);
    assert_int_equal(lj_fs_remove(p), LJ_OK);
    assert_true(tpm_files_present(dir));
    /* Not ours: left alone. */
    snprintf(p, sizeof(p), "%s/Upper.hkey", dir);
    assert_int_equal(lj_fs_write_atomic(p, "x", 1, 0600), LJ_OK);
    assert_int_equal(tpm_keys_remove(dir), LJ_OK);
    assert_false(tpm_hmac_key_present(dir, "prt_session"));
    assert_false(tpm_hmac_key_present(dir, "other"));
    assert_false(tpm_files_present(dir));
    assert_true(lj_fs_exists(p));
    assert_int_equal(tpm_keys_remove("/tmp/lj-test-hkey-does-not-exist/x"), LJ_OK);
}

static double
ms_since(const struct timespec *a)
{
    struct timespec b;

    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* LJ_BENCH_HKEY_OUT=DIR: the per-call times into DIR/PROVIDER-WHAT.ms, one a line (make bench). */
static void
bench_save(const char *what, enum tpm_provider p, const double *ms, int n)
{
    const char *d = getenv("LJ_BENCH_HKEY_OUT");
    char fp[512];
    FILE *f;

    if (d == NULL || d[0] == '\0')
        return;
    snprintf(fp, sizeof(fp), "%s/%s-%s.ms", d, p == TPM_PROVIDER_TPM ? "tpm" : "soft", what);
    f = fopen(fp, "w");
    assert_non_null(f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%.3f\n", ms[i]);
    assert_int_equal(fclose(f), 0);
}

/* Not a test: LJ_BENCH_HKEY=N prints median/p95 of N imports and N HMACs. */
static void
bench(void **state)
{
    const char *n_s = getenv("LJ_BENCH_HKEY");
    struct tpm_ctx *t;
    unsigned char in[67], out[32];
    double *imp, *mac;
    int n = 0;

    if (n_s != NULL)
        n = (int)strtol(n_s, NULL, 10);
    if (n <= 0 || n > 10000)
        skip();
    t = ctx_open(prov(state), dir, NULL);
    imp = calloc((size_t)n, sizeof(double));
    mac = calloc((size_t)n, sizeof(double));
    assert_non_null(imp);
    assert_non_null(mac);
    memset(in, 7, sizeof(in));
    for (int i = 0; i < n; i++) {
        struct timespec a;
        clock_gettime(CLOCK_MONOTONIC, &a);
        assert_int_equal(tpm_hmac_key_import(t, "bench", key32, sizeof(key32)), LJ_OK);
        imp[i] = ms_since(&a);
    }
    for (int i = 0; i < n; i++) {
        struct timespec a;
        clock_gettime(CLOCK_MONOTONIC, &a);
        assert_int_equal(tpm_hmac_sha256(t, "bench", in, sizeof(in), out), LJ_OK);
        mac[i] = ms_since(&a);
    }
    bench_save("import", prov(state), imp, n);
    bench_save("hmac", prov(state), mac, n);
    qsort(imp, (size_t)n, sizeof(double), cmp_double);
    qsort(mac, (size_t)n, sizeof(double), cmp_double);
    print_message("bench provider=%s n=%d import_ms median=%.2f p95=%.2f hmac_ms median=%.2f "
                  "p95=%.2f\n",
                  prov(state) == TPM_PROVIDER_TPM ? "tpm" : "soft", n, imp[n / 2],
                  imp[(n * 95 + 99) / 100 - 1], mac[n / 2], mac[(n * 95 + 99) / 100 - 1]);
    free(imp);
    free(mac);
    assert_no_transients(t, prov(state));
    tpm_close(t);
}

/*
 * With the parent held (the PRT and Intune sequence): one salted session
 * and the loaded key are reused, and the results are the same as without:
 * two HMACs with the key, a re-imported key (another blob: the held one
 * must not answer), a seal and unseal in between (the session changes
 * direction), a prepared session; after the release nothing stays loaded.
 */
static void
test_held_parent(void **state)
{
    struct tpm_ctx *t = ctx_open(prov(state), dir, NULL);
    unsigned char other[48], out[32], want[32], *data = NULL;
    size_t len = 0;

    memset(other, 0x3c, sizeof(other));
    assert_int_equal(tpm_parent_hold(t, true), LJ_OK);
    tpm_hold_prepare_start(t);
    tpm_hold_prepare_start(t); /* one queued: collected, queued again */
    assert_int_equal(tpm_hmac_key_import(t, "prt_session", key32, sizeof(key32)), LJ_OK);
    hmac_ref(key32, sizeof(key32), msg, sizeof(msg) - 1, want);
    for (int i = 0; i < 2; i++) {
        memset(out, 0, sizeof(out));
        assert_int_equal(tpm_hmac_sha256(t, "prt_session", msg, sizeof(msg) - 1, out), LJ_OK);
        assert_memory_equal(out, want, 32);
    }
    assert_int_equal(tpm_seal(t, "prt", (const unsigned char *)"a-prt", 5), LJ_OK);
    assert_int_equal(tpm_unseal(t, "prt", &data, &len), LJ_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "a-prt", 5);
    lj_secure_free(data, len);
    assert_int_equal(tpm_hmac_key_import(t, "prt_session", other, sizeof(other)), LJ_OK);
    assert_int_equal(tpm_hmac_sha256(t, "prt_session", msg, sizeof(msg) - 1, out), LJ_OK);
    hmac_ref(other, sizeof(other), msg, sizeof(msg) - 1, want);
    assert_memory_equal(out, want, 32);
    assert_int_equal(tpm_parent_hold(t, false), LJ_OK);
    assert_no_transients(t, prov(state));
    tpm_close(t);
}

/*
 * The PRT session key as the agent takes it (agent/core prt): Entra ID
 * sends it RSA-OAEP-SHA1 (MGF1-SHA1, empty label) encrypted to the
 * transport key ([MS-OAPXBC] 3.1.5.1.2.3; ROADtools roadlib
 * deviceauth.py decrypt_auth_response uses padding.OAEP(MGF1(SHA1()),
 * SHA1(), None)); tpm_transport_decrypt gives it back and
 * tpm_hmac_key_import keeps it; with the parent held (the PRT sequence)
 * and not.  The key is vectors[2]'s: test_tpm_hkey.sh
 * nothing_secret_on_bus looks for it in the RSA_Decrypt responses.
 */
static void
test_session_key_taken(void **state)
{
    struct tpm_ctx *t = ctx_open(prov(state), dir, NULL);
    struct tpm_rsa_pub pub;
    unsigned char key[32], ct[256], *pt = NULL, out[32], want[32];
    size_t pt_len = 0;
    RsaKey rsa;
    WC_RNG rng;

    assert_int_equal(lj_test_unhex(vectors[2].key_hex, key, sizeof(key)), 32);
    assert_int_equal(tpm_keys_ensure(t, NULL), LJ_OK);
    assert_int_equal(tpm_transport_pub(t, &pub), LJ_OK);
    assert_int_equal(wc_InitRng(&rng), 0);
    assert_int_equal(wc_InitRsaKey(&rsa, NULL), 0);
    assert_int_equal(
        wc_RsaPublicKeyDecodeRaw(pub.n, (word32)pub.n_len, pub.e, (word32)pub.e_len, &rsa), 0);
    assert_int_equal(wc_RsaPublicEncrypt_ex(key, sizeof(key), ct, sizeof(ct), &rsa, &rng,
                                            WC_RSA_OAEP_PAD, WC_HASH_TYPE_SHA, WC_MGF1SHA1, NULL,
                                            0),
                     256);
    wc_FreeRsaKey(&rsa);
    wc_FreeRng(&rng);
    hmac_ref(key, sizeof(key), msg, sizeof(msg) - 1, want);
    for (int held = 0; held < 2; held++) {
        assert_int_equal(tpm_parent_hold(t, held == 1), LJ_OK);
        assert_int_equal(tpm_transport_decrypt(t, TPM_OAEP_SHA1, ct, sizeof(ct), &pt, &pt_len),
                         LJ_OK);
        assert_int_equal(pt_len, 32);
        assert_memory_equal(pt, key, 32);
        assert_int_equal(tpm_hmac_key_import(t, "prt_session", pt, pt_len), LJ_OK);
        lj_secure_free(pt, pt_len);
        pt = NULL;
        memset(out, 0, sizeof(out));
        assert_int_equal(tpm_hmac_sha256(t, "prt_session", msg, sizeof(msg) - 1, out), LJ_OK);
        assert_memory_equal(out, want, 32);
        /* a ciphertext that does not decrypt: refused, the next one works */
        ct[100] ^= 1;
        assert_int_equal(tpm_transport_decrypt(t, TPM_OAEP_SHA1, ct, sizeof(ct), &pt, &pt_len),
                         LJ_ERR_CRYPTO);
        assert_null(pt);
        ct[100] ^= 1;
        assert_int_equal(tpm_transport_decrypt(t, TPM_OAEP_SHA1, ct, sizeof(ct), &pt, &pt_len),
                         LJ_OK);
        assert_memory_equal(pt, key, 32);
        lj_secure_free(pt, pt_len);
        pt = NULL;
    }
    assert_int_equal(tpm_parent_hold(t, false), LJ_OK);
    lj_err_clear();
    lj_secure_zero(key, sizeof(key));
    assert_no_transients(t, prov(state));
    tpm_close(t);
}

#define SOFT(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, (void *)&soft)
#define HW(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, (void *)&hw)

/*
 * The TPM groups run only with LJ_TEST_TCTI (and the wrong-TPM one with
 * LJ_TEST_TCTI_OTHER), the bench only with LJ_BENCH_HKEY: cmocka reports a
 * skipped test as "not ok", which tests/run.sh counts as a failure.
 */
int
main(void)
{
    const struct CMUnitTest soft_tests[] = {
        SOFT(test_kdf_vectors),
        SOFT(test_file_holds_no_key),
        SOFT(test_reimport_replaces),
        SOFT(test_corrupt),
        SOFT(test_missing),
        SOFT(test_bad_lengths),
        SOFT(test_held_parent),
        SOFT(test_session_key_taken),
        cmocka_unit_test_setup_teardown(test_soft_other_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wipe, setup, teardown),
    };
    const struct CMUnitTest tpm_tests[] = {
        HW(test_kdf_vectors),
        HW(test_file_holds_no_key),
        HW(test_reimport_replaces),
        HW(test_corrupt),
        HW(test_missing),
        HW(test_bad_lengths),
        HW(test_held_parent),
        HW(test_session_key_taken),
        cmocka_unit_test_setup_teardown(test_other_provider, setup, teardown),
    };
    const struct CMUnitTest two_tpm_tests[] = {
        cmocka_unit_test_setup_teardown(test_wrong_tpm, setup, teardown),
    };
    const struct CMUnitTest bench_tests[] = {SOFT(bench), HW(bench)};
    int failed = cmocka_run_group_tests_name("soft", soft_tests, NULL, NULL);

    if (env_tcti("LJ_TEST_TCTI") != NULL)
        failed += cmocka_run_group_tests_name("tpm", tpm_tests, NULL, NULL);
    if (env_tcti("LJ_TEST_TCTI") != NULL && env_tcti("LJ_TEST_TCTI_OTHER") != NULL)
        failed += cmocka_run_group_tests_name("two_tpms", two_tpm_tests, NULL, NULL);
    if (getenv("LJ_BENCH_HKEY") != NULL && env_tcti("LJ_TEST_TCTI") != NULL)
        failed += cmocka_run_group_tests_name("bench", bench_tests, NULL, NULL);
    return failed;
}
