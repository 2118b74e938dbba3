/* Unit tests for agent/net/loopback.c: which URIs, ports, what each kind of request gets, Host,
 * connections read side by side. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/net/loopback.h"
#include "platform/common/secmem.h"

static void
test_uri_kinds(void **state)
{
    (void)state;
    assert_true(lj_loopback_uri("http://127.0.0.1/cb"));
    assert_true(lj_loopback_uri("http://127.0.0.1:8400/cb"));
    assert_true(lj_loopback_uri("http://localhost"));
    assert_true(lj_loopback_uri("HTTP://LOCALHOST:1/"));
    assert_true(lj_loopback_uri("http://[::1]:9/x/y"));
    assert_false(lj_loopback_uri("https://127.0.0.1/cb")); /* not plain http */
    assert_false(lj_loopback_uri("ms-aadj-redir://auth/drs"));
    assert_false(lj_loopback_uri("http://127.0.0.2/cb"));
    assert_false(lj_loopback_uri("http://localhost.evil.example/cb"));
    assert_false(lj_loopback_uri("http://127.0.0.1:/cb")); /* empty port */
    assert_false(lj_loopback_uri("http://127.0.0.1:65536/cb"));
    assert_false(lj_loopback_uri("http://127.0.0.1:123456/cb"));
    assert_false(lj_loopback_uri("http://127.0.0.1/cb?x=1")); /* own query */
    assert_false(lj_loopback_uri("http://127.0.0.1/cb#f"));
    assert_false(lj_loopback_uri("http://127.0.0.1@evil/cb"));
    assert_false(lj_loopback_uri(NULL));
}

/* The port the effective URI names (after "http://127.0.0.1:"). */
static int
port_of(const char *eff)
{
    const char *c = strrchr(eff, ':');

    assert_non_null(c);
    return (int)strtol(c + 1, NULL, 10);
}

static int
connect_to(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Send req on a new connection, let the listener look, return the status line's code. */
static int
exchange(struct lj_loopback *lb, int port, const char *req, char **url)
{
    char buf[2048];
    ssize_t n;
    int fd = connect_to(port), code = 0;
    char hreq[LJ_LOOPBACK_HEAD_MAX + 128];
    const char *h = req != NULL ? strstr(req, "Host: @") : NULL;

    /* "Host: @" stands for the listener's own 127.0.0.1:PORT */
    if (h != NULL && strlen(req) < LJ_LOOPBACK_HEAD_MAX) {
        snprintf(hreq, sizeof(hreq), "%.*sHost: 127.0.0.1:%d%s", (int)(h - req), req, port, h + 7);
        req = hreq;
    }
    if (req != NULL)
        assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    *url = NULL;
    if (lj_loopback_poll(lb, 1000, url) == LJ_OK)
        lj_loopback_reply(lb, true, NULL);
    n = recv(fd, buf, sizeof(buf) - 1, MSG_WAITALL);
    if (n > 12) {
        buf[n] = '\0';
        code = (int)strtol(buf + 9, NULL, 10);
    }
    close(fd);
    return code;
}

static void
test_requests(void **state)
{
    struct lj_loopback *lb = NULL;
    char *eff = NULL, *url = NULL, *big;
    int port;

    (void)state;
    assert_int_equal(lj_loopback_open("http://127.0.0.1/lj/cb", &lb, &eff), LJ_OK);
    port = port_of(eff);
    assert_true(port > 0);
    assert_string_equal(strchr(eff + 7, '/'), "/lj/cb");
    assert_int_equal(lj_loopback_fd(lb) >= 0, 1);

    /* nothing pending: a timeout */
    assert_int_equal(lj_loopback_poll(lb, 10, &url), LJ_ERR_TIMEOUT);
    assert_null(url);

    assert_int_equal(exchange(lb, port, "GET /other?code=x HTTP/1.1\r\nHost: @\r\n\r\n", &url),
                     404);
    assert_null(url);
    assert_int_equal(exchange(lb, port, "POST /lj/cb HTTP/1.1\r\nHost: @\r\n\r\n", &url), 405);
    assert_int_equal(exchange(lb, port, "GET /lj/cb HTTP/1.1\r\nHost: @\r\n\r\n", &url),
                     400); /* no query */
    assert_int_equal(exchange(lb, port, "GET /lj/cb? HTTP/1.1\r\nHost: @\r\n\r\n", &url), 400);
    assert_int_equal(exchange(lb, port, "hello\r\n\r\n", &url), 400);
    assert_int_equal(exchange(lb, port, "GET lj/cb?code=1 HTTP/1.1\r\n\r\n", &url), 400);
    assert_int_equal(exchange(lb, port, "GET /lj/cb?code=1 SPDY/9\r\n\r\n", &url), 400);
    assert_null(url);

    /* a head over the cap gets 431 and is not handed on */
    big = malloc(LJ_LOOPBACK_HEAD_MAX + 64);
    assert_non_null(big);
    memcpy(big, "GET /lj/cb?code=", 16);
    memset(big + 16, 'a', LJ_LOOPBACK_HEAD_MAX + 40);
    big[LJ_LOOPBACK_HEAD_MAX + 56] = '\0';
    assert_int_equal(exchange(lb, port, big, &url), 431);
    assert_null(url);
    free(big);

    /* the redirect: handed on as effective URI + query (fragment dropped), answered 200 */
    assert_int_equal(
        exchange(lb, port, "GET /lj/cb?code=abc&state=s1#frag HTTP/1.1\r\nHost: @\r\n\r\n", &url),
        200);
    assert_non_null(url);
    {
        char want[128];

        snprintf(want, sizeof(want), "%s?code=abc&state=s1", eff);
        assert_string_equal(url, want);
    }
    lj_secret_free(url);
    lj_loopback_close(lb);
    free(eff);
}

static void
test_fixed_port_kept_as_written(void **state)
{
    struct lj_loopback *lb = NULL, *lb2 = NULL;
    char *eff = NULL, *eff2 = NULL, uri[64];
    int port;

    (void)state;
    /* learn a free port, then ask for it by name */
    assert_int_equal(lj_loopback_open("http://localhost", &lb, &eff), LJ_OK);
    port = port_of(eff);
    lj_loopback_close(lb);
    free(eff);
    snprintf(uri, sizeof(uri), "http://LocalHost:%d", port);
    assert_int_equal(lj_loopback_open(uri, &lb, &eff), LJ_OK);
    assert_string_equal(eff, uri); /* exactly as configured */
    /* the same port twice: the second cannot bind */
    assert_int_equal(lj_loopback_open(uri, &lb2, &eff2), LJ_ERR_IO);
    assert_null(lb2);
    assert_null(eff2);
    lj_loopback_close(lb);
    free(eff);
    assert_int_equal(lj_loopback_open("https://localhost/x", &lb, &eff), LJ_ERR_INVAL);
    lj_loopback_close(NULL);
    lj_loopback_reply(NULL, true, NULL);
}

static int
connect6_to(int port)
{
    struct sockaddr_in6 a;
    int fd = socket(AF_INET6, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_port = htons((unsigned short)port);
    a.sin6_addr = in6addr_loopback;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Can this host bind [::1] at all?  (Without it nobody can squat there.) */
static bool
have_ipv6_loopback(void)
{
    struct sockaddr_in6 a;
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    bool ok;

    if (fd < 0)
        return false;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/*
 * localhost names both loopback addresses (a browser may try ::1 first):
 * the listener holds the port on 127.0.0.1 and on [::1], and a redirect
 * on either is taken (RFC 8252 §7.3, §8.3).
 */
static void
test_localhost_listens_on_both(void **state)
{
    struct lj_loopback *lb = NULL;
    char *eff = NULL, *url = NULL, buf[512], req[128];
    ssize_t n;
    int port, fd;

    (void)state;
    if (!have_ipv6_loopback())
        skip();
    assert_int_equal(lj_loopback_open("http://localhost/cb", &lb, &eff), LJ_OK);
    port = port_of(eff);
    snprintf(req, sizeof(req), "GET /cb?code=abc&state=s1 HTTP/1.1\r\nHost: localhost:%d\r\n\r\n",
             port);
    fd = connect6_to(port);
    assert_true(fd >= 0);
    assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    assert_int_equal(lj_loopback_poll(lb, 1000, &url), LJ_OK);
    lj_loopback_reply(lb, true, NULL);
    n = recv(fd, buf, sizeof(buf) - 1, MSG_WAITALL);
    assert_true(n > 12);
    buf[n] = '\0';
    assert_int_equal(strtol(buf + 9, NULL, 10), 200);
    close(fd);
    lj_secret_free(url);
    /* and on 127.0.0.1 as before */
    snprintf(req, sizeof(req), "GET /cb?code=x HTTP/1.1\r\nHost: LocalHost:%d\r\n\r\n", port);
    assert_int_equal(exchange(lb, port, req, &url), 200);
    lj_secret_free(url);
    lj_loopback_close(lb);
    free(eff);
}

/* Someone else on [::1]:PORT: a localhost listener on PORT refuses to start. */
static void
test_localhost_v6_taken(void **state)
{
    struct lj_loopback *lb = NULL;
    struct sockaddr_in6 a;
    socklen_t sl = sizeof(a);
    char *eff = NULL, uri[64];
    int one = 1, fd;

    (void)state;
    if (!have_ipv6_loopback())
        skip();
    fd = socket(AF_INET6, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
    snprintf(uri, sizeof(uri), "http://localhost:%d/cb", ntohs(a.sin6_port));
    assert_int_equal(lj_loopback_open(uri, &lb, &eff), LJ_ERR_IO);
    assert_null(lb);
    assert_null(eff);
    close(fd);
}

/*
 * Host must be the loopback host:port the listener was bound as: a page on
 * another name (DNS rebinding) or a request without Host is refused with
 * 400 and not handed on.
 */
static void
test_host_checked(void **state)
{
    struct lj_loopback *lb = NULL;
    char *eff = NULL, *url = NULL, req[256];
    int port;

    (void)state;
    assert_int_equal(lj_loopback_open("http://127.0.0.1/cb", &lb, &eff), LJ_OK);
    port = port_of(eff);
    assert_int_equal(exchange(lb, port, "GET /cb?code=x&state=s HTTP/1.1\r\n\r\n", &url), 400);
    assert_null(url);
    snprintf(req, sizeof(req), "GET /cb?code=x HTTP/1.1\r\nHost: evil.example:%d\r\n\r\n", port);
    assert_int_equal(exchange(lb, port, req, &url), 400);
    assert_null(url);
    snprintf(req, sizeof(req), "GET /cb?code=x HTTP/1.1\r\nHost: localhost:%d\r\n\r\n", port);
    assert_int_equal(exchange(lb, port, req, &url), 400);
    snprintf(req, sizeof(req), "GET /cb?code=x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", port + 1);
    assert_int_equal(exchange(lb, port, req, &url), 400);
    assert_int_equal(exchange(lb, port, "GET /cb?code=x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", &url),
                     400);
    snprintf(req, sizeof(req),
             "GET /cb?code=x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nHost: evil.example\r\n\r\n", port);
    assert_int_equal(exchange(lb, port, req, &url), 400); /* two Host lines */
    assert_null(url);
    snprintf(req, sizeof(req),
             "GET /cb?code=x HTTP/1.1\r\nUser-Agent: t\r\nhost:  127.0.0.1:%d \r\n\r\n", port);
    assert_int_equal(exchange(lb, port, req, &url), 200);
    assert_non_null(url);
    lj_secret_free(url);
    lj_loopback_close(lb);
    free(eff);
}

/*
 * A connection that sends nothing (or half a head) does not hold up the
 * redirect on another one: the second is taken while the first waits, and
 * the first is still served when it finishes.
 */
static void
test_slow_connection_does_not_block(void **state)
{
    struct lj_loopback *lb = NULL;
    char *eff = NULL, *url = NULL, req[256], want[128], buf[512];
    int port, idle, slow, fast;
    ssize_t n;

    (void)state;
    assert_int_equal(lj_loopback_open("http://127.0.0.1/cb", &lb, &eff), LJ_OK);
    port = port_of(eff);
    idle = connect_to(port);
    slow = connect_to(port);
    assert_int_equal(send(slow, "GET /cb?code=slow", 17, 0), 17);
    assert_int_equal(lj_loopback_poll(lb, 50, &url), LJ_ERR_TIMEOUT); /* both accepted, waiting */
    fast = connect_to(port);
    snprintf(req, sizeof(req), "GET /cb?code=fast HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", port);
    assert_int_equal(send(fast, req, strlen(req), 0), (ssize_t)strlen(req));
    /* well under LJ_LOOPBACK_READ_MS: the idle ones must not be waited for */
    assert_int_equal(lj_loopback_poll(lb, LJ_LOOPBACK_READ_MS / 2, &url), LJ_OK);
    snprintf(want, sizeof(want), "%s?code=fast", eff);
    assert_string_equal(url, want);
    lj_secret_free(url);
    lj_loopback_reply(lb, true, NULL);
    n = recv(fast, buf, sizeof(buf) - 1, MSG_WAITALL);
    assert_true(n > 12);
    close(fast);
    /* the slow one finishes its head and is served in turn */
    snprintf(req, sizeof(req), " HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", port);
    assert_int_equal(send(slow, req, strlen(req), 0), (ssize_t)strlen(req));
    assert_int_equal(lj_loopback_poll(lb, LJ_LOOPBACK_READ_MS / 2, &url), LJ_OK);
    snprintf(want, sizeof(want), "%s?code=slow", eff);
    assert_string_equal(url, want);
    lj_secret_free(url);
    lj_loopback_reply(lb, true, NULL);
    close(slow);
    close(idle);
    lj_loopback_close(lb);
    free(eff);
}

/* More idle connections than slots: the oldest are dropped, the redirect is served. */
static void
test_idle_flood_drops_oldest(void **state)
{
    struct lj_loopback *lb = NULL;
    char *eff = NULL, *url = NULL, req[128];
    int port, idle[12], fast;

    (void)state;
    assert_int_equal(lj_loopback_open("http://127.0.0.1/cb", &lb, &eff), LJ_OK);
    port = port_of(eff);
    for (int i = 0; i < 12; i++) {
        idle[i] = connect_to(port);
        if (i % 4 == 3) /* take them in, within the listen backlog */
            assert_int_equal(lj_loopback_poll(lb, 20, &url), LJ_ERR_TIMEOUT);
    }
    fast = connect_to(port);
    snprintf(req, sizeof(req), "GET /cb?code=f HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", port);
    assert_int_equal(send(fast, req, strlen(req), 0), (ssize_t)strlen(req));
    assert_int_equal(lj_loopback_poll(lb, LJ_LOOPBACK_READ_MS / 2, &url), LJ_OK);
    lj_secret_free(url);
    lj_loopback_reply(lb, true, NULL);
    close(fast);
    for (int i = 0; i < 12; i++)
        close(idle[i]);
    lj_loopback_close(lb);
    free(eff);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri_kinds),
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_fixed_port_kept_as_written),
        cmocka_unit_test(test_localhost_listens_on_both),
        cmocka_unit_test(test_localhost_v6_taken),
        cmocka_unit_test(test_host_checked),
        cmocka_unit_test(test_slow_connection_does_not_block),
        cmocka_unit_test(test_idle_flood_drops_oldest),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
