/*
 * oauth_int.h — private to agent/proto/oauth_*.c: the wiping form builder
 * and the parameter and value checks the files share.  The public API is
 * oauth.h; nothing outside agent/proto/oauth_*.c includes this.
 *
 * Where each part lives:
 *   oauth_request.c  form builder, parameters, endpoint URLs, grant bodies
 *                    (RFC 6749, RFC 8628 device code), log redaction
 *   oauth_pkce.c     authorization code with PKCE (RFC 7636): verifier and
 *                    challenge, authorize URL, redirect parsing
 *   oauth_answer.c   device-code, token and error answers, their
 *                    classification, the polling decision (RFC 8628) and the
 *                    claims of a JWT (RFC 7519)
 */
#ifndef LJ_OAUTH_INT_H
#define LJ_OAUTH_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/proto/oauth.h"

#define MOD "oauth"

/*
 * A growable string that never uses realloc: when it grows, the old copy
 * is wiped, because a body may hold a password.  Start with {0}; any
 * failure (allocation, the 64 KiB cap) sets fail and later appends do
 * nothing; oauth_sb_finish hands the string over or wipes it.
 */
struct oauth_sbuf {
    char *p;
    size_t len, cap;
    bool fail;
};

/* ---- oauth_request.c ---- */

/* Append n bytes of s. */
void oauth_sb_put(struct oauth_sbuf *b, const char *s, size_t n);
/* Append the string s. */
void oauth_sb_str(struct oauth_sbuf *b, const char *s);
/* Append "&key=escaped(value)" ("key=..." when first or after '?'). */
void oauth_sb_param(struct oauth_sbuf *b, const char *key, const char *value);
/* Append the grant's target: scope (v2) or resource (v1). */
void oauth_sb_target(struct oauth_sbuf *b, const struct oauth_params *p);
/*
 * Hand the built string to *out (caller frees; lj_secret_free when it may
 * hold a secret), or wipe it and return LJ_ERR_NOMEM.
 */
enum lj_rc oauth_sb_finish(struct oauth_sbuf *b, char **out);
/* p's client id, or the broker's. */
const char *oauth_client_id(const struct oauth_params *p);
/* s is not NULL, not empty and at most max bytes. */
bool oauth_nonempty(const char *s, size_t max);
/* 1..max characters, each alphanumeric or in extra. */
bool oauth_valid_token_chars(const char *s, size_t max, const char *extra);

/* ---- oauth_pkce.c ---- */

/* 1..OAUTH_MAX_TOKEN printable ASCII characters, no space (codes, URIs). */
bool oauth_code_chars_ok(const char *code);

#endif
