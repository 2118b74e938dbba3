/*
 * oauth.c — OAuth2 sign-in messages for Entra (device code, password,
 * authorization code + PKCE, refresh token), built and parsed without I/O.
 *
 * Design note: everything here is a pure function of its inputs (PKCE
 * generation aside, which reads wolfSSL's RNG), so the sign-in step can be
 * tested without a network and the same code serves every grant.  Form
 * bodies are built in a small growable buffer that never uses realloc: when
 * it grows, the old copy is wiped, because a body may hold a password.
 * Responses are parsed through agent/pjson (size and depth checked first);
 * token strings are copied out and the cJSON tree is wiped before it is
 * freed.  Classification turns Entra's error + AADSTS codes into a small
 * enum the error taxonomy (agent/core/errors.c) maps to reasons.
 */
#include "agent/proto/oauth.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/proto/pjson.h"
#include "platform/common/b64.h"
#include "platform/common/secmem.h"

#define MOD "oauth"
#define SB_CAP (64u * 1024u)
#define MAX_URL (16u * 1024u)

/* ---- a wiping string builder ---- */

struct sbuf {
    char *p;
    size_t len, cap;
    bool fail;
};

static void
sb_put(struct sbuf *b, const char *s, size_t n)
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

static void
sb_str(struct sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static bool
unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static void
sb_escaped(struct sbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *q = (const unsigned char *)s; *q != '\0'; q++) {
        if (unreserved(*q)) {
            sb_put(b, (const char *)q, 1);
        } else {
            char e[3] = {'%', hex[*q >> 4], hex[*q & 15]};

            sb_put(b, e, 3);
        }
    }
}

/* Append "&key=escaped(value)" ("key=..." when first). */
static void
sb_param(struct sbuf *b, const char *key, const char *value)
{
    if (b->len > 0 && b->p[b->len - 1] != '?')
        sb_put(b, "&", 1);
    sb_str(b, key);
    sb_put(b, "=", 1);
    sb_escaped(b, value);
}

/* Hand the built string to *out, or wipe it and fail. */
static enum lj_rc
sb_finish(struct sbuf *b, char **out)
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
    struct sbuf b = {0};

    if (s == NULL || out == NULL)
        return LJ_ERR_INVAL;
    sb_put(&b, "", 0);
    sb_escaped(&b, s);
    return sb_finish(&b, out);
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

static bool
valid_token_chars(const char *s, size_t max, const char *extra)
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
    if (!valid_token_chars(p->tenant, 253, ".-_"))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_tenant");
    if (p->client_id != NULL && !valid_token_chars(p->client_id, 128, "-_."))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_client_id");
    if (strlen(p->target) > 2048)
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_target");
    return LJ_OK;
}

static const char *
client_id(const struct oauth_params *p)
{
    return p->client_id ? p->client_id : OAUTH_BROKER_CLIENT_ID;
}

static void
sb_target(struct sbuf *b, const struct oauth_params *p)
{
    sb_param(b, p->api == OAUTH_V2 ? "scope" : "resource", p->target);
}

static bool
nonempty(const char *s, size_t max)
{
    return s != NULL && s[0] != '\0' && strlen(s) <= max;
}

enum lj_rc
oauth_endpoint_url(const struct oauth_params *p, enum oauth_endpoint ep, char **out)
{
    struct sbuf b = {0};
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
    case OAUTH_EP_TOKEN:
        name = "token";
        break;
    case OAUTH_EP_AUTHORIZE:
        name = "authorize";
        break;
    default:
        return LJ_ERR_INVAL;
    }
    auth = p->authority ? p->authority : OAUTH_DEFAULT_AUTHORITY;
    alen = strlen(auth);
    if (auth[alen - 1] == '/')
        alen--;
    sb_put(&b, auth, alen);
    sb_put(&b, "/", 1);
    sb_str(&b, p->tenant);
    sb_str(&b, p->api == OAUTH_V2 ? "/oauth2/v2.0/" : "/oauth2/");
    sb_str(&b, name);
    return sb_finish(&b, out);
}

/* ---- bodies ---- */

enum lj_rc
oauth_body_devicecode_start(const struct oauth_params *p, char **out)
{
    struct sbuf b = {0};
    enum lj_rc rc = check_params(p);

    if (rc != LJ_OK)
        return rc;
    if (out == NULL)
        return LJ_ERR_INVAL;
    sb_param(&b, "client_id", client_id(p));
    sb_target(&b, p);
    return sb_finish(&b, out);
}

enum lj_rc
oauth_body_devicecode_poll(const struct oauth_params *p, const char *device_code, char **out)
{
    struct sbuf b = {0};
    enum lj_rc rc = check_params(p);

    if (rc != LJ_OK)
        return rc;
    if (out == NULL || !nonempty(device_code, OAUTH_MAX_TOKEN))
        return LJ_ERR_INVAL;
    sb_param(&b, "grant_type", "urn:ietf:params:oauth:grant-type:device_code");
    sb_param(&b, "client_id", client_id(p));
    if (p->api == OAUTH_V2) {
        sb_param(&b, "device_code", device_code);
    } else {
        /* v1 takes the device code in "code" and repeats the resource (§1.3). */
        sb_param(&b, "code", device_code);
        sb_target(&b, p);
    }
    return sb_finish(&b, out);
}

enum lj_rc
oauth_body_password(const struct oauth_params *p, const char *username, const char *password,
                    char **out)
{
    struct sbuf b = {0};
    enum lj_rc rc = check_params(p);

    if (rc != LJ_OK)
        return rc;
    if (out == NULL || !nonempty(username, 256) || !nonempty(password, 1024))
        return LJ_ERR_INVAL;
    sb_param(&b, "grant_type", "password");
    sb_param(&b, "client_id", client_id(p));
    sb_param(&b, "username", username);
    sb_param(&b, "password", password);
    sb_target(&b, p);
    return sb_finish(&b, out);
}

enum lj_rc
oauth_body_code_redeem(const struct oauth_params *p, const char *code, const char *redirect_uri,
                       const char *code_verifier, char **out)
{
    struct sbuf b = {0};
    enum lj_rc rc = check_params(p);

    if (rc != LJ_OK)
        return rc;
    if (out == NULL || !nonempty(code, OAUTH_MAX_TOKEN) || !nonempty(redirect_uri, 1024) ||
        !nonempty(code_verifier, 128))
        return LJ_ERR_INVAL;
    sb_param(&b, "grant_type", "authorization_code");
    sb_param(&b, "client_id", client_id(p));
    sb_param(&b, "code", code);
    sb_param(&b, "redirect_uri", redirect_uri);
    sb_param(&b, "code_verifier", code_verifier);
    sb_target(&b, p);
    return sb_finish(&b, out);
}

enum lj_rc
oauth_body_refresh(const struct oauth_params *p, const char *refresh_token, char **out)
{
    struct sbuf b = {0};
    enum lj_rc rc = check_params(p);

    if (rc != LJ_OK)
        return rc;
    if (out == NULL || !nonempty(refresh_token, OAUTH_MAX_TOKEN))
        return LJ_ERR_INVAL;
    sb_param(&b, "grant_type", "refresh_token");
    sb_param(&b, "client_id", client_id(p));
    sb_param(&b, "refresh_token", refresh_token);
    sb_target(&b, p);
    return sb_finish(&b, out);
}

/* ---- PKCE ---- */

static enum lj_rc
b64url_into(const unsigned char *raw, size_t n, char *dst, size_t dstsz)
{
    size_t el = 0;
    char *e = lj_b64_encode(raw, n, LJ_B64_URL, &el);

    if (e == NULL)
        return LJ_ERR_NOMEM;
    if (el + 1 > dstsz) {
        lj_secret_free(e);
        return LJ_ERR_INTERNAL;
    }
    memcpy(dst, e, el + 1);
    lj_secret_free(e);
    return LJ_OK;
}

enum lj_rc
oauth_pkce_challenge(const char *verifier, char out[44])
{
    unsigned char dig[WC_SHA256_DIGEST_SIZE];
    size_t n;
    enum lj_rc rc;

    /* RFC 7636 §4.1: 43..128 unreserved characters. */
    if (verifier == NULL || out == NULL || (n = strlen(verifier)) < 43 || n > 128 ||
        !valid_token_chars(verifier, 128, "-._~"))
        return LJ_ERR_INVAL;
    /* §4.2: challenge = BASE64URL(SHA256(ASCII(verifier))). */
    if (wc_Sha256Hash((const unsigned char *)verifier, (word32)n, dig) != 0)
        return lj_err_set(LJ_ERR_CRYPTO, MOD, "event=sha256_failed");
    rc = b64url_into(dig, sizeof(dig), out, 44);
    lj_secure_zero(dig, sizeof(dig));
    return rc;
}

enum lj_rc
oauth_pkce_new(struct oauth_pkce *pk)
{
    WC_RNG rng;
    bool rng_ok = false;
    unsigned char raw[32], st[16];
    struct oauth_pkce tmp;
    enum lj_rc rc;

    if (pk == NULL)
        return LJ_ERR_INVAL;
    memset(&tmp, 0, sizeof(tmp));
    if (wc_InitRng(&rng) != 0) {
        rc = lj_err_set(LJ_ERR_CRYPTO, MOD, "event=rng_init_failed");
        goto out;
    }
    rng_ok = true;
    if (wc_RNG_GenerateBlock(&rng, raw, sizeof(raw)) != 0 ||
        wc_RNG_GenerateBlock(&rng, st, sizeof(st)) != 0) {
        rc = lj_err_set(LJ_ERR_CRYPTO, MOD, "event=rng_failed");
        goto out;
    }
    rc = b64url_into(raw, sizeof(raw), tmp.verifier, sizeof(tmp.verifier));
    if (rc != LJ_OK)
        goto out;
    rc = b64url_into(st, sizeof(st), tmp.state, sizeof(tmp.state));
    if (rc != LJ_OK)
        goto out;
    rc = oauth_pkce_challenge(tmp.verifier, tmp.challenge);
    if (rc != LJ_OK)
        goto out;
    *pk = tmp;
out:
    if (rng_ok)
        wc_FreeRng(&rng);
    lj_secure_zero(raw, sizeof(raw));
    lj_secure_zero(st, sizeof(st));
    lj_secure_zero(&tmp, sizeof(tmp));
    return rc;
}

void
oauth_pkce_wipe(struct oauth_pkce *pk)
{
    if (pk != NULL)
        lj_secure_zero(pk, sizeof(*pk));
}

enum lj_rc
oauth_authorize_url(const struct oauth_params *p, const char *redirect_uri,
                    const struct oauth_pkce *pk, bool force_prompt, char **out)
{
    struct sbuf b = {0};
    char *base = NULL;
    enum lj_rc rc;

    if (pk == NULL || out == NULL || !nonempty(redirect_uri, 1024) || strlen(pk->state) != 22 ||
        strlen(pk->challenge) != 43)
        return LJ_ERR_INVAL;
    rc = oauth_endpoint_url(p, OAUTH_EP_AUTHORIZE, &base);
    if (rc != LJ_OK)
        return rc;
    sb_str(&b, base);
    sb_put(&b, "?", 1);
    sb_param(&b, "client_id", client_id(p));
    sb_param(&b, "response_type", "code");
    sb_param(&b, "redirect_uri", redirect_uri);
    sb_target(&b, p);
    sb_param(&b, "state", pk->state);
    sb_param(&b, "code_challenge", pk->challenge);
    sb_param(&b, "code_challenge_method", "S256");
    if (force_prompt)
        sb_param(&b, "prompt", "login");
    free(base);
    return sb_finish(&b, out);
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

/* %-decode (and '+' as space) n bytes into a new string; NULL on bad escapes or NUL. */
static char *
unescape(const char *s, size_t n)
{
    char *o = malloc(n + 1);
    size_t j = 0;

    if (o == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi, lo;

            if (i + 2 >= n) {
                lj_secure_free(o, n + 1);
                return NULL;
            }
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                lj_secure_free(o, n + 1);
                return NULL;
            }
            o[j++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            o[j++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    o[j] = '\0';
    return o;
}

static bool
code_chars_ok(const char *code)
{
    size_t n = strlen(code);

    if (n == 0 || n > OAUTH_MAX_TOKEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)code[i];

        if (c <= 0x20 || c >= 0x7f)
            return false;
    }
    return true;
}

enum lj_rc
oauth_code_check(const struct oauth_pkce *pk, const char *code, const char *state)
{
    size_t sl;

    if (pk == NULL || code == NULL || state == NULL)
        return LJ_ERR_INVAL;
    sl = strlen(pk->state);
    if (sl == 0 || strlen(state) != sl || !lj_secure_equal(state, pk->state, sl))
        return lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=state_mismatch");
    if (!code_chars_ok(code))
        return lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=bad_code");
    return LJ_OK;
}

enum lj_rc
oauth_redirect_parse(const struct oauth_pkce *pk, const char *redirect_uri, const char *url,
                     char **code_out, struct oauth_error *err)
{
    char *code = NULL, *state = NULL, *error = NULL, *desc = NULL;
    const char *q, *end;
    size_t rlen, ulen;
    enum lj_rc rc;

    if (pk == NULL || redirect_uri == NULL || url == NULL || code_out == NULL)
        return LJ_ERR_INVAL;
    ulen = strlen(url);
    rlen = strlen(redirect_uri);
    if (ulen > MAX_URL) {
        rc = lj_err_set(LJ_ERR_TOO_BIG, MOD, "event=redirect_too_long");
        goto out;
    }
    /* The URL up to '?' must be the redirect URI, byte for byte. */
    if (rlen == 0 || ulen <= rlen || strncmp(url, redirect_uri, rlen) != 0 || url[rlen] != '?') {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=redirect_mismatch");
        goto out;
    }
    q = url + rlen + 1;
    end = strchr(q, '#');
    if (end == NULL)
        end = url + ulen;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(pe - q));
        char **slot = NULL;
        size_t kl;

        if (eq != NULL) {
            kl = (size_t)(eq - q);
            if (kl == 4 && memcmp(q, "code", 4) == 0)
                slot = &code;
            else if (kl == 5 && memcmp(q, "state", 5) == 0)
                slot = &state;
            else if (kl == 5 && memcmp(q, "error", 5) == 0)
                slot = &error;
            else if (kl == 17 && memcmp(q, "error_description", 17) == 0)
                slot = &desc;
        }
        if (slot != NULL) {
            if (*slot != NULL) {
                rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=redirect_duplicate_param");
                goto out;
            }
            *slot = unescape(eq + 1, (size_t)(pe - eq - 1));
            if (*slot == NULL) {
                rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=redirect_bad_escape");
                goto out;
            }
        }
        q = pe + (pe < end ? 1 : 0);
    }
    if (error != NULL) {
        if (err != NULL) {
            const char *a;

            memset(err, 0, sizeof(*err));
            pjson_copy_text(err->error, sizeof(err->error), error);
            pjson_copy_text(err->description, sizeof(err->description), desc);
            a = desc ? strstr(desc, "AADSTS") : NULL;
            if (a != NULL)
                err->aadsts = strtoul(a + 6, NULL, 10);
            err->cls = oauth_error_classify(err->error, err->aadsts, OAUTH_GRANT_AUTH_CODE);
        }
        rc = lj_err_set(LJ_ERR_AUTH, MOD, "event=authorize_error error=%.60s", error);
        goto out;
    }
    if (state == NULL || code == NULL) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=redirect_incomplete");
        goto out;
    }
    rc = oauth_code_check(pk, code, state);
    if (rc != LJ_OK)
        goto out;
    *code_out = code;
    code = NULL;
out:
    lj_secret_free(code);
    free(state);
    free(error);
    free(desc);
    return rc;
}

/* ---- responses ---- */

static enum lj_rc
dup_field(const cJSON *obj, const char *key, size_t max, bool required, char **out)
{
    const char *s = NULL;
    enum lj_rc rc = pjson_str(obj, key, false, max, &s);

    if (rc == LJ_ERR_NOT_FOUND && !required)
        return LJ_OK;
    if (rc != LJ_OK)
        return lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=bad_field field=%s rc=%s", key,
                          lj_rc_name(rc));
    if (required && s[0] == '\0')
        return lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=empty_field field=%s", key);
    *out = strdup(s);
    return *out ? LJ_OK : LJ_ERR_NOMEM;
}

void
oauth_device_code_free(struct oauth_device_code *dc)
{
    if (dc == NULL)
        return;
    lj_secret_free(dc->device_code);
    free(dc->user_code);
    free(dc->verification_uri);
    free(dc->message);
    memset(dc, 0, sizeof(*dc));
}

enum lj_rc
oauth_device_code_parse(const char *body, size_t len, struct oauth_device_code *out)
{
    struct oauth_device_code dc;
    cJSON *tree = NULL;
    long long v;
    enum lj_rc rc;

    memset(&dc, 0, sizeof(dc));
    if (body == NULL || out == NULL)
        return LJ_ERR_INVAL;
    rc = pjson_parse(body, len, OAUTH_MAX_BODY, 4, &tree);
    if (rc != LJ_OK) {
        rc = lj_err_set(rc, MOD, "event=devicecode_unparsable rc=%s", lj_rc_name(rc));
        goto out;
    }
    if ((rc = dup_field(tree, "device_code", OAUTH_MAX_TOKEN, true, &dc.device_code)) != LJ_OK ||
        (rc = dup_field(tree, "user_code", 64, true, &dc.user_code)) != LJ_OK ||
        (rc = dup_field(tree, "message", 1024, false, &dc.message)) != LJ_OK)
        goto out;
    /* v2 says verification_uri, v1 verification_url. */
    rc = dup_field(tree, "verification_uri", 512, false, &dc.verification_uri);
    if (rc == LJ_OK && dc.verification_uri == NULL)
        rc = dup_field(tree, "verification_url", 512, true, &dc.verification_uri);
    if (rc != LJ_OK)
        goto out;
    if (strncmp(dc.verification_uri, "https://", 8) != 0 || !code_chars_ok(dc.user_code) ||
        !code_chars_ok(dc.verification_uri)) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=devicecode_bad_uri_or_code");
        goto out;
    }
    rc = pjson_int(tree, "expires_in", false, 1, 86400, &v);
    if (rc != LJ_OK) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=bad_field field=expires_in");
        goto out;
    }
    dc.expires_in = (long)v;
    rc = pjson_int(tree, "interval", false, 0, 3600, &v);
    if (rc == LJ_ERR_NOT_FOUND) {
        v = 5; /* RFC 8628 §3.2 default */
    } else if (rc != LJ_OK) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=bad_field field=interval");
        goto out;
    }
    dc.interval = v < 1 ? 1 : v > 60 ? 60 : (long)v;
    rc = LJ_OK;
    *out = dc;
    memset(&dc, 0, sizeof(dc));
out:
    oauth_device_code_free(&dc);
    pjson_wipe_delete(tree);
    return rc;
}

void
oauth_token_free(struct oauth_token *t)
{
    if (t == NULL)
        return;
    lj_secret_free(t->access_token);
    lj_secret_free(t->refresh_token);
    lj_secret_free(t->id_token);
    memset(t, 0, sizeof(*t));
}

enum lj_rc
oauth_token_parse(const char *body, size_t len, struct oauth_token *out)
{
    struct oauth_token t;
    cJSON *tree = NULL;
    const char *tt = NULL;
    long long v;
    enum lj_rc rc;

    memset(&t, 0, sizeof(t));
    if (body == NULL || out == NULL)
        return LJ_ERR_INVAL;
    rc = pjson_parse(body, len, OAUTH_MAX_BODY, 4, &tree);
    if (rc != LJ_OK) {
        rc = lj_err_set(rc, MOD, "event=token_unparsable rc=%s", lj_rc_name(rc));
        goto out;
    }
    rc = pjson_str(tree, "token_type", false, 32, &tt);
    if (rc == LJ_OK && strcasecmp(tt, "Bearer") != 0) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=token_type_not_bearer");
        goto out;
    }
    if (rc != LJ_OK && rc != LJ_ERR_NOT_FOUND) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=bad_field field=token_type");
        goto out;
    }
    if ((rc = dup_field(tree, "access_token", OAUTH_MAX_TOKEN, true, &t.access_token)) != LJ_OK ||
        (rc = dup_field(tree, "refresh_token", OAUTH_MAX_TOKEN, false, &t.refresh_token)) !=
            LJ_OK ||
        (rc = dup_field(tree, "id_token", OAUTH_MAX_TOKEN, false, &t.id_token)) != LJ_OK)
        goto out;
    if (!code_chars_ok(t.access_token) || (t.refresh_token && !code_chars_ok(t.refresh_token))) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=token_bad_chars");
        goto out;
    }
    rc = pjson_int(tree, "expires_in", false, 0, 0x7fffffff, &v);
    if (rc == LJ_ERR_NOT_FOUND) {
        v = 0;
    } else if (rc != LJ_OK) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=bad_field field=expires_in");
        goto out;
    }
    t.expires_in = (long)v;
    rc = LJ_OK;
    *out = t;
    memset(&t, 0, sizeof(t));
out:
    oauth_token_free(&t);
    pjson_wipe_delete(tree);
    return rc;
}

/* ---- errors ---- */

static bool
code_in(unsigned long c, const unsigned long *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == c)
            return true;
    return false;
}

#define IN(c, ...)                                                                                 \
    code_in((c), (const unsigned long[]){__VA_ARGS__},                                             \
            sizeof((const unsigned long[]){__VA_ARGS__}) / sizeof(unsigned long))

enum oauth_err_class
oauth_error_classify(const char *error, unsigned long c, enum oauth_grant grant)
{
    const char *e = error ? error : "";

    /* RFC 8628 §3.5 strings first: they drive the polling loop. */
    if (strcmp(e, "authorization_pending") == 0 || c == 70016)
        return OAUTH_ERRC_PENDING;
    if (strcmp(e, "slow_down") == 0)
        return OAUTH_ERRC_SLOW_DOWN;
    if (strcmp(e, "expired_token") == 0 || strcmp(e, "code_expired") == 0 || c == 70019)
        return OAUTH_ERRC_EXPIRED;
    if (c == 65004)
        return OAUTH_ERRC_DECLINED;
    if (c == 50126)
        return OAUTH_ERRC_BAD_PASSWORD;
    if (c == 50034)
        return OAUTH_ERRC_UNKNOWN_USER;
    if (c == 50057)
        return OAUTH_ERRC_DISABLED;
    if (c == 50053)
        return OAUTH_ERRC_LOCKED;
    if (IN(c, 50055, 50144))
        return OAUTH_ERRC_PASSWORD_EXPIRED;
    if (IN(c, 90002, 50128, 50059, 90019))
        return OAUTH_ERRC_UNKNOWN_TENANT;
    if (IN(c, 50076, 50079, 50072, 50074))
        return OAUTH_ERRC_MFA_REQUIRED;
    if (c == 53003)
        return OAUTH_ERRC_CA_BLOCKED;
    if (IN(c, 70008, 700082, 700084, 50173, 70043, 50133) ||
        (grant == OAUTH_GRANT_REFRESH && strcmp(e, "invalid_grant") == 0))
        return OAUTH_ERRC_REFRESH_INVALID;
    /* After the codes: an authorize redirect says access_denied for a CA block too. */
    if (strcmp(e, "authorization_declined") == 0 || strcmp(e, "access_denied") == 0)
        return OAUTH_ERRC_DECLINED;
    return OAUTH_ERRC_OTHER;
}

const char *
oauth_err_class_name(enum oauth_err_class cls)
{
    switch (cls) {
    case OAUTH_ERRC_OTHER:
        return "other";
    case OAUTH_ERRC_PENDING:
        return "pending";
    case OAUTH_ERRC_SLOW_DOWN:
        return "slow_down";
    case OAUTH_ERRC_EXPIRED:
        return "expired";
    case OAUTH_ERRC_DECLINED:
        return "declined";
    case OAUTH_ERRC_BAD_PASSWORD:
        return "bad_password";
    case OAUTH_ERRC_UNKNOWN_USER:
        return "unknown_user";
    case OAUTH_ERRC_DISABLED:
        return "disabled";
    case OAUTH_ERRC_LOCKED:
        return "locked";
    case OAUTH_ERRC_PASSWORD_EXPIRED:
        return "password_expired";
    case OAUTH_ERRC_UNKNOWN_TENANT:
        return "unknown_tenant";
    case OAUTH_ERRC_MFA_REQUIRED:
        return "mfa_required";
    case OAUTH_ERRC_CA_BLOCKED:
        return "ca_blocked";
    case OAUTH_ERRC_REFRESH_INVALID:
        return "refresh_invalid";
    case OAUTH_ERRC_COUNT__:
        break;
    }
    return "unknown";
}

/* Copy the id after "label" in an error_description ("Trace ID: 75c1...") into dst. */
static void
desc_id(const char *desc, const char *label, char *dst, size_t dstsz)
{
    const char *p = strstr(desc, label);
    size_t n = 0;

    if (p == NULL || dst[0] != '\0')
        return;
    p += strlen(label);
    while (*p == ' ')
        p++;
    while (n + 1 < dstsz && (isxdigit((unsigned char)p[n]) || p[n] == '-'))
        n++;
    memcpy(dst, p, n);
    dst[n] = '\0';
}

static void
copy_opt(const cJSON *tree, const char *key, size_t max, char *dst, size_t dstsz)
{
    const char *s = NULL;

    if (pjson_str(tree, key, false, max, &s) == LJ_OK)
        pjson_copy_text(dst, dstsz, s);
}

enum lj_rc
oauth_error_parse(const char *body, size_t len, enum oauth_grant grant, struct oauth_error *out)
{
    struct oauth_error e;
    cJSON *tree = NULL;
    const cJSON *codes;
    const char *s = NULL;
    enum lj_rc rc;

    memset(&e, 0, sizeof(e));
    if (body == NULL || out == NULL)
        return LJ_ERR_INVAL;
    rc = pjson_parse(body, len, OAUTH_MAX_BODY, 4, &tree);
    if (rc != LJ_OK)
        goto out;
    rc = pjson_str(tree, "error", false, 128, &s);
    if (rc != LJ_OK || s[0] == '\0') {
        rc = LJ_ERR_PARSE;
        goto out;
    }
    pjson_copy_text(e.error, sizeof(e.error), s);
    copy_opt(tree, "error_description", 8192, e.description, sizeof(e.description));
    copy_opt(tree, "trace_id", 128, e.trace_id, sizeof(e.trace_id));
    copy_opt(tree, "correlation_id", 128, e.correlation_id, sizeof(e.correlation_id));
    copy_opt(tree, "timestamp", 128, e.timestamp, sizeof(e.timestamp));
    codes = cJSON_GetObjectItemCaseSensitive(tree, "error_codes");
    if (cJSON_IsArray(codes) && cJSON_GetArraySize(codes) > 0) {
        const cJSON *first = cJSON_GetArrayItem(codes, 0);

        if (cJSON_IsNumber(first) && first->valuedouble >= 1 && first->valuedouble < 1e9)
            e.aadsts = (unsigned long)first->valuedouble;
    }
    if (e.aadsts == 0) {
        const char *a = strstr(e.description, "AADSTS");

        if (a != NULL && isdigit((unsigned char)a[6])) {
            unsigned long v = 0;

            for (a += 6; isdigit((unsigned char)*a) && v < 100000000UL; a++)
                v = v * 10 + (unsigned long)(*a - '0');
            e.aadsts = v;
        }
    }
    desc_id(e.description, "Trace ID:", e.trace_id, sizeof(e.trace_id));
    desc_id(e.description, "Correlation ID:", e.correlation_id, sizeof(e.correlation_id));
    e.cls = oauth_error_classify(e.error, e.aadsts, grant);
    *out = e;
    rc = LJ_OK;
out:
    pjson_wipe_delete(tree);
    return rc;
}

/* ---- polling ---- */

enum oauth_poll_action
oauth_poll_next(enum oauth_err_class cls, long long now, long long expires_at, long *interval,
                long *wait_s)
{
    long iv;

    if (interval == NULL || wait_s == NULL)
        return OAUTH_POLL_STOP;
    iv = *interval < 1 ? 1 : *interval > 60 ? 60 : *interval;
    switch (cls) {
    case OAUTH_ERRC_SLOW_DOWN:
        /* RFC 8628 §3.5: add 5 seconds to this and all later polls. */
        iv = iv + 5 > 60 ? 60 : iv + 5;
        /* fall through */
    case OAUTH_ERRC_PENDING:
        *interval = iv;
        if (now >= expires_at)
            return OAUTH_POLL_EXPIRED;
        *wait_s = expires_at - now < iv ? (long)(expires_at - now) : iv;
        return OAUTH_POLL_WAIT;
    case OAUTH_ERRC_EXPIRED:
        return OAUTH_POLL_EXPIRED;
    default:
        return OAUTH_POLL_STOP;
    }
}

/* ---- JWT ---- */

enum lj_rc
oauth_jwt_claims_parse(const char *jwt, struct oauth_jwt_claims *out)
{
    struct oauth_jwt_claims c;
    const char *d1, *d2, *s = NULL;
    unsigned char *payload = NULL;
    size_t plen = 0, n;
    cJSON *tree = NULL;
    const cJSON *it;
    long long v;
    enum lj_rc rc;

    memset(&c, 0, sizeof(c));
    if (jwt == NULL || out == NULL)
        return LJ_ERR_INVAL;
    n = strnlen(jwt, OAUTH_MAX_TOKEN + 1);
    d1 = memchr(jwt, '.', n);
    d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - jwt)) : NULL;
    if (n > OAUTH_MAX_TOKEN || d1 == NULL || d2 == NULL ||
        memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - jwt)) != NULL || d2 == d1 + 1) {
        rc = LJ_ERR_PARSE;
        goto out;
    }
    if (!lj_b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), LJ_B64_URL, &payload, &plen)) {
        rc = LJ_ERR_PARSE;
        goto out;
    }
    rc = pjson_parse((const char *)payload, plen, OAUTH_MAX_TOKEN, 4, &tree);
    if (rc != LJ_OK)
        goto out;
    it = cJSON_GetObjectItemCaseSensitive(tree, "aud");
    if (cJSON_IsArray(it))
        it = cJSON_GetArrayItem(it, 0);
    if (cJSON_IsString(it))
        pjson_copy_text(c.aud, sizeof(c.aud), it->valuestring);
    copy_opt(tree, "tid", 64, c.tid, sizeof(c.tid));
    copy_opt(tree, "oid", 64, c.oid, sizeof(c.oid));
    if (pjson_str(tree, "upn", false, 255, &s) == LJ_OK ||
        pjson_str(tree, "preferred_username", false, 255, &s) == LJ_OK ||
        pjson_str(tree, "unique_name", false, 255, &s) == LJ_OK)
        pjson_copy_text(c.upn, sizeof(c.upn), s);
    it = cJSON_GetObjectItemCaseSensitive(tree, "amr");
    if (cJSON_IsArray(it)) {
        size_t used = 0;
        const cJSON *m;

        cJSON_ArrayForEach(m, it)
        {
            size_t ml;

            if (!cJSON_IsString(m) || !valid_token_chars(m->valuestring, 32, "_-"))
                continue;
            ml = strlen(m->valuestring);
            if (used + ml + 2 > sizeof(c.amr))
                break;
            if (used > 0)
                c.amr[used++] = ' ';
            memcpy(c.amr + used, m->valuestring, ml + 1);
            used += ml;
        }
    }
    if (pjson_int(tree, "exp", false, 0, 253402300799LL, &v) == LJ_OK)
        c.exp = v;
    if (pjson_str(tree, "mdm_enrollment_url", false, sizeof(c.mdm_enrollment_url) - 1, &s) ==
        LJ_OK)
        pjson_copy_text(c.mdm_enrollment_url, sizeof(c.mdm_enrollment_url), s);
    *out = c;
    rc = LJ_OK;
out:
    pjson_wipe_delete(tree);
    lj_secure_free(payload, plen);
    return rc;
}

bool
oauth_jwt_has_amr(const struct oauth_jwt_claims *c, const char *method)
{
    size_t ml;
    const char *p;

    if (c == NULL || method == NULL || (ml = strlen(method)) == 0)
        return false;
    for (p = c->amr; (p = strstr(p, method)) != NULL; p += ml) {
        if ((p == c->amr || p[-1] == ' ') && (p[ml] == '\0' || p[ml] == ' '))
            return true;
    }
    return false;
}

/* ---- redaction ---- */

static bool
secret_key(const char *k, size_t n)
{
    static const char *const keys[] = {
        "password",     "code",     "device_code",   "code_verifier", "refresh_token",
        "access_token", "id_token", "client_secret", "assertion",     "client_assertion"};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strlen(keys[i]) == n && memcmp(keys[i], k, n) == 0)
            return true;
    return false;
}

char *
oauth_redact(const char *in, char *out, size_t outsz)
{
    struct sbuf b = {0};
    const char *p, *q;

    if (out == NULL || outsz == 0)
        return out;
    out[0] = '\0';
    if (in == NULL)
        return out;
    q = strchr(in, '?');
    p = q ? q + 1 : in;
    if (q != NULL)
        sb_put(&b, in, (size_t)(p - in));
    else
        sb_put(&b, "", 0);
    while (*p != '\0') {
        size_t seg = strcspn(p, "&");
        const char *eq = memchr(p, '=', seg);

        if (eq != NULL && secret_key(p, (size_t)(eq - p))) {
            sb_put(&b, p, (size_t)(eq - p) + 1);
            sb_put(&b, "***", 3);
        } else {
            sb_put(&b, p, seg);
        }
        p += seg;
        if (*p == '&') {
            sb_put(&b, "&", 1);
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
