/*
 * loopback.c — listen on a loopback redirect URI for the end of an
 * auth_code sign-in (see loopback.h).
 *
 * Design note.
 * - This is not a web server: it reads one request head at a time
 *   (bounded in size and time), answers it and closes the connection.  The
 *   only request it hands on is a GET on the redirect path with a query;
 *   the flow checks state first, then code or error (oauth_redirect_parse), and answers
 *   through lj_loopback_reply, so the page the person sees says whether the
 *   device took the sign-in.
 * - The socket is bound to the loopback address itself, never to a
 *   wildcard, so nothing off the device can reach it.  localhost means
 *   both 127.0.0.1 and [::1] on one port (RFC 8252 §7.3): a browser may try
 *   either, so a port someone else holds on one of them is refused.
 * - The request head holds the authorization code: it is wiped after use
 *   and only its method and path length reach the log.
 */
#include "agent/net/loopback.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "platform/common/elapsed.h"

#define MOD "loopback"
#define WRITE_MS 1000

struct lj_loopback {
    int fd;         /* listening socket */
    int fd6;        /* localhost: the [::1] one beside fd (127.0.0.1), else -1 */
    int client;     /* held connection (after a redirect), -1 none */
    char *base;     /* effective redirect URI (no query) */
    char path[512]; /* its path ("/" when it has none) */
};

struct parsed {
    int family;       /* AF_INET | AF_INET6 | AF_UNSPEC (localhost: both) */
    const char *host; /* start of host as written (in uri) */
    size_t host_len;
    long port;        /* 0: none given / kernel picks */
    const char *path; /* "" or starts with '/' */
};

static bool
parse_uri(const char *uri, struct parsed *p)
{
    static const struct {
        const char *name;
        int family;
    } hosts[] = {{"127.0.0.1", AF_INET}, {"localhost", AF_UNSPEC}, {"[::1]", AF_INET6}};
    const char *h, *q;

    memset(p, 0, sizeof(*p));
    if (uri == NULL || strncasecmp(uri, "http://", 7) != 0)
        return false;
    h = uri + 7;
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        size_t n = strlen(hosts[i].name);

        if (strncasecmp(h, hosts[i].name, n) == 0 && (h[n] == '\0' || h[n] == ':' || h[n] == '/')) {
            p->family = hosts[i].family;
            p->host = h;
            p->host_len = n;
            break;
        }
    }
    if (p->host == NULL)
        return false;
    q = h + p->host_len;
    if (*q == ':') {
        long port = 0;
        int digits = 0;

        for (q++; *q >= '0' && *q <= '9' && digits < 6; q++, digits++)
            port = port * 10 + (*q - '0');
        if (digits == 0 || digits > 5 || port > 65535)
            return false;
        p->port = port;
    }
    if (*q != '\0' && *q != '/')
        return false;
    /* A redirect URI carries no query or fragment of its own (RFC 6749 §3.1.2). */
    if (strpbrk(q, "?# \t\r\n") != NULL || strlen(q) >= sizeof(((struct lj_loopback *)0)->path))
        return false;
    p->path = q;
    return true;
}

bool
lj_loopback_uri(const char *uri)
{
    struct parsed p;

    return parse_uri(uri, &p);
}

/*
 * A listening socket on the loopback address of family at port (0: the
 * kernel picks).  Returns the fd and sets *bound to the port, or -1 with
 * errno set.  An IPv6 socket is IPV6_V6ONLY so it never covers 127.0.0.1.
 */
static int
listen_on(int family, long port, long *bound)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd, one = 1, e;

    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;

        a->sin_family = AF_INET;
        a->sin_port = htons((unsigned short)port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

        a->sin6_family = AF_INET6;
        a->sin6_port = htons((unsigned short)port);
        a->sin6_addr = in6addr_loopback;
        sl = sizeof(*a);
    }
    fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if ((family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
        bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 8) != 0)
        goto fail;
    sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        goto fail;
    *bound = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                     : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
fail:
    e = errno;
    close(fd);
    errno = e;
    return -1;
}

/* Tries for a port free on both 127.0.0.1 and [::1] (localhost, no port). */
#define BOTH_TRIES 8

/*
 * Listen for localhost: 127.0.0.1 and [::1] on the same port.  localhost
 * may resolve to either and a browser may try ::1 first, so a port held by
 * someone else on the other address would hand them the code (RFC 8252
 * §7.3 asks clients to bind both, §8.3 says why localhost is risky).  A
 * host without IPv6 loopback has nothing to squat there: IPv4 alone then.
 */
static enum lj_rc
listen_localhost(struct lj_loopback *lb, long want, long *port)
{
    for (int i = 0; i < BOTH_TRIES; i++) {
        long got4 = 0, got6 = 0;

        lb->fd = listen_on(AF_INET, want, &got4);
        if (lb->fd < 0)
            return lj_err_set(LJ_ERR_IO, MOD,
                              "event=bind_failed address=127.0.0.1 port=%ld errno=%s", want,
                              strerror(errno));
        *port = got4;
        lb->fd6 = listen_on(AF_INET6, got4, &got6);
        if (lb->fd6 >= 0)
            return LJ_OK;
        if (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL) {
            lj_log(LJ_LOG_INFO, MOD, "event=no_ipv6_loopback errno=%s", strerror(errno));
            return LJ_OK;
        }
        if (errno != EADDRINUSE || want != 0 || i + 1 == BOTH_TRIES)
            return lj_err_set(LJ_ERR_IO, MOD, "event=bind_failed address=[::1] port=%ld errno=%s",
                              got4, strerror(errno));
        /* the kernel's pick is taken on [::1]: try another */
        close(lb->fd);
        lb->fd = -1;
    }
    return LJ_ERR_IO;
}

enum lj_rc
lj_loopback_open(const char *redirect_uri, struct lj_loopback **out, char **effective)
{
    struct lj_loopback *lb = NULL;
    struct parsed p;
    size_t blen;
    long port = 0;
    enum lj_rc rc;

    *out = NULL;
    *effective = NULL;
    if (!parse_uri(redirect_uri, &p))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=not_a_loopback_uri");
    lb = calloc(1, sizeof(*lb));
    if (lb == NULL)
        return LJ_ERR_NOMEM;
    lb->fd = -1;
    lb->fd6 = -1;
    lb->client = -1;
    if (p.family == AF_UNSPEC) {
        rc = listen_localhost(lb, p.port, &port);
        if (rc != LJ_OK)
            goto fail;
    } else {
        lb->fd = listen_on(p.family, p.port, &port);
        if (lb->fd < 0) {
            rc = lj_err_set(LJ_ERR_IO, MOD, "event=bind_failed address=%s port=%ld errno=%s",
                            p.family == AF_INET ? "127.0.0.1" : "[::1]", p.port, strerror(errno));
            goto fail;
        }
    }
    snprintf(lb->path, sizeof(lb->path), "%s", p.path[0] != '\0' ? p.path : "/");
    if (p.port != 0) {
        /* as configured: the URL handed on must start with it byte for byte */
        lb->base = strdup(redirect_uri);
    } else {
        /* "http://" host ":" port path */
        blen = 7 + p.host_len + 6 + strlen(p.path) + 1;
        lb->base = malloc(blen);
        if (lb->base != NULL)
            snprintf(lb->base, blen, "http://%.*s:%ld%s", (int)p.host_len, p.host, port, p.path);
    }
    *effective = lb->base != NULL ? strdup(lb->base) : NULL;
    if (*effective == NULL) {
        rc = LJ_ERR_NOMEM;
        goto fail;
    }
    lj_log(LJ_LOG_INFO, MOD, "event=listening address=%s port=%ld path_len=%zu",
           p.family == AF_INET    ? "127.0.0.1"
           : p.family == AF_INET6 ? "[::1]"
           : lb->fd6 >= 0         ? "127.0.0.1,[::1]"
                                  : "127.0.0.1",
           port, strlen(lb->path));
    *out = lb;
    return LJ_OK;
fail:
    free(*effective);
    *effective = NULL;
    lj_loopback_close(lb);
    return rc;
}

int
lj_loopback_fd(const struct lj_loopback *lb)
{
    return lb != NULL ? lb->fd : -1;
}

static void
send_all(int fd, const char *s, size_t n)
{
    long long end = lj_mono_ms() + WRITE_MS;

    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        struct pollfd pf;
        long long left;

        if (w > 0) {
            s += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return;
        left = end - lj_mono_ms();
        if (left <= 0)
            return;
        pf.fd = fd;
        pf.events = POLLOUT;
        if (poll(&pf, 1, (int)left) < 0 && errno != EINTR)
            return;
    }
}

/* Text for an HTML page: only our own sentences, still escaped. */
static void
html_escape(char *dst, size_t dsz, const char *src)
{
    size_t o = 0;

    for (; src != NULL && *src != '\0' && o + 7 < dsz; src++) {
        const char *rep = NULL;

        switch (*src) {
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '&': rep = "&amp;"; break;
        case '"': rep = "&quot;"; break;
        default: break;
        }
        if (rep != NULL) {
            size_t rl = strlen(rep);

            memcpy(dst + o, rep, rl);
            o += rl;
        } else {
            dst[o++] = *src;
        }
    }
    dst[o] = '\0';
}

static void
respond(int fd, int status, const char *reason, const char *title, const char *text)
{
    char body[1024], esc[512], head[512];
    int bl, hl;

    html_escape(esc, sizeof(esc), text);
    bl = snprintf(body, sizeof(body),
                  "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>%s</title></head>"
                  "<body><h1>%s</h1><p>%s</p></body></html>\n",
                  title, title, esc);
    if (bl < 0 || (size_t)bl >= sizeof(body))
        bl = 0;
    hl = snprintf(head, sizeof(head),
                  "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
                  "Content-Length: %d\r\nCache-Control: no-store\r\nConnection: close\r\n"
                  "Referrer-Policy: no-referrer\r\nX-Content-Type-Options: nosniff\r\n\r\n",
                  status, reason, bl);
    if (hl > 0 && (size_t)hl < sizeof(head))
        send_all(fd, head, (size_t)hl);
    send_all(fd, body, (size_t)bl);
}

/*
 * Read one request head from fd into buf (cap LJ_LOOPBACK_HEAD_MAX) within
 * LJ_LOOPBACK_READ_MS.  Returns its length, 0 when the client sent nothing
 * usable in time, -1 when it was too long.
 */
static long
read_head(int fd, char *buf, size_t cap)
{
    long long end = lj_mono_ms() + LJ_LOOPBACK_READ_MS;
    size_t len = 0;

    for (;;) {
        struct pollfd pf;
        long long left = end - lj_mono_ms();
        ssize_t got;

        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") != NULL)
            return (long)len;
        if (len + 1 >= cap)
            return -1;
        if (left <= 0)
            return 0;
        pf.fd = fd;
        pf.events = POLLIN;
        if (poll(&pf, 1, (int)left) <= 0)
            continue;
        got = recv(fd, buf + len, cap - 1 - len, 0);
        if (got < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (got <= 0)
            return 0;
        len += (size_t)got;
    }
}

/*
 * Look at one request head.  Returns true with *url set when it is the
 * redirect; otherwise the connection has been answered.
 */
static bool
handle(struct lj_loopback *lb, int fd, char *head, long hlen, char **url)
{
    char *sp1, *sp2, *target, *q, *eol;
    size_t plen, qlen, blen;

    if (hlen < 0) {
        respond(fd, 431, "Request Header Fields Too Large", "Request too large",
                "The request was larger than this device accepts.");
        return false;
    }
    if (hlen == 0)
        return false; /* nothing in time: just drop it */
    eol = strpbrk(head, "\r\n");
    if (eol != NULL)
        *eol = '\0';
    sp1 = strchr(head, ' ');
    sp2 = sp1 != NULL ? strchr(sp1 + 1, ' ') : NULL;
    if (sp1 == NULL || sp2 == NULL || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || sp1[1] != '/') {
        respond(fd, 400, "Bad Request", "Bad request", "This is not a request this device reads.");
        return false;
    }
    *sp1 = '\0';
    *sp2 = '\0';
    target = sp1 + 1;
    q = strchr(target, '?');
    plen = q != NULL ? (size_t)(q - target) : strlen(target);
    lj_log(LJ_LOG_INFO, MOD, "event=request method=%.8s path_len=%zu query=%s", head, plen,
           q != NULL ? "yes" : "no");
    if (plen != strlen(lb->path) || memcmp(target, lb->path, plen) != 0) {
        respond(fd, 404, "Not Found", "Not found", "Nothing is here.");
        return false;
    }
    if (strcmp(head, "GET") != 0) {
        respond(fd, 405, "Method Not Allowed", "Method not allowed",
                "The sign-in answer must come as a GET request.");
        return false;
    }
    if (q == NULL || q[1] == '\0') {
        respond(fd, 400, "Bad Request", "Sign-in not finished",
                "This address expects the answer of a sign-in; none was given.");
        return false;
    }
    q++;
    qlen = strcspn(q, "#");
    blen = strlen(lb->base) + 1 + qlen + 1;
    *url = malloc(blen);
    if (*url == NULL) {
        respond(fd, 500, "Internal Server Error", "Error", "Out of memory.");
        return false;
    }
    snprintf(*url, blen, "%s?%.*s", lb->base, (int)qlen, q);
    return true;
}

/*
 * Close after an answer: read what the client still had in flight first
 * (bounded), so the close is a FIN and not a reset that could destroy the
 * answer before the client read it.
 */
static void
drain_close(int fd)
{
    char sink[4096];

    shutdown(fd, SHUT_WR);
    for (int i = 0; i < 16; i++) {
        if (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) <= 0)
            break;
    }
    close(fd);
}

enum lj_rc
lj_loopback_poll(struct lj_loopback *lb, int timeout_ms, char **url)
{
    long long end = lj_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    enum lj_rc rc = LJ_ERR_TIMEOUT;
    char *head = NULL;

    *url = NULL;
    if (lb == NULL || lb->fd < 0)
        return LJ_ERR_INVAL;
    head = malloc(LJ_LOOPBACK_HEAD_MAX);
    if (head == NULL)
        return LJ_ERR_NOMEM;
    for (;;) {
        struct pollfd pf[2];
        long long left = end - lj_mono_ms();
        long hlen;
        int fd, r;

        pf[0].fd = lb->fd;
        pf[0].events = POLLIN;
        pf[0].revents = 0;
        pf[1].fd = lb->fd6; /* -1: ignored by poll */
        pf[1].events = POLLIN;
        pf[1].revents = 0;
        r = poll(pf, 2, left > 0 ? (int)left : 0);
        if (r < 0 && errno != EINTR) {
            rc = lj_err_set(LJ_ERR_IO, MOD, "event=poll_failed errno=%s", strerror(errno));
            break;
        }
        if (r <= 0)
            break;
        fd = accept4(pf[0].revents != 0 ? lb->fd : lb->fd6, NULL, NULL,
                     SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            continue;
        hlen = read_head(fd, head, LJ_LOOPBACK_HEAD_MAX);
        if (handle(lb, fd, head, hlen, url)) {
            if (lb->client >= 0)
                close(lb->client);
            lb->client = fd;
            rc = LJ_OK;
            break;
        }
        drain_close(fd);
        if (lj_mono_ms() >= end)
            break;
    }
    lj_secure_zero(head, LJ_LOOPBACK_HEAD_MAX);
    free(head);
    return rc;
}

void
lj_loopback_reply(struct lj_loopback *lb, bool ok, const char *text)
{
    if (lb == NULL || lb->client < 0)
        return;
    if (ok)
        respond(lb->client, 200, "OK", "Signed in",
                "You are signed in. Go back to the device: it finishes setting itself up. "
                "You can close this window.");
    else
        respond(lb->client, 400, "Bad Request", "Sign-in not accepted",
                text != NULL ? text : "The device did not accept this sign-in.");
    close(lb->client);
    lb->client = -1;
}

void
lj_loopback_close(struct lj_loopback *lb)
{
    if (lb == NULL)
        return;
    if (lb->client >= 0)
        close(lb->client);
    if (lb->fd >= 0)
        close(lb->fd);
    if (lb->fd6 >= 0)
        close(lb->fd6);
    free(lb->base);
    free(lb);
}
