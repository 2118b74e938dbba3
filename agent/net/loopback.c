/*
 * loopback.c — listen on a loopback redirect URI for the end of an
 * auth_code sign-in (see loopback.h).
 *
 * Design note.
 * - This is not a web server: it reads request heads (bounded in size and
 *   time), answers each and closes the connection.  Up to LB_CONNS
 *   connections are read side by side without blocking, so an idle or slow
 *   one (any local process can open one) holds up neither the real
 *   redirect nor the caller's UI; when all slots are taken the oldest is
 *   dropped.  The only request it hands on is a GET on the redirect path
 *   with a query and the Host it was bound as (no DNS-rebound page);
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
#define LB_CONNS 8 /* request heads read side by side */

struct lb_conn {
    int fd;             /* -1: free slot */
    long long deadline; /* monotonic ms: its head must be complete by then */
    size_t len;
    char *head; /* LJ_LOOPBACK_HEAD_MAX bytes, wiped before free */
};

struct lj_loopback {
    int fd;         /* listening socket */
    int fd6;        /* localhost: the [::1] one beside fd (127.0.0.1), else -1 */
    int client;     /* held connection (after a redirect), -1 none */
    char *base;     /* effective redirect URI (no query) */
    char path[512]; /* its path ("/" when it has none) */
    char host[32];  /* Host a redirect must carry: "127.0.0.1:PORT", lower case */
    bool port80;    /* port 80: Host without ":80" too (RFC 9110 §7.2) */
    struct lb_conn conns[LB_CONNS];
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
    for (int i = 0; i < LB_CONNS; i++)
        lb->conns[i].fd = -1;
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
    /* The host as the redirect URI spells it (browsers send that name). */
    snprintf(lb->host, sizeof(lb->host), "%.*s:%ld", (int)p.host_len, p.host, port);
    for (char *c = lb->host; *c != '\0'; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    lb->port80 = port == 80;
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
 * The head's one Host field equals the bound host:port (case-insensitive,
 * optional whitespace around the value, RFC 9112 §3.2 / RFC 9110 §5.6.3).
 * No Host, two of them, or any other name (DNS rebinding) is false.
 */
static bool
host_matches(const struct lj_loopback *lb, const char *head)
{
    const char *line = strchr(head, '\n'), *v, *e;
    size_t hn = strlen(lb->host);
    int seen = 0;
    bool ok = false;

    while (line != NULL && line[1] != '\0' && line[1] != '\r' && line[1] != '\n') {
        line++;
        e = line + strcspn(line, "\r\n");
        if (strncasecmp(line, "host:", 5) == 0) {
            seen++;
            for (v = line + 5; v < e && (*v == ' ' || *v == '\t'); v++)
                ;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            ok = ((size_t)(e - v) == hn && strncasecmp(v, lb->host, hn) == 0) ||
                 (lb->port80 && (size_t)(e - v) == hn - 3 && strncasecmp(v, lb->host, hn - 3) == 0);
        }
        line = strchr(line, '\n');
    }
    return seen == 1 && ok;
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
    bool host_ok;

    if (hlen < 0) {
        respond(fd, 431, "Request Header Fields Too Large", "Request too large",
                "The request was larger than this device accepts.");
        return false;
    }
    if (hlen == 0)
        return false; /* nothing in time: just drop it */
    host_ok = host_matches(lb, head);
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
    lj_log(LJ_LOG_INFO, MOD, "event=request method=%.8s path_len=%zu query=%s host_ok=%s", head,
           plen, q != NULL ? "yes" : "no", host_ok ? "yes" : "no");
    if (!host_ok) {
        respond(fd, 400, "Bad Request", "Bad request",
                "This address answers only requests for itself.");
        return false;
    }
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

static void
conn_free(struct lb_conn *c, bool answered)
{
    if (c->fd < 0)
        return;
    if (answered)
        drain_close(c->fd);
    else
        close(c->fd);
    lj_secure_zero(c->head, LJ_LOOPBACK_HEAD_MAX);
    free(c->head);
    c->head = NULL;
    c->fd = -1;
    c->len = 0;
}

/* Take every waiting connection into a slot; all full: drop the oldest. */
static void
accept_all(struct lj_loopback *lb, int lfd)
{
    for (;;) {
        struct lb_conn *slot = NULL;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (fd < 0)
            return;
        for (int i = 0; i < LB_CONNS; i++) {
            struct lb_conn *c = &lb->conns[i];

            if (c->fd < 0) {
                slot = c;
                break;
            }
            if (slot == NULL || c->deadline < slot->deadline)
                slot = c;
        }
        if (slot->fd >= 0) {
            lj_log(LJ_LOG_WARN, MOD, "event=connection_dropped reason=too_many slots=%d", LB_CONNS);
            conn_free(slot, false);
        }
        slot->head = malloc(LJ_LOOPBACK_HEAD_MAX);
        if (slot->head == NULL) {
            close(fd);
            continue;
        }
        slot->fd = fd;
        slot->len = 0;
        slot->head[0] = '\0';
        slot->deadline = lj_mono_ms() + LJ_LOOPBACK_READ_MS;
    }
}

/*
 * Read what c has without blocking.  Returns the head length when it is
 * complete, -1 when it is too long, 0 when it needs more, -2 when the peer
 * closed or failed (drop it).
 */
static long
conn_read(struct lb_conn *c)
{
    for (;;) {
        ssize_t got;

        if (strstr(c->head, "\r\n\r\n") != NULL || strstr(c->head, "\n\n") != NULL)
            return (long)c->len;
        if (c->len + 1 >= LJ_LOOPBACK_HEAD_MAX)
            return -1;
        got = recv(c->fd, c->head + c->len, LJ_LOOPBACK_HEAD_MAX - 1 - c->len, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && errno == EAGAIN)
            return 0;
        if (got <= 0)
            return -2;
        c->len += (size_t)got;
        c->head[c->len] = '\0';
    }
}

enum lj_rc
lj_loopback_poll(struct lj_loopback *lb, int timeout_ms, char **url)
{
    long long end = lj_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);

    *url = NULL;
    if (lb == NULL || lb->fd < 0)
        return LJ_ERR_INVAL;
    for (;;) {
        struct pollfd pf[2 + LB_CONNS];
        long long now = lj_mono_ms(), wait = end - now;
        int r;

        pf[0].fd = lb->fd;
        pf[1].fd = lb->fd6; /* -1: ignored by poll */
        for (int i = 0; i < LB_CONNS; i++) {
            struct lb_conn *c = &lb->conns[i];

            pf[2 + i].fd = -1;
            if (c->fd >= 0 && c->deadline <= now) {
                conn_free(c, false); /* nothing usable in time: just drop it */
                continue;
            }
            if (c->fd >= 0 && c->deadline - now < wait)
                wait = c->deadline - now;
            pf[2 + i].fd = c->fd;
        }
        for (int i = 0; i < 2 + LB_CONNS; i++) {
            pf[i].events = POLLIN;
            pf[i].revents = 0;
        }
        r = poll(pf, 2 + LB_CONNS, wait > 0 ? (int)wait : 0);
        if (r < 0 && errno != EINTR)
            return lj_err_set(LJ_ERR_IO, MOD, "event=poll_failed errno=%s", strerror(errno));
        for (int i = 0; r > 0 && i < LB_CONNS; i++) {
            struct lb_conn *c = &lb->conns[i];
            long hlen;

            if (c->fd < 0 || pf[2 + i].revents == 0)
                continue;
            hlen = conn_read(c);
            if (hlen == 0)
                continue;
            if (hlen == -2) {
                conn_free(c, false);
                continue;
            }
            if (handle(lb, c->fd, c->head, hlen, url)) {
                if (lb->client >= 0)
                    close(lb->client);
                lb->client = c->fd;
                c->fd = -1;
                lj_secure_zero(c->head, LJ_LOOPBACK_HEAD_MAX);
                free(c->head);
                c->head = NULL;
                c->len = 0;
                return LJ_OK;
            }
            conn_free(c, true);
        }
        if (r > 0 && pf[0].revents != 0)
            accept_all(lb, lb->fd);
        if (r > 0 && pf[1].revents != 0)
            accept_all(lb, lb->fd6);
        if (lj_mono_ms() >= end)
            return LJ_ERR_TIMEOUT;
    }
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
    for (int i = 0; i < LB_CONNS; i++)
        conn_free(&lb->conns[i], false);
    if (lb->fd >= 0)
        close(lb->fd);
    if (lb->fd6 >= 0)
        close(lb->fd6);
    free(lb->base);
    free(lb);
}
