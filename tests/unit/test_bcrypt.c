/* Unit tests for tpm/bcrypt.c: BCRYPT RSA1 public blob, byte-exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tpm/bcrypt.h"

static uint32_t
le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Hand-computed: n = 3233 (0x0ca1, 12 bits), e = 17. */
static void
test_small_hand_vector(void **state)
{
    static const unsigned char n[] = {0x0c, 0xa1};
    static const unsigned char e[] = {0x11};
    static const unsigned char want[] = {
        0x52, 0x53, 0x41, 0x31, /* "RSA1" = 0x31415352 LE */
        0x0c, 0x00, 0x00, 0x00, /* BitLength 12 */
        0x01, 0x00, 0x00, 0x00, /* cbPublicExp 1 */
        0x02, 0x00, 0x00, 0x00, /* cbModulus 2 */
        0x00, 0x00, 0x00, 0x00, /* cbPrime1 0 */
        0x00, 0x00, 0x00, 0x00, /* cbPrime2 0 */
        0x11,                   /* exponent, big-endian */
        0x0c, 0xa1,             /* modulus, big-endian */
    };
    unsigned char out[64];
    size_t len = 0;

    (void)state;
    assert_int_equal(tpm_bcrypt_rsa1_encode(n, sizeof(n), e, sizeof(e), out, sizeof(out), &len),
                     LJ_OK);
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
}

/* Leading zeros in the inputs are not part of the minimal encoding. */
static void
test_leading_zeros_stripped(void **state)
{
    static const unsigned char n[] = {0x00, 0x00, 0x0c, 0xa1};
    static const unsigned char e[] = {0x00, 0x00, 0x00, 0x11};
    unsigned char out[64];
    size_t len = 0;

    (void)state;
    assert_int_equal(tpm_bcrypt_rsa1_encode(n, sizeof(n), e, sizeof(e), out, sizeof(out), &len),
                     LJ_OK);
    assert_int_equal(len, 27);
    assert_int_equal(le32(out + 8), 1);
    assert_int_equal(le32(out + 12), 2);
    assert_int_equal(out[24], 0x11);
}

/* RSA-2048, e = 65537 given as 4 bytes, modulus with a leading 00 (as DER has). */
static void
test_rsa2048_fields(void **state)
{
    unsigned char n[257], e[4] = {0x00, 0x01, 0x00, 0x01}, out[300];
    size_t len = 0;

    (void)state;
    n[0] = 0x00;
    for (size_t i = 1; i < sizeof(n); i++)
        n[i] = (unsigned char)(i * 37 + 11);
    n[1] = 0xc7; /* top bit set: a real 2048-bit modulus */
    assert_int_equal(tpm_bcrypt_rsa1_encode(n, sizeof(n), e, sizeof(e), out, sizeof(out), &len),
                     LJ_OK);
    assert_int_equal(len, 283);
    assert_memory_equal(out, "RSA1", 4);
    assert_int_equal(le32(out + 0), 0x31415352u);
    assert_int_equal(le32(out + 4), 2048);
    assert_int_equal(le32(out + 8), 3);
    assert_int_equal(le32(out + 12), 256);
    assert_int_equal(le32(out + 16), 0);
    assert_int_equal(le32(out + 20), 0);
    assert_int_equal(out[24], 0x01);
    assert_int_equal(out[25], 0x00);
    assert_int_equal(out[26], 0x01);
    assert_memory_equal(out + 27, n + 1, 256);
}

/* A modulus whose top byte is small still reports its true bit length. */
static void
test_bitlength_from_top_byte(void **state)
{
    unsigned char n[256], e[1] = {3}, out[300];
    size_t len = 0;

    (void)state;
    memset(n, 0xab, sizeof(n));
    n[0] = 0x01;
    assert_int_equal(tpm_bcrypt_rsa1_encode(n, sizeof(n), e, 1, out, sizeof(out), &len), LJ_OK);
    assert_int_equal(le32(out + 4), 2041);
    assert_int_equal(le32(out + 8), 1);
    assert_int_equal(len, 24 + 1 + 256);
}

static void
test_rejects(void **state)
{
    unsigned char n[256], zero[4] = {0}, e[3] = {1, 0, 1}, out[300];
    size_t len = 0;

    (void)state;
    memset(n, 0xff, sizeof(n));
    assert_int_equal(tpm_bcrypt_rsa1_encode(zero, 4, e, 3, out, sizeof(out), &len), LJ_ERR_INVAL);
    assert_int_equal(tpm_bcrypt_rsa1_encode(n, 256, zero, 4, out, sizeof(out), &len), LJ_ERR_INVAL);
    assert_int_equal(tpm_bcrypt_rsa1_encode(n, 256, e, 3, out, 282, &len), LJ_ERR_TOO_BIG);
    assert_int_equal(tpm_bcrypt_rsa1_encode(n, 256, e, 3, out, 283, &len), LJ_OK);
    assert_int_equal(tpm_bcrypt_rsa1_encode(NULL, 256, e, 3, out, 283, &len), LJ_ERR_INVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_hand_vector), cmocka_unit_test(test_leading_zeros_stripped),
        cmocka_unit_test(test_rsa2048_fields),    cmocka_unit_test(test_bitlength_from_top_byte),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests_name("bcrypt", tests, NULL, NULL);
}
