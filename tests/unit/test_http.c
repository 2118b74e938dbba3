/*
 * Unit tests for agent/net/http.c against a tiny TLS server that runs in a
 * thread of this test (wolfSSL, certificates from tests/data/http/), on a
 * free loopback port.  URLs use production-style names mapped with
 * connect_to, the way tests reach entra-sim.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include "agent/core/version.h"
#include "agent/net/http.h"
#include "platform/common/secmem.h"
#include "platform/common/text.h"

#define DATA "tests/data/http/"

enum srv_mode {
    SRV_RESPOND, /* TLS, read the request, send the canned response */
    SRV_SILENT,  /* listen, never accept (TLS handshake never completes) */
};

struct srv {
    enum srv_mode mode;
    int lfd;
    int port;
    const char *cert, *key;
    char *response; /* malloc'ed bytes to send */
    size_t response_len;
    char request[16384]; /* the last request received (headers + body) */
    size_t request_len;
    int handled;
    int max_conns;
    bool tls12;   /* TLS 1.2 only (session-id resumption from the server's cache) */
    int resumed;  /* handshakes that resumed a session */
    int per_conn; /* requests served per connection (keep-alive); 0 = 1 */
    int requests; /* requests served, all connections */
    pthread_t th;
    bool running;
};

/* Set before srv_start: the next server speaks TLS 1.2 only. */
static bool srv_next_tls12;

static int
listen_loopback(int *port)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void *
srv_main(void *arg)
{
    struct srv *s = arg;
    WOLFSSL_CTX *ctx =
        wolfSSL_CTX_new(s->tls12 ? wolfTLSv1_2_server_method() : wolfSSLv23_server_method());

    if (ctx == NULL || wolfSSL_CTX_use_certificate_chain_file(ctx, s->cert) != WOLFSSL_SUCCESS ||
        wolfSSL_CTX_use_PrivateKey_file(ctx, s->key, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
        fprintf(stderr, "test server: cannot load %s\n", s->cert);
        if (ctx)
            wolfSSL_CTX_free(ctx);
        return NULL;
    }
    while (s->handled < s->max_conns) {
        int fd = accept(s->lfd, NULL, NULL);
        WOLFSSL *ssl;

        if (fd < 0)
            break;
        s->handled++;
        ssl = wolfSSL_new(ctx);
        wolfSSL_set_fd(ssl, fd);
        if (wolfSSL_accept(ssl) != WOLFSSL_SUCCESS)
            goto next;
        if (wolfSSL_session_reused(ssl) == 1)
            s->resumed++;
        if (s->per_conn > 1) {
            /* Keep-alive: a connection idle for 1 s is closed, so a client
               that never sends its next request does not hold the server. */
            struct timeval tv = {1, 0};
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        }
        for (int k = 0; k < (s->per_conn > 1 ? s->per_conn : 1); k++) {
            size_t got = 0, need = 0, len = s->response_len;
            /* Read headers, then Content-Length bytes of body. */
            while (got < sizeof(s->request) - 1) {
                int r = wolfSSL_read(ssl, s->request + got, (int)(sizeof(s->request) - 1 - got));
                char *eoh;
                if (r <= 0)
                    break;
                got += (size_t)r;
                s->request[got] = '\0';
                eoh = strstr(s->request, "\r\n\r\n");
                if (eoh != NULL) {
                    char *cl = strcasestr(s->request, "\r\nContent-Length:");
                    need = (size_t)(eoh + 4 - s->request);
                    if (cl != NULL && cl < eoh)
                        need += strtoul(cl + 17, NULL, 10);
                    if (got >= need)
                        break;
                }
            }
            if (got == 0 && k > 0)
                break; /* the client closed or went idle */
            s->request_len = got;
            s->requests++;
            if (strncmp(s->request, "HEAD ", 5) == 0 && s->response != NULL) {
                char *eoh = strstr(s->response, "\r\n\r\n"); /* headers only */
                if (eoh != NULL)
                    len = (size_t)(eoh + 4 - s->response);
            }
            for (size_t off = 0; off < len;) {
                size_t chunk = len - off > 16384 ? 16384 : len - off;
                int w = wolfSSL_write(ssl, s->response + off, (int)chunk);
                if (w <= 0)
                    break;
                off += (size_t)w;
            }
        }
        wolfSSL_shutdown(ssl);
    next:
        wolfSSL_free(ssl);
        close(fd);
    }
    wolfSSL_CTX_free(ctx);
#ifdef FP_ECC
    wc_ecc_fp_free(); /* the fixed-point cache is per thread */
#endif
    return NULL;
}

static void
srv_start(struct srv *s, enum srv_mode mode, const char *cert, const char *key,
          const char *response)
{
    memset(s, 0, sizeof(*s));
    s->tls12 = srv_next_tls12;
    srv_next_tls12 = false;
    s->mode = mode;
    s->cert = cert;
    s->key = key;
    s->max_conns = 1;
    if (response != NULL) {
        s->response = strdup(response);
        s->response_len = strlen(response);
    }
    s->lfd = listen_loopback(&s->port);
    if (mode == SRV_RESPOND) {
        assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
        s->running = true;
    }
}

static void
srv_stop(struct srv *s)
{
    shutdown(s->lfd, SHUT_RDWR);
    if (s->running)
        pthread_join(s->th, NULL);
    close(s->lfd);
    free(s->response);
}

static struct lj_http *
client(int port, const char *ca, long timeout, size_t max_body)
{
    static char map[4][128];
    static const char *list[4];
    struct lj_http_config c;
    struct lj_http *h = NULL;

    snprintf(map[0], sizeof(map[0]), "login.linkjoin.test:443:127.0.0.1:%d", port);
    snprintf(map[1], sizeof(map[1]), "wrong.linkjoin.test:443:127.0.0.1:%d", port);
    for (int i = 0; i < 2; i++)
        list[i] = map[i];
    memset(&c, 0, sizeof(c));
    c.ca_file = ca;
    c.connect_to = list;
    c.n_connect_to = 2;
    c.connect_timeout = timeout;
    c.request_timeout = timeout;
    c.max_body = max_body;
    assert_int_equal(lj_http_new(&c, &h), LJ_OK);
    return h;
}

static void
test_get_ok_headers_and_ids(void **state)
{
    struct srv s;
    struct lj_http *h;
    struct lj_http_response r;
    struct lj_http_request q = {0};
    static const char *const extra[] = {"Accept: application/json", NULL};
    (void)state;

    srv_start(&s, SRV_RESPOND, DATA "server.pem", DATA "server-key.pem",
              "HTTP/1.1 429 Too Many Requests\r\n"
              "Content-Type: application/json; charset=utf-8\r\n"
              "Retry-After: 7\r\n"
              "request-id: 11111111-aaaa-bbbb-cccc-000000000001\r\n"
              "x-ms-request-id: 22222222-aaaa-bbbb-cccc-000000000002\r\n"
              "client-request-id: 33333333-aaaa-bbbb-cccc-000000000003\r\n"
              "x-ms-ags-diagnostic: {\"ServerInfo\":{}}\r\n"
              "Date: Thu, 26 Nov 2026 17:30:00 GMT\r\n"
              "Content-Length: 17\r\n"
              "Connection: close\r\n\r\n"
              "{\"error\":\"busy\"}\n");
    h = client(s.port, DATA "ca.pem", 10, 0);
    q.url = "https://login.linkjoin.test/tenant/discover?api-version=1.9";
    q.headers = extra;
    q.bearer = "SECRET-TOKEN-123";
    assert_int_equal(lj_http_do(h, &q, &r), LJ_OK);
    assert_int_equal(r.status, 429);
    assert_string_equal(r.body, "{\"error\":\"busy\"}\n");
    assert_int_equal(r.body_len, 17);
    assert_string_equal(r.content_type, "application/json; charset=utf-8");
    assert_int_equal(r.retry_after, 7);
    assert_string_equal(r.date, "Thu, 26 Nov 2026 17:30:00 GMT");
    assert_string_equal(lj_http_response_id(&r, "request-id"),
                        "11111111-aaaa-bbbb-cccc-000000000001");
    assert_string_equal(lj_http_response_id(&r, "x-ms-request-id"),
                        "22222222-aaaa-bbbb-cccc-000000000002");
    assert_non_null(lj_http_response_id(&r, "x-ms-ags-diagnostic"));
    assert_null(lj_http_response_id(&r, "content-type"));
    assert_int_equal(strlen(r.client_request_id), 36);

    srv_stop(&s);
    /* What we sent. */
    assert_non_null(strstr(s.request, "GET /tenant/discover?api-version=1.9 HTTP/1.1\r\n"));
    assert_non_null(strstr(s.request, "Host: login.linkjoin.test\r\n"));
    /* the Windows platform for Conditional Access (core/version.h) */
    assert_non_null(strstr(s.request, "User-Agent: " LJ_USER_AGENT "\r\n"));
    assert_non_null(strstr(s.request, "(Windows NT 10.0; Win64; x64) linkjoin/"));
    assert_non_null(strstr(s.request, "ocp-adrs-client-name: linkjoin\r\n"));
    assert_non_null(strstr(s.request, "ocp-adrs-client-version: "));
    assert_non_null(strstr(s.request, "Accept: application/json\r\n"));
    assert_non_null(strstr(s.request, "Authorization: Bearer SECRET-TOKEN-123\r\n"));
    {
        char want[80];
        snprintf(want, sizeof(want), "client-request-id: %s\r\n", r.client_request_id);
        assert_non_null(strstr(s.request, want));
    }
    lj_http_response_free(&r);
    lj_http_free(h);
}

static void
test_post_form(void **state)
{
    struct srv s;
    struct lj_http *h;
    struct lj_http_response r;
    struct lj_http_request q = {0};
    static const char *const kv[] = {"grant_type", "password",   "username", "a@b.example",
                                     "password",   "p&ss=w rd%", NULL};
    char *form;
    (void)state;

    form = lj_http_form_encode(kv);
    assert_string_equal(form,
                        "grant_type=password&username=a%40b.example&password=p%26ss%3Dw%20rd%25");
    srv_start(&s, SRV_RESPOND, DATA "server.pem", DATA "server-key.pem",
              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
    h = client(s.port, DATA "ca.pem", 10, 0);
    q.url = "https://login.linkjoin.test/organizations/oauth2/v2.0/token";
    q.body = form;
    q.body_len = strlen(form);
    q.content_type = "application/x-www-form-urlencoded";
    assert_int_equal(lj_http_do(h, &q, &r), LJ_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{}");
    assert_int_equal(r.retry_after, -1);
    srv_stop(&s);
    assert_non_null(strstr(s.request, "POST /organizations/oauth2/v2.0/token HTTP/1.1\r\n"));
    assert_non_null(strstr(s.request, "Content-Type: application/x-www-form-urlencoded\r\n"));
    assert_null(strstr(s.request, "Authorization:"));
    assert_non_null(strstr(s.request, "\r\n\r\ngrant_type=password&username="));
    lj_secret_free(form);
    lj_http_response_free(&r);
    lj_http_free(h);
}

static void
test_redirect_not_followed(void **state)
{
    struct srv s;
    struct lj_http *h;
    struct lj_http_response r;
    struct lj_http_request q = {0};
    (void)state;

    srv_start(&s, SRV_RESPOND, DATA "server.pem", DATA "server-key.pem",
              "HTTP/1.1 302 Found\r\nLocation: https://evil.example/steal\r\n"
              "Content-Length: 0\r\nConnection: close\r\n\r\n");
    h = client(s.port, DATA "ca.pem", 10, 0);
    q.url = "https://login.linkjoin.test/x";
    q.bearer = "TOKEN";
    assert_int_equal(lj_http_do(h, &q, &r), LJ_OK);
    assert_int_equal(r.status, 302);
    assert_string_equal(r.location, "https://evil.example/steal");
    assert_string_equal(r.body, "");
    srv_stop(&s);
    assert_int_equal(s.handled, 1);
    lj_http_response_free(&r);
    lj_http_free(h);
}

static void
big_response(struct srv *s, size_t body, bool content_length)
{
    char head[200];
    int n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n%s\r\nConnection: close\r\n\r\n",
                     content_length ? "Content-Length: 2000000" : "X-No-Length: 1");
    free(s->response);
    s->response = malloc((size_t)n + body);
    memcpy(s->response, head, (size_t)n);
    memset(s->response + n, 'a', body);
    s->response_len = (size_t)n + body;
    (void)content_length;
}

static void
test_body_cap(void **state)
{
    for (int with_len = 0; with_len < 2; with_len++) {
        struct srv s;
        struct lj_http *h;
        struct lj_http_response r;
        struct lj_http_request q = {0};
        (void)state;

        srv_start(&s, SRV_SILENT, DATA "server.pem", DATA "server-key.pem", NULL);
        big_response(&s, 2000000, with_len);
        s.max_conns = 1;
        assert_int_equal(pthread_create(&s.th, NULL, srv_main, &s), 0);
        s.running = true;
        h = client(s.port, DATA "ca.pem", 20, 0);
        q.url = "https://login.linkjoin.test/big";
        assert_int_equal(lj_http_do(h, &q, &r), LJ_ERR_TOO_BIG);
        assert_null(r.body);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.error, "login.linkjoin.test:443: the response was larger"));
        lj_http_response_free(&r);
        lj_http_free(h);
        srv_stop(&s);
    }
}

static void
test_body_cap_per_request(void **state)
{
    struct srv s;
    struct lj_http *h;
    struct lj_http_response r;
    struct lj_http_request q = {0};
    (void)state;

    srv_start(&s, SRV_RESPOND, DATA "server.pem", DATA "server-key.pem",
              "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n0123456789abcdef");
    h = client(s.port, DATA "ca.pem", 10, 0);
    q.url = "https://login.linkjoin.test/x";
    q.max_body = 10;
    assert_int_equal(lj_http_do(h, &q, &r), LJ_ERR_TOO_BIG);
    lj_http_response_free(&r);
    lj_http_free(h);
    srv_stop(&s);
}

static void
test_header_cap(void **state)
{
    struct srv s;
    struct lj_http *h;
    struct lj_http_response r;
    struct lj_http_request q = {0};
    size_t n = 0, cap = 80 * 1024;
    char *resp = malloc(cap + 200);
    (void)state;

    n += (size_t)snprintf(resp, 200, "HTTP/1.1 200 OK\r\n");
    while (n < cap)
        n += (size_t)snprintf(resp + n, 200, "X-Filler-%05zu: %s\r\n", n,
                              "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    n += (size_t)snprintf(resp + n, 200, "Content-Length: 0\r\n\r\n");
    srv_start(&s, SRV_RESPOND, DATA "server.pem", DATA "server-key.pem", resp);
    free(resp);
    h = client(s.port, DATA "ca.pem", 10, 0);
    q.url = "https://login.linkjoin.test/x";
    assert_int_equal(lj_http_do(h, &q, &r), LJ_ERR_TOO_BIG);
    lj_http_response_free(&r);
    lj_http_free(h);
    srv_stop(&s);
}

static void
test_untrusted_ca(void **state)
{
    struct srv s;
    struct lj_http *h;
    struct lj_http_response r;
    struct lj_http_request q = {0};
    char what[300];
    (void)state;

    srv_start(&s, SRV_RESPOND, DATA "other-server.pem", DATA "other-server-key.pem", "x");
    s.max_conns = 2;
    h = client(s.port, DATA "ca.pem", 10, 0);
    q.url = "https://login.linkjoin.test/x";
    q.bearer = "TOKEN";
    assert_int_equal(lj_http_do(h, &q, &r), LJ_ERR_TLS_UNTRUSTED);
    assert_non_null(
        strstr(r.error, "login.linkjoin.test:443: the server certificate is not trusted"));
    assert_int_equal(lj_http_probe(h, "https://login.linkjoin.test/", what, sizeof(what)),
                     LJ_ERR_TLS_UNTRUSTED);
    assert_non_null(strstr(what, "login.linkjoin.test:443"));
    srv_stop(&s);
    assert_null(strstr(s.request, "TOKEN")); /* nothing sent before verification */
    lj_http_response_free(&r);
    lj_http_free(h);
}

static void
test_hostname_mismatch(void **state)
{
    struct srv s;
    struct lj_http *h;
    struct lj_http_response r;
    struct lj_http_request q = {0};
    char what[300];
    (void)state;

    srv_start(&s, SRV_RESPOND, DATA "server.pem", DATA "server-key.pem", "x");
    s.max_conns = 2;
    h = client(s.port, DATA "ca.pem", 10, 0);
    q.url = "https://wrong.linkjoin.test/x";
    assert_int_equal(lj_http_do(h, &q, &r), LJ_ERR_TLS_HOSTNAME);
    assert_non_null(
        strstr(r.error, "wrong.linkjoin.test:443: the server certificate does not name"));
    assert_int_equal(lj_http_probe(h, "https://wrong.linkjoin.test/", what, sizeof(what)),
                     LJ_ERR_TLS_HOSTNAME);
    srv_stop(&s);
    lj_http_response_free(&r);
    lj_http_free(h);
}

static void
test_refused(void **state)
{
    struct lj_http *h;
    struct lj_http_response r;
    struct lj_http_request q = {0};
    char what[300];
    int port;
    int fd = listen_loopback(&port);
    (void)state;

    close(fd); /* nothing listens on port now */
    h = client(port, DATA "ca.pem", 10, 0);
    q.url = "https://login.linkjoin.test/x";
    assert_int_equal(lj_http_do(h, &q, &r), LJ_ERR_NET_CONNECT);
    assert_non_null(strstr(r.error, "login.linkjoin.test:443: the TCP connection was refused"));
    assert_int_equal(lj_http_probe(h, "https://login.linkjoin.test/", what, sizeof(what)),
                     LJ_ERR_NET_CONNECT);
    lj_http_response_free(&r);
    lj_http_free(h);
}

static void
test_timeout(void **state)
{
    struct srv s;
    struct lj_http *h;
    struct lj_http_response r;
    struct lj_http_request q = {0};
    char what[300];
    (void)state;

    /* The kernel completes TCP, nobody ever answers the TLS hello. */
    srv_start(&s, SRV_SILENT, DATA "server.pem", DATA "server-key.pem", NULL);
    h = client(s.port, DATA "ca.pem", 1, 0);
    q.url = "https://login.linkjoin.test/x";
    assert_int_equal(lj_http_do(h, &q, &r), LJ_ERR_NET_TIMEOUT);
    assert_non_null(strstr(r.error, "login.linkjoin.test:443: timed out"));
    assert_int_equal(lj_http_probe(h, "https://login.linkjoin.test/", what, sizeof(what)),
                     LJ_ERR_NET_TIMEOUT);
    lj_http_response_free(&r);
    lj_http_free(h);
    srv_stop(&s);
}

static void
test_probe_ok(void **state)
{
    struct srv s;
    struct lj_http *h;
    char what[300] = "";
    (void)state;

    /* Any HTTP status will do: the probe checks the path and TLS. */
    srv_start(&s, SRV_RESPOND, DATA "server.pem", DATA "server-key.pem",
              "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno");
    h = client(s.port, DATA "ca.pem", 10, 0);
    assert_int_equal(lj_http_probe(h, "https://login.linkjoin.test/", what, sizeof(what)), LJ_OK);
    lj_http_free(h);
    srv_stop(&s);
    assert_int_equal(s.requests, 1);
    assert_non_null(strstr(s.request, "HEAD / HTTP/1.1\r\n"));
    /* The headers every request carries, exactly once. */
    assert_non_null(strstr(s.request, "\r\nUser-Agent: " LJ_USER_AGENT "\r\n"));
    assert_null(strstr(strstr(s.request, "User-Agent:") + 1, "User-Agent:"));
    assert_non_null(strstr(s.request, "\r\nocp-adrs-client-name: linkjoin\r\n"));
    assert_non_null(strstr(s.request, "\r\nocp-adrs-client-version: " LJ_VERSION "\r\n"));
    assert_non_null(strstr(s.request, "\r\nclient-request-id: "));
    assert_non_null(strstr(s.request, "\r\nreturn-client-request-id: true\r\n"));
}

/* A server that answers the TLS handshake but no HTTP: the probe fails as
   a connection dropped mid-response. */
static void
test_probe_no_http_answer(void **state)
{
    struct srv s;
    struct lj_http *h;
    char what[300] = "";
    (void)state;

    srv_start(&s, SRV_RESPOND, DATA "server.pem", DATA "server-key.pem", "");
    h = client(s.port, DATA "ca.pem", 10, 0);
    assert_int_equal(lj_http_probe(h, "https://login.linkjoin.test/", what, sizeof(what)),
                     LJ_ERR_NET_CONNECT);
    assert_non_null(strstr(what, "login.linkjoin.test:443: "));
    lj_http_free(h);
    srv_stop(&s);
}

/* The request after a preflight probe reuses the probe's connection: one
   TLS handshake per host, also against a server that keeps no session. */
static void
test_probe_then_request_reuses_connection(void **state)
{
    struct srv s;
    struct lj_http *h;
    struct lj_http_response r;
    struct lj_http_request q = {0};
    char what[300] = "";
    (void)state;

    srv_start(&s, SRV_RESPOND, DATA "server.pem", DATA "server-key.pem",
              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    s.per_conn = 2;
    h = client(s.port, DATA "ca.pem", 10, 0);
    assert_int_equal(lj_http_probe(h, "https://login.linkjoin.test/", what, sizeof(what)), LJ_OK);
    q.url = "https://login.linkjoin.test/x";
    assert_int_equal(lj_http_do(h, &q, &r), LJ_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok");
    lj_http_response_free(&r);
    lj_http_free(h);
    srv_stop(&s);
    assert_int_equal(s.handled, 1);
    assert_int_equal(s.requests, 2);
    assert_non_null(strstr(s.request, "GET /x HTTP/1.1\r\n"));
}

/* A server that closes the probe's connection: the request connects again
   and resumes the probe's TLS session (the client's share handle). */
static void
test_probe_closed_then_request_resumes_session(void **state)
{
    struct srv s;
    struct lj_http *h;
    struct lj_http_response r;
    struct lj_http_request q = {0};
    char what[300] = "";
    (void)state;

    srv_next_tls12 = true;
    srv_start(&s, SRV_RESPOND, DATA "server.pem", DATA "server-key.pem",
              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    s.max_conns = 2;
    h = client(s.port, DATA "ca.pem", 10, 0);
    assert_int_equal(lj_http_probe(h, "https://login.linkjoin.test/", what, sizeof(what)), LJ_OK);
    q.url = "https://login.linkjoin.test/x";
    assert_int_equal(lj_http_do(h, &q, &r), LJ_OK);
    assert_int_equal(r.status, 200);
    lj_http_response_free(&r);
    lj_http_free(h);
    srv_stop(&s);
    assert_int_equal(s.handled, 2);
    assert_int_equal(s.resumed, 1);
}

/* Connections are never shared between clients: a client (say, leave's,
   with the device certificate) makes its own connection while another
   client's (without it) is open and idle to the same host, and the
   reverse.  The server serves one connection at a time and closes one
   idle for 1 s, so a shared connection would show as handled == 1. */
static void
test_clients_never_share_connections(void **state)
{
    struct srv s;
    struct lj_http *a, *b;
    struct lj_http_response r;
    struct lj_http_request q = {0};
    char what[300] = "";
    (void)state;

    srv_start(&s, SRV_RESPOND, DATA "server.pem", DATA "server-key.pem",
              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    s.per_conn = 2;
    s.max_conns = 2;
    a = client(s.port, DATA "ca.pem", 10, 0);
    b = client(s.port, DATA "ca.pem", 10, 0);
    assert_int_equal(lj_http_probe(a, "https://login.linkjoin.test/", what, sizeof(what)), LJ_OK);
    q.url = "https://login.linkjoin.test/x";
    assert_int_equal(lj_http_do(b, &q, &r), LJ_OK);
    assert_int_equal(r.status, 200);
    lj_http_response_free(&r);
    lj_http_free(a);
    lj_http_free(b);
    srv_stop(&s);
    assert_int_equal(s.handled, 2);
    assert_int_equal(s.requests, 2);
}

static bool
always_cancel(void *arg)
{
    (void)arg;
    return true;
}

static void
test_cancel_hook(void **state)
{
    struct srv s;
    struct lj_http *h = NULL;
    struct lj_http_response r;
    struct lj_http_request q = {0};
    struct lj_http_config c = {0};
    char map[128];
    const char *list[1] = {map};
    (void)state;

    srv_start(&s, SRV_SILENT, DATA "server.pem", DATA "server-key.pem", NULL);
    snprintf(map, sizeof(map), "login.linkjoin.test:443:127.0.0.1:%d", s.port);
    c.ca_file = DATA "ca.pem";
    c.connect_to = list;
    c.n_connect_to = 1;
    c.request_timeout = 30;
    c.cancelled = always_cancel;
    assert_int_equal(lj_http_new(&c, &h), LJ_OK);
    q.url = "https://login.linkjoin.test/x";
    assert_int_equal(lj_http_do(h, &q, &r), LJ_ERR_CANCELLED);
    lj_http_response_free(&r);
    lj_http_free(h);
    srv_stop(&s);
}

static void
test_plain_http_refused(void **state)
{
    struct lj_http *h = client(1, NULL, 10, 0);
    struct lj_http_response r;
    struct lj_http_request q = {0};
    char what[100];
    (void)state;

    q.url = "http://login.linkjoin.test/x";
    assert_int_equal(lj_http_do(h, &q, &r), LJ_ERR_INVAL);
    assert_string_equal(r.error, "refused a URL that is not https");
    assert_int_equal(lj_http_probe(h, "http://login.linkjoin.test/", what, sizeof(what)),
                     LJ_ERR_INVAL);
    lj_http_response_free(&r);
    lj_http_free(h);
}

static void
test_bad_ca_file(void **state)
{
    struct lj_http *h = client(1, "/nonexistent/ca.pem", 10, 0);
    struct lj_http_response r;
    struct lj_http_request q = {0};
    struct srv s;
    (void)state;

    srv_start(&s, SRV_RESPOND, DATA "server.pem", DATA "server-key.pem", "x");
    lj_http_free(h);
    h = client(s.port, "/nonexistent/ca.pem", 10, 0);
    q.url = "https://login.linkjoin.test/x";
    assert_int_equal(lj_http_do(h, &q, &r), LJ_ERR_CONFIG);
    lj_http_response_free(&r);
    lj_http_free(h);
    srv_stop(&s);
}

static void
test_error_mapping_table(void **state)
{
    char w[200];
    (void)state;
    assert_int_equal(lj_http__map_error(6, 0, "Could not resolve host: x", false, w, sizeof(w)),
                     LJ_ERR_NET_DNS);
    assert_string_equal(w, "the name did not resolve (DNS)");
    assert_int_equal(lj_http__map_error(7, 0, "", false, w, sizeof(w)), LJ_ERR_NET_CONNECT);
    assert_int_equal(lj_http__map_error(28, 0, "", false, w, sizeof(w)), LJ_ERR_NET_TIMEOUT);
    assert_int_equal(lj_http__map_error(
                         60, 20, "SSL certificate problem: unable to get local issuer certificate",
                         false, w, sizeof(w)),
                     LJ_ERR_TLS_UNTRUSTED);
    assert_int_equal(
        lj_http__map_error(
            60, 0, "SSL: no alternative certificate subject name matches target host name 'x'",
            false, w, sizeof(w)),
        LJ_ERR_TLS_HOSTNAME);
    assert_int_equal(lj_http__map_error(60, 10, "SSL certificate problem: certificate has expired",
                                        false, w, sizeof(w)),
                     LJ_ERR_TLS);
    assert_int_equal(lj_http__map_error(35, 0, "handshake failure", false, w, sizeof(w)),
                     LJ_ERR_TLS);
    assert_int_equal(lj_http__map_error(35, 0, "DOMAIN_NAME_MISMATCH", false, w, sizeof(w)),
                     LJ_ERR_TLS_HOSTNAME);
    assert_int_equal(lj_http__map_error(23, 0, "", true, w, sizeof(w)), LJ_ERR_TOO_BIG);
    assert_int_equal(lj_http__map_error(63, 0, "", false, w, sizeof(w)), LJ_ERR_TOO_BIG);
    assert_int_equal(lj_http__map_error(42, 0, "", false, w, sizeof(w)), LJ_ERR_CANCELLED);
    assert_int_equal(lj_http__map_error(56, 0, "", false, w, sizeof(w)), LJ_ERR_NET_CONNECT);
    assert_int_equal(lj_http__map_error(52, 0, "", false, w, sizeof(w)), LJ_ERR_NET_CONNECT);
    assert_int_equal(lj_http__map_error(8, 0, "", false, w, sizeof(w)), LJ_ERR_PROTOCOL);
    assert_int_equal(lj_http__map_error(77, 0, "", false, w, sizeof(w)), LJ_ERR_CONFIG);
    /* curl's wolfSSL backend: an unknown issuer comes as CURLE_SSL_CACERT_BADFILE,
       an expired certificate as CURLE_SSL_CONNECT_ERROR with wolfSSL's text. */
    assert_int_equal(
        lj_http__map_error(77, 0, " CA signer not available for verification", false, w, sizeof(w)),
        LJ_ERR_TLS_UNTRUSTED);
    assert_string_equal(w, "the server certificate is not trusted (unknown issuer; a proxy "
                           "inspecting TLS is the usual cause)");
    assert_int_equal(lj_http__map_error(77, 0, "error setting certificate verify locations", false,
                                        w, sizeof(w)),
                     LJ_ERR_CONFIG);
    assert_string_equal(w, "the CA file (ca_file) could not be read");
    assert_int_equal(lj_http__map_error(35, 0,
                                        "SSL_connect failed with error -151: ASN date error, "
                                        "current date after",
                                        false, w, sizeof(w)),
                     LJ_ERR_TLS);
    assert_string_equal(
        w, "the server certificate is not valid at the current time (check the clock)");
    assert_int_equal(lj_http__map_error(1, 0, "", false, w, sizeof(w)), LJ_ERR_INVAL);
}

static void
test_url_helpers(void **state)
{
    char host[64];
    long port = 0;
    char *e;
    (void)state;
    assert_int_equal(
        lj_http_url_host("https://login.microsoftonline.com/x?y", host, sizeof(host), &port),
        LJ_OK);
    assert_string_equal(host, "login.microsoftonline.com");
    assert_int_equal(port, 443);
    assert_int_equal(lj_http_url_host("https://a.example:8443", host, sizeof(host), &port), LJ_OK);
    assert_int_equal(port, 8443);
    assert_int_equal(lj_http_url_host("http://a.example", host, sizeof(host), &port), LJ_ERR_INVAL);
    assert_int_equal(lj_http_url_host("https://a.example", host, 4, &port), LJ_ERR_INVAL);
    e = lj_http_url_escape("a b/c~d.e_f-g+h");
    assert_string_equal(e, "a%20b%2Fc~d.e_f-g%2Bh");
    free(e);
}

static void
test_body_is_html(void **state)
{
    static const char *const pages[] = {"<!DOCTYPE html><html></html>", "  \r\n<HTML><body>",
                                        "<head><title>x</title>",       "<body>Sign in</body>",
                                        "<title>Network login</title>", "<!-- proxy --><html>"};
    static const char *const not_pages[] = {"",     "{\"a\":1}",   "<?xml version=\"1.0\"?><s/>",
                                            "<htm", "text <html>", "<s:Envelope/>"};
    (void)state;
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
        assert_true(lj_body_is_html(pages[i], strlen(pages[i])));
    for (size_t i = 0; i < sizeof(not_pages) / sizeof(not_pages[0]); i++)
        assert_false(lj_body_is_html(not_pages[i], strlen(not_pages[i])));
    assert_false(lj_body_is_html(NULL, 0));
    /* the length bounds the look: no reading past len */
    assert_false(lj_body_is_html("<html>", 4));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_ok_headers_and_ids),
        cmocka_unit_test(test_post_form),
        cmocka_unit_test(test_redirect_not_followed),
        cmocka_unit_test(test_body_cap),
        cmocka_unit_test(test_body_cap_per_request),
        cmocka_unit_test(test_header_cap),
        cmocka_unit_test(test_untrusted_ca),
        cmocka_unit_test(test_hostname_mismatch),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_probe_ok),
        cmocka_unit_test(test_probe_no_http_answer),
        cmocka_unit_test(test_probe_then_request_reuses_connection),
        cmocka_unit_test(test_probe_closed_then_request_resumes_session),
        cmocka_unit_test(test_clients_never_share_connections),
        cmocka_unit_test(test_cancel_hook),
        cmocka_unit_test(test_plain_http_refused),
        cmocka_unit_test(test_bad_ca_file),
        cmocka_unit_test(test_error_mapping_table),
        cmocka_unit_test(test_url_helpers),
        cmocka_unit_test(test_body_is_html),
    };
    int rc;

    signal(SIGPIPE, SIG_IGN); /* the server thread writes to clients that hung up */
    wolfSSL_Init();
    rc = cmocka_run_group_tests_name("http", tests, NULL, NULL);
    wolfSSL_Cleanup();
    return rc;
}
