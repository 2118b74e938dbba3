/*
 * Unit tests for platform/oobe/bridge/gate.c: Host and Origin (DNS
 * rebinding and cross-site cases), the token comparison, locale tags and
 * which paths name an asset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "platform/oobe/bridge/gate.h"

static void
test_host(void **state)
{
    (void)state;
    assert_true(oobe_gate_host_ok("127.0.0.1:8765", 8765));
    assert_true(oobe_gate_host_ok("localhost:8765", 8765));
    assert_true(oobe_gate_host_ok("LocalHost:8765", 8765));
    assert_false(oobe_gate_host_ok(NULL, 8765));
    assert_false(oobe_gate_host_ok("", 8765));
    assert_false(oobe_gate_host_ok("127.0.0.1", 8765));
    assert_false(oobe_gate_host_ok("localhost", 8765));
    assert_false(oobe_gate_host_ok("127.0.0.1:8766", 8765));
    assert_false(oobe_gate_host_ok("127.0.0.1:08765", 8765));
    assert_false(oobe_gate_host_ok("127.0.0.1:8765.", 8765));
    assert_false(oobe_gate_host_ok("evil.example:8765", 8765));
    assert_false(oobe_gate_host_ok("localhost.:8765", 8765));
    assert_false(oobe_gate_host_ok("localhost.evil.example:8765", 8765));
    assert_false(oobe_gate_host_ok("127.1:8765", 8765));
    assert_false(oobe_gate_host_ok("[::1]:8765", 8765));
    assert_false(oobe_gate_host_ok("127.0.0.1:8765 ", 8765));
    assert_false(oobe_gate_host_ok("127.0.0.1:0", 0));
}

static void
test_origin(void **state)
{
    (void)state;
    assert_true(oobe_gate_origin_ok("http://127.0.0.1:8765", 8765));
    assert_true(oobe_gate_origin_ok("http://localhost:8765", 8765));
    assert_false(oobe_gate_origin_ok(NULL, 8765));
    assert_false(oobe_gate_origin_ok("null", 8765));
    assert_false(oobe_gate_origin_ok("https://127.0.0.1:8765", 8765));
    assert_false(oobe_gate_origin_ok("http://127.0.0.1:8765/", 8765));
    assert_false(oobe_gate_origin_ok("http://127.0.0.1", 8765));
    assert_false(oobe_gate_origin_ok("http://evil.example:8765", 8765));
    assert_false(oobe_gate_origin_ok("file://", 8765));
}

static void
test_token(void **state)
{
    const char *tok = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char other[80];

    (void)state;
    assert_true(oobe_gate_token_ok(tok, tok));
    assert_false(oobe_gate_token_ok(NULL, tok));
    assert_false(oobe_gate_token_ok("", tok));
    assert_false(oobe_gate_token_ok("0123456789abcdef", tok));
    snprintf(other, sizeof(other), "%s0", tok);
    assert_false(oobe_gate_token_ok(other, tok));
    snprintf(other, sizeof(other), "%s", tok);
    other[63] = 'e';
    assert_false(oobe_gate_token_ok(other, tok));
    other[0] = 'A';
    other[63] = 'f';
    assert_false(oobe_gate_token_ok(other, tok));
    /* a token of the wrong length is never matched, even by itself */
    assert_false(oobe_gate_token_ok("abc", "abc"));
}

static void
test_locale(void **state)
{
    (void)state;
    assert_true(oobe_gate_locale_ok("de-DE"));
    assert_true(oobe_gate_locale_ok("en"));
    assert_true(oobe_gate_locale_ok("zh-Hant-TW"));
    assert_true(oobe_gate_locale_ok("es-419"));
    assert_false(oobe_gate_locale_ok(NULL));
    assert_false(oobe_gate_locale_ok(""));
    assert_false(oobe_gate_locale_ok("d"));
    assert_false(oobe_gate_locale_ok("de-"));
    assert_false(oobe_gate_locale_ok("-DE"));
    assert_false(oobe_gate_locale_ok("de--DE"));
    assert_false(oobe_gate_locale_ok("de_DE"));
    assert_false(oobe_gate_locale_ok("12-DE"));
    assert_false(oobe_gate_locale_ok("de-\"x"));
    assert_false(oobe_gate_locale_ok("de-abcdefghi"));
    assert_true(oobe_gate_locale_ok("aa-bb-cc-dd-ee-ff-gg-hh-ii-jj-kk-ll"));
    assert_false(oobe_gate_locale_ok("aa-bb-cc-dd-ee-ff-gg-hh-ii-jj-kk-lll"));
}

static void
expect_asset(const char *path, const char *rel, const char *ctype)
{
    char r[160] = "";
    const char *ct = NULL;

    if (!oobe_gate_asset(path, r, sizeof(r), &ct))
        fail_msg("%s refused", path);
    assert_string_equal(r, rel);
    assert_string_equal(ct, ctype);
}

static void
test_asset(void **state)
{
    static const char *const refused[] = {
        "",
        "app.js",
        "//app.js",
        "/../etc/passwd",
        "/a/../app.js",
        "/.env",
        "/i18n/.de.json",
        "/app",
        "/app.exe",
        "/i18n/",
        "/a b.js",
        "/a%2e%2e/x.js",
        "/a/b/c/d.js",
        "/x.js/",
        "/app.JS",
        "/\\x.js",
        "/app.js\x01.css",
        "/i18n.d/x",
        NULL,
    };
    char r[16];
    const char *ct;

    (void)state;
    expect_asset("/", "index.html", "text/html; charset=utf-8");
    expect_asset("/app.js", "app.js", "text/javascript; charset=utf-8");
    expect_asset("/app.css", "app.css", "text/css; charset=utf-8");
    expect_asset("/i18n/de.json", "i18n/de.json", "application/json; charset=utf-8");
    expect_asset("/img/logo.svg", "img/logo.svg", "image/svg+xml");
    expect_asset("/a/b/c.png", "a/b/c.png", "image/png");
    expect_asset("/fonts/x-1_2.woff2", "fonts/x-1_2.woff2", "font/woff2");
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        char rr[160];
        if (oobe_gate_asset(refused[i], rr, sizeof(rr), &ct))
            fail_msg("%s taken as %s", refused[i] != NULL ? refused[i] : "(null)", rr);
    }
    /* too long for the caller's buffer */
    assert_false(oobe_gate_asset("/a-rather-long-name.js", r, sizeof(r), &ct));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host),   cmocka_unit_test(test_origin), cmocka_unit_test(test_token),
        cmocka_unit_test(test_locale), cmocka_unit_test(test_asset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
