/*
 * oauth_request.c — OAuth2 requests to the Entra authority, built without
 * I/O: endpoint URLs and the form bodies of the device code (RFC 8628),
 * password, authorization code and refresh token grants (RFC 6749), and the
 * redaction of secrets from a form or URL before it is logged.
 *
 * Design note: everything in oauth_*.c is a pure function of its inputs
 * (PKCE generation aside, which reads wolfSSL's RNG), so the sign-in step
 * can be tested without a network and the same code serves every grant.
 * Form bodies are built in a small growable buffer that never uses realloc:
 * when it grows, the old copy is wiped, because a body may hold a password.
 */
#include "agent/proto/oauth_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/common/secmem.h"

#define SB_CAP (64u * 1024u)

/* ---- a wiping string builder ---- */

void
oauth_sb_put(struct oauth_sbuf *b, const char *s, size_t n)
{
    if (b->fail)
        return;
    if (n > SB_CAP || b->len + n + 1 > SB_CAP) {
        b->fail = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        char *np;

        while (ncap < b->len + n + 1)
            ncap *= 2;
        np = malloc(ncap);
        if (np == NULL) {
            b->fail = true;
            return;
        }
        if (b->p != NULL)
            memcpy(np, b->p, b->len);
        lj_secure_free(b->p, b->cap);
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void
oauth_sb_str(struct oauth_sbuf *b, const char *s)
{
    oauth_sb_put(b, s, strlen(s));
}

static bool
unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static void
sb_escaped(struct oauth_sbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *q = (const unsigned char *)s; *q != '\0'; q++) {
        if (unreserved(*q)) {
            oauth_sb_put(b, (const char *)q, 1);
        } else {
            char e[3] = {'%', hex[*q >> 4], hex[*q & 15]};

            oauth_sb_put(b, e, 3);
        }
    }
}

/* Append "&key=escaped(value)" ("key=..." when first). */
void
oauth_sb_param(struct oauth_sbuf *b, const char *key, const char *value)
{
    if (b->len > 0 && b->p[b->len - 1] != '?')
        oauth_sb_put(b, "&", 1);
    oauth_sb_str(b, key);
    oauth_sb_put(b, "=", 1);
    sb_escaped(b, value);
}

/* Hand the built string to *out, or wipe it and fail. */
enum lj_rc
oauth_sb_finish(struct oauth_sbuf *b, char **out)
{
    if (b->fail || b->p == NULL) {
        lj_secure_free(b->p, b->cap);
        b->p = NULL;
        return lj_err_set(LJ_ERR_NOMEM, MOD, "event=build_failed");
    }
    *out = b->p;
    b->p = NULL;
    return LJ_OK;
}

enum lj_rc
oauth_escape(const char *s, char **out)
{
    struct oauth_sbuf b = {0};

    if (s == NULL || out == NULL)
        return LJ_ERR_INVAL;
    oauth_sb_put(&b, "", 0);
    sb_escaped(&b, s);
    return oauth_sb_finish(&b, out);
}

/* ---- parameters ---- */

static bool
valid_authority(const char *a)
{
    size_t n = strlen(a);

    if (n <= 8 || n > 256 || strncmp(a, "https://", 8) != 0)
        return false;
    for (size_t i = 8; i < n; i++) {
        unsigned char c = (unsigned char)a[i];

        if (!(isalnum(c) || c == '.' || c == '-' || c == ':' || (c == '/' && i == n - 1)))
            return false;
    }
    return true;
}

bool
oauth_valid_token_chars(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!isalnum(c) && strchr(extra, c) == NULL)
            return false;
    }
    return true;
}

static enum lj_rc
check_params(const struct oauth_params *p)
{
    const char *auth;

    if (p == NULL || p->tenant == NULL || p->target == NULL || p->target[0] == '\0' ||
        (p->api != OAUTH_V1 && p->api != OAUTH_V2))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_params");
    auth = p->authority ? p->authority : OAUTH_DEFAULT_AUTHORITY;
    if (!valid_authority(auth))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_authority want=https://host");
    if (!oauth_valid_token_chars(p->tenant, 253, ".-_"))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_tenant");
    if (p->client_id != NULL && !oauth_valid_token_chars(p->client_id, 128, "-_."))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_client_id");
    if (strlen(p->target) > 2048)
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_target");
    return LJ_OK;
}

const char *
oauth_client_id(const struct oauth_params *p)
{
    return p->client_id ? p->client_id : OAUTH_BROKER_CLIENT_ID;
}

void
oauth_sb_target(struct oauth_sbuf *b, const struct oauth_params *p)
{
    oauth_sb_param(b, p->api == OAUTH_V2 ? "scope" : "resource", p->target);
}

bool
oauth_nonempty(const char *s, size_t max)
{
    return s != NULL && s[0] != '\0' && strlen(s) <= max;
}

enum lj_rc
oauth_endpoint_url(const struct oauth_params *p, enum oauth_endpoint ep, char **out)
{
    struct oauth_sbuf b = {0};
    const char *auth, *name;
    size_t alen;
    enum lj_rc rc = check_params(p);

    if (rc != LJ_OK)
        return rc;
    if (out == NULL)
        return LJ_ERR_INVAL;
    switch (ep) {
    case OAUTH_EP_DEVICECODE:
        name = p->api == OAUTH_V2 ? "devicecode" : "devicecode?api-version=1.0";
        break;
    case OAUTH_EP_TOKEN: name = "token"; break;
    case OAUTH_EP_AUTHORIZE: name = "authorize"; break;
    default: return LJ_ERR_INVAL;
    }
    auth = p->authority ? p->authority : OAUTH_DEFAULT_AUTHORITY;
    alen = strlen(auth);
    if (auth[alen - 1] == '/')
        alen--;
    oauth_sb_put(&b, auth, alen);
    oauth_sb_put(&b, "/", 1);
    oauth_sb_str(&b, p->tenant);
    oauth_sb_str(&b, p->api == OAUTH_V2 ? "/oauth2/v2.0/" : "/oauth2/");
    oauth_sb_str(&b, name);
    return oauth_sb_finish(&b, out);
}

/* ---- bodies ---- */

enum lj_rc
oauth_body_devicecode_start(const struct oauth_params *p, char **out)
{
    struct oauth_sbuf b = {0};
    enum lj_rc rc = check_params(p);

    if (rc != LJ_OK)
        return rc;
    if (out == NULL)
        return LJ_ERR_INVAL;
    oauth_sb_param(&b, "client_id", oauth_client_id(p));
    oauth_sb_target(&b, p);
    return oauth_sb_finish(&b, out);
}

enum lj_rc
oauth_body_devicecode_poll(const struct oauth_params *p, const char *device_code, char **out)
{
    struct oauth_sbuf b = {0};
    enum lj_rc rc = check_params(p);

    if (rc != LJ_OK)
        return rc;
    if (out == NULL || !oauth_nonempty(device_code, OAUTH_MAX_TOKEN))
        return LJ_ERR_INVAL;
    oauth_sb_param(&b, "grant_type", "urn:ietf:params:oauth:grant-type:device_code");
    oauth_sb_param(&b, "client_id", oauth_client_id(p));
    if (p->api == OAUTH_V2) {
        oauth_sb_param(&b, "device_code", device_code);
    } else {
        /* v1 takes the device code in "code" (as ROADtools and AADInternals
         * send it) and repeats the resource (as AADInternals does). */
        oauth_sb_param(&b, "code", device_code);
        oauth_sb_target(&b, p);
    }
    return oauth_sb_finish(&b, out);
}

enum lj_rc
oauth_body_password(const struct oauth_params *p, const char *username, const char *password,
                    char **out)
{
    struct oauth_sbuf b = {0};
    enum lj_rc rc = check_params(p);

    if (rc != LJ_OK)
        return rc;
    if (out == NULL || !oauth_nonempty(username, 256) || !oauth_nonempty(password, 1024))
        return LJ_ERR_INVAL;
    oauth_sb_param(&b, "grant_type", "password");
    oauth_sb_param(&b, "client_id", oauth_client_id(p));
    oauth_sb_param(&b, "username", username);
    oauth_sb_param(&b, "password", password);
    oauth_sb_target(&b, p);
    return oauth_sb_finish(&b, out);
}

enum lj_rc
oauth_body_code_redeem(const struct oauth_params *p, const char *code, const char *redirect_uri,
                       const char *code_verifier, char **out)
{
    struct oauth_sbuf b = {0};
    enum lj_rc rc = check_params(p);

    if (rc != LJ_OK)
        return rc;
    if (out == NULL || !oauth_nonempty(code, OAUTH_MAX_TOKEN) ||
        !oauth_nonempty(redirect_uri, 1024) || !oauth_nonempty(code_verifier, 128))
        return LJ_ERR_INVAL;
    oauth_sb_param(&b, "grant_type", "authorization_code");
    oauth_sb_param(&b, "client_id", oauth_client_id(p));
    oauth_sb_param(&b, "code", code);
    oauth_sb_param(&b, "redirect_uri", redirect_uri);
    oauth_sb_param(&b, "code_verifier", code_verifier);
    oauth_sb_target(&b, p);
    return oauth_sb_finish(&b, out);
}

enum lj_rc
oauth_body_refresh(const struct oauth_params *p, const char *refresh_token, char **out)
{
    struct oauth_sbuf b = {0};
    enum lj_rc rc = check_params(p);

    if (rc != LJ_OK)
        return rc;
    if (out == NULL || !oauth_nonempty(refresh_token, OAUTH_MAX_TOKEN))
        return LJ_ERR_INVAL;
    oauth_sb_param(&b, "grant_type", "refresh_token");
    oauth_sb_param(&b, "client_id", oauth_client_id(p));
    oauth_sb_param(&b, "refresh_token", refresh_token);
    oauth_sb_target(&b, p);
    return oauth_sb_finish(&b, out);
}

/* ---- redaction ---- */

static bool
secret_key(const char *k, size_t n)
{
    static const char *const keys[] = {
        "password", "code", "device_code", "code_verifier", "refresh_token", "access_token",
        "id_token", "client_secret", "assertion", "client_assertion",
        /* The PRT grants' signed JWT carries a refresh token, PRT or password. */
        "request"};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strlen(keys[i]) == n && memcmp(keys[i], k, n) == 0)
            return true;
    return false;
}

char *
oauth_redact(const char *in, char *out, size_t outsz)
{
    struct oauth_sbuf b = {0};
    const char *p, *q;

    if (out == NULL || outsz == 0)
        return out;
    out[0] = '\0';
    if (in == NULL)
        return out;
    q = strchr(in, '?');
    p = q ? q + 1 : in;
    if (q != NULL)
        oauth_sb_put(&b, in, (size_t)(p - in));
    else
        oauth_sb_put(&b, "", 0);
    while (*p != '\0') {
        size_t seg = strcspn(p, "&");
        const char *eq = memchr(p, '=', seg);

        if (eq != NULL && secret_key(p, (size_t)(eq - p))) {
            oauth_sb_put(&b, p, (size_t)(eq - p) + 1);
            oauth_sb_put(&b, "***", 3);
        } else {
            oauth_sb_put(&b, p, seg);
        }
        p += seg;
        if (*p == '&') {
            oauth_sb_put(&b, "&", 1);
            p++;
        }
    }
    if (!b.fail && b.p != NULL)
        snprintf(out, outsz, "%s", b.p);
    else
        snprintf(out, outsz, "***");
    lj_secure_free(b.p, b.cap);
    return out;
}
