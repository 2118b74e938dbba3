/* Unit tests for platform/common/b64.c (RFC 4648 §10 vectors and strictness). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "platform/common/b64.h"

static void
check_roundtrip(const char *plain, const char *enc, enum lj_b64_alphabet a)
{
    size_t n = 0;
    unsigned char *dec = NULL;
    char *e = lj_b64_encode(plain, strlen(plain), a, &n);

    assert_non_null(e);
    assert_string_equal(e, enc);
    assert_int_equal(n, strlen(enc));
    assert_true(lj_b64_decode(enc, strlen(enc), a, &dec, &n));
    assert_int_equal(n, strlen(plain));
    assert_memory_equal(dec, plain, n);
    free(e);
    free(dec);
}

static void
test_rfc4648_vectors(void **state)
{
    (void)state;
    check_roundtrip("", "", LJ_B64_STD);
    check_roundtrip("f", "Zg==", LJ_B64_STD);
    check_roundtrip("fo", "Zm8=", LJ_B64_STD);
    check_roundtrip("foo", "Zm9v", LJ_B64_STD);
    check_roundtrip("foob", "Zm9vYg==", LJ_B64_STD);
    check_roundtrip("fooba", "Zm9vYmE=", LJ_B64_STD);
    check_roundtrip("foobar", "Zm9vYmFy", LJ_B64_STD);
    check_roundtrip("f", "Zg", LJ_B64_URL);
    check_roundtrip("fooba", "Zm9vYmE", LJ_B64_URL);
}

static void
test_url_alphabet(void **state)
{
    const unsigned char raw[] = {0xfb, 0xff, 0xfe};
    size_t n;
    char *s;

    (void)state;
    s = lj_b64_encode(raw, sizeof(raw), LJ_B64_URL, &n);
    assert_string_equal(s, "-__-");
    free(s);
    s = lj_b64_encode(raw, sizeof(raw), LJ_B64_STD, &n);
    assert_string_equal(s, "+//+");
    free(s);
}

static void
test_rejects_bad_input(void **state)
{
    unsigned char *out = NULL;
    size_t n;

    (void)state;
    assert_false(lj_b64_decode("Zg=", 3, LJ_B64_STD, &out, &n));  /* bad length */
    assert_false(lj_b64_decode("Zg", 2, LJ_B64_STD, &out, &n));   /* no padding */
    assert_false(lj_b64_decode("Z!==", 4, LJ_B64_STD, &out, &n)); /* bad char */
    assert_false(lj_b64_decode("Zh==", 4, LJ_B64_STD, &out, &n)); /* non-canonical */
    assert_false(lj_b64_decode("-__-", 4, LJ_B64_STD, &out, &n)); /* url chars in std */
    assert_false(lj_b64_decode("+//+", 4, LJ_B64_URL, &out, &n)); /* std chars in url */
    assert_false(lj_b64_decode("Z", 1, LJ_B64_URL, &out, &n));    /* impossible length */
    assert_null(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_url_alphabet),
        cmocka_unit_test(test_rejects_bad_input),
    };
    return cmocka_run_group_tests_name("b64", tests, NULL, NULL);
}
