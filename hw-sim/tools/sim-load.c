/*
 * sim-load — a bounded loopback load driver for entra-sim's DRS join.
 *
 * Runs --conns threads, each with one libcurl handle (so one keep-alive
 * TLS connection), posting the same pre-made join body with the same
 * bearer token until --count joins were answered or --seconds passed.
 * Every answer must be HTTP 200 with a certificate; anything else counts
 * as an error.  Prints one JSON line: joins, errors, seconds, joins_per_s.
 *
 * The names login.microsoftonline.com / enterpriseregistration.windows.net
 * are mapped to 127.0.0.1:PORT with CURLOPT_CONNECT_TO and --ca is the
 * only trusted CA, as the agent will do.  Never talks to anything but
 * loopback.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "platform/common/fsutil.h"

#define MAX_CONNS 64
#define BODY_MAX (64 * 1024)

static const char *g_ca;
static char g_connect_to[128];
static char *g_body;
static size_t g_body_len;
static char g_auth[16 * 1024];
static long g_count = 2000;
static double g_seconds = 30;
static atomic_long g_started, g_done, g_errors;
static struct timespec g_t0;

static double
elapsed(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - g_t0.tv_sec) + (double)(t.tv_nsec - g_t0.tv_nsec) / 1e9;
}

struct sink {
    char buf[8192];
    size_t len;
};

static size_t
on_data(char *p, size_t size, size_t n, void *ud)
{
    struct sink *s = ud;
    size_t len = size * n;
    size_t room = sizeof(s->buf) - 1 - s->len;

    memcpy(s->buf + s->len, p, len < room ? len : room);
    s->len += len < room ? len : room;
    s->buf[s->len] = '\0';
    return len;
}

static void *
worker(void *arg)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = NULL, *conn = NULL;
    struct sink s;

    (void)arg;
    if (c == NULL)
        return NULL;
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, g_auth);
    conn = curl_slist_append(conn, g_connect_to);
    curl_easy_setopt(c, CURLOPT_URL,
                     "https://enterpriseregistration.windows.net/EnrollmentServer/device/"
                     "?api-version=2.0");
    curl_easy_setopt(c, CURLOPT_CONNECT_TO, conn);
    curl_easy_setopt(c, CURLOPT_CAINFO, g_ca);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, g_body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)g_body_len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    while (atomic_fetch_add(&g_started, 1) < g_count && elapsed() < g_seconds) {
        long code = 0;
        s.len = 0;
        s.buf[0] = '\0';
        if (curl_easy_perform(c) != CURLE_OK ||
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200 ||
            strstr(s.buf, "\"RawBody\"") == NULL) {
            if (atomic_fetch_add(&g_errors, 1) == 0)
                fprintf(stderr, "sim-load: first error: HTTP %ld %.300s\n", code, s.buf);
        } else {
            atomic_fetch_add(&g_done, 1);
        }
    }
    curl_slist_free_all(hdrs);
    curl_slist_free_all(conn);
    curl_easy_cleanup(c);
    return NULL;
}

static void
usage(void)
{
    fprintf(stderr, "usage: sim-load --port P --ca CA --body FILE --token FILE [--conns N]\n"
                    "                [--count N] [--seconds S]\n");
}

int
main(int argc, char **argv)
{
    const char *body_path = NULL, *token_path = NULL;
    long port = 0, conns = 8;
    unsigned char *tok = NULL;
    size_t tok_len = 0;
    pthread_t th[MAX_CONNS];
    double secs;

    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (strcmp(a, "--port") == 0)
            port = strtol(v, NULL, 10);
        else if (strcmp(a, "--ca") == 0)
            g_ca = v;
        else if (strcmp(a, "--body") == 0)
            body_path = v;
        else if (strcmp(a, "--token") == 0)
            token_path = v;
        else if (strcmp(a, "--conns") == 0)
            conns = strtol(v, NULL, 10);
        else if (strcmp(a, "--count") == 0)
            g_count = strtol(v, NULL, 10);
        else if (strcmp(a, "--seconds") == 0)
            g_seconds = strtod(v, NULL);
        else {
            usage();
            return 2;
        }
    }
    if (port <= 0 || port > 65535 || g_ca == NULL || body_path == NULL || token_path == NULL ||
        conns < 1 || conns > MAX_CONNS || g_count < 1 || g_count > 10000000 || g_seconds <= 0 ||
        g_seconds > 3600) {
        usage();
        return 2;
    }
    if (lj_fs_read(body_path, BODY_MAX, (unsigned char **)&g_body, &g_body_len) != LJ_OK ||
        lj_fs_read(token_path, sizeof(g_auth) - 32, &tok, &tok_len) != LJ_OK) {
        fprintf(stderr, "sim-load: cannot read --body or --token\n");
        return 1;
    }
    while (tok_len > 0 && (tok[tok_len - 1] == '\n' || tok[tok_len - 1] == '\r'))
        tok[--tok_len] = '\0';
    snprintf(g_auth, sizeof(g_auth), "Authorization: Bearer %s", (char *)tok);
    free(tok);
    snprintf(g_connect_to, sizeof(g_connect_to),
             "enterpriseregistration.windows.net:443:127.0.0.1:%ld", port);
    curl_global_init(CURL_GLOBAL_ALL);
    clock_gettime(CLOCK_MONOTONIC, &g_t0);
    for (long i = 0; i < conns; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    for (long i = 0; i < conns; i++)
        pthread_join(th[i], NULL);
    secs = elapsed();
    printf("{\"joins\":%ld,\"errors\":%ld,\"conns\":%ld,\"seconds\":%.3f,\"joins_per_s\":%.1f}\n",
           atomic_load(&g_done), atomic_load(&g_errors), conns, secs,
           secs > 0 ? (double)atomic_load(&g_done) / secs : 0.0);
    free(g_body);
    curl_global_cleanup();
    return atomic_load(&g_errors) == 0 ? 0 : 1;
}
