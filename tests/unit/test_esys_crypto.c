/*
 * Unit tests for tpm/esys_crypto.c, the wolfCrypt backend of tpm2-tss
 * ESAPI, through the table tpm_esys_crypto_callbacks() gives ESAPI:
 * known answers for every hash and HMAC (FIPS 180-4 examples, RFC 4231,
 * RFC 2202) and AES-CFB128 (NIST SP 800-38A F.3.13-F.3.18); RSA-OAEP
 * salts decrypted by the private half of a wolfCrypt-made key with the
 * label "SECRET" and its NUL (and refused under any other label); ECDH
 * checked against Z computed from the test's own private key and the
 * returned point; every error code; aborts of NULL, finished and
 * other-kind contexts.  ESAPI itself over the backend (salted, encrypted
 * sessions against swtpm) is tests/integration/test_tpm*.sh.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <tss2/tss2_mu.h>

#include "tpm/esys_crypto.h"
#include "tests/unit/testutil.h"

static const ESYS_CRYPTO_CALLBACKS *cb;

/* ---- hash ----------------------------------------------------------- */

/* FIPS 180-4 examples (NIST CSRC "Example Values"): the digest of "abc". */
static const struct {
    TPM2_ALG_ID alg;
    const char *hex;
} abc[] = {
    {TPM2_ALG_SHA1, "a9993e364706816aba3e25717850c26c9cd0d89d"},
    {TPM2_ALG_SHA256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {TPM2_ALG_SHA384, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                      "8086072ba1e7cc2358baeca134c825a7"},
    {TPM2_ALG_SHA512, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                      "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
};

static void
test_hash_known_answers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(abc) / sizeof(abc[0]); i++) {
        ESYS_CRYPTO_CONTEXT_BLOB *c = NULL;
        uint8_t want[64], got[64];
        size_t wn = lj_test_unhex(abc[i].hex, want, sizeof(want)), n = sizeof(got);

        assert_int_equal(cb->hash_start(&c, abc[i].alg, cb->userdata), TSS2_RC_SUCCESS);
        assert_non_null(c);
        /* two updates, one empty: the state carries over */
        assert_int_equal(cb->hash_update(c, (const uint8_t *)"a", 1, NULL), TSS2_RC_SUCCESS);
        assert_int_equal(cb->hash_update(c, (const uint8_t *)"", 0, NULL), TSS2_RC_SUCCESS);
        assert_int_equal(cb->hash_update(c, (const uint8_t *)"bc", 2, NULL), TSS2_RC_SUCCESS);
        assert_int_equal(cb->hash_finish(&c, got, &n, NULL), TSS2_RC_SUCCESS);
        assert_null(c);
        assert_int_equal(n, wn);
        assert_memory_equal(got, want, wn);
    }
}

static void
test_hash_unknown_alg(void **state)
{
    ESYS_CRYPTO_CONTEXT_BLOB *c = NULL;

    (void)state;
    assert_int_equal(cb->hash_start(&c, TPM2_ALG_SM3_256, NULL), TSS2_ESYS_RC_NOT_IMPLEMENTED);
    assert_null(c);
    assert_int_equal(cb->hash_start(&c, TPM2_ALG_AES, NULL), TSS2_ESYS_RC_NOT_IMPLEMENTED);
    assert_null(c);
    assert_int_equal(cb->hash_start(NULL, TPM2_ALG_SHA256, NULL), TSS2_ESYS_RC_BAD_REFERENCE);
}

/* Too small a buffer: BAD_SIZE, the context kept for the caller's abort. */
static void
test_hash_finish_small_buffer(void **state)
{
    ESYS_CRYPTO_CONTEXT_BLOB *c = NULL;
    uint8_t out[64];
    size_t n = 31;

    (void)state;
    assert_int_equal(cb->hash_start(&c, TPM2_ALG_SHA256, NULL), TSS2_RC_SUCCESS);
    assert_int_equal(cb->hash_finish(&c, out, &n, NULL), TSS2_ESYS_RC_BAD_SIZE);
    assert_non_null(c);
    assert_int_equal(n, 31);
    assert_int_equal(cb->hash_finish(&c, NULL, &n, NULL), TSS2_ESYS_RC_BAD_REFERENCE);
    assert_int_equal(cb->hash_finish(&c, out, NULL, NULL), TSS2_ESYS_RC_BAD_REFERENCE);
    assert_non_null(c);
    n = 32; /* exactly the digest size is enough */
    assert_int_equal(cb->hash_finish(&c, out, &n, NULL), TSS2_RC_SUCCESS);
    assert_null(c);
    assert_int_equal(n, 32);
}

static void
test_hash_bad_references(void **state)
{
    ESYS_CRYPTO_CONTEXT_BLOB *c = NULL, *h = NULL;
    uint8_t out[64];
    size_t n = sizeof(out);

    (void)state;
    assert_int_equal(cb->hash_update(NULL, (const uint8_t *)"a", 1, NULL),
                     TSS2_ESYS_RC_BAD_REFERENCE);
    assert_int_equal(cb->hash_finish(&c, out, &n, NULL), TSS2_ESYS_RC_BAD_REFERENCE);
    assert_int_equal(cb->hash_finish(NULL, out, &n, NULL), TSS2_ESYS_RC_BAD_REFERENCE);
    assert_int_equal(cb->hash_start(&c, TPM2_ALG_SHA256, NULL), TSS2_RC_SUCCESS);
    assert_int_equal(cb->hash_update(c, NULL, 1, NULL), TSS2_ESYS_RC_BAD_REFERENCE);
    /* an HMAC context is not a hash context, nor the other way round */
    assert_int_equal(cb->hmac_start(&h, TPM2_ALG_SHA256, (const uint8_t *)"k", 1, NULL),
                     TSS2_RC_SUCCESS);
    assert_int_equal(cb->hash_update(h, (const uint8_t *)"a", 1, NULL), TSS2_ESYS_RC_BAD_REFERENCE);
    assert_int_equal(cb->hash_finish(&h, out, &n, NULL), TSS2_ESYS_RC_BAD_REFERENCE);
    assert_int_equal(cb->hmac_update(c, (const uint8_t *)"a", 1, NULL), TSS2_ESYS_RC_BAD_REFERENCE);
    assert_int_equal(cb->hmac_finish(&c, out, &n, NULL), TSS2_ESYS_RC_BAD_REFERENCE);
    assert_non_null(c);
    assert_non_null(h);
    /* ESAPI's error paths abort with the other kind's abort: both free */
    cb->hmac_abort(&c, NULL);
    assert_null(c);
    cb->hash_abort(&h, NULL);
    assert_null(h);
}

/* Aborts of NULL, of an empty slot, after finish, twice: all harmless. */
static void
test_abort_paths(void **state)
{
    ESYS_CRYPTO_CONTEXT_BLOB *c = NULL;
    uint8_t out[64] = {0};
    size_t n = sizeof(out);

    (void)state;
    cb->hash_abort(NULL, NULL);
    cb->hmac_abort(NULL, NULL);
    cb->hash_abort(&c, NULL);
    cb->hmac_abort(&c, NULL);
    assert_int_equal(cb->hash_start(&c, TPM2_ALG_SHA384, NULL), TSS2_RC_SUCCESS);
    assert_int_equal(cb->hash_finish(&c, out, &n, NULL), TSS2_RC_SUCCESS);
    cb->hash_abort(&c, NULL);
    assert_null(c);
    assert_int_equal(cb->hash_start(&c, TPM2_ALG_SHA1, NULL), TSS2_RC_SUCCESS);
    cb->hash_abort(&c, NULL);
    assert_null(c);
    cb->hash_abort(&c, NULL);
    assert_int_equal(cb->hmac_start(&c, TPM2_ALG_SHA512, out, 16, NULL), TSS2_RC_SUCCESS);
    n = sizeof(out);
    assert_int_equal(cb->hmac_finish(&c, out, &n, NULL), TSS2_RC_SUCCESS);
    assert_null(c);
    cb->hmac_abort(&c, NULL);
    assert_int_equal(cb->hmac_start(&c, TPM2_ALG_SHA256, out, 16, NULL), TSS2_RC_SUCCESS);
    cb->hmac_abort(&c, NULL);
    assert_null(c);
    cb->hmac_abort(&c, NULL);
}

/* ---- HMAC ----------------------------------------------------------- */

static const char jefe_msg[] = "what do ya want for nothing?";

static const struct {
    TPM2_ALG_ID alg;
    const char *hex;
} jefe[] = {
    /* RFC 2202 test case 2 */
    {TPM2_ALG_SHA1, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
    /* RFC 4231 test case 2 */
    {TPM2_ALG_SHA256, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {TPM2_ALG_SHA384, "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
                      "8e2240ca5e69e2c78b3239ecfab21649"},
    {TPM2_ALG_SHA512, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                      "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
};

static size_t
hmac_once(TPM2_ALG_ID alg, const uint8_t *key, size_t klen, const uint8_t *msg, size_t mlen,
          uint8_t out[64])
{
    ESYS_CRYPTO_CONTEXT_BLOB *c = NULL;
    size_t n = 64;

    assert_int_equal(cb->hmac_start(&c, alg, key, klen, NULL), TSS2_RC_SUCCESS);
    assert_non_null(c);
    /* in two pieces: the state carries over */
    assert_int_equal(cb->hmac_update(c, msg, mlen / 2, NULL), TSS2_RC_SUCCESS);
    assert_int_equal(cb->hmac_update(c, msg + mlen / 2, mlen - mlen / 2, NULL), TSS2_RC_SUCCESS);
    assert_int_equal(cb->hmac_finish(&c, out, &n, NULL), TSS2_RC_SUCCESS);
    assert_null(c);
    return n;
}

static void
test_hmac_known_answers(void **state)
{
    uint8_t want[64], got[64];

    (void)state;
    for (size_t i = 0; i < sizeof(jefe) / sizeof(jefe[0]); i++) {
        size_t wn = lj_test_unhex(jefe[i].hex, want, sizeof(want));

        assert_int_equal(hmac_once(jefe[i].alg, (const uint8_t *)"Jefe", 4,
                                   (const uint8_t *)jefe_msg, strlen(jefe_msg), got),
                         wn);
        assert_memory_equal(got, want, wn);
    }
}

/* RFC 4231 test case 1 (20-byte key) and 6 (131-byte key, hashed first). */
static void
test_hmac_key_lengths(void **state)
{
    static const char tc6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    uint8_t key[131], want[32], got[64];

    (void)state;
    memset(key, 0x0b, 20);
    lj_test_unhex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", want,
                  sizeof(want));
    assert_int_equal(hmac_once(TPM2_ALG_SHA256, key, 20, (const uint8_t *)"Hi There", 8, got), 32);
    assert_memory_equal(got, want, 32);

    memset(key, 0xaa, sizeof(key));
    lj_test_unhex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", want,
                  sizeof(want));
    assert_int_equal(
        hmac_once(TPM2_ALG_SHA256, key, sizeof(key), (const uint8_t *)tc6, strlen(tc6), got), 32);
    assert_memory_equal(got, want, 32);
}

/* An empty key (an unsalted, unbound session with an empty auth value). */
static void
test_hmac_empty_key(void **state)
{
    uint8_t want[32], got[64];

    (void)state;
    lj_test_unhex("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad", want,
                  sizeof(want));
    assert_int_equal(
        hmac_once(TPM2_ALG_SHA256, (const uint8_t *)"", 0, (const uint8_t *)"", 0, got), 32);
    assert_memory_equal(got, want, 32);
}

static void
test_hmac_errors(void **state)
{
    ESYS_CRYPTO_CONTEXT_BLOB *c = NULL;
    uint8_t out[64] = {0};
    size_t n = 47;

    (void)state;
    assert_int_equal(cb->hmac_start(&c, TPM2_ALG_SM3_256, out, 16, NULL),
                     TSS2_ESYS_RC_NOT_IMPLEMENTED);
    assert_int_equal(cb->hmac_start(&c, TPM2_ALG_NULL, out, 16, NULL),
                     TSS2_ESYS_RC_NOT_IMPLEMENTED);
    assert_null(c);
    assert_int_equal(cb->hmac_start(&c, TPM2_ALG_SHA256, NULL, 0, NULL),
                     TSS2_ESYS_RC_BAD_REFERENCE);
    assert_int_equal(cb->hmac_start(NULL, TPM2_ALG_SHA256, out, 16, NULL),
                     TSS2_ESYS_RC_BAD_REFERENCE);
    assert_int_equal(cb->hmac_update(NULL, out, 1, NULL), TSS2_ESYS_RC_BAD_REFERENCE);
    assert_int_equal(cb->hmac_start(&c, TPM2_ALG_SHA384, out, 16, NULL), TSS2_RC_SUCCESS);
    assert_int_equal(cb->hmac_update(c, NULL, 1, NULL), TSS2_ESYS_RC_BAD_REFERENCE);
    assert_int_equal(cb->hmac_finish(&c, out, &n, NULL), TSS2_ESYS_RC_BAD_SIZE);
    assert_non_null(c);
    assert_int_equal(n, 47);
    cb->hmac_abort(&c, NULL);
    assert_null(c);
}

/* ---- AES-CFB -------------------------------------------------------- */

/* NIST SP 800-38A F.3.13-F.3.18, CFB128-AES128/192/256. */
static const char cfb_iv[] = "000102030405060708090a0b0c0d0e0f";
static const char cfb_pt[] = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                             "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
static const struct {
    TPMI_AES_KEY_BITS bits;
    const char *key, *ct;
} cfb[] = {
    {128, "2b7e151628aed2a6abf7158809cf4f3c",
     "3b3fd92eb72dad20333449f8e83cfb4ac8a64537a0b3a93fcde3cdad9f1ce58b"
     "26751f67a3cbb140b1808cf187a4f4dfc04b05357c5d1c0eeac4c66f9ff7f2e6"},
    {192, "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
     "cdc80d6fddf18cab34c25909c99a417467ce7f7f81173621961a2b70171d3d7a"
     "2e1e8a1dd59b88b1c8e60fed1efac4c9c05f9f9ca9834fa042ae8fba584b09ff"},
    {256, "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
     "dc7e84bfda79164b7ecd8486985d386039ffed143b28b1c832113c6331e5407b"
     "df10132415e54b92a13ed0a8267ae2f975a385741ab9cef82031623d55b1e471"},
};

static void
test_aes_cfb_known_answers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cfb) / sizeof(cfb[0]); i++) {
        uint8_t key[32], iv[16], iv0[16], pt[64], ct[64], buf[64];
        size_t len;

        lj_test_unhex(cfb[i].key, key, sizeof(key));
        lj_test_unhex(cfb_iv, iv0, sizeof(iv0));
        lj_test_unhex(cfb_pt, pt, sizeof(pt));
        len = lj_test_unhex(cfb[i].ct, ct, sizeof(ct));
        assert_int_equal(len, 64);

        memcpy(buf, pt, len);
        memcpy(iv, iv0, sizeof(iv));
        assert_int_equal(
            cb->aes_encrypt(key, TPM2_ALG_AES, cfb[i].bits, TPM2_ALG_CFB, buf, len, iv, NULL),
            TSS2_RC_SUCCESS);
        assert_memory_equal(buf, ct, len);
        assert_memory_equal(iv, iv0, sizeof(iv)); /* read, not written back */

        assert_int_equal(
            cb->aes_decrypt(key, TPM2_ALG_AES, cfb[i].bits, TPM2_ALG_CFB, buf, len, iv, NULL),
            TSS2_RC_SUCCESS);
        assert_memory_equal(buf, pt, len);
        assert_memory_equal(iv, iv0, sizeof(iv));

        /* A parameter is any length: CFB is a stream, the prefix matches. */
        memcpy(buf, pt, 21);
        assert_int_equal(
            cb->aes_encrypt(key, TPM2_ALG_AES, cfb[i].bits, TPM2_ALG_CFB, buf, 21, iv, NULL),
            TSS2_RC_SUCCESS);
        assert_memory_equal(buf, ct, 21);
        assert_int_equal(
            cb->aes_decrypt(key, TPM2_ALG_AES, cfb[i].bits, TPM2_ALG_CFB, buf, 21, iv, NULL),
            TSS2_RC_SUCCESS);
        assert_memory_equal(buf, pt, 21);
        /* and an empty one changes nothing */
        assert_int_equal(
            cb->aes_encrypt(key, TPM2_ALG_AES, cfb[i].bits, TPM2_ALG_CFB, buf, 0, iv, NULL),
            TSS2_RC_SUCCESS);
        assert_memory_equal(buf, pt, 21);
    }
}

static void
test_aes_errors(void **state)
{
    uint8_t key[32] = {0}, iv[16] = {0}, buf[16] = {0}, zero[16] = {0};

    (void)state;
    /* encrypt: OpenSSL's backend answers BAD_VALUE for every one */
    assert_int_equal(cb->aes_encrypt(key, TPM2_ALG_AES, 100, TPM2_ALG_CFB, buf, 16, iv, NULL),
                     TSS2_ESYS_RC_BAD_VALUE);
    assert_int_equal(cb->aes_encrypt(key, TPM2_ALG_AES, 128, TPM2_ALG_CTR, buf, 16, iv, NULL),
                     TSS2_ESYS_RC_BAD_VALUE);
    assert_int_equal(cb->aes_encrypt(key, TPM2_ALG_SM4, 128, TPM2_ALG_CFB, buf, 16, iv, NULL),
                     TSS2_ESYS_RC_BAD_VALUE);
    /* decrypt: a wrong algorithm BAD_VALUE, a wrong size or mode NOT_IMPLEMENTED */
    assert_int_equal(cb->aes_decrypt(key, TPM2_ALG_SM4, 128, TPM2_ALG_CFB, buf, 16, iv, NULL),
                     TSS2_ESYS_RC_BAD_VALUE);
    assert_int_equal(cb->aes_decrypt(key, TPM2_ALG_AES, 100, TPM2_ALG_CFB, buf, 16, iv, NULL),
                     TSS2_ESYS_RC_NOT_IMPLEMENTED);
    assert_int_equal(cb->aes_decrypt(key, TPM2_ALG_AES, 128, TPM2_ALG_CBC, buf, 16, iv, NULL),
                     TSS2_ESYS_RC_NOT_IMPLEMENTED);
    assert_int_equal(cb->aes_encrypt(NULL, TPM2_ALG_AES, 128, TPM2_ALG_CFB, buf, 16, iv, NULL),
                     TSS2_ESYS_RC_BAD_REFERENCE);
    assert_int_equal(cb->aes_decrypt(key, TPM2_ALG_AES, 128, TPM2_ALG_CFB, NULL, 16, iv, NULL),
                     TSS2_ESYS_RC_BAD_REFERENCE);
    assert_memory_equal(buf, zero, sizeof(buf)); /* nothing touched */
}

static void
test_sm4_not_implemented(void **state)
{
    uint8_t key[16] = {0}, iv[16] = {0}, buf[16] = {0}, zero[16] = {0};

    (void)state;
    assert_non_null(cb->sm4_encrypt);
    assert_non_null(cb->sm4_decrypt);
    assert_int_equal(cb->sm4_encrypt(key, TPM2_ALG_SM4, 128, TPM2_ALG_CFB, buf, 16, iv, NULL),
                     TSS2_ESYS_RC_NOT_IMPLEMENTED);
    assert_int_equal(cb->sm4_decrypt(key, TPM2_ALG_SM4, 128, TPM2_ALG_CFB, buf, 16, iv, NULL),
                     TSS2_ESYS_RC_NOT_IMPLEMENTED);
    assert_memory_equal(buf, zero, sizeof(buf));
}

/* ---- random --------------------------------------------------------- */

static void
test_random(void **state)
{
    TPM2B_NONCE a, b;

    (void)state;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    assert_int_equal(cb->get_random2b(&a, 32, NULL), TSS2_RC_SUCCESS);
    assert_int_equal(a.size, 32);
    assert_int_equal(cb->get_random2b(&b, 32, NULL), TSS2_RC_SUCCESS);
    assert_int_equal(b.size, 32);
    assert_memory_not_equal(a.buffer, b.buffer, 32);
    /* 0: the whole nonce, as OpenSSL's backend */
    assert_int_equal(cb->get_random2b(&a, 0, NULL), TSS2_RC_SUCCESS);
    assert_int_equal(a.size, sizeof(a.buffer));
    assert_int_equal(cb->get_random2b(&a, sizeof(a.buffer) + 1, NULL), TSS2_ESYS_RC_BAD_VALUE);
    assert_int_equal(cb->get_random2b(NULL, 16, NULL), TSS2_ESYS_RC_BAD_REFERENCE);
}

/* A forked child draws its own stream, not a copy of its parent's. */
static void
test_random_after_fork(void **state)
{
    TPM2B_NONCE mine, theirs;
    int fds[2], st = 0;
    pid_t pid;

    (void)state;
    assert_int_equal(cb->get_random2b(&mine, 32, NULL), TSS2_RC_SUCCESS);
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        TPM2B_NONCE n;
        ssize_t w = -1;

        if (cb->get_random2b(&n, 32, NULL) == TSS2_RC_SUCCESS)
            w = write(fds[1], n.buffer, 32);
        _exit(w == 32 ? 0 : 1);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], theirs.buffer, 32), 32);
    close(fds[0]);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(cb->get_random2b(&mine, 32, NULL), TSS2_RC_SUCCESS);
    assert_memory_not_equal(mine.buffer, theirs.buffer, 32);
}

/* ---- RSA encryption (RSA-salted sessions) ----------------------------- */

static RsaKey rsa;
static WC_RNG test_rng;

static int
setup_group(void **state)
{
    (void)state;
    cb = tpm_esys_crypto_callbacks();
    if (cb == NULL || wc_InitRng(&test_rng) != 0 || wc_InitRsaKey(&rsa, NULL) != 0)
        return -1;
    return wc_MakeRsaKey(&rsa, 2048, 65537, &test_rng) == 0 ? 0 : -1;
}

static int
teardown_group(void **state)
{
    (void)state;
    wc_FreeRsaKey(&rsa);
    wc_FreeRng(&test_rng);
    return 0;
}

/* The public half as a TPM2B_PUBLIC, exponent 0 (the TPM's 65537). */
static void
rsa_pub(TPM2B_PUBLIC *pub, TPM2_ALG_ID name_alg, TPM2_ALG_ID scheme)
{
    uint8_t e[8];
    word32 el = sizeof(e), nl;

    memset(pub, 0, sizeof(*pub));
    pub->publicArea.type = TPM2_ALG_RSA;
    pub->publicArea.nameAlg = name_alg;
    pub->publicArea.parameters.rsaDetail.keyBits = 2048;
    pub->publicArea.parameters.rsaDetail.scheme.scheme = scheme;
    pub->publicArea.parameters.rsaDetail.exponent = 0;
    nl = sizeof(pub->publicArea.unique.rsa.buffer);
    assert_int_equal(wc_RsaFlattenPublicKey(&rsa, e, &el, pub->publicArea.unique.rsa.buffer, &nl),
                     0);
    assert_int_equal(nl, 256);
    assert_int_equal(el, 3);
    assert_memory_equal(e, "\x01\x00\x01", 3);
    pub->publicArea.unique.rsa.size = (UINT16)nl;
}

static int
rsa_oaep_decrypt(const uint8_t *ct, size_t len, enum wc_HashType h, int mgf, const char *label,
                 size_t label_len, uint8_t *out, size_t cap)
{
    wc_RsaSetRNG(&rsa, &test_rng);
    return wc_RsaPrivateDecrypt_ex(ct, (word32)len, out, (word32)cap, &rsa, WC_RSA_OAEP_PAD, h, mgf,
                                   (byte *)(uintptr_t)label, (word32)label_len);
}

static void
test_rsa_oaep_round_trip(void **state)
{
    static const struct {
        TPM2_ALG_ID alg;
        enum wc_HashType h;
        int mgf;
    } algs[] = {
        {TPM2_ALG_SHA256, WC_HASH_TYPE_SHA256, WC_MGF1SHA256},
        {TPM2_ALG_SHA1, WC_HASH_TYPE_SHA, WC_MGF1SHA1},
        {TPM2_ALG_SHA384, WC_HASH_TYPE_SHA384, WC_MGF1SHA384},
    };
    uint8_t salt[32], ct[sizeof(TPMU_ENCRYPTED_SECRET)], pt[256];
    TPM2B_PUBLIC pub;

    (void)state;
    for (size_t i = 0; i < sizeof(salt); i++)
        salt[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        size_t n = 0;

        rsa_pub(&pub, algs[i].alg, TPM2_ALG_OAEP);
        /* ESAPI's call: max_out_size sizeof(TPMU_ENCRYPTED_SECRET), "SECRET" */
        assert_int_equal(
            cb->rsa_pk_encrypt(&pub, sizeof(salt), salt, sizeof(ct), ct, &n, "SECRET", NULL),
            TSS2_RC_SUCCESS);
        assert_int_equal(n, 256);
        /* the label is "SECRET" with its NUL (TPM 2.0 Part 1, B.10.3) */
        assert_int_equal(
            rsa_oaep_decrypt(ct, n, algs[i].h, algs[i].mgf, "SECRET", 7, pt, sizeof(pt)),
            (int)sizeof(salt));
        assert_memory_equal(pt, salt, sizeof(salt));
        /* any other label fails: without the NUL, or another word */
        assert_true(rsa_oaep_decrypt(ct, n, algs[i].h, algs[i].mgf, "SECRET", 6, pt, sizeof(pt)) <
                    0);
        assert_true(
            rsa_oaep_decrypt(ct, n, algs[i].h, algs[i].mgf, "DUPLICATE", 10, pt, sizeof(pt)) < 0);
    }
}

/* RSAES-PKCS1-v1_5: the other scheme tpm2-tss's backends take. */
static void
test_rsa_pkcs1_round_trip(void **state)
{
    uint8_t salt[20], ct[512], pt[256];
    TPM2B_PUBLIC pub;
    size_t n = 0;

    (void)state;
    memset(salt, 0x5a, sizeof(salt));
    rsa_pub(&pub, TPM2_ALG_SHA256, TPM2_ALG_RSAES);
    assert_int_equal(
        cb->rsa_pk_encrypt(&pub, sizeof(salt), salt, sizeof(ct), ct, &n, "SECRET", NULL),
        TSS2_RC_SUCCESS);
    assert_int_equal(n, 256);
    wc_RsaSetRNG(&rsa, &test_rng);
    assert_int_equal(wc_RsaPrivateDecrypt_ex(ct, (word32)n, pt, sizeof(pt), &rsa,
                                             WC_RSA_PKCSV15_PAD, WC_HASH_TYPE_NONE, WC_MGF1NONE,
                                             NULL, 0),
                     (int)sizeof(salt));
    assert_memory_equal(pt, salt, sizeof(salt));
}

static void
test_rsa_errors(void **state)
{
    uint8_t in[300], ct[512];
    TPM2B_PUBLIC pub;
    size_t n = 0;

    (void)state;
    memset(in, 1, sizeof(in));
    rsa_pub(&pub, TPM2_ALG_SM3_256, TPM2_ALG_OAEP);
    assert_int_equal(cb->rsa_pk_encrypt(&pub, 32, in, sizeof(ct), ct, &n, "SECRET", NULL),
                     TSS2_ESYS_RC_NOT_IMPLEMENTED);
    rsa_pub(&pub, TPM2_ALG_SHA256, TPM2_ALG_NULL);
    assert_int_equal(cb->rsa_pk_encrypt(&pub, 32, in, sizeof(ct), ct, &n, "SECRET", NULL),
                     TSS2_ESYS_RC_BAD_VALUE);
    rsa_pub(&pub, TPM2_ALG_SHA256, TPM2_ALG_RSASSA);
    assert_int_equal(cb->rsa_pk_encrypt(&pub, 32, in, sizeof(ct), ct, &n, "SECRET", NULL),
                     TSS2_ESYS_RC_BAD_VALUE);
    rsa_pub(&pub, TPM2_ALG_SHA256, TPM2_ALG_OAEP);
    /* one byte less room than the modulus */
    assert_int_equal(cb->rsa_pk_encrypt(&pub, 32, in, 255, ct, &n, "SECRET", NULL),
                     TSS2_ESYS_RC_GENERAL_FAILURE);
    /* more than OAEP-SHA256 can carry in 2048 bits (190 bytes) */
    assert_int_equal(cb->rsa_pk_encrypt(&pub, 191, in, sizeof(ct), ct, &n, "SECRET", NULL),
                     TSS2_ESYS_RC_GENERAL_FAILURE);
    assert_int_equal(cb->rsa_pk_encrypt(&pub, sizeof(in), in, sizeof(ct), ct, &n, "SECRET", NULL),
                     TSS2_ESYS_RC_GENERAL_FAILURE);
    assert_int_equal(n, 0); /* never written on failure */
    pub.publicArea.unique.rsa.size = 0;
    assert_int_equal(cb->rsa_pk_encrypt(&pub, 32, in, sizeof(ct), ct, &n, "SECRET", NULL),
                     TSS2_ESYS_RC_GENERAL_FAILURE);
    assert_int_equal(cb->rsa_pk_encrypt(NULL, 32, in, sizeof(ct), ct, &n, "SECRET", NULL),
                     TSS2_ESYS_RC_BAD_REFERENCE);
    assert_int_equal(n, 0);
}

/* ---- ECDH (ECC-salted sessions) --------------------------------------- */

/* A key pair of the test's own; its public half as a TPM2B_PUBLIC. */
static void
ecc_pair(ecc_key *k, int id, TPMI_ECC_CURVE curve, TPM2B_PUBLIC *pub)
{
    word32 xl, yl;
    int size = wc_ecc_get_curve_size_from_id(id);

    assert_true(size > 0);
    assert_int_equal(wc_ecc_init(k), 0);
    assert_int_equal(wc_ecc_make_key_ex(&test_rng, size, k, id), 0);
    memset(pub, 0, sizeof(*pub));
    pub->publicArea.type = TPM2_ALG_ECC;
    pub->publicArea.nameAlg = TPM2_ALG_SHA256;
    pub->publicArea.parameters.eccDetail.curveID = curve;
    xl = sizeof(pub->publicArea.unique.ecc.x.buffer);
    yl = sizeof(pub->publicArea.unique.ecc.y.buffer);
    assert_int_equal(wc_ecc_export_public_raw(k, pub->publicArea.unique.ecc.x.buffer, &xl,
                                              pub->publicArea.unique.ecc.y.buffer, &yl),
                     0);
    assert_int_equal(xl, (word32)size);
    pub->publicArea.unique.ecc.x.size = (UINT16)xl;
    pub->publicArea.unique.ecc.y.size = (UINT16)yl;
}

/*
 * ESAPI's call with the TPM key pub, whose private half the test holds in
 * tpm; checks Q, its marshalling and Z = x(d_tpm * Q_eph), what the TPM
 * computes from the salt.
 */
static void
check_ecdh(ecc_key *tpm, const TPM2B_PUBLIC *tpm_pub, int id)
{
    uint8_t out[sizeof(TPMU_ENCRYPTED_SECRET)], z2[MAX_ECC_BYTES];
    TPM2B_ECC_PARAMETER Z;
    TPMS_ECC_POINT Q, Qm;
    TPM2B_PUBLIC pub = *tpm_pub;
    ecc_key eph;
    size_t n = 0, off = 0;
    word32 z2l = sizeof(z2);
    int size = wc_ecc_get_curve_size_from_id(id);

    memset(&Z, 0, sizeof(Z));
    memset(&Q, 0, sizeof(Q));
    assert_int_equal(cb->get_ecdh_point(&pub, sizeof(out), &Z, &Q, out, &n, NULL), TSS2_RC_SUCCESS);
    /* Q: both coordinates the curve's size; out: Q marshalled */
    assert_int_equal(Q.x.size, size);
    assert_int_equal(Q.y.size, size);
    assert_int_equal(n, 2 + size + 2 + size);
    memset(&Qm, 0, sizeof(Qm));
    assert_int_equal(Tss2_MU_TPMS_ECC_POINT_Unmarshal(out, n, &off, &Qm), TSS2_RC_SUCCESS);
    assert_int_equal(off, n);
    assert_int_equal(Qm.x.size, Q.x.size);
    assert_memory_equal(Qm.x.buffer, Q.x.buffer, Q.x.size);
    assert_int_equal(Qm.y.size, Q.y.size);
    assert_memory_equal(Qm.y.buffer, Q.y.buffer, Q.y.size);

    assert_int_equal(wc_ecc_init(&eph), 0);
    assert_int_equal(wc_ecc_import_unsigned(&eph, Qm.x.buffer, Qm.y.buffer, NULL, id), 0);
    assert_int_equal(wc_ecc_point_is_on_curve(&eph.pubkey, eph.idx), 0);
    assert_int_equal(wc_ecc_set_rng(tpm, &test_rng), 0);
    assert_int_equal(wc_ecc_shared_secret(tpm, &eph, z2, &z2l), 0);
    assert_int_equal(Z.size, size);
    assert_int_equal(z2l, (word32)size);
    assert_memory_equal(Z.buffer, z2, z2l);
    wc_ecc_free(&eph);
}

static void
test_ecdh_p256(void **state)
{
    TPM2B_PUBLIC pub;
    ecc_key tpm;

    (void)state;
    ecc_pair(&tpm, ECC_SECP256R1, TPM2_ECC_NIST_P256, &pub);
    check_ecdh(&tpm, &pub, ECC_SECP256R1);
    wc_ecc_free(&tpm);
}

static void
test_ecdh_p384(void **state)
{
    TPM2B_PUBLIC pub;
    ecc_key tpm;

    (void)state;
    ecc_pair(&tpm, ECC_SECP384R1, TPM2_ECC_NIST_P384, &pub);
    check_ecdh(&tpm, &pub, ECC_SECP384R1);
    wc_ecc_free(&tpm);
}

/* Two salts from one key: a new ephemeral key (and Z) each time. */
static void
test_ecdh_fresh_each_call(void **state)
{
    uint8_t out[sizeof(TPMU_ENCRYPTED_SECRET)];
    TPM2B_ECC_PARAMETER z1, z2;
    TPMS_ECC_POINT q1, q2;
    TPM2B_PUBLIC pub;
    ecc_key tpm;
    size_t n;

    (void)state;
    ecc_pair(&tpm, ECC_SECP256R1, TPM2_ECC_NIST_P256, &pub);
    assert_int_equal(cb->get_ecdh_point(&pub, sizeof(out), &z1, &q1, out, &n, NULL),
                     TSS2_RC_SUCCESS);
    assert_int_equal(cb->get_ecdh_point(&pub, sizeof(out), &z2, &q2, out, &n, NULL),
                     TSS2_RC_SUCCESS);
    assert_memory_not_equal(q1.x.buffer, q2.x.buffer, 32);
    assert_memory_not_equal(z1.buffer, z2.buffer, 32);
    wc_ecc_free(&tpm);
}

static void
test_ecdh_errors(void **state)
{
    uint8_t out[sizeof(TPMU_ENCRYPTED_SECRET)];
    TPM2B_ECC_PARAMETER Z;
    TPMS_ECC_POINT Q;
    TPM2B_PUBLIC pub, bad;
    ecc_key tpm;
    size_t n = 0;

    (void)state;
    ecc_pair(&tpm, ECC_SECP256R1, TPM2_ECC_NIST_P256, &pub);
    bad = pub;
    bad.publicArea.parameters.eccDetail.curveID = TPM2_ECC_SM2_P256;
    assert_int_equal(cb->get_ecdh_point(&bad, sizeof(out), &Z, &Q, out, &n, NULL),
                     TSS2_ESYS_RC_NOT_IMPLEMENTED);
    bad.publicArea.parameters.eccDetail.curveID = TPM2_ECC_BN_P256;
    assert_int_equal(cb->get_ecdh_point(&bad, sizeof(out), &Z, &Q, out, &n, NULL),
                     TSS2_ESYS_RC_NOT_IMPLEMENTED);
    /* a NIST curve this wolfCrypt build leaves out (Debian's: P-192) */
    if (wc_ecc_get_curve_size_from_id(ECC_SECP192R1) <= 0) {
        bad.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P192;
        assert_int_equal(cb->get_ecdh_point(&bad, sizeof(out), &Z, &Q, out, &n, NULL),
                         TSS2_ESYS_RC_NOT_IMPLEMENTED);
    }
    /* a point off the curve */
    bad = pub;
    bad.publicArea.unique.ecc.y.buffer[31] ^= 1;
    assert_int_equal(cb->get_ecdh_point(&bad, sizeof(out), &Z, &Q, out, &n, NULL),
                     TSS2_ESYS_RC_GENERAL_FAILURE);
    /* a coordinate longer than the curve */
    bad = pub;
    bad.publicArea.unique.ecc.x.size = 33;
    assert_int_equal(cb->get_ecdh_point(&bad, sizeof(out), &Z, &Q, out, &n, NULL),
                     TSS2_ESYS_RC_GENERAL_FAILURE);
    /* no room for the marshalled point: the marshaller's own code */
    assert_int_equal(cb->get_ecdh_point(&pub, 67, &Z, &Q, out, &n, NULL),
                     TSS2_MU_RC_INSUFFICIENT_BUFFER);
    assert_int_equal(n, 0);
    assert_int_equal(cb->get_ecdh_point(NULL, sizeof(out), &Z, &Q, out, &n, NULL),
                     TSS2_ESYS_RC_BAD_REFERENCE);
    /* exactly enough room */
    assert_int_equal(cb->get_ecdh_point(&pub, 68, &Z, &Q, out, &n, NULL), TSS2_RC_SUCCESS);
    assert_int_equal(n, 68);
    wc_ecc_free(&tpm);
}

/*
 * A TPM point whose x starts with a zero byte, sent without it: padded
 * back to the curve's size.  The key (made once with Python's
 * cryptography package until x < 2^248): d, x, y on P-256.
 */
static void
test_ecdh_short_coordinate(void **state)
{
    uint8_t d[32], x[32], y[32];
    TPM2B_PUBLIC pub;
    ecc_key tpm;

    (void)state;
    lj_test_unhex("41770fafab3aa15d8c75d77bca251009041e008f605a0b170ae8af7cb856c0a8", d, sizeof(d));
    lj_test_unhex("006a5eb55bd988c973af26e55bfa2726858b22e0fe6b0316f213388250bb8bf1", x, sizeof(x));
    lj_test_unhex("ecb10a7e3029b74a88f1fcde35734e475ddbf9de4e6a716f6690307a4cf488f2", y, sizeof(y));
    assert_int_equal(wc_ecc_init(&tpm), 0);
    assert_int_equal(wc_ecc_import_unsigned(&tpm, x, y, d, ECC_SECP256R1), 0);
    memset(&pub, 0, sizeof(pub));
    pub.publicArea.type = TPM2_ALG_ECC;
    pub.publicArea.nameAlg = TPM2_ALG_SHA256;
    pub.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    memcpy(pub.publicArea.unique.ecc.x.buffer, x + 1, 31);
    pub.publicArea.unique.ecc.x.size = 31;
    memcpy(pub.publicArea.unique.ecc.y.buffer, y, 32);
    pub.publicArea.unique.ecc.y.size = 32;
    check_ecdh(&tpm, &pub, ECC_SECP256R1);
    wc_ecc_free(&tpm);
}

struct ecdh_thread_arg {
    TPM2B_PUBLIC pub;
    TSS2_RC rc;
};

static void *
ecdh_thread(void *p)
{
    struct ecdh_thread_arg *a = p;
    uint8_t out[sizeof(TPMU_ENCRYPTED_SECRET)];
    TPM2B_ECC_PARAMETER Z;
    TPMS_ECC_POINT Q;
    size_t n;

    a->rc = cb->get_ecdh_point(&a->pub, sizeof(out), &Z, &Q, out, &n, NULL);
    return NULL;
}

/*
 * An ECDH on a thread that then ends (the TPM worker's) leaves no heap
 * behind: Debian's wolfSSL (FP_ECC) caches ~0.8 MiB of precomputed points
 * per thread, which only that thread can free.  One malloc arena, so
 * mallinfo2 sees the thread's blocks; under a sanitizer's allocator
 * (mallopt refused) LeakSanitizer reports the lost cache at exit instead.
 */
static void
test_ecdh_thread_leaves_no_cache(void **state)
{
    struct ecdh_thread_arg a;
    TPM2B_NONCE nonce;
    ecc_key tpm;
    pthread_t th;
    size_t before, after;
    bool counted;

    (void)state;
    counted = mallopt(M_ARENA_MAX, 1) == 1;
    ecc_pair(&tpm, ECC_SECP256R1, TPM2_ECC_NIST_P256, &a.pub);
    /* the process's generator exists before the count */
    assert_int_equal(cb->get_random2b(&nonce, 16, NULL), TSS2_RC_SUCCESS);
    before = mallinfo2().uordblks;
    assert_int_equal(pthread_create(&th, NULL, ecdh_thread, &a), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    after = mallinfo2().uordblks;
    assert_int_equal(a.rc, TSS2_RC_SUCCESS);
    if (counted)
        assert_true(after < before + 16384);
    wc_ecc_free(&tpm);
}

/* Every callback ESAPI requires is set (Esys_SetCryptoCallbacks checks). */
static void
test_table(void **state)
{
    (void)state;
    assert_ptr_equal(tpm_esys_crypto_callbacks(), cb);
    assert_non_null(cb->rsa_pk_encrypt);
    assert_non_null(cb->hash_start);
    assert_non_null(cb->hash_update);
    assert_non_null(cb->hash_finish);
    assert_non_null(cb->hash_abort);
    assert_non_null(cb->hmac_start);
    assert_non_null(cb->hmac_update);
    assert_non_null(cb->hmac_finish);
    assert_non_null(cb->hmac_abort);
    assert_non_null(cb->get_random2b);
    assert_non_null(cb->get_ecdh_point);
    assert_non_null(cb->aes_encrypt);
    assert_non_null(cb->aes_decrypt);
    assert_null(cb->init);
    assert_null(cb->userdata);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_hash_known_answers),
        cmocka_unit_test(test_hash_unknown_alg),
        cmocka_unit_test(test_hash_finish_small_buffer),
        cmocka_unit_test(test_hash_bad_references),
        cmocka_unit_test(test_abort_paths),
        cmocka_unit_test(test_hmac_known_answers),
        cmocka_unit_test(test_hmac_key_lengths),
        cmocka_unit_test(test_hmac_empty_key),
        cmocka_unit_test(test_hmac_errors),
        cmocka_unit_test(test_aes_cfb_known_answers),
        cmocka_unit_test(test_aes_errors),
        cmocka_unit_test(test_sm4_not_implemented),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_random_after_fork),
        cmocka_unit_test(test_rsa_oaep_round_trip),
        cmocka_unit_test(test_rsa_pkcs1_round_trip),
        cmocka_unit_test(test_rsa_errors),
        cmocka_unit_test(test_ecdh_p256),
        cmocka_unit_test(test_ecdh_p384),
        cmocka_unit_test(test_ecdh_fresh_each_call),
        cmocka_unit_test(test_ecdh_errors),
        cmocka_unit_test(test_ecdh_short_coordinate),
        cmocka_unit_test(test_ecdh_thread_leaves_no_cache),
    };

    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
