/*
 * test_proxy.c — agent/core/proxy.c: proxy URL and no_proxy checks,
 * no_proxy matching (curl's NOPROXY semantics) and the credentials file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "agent/core/proxy.h"
#include "platform/common/secmem.h"
#include "tests/unit/testutil.h"

static void
test_url_check(void **state)
{
    static const char *const good[] = {"http://proxy.contoso.com:3128", "http://10.0.0.5:8080/",
                                       "http://[::1]:3128", "http://PROXY:1", "http://p-1.x:65535"};
    static const struct {
        const char *v, *why;
    } bad[] = {
        {"https://proxy:3128", "must be an http:// proxy"},
        {"http://user:pw@proxy:3128", "must not hold a user name or password"},
        {"http://proxy", "must name the port"},
        {"http://proxy:0", "has a bad port"},
        {"http://proxy:70000", "has a bad port"},
        {"http://proxy:3128/path", "without a path"},
        {"http://proxy:3128?x", "without a path"},
        {"http://pro xy:3128", "without a path"},
        {"http://-proxy:3128", "has no valid host name"},
        {"http://[::1:3128", "must name the port"},
        {"socks5://proxy:1080", "must be none, env or http://HOST:PORT"},
        {"proxy:3128", "must be none, env or http://HOST:PORT"},
        {"", "must be none, env"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (lj_proxy_url_check(good[i]) != NULL)
            fail_msg("%s refused: %s", good[i], lj_proxy_url_check(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *why = lj_proxy_url_check(bad[i].v);
        if (why == NULL || strstr(why, bad[i].why) == NULL)
            fail_msg("%s: got '%s', want '%s'", bad[i].v, why ? why : "(accepted)", bad[i].why);
    }
    assert_non_null(lj_proxy_url_check(NULL));
}

static void
test_no_proxy_check(void **state)
{
    (void)state;
    assert_null(lj_no_proxy_check(""));
    assert_null(lj_no_proxy_check(NULL));
    assert_null(lj_no_proxy_check("*"));
    assert_null(lj_no_proxy_check("login.microsoftonline.com, .windows.net,10.0.0.1"));
    assert_null(lj_no_proxy_check("::1,[fe80::1],localhost"));
    assert_non_null(lj_no_proxy_check("a b"));
    assert_non_null(lj_no_proxy_check("*.contoso.com")); /* curl has no such wildcard */
    assert_non_null(lj_no_proxy_check("-bad.example"));
    assert_non_null(lj_no_proxy_check("ok.example,."));
    assert_non_null(lj_no_proxy_check("x;y"));
}

static void
test_no_proxy_match(void **state)
{
    const char *l = "login.microsoftonline.com, .windows.net,MANAGE.microsoft.com,10.0.0.1,::1";

    (void)state;
    assert_true(lj_no_proxy_match(l, "login.microsoftonline.com"));
    assert_true(lj_no_proxy_match(l, "LOGIN.microsoftonline.com"));
    assert_true(lj_no_proxy_match(l, "enterpriseregistration.windows.net"));
    assert_true(lj_no_proxy_match(l, "windows.net"));
    assert_true(lj_no_proxy_match(l, "enrollment.manage.microsoft.com"));
    assert_true(lj_no_proxy_match(l, "10.0.0.1"));
    assert_true(lj_no_proxy_match(l, "[::1]"));
    assert_true(lj_no_proxy_match(l, "::1"));
    assert_false(lj_no_proxy_match(l, "graph.microsoft.com"));
    assert_false(lj_no_proxy_match(l, "evilwindows.net")); /* a suffix, not a domain */
    assert_false(lj_no_proxy_match(l, "10.0.0.11"));
    assert_false(lj_no_proxy_match(l, "microsoftonline.com"));
    assert_true(lj_no_proxy_match("*", "anything.example"));
    assert_false(lj_no_proxy_match("", "login.microsoftonline.com"));
    assert_false(lj_no_proxy_match(NULL, "login.microsoftonline.com"));
}

static char *
write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    FILE *f;

    assert_non_null(path);
    snprintf(path, n, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static void
test_credentials(void **state)
{
    char *dir = lj_test_tmpdir(), *p, *user = NULL, *pw = NULL;
    char why[160];

    (void)state;
    assert_non_null(dir);
    p = write_file(dir, "ok", "alice:pa:ss word\r\nignored\n", 0600);
    assert_int_equal(lj_proxy_credentials_read(p, &user, &pw, why, sizeof(why)), LJ_OK);
    assert_string_equal(user, "alice");
    assert_string_equal(pw, "pa:ss word"); /* the first ':' splits */
    lj_secret_free(user);
    lj_secret_free(pw);
    free(p);
    p = write_file(dir, "empty-pw", "bob:", 0400);
    assert_int_equal(lj_proxy_credentials_read(p, &user, &pw, why, sizeof(why)), LJ_OK);
    assert_string_equal(user, "bob");
    assert_string_equal(pw, "");
    lj_secret_free(user);
    lj_secret_free(pw);
    free(p);
    user = pw = NULL;
    p = write_file(dir, "readable", "alice:pw\n", 0644);
    assert_int_equal(lj_proxy_credentials_read(p, &user, &pw, why, sizeof(why)), LJ_ERR_CONFIG);
    assert_non_null(strstr(why, "readable by other users"));
    free(p);
    p = write_file(dir, "nocolon", "alice\n", 0600);
    assert_int_equal(lj_proxy_credentials_read(p, &user, &pw, why, sizeof(why)), LJ_ERR_CONFIG);
    assert_non_null(strstr(why, "USER:PASSWORD"));
    free(p);
    p = write_file(dir, "nouser", ":pw\n", 0600);
    assert_int_equal(lj_proxy_credentials_read(p, &user, &pw, why, sizeof(why)), LJ_ERR_CONFIG);
    free(p);
    assert_int_equal(lj_proxy_credentials_read("/nonexistent/cred", &user, &pw, why, sizeof(why)),
                     LJ_ERR_CONFIG);
    assert_non_null(strstr(why, "cannot be read"));
    assert_null(user);
    assert_null(pw);
    assert_int_equal(lj_test_rmdir(dir), 0);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_check),
        cmocka_unit_test(test_no_proxy_check),
        cmocka_unit_test(test_no_proxy_match),
        cmocka_unit_test(test_credentials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
