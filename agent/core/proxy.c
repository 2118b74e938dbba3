/*
 * proxy.c — proxy URL and no_proxy checks, no_proxy matching and the
 * proxy credentials file (see proxy.h).
 */
#include "agent/core/proxy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "platform/common/fsutil.h"
#include "platform/common/secmem.h"

/* A host name, an IPv4 address or a bracketed IPv6 address of n bytes. */
static bool
host_ok(const char *h, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    if (h[0] == '[') {
        if (n < 4 || h[n - 1] != ']')
            return false;
        for (size_t i = 1; i + 1 < n; i++)
            if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
                return false;
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!isalnum(c) && c != '-' && c != '.' && c != '_')
            return false;
    }
    return h[0] != '.' && h[0] != '-';
}

static bool
port_ok(const char *p, size_t n)
{
    long v = 0;

    if (n == 0 || n > 5)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return false;
        v = v * 10 + (p[i] - '0');
    }
    return v >= 1 && v <= 65535;
}

const char *
lj_proxy_url_check(const char *v)
{
    const char *host, *end, *colon;
    size_t n;

    if (v == NULL || v[0] == '\0')
        return "must be none, env or http://HOST:PORT";
    if (strlen(v) >= LJ_PROXY_URL_MAX)
        return "is too long";
    if (strncasecmp(v, "https://", 8) == 0)
        return "must be an http:// proxy (HTTPS to Microsoft still goes through it in a CONNECT "
               "tunnel, end to end)";
    if (strncasecmp(v, "http://", 7) != 0)
        return "must be none, env or http://HOST:PORT";
    host = v + 7;
    if (strchr(host, '@') != NULL)
        return "must not hold a user name or password (put them in proxy_credentials_file)";
    n = strlen(host);
    if (n > 0 && host[n - 1] == '/')
        n--;
    end = host + n;
    if (memchr(host, '/', n) != NULL || strpbrk(host, " \t?#\\") != NULL)
        return "must be http://HOST:PORT, without a path, query or spaces";
    if (host[0] == '[') {
        const char *rb = memchr(host, ']', n);
        colon = rb != NULL && rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = memchr(host, ':', n);
    }
    if (colon == NULL)
        return "must name the port (http://HOST:PORT)";
    if (!host_ok(host, (size_t)(colon - host)))
        return "has no valid host name";
    if (!port_ok(colon + 1, (size_t)(end - colon - 1)))
        return "has a bad port";
    return NULL;
}

/* The next entry of a no_proxy list: *s advanced past it and its comma. */
static bool
next_entry(const char **s, const char **e, size_t *n)
{
    const char *p = *s, *q;

    while (*p == ' ' || *p == ',')
        p++;
    if (*p == '\0')
        return false;
    q = p;
    while (*q != '\0' && *q != ',')
        q++;
    *s = q;
    while (q > p && q[-1] == ' ')
        q--;
    *e = p;
    *n = (size_t)(q - p);
    return true;
}

const char *
lj_no_proxy_check(const char *v)
{
    const char *e;
    size_t n;

    if (v == NULL || v[0] == '\0')
        return NULL;
    if (strlen(v) >= LJ_NO_PROXY_MAX)
        return "is too long";
    if (strcmp(v, "*") == 0)
        return NULL;
    while (next_entry(&v, &e, &n)) {
        bool ok = true;

        if (e[0] == '.') { /* a domain written with its leading dot */
            e++;
            n--;
        }
        if (n == 0)
            return "has an empty entry";
        for (size_t i = 0; i < n && ok; i++) /* names, IPv4, IPv6 (bare or bracketed) */
            ok = isalnum((unsigned char)e[i]) || strchr("-._:[]", e[i]) != NULL;
        if (!ok || e[0] == '-')
            return "must be * or host names, domains and addresses separated by commas";
    }
    return NULL;
}

bool
lj_no_proxy_match(const char *list, const char *host)
{
    const char *e;
    size_t n, hn;

    if (list == NULL || list[0] == '\0' || host == NULL || host[0] == '\0')
        return false;
    if (strcmp(list, "*") == 0)
        return true;
    hn = strlen(host);
    if (host[0] == '[' && hn > 2 && host[hn - 1] == ']') { /* compare IPv6 bare */
        host++;
        hn -= 2;
    }
    while (next_entry(&list, &e, &n)) {
        if (e[0] == '.') {
            e++;
            n--;
        }
        if (n > 2 && e[0] == '[' && e[n - 1] == ']') {
            e++;
            n -= 2;
        }
        if (n == 0 || n > hn)
            continue;
        if (strncasecmp(host + hn - n, e, n) == 0 && (hn == n || host[hn - n - 1] == '.'))
            return true;
    }
    return false;
}

enum lj_rc
lj_proxy_credentials_read(const char *path, char **user, char **password, char *why, size_t wsz)
{
    unsigned char *buf = NULL;
    size_t len = 0, ul;
    struct stat st;
    char *colon, *u = NULL, *p = NULL;
    enum lj_rc rc = LJ_ERR_CONFIG;

#define WHY(s)                                                                                     \
    do {                                                                                           \
        if (why != NULL && wsz > 0)                                                                \
            snprintf(why, wsz, "%s", s);                                                           \
    } while (0)
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        WHY("cannot be read");
        return LJ_ERR_CONFIG;
    }
    if ((st.st_mode & 044) != 0) {
        WHY("is readable by other users (make it mode 0600 or 0400)");
        return LJ_ERR_CONFIG;
    }
    if (lj_fs_read(path, LJ_PROXY_CRED_MAX, &buf, &len) != LJ_OK) {
        WHY("cannot be read (or is over 512 bytes)");
        return LJ_ERR_CONFIG;
    }
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\0') {
            lj_secure_zero(buf + i, len - i);
            len = i;
            break;
        }
    }
    colon = memchr(buf, ':', len);
    if (colon == NULL || colon == (char *)buf) {
        WHY("must hold USER:PASSWORD on its first line");
        goto out;
    }
    ul = (size_t)(colon - (char *)buf);
    rc = LJ_ERR_NOMEM;
    u = strndup((const char *)buf, ul);
    p = strndup(colon + 1, len - ul - 1);
    if (u == NULL || p == NULL)
        goto out;
    *user = u;
    *password = p;
    u = p = NULL;
    rc = LJ_OK;
out:
#undef WHY
    lj_secret_free(u);
    lj_secret_free(p);
    lj_secure_free(buf, len > 0 ? len : 0);
    return rc;
}
