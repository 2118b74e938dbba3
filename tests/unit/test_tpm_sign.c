/*
 * Unit tests for the device key's signatures (tpm/tpm.c tpm_sign and
 * tpm_sign_sha256, tpm/esys.c and tpm/soft.c): RSASSA-PKCS1-v1_5 and
 * RSASSA-PSS with SHA-256, SHA-384 and SHA-512 (TLS rsa_pkcs1_* and
 * rsa_pss_rsae_*, RFC 8446 4.2.3) on both key providers.  The soft provider always runs; the TPM
 * provider runs when LJ_TEST_TCTI names a TCTI (a fresh swtpm started by
 * tests/integration/test_tpm_sign.sh), else that group is left out.
 *
 * RSASSA-PSS as TLS wants it (RFC 8446 4.2.3 rsa_pss_rsae_*; RFC 8017
 * 9.1 with sLen = hLen): each signature is checked with wolfSSL for a salt
 * exactly as long as the digest (32, 48, 64 bytes), and tpm_rsa_sig_check
 * (which tpm/ runs on every signature of the TPM) refuses a larger salt.
 * With LJ_TEST_SIG_OUT=DIR the TPM group also writes the device key
 * (DIR/device.spki.der), a digest (DIR/digest.bin) and its signatures
 * (DIR/sig.pss, DIR/sig.pkcs1), and for SHA-384/512 another key
 * (DIR/device-sha2.spki.der), DIR/digest384.bin, DIR/digest512.bin and
 * DIR/sig384.pss, .pkcs1, DIR/sig512.pss, .pkcs1 there, for test_tpm_sign.sh to verify with
 * `openssl pkeyutl` (rsa_pss_saltlen:digest, OpenSSL's TLS check).
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

#include <cmocka.h>

#include "platform/common/fsutil.h"
#include "tpm/backend.h"
#include "tpm/tpm.h"
#include "tests/unit/testutil.h"

static char *dir;
static const enum tpm_provider soft = TPM_PROVIDER_SOFT, hw = TPM_PROVIDER_TPM;

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
    unsetenv("LJ_TEST_DEVICE_KEY");
    rc = lj_test_rmdir(dir);
    free(dir);
    dir = NULL;
    return rc;
}

static const char *
env_str(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

static enum tpm_provider
prov(void **state)
{
    return *(const enum tpm_provider *)*state;
}

/* A context of provider p on dir (TPM: LJ_TEST_TCTI) with its keys ensured. */
static struct tpm_ctx *
ctx_open(enum tpm_provider p)
{
    struct tpm_open_opts o = {.state_dir = dir, .provider = p};
    struct tpm_ctx *t = NULL;

    if (p == TPM_PROVIDER_SOFT) {
        t = lj_test_soft_tpm(dir);
    } else {
        o.tcti = env_str("LJ_TEST_TCTI");
        assert_non_null(o.tcti);
        assert_int_equal(tpm_open(&o, &t), LJ_OK);
    }
    assert_int_equal(tpm_keys_ensure(t, NULL), LJ_OK);
    return t;
}

static void
assert_no_transients(struct tpm_ctx *t, enum tpm_provider p)
{
    unsigned n = 99;

    if (p != TPM_PROVIDER_TPM)
        return;
    assert_int_equal(tpm_transient_count(t, &n), LJ_OK);
    assert_int_equal(n, 0);
}

static void
key_of(struct tpm_ctx *t, RsaKey *key)
{
    struct tpm_rsa_pub pub;

    assert_int_equal(tpm_device_pub(t, &pub), LJ_OK);
    assert_int_equal(wc_InitRsaKey(key, NULL), 0);
    assert_int_equal(
        wc_RsaPublicKeyDecodeRaw(pub.n, (word32)pub.n_len, pub.e, (word32)pub.e_len, key), 0);
}

static enum wc_HashType
wc_type(enum tpm_hash h)
{
    return h == TPM_HASH_SHA512   ? WC_HASH_TYPE_SHA512
           : h == TPM_HASH_SHA384 ? WC_HASH_TYPE_SHA384
                                  : WC_HASH_TYPE_SHA256;
}

static int
wc_mgf(enum tpm_hash h)
{
    return h == TPM_HASH_SHA512   ? WC_MGF1SHA512
           : h == TPM_HASH_SHA384 ? WC_MGF1SHA384
                                  : WC_MGF1SHA256;
}

/* sig is RSASSA-PSS (hash h, MGF1 of h) over digest with a salt of exactly saltlen bytes. */
static bool
pss_ok_h(RsaKey *key, enum tpm_hash h, const unsigned char *sig, const unsigned char *digest,
         int saltlen)
{
    unsigned char buf[TPM_RSA_BYTES], *out = NULL;
    int n;

    memcpy(buf, sig, sizeof(buf));
    n = wc_RsaPSS_VerifyInline_ex(buf, sizeof(buf), &out, wc_type(h), wc_mgf(h), saltlen, key);
    return n > 0 && wc_RsaPSS_CheckPadding_ex(digest, (word32)h, out, (word32)n, wc_type(h),
                                              saltlen, wc_RsaEncryptSize(key) * 8) == 0;
}

static bool
pss_ok(RsaKey *key, const unsigned char *sig, const unsigned char digest[32], int saltlen)
{
    return pss_ok_h(key, TPM_HASH_SHA256, sig, digest, saltlen);
}

/* sig is RSASSA-PKCS1-v1_5 over h's DigestInfo of digest. */
static bool
pkcs1_ok_h(RsaKey *key, enum tpm_hash h, const unsigned char *sig, const unsigned char *digest)
{
    unsigned char plain[TPM_RSA_BYTES], enc[96];
    word32 enc_len = wc_EncodeSignature(enc, digest, (word32)h, wc_HashGetOID(wc_type(h)));
    int n = wc_RsaSSL_Verify(sig, TPM_RSA_BYTES, plain, sizeof(plain), key);

    return n == (int)enc_len && memcmp(plain, enc, enc_len) == 0;
}

static bool
pkcs1_ok(RsaKey *key, const unsigned char *sig, const unsigned char digest[32])
{
    return pkcs1_ok_h(key, TPM_HASH_SHA256, sig, digest);
}

static void
save(const char *out, const char *name, const void *data, size_t len)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s", out, name);
    assert_int_equal(lj_fs_write_atomic(path, data, len, 0600), LJ_OK);
}

/*
 * A new device key signs both schemes: PKCS#1 v1.5 (the CSR, RS256 JWTs)
 * and PSS with salt = digest length (TLS); PSS is randomised (two
 * signatures of one digest differ) and neither verifies as the other.
 */
static void
test_new_key_signs_both(void **state)
{
    struct tpm_ctx *t = ctx_open(prov(state));
    unsigned char digest[32], pss[TPM_RSA_BYTES], pss2[TPM_RSA_BYTES], ssa[TPM_RSA_BYTES];
    size_t len = 0;
    RsaKey key;
    const char *out = env_str("LJ_TEST_SIG_OUT");

    memset(digest, 0xa5, sizeof(digest));
    assert_int_equal(tpm_sign(t, TPM_SIG_RSAPSS, TPM_HASH_SHA256, digest, pss, &len), LJ_OK);
    assert_int_equal(len, TPM_RSA_BYTES);
    assert_int_equal(tpm_sign(t, TPM_SIG_RSAPSS, TPM_HASH_SHA256, digest, pss2, &len), LJ_OK);
    assert_int_equal(tpm_sign_sha256(t, digest, ssa, &len), LJ_OK);
    assert_int_equal(len, TPM_RSA_BYTES);
    key_of(t, &key);
    assert_true(pss_ok(&key, pss, digest, 32));
    assert_true(pss_ok(&key, pss2, digest, 32));
    assert_memory_not_equal(pss, pss2, sizeof(pss));
    assert_true(pkcs1_ok(&key, ssa, digest));
    assert_false(pkcs1_ok(&key, pss, digest));
    assert_false(pss_ok(&key, ssa, digest, 32));
    digest[0] ^= 1;
    assert_false(pss_ok(&key, pss, digest, 32));
    digest[0] ^= 1;
    wc_FreeRsaKey(&key);
    if (out != NULL && prov(state) == TPM_PROVIDER_TPM) {
        unsigned char *spki = NULL;
        size_t spki_len = 0;

        assert_int_equal(tpm_device_spki(t, &spki, &spki_len), LJ_OK);
        save(out, "device.spki.der", spki, spki_len);
        save(out, "digest.bin", digest, sizeof(digest));
        save(out, "sig.pss", pss, sizeof(pss));
        save(out, "sig.pkcs1", ssa, sizeof(ssa));
        free(spki);
    }
    assert_no_transients(t, prov(state));
    tpm_close(t);
}

/* The keys made by one context sign PSS after a reopen (the template check accepts them). */
static void
test_pss_after_reopen(void **state)
{
    struct tpm_ctx *t = ctx_open(prov(state));
    unsigned char digest[32], sig[TPM_RSA_BYTES];
    size_t len = 0;
    bool created = true;
    RsaKey key;

    tpm_close(t);
    t = ctx_open(prov(state));
    assert_int_equal(tpm_keys_ensure(t, &created), LJ_OK);
    assert_false(created);
    memset(digest, 0x3c, sizeof(digest));
    assert_int_equal(tpm_sign(t, TPM_SIG_RSAPSS, TPM_HASH_SHA256, digest, sig, &len), LJ_OK);
    key_of(t, &key);
    assert_true(pss_ok(&key, sig, digest, 32));
    wc_FreeRsaKey(&key);
    assert_no_transients(t, prov(state));
    tpm_close(t);
}

/*
 * A device key of the earlier template (scheme RSASSA-SHA256, made here
 * through the LJ_TEST_DEVICE_KEY=rsassa hook) still loads after a reopen
 * and signs PKCS#1 v1.5; PSS is refused by name, before the TPM is asked.
 */
static void
test_old_key_refuses_pss(void **state)
{
    struct tpm_ctx *t;
    unsigned char digest[32], digest384[48], sig[TPM_RSA_BYTES];
    size_t len = 0;
    RsaKey key;
    struct tpm_describe d;

    (void)state;
    setenv("LJ_TEST_HOOKS", "1", 1);
    setenv("LJ_TEST_DEVICE_KEY", "rsassa", 1);
    t = ctx_open(TPM_PROVIDER_TPM);
    unsetenv("LJ_TEST_DEVICE_KEY");
    tpm_close(t);
    t = ctx_open(TPM_PROVIDER_TPM);
    memset(digest, 0x77, sizeof(digest));
    memset(digest384, 0x78, sizeof(digest384));
    lj_err_clear();
    /* `linkjoin status` reads the template from device.pub, without the TPM */
    assert_int_equal(tpm_keys_describe_dir(dir, &d), LJ_OK);
    assert_int_equal(d.dev_scheme, TPM_DEV_SCHEME_RSASSA);
    assert_string_equal(tpm_dev_scheme_name(d.dev_scheme), "rsassa");
    assert_int_equal(d.dev_bits, 2048);
    assert_int_equal(tpm_sign(t, TPM_SIG_RSAPSS, TPM_HASH_SHA256, digest, sig, &len),
                     LJ_ERR_KEY_SCHEME);
    assert_non_null(strstr(lj_err_detail(), "event=sign_refused scheme=rsa_pss reason=\"the "
                                            "device key was made for RSASSA-PKCS1-v1_5 only"));
    lj_err_clear();
    /* rsa_pkcs1_sha384: the key's scheme is RSASSA-SHA256, so refused by name too */
    assert_int_equal(tpm_sign(t, TPM_SIG_RSASSA, TPM_HASH_SHA384, digest384, sig, &len),
                     LJ_ERR_KEY_SCHEME);
    assert_string_equal(lj_err_detail(),
                        "event=sign_refused scheme=rsassa hash=sha384 reason=\"the device key "
                        "was made for SHA-256 only (the template of earlier versions); sha384 "
                        "needs a key of the current template, made by a new join\"");
    lj_err_clear();
    assert_int_equal(tpm_sign_sha256(t, digest, sig, &len), LJ_OK);
    key_of(t, &key);
    assert_true(pkcs1_ok(&key, sig, digest));
    wc_FreeRsaKey(&key);
    assert_no_transients(t, TPM_PROVIDER_TPM);
    tpm_close(t);
}

/*
 * tpm_rsa_sig_check, run on every signature the TPM makes: a 32-byte
 * salt passes; the largest salt (222 bytes for RSA-2048/SHA-256, what TPM
 * 2.0 Part 1 let a TPM use), another digest and a PKCS#1 v1.5 signature
 * are refused with LJ_ERR_SIG_UNSUPPORTED.
 */
static void
test_pss_check_salt(void **state)
{
    RsaKey key;
    WC_RNG rng;
    struct tpm_rsa_pub pub;
    unsigned char digest[32], other[32], d384[48], sig[TPM_RSA_BYTES], n[TPM_RSA_BYTES], e[8];
    unsigned char enc[96];
    word32 n_len = sizeof(n), e_len = sizeof(e), enc_len;

    (void)state;
    memset(digest, 0x11, sizeof(digest));
    memset(d384, 0x13, sizeof(d384));
    memset(other, 0x12, sizeof(other));
    assert_int_equal(wc_InitRng(&rng), 0);
    assert_int_equal(wc_InitRsaKey(&key, NULL), 0);
    assert_int_equal(wc_MakeRsaKey(&key, 2048, 65537, &rng), 0);
    assert_int_equal(wc_RsaFlattenPublicKey(&key, e, &e_len, n, &n_len), 0);
    assert_true(tpm_rsa_pub_set(&pub, n, n_len, e, e_len));
    assert_int_equal(wc_RsaPSS_Sign_ex(digest, 32, sig, sizeof(sig), WC_HASH_TYPE_SHA256,
                                       WC_MGF1SHA256, 32, &key, &rng),
                     TPM_RSA_BYTES);
    assert_int_equal(
        tpm_rsa_sig_check(&pub, TPM_SIG_RSAPSS, TPM_HASH_SHA256, digest, sig, sizeof(sig)), LJ_OK);
    lj_err_clear();
    assert_int_equal(
        tpm_rsa_sig_check(&pub, TPM_SIG_RSAPSS, TPM_HASH_SHA256, other, sig, sizeof(sig)),
        LJ_ERR_SIG_UNSUPPORTED);
    assert_non_null(strstr(lj_err_detail(), "does not verify with a 32-byte salt"));
    assert_int_equal(wc_RsaPSS_Sign_ex(digest, 32, sig, sizeof(sig), WC_HASH_TYPE_SHA256,
                                       WC_MGF1SHA256, 222, &key, &rng),
                     TPM_RSA_BYTES);
    lj_err_clear();
    assert_int_equal(
        tpm_rsa_sig_check(&pub, TPM_SIG_RSAPSS, TPM_HASH_SHA256, digest, sig, sizeof(sig)),
        LJ_ERR_SIG_UNSUPPORTED);
    assert_non_null(strstr(lj_err_detail(), "event=sign_refused scheme=rsa_pss hash=sha256 "
                                            "reason=\"the TPM's RSA-PSS signature does not "
                                            "verify with a 32-byte salt"));
    lj_err_clear();
    assert_int_equal(tpm_rsa_sig_check(&pub, TPM_SIG_RSAPSS, TPM_HASH_SHA256, digest, sig, 100),
                     LJ_ERR_TPM);
    lj_err_clear();
    /* SHA-384: a 48-byte salt passes, a 32-byte one is refused naming 48 */
    assert_int_equal(wc_RsaPSS_Sign_ex(d384, 48, sig, sizeof(sig), WC_HASH_TYPE_SHA384,
                                       WC_MGF1SHA384, 48, &key, &rng),
                     TPM_RSA_BYTES);
    assert_int_equal(
        tpm_rsa_sig_check(&pub, TPM_SIG_RSAPSS, TPM_HASH_SHA384, d384, sig, sizeof(sig)), LJ_OK);
    assert_int_equal(wc_RsaPSS_Sign_ex(d384, 48, sig, sizeof(sig), WC_HASH_TYPE_SHA384,
                                       WC_MGF1SHA384, 32, &key, &rng),
                     TPM_RSA_BYTES);
    assert_int_equal(
        tpm_rsa_sig_check(&pub, TPM_SIG_RSAPSS, TPM_HASH_SHA384, d384, sig, sizeof(sig)),
        LJ_ERR_SIG_UNSUPPORTED);
    assert_non_null(strstr(lj_err_detail(), "event=sign_refused scheme=rsa_pss hash=sha384 "
                                            "reason=\"the TPM's RSA-PSS signature does not "
                                            "verify with a 48-byte salt, which TLS requires\""));
    lj_err_clear();
    /* PKCS#1 v1.5: the DigestInfo must be the hash asked for */
    enc_len = wc_EncodeSignature(enc, d384, 48, wc_HashGetOID(WC_HASH_TYPE_SHA384));
    assert_int_equal(wc_RsaSSL_Sign(enc, enc_len, sig, sizeof(sig), &key, &rng), TPM_RSA_BYTES);
    assert_int_equal(
        tpm_rsa_sig_check(&pub, TPM_SIG_RSASSA, TPM_HASH_SHA384, d384, sig, sizeof(sig)), LJ_OK);
    assert_int_equal(
        tpm_rsa_sig_check(&pub, TPM_SIG_RSAPSS, TPM_HASH_SHA384, d384, sig, sizeof(sig)),
        LJ_ERR_SIG_UNSUPPORTED);
    lj_err_clear();
    d384[0] ^= 1;
    assert_int_equal(
        tpm_rsa_sig_check(&pub, TPM_SIG_RSASSA, TPM_HASH_SHA384, d384, sig, sizeof(sig)),
        LJ_ERR_TPM);
    assert_string_equal(lj_err_detail(), "event=sign_failed scheme=rsassa hash=sha384 "
                                         "reason=\"the TPM's signature does not verify\"");
    lj_err_clear();
    wc_FreeRsaKey(&key);
    wc_FreeRng(&rng);
}

/*
 * SHA-384 and SHA-512 (TLS rsa_pkcs1_sha384/512 and rsa_pss_rsae_sha384/512):
 * the TPM signs both schemes, PSS with a salt as long as the digest (48,
 * 64 bytes: libtpms's CryptRsaPssSaltSize, the digest length, which fits
 * an RSA-2048 key), which wolfSSL verifies and a 32-byte salt does not;
 * neither scheme verifies as the other or under another hash.
 */
static void
test_sha384_sha512(void **state)
{
    static const enum tpm_hash hashes[] = {TPM_HASH_SHA384, TPM_HASH_SHA512};
    struct tpm_ctx *t = ctx_open(prov(state));
    unsigned char digest[64], pss[TPM_RSA_BYTES], ssa[TPM_RSA_BYTES];
    size_t len = 0;
    RsaKey key;
    const char *out = env_str("LJ_TEST_SIG_OUT");

    key_of(t, &key);
    for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++) {
        enum tpm_hash h = hashes[i];
        int hl = (int)h;
        char name[32];

        memset(digest, 0x40 + (int)i, sizeof(digest));
        len = 0;
        assert_int_equal(tpm_sign(t, TPM_SIG_RSAPSS, h, digest, pss, &len), LJ_OK);
        assert_int_equal(len, TPM_RSA_BYTES);
        assert_int_equal(tpm_sign(t, TPM_SIG_RSASSA, h, digest, ssa, &len), LJ_OK);
        assert_int_equal(len, TPM_RSA_BYTES);
        assert_true(pss_ok_h(&key, h, pss, digest, hl));
        assert_false(pss_ok_h(&key, h, pss, digest, 32));
        assert_true(pkcs1_ok_h(&key, h, ssa, digest));
        assert_false(pkcs1_ok_h(&key, h, pss, digest));
        assert_false(pss_ok_h(&key, h, ssa, digest, hl));
        assert_false(pkcs1_ok_h(&key, TPM_HASH_SHA256, ssa, digest));
        if (out != NULL && prov(state) == TPM_PROVIDER_TPM) {
            snprintf(name, sizeof(name), "digest%d.bin", hl * 8);
            save(out, name, digest, (size_t)h);
            snprintf(name, sizeof(name), "sig%d.pss", hl * 8);
            save(out, name, pss, sizeof(pss));
            snprintf(name, sizeof(name), "sig%d.pkcs1", hl * 8);
            save(out, name, ssa, sizeof(ssa));
        }
    }
    if (out != NULL && prov(state) == TPM_PROVIDER_TPM) { /* this test's own key */
        unsigned char *spki = NULL;
        size_t spki_len = 0;

        assert_int_equal(tpm_device_spki(t, &spki, &spki_len), LJ_OK);
        save(out, "device-sha2.spki.der", spki, spki_len);
        free(spki);
    }
    /* a hash outside the enum is refused before the TPM is asked */
    lj_err_clear();
    assert_int_equal(tpm_sign(t, TPM_SIG_RSASSA, (enum tpm_hash)20, digest, ssa, &len),
                     LJ_ERR_INVAL);
    lj_err_clear();
    wc_FreeRsaKey(&key);
    assert_no_transients(t, prov(state));
    tpm_close(t);
}

/*
 * A key of the current template, as `linkjoin status` describes it from
 * the stored files alone (tpm_keys_describe_dir): RSA-2048, scheme any;
 * a device key file that does not parse leaves the scheme unknown.
 */
static void
test_describe_new_key(void **state)
{
    struct tpm_ctx *t = ctx_open(prov(state));
    struct tpm_describe d;
    char path[4096];
    static const unsigned char junk[] = {0x00, 0x01, 0x02};

    tpm_close(t);
    assert_int_equal(tpm_keys_describe_dir(dir, &d), LJ_OK);
    assert_int_equal(d.dev_scheme, TPM_DEV_SCHEME_ANY);
    assert_string_equal(tpm_dev_scheme_name(d.dev_scheme), "any");
    assert_int_equal(d.dev_bits, 2048);
    assert_string_equal(d.provider, prov(state) == TPM_PROVIDER_TPM ? "tpm" : "soft");
    snprintf(path, sizeof(path), "%s/%s", dir,
             prov(state) == TPM_PROVIDER_TPM ? "device.pub" : "soft-device.der");
    assert_int_equal(lj_fs_write_atomic(path, junk, sizeof(junk), 0600), LJ_OK);
    assert_int_equal(tpm_keys_describe_dir(dir, &d), LJ_OK);
    assert_int_equal(d.dev_scheme, TPM_DEV_SCHEME_UNKNOWN);
    assert_string_equal(tpm_dev_scheme_name(d.dev_scheme), "unknown");
    assert_int_equal(d.dev_bits, 0);
}

#define SOFT(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, (void *)&soft)
#define HW(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, (void *)&hw)

/* The TPM group runs only with LJ_TEST_TCTI: a skipped test counts as a failure in tests/run.sh. */
int
main(void)
{
    const struct CMUnitTest soft_tests[] = {
        SOFT(test_new_key_signs_both), SOFT(test_pss_after_reopen),
        SOFT(test_sha384_sha512),      cmocka_unit_test(test_pss_check_salt),
        SOFT(test_describe_new_key),
    };
    const struct CMUnitTest tpm_tests[] = {
        HW(test_new_key_signs_both),
        HW(test_pss_after_reopen),
        cmocka_unit_test_setup_teardown(test_old_key_refuses_pss, setup, teardown),
        HW(test_sha384_sha512),
        HW(test_describe_new_key),
    };
    int failed = cmocka_run_group_tests_name("soft", soft_tests, NULL, NULL);

    if (env_str("LJ_TEST_TCTI") != NULL)
        failed += cmocka_run_group_tests_name("tpm", tpm_tests, NULL, NULL);
    return failed;
}
