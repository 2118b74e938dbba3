/*
 * Unit tests for tpm/tpm.c (the tpm.h API) through the software key
 * provider (no TPM needed): create/reuse, CSR, signature, OAEP decrypt, RSA1
 * blob, describe, async keygen, record checks, remove.  The TPM provider is
 * covered by tests/integration/test_tpm_csr.sh against swtpm.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

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

/* Keys are created once, reused after reopening, and described as soft. */
static void
test_create_then_reuse(void **state)
{
    struct tpm_ctx *t;
    struct tpm_rsa_pub p1, p2;
    struct tpm_describe d;
    struct stat st;
    char path[128];
    bool created = false;

    (void)state;
    assert_false(tpm_keys_present(dir));
    t = lj_test_soft_tpm(dir);
    assert_int_equal(tpm_keys_ensure(t, &created), LJ_OK);
    assert_true(created);
    assert_int_equal(tpm_device_pub(t, &p1), LJ_OK);
    assert_int_equal(p1.n_len, 256);
    assert_int_equal(p1.e_len, 3);
    tpm_describe(t, &d);
    assert_string_equal(d.provider, "soft");
    assert_false(d.tpm_protected);
    assert_true(d.keys_loaded);
    tpm_close(t);
    assert_true(tpm_keys_present(dir));
    snprintf(path, sizeof(path), "%s/soft-device.der", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    t = lj_test_soft_tpm(dir);
    assert_int_equal(tpm_keys_ensure(t, &created), LJ_OK);
    assert_false(created);
    assert_int_equal(tpm_device_pub(t, &p2), LJ_OK);
    assert_memory_equal(p1.n, p2.n, 256);
    tpm_close(t);
}

/* Signature over a digest verifies with the public key. */
static void
test_sign_verifies(void **state)
{
    struct tpm_ctx *t = lj_test_soft_tpm(dir);
    struct tpm_rsa_pub pub;
    unsigned char digest[32], sig[TPM_RSA_BYTES], plain[512], enc[64];
    size_t sig_len = 0;
    word32 enc_len;
    RsaKey key;
    int n;

    (void)state;
    assert_int_equal(tpm_keys_ensure(t, NULL), LJ_OK);
    assert_int_equal(tpm_device_pub(t, &pub), LJ_OK);
    memset(digest, 0x5a, sizeof(digest));
    assert_int_equal(tpm_sign_sha256(t, digest, sig, &sig_len), LJ_OK);
    assert_int_equal(sig_len, TPM_RSA_BYTES);
    assert_int_equal(wc_InitRsaKey(&key, NULL), 0);
    assert_int_equal(
        wc_RsaPublicKeyDecodeRaw(pub.n, (word32)pub.n_len, pub.e, (word32)pub.e_len, &key), 0);
    n = wc_RsaSSL_Verify(sig, (word32)sig_len, plain, sizeof(plain), &key);
    enc_len = wc_EncodeSignature(enc, digest, 32, wc_HashGetOID(WC_HASH_TYPE_SHA256));
    assert_int_equal(n, (int)enc_len);
    assert_memory_equal(plain, enc, enc_len);
    wc_FreeRsaKey(&key);
    tpm_close(t);
}

/* ct gets RSA-OAEP(hash, MGF1 with the same hash, empty label) of msg to pub. */
static void
oaep_encrypt(const struct tpm_rsa_pub *pub, enum wc_HashType ht, int mgf, const char *msg,
             unsigned char ct[256])
{
    RsaKey key;
    WC_RNG rng;

    assert_int_equal(wc_InitRng(&rng), 0);
    assert_int_equal(wc_InitRsaKey(&key, NULL), 0);
    assert_int_equal(
        wc_RsaPublicKeyDecodeRaw(pub->n, (word32)pub->n_len, pub->e, (word32)pub->e_len, &key), 0);
    assert_int_equal(wc_RsaPublicEncrypt_ex((const byte *)msg, (word32)strlen(msg), ct, 256, &key,
                                            &rng, WC_RSA_OAEP_PAD, ht, mgf, NULL, 0),
                     256);
    wc_FreeRsaKey(&key);
    wc_FreeRng(&rng);
}

/* What a peer encrypts with OAEP-SHA256 to the transport key comes back. */
static void
test_oaep_sha256_round_trip(void **state)
{
    struct tpm_ctx *t = lj_test_soft_tpm(dir);
    struct tpm_rsa_pub pub;
    unsigned char ct[256], *pt = NULL;
    size_t pt_len = 0;

    (void)state;
    assert_int_equal(tpm_keys_ensure(t, NULL), LJ_OK);
    assert_int_equal(tpm_transport_pub(t, &pub), LJ_OK);
    oaep_encrypt(&pub, WC_HASH_TYPE_SHA256, WC_MGF1SHA256, "session-key", ct);
    assert_int_equal(tpm_transport_decrypt(t, TPM_OAEP_SHA256, ct, 256, &pt, &pt_len), LJ_OK);
    assert_int_equal(pt_len, 11);
    assert_memory_equal(pt, "session-key", 11);
    lj_secure_free(pt, pt_len);
    ct[100] ^= 1;
    pt = NULL;
    assert_int_equal(tpm_transport_decrypt(t, TPM_OAEP_SHA256, ct, 256, &pt, &pt_len),
                     LJ_ERR_CRYPTO);
    assert_null(pt);
    lj_err_clear();
    tpm_close(t);
}

/*
 * OAEP-SHA1 with MGF1-SHA1, what Entra ID uses for a PRT session key
 * ([MS-OAPXBC] 3.1.5.1.2.3): a 32-byte key comes back.
 */
static void
test_oaep_sha1_round_trip(void **state)
{
    static const char key32[] = "0123456789abcdef0123456789ABCDEF";
    struct tpm_ctx *t = lj_test_soft_tpm(dir);
    struct tpm_rsa_pub pub;
    unsigned char ct[256], *pt = NULL;
    size_t pt_len = 0;

    (void)state;
    assert_int_equal(tpm_keys_ensure(t, NULL), LJ_OK);
    assert_int_equal(tpm_transport_pub(t, &pub), LJ_OK);
    oaep_encrypt(&pub, WC_HASH_TYPE_SHA, WC_MGF1SHA1, key32, ct);
    assert_int_equal(tpm_transport_decrypt(t, TPM_OAEP_SHA1, ct, 256, &pt, &pt_len), LJ_OK);
    assert_int_equal(pt_len, 32);
    assert_memory_equal(pt, key32, 32);
    lj_secure_free(pt, pt_len);
    tpm_close(t);
}

/* The wrong hash, a short ciphertext, an unknown hash: each its own lj_rc. */
static void
test_oaep_wrong_hash_fails(void **state)
{
    struct tpm_ctx *t = lj_test_soft_tpm(dir);
    struct tpm_rsa_pub pub;
    unsigned char ct[256], *pt = NULL;
    size_t pt_len = 0;

    (void)state;
    assert_int_equal(tpm_keys_ensure(t, NULL), LJ_OK);
    assert_int_equal(tpm_transport_pub(t, &pub), LJ_OK);
    oaep_encrypt(&pub, WC_HASH_TYPE_SHA, WC_MGF1SHA1, "sha1-ciphertext", ct);
    lj_err_clear();
    assert_int_equal(tpm_transport_decrypt(t, TPM_OAEP_SHA256, ct, 256, &pt, &pt_len),
                     LJ_ERR_CRYPTO);
    assert_null(pt);
    assert_int_equal(lj_err_code(), LJ_ERR_CRYPTO);
    assert_non_null(strstr(lj_err_detail(), "event=decrypt_failed"));
    assert_non_null(strstr(lj_err_detail(), "oaep=sha256"));
    lj_err_clear();
    oaep_encrypt(&pub, WC_HASH_TYPE_SHA256, WC_MGF1SHA256, "sha256-ciphertext", ct);
    assert_int_equal(tpm_transport_decrypt(t, TPM_OAEP_SHA1, ct, 256, &pt, &pt_len), LJ_ERR_CRYPTO);
    assert_null(pt);
    lj_err_clear();
    assert_int_equal(tpm_transport_decrypt(t, TPM_OAEP_SHA1, ct, 255, &pt, &pt_len), LJ_ERR_INVAL);
    lj_err_clear();
    assert_int_equal(tpm_transport_decrypt(t, (enum tpm_oaep_hash)7, ct, 256, &pt, &pt_len),
                     LJ_ERR_INVAL);
    assert_null(pt);
    lj_err_clear();
    /* the key still works after the failures */
    assert_int_equal(tpm_transport_decrypt(t, TPM_OAEP_SHA256, ct, 256, &pt, &pt_len), LJ_OK);
    assert_int_equal(pt_len, 17);
    assert_memory_equal(pt, "sha256-ciphertext", 17);
    lj_secure_free(pt, pt_len);
    tpm_close(t);
}

/* CSR parses back (wolfSSL) and carries the device key; blob is 283 bytes. */
static void
test_csr_and_blob(void **state)
{
    struct tpm_ctx *t = lj_test_soft_tpm(dir);
    struct tpm_rsa_pub dev, tk;
    unsigned char *der = NULL, *blob = NULL, *spki = NULL;
    size_t der_len = 0, blob_len = 0, spki_len = 0;
    char *pem = NULL;

    (void)state;
    assert_int_equal(tpm_keys_ensure(t, NULL), LJ_OK);
    assert_int_equal(tpm_csr(t, "7E980AD9-B86D-4306-9425-9AC066FB014A", &der, &der_len, &pem),
                     LJ_OK);
    assert_non_null(der);
    assert_true(der_len > 256);
    assert_true(strncmp(pem, "-----BEGIN CERTIFICATE REQUEST-----\n", 36) == 0);
    assert_int_equal(tpm_device_pub(t, &dev), LJ_OK);
    assert_int_equal(tpm_device_spki(t, &spki, &spki_len), LJ_OK);
    /* The SPKI is inside the CSR body. */
    assert_non_null(memmem(der, der_len, spki, spki_len));
    assert_non_null(memmem(der, der_len, "7E980AD9-B86D-4306-9425-9AC066FB014A", 36));
    assert_int_equal(tpm_transport_blob(t, &blob, &blob_len), LJ_OK);
    assert_int_equal(blob_len, 283);
    assert_memory_equal(blob, "RSA1", 4);
    assert_int_equal(tpm_transport_pub(t, &tk), LJ_OK);
    assert_memory_equal(blob + 27, tk.n, 256);
    free(der);
    free(pem);
    free(spki);
    free(blob);
    tpm_close(t);
}

static void
test_async_keygen(void **state)
{
    struct tpm_ctx *t = lj_test_soft_tpm(dir);
    bool created = true;

    (void)state;
    assert_int_equal(tpm_keys_ensure_start(t), LJ_OK);
    assert_int_equal(tpm_keys_ensure_start(t), LJ_ERR_INVAL); /* one at a time */
    lj_err_clear();
    assert_int_equal(tpm_keys_ensure_wait(t, &created), LJ_OK);
    assert_false(created); /* made by an earlier test */
    assert_int_equal(tpm_keys_ensure_wait(t, &created), LJ_ERR_INVAL);
    lj_err_clear();
    tpm_close(t);
}

/*
 * The join CSR signed in the background right after keygen: collected
 * once, the same request a synchronous tpm_csr makes for that key; an
 * uncollected one is freed by tpm_close (leak checkers); none started is
 * LJ_ERR_NOT_FOUND with nothing recorded.
 */
static void
test_async_csr(void **state)
{
    struct tpm_ctx *t = lj_test_soft_tpm(dir);
    struct tpm_rsa_pub pub;
    unsigned char *der = NULL;
    char *pem = NULL;
    size_t der_len = 0;
    char cn[80];

    (void)state;
    lj_err_clear();
    assert_int_equal(tpm_csr_wait(t, &der, &der_len, &pem), LJ_ERR_NOT_FOUND);
    assert_int_equal(lj_err_code(), LJ_OK);
    assert_false(tpm_csr_pending(t));
    assert_int_equal(tpm_keys_ensure_start(t), LJ_OK);
    assert_int_equal(tpm_csr_start(t, "7E980AD9-B86D-4306-9425-9AC066FB014A"), LJ_OK);
    assert_true(tpm_csr_pending(t));
    assert_int_equal(tpm_csr_start(t, "x"), LJ_ERR_INVAL); /* one at a time */
    lj_err_clear();
    assert_int_equal(tpm_keys_ensure_wait(t, NULL), LJ_OK);
    assert_int_equal(tpm_csr_wait(t, &der, &der_len, &pem), LJ_OK);
    assert_false(tpm_csr_pending(t));
    assert_non_null(der);
    assert_non_null(pem);
    assert_non_null(memmem(der, der_len, "7E980AD9-B86D-4306-9425-9AC066FB014A", 36));
    assert_int_equal(tpm_device_pub(t, &pub), LJ_OK);
    assert_non_null(memmem(der, der_len, pub.n, pub.n_len));
    assert_int_equal(tpm_csr_wait(t, NULL, NULL, NULL), LJ_ERR_NOT_FOUND);
    free(der);
    free(pem);
    /* A CN over 64 bytes is refused before anything is queued. */
    memset(cn, 'a', sizeof(cn) - 1);
    cn[sizeof(cn) - 1] = '\0';
    assert_int_equal(tpm_csr_start(t, cn), LJ_ERR_INVAL);
    lj_err_clear();
    assert_false(tpm_csr_pending(t));
    /* Started and never collected: tpm_close waits and frees it. */
    assert_int_equal(tpm_csr_start(t, "uncollected"), LJ_OK);
    tpm_close(t);
}

/* An altered key file is reported, kept, and the error reaches this thread. */
static void
test_corrupt_detected(void **state)
{
    struct tpm_ctx *t;
    char path[128];
    unsigned char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    FILE *f;

    (void)state;
    snprintf(path, sizeof(path), "%s/soft-transport.der", dir);
    f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 40, SEEK_SET), 0);
    {
        int c = fgetc(f); /* flip bits: writing a constant is a no-op 1 time in 256 */
        assert_true(c != EOF);
        assert_int_equal(fseek(f, 40, SEEK_SET), 0);
        fputc(c ^ 0x42, f);
    }
    fclose(f);
    assert_int_equal(lj_fs_read(path, 8192, &a, &alen), LJ_OK);
    lj_err_clear();
    t = lj_test_soft_tpm(dir);
    assert_int_equal(tpm_keys_ensure(t, NULL), LJ_ERR_KEYS_CORRUPT);
    assert_int_equal(lj_err_code(), LJ_ERR_KEYS_CORRUPT);
    assert_non_null(strstr(lj_err_detail(), "soft-transport.der"));
    lj_err_clear();
    tpm_close(t);
    assert_int_equal(lj_fs_read(path, 8192, &b, &blen), LJ_OK);
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, alen);
    free(a);
    free(b);
}

static void
test_remove(void **state)
{
    struct tpm_ctx *t;
    bool created = false;

    (void)state;
    assert_int_equal(tpm_keys_remove(dir), LJ_OK);
    assert_false(tpm_keys_present(dir));
    t = lj_test_soft_tpm(dir);
    assert_int_equal(tpm_keys_ensure(t, &created), LJ_OK);
    assert_true(created);
    tpm_close(t);
}

static void
test_keys_needed(void **state)
{
    struct tpm_open_opts o = {.state_dir = dir, .provider = TPM_PROVIDER_SOFT};
    struct tpm_ctx *t = NULL;
    struct tpm_rsa_pub p;

    (void)state;
    assert_int_equal(tpm_open(&o, &t), LJ_OK);
    assert_int_equal(tpm_device_pub(t, &p), LJ_ERR_INTERNAL);
    lj_err_clear();
    tpm_close(t);
    tpm_close(NULL);
}

/* Replace the format line of dir/keys.rec with fmt (the checksums cover only the key files). */
static void
set_record_format(const char *d, const char *fmt)
{
    char path[600], text[2048];
    unsigned char *buf = NULL;
    size_t len = 0;
    char *nl;
    int n;

    snprintf(path, sizeof(path), "%s/keys.rec", d);
    assert_int_equal(lj_fs_read(path, 4096, &buf, &len), LJ_OK);
    assert_true(len > 7 && memcmp(buf, "format=", 7) == 0);
    nl = memchr(buf, '\n', len);
    assert_non_null(nl);
    n = snprintf(text, sizeof(text), "format=%s%.*s", fmt, (int)(len - (size_t)(nl - (char *)buf)),
                 nl);
    assert_true(n > 0 && (size_t)n < sizeof(text));
    assert_int_equal(lj_fs_write_atomic(path, text, (size_t)n, 0600), LJ_OK);
    free(buf);
}

/*
 * Keys made under key record version 1 (transport key fixed to
 * OAEP-SHA256, no noDA) are lost keys, with the reason in the error and
 * every file left as it was; version 2 is what is written now; an unknown
 * (newer) version is a corrupt record.
 */
static void
test_old_record_version_is_lost(void **state)
{
    char sub[600], path[700];
    unsigned char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    struct tpm_ctx *t;

    (void)state;
    snprintf(sub, sizeof(sub), "%s/old-version", dir);
    t = lj_test_soft_tpm(sub);
    assert_int_equal(tpm_keys_ensure(t, NULL), LJ_OK);
    tpm_close(t);
    snprintf(path, sizeof(path), "%s/keys.rec", sub);
    assert_int_equal(lj_fs_read(path, 4096, &a, &alen), LJ_OK);
    assert_true(alen > 24 && memcmp(a, "format=linkjoin-keys-2\n", 23) == 0);
    free(a);
    a = NULL;
    assert_false(tpm_keys_record_old(sub));

    set_record_format(sub, "linkjoin-keys-1");
    assert_true(tpm_keys_record_old(sub));
    assert_int_equal(lj_fs_read(path, 4096, &a, &alen), LJ_OK);
    lj_err_clear();
    t = lj_test_soft_tpm(sub);
    assert_int_equal(tpm_keys_ensure(t, NULL), LJ_ERR_TPM_KEYS_LOST);
    assert_int_equal(lj_err_code(), LJ_ERR_TPM_KEYS_LOST);
    assert_non_null(strstr(lj_err_detail(), "event=keys_record_old_version"));
    assert_non_null(strstr(lj_err_detail(), "version=1 current=2"));
    lj_err_clear();
    tpm_close(t);
    assert_int_equal(lj_fs_read(path, 4096, &b, &blen), LJ_OK);
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, alen);
    snprintf(path, sizeof(path), "%s/soft-transport.der", sub);
    assert_true(lj_fs_exists(path));

    set_record_format(sub, "linkjoin-keys-3");
    assert_false(tpm_keys_record_old(sub));
    t = lj_test_soft_tpm(sub);
    assert_int_equal(tpm_keys_ensure(t, NULL), LJ_ERR_KEYS_CORRUPT);
    lj_err_clear();
    tpm_close(t);
    free(a);
    free(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_then_reuse),
        cmocka_unit_test(test_sign_verifies),
        cmocka_unit_test(test_oaep_sha256_round_trip),
        cmocka_unit_test(test_oaep_sha1_round_trip),
        cmocka_unit_test(test_oaep_wrong_hash_fails),
        cmocka_unit_test(test_csr_and_blob),
        cmocka_unit_test(test_async_keygen),
        cmocka_unit_test(test_async_csr),
        cmocka_unit_test(test_corrupt_detected),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_keys_needed),
        cmocka_unit_test(test_old_record_version_is_lost),
    };
    return cmocka_run_group_tests_name("tpm", tests, setup, teardown);
}
