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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_pages),
        cmocka_unit_test(test_html_not_pages),
        cmocka_unit_test(test_guid),
        cmocka_unit_test(test_dotted_quad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
