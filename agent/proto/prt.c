/*
 * prt.c — the Primary Refresh Token requests ([MS-OAPXBC] 3.1.5.1.x,
 * 3.2.5.1.2.x) built without I/O: the nonce request and answer, the RS256
 * request signed by the device key, the HS256 request signed with a key
 * derived from the session key (NIST SP 800-108 fixed input, [MS-OAPXBC]
 * 3.1.5.2.1.3), and the jwt-bearer form that carries either.  The answers
 * (PRT answer, session_key_jwe, encrypted JWE answer) are in prt_answer.c.
 *
 * Design note: the private-key steps (RSA signature, HMAC of the KDF) are
 * the TPM's, so every JWT is built in two steps and this file only does
 * encoding, SHA-256 and the final HMAC with a key the caller derived.  JSON
 * is written by a small escaper into a buffer sized up front (never grown,
 * so no unwiped copy of a refresh token or password is left behind); the
 * payload bytes it writes are exactly the ones base64url-encoded into the
 * JWT, which the kdf v2 context needs (ROADtools request_token_with_
 * sessionkey_signed_payload hashes the decoded JWT body for the same
 * reason).
 */
#include "agent/proto/prt.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "agent/proto/prt_int.h"
#include "platform/common/b64.h"
#include "platform/common/secmem.h"

#define MAX_PASSWORD 1024u
#define MAX_ID 256u /* client ids, usernames */
#define MAX_URI 2048u
#define RS256_H1 "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"x5c\":[\""
#define RS256_H2 "\"],\"kdf_ver\":2}"

bool
prt_printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

bool
prt_printable_or_space(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

/* 1..max printable ASCII bytes without space. */
static bool
token_ok(const char *s, size_t max)
{
    size_t n;

    if (s == NULL)
        return false;
    n = strnlen(s, max + 1);
    return n > 0 && n <= max && prt_printable(s, n);
}

/* "10.0.19041.868": digits and dots, starting and ending with a digit. */
static bool
win_ver_ok(const char *s)
{
    size_t n = strnlen(s, 33);

    if (n == 0 || n > 32 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
            return false;
    return true;
}

/* ---- a fixed-size JSON writer ---- */

struct kv {
    const char *k, *v;
};

struct jbuf {
    char *p;
    size_t len, cap;
    bool fail;
};

static void
jb_raw(struct jbuf *b, const char *s, size_t n)
{
    if (b->fail || n >= b->cap - b->len) {
        b->fail = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* A JSON string (RFC 8259 §7): quote, backslash and control bytes escaped. */
static void
jb_str(struct jbuf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    jb_raw(b, "\"", 1);
    for (const unsigned char *q = (const unsigned char *)s; *q != '\0'; q++) {
        if (*q == '"' || *q == '\\') {
            char e[2] = {'\\', (char)*q};

            jb_raw(b, e, 2);
        } else if (*q < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[*q >> 4], hex[*q & 15]};

            jb_raw(b, e, 6);
        } else {
            jb_raw(b, (const char *)q, 1);
        }
    }
    jb_raw(b, "\"", 1);
}

/* A flat object of string members in the given order.  *out secret. */
static enum lj_rc
json_flat(const struct kv *f, size_t n, char **out)
{
    struct jbuf b = {0};
    size_t cap = 8;

    for (size_t i = 0; i < n; i++)
        cap += strlen(f[i].k) + 6 * strlen(f[i].v) + 8;
    b.p = malloc(cap);
    if (b.p == NULL)
        return LJ_ERR_NOMEM;
    b.cap = cap;
    jb_raw(&b, "{", 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            jb_raw(&b, ",", 1);
        jb_str(&b, f[i].k);
        jb_raw(&b, ":", 1);
        jb_str(&b, f[i].v);
    }
    jb_raw(&b, "}", 1);
    if (b.fail) {
        lj_secure_free(b.p, b.cap);
        return lj_err_set(LJ_ERR_INTERNAL, MOD, "event=json_build_overflow");
    }
    *out = b.p;
    return LJ_OK;
}

/* a "." b, malloc'ed (secret when either part is). */
static enum lj_rc
join_dot(const char *a, const char *b, char **out)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 2);

    if (s == NULL)
        return LJ_ERR_NOMEM;
    memcpy(s, a, la);
    s[la] = '.';
    memcpy(s + la + 1, b, lb + 1);
    *out = s;
    return LJ_OK;
}

/* b64url(header) "." b64url(payload) into *out (secret). */
static enum lj_rc
signing_input(const char *header, const char *payload, char **out)
{
    char *h = lj_b64_encode(header, strlen(header), LJ_B64_URL, NULL);
    char *p = lj_b64_encode(payload, strlen(payload), LJ_B64_URL, NULL);
    enum lj_rc rc = h && p ? join_dot(h, p, out) : LJ_ERR_NOMEM;

    free(h);
    lj_secret_free(p);
    return rc;
}

/* ---- nonce ---- */

enum lj_rc
prt_body_challenge(char **out)
{
    if (out == NULL)
        return LJ_ERR_INVAL;
    *out = strdup("grant_type=srv_challenge");
    return *out ? LJ_OK : LJ_ERR_NOMEM;
}

/* ---- RS256 ---- */

enum lj_rc
prt_rs256_signing_input(const struct prt_rs256_req *r, char **input)
{
    struct kv f[7];
    size_t n = 0;
    const char *wv;
    char *x5c = NULL, *header = NULL, *payload = NULL;
    struct jbuf hb = {0};
    enum lj_rc rc;

    if (r == NULL || input == NULL || r->cert_der == NULL || r->cert_der_len == 0 ||
        r->cert_der_len > PRT_CERT_MAX || !token_ok(r->nonce, PRT_NONCE_MAX))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=rs256_bad_request");
    wv = r->win_ver ? r->win_ver : PRT_DEFAULT_WIN_VER;
    if (!win_ver_ok(wv))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=rs256_bad_field field=win_ver");
    if (r->grant == PRT_GRANT_REFRESH_TOKEN) {
        if (!token_ok(r->refresh_token, PRT_MAX_FIELD))
            return lj_err_set(LJ_ERR_INVAL, MOD, "event=rs256_bad_field field=refresh_token");
        /* ROADtools get_prt_with_refresh_token. */
        f[n++] = (struct kv){"client_id", PRT_BROKER_CLIENT_ID};
        f[n++] = (struct kv){"request_nonce", r->nonce};
        f[n++] = (struct kv){"scope", PRT_SCOPE};
        f[n++] = (struct kv){"grant_type", "refresh_token"};
        f[n++] = (struct kv){"refresh_token", r->refresh_token};
    } else if (r->grant == PRT_GRANT_PASSWORD) {
        if (r->username == NULL || r->username[0] == '\0' ||
            strnlen(r->username, MAX_ID + 1) > MAX_ID)
            return lj_err_set(LJ_ERR_INVAL, MOD, "event=rs256_bad_field field=username");
        if (r->password == NULL || r->password[0] == '\0' ||
            strnlen(r->password, MAX_PASSWORD + 1) > MAX_PASSWORD)
            return lj_err_set(LJ_ERR_INVAL, MOD, "event=rs256_bad_field field=password");
        /* ROADtools get_prt_with_password. */
        f[n++] = (struct kv){"client_id", PRT_WAM_CLIENT_ID};
        f[n++] = (struct kv){"request_nonce", r->nonce};
        f[n++] = (struct kv){"scope", PRT_SCOPE};
        f[n++] = (struct kv){"grant_type", "password"};
        f[n++] = (struct kv){"username", r->username};
        f[n++] = (struct kv){"password", r->password};
    } else {
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=rs256_bad_field field=grant");
    }
    f[n++] = (struct kv){"win_ver", wv};

    /* x5c: an array of standard base64 DER (RFC 7515 §4.1.6; libhimmelblau sends an
     * array, ROADtools a plain string). */
    x5c = lj_b64_encode(r->cert_der, r->cert_der_len, LJ_B64_STD, NULL);
    if (x5c == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    hb.cap = strlen(x5c) + 64;
    hb.p = malloc(hb.cap);
    if (hb.p == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    jb_raw(&hb, RS256_H1, sizeof(RS256_H1) - 1);
    jb_raw(&hb, x5c, strlen(x5c));
    jb_raw(&hb, RS256_H2, sizeof(RS256_H2) - 1);
    if (hb.fail) {
        rc = lj_err_set(LJ_ERR_INTERNAL, MOD, "event=json_build_overflow");
        goto out;
    }
    header = hb.p;
    hb.p = NULL;
    if ((rc = json_flat(f, n, &payload)) != LJ_OK)
        goto out;
    rc = signing_input(header, payload, input);
out:
    free(hb.p);
    free(x5c);
    free(header);
    lj_secret_free(payload);
    return rc;
}

enum lj_rc
prt_jwt_join(const char *input, const unsigned char *sig, size_t sig_len, char **jwt)
{
    char *s;
    enum lj_rc rc;

    if (input == NULL || sig == NULL || jwt == NULL || sig_len == 0 || sig_len > 1024 ||
        input[0] == '\0')
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=jwt_join_bad_args");
    s = lj_b64_encode(sig, sig_len, LJ_B64_URL, NULL);
    if (s == NULL)
        return LJ_ERR_NOMEM;
    rc = join_dot(input, s, jwt);
    free(s);
    return rc;
}

enum lj_rc
prt_body_jwt_bearer(const char *jwt, char **form)
{
    static const char pre[] = "windows_api_version=2.0&grant_type=urn%3Aietf%3Aparams%3Aoauth%3A"
                              "grant-type%3Ajwt-bearer&request=";
    static const char post[] = "&client_info=1";
    size_t n;
    char *s;

    if (jwt == NULL || form == NULL)
        return LJ_ERR_INVAL;
    n = strnlen(jwt, PRT_MAX_JWE + 1);
    if (n == 0 || n > PRT_MAX_JWE)
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=jwt_bearer_bad_jwt");
    /* A compact JWS is base64url and dots: all RFC 3986 unreserved, no escaping. */
    for (size_t i = 0; i < n; i++) {
        char c = jwt[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return lj_err_set(LJ_ERR_INVAL, MOD, "event=jwt_bearer_bad_jwt");
    }
    s = malloc(sizeof(pre) - 1 + n + sizeof(post));
    if (s == NULL)
        return LJ_ERR_NOMEM;
    memcpy(s, pre, sizeof(pre) - 1);
    memcpy(s + sizeof(pre) - 1, jwt, n);
    memcpy(s + sizeof(pre) - 1 + n, post, sizeof(post));
    *form = s;
    return LJ_OK;
}

/* ---- KDF ---- */

enum lj_rc
prt_sha256(const char *data, size_t len, unsigned char digest[32])
{
    wc_Sha256 sha;
    int ok;

    if (data == NULL || digest == NULL || len > 0xffffffffu)
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=sha256_bad_args");
    ok = wc_InitSha256(&sha) == 0 &&
         wc_Sha256Update(&sha, (const unsigned char *)data, (word32)len) == 0 &&
         wc_Sha256Final(&sha, digest) == 0;
    wc_Sha256Free(&sha);
    return ok ? LJ_OK : lj_err_set(LJ_ERR_CRYPTO, MOD, "event=sha256_failed");
}

enum lj_rc
prt_ctx_new(unsigned char ctx[PRT_CTX_LEN])
{
    WC_RNG rng;
    int e;

    if (ctx == NULL)
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=ctx_bad_args");
    if (wc_InitRng(&rng) != 0)
        return lj_err_set(LJ_ERR_CRYPTO, MOD, "event=rng_init_failed");
    e = wc_RNG_GenerateBlock(&rng, ctx, PRT_CTX_LEN);
    wc_FreeRng(&rng);
    return e == 0 ? LJ_OK : lj_err_set(LJ_ERR_CRYPTO, MOD, "event=rng_failed");
}

enum lj_rc
prt_kdf_input(int kdf_ver, const unsigned char ctx[PRT_CTX_LEN], const char *payload,
              size_t payload_len, unsigned char *out, size_t outsz, size_t *out_len)
{
    static const unsigned char counter[4] = {0, 0, 0, 1};
    static const unsigned char bits[4] = {0, 0, 1, 0}; /* L = 256 */
    static const char label[] = "AzureAD-SecureConversation";
    unsigned char digest[WC_SHA256_DIGEST_SIZE];
    const unsigned char *context = ctx;
    size_t clen = PRT_CTX_LEN, n = 0;

    if (ctx == NULL || out == NULL || out_len == NULL || outsz < PRT_KDF_INPUT_MAX ||
        (kdf_ver != 1 && kdf_ver != 2) || (kdf_ver == 2 && payload == NULL) ||
        payload_len > PRT_MAX_BODY)
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=kdf_bad_args");
    if (kdf_ver == 2) {
        wc_Sha256 sha;
        int ok = wc_InitSha256(&sha) == 0;

        /* [MS-OAPXBC] 3.1.5.2.1.3; ROADtools calculate_derived_key_v2 (the v1
         * layout below is AADInternals Get-PRTDerivedKey). */
        ok = ok && wc_Sha256Update(&sha, ctx, PRT_CTX_LEN) == 0 &&
             wc_Sha256Update(&sha, (const unsigned char *)payload, (word32)payload_len) == 0 &&
             wc_Sha256Final(&sha, digest) == 0;
        wc_Sha256Free(&sha);
        if (!ok)
            return lj_err_set(LJ_ERR_CRYPTO, MOD, "event=kdf_sha256_failed");
        context = digest;
        clen = sizeof(digest);
    }
    memcpy(out + n, counter, 4);
    n += 4;
    memcpy(out + n, label, sizeof(label) - 1);
    n += sizeof(label) - 1;
    out[n++] = 0;
    memcpy(out + n, context, clen);
    n += clen;
    memcpy(out + n, bits, 4);
    n += 4;
    *out_len = n;
    return LJ_OK;
}

/* ---- HS256 ---- */

enum lj_rc
prt_hs256_payload(const struct prt_hs256_req *r, char **payload_json)
{
    struct kv f[9];
    size_t n = 0;
    const char *wv, *client;
    char *redirect = NULL;
    enum lj_rc rc;

    if (r == NULL || payload_json == NULL || !token_ok(r->prt, PRT_MAX_FIELD) ||
        !token_ok(r->nonce, PRT_NONCE_MAX))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=hs256_bad_request");
    wv = r->win_ver ? r->win_ver : PRT_DEFAULT_WIN_VER;
    if (!win_ver_ok(wv))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=hs256_bad_field field=win_ver");
    if (r->kind == PRT_HS256_RENEW) {
        /* ROADtools renew_prt. */
        f[n++] = (struct kv){"client_id", PRT_WAM_CLIENT_ID};
        f[n++] = (struct kv){"request_nonce", r->nonce};
        f[n++] = (struct kv){"scope", PRT_SCOPE};
        f[n++] = (struct kv){"iss", "aad:brokerplugin"};
        f[n++] = (struct kv){"grant_type", "refresh_token"};
        f[n++] = (struct kv){"refresh_token", r->prt};
        f[n++] = (struct kv){"previous_refresh_token", r->prt};
        f[n++] = (struct kv){"win_ver", wv};
        return json_flat(f, n, payload_json);
    }
    if (r->kind != PRT_HS256_TOKEN)
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=hs256_bad_field field=kind");
    client = r->client_id ? r->client_id : PRT_BROKER_CLIENT_ID;
    if (!token_ok(client, MAX_ID))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=hs256_bad_field field=client_id");
    if ((r->resource == NULL) == (r->scope == NULL))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=hs256_bad_field field=resource_or_scope");
    if (r->resource != NULL && !token_ok(r->resource, MAX_URI))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=hs256_bad_field field=resource");
    if (r->scope != NULL && (r->scope[0] == '\0' || strnlen(r->scope, MAX_URI + 1) > MAX_URI ||
                             !prt_printable_or_space(r->scope)))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=hs256_bad_field field=scope");
    if (r->redirect_uri == NULL) {
        /* ROADtools aad_brokerplugin_prt_auth's default. */
        static const char pre[] = "ms-appx-web://Microsoft.AAD.BrokerPlugin/";
        size_t cl = strlen(client);

        redirect = malloc(sizeof(pre) + cl);
        if (redirect == NULL)
            return LJ_ERR_NOMEM;
        memcpy(redirect, pre, sizeof(pre) - 1);
        memcpy(redirect + sizeof(pre) - 1, client, cl + 1);
    } else if (!token_ok(r->redirect_uri, MAX_URI)) {
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=hs256_bad_field field=redirect_uri");
    }
    /* ROADtools aad_brokerplugin_prt_auth, pytune (Intune: the MDM redirect). */
    f[n++] = (struct kv){"client_id", client};
    if (r->resource != NULL)
        f[n++] = (struct kv){"resource", r->resource};
    else
        f[n++] = (struct kv){"scope", r->scope};
    f[n++] = (struct kv){"refresh_token", r->prt};
    f[n++] = (struct kv){"request_nonce", r->nonce};
    f[n++] = (struct kv){"grant_type", "refresh_token"};
    f[n++] = (struct kv){"redirect_uri", redirect ? redirect : r->redirect_uri};
    f[n++] = (struct kv){"iss", "aad:brokerplugin"};
    f[n++] = (struct kv){"win_ver", wv};
    rc = json_flat(f, n, payload_json);
    free(redirect);
    return rc;
}

enum lj_rc
prt_hs256_jwt(const unsigned char ctx[PRT_CTX_LEN], const char *payload_json,
              const unsigned char derived[32], char **jwt)
{
    static const char h1[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"ctx\":\"";
    static const char h2[] = "\",\"kdf_ver\":2}";
    char header[sizeof(h1) + sizeof(h2) + 40];
    unsigned char mac[WC_SHA256_DIGEST_SIZE];
    char *c64 = NULL, *input = NULL;
    Hmac hmac;
    size_t cl;
    int ok;
    enum lj_rc rc;

    if (ctx == NULL || payload_json == NULL || derived == NULL || jwt == NULL ||
        payload_json[0] == '\0' || strnlen(payload_json, PRT_MAX_BODY + 1) > PRT_MAX_BODY)
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=hs256_bad_args");
    /* ctx in STANDARD base64 with padding (ROADtools, [MS-OAPXBC] 3.2.5.1.2.1 example). */
    c64 = lj_b64_encode(ctx, PRT_CTX_LEN, LJ_B64_STD, &cl);
    if (c64 == NULL)
        return LJ_ERR_NOMEM;
    memcpy(header, h1, sizeof(h1) - 1);
    memcpy(header + sizeof(h1) - 1, c64, cl); /* 32 characters */
    memcpy(header + sizeof(h1) - 1 + cl, h2, sizeof(h2));
    free(c64);
    if ((rc = signing_input(header, payload_json, &input)) != LJ_OK)
        return rc;
    ok = wc_HmacInit(&hmac, NULL, INVALID_DEVID) == 0;
    ok = ok && wc_HmacSetKey(&hmac, WC_SHA256, derived, 32) == 0 &&
         wc_HmacUpdate(&hmac, (const unsigned char *)input, (word32)strlen(input)) == 0 &&
         wc_HmacFinal(&hmac, mac) == 0;
    wc_HmacFree(&hmac);
    lj_secure_zero(&hmac, sizeof(hmac));
    if (!ok) {
        rc = lj_err_set(LJ_ERR_CRYPTO, MOD, "event=hs256_hmac_failed");
        goto out;
    }
    rc = prt_jwt_join(input, mac, sizeof(mac), jwt);
out:
    lj_secure_zero(mac, sizeof(mac));
    lj_secret_free(input);
    return rc;
}
