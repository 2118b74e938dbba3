/*
 * http.c — libcurl wrapper: one easy handle per client (so polling reuses
 * the connection), every option that matters for safety set on each
 * request after curl_easy_reset, callbacks that enforce the size caps
 * while data arrives; CURLcode becomes enum lj_rc in one place
 * (http_error.c), and a proxy's answer to the CONNECT here (proxy_error).
 *
 * Design note: curl's own error strings go to the log with the layer
 * name ("curl"), never to the user; the user-facing text is built by the
 * error taxonomy from the lj_rc and resp->error (which names host:port
 * and what failed in our words).
 */
#include "agent/net/http.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <curl/curl.h>

#include "agent/net/tls_tpmkey.h"
#include "agent/core/proxy.h"
#include "agent/core/version.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"

#define MOD "http"

struct lj_http {
    CURL *easy;
    /* TLS sessions and DNS answers, so a connection made again to a host
       (the server closed the probe's or a request's) resumes the session;
       connections stay in easy's own cache (lj_http_probe says why). */
    CURLSH *share;
    pthread_mutex_t share_mu;
    bool share_mu_ok;
    char *ca_file;
    struct curl_slist *connect_to;
    long connect_timeout, request_timeout;
    size_t max_body, max_headers;
    char user_agent[128];
    char client_name[64];
    char client_version[32];
    bool (*cancelled)(void *arg);
    void *cancel_arg;
    struct lj_tls_client *tls; /* client certificate, or NULL */
    char *proxy;               /* "http://HOST:PORT" or NULL */
    char *no_proxy;            /* NULL = none */
    char *proxy_user;          /* secret, or NULL */
    char *proxy_password;      /* secret, or NULL */
};

/* Per-transfer state for the callbacks. */
struct xfer {
    struct lj_http_response *resp;
    size_t cap_body, cap_headers;
    size_t header_bytes;
    size_t body_alloc;
    bool too_big;
    bool nomem;
    int tls_resumed; /* lj_tls_resumed of the connection, -1 unknown */
    struct lj_http *h;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void
curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- small helpers ---- */

static bool
is_https(const char *url)
{
    return url != NULL && strncasecmp(url, "https://", 8) == 0;
}

static void
make_request_id(char *out, size_t sz)
{
    unsigned char r[16];

    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        /* Not a secret: a unique-enough fallback is fine. */
        unsigned long long t = (unsigned long long)time(NULL) ^ (unsigned long long)(size_t)out;
        for (size_t i = 0; i < sizeof(r); i++)
            r[i] = (unsigned char)(t >> ((i % 8) * 8)) ^ (unsigned char)(i * 37);
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, sz, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
             r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
             r[14], r[15]);
}

enum lj_rc
lj_http_url_host(const char *url, char *host, size_t hsz, long *port)
{
    CURLU *u = NULL;
    char *hs = NULL, *ps = NULL;
    enum lj_rc rc = LJ_ERR_INVAL;

    if (!is_https(url) || hsz == 0)
        return LJ_ERR_INVAL;
    u = curl_url();
    if (u == NULL)
        return LJ_ERR_NOMEM;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_HOST, &hs, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_PORT, &ps, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    if (strlen(hs) >= hsz)
        goto out;
    snprintf(host, hsz, "%s", hs);
    if (port != NULL)
        *port = strtol(ps, NULL, 10);
    rc = LJ_OK;
out:
    curl_free(hs);
    curl_free(ps);
    curl_url_cleanup(u);
    return rc;
}

static void
host_port_text(const char *url, char *buf, size_t sz)
{
    char host[256];
    long port = 0;

    if (lj_http_url_host(url, host, sizeof(host), &port) == LJ_OK)
        snprintf(buf, sz, "%s:%ld", host, port);
    else
        snprintf(buf, sz, "(bad URL)");
}

static bool
unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

char *
lj_http_url_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s), j = 0;
    char *out;

    if (n > (SIZE_MAX - 1) / 3)
        return NULL;
    out = malloc(n * 3 + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c)) {
            out[j++] = (char)c;
        } else {
            out[j++] = '%';
            out[j++] = hex[c >> 4];
            out[j++] = hex[c & 15];
        }
    }
    out[j] = '\0';
    return out;
}

char *
lj_http_form_encode(const char *const *kv)
{
    size_t total = 1;
    char *out = NULL, *p;

    for (size_t i = 0; kv[i] != NULL && kv[i + 1] != NULL; i += 2)
        total += 3 * strlen(kv[i]) + 3 * strlen(kv[i + 1]) + 2;
    out = malloc(total);
    if (out == NULL)
        return NULL;
    p = out;
    for (size_t i = 0; kv[i] != NULL && kv[i + 1] != NULL; i += 2) {
        char *k = lj_http_url_escape(kv[i]);
        char *v = lj_http_url_escape(kv[i + 1]);
        if (k == NULL || v == NULL) {
            free(k);
            lj_secret_free(v);
            lj_secure_free(out, total);
            return NULL;
        }
        p += snprintf(p, total - (size_t)(p - out), "%s%s=%s", i ? "&" : "", k, v);
        free(k);
        lj_secret_free(v);
    }
    *p = '\0';
    return out;
}

/* ---- error mapping: http_error.c (lj_http__map_error) ---- */

/* ---- client ---- */

static void
share_lock(CURL *c, curl_lock_data data, curl_lock_access access, void *arg)
{
    struct lj_http *h = arg;

    (void)c;
    (void)data;
    (void)access;
    pthread_mutex_lock(&h->share_mu);
}

static void
share_unlock(CURL *c, curl_lock_data data, void *arg)
{
    struct lj_http *h = arg;

    (void)c;
    (void)data;
    pthread_mutex_unlock(&h->share_mu);
}

static enum lj_rc
share_new(struct lj_http *h)
{
    CURLSHcode e;

    if (pthread_mutex_init(&h->share_mu, NULL) != 0)
        return LJ_ERR_NOMEM;
    h->share_mu_ok = true;
    h->share = curl_share_init();
    if (h->share == NULL)
        return LJ_ERR_NOMEM;
    e = curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
    if (e == CURLSHE_OK)
        e = curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    if (e == CURLSHE_OK)
        e = curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
    if (e == CURLSHE_OK)
        e = curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    if (e == CURLSHE_OK)
        e = curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    if (e != CURLSHE_OK)
        return lj_err_set(LJ_ERR_INTERNAL, MOD, "event=share_setup_failed curlsh=%d", (int)e);
    return LJ_OK;
}

static char *
dup_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? strdup(s) : NULL;
}

enum lj_rc
lj_http_new(const struct lj_http_config *cfg, struct lj_http **out)
{
    struct lj_http *h = NULL;
    enum lj_rc rc = LJ_ERR_NOMEM;

    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return lj_err_set(LJ_ERR_INTERNAL, MOD, "event=curl_init_failed curl=%d",
                          (int)curl_init_rc);
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        goto out;
    h->easy = curl_easy_init();
    if (h->easy == NULL)
        goto out;
    rc = share_new(h);
    if (rc != LJ_OK)
        goto out;
    rc = LJ_ERR_NOMEM;
    if (cfg->ca_file != NULL && cfg->ca_file[0] != '\0') {
        h->ca_file = dup_or_null(cfg->ca_file);
        if (h->ca_file == NULL)
            goto out;
    }
    for (size_t i = 0; i < cfg->n_connect_to; i++) {
        struct curl_slist *n = curl_slist_append(h->connect_to, cfg->connect_to[i]);
        if (n == NULL)
            goto out;
        h->connect_to = n;
    }
    h->connect_timeout = cfg->connect_timeout > 0 ? cfg->connect_timeout : 10;
    h->request_timeout = cfg->request_timeout > 0 ? cfg->request_timeout : 60;
    h->max_body = cfg->max_body ? cfg->max_body : LJ_HTTP_MAX_BODY;
    h->max_headers = cfg->max_headers ? cfg->max_headers : LJ_HTTP_MAX_HEADERS;
    snprintf(h->user_agent, sizeof(h->user_agent), "%s",
             cfg->user_agent ? cfg->user_agent : LJ_USER_AGENT);
    snprintf(h->client_name, sizeof(h->client_name), "%s",
             cfg->client_name ? cfg->client_name : "linkjoin");
    snprintf(h->client_version, sizeof(h->client_version), "%s",
             cfg->client_version ? cfg->client_version : LJ_VERSION);
    h->cancelled = cfg->cancelled;
    h->cancel_arg = cfg->cancel_arg;
    if (cfg->proxy != NULL && cfg->proxy[0] != '\0') {
        h->proxy = strdup(cfg->proxy);
        h->no_proxy = dup_or_null(cfg->no_proxy);
        if (h->proxy == NULL ||
            (cfg->no_proxy != NULL && cfg->no_proxy[0] != '\0' && h->no_proxy == NULL))
            goto out;
        if (cfg->proxy_user != NULL && cfg->proxy_user[0] != '\0') {
            h->proxy_user = strdup(cfg->proxy_user);
            h->proxy_password = strdup(cfg->proxy_password ? cfg->proxy_password : "");
            if (h->proxy_user == NULL || h->proxy_password == NULL)
                goto out;
        }
        lj_log(LJ_LOG_INFO, MOD, "event=proxy url=%s no_proxy=\"%s\" credentials=%s", h->proxy,
               h->no_proxy ? h->no_proxy : "", h->proxy_user ? "***" : "none");
    }
    if (cfg->client_cert != NULL) {
        rc = lj_tls_client_new(cfg->client_cert, &h->tls);
        if (rc != LJ_OK)
            goto out;
    }
    *out = h;
    h = NULL;
    rc = LJ_OK;
out:
    lj_http_free(h);
    return rc;
}

void
lj_http_free(struct lj_http *h)
{
    if (h == NULL)
        return;
    if (h->easy != NULL)
        curl_easy_cleanup(h->easy); /* closes connections: their SSL_CTX go first */
    if (h->share != NULL)
        curl_share_cleanup(h->share); /* after every handle using it */
    if (h->share_mu_ok)
        pthread_mutex_destroy(&h->share_mu);
    lj_tls_client_free(h->tls);
    curl_slist_free_all(h->connect_to);
    free(h->ca_file);
    free(h->proxy);
    free(h->no_proxy);
    lj_secret_free(h->proxy_user);
    lj_secret_free(h->proxy_password);
    free(h);
}

const char *
lj_http_proxy_for(const struct lj_http *h, const char *host)
{
    if (h == NULL || h->proxy == NULL || lj_no_proxy_match(h->no_proxy, host))
        return NULL;
    return h->proxy;
}

/* The proxy a request to url goes through, or NULL. */
static const char *
proxy_for_url(const struct lj_http *h, const char *url)
{
    char host[256];
    long port = 0;

    if (h->proxy == NULL || lj_http_url_host(url, host, sizeof(host), &port) != LJ_OK)
        return h->proxy;
    return lj_http_proxy_for(h, host);
}

void
lj_http_response_free(struct lj_http_response *resp)
{
    if (resp == NULL)
        return;
    lj_secure_free(resp->body, resp->body_len); /* token and device-code answers */
    memset(resp, 0, sizeof(*resp));
    resp->retry_after = -1;
}

const char *
lj_http_response_id(const struct lj_http_response *resp, const char *name)
{
    for (size_t i = 0; i < resp->n_ids; i++) {
        if (strcmp(resp->ids[i].name, name) == 0)
            return resp->ids[i].value;
    }
    return NULL;
}

/* Headers whose values go into error records: ids a help desk can search for. */
static bool
is_id_header(const char *lname)
{
    size_t n = strlen(lname);
    static const char *const suffixes[] = {"request-id", "trace-id", "correlation-id",
                                           "activity-id"};

    if (strncmp(lname, "x-ms-", 5) == 0)
        return true;
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        size_t m = strlen(suffixes[i]);
        if (n >= m && strcmp(lname + n - m, suffixes[i]) == 0)
            return true;
    }
    return false;
}

static void
copy_trimmed(char *dst, size_t dsz, const char *v, size_t vlen)
{
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ' ||
                        v[vlen - 1] == '\t'))
        vlen--;
    if (vlen >= dsz)
        vlen = dsz - 1;
    for (size_t i = 0; i < vlen; i++)
        dst[i] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
    dst[vlen] = '\0';
}

static long
parse_retry_after(const char *v)
{
    char *end = NULL;
    long n;
    time_t t;

    if (isdigit((unsigned char)v[0])) {
        n = strtol(v, &end, 10);
        if (*end != '\0' || n < 0)
            return -1;
        return n > 86400 ? 86400 : n;
    }
    t = curl_getdate(v, NULL);
    if (t == (time_t)-1)
        return -1;
    n = (long)(t - time(NULL));
    return n < 0 ? 0 : (n > 86400 ? 86400 : n);
}

void
lj_http__header_line(struct lj_http_response *r, const char *data, size_t len)
{
    char lname[40];
    const char *colon, *v;
    size_t nlen, vlen;

    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new response (after 1xx): forget what the previous one said. */
        r->content_type[0] = r->location[0] = r->date[0] = '\0';
        r->retry_after = -1;
        r->n_ids = 0;
        return;
    }
    colon = memchr(data, ':', len);
    if (colon == NULL)
        return;
    nlen = (size_t)(colon - data);
    if (nlen == 0 || nlen >= sizeof(lname))
        return;
    for (size_t i = 0; i < nlen; i++) {
        unsigned char c = (unsigned char)data[i];

        /* A field name is an RFC 9110 token; anything else is not a header we keep
           (fuzz_http_headers: a name with byte 0xe5 went into ids unsanitized). */
        if (!isalnum(c) && (c == 0 || strchr("!#$%&'*+-.^_`|~", c) == NULL))
            return;
        lname[i] = (char)tolower(c);
    }
    lname[nlen] = '\0';
    v = colon + 1;
    while (v < data + len && (*v == ' ' || *v == '\t'))
        v++;
    vlen = (size_t)(data + len - v);

    if (strcmp(lname, "content-type") == 0) {
        copy_trimmed(r->content_type, sizeof(r->content_type), v, vlen);
    } else if (strcmp(lname, "location") == 0) {
        copy_trimmed(r->location, sizeof(r->location), v, vlen);
    } else if (strcmp(lname, "date") == 0) {
        copy_trimmed(r->date, sizeof(r->date), v, vlen);
    } else if (strcmp(lname, "retry-after") == 0) {
        char tmp[64];
        copy_trimmed(tmp, sizeof(tmp), v, vlen);
        r->retry_after = parse_retry_after(tmp);
    } else if (is_id_header(lname) && r->n_ids < LJ_HTTP_MAX_IDS &&
               lj_http_response_id(r, lname) == NULL) {
        snprintf(r->ids[r->n_ids].name, sizeof(r->ids[0].name), "%s", lname);
        copy_trimmed(r->ids[r->n_ids].value, sizeof(r->ids[0].value), v, vlen);
        r->n_ids++;
    }
}

static size_t
header_cb(char *data, size_t size, size_t nitems, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * nitems;

    x->header_bytes += len;
    if (x->header_bytes > x->cap_headers) {
        x->too_big = true;
        return 0;
    }
    lj_http__header_line(x->resp, data, len);
    return len;
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    struct lj_http_response *r = x->resp;
    size_t len = size * nmemb;

    if (len > x->cap_body - r->body_len) {
        x->too_big = true;
        return 0;
    }
    if (r->body_len + len + 1 > x->body_alloc) {
        size_t want = x->body_alloc ? x->body_alloc : 4096;
        char *nb;
        while (want < r->body_len + len + 1)
            want *= 2;
        if (want > x->cap_body + 1)
            want = x->cap_body + 1;
        /* Not realloc: a body may hold tokens, so the old copy is wiped first. */
        nb = malloc(want);
        if (nb == NULL) {
            x->nomem = true;
            return 0;
        }
        if (r->body != NULL) {
            memcpy(nb, r->body, r->body_len + 1);
            lj_secure_free(r->body, x->body_alloc);
        }
        r->body = nb;
        x->body_alloc = want;
    }
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return len;
}

static int
xferinfo_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    struct lj_http *h = arg;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return h->cancelled != NULL && h->cancelled(h->cancel_arg) ? 1 : 0;
}

/* CURLOPT_SSL_CTX_FUNCTION: runs once per new connection, before SSL_new. */
static CURLcode
ssl_ctx_cb(CURL *curl, void *ssl_ctx, void *arg)
{
    struct lj_http *h = arg;

    (void)curl;
    return lj_tls_ctx_setup(h->tls, ssl_ctx) == LJ_OK ? CURLE_OK : CURLE_SSL_CONNECT_ERROR;
}

/* Options common to requests and probes. */
static enum lj_rc
set_common(struct lj_http *h, CURL *c, const char *url, char *errbuf)
{
    CURLcode e = CURLE_OK;

#define SET(opt, val)                                                                              \
    if (e == CURLE_OK)                                                                             \
    e = curl_easy_setopt(c, opt, val)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    /* curl 7.88's wolfSSL backend refuses a maximum version and makes
       CURL_SSLVERSION_TLSv1_2 mean exactly 1.2: the client-auth case
       without RSA-PSS wants that (tls_tpmkey.h); any other connection
       takes the default (1.2 or 1.3) with the 1.2 floor set in ssl_ctx_cb. */
    SET(CURLOPT_SSLVERSION,
        (long)(h->tls != NULL && !lj_tls_client_tls13(h->tls) ? CURL_SSLVERSION_TLSv1_2
                                                              : CURL_SSLVERSION_DEFAULT));
    SET(CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
    SET(CURLOPT_SSL_CTX_DATA, h);
    SET(CURLOPT_SHARE, h->share);
    SET(CURLOPT_CONNECTTIMEOUT, h->connect_timeout);
    SET(CURLOPT_TIMEOUT, h->request_timeout);
    {
        /*
         * Our own no_proxy decision (core/proxy.h), so the proxy a failure
         * names is the one used; "" keeps curl from reading the environment.
         * HTTPS through an HTTP proxy is a CONNECT tunnel, TLS end to end.
         */
        const char *px = proxy_for_url(h, url);

        SET(CURLOPT_PROXY, px != NULL ? px : "");
        if (px != NULL) {
            SET(CURLOPT_PROXYTYPE, (long)CURLPROXY_HTTP);
            SET(CURLOPT_HTTPPROXYTUNNEL, 1L);
            if (h->proxy_user != NULL) {
                SET(CURLOPT_PROXYUSERNAME, h->proxy_user);
                SET(CURLOPT_PROXYPASSWORD, h->proxy_password);
                SET(CURLOPT_PROXYAUTH, (long)CURLAUTH_ANY);
            }
        }
    }
    SET(CURLOPT_NOPROGRESS, h->cancelled != NULL ? 0L : 1L);
    if (h->cancelled != NULL) {
        SET(CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
        SET(CURLOPT_XFERINFODATA, h);
    }
    if (h->ca_file != NULL) {
        /* ca_file replaces the system store rather than adding to it. */
        /* No CAPATH: tools/deps-curl.sh builds curl without a CA path
           (setting one would be CURLE_NOT_BUILT_IN). */
        SET(CURLOPT_CAINFO, h->ca_file);
    }
    if (h->connect_to != NULL)
        SET(CURLOPT_CONNECT_TO, h->connect_to);
#undef SET
    if (e != CURLE_OK)
        return lj_err_set(LJ_ERR_INTERNAL, MOD, "event=setopt_failed curl=%d", (int)e);
    return LJ_OK;
}

/*
 * A failure of a request through the proxy: the proxy's answer to the
 * CONNECT decides (407, or the 401 some proxies send for wrong credentials:
 * LJ_ERR_PROXY_AUTH; another refusal of the tunnel: the host could not be
 * reached); no TCP connection to the proxy at all is LJ_ERR_PROXY.
 */
static enum lj_rc
proxy_error(struct lj_http *h, CURL *c, CURLcode e, enum lj_rc rc, char *what, size_t wsz)
{
    long cc = 0;
    double connect_s = 0;

    curl_easy_getinfo(c, CURLINFO_HTTP_CONNECTCODE, &cc);
    curl_easy_getinfo(c, CURLINFO_CONNECT_TIME, &connect_s);
    if (cc == 407 || cc == 401) {
        snprintf(what, wsz,
                 h->proxy_user != NULL ? "the proxy refused its user name and password (HTTP %ld)"
                                       : "the proxy asks for a user name and password (HTTP %ld)",
                 cc);
        return LJ_ERR_PROXY_AUTH;
    }
    if (cc >= 300) {
        snprintf(what, wsz, "the proxy refused to open a connection to it (HTTP %ld)", cc);
        return LJ_ERR_NET_CONNECT;
    }
    if (e == CURLE_COULDNT_RESOLVE_PROXY) {
        snprintf(what, wsz, "the proxy's name did not resolve (DNS)");
        return LJ_ERR_PROXY;
    }
    if (e == CURLE_COULDNT_CONNECT || (e == CURLE_OPERATION_TIMEDOUT && connect_s <= 0)) {
        snprintf(what, wsz,
                 e == CURLE_COULDNT_CONNECT
                     ? "the connection to the proxy was refused or it is unreachable"
                     : "the proxy did not answer the connection");
        return LJ_ERR_PROXY;
    }
    return rc;
}

static enum lj_rc
finish_error(struct lj_http *h, CURL *c, CURLcode e, const char *url, const char *errbuf,
             bool too_big, char *out, size_t osz, const char *event)
{
    long verify = 0;
    char what[160], hp[300];
    enum lj_rc rc, sign_rc = h->tls != NULL ? lj_tls_client_take_sign_error(h->tls) : LJ_OK;

    curl_easy_getinfo(c, CURLINFO_SSL_VERIFYRESULT, &verify);
    rc = lj_http__map_error((int)e, verify, errbuf, too_big, what, sizeof(what));
    if (sign_rc == LJ_OK && h->tls != NULL && e == CURLE_SSL_CONNECT_ERROR &&
        lj_tls_client_sigalgs_refused(h->tls, errbuf))
        sign_rc = LJ_ERR_SIG_UNSUPPORTED;
    if (sign_rc != LJ_OK) {
        /* The handshake failed because the key could not sign: say that. */
        rc = sign_rc;
        snprintf(what, sizeof(what),
                 "the TLS client authentication could not be signed "
                 "with the device key (%s)",
                 lj_rc_name(sign_rc));
    }
    if (sign_rc == LJ_OK && proxy_for_url(h, url) != NULL)
        rc = proxy_error(h, c, e, rc, what, sizeof(what));
    host_port_text(url, hp, sizeof(hp));
    if (out != NULL && osz > 0)
        snprintf(out, osz, "%s: %s", hp, what);
    lj_log(LJ_LOG_DEBUG, "curl", "event=curl_error code=%d verify=%ld text=\"%s\"", (int)e, verify,
           errbuf);
    lj_err_set(rc, MOD, "event=%s host=%s failure=\"%s\" curl_code=%d", event, hp, what, (int)e);
    return rc;
}

/* CURLOPT_PREREQFUNCTION: the connection is up, the request not yet sent;
   note whether its TLS handshake resumed a session (for the log line). */
static int
prereq_cb(void *arg, char *ip, char *local_ip, int port, int local_port)
{
    struct xfer *x = arg;
    struct curl_tlssessioninfo *ti = NULL;

    (void)ip;
    (void)local_ip;
    (void)port;
    (void)local_port;
    if (curl_easy_getinfo(x->h->easy, CURLINFO_TLS_SSL_PTR, &ti) == CURLE_OK && ti != NULL) {
        x->tls_resumed = lj_tls_resumed(ti->internals);
        if (x->h->tls != NULL)
            lj_log(LJ_LOG_INFO, MOD, "event=client_auth_connection tls=%s signs=%u",
                   lj_tls_version(ti->internals), lj_tls_client_sign_count(x->h->tls));
    }
    return CURL_PREREQFUNC_OK;
}

/* How the last transfer's connection was made: "reused" (an open
   connection), else its TLS handshake, "resumed" or "full". */
static const char *
conn_kind(CURL *c, int tls_resumed)
{
    long n = 0;

    if (curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &n) == CURLE_OK && n == 0)
        return "reused";
    return tls_resumed == 1 ? "resumed" : tls_resumed == 0 ? "full" : "unknown";
}

/* true when req->headers has a "Name:" line for name (case-insensitive). */
static bool
req_names_header(const struct lj_http_request *req, const char *name)
{
    size_t n = strlen(name);

    for (const char *const *p = req->headers; p != NULL && *p != NULL; p++)
        if (strncasecmp(*p, name, n) == 0 && (*p)[n] == ':')
            return true;
    return false;
}

enum lj_rc
lj_http_do(struct lj_http *h, const struct lj_http_request *req, struct lj_http_response *resp)
{
    struct curl_slist *hdrs = NULL, *n;
    struct xfer x;
    char errbuf[CURL_ERROR_SIZE] = "";
    char line[256], hp[300];
    char *auth = NULL;
    size_t auth_len = 0;
    const char *method;
    enum lj_rc rc = LJ_ERR_NOMEM;
    CURLcode e = CURLE_OK;
    struct timespec t0, t1;

    memset(resp, 0, sizeof(*resp));
    resp->retry_after = -1;
    make_request_id(resp->client_request_id, sizeof(resp->client_request_id));
    if (!is_https(req->url)) {
        snprintf(resp->error, sizeof(resp->error), "refused a URL that is not https");
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=request_refused reason=not_https");
    }
    host_port_text(req->url, hp, sizeof(hp));
    method = req->method ? req->method : (req->body ? "POST" : "GET");
    memset(&x, 0, sizeof(x));
    x.resp = resp;
    x.h = h;
    x.cap_body = req->max_body ? req->max_body : h->max_body;
    x.cap_headers = h->max_headers;
    x.tls_resumed = -1;

#define ADD(text)                                                                                  \
    do {                                                                                           \
        n = curl_slist_append(hdrs, (text));                                                       \
        if (n == NULL)                                                                             \
            goto out;                                                                              \
        hdrs = n;                                                                                  \
    } while (0)
    /* A header the request names replaces the default of that name: RFC 9110
     * 10.1.5 makes User-Agent a single value (not a list), Windows' enrollment
     * client sends one "User-Agent: ENROLLClient" (fleetdm's captured Windows
     * requests; AADInternals MDM_utils.ps1), and a strict front end refuses
     * two. */
    if (!req_names_header(req, "User-Agent")) {
        snprintf(line, sizeof(line), "User-Agent: %s", h->user_agent);
        ADD(line);
    }
    if (!req_names_header(req, "ocp-adrs-client-name")) {
        snprintf(line, sizeof(line), "ocp-adrs-client-name: %s", h->client_name);
        ADD(line);
    }
    if (!req_names_header(req, "ocp-adrs-client-version")) {
        snprintf(line, sizeof(line), "ocp-adrs-client-version: %s", h->client_version);
        ADD(line);
    }
    snprintf(line, sizeof(line), "client-request-id: %s", resp->client_request_id);
    ADD(line);
    ADD("return-client-request-id: true");
    ADD("Expect:");
    if (req->content_type != NULL && !req_names_header(req, "Content-Type")) {
        snprintf(line, sizeof(line), "Content-Type: %s", req->content_type);
        ADD(line);
    }
    for (const char *const *p = req->headers; p != NULL && *p != NULL; p++)
        ADD(*p);
    if (req->bearer != NULL) {
        auth_len = strlen(req->bearer) + sizeof("Authorization: Bearer ");
        auth = malloc(auth_len);
        if (auth == NULL)
            goto out;
        snprintf(auth, auth_len, "Authorization: Bearer %s", req->bearer);
        ADD(auth);
    }
#undef ADD

    curl_easy_reset(h->easy);
    rc = set_common(h, h->easy, req->url, errbuf);
    if (rc != LJ_OK)
        goto out;
#define SET(opt, val)                                                                              \
    if (e == CURLE_OK)                                                                             \
    e = curl_easy_setopt(h->easy, opt, val)
    SET(CURLOPT_HTTPHEADER, hdrs);
    SET(CURLOPT_HEADERFUNCTION, header_cb);
    SET(CURLOPT_HEADERDATA, &x);
    SET(CURLOPT_PREREQFUNCTION, prereq_cb);
    SET(CURLOPT_PREREQDATA, &x);
    SET(CURLOPT_WRITEFUNCTION, write_cb);
    SET(CURLOPT_WRITEDATA, &x);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x.cap_body);
    SET(CURLOPT_ACCEPT_ENCODING, (char *)NULL); /* no decompression bombs */
    if (strcmp(method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "POST") == 0) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
    } else {
        SET(CURLOPT_CUSTOMREQUEST, method);
        if (req->body != NULL) {
            SET(CURLOPT_POSTFIELDS, (const char *)req->body);
            SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        }
    }
#undef SET
    if (e != CURLE_OK) {
        rc = lj_err_set(LJ_ERR_INTERNAL, MOD, "event=setopt_failed curl=%d", (int)e);
        goto out;
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);
    e = curl_easy_perform(h->easy);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (e != CURLE_OK) {
        rc = x.nomem ? LJ_ERR_NOMEM
                     : finish_error(h, h->easy, e, req->url, errbuf, x.too_big, resp->error,
                                    sizeof(resp->error), "request_failed");
        lj_secure_free(resp->body, resp->body_len);
        resp->body = NULL;
        resp->body_len = 0;
        resp->status = 0;
        goto out;
    }
    curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &resp->status);
    if (resp->body == NULL) {
        resp->body = calloc(1, 1);
        if (resp->body == NULL) {
            rc = LJ_ERR_NOMEM;
            goto out;
        }
    }
    {
        /* Log the path without the query: queries may carry codes. */
        const char *path = strchr(req->url + 8, '/');
        size_t plen = path ? strcspn(path, "?#") : 1;
        lj_log(LJ_LOG_INFO, MOD,
               "event=response method=%s host=%s path=%.*s status=%ld bytes=%zu ms=%ld "
               "connection=%s client_request_id=%s authorization=%s",
               method, hp, (int)plen, path ? path : "/", resp->status, resp->body_len,
               (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000),
               conn_kind(h->easy, x.tls_resumed), resp->client_request_id,
               req->bearer ? "***" : "none");
    }
    rc = LJ_OK;
out:
    if (rc == LJ_ERR_NOMEM && resp->error[0] == '\0')
        snprintf(resp->error, sizeof(resp->error), "%s: out of memory", hp);
    /* Wipe our copies of the token: the header list and the line. */
    for (struct curl_slist *s = hdrs; s != NULL; s = s->next) {
        if (strncasecmp(s->data, "Authorization:", 14) == 0)
            lj_secure_zero(s->data, strlen(s->data));
    }
    curl_slist_free_all(hdrs);
    lj_secure_free(auth, auth_len);
    return rc;
}

/*
 * The probe runs on the client's own easy handle and sends one HEAD for the
 * URL, so its connection stays in that handle's cache and the first request
 * to the host reuses it: one full TLS handshake per host per client.  A
 * CONNECT_ONLY handle (the probe before) is never reused by curl (url.c
 * ConnectionExists skips connect_only connections), so each host cost a
 * second handshake against servers that keep no TLS session (libmicrohttpd
 * with GnuTLS).  Any HTTP status is fine: the probe checks the path and the
 * TLS handshake, not the service.  The cache is per client, never shared
 * (the share holds TLS sessions and DNS only), so a client with a device
 * certificate never reuses a connection made without one, nor the reverse.
 */
/* The probe's headers and (absent) body go nowhere: stdout may be the UI. */
static size_t
discard_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    (void)data;
    (void)arg;
    return size * nmemb;
}

enum lj_rc
lj_http_probe(struct lj_http *h, const char *url, char *what, size_t wsz)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    char line[4][160], id[40];
    struct curl_slist *hdrs = NULL, *n;
    enum lj_rc rc;
    CURLcode e;

    if (!is_https(url)) {
        if (what != NULL && wsz > 0)
            snprintf(what, wsz, "refused a URL that is not https");
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=probe_refused reason=not_https");
    }
    /* The headers every request carries (http.h), the probe's HEAD too. */
    make_request_id(id, sizeof(id));
    snprintf(line[0], sizeof(line[0]), "User-Agent: %s", h->user_agent);
    snprintf(line[1], sizeof(line[1]), "ocp-adrs-client-name: %s", h->client_name);
    snprintf(line[2], sizeof(line[2]), "ocp-adrs-client-version: %s", h->client_version);
    snprintf(line[3], sizeof(line[3]), "client-request-id: %s", id);
    for (size_t i = 0; i < 5; i++) {
        n = curl_slist_append(hdrs, i < 4 ? line[i] : "return-client-request-id: true");
        if (n == NULL) {
            curl_slist_free_all(hdrs);
            return LJ_ERR_NOMEM;
        }
        hdrs = n;
    }
    curl_easy_reset(h->easy);
    rc = set_common(h, h->easy, url, errbuf);
    if (rc != LJ_OK)
        goto out;
    /* Probes are bounded by the connect timeout, not the request timeout. */
    e = curl_easy_setopt(h->easy, CURLOPT_NOBODY, 1L);
    if (e == CURLE_OK)
        e = curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, hdrs);
    if (e == CURLE_OK)
        e = curl_easy_setopt(h->easy, CURLOPT_HEADERFUNCTION, discard_cb);
    if (e == CURLE_OK)
        e = curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, discard_cb);
    if (e == CURLE_OK)
        e = curl_easy_setopt(h->easy, CURLOPT_TIMEOUT, h->connect_timeout);
    if (e == CURLE_OK)
        e = curl_easy_perform(h->easy);
    if (e != CURLE_OK) {
        rc = finish_error(h, h->easy, e, url, errbuf, false, what, wsz, "probe_failed");
        goto out;
    }
    {
        char hp[300];
        host_port_text(url, hp, sizeof(hp));
        lj_log(LJ_LOG_INFO, MOD, "event=probe_ok host=%s client_request_id=%s", hp, id);
    }
    rc = LJ_OK;
out:
    /* curl keeps the list's pointer until the next reset: drop it first. */
    curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_slist_free_all(hdrs);
    return rc;
}
