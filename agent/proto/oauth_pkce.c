/*
 * oauth_pkce.c — the authorization code grant with PKCE (RFC 6749 §4.1,
 * RFC 7636): verifier, state and S256 challenge, the authorize URL, and the
 * redirect the browser comes back with (redirect URI matched byte for byte,
 * state compared in constant time, code checked before use).
 */
#include "agent/proto/oauth_int.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <stdlib.h>
#include <string.h>

#include "agent/proto/pjson.h"
#include "platform/common/b64.h"
#include "platform/common/secmem.h"

#define MAX_URL (16u * 1024u)

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
        !oauth_valid_token_chars(verifier, 128, "-._~"))
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
    struct oauth_sbuf b = {0};
    char *base = NULL;
    enum lj_rc rc;

    if (pk == NULL || out == NULL || !oauth_nonempty(redirect_uri, 1024) ||
        strlen(pk->state) != 22 || strlen(pk->challenge) != 43)
        return LJ_ERR_INVAL;
    rc = oauth_endpoint_url(p, OAUTH_EP_AUTHORIZE, &base);
    if (rc != LJ_OK)
        return rc;
    oauth_sb_str(&b, base);
    oauth_sb_put(&b, "?", 1);
    oauth_sb_param(&b, "client_id", oauth_client_id(p));
    oauth_sb_param(&b, "response_type", "code");
    oauth_sb_param(&b, "redirect_uri", redirect_uri);
    oauth_sb_target(&b, p);
    oauth_sb_param(&b, "state", pk->state);
    oauth_sb_param(&b, "code_challenge", pk->challenge);
    oauth_sb_param(&b, "code_challenge_method", "S256");
    if (force_prompt)
        oauth_sb_param(&b, "prompt", "login");
    free(base);
    return oauth_sb_finish(&b, out);
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

bool
oauth_code_chars_ok(const char *code)
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
    if (!oauth_code_chars_ok(code))
        return lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=bad_code");
    return LJ_OK;
}

/* Is state (NULL: none) the one this sign-in sent?  Constant time. */
static bool
state_ok(const struct oauth_pkce *pk, const char *state)
{
    size_t sl = strlen(pk->state);

    return state != NULL && sl > 0 && strlen(state) == sl && lj_secure_equal(state, pk->state, sl);
}

/*
 * Copy src (NULL: "") into dst[dstsz], keeping only the characters
 * RFC 6749 §4.1.2.1 allows in error and error_description (%x20-21 /
 * %x23-5B / %x5D-7E); any other byte becomes a space.  Cut at dstsz - 1.
 */
static void
copy_nqschar(char *dst, size_t dstsz, const char *src)
{
    size_t n = 0;

    for (; src != NULL && src[n] != '\0' && n + 1 < dstsz; n++) {
        unsigned char c = (unsigned char)src[n];

        dst[n] = (c < 0x20 || c > 0x7e || c == '"' || c == '\\') ? ' ' : (char)c;
    }
    dst[n] = '\0';
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
    /*
     * State first, for an error as for a code: RFC 6749 §4.1.2.1 returns
     * state with an error, and without ours the request may come from any
     * local process or web page (RFC 8252 §8.1).  Nothing of such a request
     * is kept or logged.
     */
    if (!state_ok(pk, state)) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=%s",
                        state == NULL ? "redirect_without_state" : "state_mismatch");
        goto out;
    }
    if (error != NULL) {
        if (err != NULL) {
            const char *a;

            memset(err, 0, sizeof(*err));
            copy_nqschar(err->error, sizeof(err->error), error);
            copy_nqschar(err->description, OAUTH_REDIRECT_DESC_MAX + 1, desc);
            a = strstr(err->description, "AADSTS");
            if (a != NULL)
                err->aadsts = strtoul(a + 6, NULL, 10);
            err->cls = oauth_error_classify(err->error, err->aadsts, OAUTH_GRANT_AUTH_CODE);
        }
        rc = lj_err_set(LJ_ERR_AUTH, MOD, "event=authorize_error");
        goto out;
    }
    if (code == NULL) {
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
