/*
 * test_text.c — platform/common/text.c: the one HTML-body detector and the
 * GUID check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "platform/common/text.h"

static void
test_html_pages(void **state)
{
    static const char *const pages[] = {"<!DOCTYPE html><html></html>", "  \r\n<html lang=en>",
                                        "<HEAD><title>x</title>", "<body>blocked</body>",
                                        "<title>Portal</title>",
                                        /* A captive portal that opens with a comment is a page for
                                         * every protocol (sign-in, DRS and Intune alike). */
                                        "<!-- portal v2 --><html>", "\n\t<!--x-->"};
    (void)state;
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
        assert_true(lj_body_is_html(pages[i], strlen(pages[i])));
}

static void
test_html_not_pages(void **state)
{
    static const char *const answers[] = {"{\"error\":\"x\"}",
                                          "<?xml version=\"1.0\"?><s:Envelope/>",
                                          "<s:Envelope>",
                                          "",
                                          "   ",
                                          "<htm",
                                          "<!-",
                                          "text <html>"};
    (void)state;
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++)
        assert_false(lj_body_is_html(answers[i], strlen(answers[i])));
    assert_false(lj_body_is_html(NULL, 0));
    /* The length bounds the look: a page cut before its tag is no page. */
    assert_false(lj_body_is_html("<html>", 4));
}

static void
test_guid(void **state)
{
    (void)state;
    assert_true(lj_is_guid("7e980ad9-b86d-4306-9425-9ac066fb014a"));
    assert_true(lj_is_guid("7E980AD9-B86D-4306-9425-9AC066FB014A"));
    assert_false(lj_is_guid("{7E980AD9-B86D-4306-9425-9AC066FB014A}"));
    assert_false(lj_is_guid("7E980AD9-B86D-4306-9425-9AC066FB014"));
    assert_false(lj_is_guid("7E980AD9xB86D-4306-9425-9AC066FB014A"));
    assert_false(lj_is_guid("7E980AD9-B86D-4306-9425-9AC066FB014G"));
    assert_false(lj_is_guid(""));
    assert_false(lj_is_guid(NULL));
}

static void
test_dotted_quad(void **state)
{
    (void)state;
    assert_true(lj_is_dotted_quad("10.0.26100.1"));
    assert_true(lj_is_dotted_quad("0.0.0.0"));
    assert_true(lj_is_dotted_quad("65535.65535.65535.65535"));
    assert_false(lj_is_dotted_quad("12"));         /* Debian's VERSION_ID */
    assert_false(lj_is_dotted_quad("10.0.26100")); /* three parts */
    assert_false(lj_is_dotted_quad("10.0.26100.1.2"));
    assert_false(lj_is_dotted_quad("10.0.65536.1")); /* a part over 16 bits */
    assert_false(lj_is_dotted_quad("10.0.000026100.1"));
    assert_false(lj_is_dotted_quad("10..26100.1"));
    assert_false(lj_is_dotted_quad("10.0.26100.1."));
    assert_false(lj_is_dotted_quad(".10.0.26100"));
    assert_false(lj_is_dotted_quad("10.0.26100.1 "));
    assert_false(lj_is_dotted_quad("+10.0.26100.1"));
    assert_false(lj_is_dotted_quad("6.1.7601.x"));
    assert_false(lj_is_dotted_quad(""));
    assert_false(lj_is_dotted_quad(NULL));
}

/* lj_utf8_next: RFC 3629 well-formed sequences only, never past n. */
static void
test_utf8_next(void **state)
{
    const unsigned char ascii[] = "A", two[] = "\xc3\xbc", three[] = "\xe2\x80\xae",
                        four[] = "\xf0\x9f\x98\x80";
    const unsigned char *bad[] = {
        (const unsigned char *)"\xc0\xaf",         /* overlong '/' */
        (const unsigned char *)"\xe0\x80\xaf",     /* overlong, 3 bytes */
        (const unsigned char *)"\xed\xa0\x80",     /* surrogate U+D800 */
        (const unsigned char *)"\xf4\x90\x80\x80", /* above U+10FFFF */
        (const unsigned char *)"\x80",             /* lone continuation */
        (const unsigned char *)"\xc3"
                               "A", /* continuation missing */
        (const unsigned char *)"\xff",
    };
    unsigned cp = 0;

    (void)state;
    assert_int_equal(lj_utf8_next(ascii, 1, &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(lj_utf8_next(two, 2, &cp), 2);
    assert_int_equal(cp, 0xfc);
    assert_int_equal(lj_utf8_next(three, 3, &cp), 3);
    assert_int_equal(cp, 0x202e);
    assert_int_equal(lj_utf8_next(four, 4, &cp), 4);
    assert_int_equal(cp, 0x1f600);
    /* cut off by n: the bytes after n are never read */
    assert_int_equal(lj_utf8_next(four, 3, &cp), 0);
    assert_int_equal(lj_utf8_next(two, 1, &cp), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(lj_utf8_next(bad[i], strlen((const char *)bad[i]), &cp), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_pages), cmocka_unit_test(test_html_not_pages),
        cmocka_unit_test(test_guid),       cmocka_unit_test(test_dotted_quad),
        cmocka_unit_test(test_utf8_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
