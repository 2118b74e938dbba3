/*
 * server.c — see server.h.
 *
 * Request life: the first access-handler call creates a struct sim_req and
 * checks Content-Length against the route's ceiling (too big: 413 at once,
 * the body is never read); later calls append upload data up to the
 * ceiling (a chunked body that grows past it is discarded, and the
 * connection dropped after 8 MiB); the last call matches faults and
 * dispatches by Host and path (Intune requests, r->mdm, get SOAP error
 * shapes from mdm.c and their own 64 KiB body limit).  Responses pass
 * through srv_reply, which applies response faults (including the hostile
 * XML bodies xml_bomb and deep), adds the request-id headers and writes one log
 * line (method, path, status, request id; never bodies, tokens or
 * passwords).
 */
#include "hw-sim/entra-sim/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "hw-sim/entra-sim/tenant.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"

#define MOD "http"
#define BODY_MAX_DRS (64 * 1024)
#define BODY_MAX_LOGIN (64 * 1024)
#define BODY_MAX_MDM (64 * 1024)
#define BODY_MAX_CONTROL (1024 * 1024)
#define DISCARD_MAX (8 * 1024 * 1024)
#define JSON_DEPTH_MAX 32
#define MAX_FAULTS 64
#define LOG_RING 4096

static struct MHD_Daemon *pub_daemon, *ctl_daemon;
static int pub_marker, ctl_marker;

/* ---- faults ---- */

static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sim_fault faults[MAX_FAULTS];
static size_t nfaults;
static unsigned long fault_seq;

static const char *const fault_names[] = {"delay",      "status",    "drop",         "close",
                                          "malformed",  "oversized", "content_type", "html",
                                          "wrong_cert", "xml_bomb",  "deep"};

bool
srv_fault_add(const cJSON *o, char *id, size_t idsz, char *err, size_t errsz)
{
    static const char *const members[] = {"path_prefix", "method", "count",       "kind",
                                          "delay_ms",    "status", "retry_after", "size",
                                          "depth",       "body",   NULL};
    struct sim_fault f;
    const cJSON *v, *m;
    bool ok = false;

    memset(&f, 0, sizeof(f));
    f.remaining = 1;
    f.retry_after = -1;
    f.status = 503;
    f.size = 4u * 1024 * 1024;
    f.depth = 10000;
    if (!cJSON_IsObject(o)) {
        snprintf(err, errsz, "body must be a JSON object");
        return false;
    }
    cJSON_ArrayForEach(m, o)
    {
        bool known = false;
        for (size_t i = 0; members[i] != NULL; i++)
            known = known || strcmp(members[i], m->string) == 0;
        if (!known) {
            snprintf(err, errsz, "unknown member '%s'", m->string);
            return false;
        }
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "path_prefix");
    if (!cJSON_IsString(v) || v->valuestring[0] != '/' ||
        strlen(v->valuestring) >= sizeof(f.prefix)) {
        snprintf(err, errsz, "path_prefix must be a string starting with /");
        return false;
    }
    memcpy(f.prefix, v->valuestring, strlen(v->valuestring) + 1);
    v = cJSON_GetObjectItemCaseSensitive(o, "method");
    if (v != NULL) {
        if (!cJSON_IsString(v) || strlen(v->valuestring) >= sizeof(f.method)) {
            snprintf(err, errsz, "method must be a string such as \"POST\"");
            return false;
        }
        memcpy(f.method, v->valuestring, strlen(v->valuestring) + 1);
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "count");
    if (v != NULL) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1000000) {
            snprintf(err, errsz, "count must be 1..1000000");
            return false;
        }
        f.remaining = (long)v->valuedouble;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "kind");
    if (!cJSON_IsString(v)) {
        snprintf(err, errsz, "kind is required");
        return false;
    }
    for (size_t i = 0; i < sizeof(fault_names) / sizeof(fault_names[0]); i++) {
        if (strcmp(fault_names[i], v->valuestring) == 0) {
            f.kind = (enum sim_fault_kind)i;
            ok = true;
        }
    }
    if (!ok) {
        snprintf(err, errsz,
                 "kind must be one of delay, status, drop, close, malformed, oversized, "
                 "content_type, html, wrong_cert, xml_bomb, deep");
        return false;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "delay_ms");
    if (v != NULL) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 600000) {
            snprintf(err, errsz, "delay_ms must be 0..600000");
            return false;
        }
        f.delay_ms = (long)v->valuedouble;
    } else if (f.kind == SIM_FAULT_DELAY) {
        snprintf(err, errsz, "delay_ms is required for kind delay");
        return false;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "status");
    if (v != NULL) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 400 || v->valuedouble > 599) {
            snprintf(err, errsz, "status must be 400..599");
            return false;
        }
        f.status = (unsigned)v->valuedouble;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "retry_after");
    if (v != NULL) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 86400) {
            snprintf(err, errsz, "retry_after must be 0..86400 seconds");
            return false;
        }
        f.retry_after = (long)v->valuedouble;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "size");
    if (v != NULL) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 256.0 * 1024 * 1024) {
            snprintf(err, errsz, "size must be 1..268435456");
            return false;
        }
        f.size = (size_t)v->valuedouble;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "body");
    if (v != NULL) {
        if (!cJSON_IsString(v) || strlen(v->valuestring) >= sizeof(f.body) ||
            f.kind != SIM_FAULT_STATUS) {
            snprintf(err, errsz, "body must be a string of at most %zu bytes, for kind status",
                     sizeof(f.body) - 1);
            return false;
        }
        memcpy(f.body, v->valuestring, strlen(v->valuestring) + 1);
        f.has_body = true;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "depth");
    if (v != NULL) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1000000) {
            snprintf(err, errsz, "depth must be 1..1000000");
            return false;
        }
        f.depth = (long)v->valuedouble;
    }
    pthread_mutex_lock(&fault_lock);
    if (nfaults >= MAX_FAULTS) {
        pthread_mutex_unlock(&fault_lock);
        snprintf(err, errsz, "too many faults (%d)", MAX_FAULTS);
        return false;
    }
    snprintf(f.id, sizeof(f.id), "f%lu", ++fault_seq);
    faults[nfaults++] = f;
    pthread_mutex_unlock(&fault_lock);
    snprintf(id, idsz, "%s", f.id);
    return true;
}

/* Take one use of the first fault matching r; true when one applies. */
static bool
fault_match(struct sim_req *r)
{
    bool hit = false;

    pthread_mutex_lock(&fault_lock);
    for (size_t i = 0; i < nfaults; i++) {
        struct sim_fault *f = &faults[i];
        if (strncmp(r->path, f->prefix, strlen(f->prefix)) != 0)
            continue;
        if (f->method[0] != '\0' && strcasecmp(f->method, r->method) != 0)
            continue;
        r->fault = *f;
        r->has_fault = true;
        f->hits++;
        if (--f->remaining <= 0)
            faults[i] = faults[--nfaults];
        hit = true;
        break;
    }
    pthread_mutex_unlock(&fault_lock);
    return hit;
}

cJSON *
srv_faults_json(void)
{
    cJSON *a = cJSON_CreateArray();

    pthread_mutex_lock(&fault_lock);
    for (size_t i = 0; a != NULL && i < nfaults; i++) {
        cJSON *o = cJSON_CreateObject();
        if (o == NULL)
            break;
        cJSON_AddStringToObject(o, "id", faults[i].id);
        cJSON_AddStringToObject(o, "path_prefix", faults[i].prefix);
        cJSON_AddStringToObject(o, "method", faults[i].method);
        cJSON_AddStringToObject(o, "kind", fault_names[faults[i].kind]);
        cJSON_AddNumberToObject(o, "remaining", (double)faults[i].remaining);
        cJSON_AddNumberToObject(o, "hits", (double)faults[i].hits);
        cJSON_AddItemToArray(a, o);
    }
    pthread_mutex_unlock(&fault_lock);
    return a;
}

void
srv_faults_clear(void)
{
    pthread_mutex_lock(&fault_lock);
    nfaults = 0;
    pthread_mutex_unlock(&fault_lock);
}

/* ---- request log ---- */

struct log_entry {
    time_t t;
    char method[12];
    char host[64];
    char path[256];
    char query[512];
    char accept[128];
    char auth_scheme[16];
    char adrs_name[64];
    char adrs_version[32];
    unsigned status;
    char request_id[37];
    long ms;
    char fault[16];
    bool control;
    char user_agent[128];
    unsigned user_agents;
};

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_entry ring[LOG_RING];
static size_t ring_next, ring_count;

static void
log_request(struct sim_req *r, unsigned status)
{
    struct log_entry *e;
    long ms = (long)(sim_now_ms() - r->start_ms);
    const char *fault = r->has_fault ? fault_names[r->fault.kind] : "";

    lj_log(LJ_LOG_INFO, MOD,
           "event=request %smethod=%s host=%s path=%s status=%u "
           "request_id=%s ms=%ld%s%s",
           r->control ? "control=1 " : "", r->method, r->host, r->path, status, r->request_id, ms,
           fault[0] != '\0' ? " fault=" : "", fault);
    pthread_mutex_lock(&log_lock);
    e = &ring[ring_next];
    ring_next = (ring_next + 1) % LOG_RING;
    if (ring_count < LOG_RING)
        ring_count++;
    memset(e, 0, sizeof(*e));
    e->t = time(NULL);
    snprintf(e->method, sizeof(e->method), "%s", r->method);
    snprintf(e->host, sizeof(e->host), "%.63s", r->host);
    snprintf(e->path, sizeof(e->path), "%.255s", r->path);
    e->status = status;
    memcpy(e->request_id, r->request_id, sizeof(e->request_id));
    e->ms = ms;
    snprintf(e->fault, sizeof(e->fault), "%s", fault);
    e->control = r->control;
    memcpy(e->user_agent, r->user_agent, sizeof(e->user_agent));
    memcpy(e->query, r->query, sizeof(e->query));
    memcpy(e->accept, r->accept, sizeof(e->accept));
    memcpy(e->auth_scheme, r->auth_scheme, sizeof(e->auth_scheme));
    memcpy(e->adrs_name, r->adrs_name, sizeof(e->adrs_name));
    memcpy(e->adrs_version, r->adrs_version, sizeof(e->adrs_version));
    e->user_agents = r->user_agents;
    pthread_mutex_unlock(&log_lock);
}

cJSON *
srv_log_json(const char *prefix)
{
    cJSON *a = cJSON_CreateArray();
    char t[32];

    pthread_mutex_lock(&log_lock);
    for (size_t i = 0; a != NULL && i < ring_count; i++) {
        const struct log_entry *e = &ring[(ring_next + LOG_RING - ring_count + i) % LOG_RING];
        cJSON *o;
        if (e->control)
            continue;
        if (prefix != NULL && strncmp(e->path, prefix, strlen(prefix)) != 0)
            continue;
        o = cJSON_CreateObject();
        if (o == NULL)
            break;
        sim_time_entra(t, sizeof(t), e->t);
        cJSON_AddStringToObject(o, "time", t);
        cJSON_AddStringToObject(o, "method", e->method);
        cJSON_AddStringToObject(o, "host", e->host);
        cJSON_AddStringToObject(o, "path", e->path);
        cJSON_AddStringToObject(o, "query", e->query);
        cJSON_AddNumberToObject(o, "status", e->status);
        cJSON_AddStringToObject(o, "request_id", e->request_id);
        cJSON_AddNumberToObject(o, "ms", (double)e->ms);
        if (e->fault[0] != '\0')
            cJSON_AddStringToObject(o, "fault", e->fault);
        cJSON_AddStringToObject(o, "user_agent", e->user_agent);
        cJSON_AddNumberToObject(o, "user_agents", (double)e->user_agents);
        cJSON_AddStringToObject(o, "accept", e->accept);
        cJSON_AddStringToObject(o, "authorization", e->auth_scheme);
        cJSON_AddStringToObject(o, "ocp_adrs_client_name", e->adrs_name);
        cJSON_AddStringToObject(o, "ocp_adrs_client_version", e->adrs_version);
        cJSON_AddItemToArray(a, o);
    }
    pthread_mutex_unlock(&log_lock);
    return a;
}

void
srv_log_clear(void)
{
    pthread_mutex_lock(&log_lock);
    ring_count = 0;
    ring_next = 0;
    pthread_mutex_unlock(&log_lock);
}

/* ---- responses ---- */

static bool
is_drs_path(const char *path)
{
    return strncasecmp(path, "/EnrollmentServer", 17) == 0 || strcasestr(path, "/discover") != NULL;
}

struct stream {
    char *body; /* real body (drop) or NULL (oversized) */
    size_t len;
    size_t cut;
    bool xml; /* oversized: a SOAP envelope instead of JSON */
};

#define XML_PAD_HEAD "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><p>"
#define XML_PAD_TAIL "</p></s:Body></s:Envelope>"

/* Byte pos of the oversized body (len bytes, >= 64). */
static char
pad_byte(const struct stream *s, uint64_t p)
{
    static const char jhead[] = "{\"pad\":\"", jtail[] = "\"}";
    static const char xhead[] = XML_PAD_HEAD, xtail[] = XML_PAD_TAIL;
    const char *head = s->xml ? xhead : jhead, *tail = s->xml ? xtail : jtail;
    size_t hl = s->xml ? sizeof(xhead) - 1 : sizeof(jhead) - 1;
    size_t tl = s->xml ? sizeof(xtail) - 1 : sizeof(jtail) - 1;

    if (p < hl)
        return head[p];
    if (p >= s->len - tl)
        return tail[p - (s->len - tl)];
    return 'a';
}

static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *s = cls;
    size_t n = 0;

    if (s->body != NULL) {
        if (pos >= s->cut)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        n = s->cut - (size_t)pos < max ? s->cut - (size_t)pos : max;
        memcpy(buf, s->body + pos, n);
        return (ssize_t)n;
    }
    /* {"pad":"aaaa...."} (or a SOAP envelope) of exactly s->len bytes. */
    if (pos >= s->len)
        return MHD_CONTENT_READER_END_OF_STREAM;
    while (n < max && pos + n < s->len) {
        buf[n] = pad_byte(s, pos + n);
        n++;
    }
    return (ssize_t)n;
}

static void
stream_free(void *cls)
{
    struct stream *s = cls;

    if (s == NULL)
        return;
    lj_secret_free(s->body);
    free(s);
}

/* A billion-laughs document: an internal DTD with ten levels of entities. */
static char *
xml_bomb(void)
{
    struct sim_buf b = {0};

    sim_buf_adds(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                     "<!DOCTYPE s:Envelope [\n <!ENTITY lol0 \"lol\">\n");
    for (int i = 1; i <= 9; i++) {
        sim_buf_addf(&b, " <!ENTITY lol%d \"", i);
        for (int j = 0; j < 10; j++)
            sim_buf_addf(&b, "&lol%d;", i - 1);
        sim_buf_adds(&b, "\">\n");
    }
    sim_buf_adds(&b, "]>\n<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\">"
                     "<s:Body><DiscoverResponse xmlns=\"http://schemas.microsoft.com/windows/"
                     "management/2012/01/enrollment\"><DiscoverResult><AuthPolicy>&lol9;"
                     "</AuthPolicy></DiscoverResult></DiscoverResponse></s:Body></s:Envelope>");
    if (b.err) {
        sim_buf_free(&b, false);
        return NULL;
    }
    return sim_buf_take(&b, NULL);
}

/* A SOAP envelope whose body nests depth elements. */
static char *
xml_deep(long depth)
{
    struct sim_buf b = {0};

    b.max = (size_t)depth * 8 + 4096;
    sim_buf_adds(&b, "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>");
    for (long i = 0; i < depth; i++)
        sim_buf_add(&b, "<d>", 3);
    for (long i = 0; i < depth; i++)
        sim_buf_add(&b, "</d>", 4);
    sim_buf_adds(&b, "</s:Body></s:Envelope>");
    if (b.err) {
        sim_buf_free(&b, false);
        return NULL;
    }
    return sim_buf_take(&b, NULL);
}

static void
body_free(void *cls)
{
    lj_secret_free(cls);
}

static void
add_common_headers(struct sim_req *r, struct MHD_Response *resp, const char *ctype,
                   const char *const *hdrs)
{
    if (ctype != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, "request-id", r->request_id);
    MHD_add_response_header(resp, "x-ms-request-id", r->request_id);
    if (r->client_request_id[0] != '\0')
        MHD_add_response_header(resp, "client-request-id", r->client_request_id);
    if (!r->control && !r->mdm && !is_drs_path(r->path))
        MHD_add_response_header(resp, "x-ms-ests-server", "entra-sim");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store, no-cache");
    for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL && hdrs[i + 1] != NULL; i += 2)
        MHD_add_response_header(resp, hdrs[i], hdrs[i + 1]);
}

enum MHD_Result
srv_reply(struct sim_req *r, unsigned status, const char *ctype, char *body,
          const char *const *hdrs)
{
    struct MHD_Response *resp = NULL;
    struct stream *s = NULL;
    size_t len;
    enum MHD_Result ret;
    enum sim_fault_kind fk = r->has_fault ? r->fault.kind : SIM_FAULT_DELAY;

    if (body == NULL) {
        body = strdup("");
        if (body == NULL)
            return MHD_NO;
    }
    len = strlen(body);
    if (r->has_fault && fk == SIM_FAULT_MALFORMED) {
        /* Cut the real body in half: a syntactically broken document. */
        len = len / 2;
        body[len] = '\0';
    } else if (r->has_fault && fk == SIM_FAULT_CONTENT_TYPE) {
        ctype = "text/html; charset=utf-8";
    } else if (r->has_fault && (fk == SIM_FAULT_XML_BOMB || fk == SIM_FAULT_DEEP)) {
        lj_secret_free(body);
        body = fk == SIM_FAULT_XML_BOMB ? xml_bomb() : xml_deep(r->fault.depth);
        if (body == NULL)
            return MHD_NO;
        len = strlen(body);
        ctype = "application/soap+xml; charset=utf-8";
        status = 200;
    } else if (r->has_fault && fk == SIM_FAULT_HTML) {
        lj_secret_free(body);
        body = strdup("<!DOCTYPE html><html><head><title>Network login</title></head>"
                      "<body><h1>Sign in to the guest network</h1><form method=\"post\">"
                      "<input name=\"room\"></form></body></html>");
        if (body == NULL)
            return MHD_NO;
        len = strlen(body);
        ctype = "text/html; charset=utf-8";
        status = 200;
    }
    if (r->has_fault && (fk == SIM_FAULT_DROP || fk == SIM_FAULT_OVERSIZED)) {
        s = calloc(1, sizeof(*s));
        if (s == NULL) {
            lj_secret_free(body);
            return MHD_NO;
        }
        if (fk == SIM_FAULT_DROP) {
            s->body = body;
            s->len = len;
            s->cut = len / 2;
            body = NULL;
        } else {
            lj_secret_free(body);
            body = NULL;
            s->xml = r->mdm;
            s->len = r->fault.size < 64 ? 64 : r->fault.size;
            status = 200;
            ctype =
                r->mdm ? "application/soap+xml; charset=utf-8" : "application/json; charset=utf-8";
        }
        resp = MHD_create_response_from_callback(s->len, 16 * 1024, stream_read, s, stream_free);
        if (resp == NULL)
            stream_free(s);
    } else {
        resp = MHD_create_response_from_buffer_with_free_callback(len, body, body_free);
        if (resp == NULL)
            lj_secret_free(body);
    }
    if (resp == NULL)
        return MHD_NO;
    add_common_headers(r, resp, ctype, hdrs);
    ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->responded = true;
    log_request(r, status);
    return ret;
}

enum MHD_Result
srv_reply_json(struct sim_req *r, unsigned status, cJSON *o, const char *const *hdrs)
{
    char *txt = o != NULL ? cJSON_PrintUnformatted(o) : NULL;

    cJSON_Delete(o);
    if (txt == NULL)
        return MHD_NO;
    return srv_reply(r, status, "application/json; charset=utf-8", txt, hdrs);
}

enum MHD_Result
srv_drs_error(struct sim_req *r, unsigned status, const char *type, const char *const *hdrs,
              const char *fmt, ...)
{
    char msg[1024], t[40];
    va_list ap;
    cJSON *o = cJSON_CreateObject();

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (o == NULL)
        return MHD_NO;
    sim_time_drs(t, sizeof(t), time(NULL));
    cJSON_AddStringToObject(o, "ErrorType", type);
    cJSON_AddStringToObject(o, "Message", msg);
    cJSON_AddStringToObject(o, "TraceId", r->request_id);
    cJSON_AddStringToObject(o, "Time", t);
    return srv_reply_json(r, status, o, hdrs);
}

char *
srv_aadsts_text(struct sim_req *r, long code, const char *msg)
{
    struct sim_buf b = {0};
    char t[40];

    sim_time_entra(t, sizeof(t), time(NULL));
    sim_buf_addf(&b, "AADSTS%ld: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", code,
                 msg, r->request_id, r->correlation_id, t);
    if (b.err) {
        sim_buf_free(&b, false);
        return NULL;
    }
    return sim_buf_take(&b, NULL);
}

static enum MHD_Result
oauth_error_v(struct sim_req *r, unsigned status, const char *const *hdrs, const char *error,
              long code, const char *suberror, const char *fmt, va_list ap)
{
    char msg[1024], t[40], uri[96];
    cJSON *o = cJSON_CreateObject(), *codes;
    char *desc;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (o == NULL)
        return MHD_NO;
    desc = srv_aadsts_text(r, code, msg);
    sim_time_entra(t, sizeof(t), time(NULL));
    cJSON_AddStringToObject(o, "error", error);
    cJSON_AddStringToObject(o, "error_description", desc != NULL ? desc : msg);
    codes = cJSON_AddArrayToObject(o, "error_codes");
    if (codes != NULL)
        cJSON_AddItemToArray(codes, cJSON_CreateNumber((double)code));
    cJSON_AddStringToObject(o, "timestamp", t);
    cJSON_AddStringToObject(o, "trace_id", r->request_id);
    cJSON_AddStringToObject(o, "correlation_id", r->correlation_id);
    snprintf(uri, sizeof(uri), "https://login.microsoftonline.com/error?code=%ld", code);
    cJSON_AddStringToObject(o, "error_uri", uri);
    if (suberror != NULL)
        cJSON_AddStringToObject(o, "suberror", suberror);
    free(desc);
    return srv_reply_json(r, status, o, hdrs);
}

enum MHD_Result
srv_oauth_error(struct sim_req *r, unsigned status, const char *error, long code,
                const char *suberror, const char *fmt, ...)
{
    va_list ap;
    enum MHD_Result ret;

    va_start(ap, fmt);
    ret = oauth_error_v(r, status, NULL, error, code, suberror, fmt, ap);
    va_end(ap);
    return ret;
}

static enum MHD_Result oauth_error_h(struct sim_req *r, unsigned status, const char *const *hdrs,
                                     const char *error, long code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static enum MHD_Result
oauth_error_h(struct sim_req *r, unsigned status, const char *const *hdrs, const char *error,
              long code, const char *fmt, ...)
{
    va_list ap;
    enum MHD_Result ret;

    va_start(ap, fmt);
    ret = oauth_error_v(r, status, hdrs, error, code, NULL, fmt, ap);
    va_end(ap);
    return ret;
}

/* An error in the shape of the family the path belongs to. */
static enum MHD_Result
family_error(struct sim_req *r, unsigned status, const char *const *hdrs)
{
    if (r->control) {
        cJSON *o = cJSON_CreateObject();
        if (o == NULL)
            return MHD_NO;
        cJSON_AddStringToObject(o, "error", status == 413 ? "body too large" : "error");
        return srv_reply_json(r, status, o, hdrs);
    }
    if (r->mdm)
        return mdm_status_fault(r, status, hdrs);
    if (is_drs_path(r->path)) {
        switch (status) {
        case 413:
            return srv_drs_error(r, status, "InvalidParameter", hdrs,
                                 "The request body is too large.");
        case 429:
            return srv_drs_error(r, status, "DirectoryError", hdrs,
                                 "Your request is throttled temporarily. Please try after "
                                 "%ld seconds.",
                                 r->fault.retry_after >= 0 ? r->fault.retry_after : 300L);
        case 503:
            return srv_drs_error(r, status, "DirectoryError", hdrs,
                                 "The service is busy. Please try again later.");
        default:
            return srv_drs_error(r, status, "UnknownError", hdrs,
                                 "An unexpected error occurred on the server.");
        }
    }
    switch (status) {
    case 413:
        return oauth_error_h(r, status, hdrs, "invalid_request", 90023,
                             "The request body is too large.");
    case 429:
        return oauth_error_h(r, status, hdrs, "temporarily_unavailable", 50196,
                             "The server terminated an operation because it encountered a "
                             "client request loop. Please try again later.");
    case 500:
        return oauth_error_h(r, status, hdrs, "server_error", 90033,
                             "A transient error has occurred. Please try again.");
    default:
        return oauth_error_h(r, status, hdrs, "temporarily_unavailable", 90033,
                             "A transient error has occurred. Please try again.");
    }
}

const char *
srv_query(struct sim_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *
srv_header(struct sim_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

cJSON *
srv_body_json(struct sim_req *r)
{
    int depth = 0;
    bool in_str = false, esc = false;

    if (r->body.len == 0 || r->body.err)
        return NULL;
    for (size_t i = 0; i < r->body.len; i++) {
        unsigned char c = r->body.p[i];
        if (c == 0)
            return NULL;
        if (in_str) {
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"')
            in_str = true;
        else if (c == '{' || c == '[') {
            if (++depth > JSON_DEPTH_MAX)
                return NULL;
        } else if (c == '}' || c == ']')
            depth--;
    }
    /* len + 1: cJSON checks the terminating NUL inside the given length. */
    return cJSON_ParseWithLengthOpts((const char *)r->body.p, r->body.len + 1, NULL, 1);
}

bool
srv_client_cert(struct sim_req *r, unsigned char **der, size_t *len, bool *trusted)
{
    const union MHD_ConnectionInfo *ci;
    gnutls_session_t s;
    const gnutls_datum_t *list;
    unsigned int n = 0, status = 0;
    unsigned char *copy;

    ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci == NULL || ci->tls_session == NULL)
        return false;
    s = (gnutls_session_t)ci->tls_session;
    list = gnutls_certificate_get_peers(s, &n);
    if (list == NULL || n == 0 || list[0].size == 0 || list[0].size > 16384)
        return false;
    copy = malloc(list[0].size);
    if (copy == NULL)
        return false;
    memcpy(copy, list[0].data, list[0].size);
    *trusted = gnutls_certificate_verify_peers2(s, &status) == 0 && status == 0;
    *der = copy;
    *len = list[0].size;
    return true;
}

/* ---- dispatch ---- */

static size_t
body_limit(const struct sim_req *r)
{
    if (r->control)
        return BODY_MAX_CONTROL;
    if (r->mdm)
        return BODY_MAX_MDM;
    if (is_drs_path(r->path))
        return BODY_MAX_DRS;
    return BODY_MAX_LOGIN;
}

/* MHD header iterator: count User-Agent lines, keep the first (printable). */
static enum MHD_Result
user_agent_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct sim_req *r = cls;

    (void)kind;
    if (key == NULL || strcasecmp(key, "User-Agent") != 0)
        return MHD_YES;
    if (r->user_agents++ == 0 && value != NULL) {
        snprintf(r->user_agent, sizeof(r->user_agent), "%s", value);
        for (char *p = r->user_agent; *p != '\0'; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                *p = '?';
    }
    return MHD_YES;
}

/* Replace what is not printable ASCII in s with '?'. */
static void
make_printable(char *s)
{
    for (char *p = s; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
}

/* Copy src into dst (dsz), printable ASCII only, cut to fit. */
static void
copy_printable(char *dst, size_t dsz, const char *src)
{
    snprintf(dst, dsz, "%s", src != NULL ? src : "");
    make_printable(dst);
}

/* MHD query iterator: append "k=v" to r->query, '&' between, cut to fit. */
static enum MHD_Result
query_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct sim_req *r = cls;
    size_t used = strlen(r->query);

    (void)kind;
    if (key == NULL)
        return MHD_YES;
    snprintf(r->query + used, sizeof(r->query) - used, "%s%s%s%s", used > 0 ? "&" : "", key,
             value != NULL ? "=" : "", value != NULL ? value : "");
    make_printable(r->query);
    return MHD_YES;
}

/* The request's headers and query as the request log keeps them. */
static void
req_log_fields(struct sim_req *r, struct MHD_Connection *c)
{
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    size_t n = 0;

    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_cb, r);
    copy_printable(r->accept, sizeof(r->accept),
                   MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept"));
    copy_printable(r->adrs_name, sizeof(r->adrs_name),
                   MHD_lookup_connection_value(c, MHD_HEADER_KIND, "ocp-adrs-client-name"));
    copy_printable(r->adrs_version, sizeof(r->adrs_version),
                   MHD_lookup_connection_value(c, MHD_HEADER_KIND, "ocp-adrs-client-version"));
    /* The scheme only: the credential stays out of the log. */
    while (a != NULL && a[n] != '\0' && a[n] != ' ' && n + 1 < sizeof(r->auth_scheme))
        n++;
    if (a != NULL)
        memcpy(r->auth_scheme, a, n);
    r->auth_scheme[n] = '\0';
    make_printable(r->auth_scheme);
}

static struct sim_req *
req_new(struct MHD_Connection *c, const char *url, const char *method, bool control)
{
    struct sim_req *r = calloc(1, sizeof(*r));
    const char *h, *crid;
    unsigned char g[16];

    if (r == NULL)
        return NULL;
    r->conn = c;
    r->method = method;
    r->control = control;
    r->start_ms = sim_now_ms();
    snprintf(r->path, sizeof(r->path), "%s", url != NULL ? url : "/");
    h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    snprintf(r->host, sizeof(r->host), "%s", h != NULL ? h : "");
    {
        /* Drop ":port" (IPv6 literals keep their brackets). */
        char *colon = strrchr(r->host, ':');
        if (colon != NULL && strchr(colon, ']') == NULL)
            *colon = '\0';
        for (char *p = r->host; *p != '\0'; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    }
    sim_guid_new(r->request_id);
    crid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "client-request-id");
    if (crid != NULL && strlen(crid) < sizeof(r->client_request_id)) {
        bool printable = true;
        for (const char *p = crid; *p != '\0'; p++)
            printable = printable && (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f;
        if (printable)
            memcpy(r->client_request_id, crid, strlen(crid) + 1);
    }
    if (r->client_request_id[0] != '\0' && sim_guid_parse(r->client_request_id, g))
        snprintf(r->correlation_id, sizeof(r->correlation_id), "%.36s", r->client_request_id);
    else
        sim_guid_new(r->correlation_id);
    MHD_get_connection_values(c, MHD_HEADER_KIND, user_agent_cb, r);
    req_log_fields(r, c);
    r->mdm = !control &&
             (strcmp(r->host, "enrollment.manage.microsoft.com") == 0 || mdm_is_path(r->path));
    r->body.max = body_limit(r);
    return r;
}

static enum MHD_Result
not_found(struct sim_req *r)
{
    if (!r->control && !r->mdm && is_drs_path(r->path))
        return srv_drs_error(r, 404, "InvalidParameter", NULL,
                             "The requested resource was not found.");
    return srv_reply(r, 404, "text/plain; charset=utf-8", strdup("Not Found\n"), NULL);
}

static enum MHD_Result
dispatch(struct sim_req *r)
{
    enum MHD_Result res = MHD_NO;
    bool login_host, drs_host, mdm_host, any_host;

    if (r->control)
        return control_handle(r);
    if (r->user_agents > 1) {
        /* RFC 9110 5.3: a sender must not repeat a field that is not
         * list-valued, and User-Agent is one value (10.1.5).  A strict front
         * end may refuse such a request before any service sees it; the
         * simulator does, so a client is held to one User-Agent. */
        lj_log(LJ_LOG_INFO, MOD, "event=refused reason=repeated_user_agent count=%u",
               r->user_agents);
        return srv_reply(r, 400, "text/plain; charset=utf-8",
                         strdup("Bad Request: repeated User-Agent header\n"), NULL);
    }
    if (fault_match(r)) {
        switch (r->fault.kind) {
        case SIM_FAULT_DELAY: sim_sleep_ms(r->fault.delay_ms, &g_sim.stopping); break;
        case SIM_FAULT_STATUS: {
            char ra[24];
            const char *hdrs[] = {"Retry-After", ra, NULL};
            snprintf(ra, sizeof(ra), "%ld", r->fault.retry_after);
            if (r->fault.has_body)
                return srv_reply(r, r->fault.status,
                                 r->fault.body[0] == '{' ? "application/json; charset=utf-8"
                                                         : "text/plain; charset=utf-8",
                                 strdup(r->fault.body), r->fault.retry_after >= 0 ? hdrs : NULL);
            return family_error(r, r->fault.status, r->fault.retry_after >= 0 ? hdrs : NULL);
        }
        case SIM_FAULT_CLOSE: log_request(r, 0); return MHD_NO;
        default: break;
        }
    }
    login_host = strcmp(r->host, "login.microsoftonline.com") == 0;
    drs_host = strcmp(r->host, "enterpriseregistration.windows.net") == 0;
    mdm_host = strcmp(r->host, "enrollment.manage.microsoft.com") == 0;
    any_host = !login_host && !drs_host && !mdm_host;
    if ((login_host || any_host) && oauth_route(r, &res))
        return res;
    if ((drs_host || any_host) && drs_route(r, &res))
        return res;
    if ((mdm_host || any_host) && mdm_route(r, &res))
        return res;
    return not_found(r);
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
               const char *version, const char *upload_data, size_t *upload_data_size,
               void **con_cls)
{
    struct sim_req *r = *con_cls;

    (void)version;
    if (r == NULL) {
        const char *cl;
        r = req_new(c, url, method, cls == &ctl_marker);
        if (r == NULL)
            return MHD_NO;
        *con_cls = r;
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL) {
            char *end;
            unsigned long long v;
            errno = 0;
            v = strtoull(cl, &end, 10);
            if (errno != 0 || end == cl || *end != '\0' || v > r->body.max) {
                r->too_big = true;
                return family_error(r, 413, NULL);
            }
        }
        return MHD_YES;
    }
    if (r->responded) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!r->too_big) {
            sim_buf_add(&r->body, upload_data, *upload_data_size);
            if (r->body.err) {
                r->too_big = true;
                sim_buf_free(&r->body, true);
            }
        } else {
            r->discarded += *upload_data_size;
            if (r->discarded > DISCARD_MAX)
                return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->too_big)
        return family_error(r, 413, NULL);
    return dispatch(r);
}

static void
request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                  enum MHD_RequestTerminationCode toe)
{
    struct sim_req *r = *con_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (r == NULL)
        return;
    sim_buf_free(&r->body, true);
    free(r);
    *con_cls = NULL;
}

static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    lj_log(LJ_LOG_DEBUG, "mhd", "event=mhd msg=\"%s\"", msg);
}

/* Parse "ADDR:PORT" / "[ADDR]:PORT" and return a listening socket. */
static int
listen_on(const char *spec, bool loopback_only, int *port_out)
{
    char host[128];
    const char *colon = strrchr(spec, ':');
    const char *port;
    struct addrinfo hints, *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd = -1, one = 1;
    size_t hl;

    if (colon == NULL)
        goto bad;
    port = colon + 1;
    hl = (size_t)(colon - spec);
    if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
        spec++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof(host))
        goto bad;
    memcpy(host, spec, hl);
    host[hl] = '\0';
    memset(&hints, 0, sizeof(hints));
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL)
        goto bad;
    if (loopback_only) {
        bool lo = false;
        if (ai->ai_family == AF_INET)
            lo = (ntohl(((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr) >> 24) == 127;
        else if (ai->ai_family == AF_INET6)
            lo = IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr);
        if (!lo) {
            lj_err_set(LJ_ERR_CONFIG, MOD, "event=control_not_loopback addr=%s", host);
            freeaddrinfo(ai);
            return -1;
        }
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto sys;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 512) != 0)
        goto sys;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        goto sys;
    *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    freeaddrinfo(ai);
    return fd;
sys:
    lj_err_set(LJ_ERR_IO, MOD, "event=listen_failed addr=%s errno=%s", spec, strerror(errno));
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return -1;
bad:
    if (ai != NULL)
        freeaddrinfo(ai);
    lj_err_set(LJ_ERR_CONFIG, MOD, "event=bad_listen_address addr=%s (want ADDR:PORT)", spec);
    return -1;
}

/* GnuTLS priority strings for srv_set_tls_sigalgs.  A TLS 1.2 client picks
   its CertificateVerify algorithm from the CertificateRequest list; the
   agent's wolfSSL build picks RSA-PSS whenever it is on it, which only a
   device key of the current template can make (agent/net/tls_tpmkey_wolfssl.c). */
#define SIGALGS_TLS12 "NORMAL:-VERS-TLS1.3"
#define SIGALGS_NO_PSS                                                                             \
    "NORMAL:-VERS-TLS1.3:-SIGN-ALL:+SIGN-RSA-SHA256:+SIGN-RSA-SHA384:+SIGN-RSA-SHA512:"            \
    "+SIGN-ECDSA-SECP256R1-SHA256:+SIGN-ECDSA-SECP384R1-SHA384:+SIGN-ECDSA-SECP521R1-SHA512"
/* One signature algorithm each: the TPM signs SHA-384 too (test_wolfssl). */
#define SIGALGS_PKCS1_SHA384 "NORMAL:-VERS-TLS1.3:-SIGN-ALL:+SIGN-RSA-SHA384"
#define SIGALGS_PSS_SHA384 "NORMAL:-VERS-TLS1.3:-SIGN-ALL:+SIGN-RSA-PSS-RSAE-SHA384"
#define SIGALGS_PSS_SHA512 "NORMAL:-VERS-TLS1.3:-SIGN-ALL:+SIGN-RSA-PSS-RSAE-SHA512"
/* rsa_pkcs1_sha1 only, which the agent refuses to sign (SHA-1). */
#define SIGALGS_PKCS1_SHA1                                                                         \
    "NORMAL:-VERS-TLS1.3:-SIGN-ALL:+SIGN-RSA-SHA1:%VERIFY_ALLOW_SIGN_WITH_SHA1"
static const char *tls_priorities; /* NULL: libmicrohttpd's default */

bool
srv_set_tls_sigalgs(const char *name)
{
    if (strcmp(name, "default") == 0)
        tls_priorities = NULL;
    else if (strcmp(name, "tls12") == 0)
        tls_priorities = SIGALGS_TLS12;
    else if (strcmp(name, "no-pss") == 0)
        tls_priorities = SIGALGS_NO_PSS;
    else if (strcmp(name, "pkcs1-sha384") == 0)
        tls_priorities = SIGALGS_PKCS1_SHA384;
    else if (strcmp(name, "pss-sha384") == 0)
        tls_priorities = SIGALGS_PSS_SHA384;
    else if (strcmp(name, "pss-sha512") == 0)
        tls_priorities = SIGALGS_PSS_SHA512;
    else if (strcmp(name, "pkcs1-sha1") == 0)
        tls_priorities = SIGALGS_PKCS1_SHA1;
    else
        return false;
    return true;
}

enum lj_rc
srv_start(const char *listen, const char *control, const char *key_pem, const char *cert_pem,
          const char *trust_pem, int *port, int *ctl_port)
{
    int pfd, cfd;
    const unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                               MHD_USE_POLL | MHD_USE_ERROR_LOG;

    struct MHD_OptionItem prio[] = {
        {tls_priorities != NULL ? MHD_OPTION_HTTPS_PRIORITIES : MHD_OPTION_END, 0,
         (void *)tls_priorities},
        {MHD_OPTION_END, 0, NULL},
    };

    pfd = listen_on(listen, false, port);
    if (pfd < 0)
        return lj_err_code();
    cfd = listen_on(control, true, ctl_port);
    if (cfd < 0) {
        close(pfd);
        return lj_err_code();
    }
    pub_daemon = MHD_start_daemon(
        flags | MHD_USE_TLS, 0, NULL, NULL, access_handler, &pub_marker, MHD_OPTION_LISTEN_SOCKET,
        pfd, MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_HTTPS_MEM_CERT, cert_pem,
        MHD_OPTION_HTTPS_MEM_TRUST, trust_pem, MHD_OPTION_ARRAY, prio, MHD_OPTION_NOTIFY_COMPLETED,
        request_completed, NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1000,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(128 * 1024), MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, MHD_OPTION_END);
    if (pub_daemon == NULL) {
        close(pfd);
        close(cfd);
        return lj_err_set(LJ_ERR_TLS, MOD, "event=https_start_failed");
    }
    ctl_daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, access_handler, &ctl_marker, MHD_OPTION_LISTEN_SOCKET, cfd,
        MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)200, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, MHD_OPTION_END);
    if (ctl_daemon == NULL) {
        MHD_stop_daemon(pub_daemon);
        pub_daemon = NULL;
        close(pfd);
        close(cfd);
        return lj_err_set(LJ_ERR_IO, MOD, "event=control_start_failed");
    }
    return LJ_OK;
}

void
srv_stop(void)
{
    if (pub_daemon != NULL) {
        int fd = (int)MHD_quiesce_daemon(pub_daemon);
        MHD_stop_daemon(pub_daemon);
        if (fd >= 0)
            close(fd);
    }
    if (ctl_daemon != NULL) {
        int fd = (int)MHD_quiesce_daemon(ctl_daemon);
        MHD_stop_daemon(ctl_daemon);
        if (fd >= 0)
            close(fd);
    }
    pub_daemon = NULL;
    ctl_daemon = NULL;
}
