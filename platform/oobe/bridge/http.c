/*
 * http.c — the bridge's HTTP server: checks, static files, events, /send, /qr.svg.
 *
 * Design note: libmicrohttpd with one thread per connection (as entra-sim
 * uses it), so an event stream may block in its content reader while it
 * waits for the agent (link.h), bounded by a keep-alive comment every
 * OOBE_HTTP_KEEPALIVE_MS.  Every check that needs no body runs on the
 * first call for a request, so a refused POST never has its body kept.
 * A /send body is collected into one buffer of OOBE_MSG_MAX_BODY bytes at
 * most and wiped as soon as the line for the agent is built; the line is
 * wiped once written.  Logs name the method, the path (not the query: it
 * may hold the token) and the outcome, never a header or body value.
 *
 * libmicrohttpd's own copy of a body (it may hold the password).  In
 * 0.9.75 (Debian bookworm; src/microhttpd/connection.c and memorypool.c)
 * recv() writes into the connection's read buffer, a block of its memory
 * pool, and process_request_body hands the access handler a pointer into
 * that buffer (upload_data); the bytes the handler consumes are never
 * read again (only unconsumed ones are moved down).  MHD zeroes what it
 * releases inside the pool (MHD_pool_reset between keep-alive requests,
 * MHD_pool_reallocate when the buffer grows) but MHD_pool_destroy, when
 * the connection closes, frees the pool without wiping it.  No option
 * reaches the buffer: MHD_get_connection_info has no such value, and
 * MHD_OPTION_NOTIFY_COMPLETED / MHD_OPTION_NOTIFY_CONNECTION callbacks get
 * the connection, not its pool.  So:
 *   - every body byte the handler is given is wiped in place right after
 *     it is copied (or discarded): wipe_upload, the one write into MHD's
 *     memory (the library's current sources hand the body over the same
 *     way); test_oobe_bridge.sh send_body_wiped_in_mhd_buffer counts the
 *     copies in the bridge's memory;
 *   - the pool size (MHD_OPTION_CONNECTION_MEMORY_LIMIT) is kept above
 *     32 KiB, where MHD_pool_create mmaps the pool instead of malloc'ing
 *     it: what is left at close goes back to the kernel by munmap instead
 *     of staying in the heap (OOBE_HTTP_POOL_BYTES).
 * What stays out of reach: the body bytes of a request refused on its
 * first call (a response queued before the upload: MHD_connection_handle_idle
 * sets discard_request and never hands them to the handler; the connection
 * must close, so the part already read is unmapped with the pool, unwiped),
 * and the kernel's socket buffers.  The post processor
 * (MHD_create_post_processor) is not used: it would add its own buffer.
 */
#include "platform/oobe/bridge/http.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "platform/oobe/bridge/gate.h"
#include "platform/oobe/bridge/msg.h"
#include "platform/oobe/bridge/qrsvg.h"

#define MOD "oobe"
#define COOKIE "lj_oobe"
#define TOKEN_HEADER "X-LJ-Token"
#define DISCARD_MAX (1024 * 1024)
/* The connection memory pool: above 32 KiB MHD 0.9.75 mmaps it (see the top). */
#define OOBE_HTTP_POOL_BYTES ((size_t)(64 * 1024))
_Static_assert(OOBE_HTTP_POOL_BYTES > 32 * 1024, "MHD mallocs pools of 32 KiB or less");

static const char csp[] = "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                          "script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

/* Shown at / when the assets directory has no index.html (a broken install). */
static const char missing_page[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>Setup</title></head><body><h1>Setup screen not installed</h1>"
    "<p>The setup screen's files (index.html) are missing from this device. "
    "Device setup can go on from a console: linkjoin run --ui tty.</p></body></html>\n";

static struct MHD_Daemon *daemon_;
static struct oobe_http_cfg cfg_;

struct req {
    bool post;
    bool responded;
    bool too_big;
    char *body; /* POST /send: up to OOBE_MSG_MAX_BODY bytes, wiped */
    size_t len;
    size_t discarded;
};

struct stream {
    struct oobe_link *link;
    uint64_t id;
    char *pending;
    size_t plen, off;
};

/* path as a log field: [A-Za-z0-9/._-] kept, others '?', 64 characters at most. */
static void
log_path(char *out, size_t osz, const char *path)
{
    size_t i, n = 0;

    for (i = 0; path[i] != '\0' && n + 1 < osz && i < 64; i++) {
        char c = path[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '/' || c == '.' || c == '_' || c == '-';
        out[n++] = ok ? c : '?';
    }
    out[n] = '\0';
}

static void
log_req(enum lj_log_level lvl, const char *method, const char *url, unsigned status,
        const char *what)
{
    char p[72];

    log_path(p, sizeof(p), url);
    lj_log(lvl, MOD, "event=request method=%s path=%s status=%u%s%s", method, p, status,
           what != NULL ? " reason=" : "", what != NULL ? what : "");
}

static void
common_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Content-Security-Policy", csp);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
}

/* Queue a response of len bytes at body (copied); ctype NULL = none. */
static enum MHD_Result
reply(struct MHD_Connection *c, struct req *rq, unsigned status, const char *ctype,
      const void *body, size_t len)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    common_headers(r);
    if (ctype != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    if (rq != NULL)
        rq->responded = true;
    return ret;
}

static enum MHD_Result
reply_text(struct MHD_Connection *c, struct req *rq, unsigned status, const char *text)
{
    return reply(c, rq, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* 400 with {"error":SLUG,"message":TEXT} (both from msg.c or fixed text: no quotes). */
static enum MHD_Result
reply_bad(struct MHD_Connection *c, struct req *rq, const char *slug, const char *text)
{
    char b[400];
    int n = snprintf(b, sizeof(b), "{\"error\":\"%s\",\"message\":\"%s\"}\n", slug, text);

    return reply(c, rq, MHD_HTTP_BAD_REQUEST, "application/json; charset=utf-8", b,
                 n > 0 && (size_t)n < sizeof(b) ? (size_t)n : 0);
}

static enum MHD_Result
forbidden(struct MHD_Connection *c, struct req *rq, const char *method, const char *url,
          const char *why)
{
    log_req(LJ_LOG_WARN, method, url, 403, why);
    return reply_text(c, rq, MHD_HTTP_FORBIDDEN, "Forbidden\n");
}

/* ---- 303 after ?t= ------------------------------------------------------ */

struct qbuf {
    char s[1024];
    size_t n;
    bool full;
};

static void
qb_add(struct qbuf *q, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~';
        if (q->n + 4 >= sizeof(q->s)) {
            q->full = true;
            return;
        }
        if (plain) {
            q->s[q->n++] = (char)ch;
        } else {
            q->s[q->n++] = '%';
            q->s[q->n++] = hex[ch >> 4];
            q->s[q->n++] = hex[ch & 15];
        }
    }
    q->s[q->n] = '\0';
}

static enum MHD_Result
query_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct qbuf *q = cls;
    char sep;

    (void)kind;
    if (key == NULL || strcmp(key, "t") == 0)
        return MHD_YES;
    sep = q->n == 0 ? '?' : '&';
    if (q->n + 2 >= sizeof(q->s)) {
        q->full = true;
        return MHD_NO;
    }
    q->s[q->n++] = sep;
    q->s[q->n] = '\0';
    qb_add(q, key);
    if (value != NULL) {
        if (q->n + 2 >= sizeof(q->s)) {
            q->full = true;
            return MHD_NO;
        }
        q->s[q->n++] = '=';
        q->s[q->n] = '\0';
        qb_add(q, value);
    }
    return MHD_YES;
}

/* The cookie and a 303 to the same path without t= (other parameters kept). */
static enum MHD_Result
set_cookie(struct MHD_Connection *c, struct req *rq, const char *method, const char *url)
{
    char cookie[OOBE_TOKEN_HEX + 80], loc[1200], p[72];
    struct qbuf q = {.n = 0, .full = false};
    struct MHD_Response *r;
    enum MHD_Result ret;

    q.s[0] = '\0';
    log_path(p, sizeof(p), url);
    if (strcmp(p, url) != 0)
        snprintf(p, sizeof(p), "/");
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_cb, &q);
    snprintf(loc, sizeof(loc), "%s%s", p, q.full ? "" : q.s);
    snprintf(cookie, sizeof(cookie), COOKIE "=%s; HttpOnly; SameSite=Lax; Path=/", cfg_.token);
    r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        lj_secure_zero(cookie, sizeof(cookie));
        return MHD_NO;
    }
    common_headers(r);
    MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, loc);
    lj_secure_zero(cookie, sizeof(cookie));
    ret = MHD_queue_response(c, MHD_HTTP_SEE_OTHER, r);
    MHD_destroy_response(r);
    rq->responded = true;
    log_req(LJ_LOG_INFO, method, url, 303, "token_accepted");
    return ret;
}

/* ---- static files ----------------------------------------------------- */

static enum MHD_Result
serve_file(struct MHD_Connection *c, struct req *rq, const char *method, const char *url)
{
    char rel[160], path[4096];
    const char *ctype = NULL, *dir = cfg_.assets, *name;
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd;
    enum MHD_Result ret;

    if (!oobe_gate_asset(url, rel, sizeof(rel), &ctype)) {
        log_req(LJ_LOG_INFO, method, url, 404, "not_an_asset");
        return reply_text(c, rq, MHD_HTTP_NOT_FOUND, "Not found\n");
    }
    name = rel;
    if (cfg_.i18n != NULL && strncmp(rel, "i18n/", 5) == 0) {
        dir = cfg_.i18n;
        name = rel + 5;
        if (strchr(name, '/') != NULL)
            return reply_text(c, rq, MHD_HTTP_NOT_FOUND, "Not found\n");
    }
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return reply_text(c, rq, MHD_HTTP_NOT_FOUND, "Not found\n");
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (strcmp(rel, "index.html") == 0) {
            log_req(LJ_LOG_WARN, method, url, 200, "index_missing");
            return reply(c, rq, MHD_HTTP_OK, ctype, missing_page, sizeof(missing_page) - 1);
        }
        log_req(LJ_LOG_INFO, method, url, 404, "no_file");
        return reply_text(c, rq, MHD_HTTP_NOT_FOUND, "Not found\n");
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > OOBE_HTTP_MAX_ASSET) {
        close(fd);
        log_req(LJ_LOG_WARN, method, url, 404, "not_a_regular_file_or_too_big");
        return reply_text(c, rq, MHD_HTTP_NOT_FOUND, "Not found\n");
    }
    buf = malloc((size_t)st.st_size + 1);
    while (buf != NULL && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (buf == NULL || got != (size_t)st.st_size) {
        free(buf);
        log_req(LJ_LOG_WARN, method, url, 500, "read_failed");
        return reply_text(c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "Read error\n");
    }
    ret = reply(c, rq, MHD_HTTP_OK, ctype, buf, got);
    free(buf);
    log_req(LJ_LOG_INFO, method, url, 200, NULL);
    return ret;
}

/* ---- /events ---------------------------------------------------------- */

static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *s = cls;
    size_t n;

    (void)pos;
    while (s->pending == NULL || s->off == s->plen) {
        char *chunk = NULL;
        size_t len = 0;
        free(s->pending);
        s->pending = NULL;
        s->plen = s->off = 0;
        switch (oobe_link_next(s->link, s->id, OOBE_HTTP_KEEPALIVE_MS, &chunk, &len)) {
        case OOBE_NEXT_DATA:
            s->pending = chunk;
            s->plen = len;
            break;
        case OOBE_NEXT_IDLE:
            s->pending = strdup(": keep-alive\n\n");
            if (s->pending == NULL)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            s->plen = strlen(s->pending);
            break;
        default: return MHD_CONTENT_READER_END_OF_STREAM;
        }
    }
    n = s->plen - s->off < max ? s->plen - s->off : max;
    memcpy(buf, s->pending + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static void
stream_free(void *cls)
{
    struct stream *s = cls;

    oobe_link_detach(s->link, s->id);
    lj_log(LJ_LOG_INFO, MOD, "event=events_closed page=%llu", (unsigned long long)s->id);
    free(s->pending);
    free(s);
}

static enum MHD_Result
serve_events(struct MHD_Connection *c, struct req *rq, const char *method, const char *url)
{
    const char *loc = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "locale");
    struct stream *s = calloc(1, sizeof(*s));
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (s == NULL)
        return MHD_NO;
    if (loc == NULL || !oobe_gate_locale_ok(loc))
        loc = "en";
    s->link = cfg_.link;
    /* EventSource waits this long before it reconnects */
    s->pending = strdup("retry: 1000\n\n");
    s->plen = s->pending != NULL ? strlen(s->pending) : 0;
    s->id = oobe_link_attach(cfg_.link, loc);
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_free);
    if (r == NULL) {
        stream_free(s);
        return MHD_NO;
    }
    common_headers(r);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream; charset=utf-8");
    ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    rq->responded = true;
    lj_log(LJ_LOG_INFO, MOD, "event=events_opened page=%llu locale=%s", (unsigned long long)s->id,
           loc);
    log_req(LJ_LOG_INFO, method, url, 200, NULL);
    return ret;
}

/* ---- /qr.svg ---------------------------------------------------------- */

static enum MHD_Result
serve_qr(struct MHD_Connection *c, struct req *rq, const char *method, const char *url)
{
    char *u = oobe_link_qr_url(cfg_.link), *svg;
    size_t len = 0;
    enum MHD_Result ret;

    if (u == NULL) {
        log_req(LJ_LOG_INFO, method, url, 404, "no_device_code_prompt");
        return reply_text(c, rq, MHD_HTTP_NOT_FOUND, "No device code prompt is open\n");
    }
    svg = oobe_qr_svg(u, &len);
    free(u);
    if (svg == NULL) {
        log_req(LJ_LOG_WARN, method, url, 500, "qr_failed");
        return reply_text(c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "QR code failed\n");
    }
    ret = reply(c, rq, MHD_HTTP_OK, "image/svg+xml", svg, len);
    free(svg);
    log_req(LJ_LOG_INFO, method, url, 200, NULL);
    return ret;
}

/* ---- /send ------------------------------------------------------------ */

static bool
json_ctype(const char *ct)
{
    static const char want[] = "application/json";
    size_t n = sizeof(want) - 1;

    if (ct == NULL || strncasecmp(ct, want, n) != 0)
        return false;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static enum MHD_Result
finish_send(struct MHD_Connection *c, struct req *rq, const char *method, const char *url)
{
    char slug[32], problem[160];
    char *line = NULL;
    size_t line_len = 0;
    const char *type = NULL;
    enum lj_rc rc;
    enum MHD_Result ret;

    if (rq->too_big) {
        log_req(LJ_LOG_WARN, method, url, 400, "too_large");
        return reply_bad(c, rq, "too_large", "body over 65536 bytes");
    }
    rc = oobe_msg_check(rq->body, rq->len, &line, &line_len, &type, slug, sizeof(slug), problem,
                        sizeof(problem));
    if (rq->body != NULL)
        lj_secure_zero(rq->body, rq->len);
    if (rc == LJ_ERR_NOMEM)
        return MHD_NO;
    if (rc != LJ_OK) {
        log_req(LJ_LOG_WARN, method, url, 400, slug);
        return reply_bad(c, rq, slug, problem);
    }
    rc = oobe_link_send(cfg_.link, line, line_len);
    lj_secure_free(line, line_len + 1);
    if (rc == LJ_ERR_NOT_FOUND) {
        lj_log(LJ_LOG_WARN, MOD, "event=send_refused type=%s reason=no_agent", type);
        rq->responded = true;
        return reply(c, rq, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json; charset=utf-8",
                     "{\"error\":\"no_agent\",\"message\":\"the agent is not connected\"}\n",
                     strlen("{\"error\":\"no_agent\",\"message\":\"the agent is not "
                            "connected\"}\n"));
    }
    if (rc != LJ_OK) {
        lj_log(LJ_LOG_WARN, MOD, "event=send_failed type=%s rc=%s", type, lj_rc_name(rc));
        return reply(c, rq, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json; charset=utf-8",
                     "{\"error\":\"no_agent\",\"message\":\"the agent did not take it\"}\n",
                     strlen("{\"error\":\"no_agent\",\"message\":\"the agent did not take "
                            "it\"}\n"));
    }
    lj_log(LJ_LOG_INFO, MOD, "event=sent type=%s", type);
    ret = reply(c, rq, MHD_HTTP_ACCEPTED, "application/json; charset=utf-8", "{\"ok\":true}\n",
                strlen("{\"ok\":true}\n"));
    return ret;
}

/* ---- dispatch --------------------------------------------------------- */

static enum MHD_Result
first_call(struct MHD_Connection *c, struct req *rq, const char *url, const char *method)
{
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE);
    const char *hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, TOKEN_HEADER);
    const char *t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "t");
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    const char *cl;

    if (!oobe_gate_host_ok(host, cfg_.port))
        return forbidden(c, rq, method, url, "host");
    if (origin != NULL && !oobe_gate_origin_ok(origin, cfg_.port))
        return forbidden(c, rq, method, url, "origin");
    if (get && t != NULL) {
        if (!oobe_gate_token_ok(t, cfg_.token))
            return forbidden(c, rq, method, url, "token");
        return set_cookie(c, rq, method, url);
    }
    if (!oobe_gate_token_ok(cookie, cfg_.token) && !oobe_gate_token_ok(hdr, cfg_.token))
        return forbidden(c, rq, method, url, "token");
    if (strcmp(url, "/send") == 0) {
        if (strcmp(method, "POST") != 0) {
            log_req(LJ_LOG_INFO, method, url, 405, NULL);
            return reply_text(c, rq, MHD_HTTP_METHOD_NOT_ALLOWED, "POST only\n");
        }
        if (origin == NULL)
            return forbidden(c, rq, method, url, "no_origin");
        if (!json_ctype(
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE))) {
            log_req(LJ_LOG_WARN, method, url, 400, "bad_content_type");
            return reply_bad(c, rq, "bad_content_type", "Content-Type must be application/json");
        }
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL && (strlen(cl) > 7 || strtoul(cl, NULL, 10) > OOBE_MSG_MAX_BODY)) {
            log_req(LJ_LOG_WARN, method, url, 400, "too_large");
            return reply_bad(c, rq, "too_large", "body over 65536 bytes");
        }
        rq->post = true;
        rq->body = malloc(OOBE_MSG_MAX_BODY);
        return rq->body != NULL ? MHD_YES : MHD_NO;
    }
    if (!get) {
        log_req(LJ_LOG_INFO, method, url, 405, NULL);
        return reply_text(c, rq, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
    }
    if (strcmp(url, "/events") == 0) {
        /* a HEAD must not take the stream from the page */
        if (strcmp(method, "GET") != 0)
            return reply_text(c, rq, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
        return serve_events(c, rq, method, url);
    }
    if (strcmp(url, "/qr.svg") == 0)
        return serve_qr(c, rq, method, url);
    return serve_file(c, rq, method, url);
}

/*
 * Wipe body bytes MHD handed to the access handler, in its read buffer
 * (writable pool memory behind a const pointer, consumed: see the top).
 */
static void
wipe_upload(const char *upload_data, size_t n)
{
    if (upload_data != NULL && n > 0)
        lj_secure_zero((void *)(uintptr_t)upload_data, n);
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
               const char *version, const char *upload_data, size_t *upload_data_size,
               void **con_cls)
{
    struct req *rq = *con_cls;

    (void)cls;
    (void)version;
    if (rq == NULL) {
        rq = calloc(1, sizeof(*rq));
        if (rq == NULL)
            return MHD_NO;
        *con_cls = rq;
        return first_call(c, rq, url, method);
    }
    if (rq->responded || !rq->post) {
        /* a refused request's body is not kept; bounded so it cannot go on forever */
        rq->discarded += *upload_data_size;
        wipe_upload(upload_data, *upload_data_size);
        *upload_data_size = 0;
        return rq->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!rq->too_big && *upload_data_size <= OOBE_MSG_MAX_BODY - rq->len) {
            memcpy(rq->body + rq->len, upload_data, *upload_data_size);
            rq->len += *upload_data_size;
            lj_log(LJ_LOG_DEBUG, MOD, "event=send_body_part bytes=%zu total=%zu", *upload_data_size,
                   rq->len);
        } else {
            if (!rq->too_big)
                lj_secure_zero(rq->body, rq->len);
            rq->too_big = true;
            rq->discarded += *upload_data_size;
            if (rq->discarded > DISCARD_MAX) {
                wipe_upload(upload_data, *upload_data_size);
                return MHD_NO;
            }
        }
        wipe_upload(upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return finish_send(c, rq, method, url);
}

static void
request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                  enum MHD_RequestTerminationCode toe)
{
    struct req *rq = *con_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (rq == NULL)
        return;
    if (rq->body != NULL)
        lj_secure_free(rq->body, OOBE_MSG_MAX_BODY);
    free(rq);
    *con_cls = NULL;
}

static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char msg[256];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strcspn(msg, "\r\n");
    msg[n] = '\0';
    lj_log(LJ_LOG_WARN, MOD, "event=mhd message=\"%s\"", msg);
}

enum lj_rc
oobe_http_start(int listen_fd, const struct oobe_http_cfg *cfg)
{
    const unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                               MHD_USE_POLL | MHD_USE_ERROR_LOG;

    cfg_ = *cfg;
    daemon_ = MHD_start_daemon(
        flags, 0, NULL, NULL, access_handler, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
        MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)OOBE_HTTP_MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)OOBE_HTTP_IDLE_SECONDS,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, OOBE_HTTP_POOL_BYTES, MHD_OPTION_END);
    if (daemon_ == NULL) {
        close(listen_fd);
        return lj_err_set(LJ_ERR_IO, MOD, "event=http_start_failed");
    }
    return LJ_OK;
}

void
oobe_http_stop(void)
{
    if (daemon_ != NULL) {
        int fd = (int)MHD_quiesce_daemon(daemon_);
        MHD_stop_daemon(daemon_);
        if (fd >= 0)
            close(fd);
    }
    daemon_ = NULL;
}
