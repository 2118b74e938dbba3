/*
 * gate.c — request checks of the bridge: Host, Origin, token, locale, asset paths.
 *
 * Design note: every check is an exact match against a short list built
 * from the one port the bridge listens on; nothing is normalised first
 * (no case folding of the IP form, no trailing dot, no default port), so
 * what passes is exactly what a page loaded from http://127.0.0.1:PORT/
 * or http://localhost:PORT/ sends.
 */
#include "platform/oobe/bridge/gate.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "platform/common/secmem.h"

/* Is s exactly NAME:PORT for one of the two loopback names? */
static bool
hostport_ok(const char *s, unsigned port)
{
    char want[32];
    size_t n;

    if (s == NULL || port == 0 || port > 65535)
        return false;
    snprintf(want, sizeof(want), "127.0.0.1:%u", port);
    if (strcmp(s, want) == 0)
        return true;
    n = strlen("localhost");
    if (strncasecmp(s, "localhost", n) != 0)
        return false;
    snprintf(want, sizeof(want), ":%u", port);
    return strcmp(s + n, want) == 0;
}

bool
oobe_gate_host_ok(const char *host, unsigned port)
{
    return hostport_ok(host, port);
}

bool
oobe_gate_origin_ok(const char *origin, unsigned port)
{
    static const char scheme[] = "http://";

    if (origin == NULL || strncmp(origin, scheme, sizeof(scheme) - 1) != 0)
        return false;
    return hostport_ok(origin + sizeof(scheme) - 1, port);
}

bool
oobe_gate_token_ok(const char *given, const char *token)
{
    if (given == NULL || token == NULL || strlen(token) != OOBE_TOKEN_HEX ||
        strnlen(given, OOBE_TOKEN_HEX + 1) != OOBE_TOKEN_HEX)
        return false;
    return lj_secure_equal(given, token, OOBE_TOKEN_HEX);
}

static bool
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_alnum(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

bool
oobe_gate_locale_ok(const char *locale)
{
    size_t len, i, seg = 0, first = 0;
    bool in_first = true;

    if (locale == NULL)
        return false;
    len = strnlen(locale, OOBE_LOCALE_MAX + 1);
    if (len == 0 || len > OOBE_LOCALE_MAX)
        return false;
    for (i = 0; i <= len; i++) {
        char c = locale[i];
        if (c == '-' || c == '\0') {
            if (seg == 0 || seg > 8)
                return false;
            if (in_first)
                first = seg;
            in_first = false;
            seg = 0;
            continue;
        }
        if (in_first ? !is_alpha(c) : !is_alnum(c))
            return false;
        seg++;
    }
    return first >= 2;
}

static const struct {
    const char *ext;
    const char *ctype;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
};

#define ASSET_PATH_MAX 128
#define ASSET_SEG_MAX 64
#define ASSET_SEGS_MAX 3

bool
oobe_gate_asset(const char *path, char *rel, size_t relsz, const char **ctype)
{
    size_t len, i, seg = 0, segs = 1;
    const char *p, *dot;

    if (path == NULL || path[0] != '/')
        return false;
    p = strcmp(path, "/") == 0 ? "index.html" : path + 1;
    len = strnlen(p, ASSET_PATH_MAX + 1);
    if (len == 0 || len > ASSET_PATH_MAX || len >= relsz)
        return false;
    for (i = 0; i <= len; i++) {
        char c = p[i];
        if (c == '/' || c == '\0') {
            if (seg == 0 || seg > ASSET_SEG_MAX)
                return false;
            if (c == '/' && ++segs > ASSET_SEGS_MAX)
                return false;
            seg = 0;
            continue;
        }
        if (seg == 0 && c == '.')
            return false;
        if (!is_alnum(c) && c != '_' && c != '-' && c != '.')
            return false;
        seg++;
    }
    dot = strrchr(p, '.');
    if (dot == NULL || strchr(dot, '/') != NULL)
        return false;
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(dot, types[i].ext) == 0) {
            memcpy(rel, p, len + 1);
            *ctype = types[i].ctype;
            return true;
        }
    }
    return false;
}
