/*
 * util.c — see util.h.  Buffers cap every append; random values come from
 * getrandom(2) only.
 */
#include "hw-sim/entra-sim/util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "platform/common/secmem.h"

#define BUF_DEFAULT_MAX (16u * 1024u * 1024u)

void
sim_buf_add(struct sim_buf *b, const void *data, size_t n)
{
    size_t max = b->max != 0 ? b->max : BUF_DEFAULT_MAX;
    size_t need;
    unsigned char *np;

    if (b->err)
        return;
    if (n > max || b->len > max - n) {
        b->err = true;
        return;
    }
    need = b->len + n + 1;
    if (need > b->cap) {
        size_t cap = b->cap != 0 ? b->cap : 256;
        while (cap < need)
            cap *= 2;
        np = realloc(b->p, cap);
        if (np == NULL) {
            b->err = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void
sim_buf_adds(struct sim_buf *b, const char *s)
{
    sim_buf_add(b, s, strlen(s));
}

void
sim_buf_addf(struct sim_buf *b, const char *fmt, ...)
{
    char small[512];
    char *big = NULL;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->err = true;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        sim_buf_add(b, small, (size_t)n);
        return;
    }
    big = malloc((size_t)n + 1);
    if (big == NULL) {
        b->err = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sim_buf_add(b, big, (size_t)n);
    free(big);
}

void
sim_buf_free(struct sim_buf *b, bool wipe)
{
    if (b->p != NULL && wipe)
        lj_secure_zero(b->p, b->cap);
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = false;
}

char *
sim_buf_take(struct sim_buf *b, size_t *len)
{
    char *p = (char *)b->p;

    if (p == NULL)
        p = calloc(1, 1);
    if (len != NULL)
        *len = b->len;
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

void
sim_random(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r <= 0) {
            /* No entropy means no keys, tokens or ids: stop hard. */
            abort();
        }
        p += r;
        n -= (size_t)r;
    }
}

static void
guid_format(const unsigned char b[16], char out[37])
{
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;

    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hx[b[i] >> 4];
        out[o++] = hx[b[i] & 15];
    }
    out[o] = '\0';
}

void
sim_guid_new(char out[37])
{
    unsigned char b[16];

    sim_random(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    guid_format(b, out);
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool
sim_guid_parse(const char *s, unsigned char out[16])
{
    unsigned char b[16];
    size_t o = 0;

    if (s == NULL || strlen(s) != 36)
        return false;
    for (size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
            i++;
            continue;
        }
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        b[o++] = (unsigned char)(hi << 4 | lo);
        i += 2;
    }
    memcpy(out, b, 16);
    return true;
}

void
sim_guid_windows_bytes(const unsigned char in[16], unsigned char out[16])
{
    out[0] = in[3];
    out[1] = in[2];
    out[2] = in[1];
    out[3] = in[0];
    out[4] = in[5];
    out[5] = in[4];
    out[6] = in[7];
    out[7] = in[6];
    memcpy(out + 8, in + 8, 8);
}

void
sim_guid_from_name(const char *name, char out[37])
{
    unsigned char h[WC_SHA256_DIGEST_SIZE];

    wc_Sha256Hash((const unsigned char *)name, (unsigned int)strlen(name), h);
    h[6] = (unsigned char)((h[6] & 0x0f) | 0x50);
    h[8] = (unsigned char)((h[8] & 0x3f) | 0x80);
    guid_format(h, out);
}

void
sim_guid_sid(const char *guid, char *out, size_t outsz)
{
    unsigned char g[16], w[16];
    uint32_t v[4];

    if (!sim_guid_parse(guid, g)) {
        snprintf(out, outsz, "S-1-12-1-0-0-0-0");
        return;
    }
    sim_guid_windows_bytes(g, w);
    for (int i = 0; i < 4; i++)
        v[i] = (uint32_t)w[4 * i] | (uint32_t)w[4 * i + 1] << 8 | (uint32_t)w[4 * i + 2] << 16 |
               (uint32_t)w[4 * i + 3] << 24;
    snprintf(out, outsz, "S-1-12-1-%u-%u-%u-%u", v[0], v[1], v[2], v[3]);
}

void
sim_time_entra(char *buf, size_t n, time_t t)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    if (strftime(buf, n, "%Y-%m-%d %H:%M:%SZ", &tm) == 0 && n > 0)
        buf[0] = '\0';
}

void
sim_time_drs(char *buf, size_t n, time_t t)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(buf, n, "%02d-%02d-%04d %d:%02d:%02dZ", tm.tm_mon + 1, tm.tm_mday, tm.tm_year + 1900,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void
sim_hex_upper(const unsigned char *in, size_t n, char *out)
{
    static const char hx[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * n] = '\0';
}

bool
sim_dotted_quad(const char *s)
{
    for (int part = 0; part < 4; part++) {
        char *end = NULL;
        unsigned long v;

        if (s == NULL || *s < '0' || *s > '9')
            return false;
        v = strtoul(s, &end, 10);
        if (v > 65535 || end - s > 5)
            return false;
        s = end;
        if (part < 3 && *s++ != '.')
            return false;
    }
    return *s == '\0';
}

bool
sim_streq_ci(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return false;
    return strcasecmp(a, b) == 0;
}

/* Percent-decode [s, s+len) into a new string; NULL on a bad escape. */
static char *
url_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            int hi, lo;
            if (i + 2 >= len) {
                lj_secure_zero(out, len + 1);
                free(out);
                return NULL;
            }
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                lj_secure_zero(out, len + 1);
                free(out);
                return NULL;
            }
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

bool
sim_form_parse(const char *s, size_t len, struct sim_form *f)
{
    size_t i = 0;

    memset(f, 0, sizeof(*f));
    while (i < len) {
        size_t end = i, eq;
        while (end < len && s[end] != '&')
            end++;
        if (end > i) {
            if (f->n >= SIM_FORM_MAX || end - i > 8192)
                goto bad;
            eq = i;
            while (eq < end && s[eq] != '=')
                eq++;
            /* A '%' escape needs two characters after it inside the pair. */
            for (size_t j = i; j < end; j++)
                if (s[j] == '%' && j + 2 >= end)
                    goto bad;
            f->key[f->n] = url_decode(s + i, eq - i);
            f->val[f->n] = url_decode(s + (eq < end ? eq + 1 : end), eq < end ? end - eq - 1 : 0);
            f->n++;
            if (f->key[f->n - 1] == NULL || f->val[f->n - 1] == NULL)
                goto bad;
        }
        i = end + 1;
    }
    return true;
bad:
    sim_form_free(f);
    return false;
}

const char *
sim_form_get(const struct sim_form *f, const char *key)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->key[i] != NULL && strcmp(f->key[i], key) == 0)
            return f->val[i];
    return NULL;
}

void
sim_form_free(struct sim_form *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->key[i]);
        lj_secret_free(f->val[i]);
    }
    memset(f, 0, sizeof(*f));
}

void
sim_html_escape(struct sim_buf *b, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        switch (*s) {
        case '&': sim_buf_adds(b, "&amp;"); break;
        case '<': sim_buf_adds(b, "&lt;"); break;
        case '>': sim_buf_adds(b, "&gt;"); break;
        case '"': sim_buf_adds(b, "&quot;"); break;
        case '\'': sim_buf_adds(b, "&#39;"); break;
        default: sim_buf_add(b, s, 1); break;
        }
    }
}

void
sim_url_encode(struct sim_buf *b, const char *s)
{
    static const char hx[] = "0123456789ABCDEF";

    for (; s != NULL && *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            sim_buf_add(b, &c, 1);
        } else {
            char e[3] = {'%', hx[c >> 4], hx[c & 15]};
            sim_buf_add(b, e, 3);
        }
    }
}

long long
sim_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
sim_sleep_ms(long ms, const volatile int *stop)
{
    while (ms > 0 && (stop == NULL || !*stop)) {
        long slice = ms > 50 ? 50 : ms;
        struct timespec ts = {0, slice * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
}
