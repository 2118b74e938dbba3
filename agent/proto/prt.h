/*
 * prt.h — the Primary Refresh Token messages of the Entra v1 token endpoint
 * ([MS-OAPXBC] 3.1.5.1.x, 3.2.5.1.2.x) as pure functions: the nonce
 * request and answer, the device-key signed (RS256) PRT request, the PRT
 * answer and its session_key_jwe, the session-key signed (HS256) request
 * and its encrypted (JWE, alg "dir", A256GCM) answer.  No I/O and no TPM:
 * the two private-key operations are the caller's —
 *   - the RS256 signature over prt_rs256_signing_input() (device key, TPM);
 *   - the HMAC-SHA256 of the SP 800-108 KDF over prt_kdf_input() (session
 *     key, TPM) — giving the HS256 signing key (kdf v2) and the answer's
 *     decryption key (kdf v1).
 * So each JWT is built in two steps: signing input (or payload) out, the
 * caller signs or derives, the JWT in.
 *
 * Checked against ROADtools (roadlib deviceauth.py get_prt_with_refresh_token,
 * get_prt_with_password, renew_prt, aad_brokerplugin_prt_auth,
 * decrypt_jwe_with_transport_key; auth.py calculate_derived_key(_v2),
 * decrypt_auth_response) and AADInternals (PRT_Utils.ps1 Get-PRTDerivedKey,
 * Sign-JWT; Decrypt-JWE).
 *
 * Secrets: refresh tokens, PRTs, passwords, request JWTs and form bodies that
 * hold one, decrypted answers.  They are marked "secret" below: the caller
 * frees them with lj_secret_free() (or the struct's free function, which
 * wipes).  Nothing here logs a token, key or nonce; error details name the
 * field or check that failed.
 */
#ifndef LJ_AGENT_PRT_H
#define LJ_AGENT_PRT_H

#include <stddef.h>

#include "platform/common/result.h"

/* The PRT requests' clients (ROADtools deviceauth.py). */
#define PRT_BROKER_CLIENT_ID "29d9ed98-a469-4536-ade2-f981bc1d605e" /* MS Auth Broker */
#define PRT_WAM_CLIENT_ID "38aa3b87-a06d-4817-b275-7a316988d93b"    /* Windows sign-in */
#define PRT_SCOPE "openid aza ugs"
/* Used when the caller gives no win_ver (ROADtools' value). */
#define PRT_DEFAULT_WIN_VER "10.0.19041.868"

/* Ceilings. */
#define PRT_NONCE_MAX 2048u         /* the longest nonce accepted (bytes) */
#define PRT_MAX_BODY (64u * 1024u)  /* a JSON answer */
#define PRT_MAX_JWE (128u * 1024u)  /* an encrypted answer */
#define PRT_MAX_FIELD (16u * 1024u) /* one token or JWE inside an answer */
#define PRT_CERT_MAX (8u * 1024u)   /* the device certificate (DER) */
#define PRT_CTX_LEN 24u             /* the KDF context of a JWT/JWE header */
#define PRT_EK_LEN 256u             /* session_key_jwe segment 2: RSA-2048 */
#define PRT_KDF_INPUT_MAX 67u       /* 4 + 26 + 1 + 32 + 4 */

/* ---- nonce ([MS-OAPXBC] 3.1.5.1.1) ---- */

/*
 * The srv_challenge form body: "grant_type=srv_challenge".  *out malloc'ed,
 * caller frees with free().  LJ_ERR_INVAL / LJ_ERR_NOMEM.
 */
enum lj_rc prt_body_challenge(char **out);

/*
 * The srv_challenge answer {"Nonce":"..."} (len bytes, at most PRT_MAX_BODY,
 * depth 2).  The nonce must be 1..nsz-1 bytes (and at most PRT_NONCE_MAX),
 * each printable ASCII without space (0x21-0x7e).  LJ_ERR_PARSE (not a JSON
 * object), LJ_ERR_TOO_BIG (body or nonce too long), LJ_ERR_PROTOCOL (Nonce
 * missing, not a string, empty, or a byte outside the range).  nonce is
 * written (NUL-terminated) only on success.  Not secret, but single-use.
 */
enum lj_rc prt_nonce_parse(const char *body, size_t len, char *nonce, size_t nsz);

/* ---- the PRT request, signed by the device key (RS256) ---- */

enum prt_grant {
    PRT_GRANT_REFRESH_TOKEN = 0, /* client PRT_BROKER_CLIENT_ID, refresh_token */
    PRT_GRANT_PASSWORD = 1,      /* client PRT_WAM_CLIENT_ID, username + password */
};

/* Borrowed; none is kept. */
struct prt_rs256_req {
    const unsigned char *cert_der; /* the device certificate, 1..PRT_CERT_MAX bytes */
    size_t cert_der_len;
    const char *nonce; /* from prt_nonce_parse */
    enum prt_grant grant;
    const char *refresh_token; /* PRT_GRANT_REFRESH_TOKEN */
    const char *username;      /* PRT_GRANT_PASSWORD */
    const char *password;      /* PRT_GRANT_PASSWORD */
    const char *win_ver;       /* dotted numbers; NULL = PRT_DEFAULT_WIN_VER */
};

/*
 * The RS256 signing input b64url(header) "." b64url(payload):
 *   header  {"alg":"RS256","typ":"JWT","x5c":["<std b64 DER>"],"kdf_ver":2}
 *   payload {"client_id":C,"request_nonce":N,"scope":"openid aza ugs",
 *            "grant_type":"refresh_token","refresh_token":RT,"win_ver":W}
 *        or {"client_id":C,"request_nonce":N,"scope":"openid aza ugs",
 *            "grant_type":"password","username":U,"password":P,"win_ver":W}
 * The caller signs it (RSASSA-PKCS1-v1_5, SHA-256, device key) and calls
 * prt_jwt_join().  LJ_ERR_INVAL for a missing or oversized field, a nonce
 * outside printable ASCII, a bad win_ver.  *input malloc'ed, secret
 * (lj_secret_free).
 */
enum lj_rc prt_rs256_signing_input(const struct prt_rs256_req *r, char **input);

/*
 * The compact JWT input "." b64url(sig) (sig_len 1..1024).  *jwt malloc'ed,
 * secret (it carries a refresh token, a password or a PRT): the caller wipes
 * it with lj_secret_free().  LJ_ERR_INVAL / LJ_ERR_NOMEM.
 */
enum lj_rc prt_jwt_join(const char *input, const unsigned char *sig, size_t sig_len, char **jwt);

/*
 * The token request form for a signed JWT (RS256 or HS256):
 *   windows_api_version=2.0&grant_type=urn%3Aietf%3Aparams%3Aoauth%3A
 *   grant-type%3Ajwt-bearer&request=<jwt>&client_info=1
 * *form malloc'ed, secret (lj_secret_free).  LJ_ERR_INVAL / LJ_ERR_NOMEM.
 */
enum lj_rc prt_body_jwt_bearer(const char *jwt, char **form);

/* ---- the PRT answer ---- */

struct prt_answer {
    char *prt;                /* refresh_token: secret */
    long long prt_expires_in; /* refresh_token_expires_in (s); 0 when absent */
    long long expires_in;     /* expires_in (s); 0 when absent */
    long long expires_on;     /* expires_on (unix s); 0 when absent */
    char *session_key_jwe;    /* PRT answer: required; renewal: NULL */
    char *id_token;           /* NULL when absent */
    char *client_info;        /* NULL when absent */
    char token_type[16];      /* "pop" (PRT answer) or "Bearer" (renewal) */
};

/*
 * Parse the 200 answer of the RS256 PRT request (JSON, at most PRT_MAX_BODY,
 * depth 4).  token_type must be "pop" (any case); refresh_token and
 * session_key_jwe required, each 1..PRT_MAX_FIELD printable ASCII bytes
 * without space; numbers may be JSON numbers or decimal strings, each
 * 0..2^31-1 (expires_on 0..253402300799).  LJ_ERR_PARSE (not a JSON object),
 * LJ_ERR_TOO_BIG (body over its ceiling or too deep), LJ_ERR_PROTOCOL (a
 * field missing, of the wrong type, too long or out of range; the detail
 * names it).  The caller still owns and wipes body.  *out written only on
 * success; free with prt_answer_free().
 */
enum lj_rc prt_answer_parse(const char *body, size_t len, struct prt_answer *out);

/*
 * Parse the decrypted answer of a PRT renewal (HS256 request, renewal
 * payload): token_type "Bearer" (any case), refresh_token (the new PRT)
 * required, refresh_token_expires_in, expires_in, id_token, client_info
 * optional; an access_token is ignored; session_key_jwe stays NULL (the
 * session key does not change).  Results and limits as prt_answer_parse.
 * (The access-token answer is read by oauth_token_parse.)
 */
enum lj_rc prt_renew_answer_parse(const char *plain, size_t len, struct prt_answer *out);

/* Wipe and free what *a holds; NULL is fine. */
void prt_answer_free(struct prt_answer *a);

/*
 * Segment 2 of session_key_jwe (compact JWE, at most PRT_MAX_FIELD bytes,
 * NUL-terminated): the session key encrypted (RSA-OAEP, SHA-1) to the
 * transport key; the caller has the TPM decrypt it.  The protected header
 * must carry alg "RSA-OAEP" and enc "A256GCM"; segments 3-5 are not used
 * (as ROADtools decrypt_jwe_with_transport_key and AADInternals Decrypt-JWE).
 * LJ_ERR_TOO_BIG (over the ceiling), LJ_ERR_PARSE (not 5 segments, bad
 * base64url, header not a JSON object), LJ_ERR_PROTOCOL (alg or enc other,
 * segment 2 not exactly PRT_EK_LEN bytes); the detail names the check.
 * ek (PRT_EK_LEN bytes) and *ek_len written only on success.
 */
enum lj_rc prt_session_key_jwe_parse(const char *jwe, unsigned char ek[PRT_EK_LEN], size_t *ek_len);

/* ---- the session-key KDF ([MS-OAPXBC] 3.1.5.2.1.3, NIST SP 800-108) ---- */

/*
 * The fixed input of one counter-mode block:
 *   00000001 || "AzureAD-SecureConversation" || 00 || context || 00000100
 * with context = ctx (kdf_ver 1) or SHA-256(ctx || payload) (kdf_ver 2,
 * payload = the exact JSON bytes of the JWT's second segment; payload may
 * be NULL for kdf_ver 1).  The derived key is HMAC-SHA256(session key,
 * out[0..*out_len)), computed by the caller (the TPM holds the session key).
 * outsz >= PRT_KDF_INPUT_MAX.  LJ_ERR_INVAL (kdf_ver not 1 or 2, outsz too
 * small, payload missing for v2 or over PRT_MAX_BODY), LJ_ERR_CRYPTO
 * (SHA-256 failed).  Not
 * secret (ctx and payload are sent in clear).
 */
enum lj_rc prt_kdf_input(int kdf_ver, const unsigned char ctx[PRT_CTX_LEN], const char *payload,
                         size_t payload_len, unsigned char *out, size_t outsz, size_t *out_len);

/*
 * SHA-256 of data (the RS256 signing input, which the TPM then signs as a
 * digest).  LJ_ERR_INVAL / LJ_ERR_CRYPTO.
 */
enum lj_rc prt_sha256(const char *data, size_t len, unsigned char digest[32]);

/*
 * PRT_CTX_LEN fresh random bytes (wolfSSL's DRBG) for a request header's
 * ctx: the KDF context, new for every request.  LJ_ERR_CRYPTO.
 */
enum lj_rc prt_ctx_new(unsigned char ctx[PRT_CTX_LEN]);

/* ---- requests signed with the session key (HS256) ---- */

enum prt_hs256_kind {
    PRT_HS256_TOKEN = 0, /* an access token for client_id and resource|scope */
    PRT_HS256_RENEW = 1, /* a new PRT (client PRT_WAM_CLIENT_ID, scope PRT_SCOPE) */
};

/* Borrowed; none is kept. */
struct prt_hs256_req {
    enum prt_hs256_kind kind;
    const char *prt;     /* the PRT (refresh_token; previous_refresh_token on renewal) */
    const char *nonce;   /* from prt_nonce_parse */
    const char *win_ver; /* NULL = PRT_DEFAULT_WIN_VER */
    /* PRT_HS256_TOKEN only: */
    const char *client_id; /* NULL = PRT_BROKER_CLIENT_ID */
    const char *resource;  /* exactly one of resource and scope */
    const char *scope;
    const char *redirect_uri; /* NULL = ms-appx-web://Microsoft.AAD.BrokerPlugin/<client_id> */
};

/*
 * The JSON payload of an HS256 request, the exact bytes that go (base64url)
 * into the JWT and into the kdf v2 context:
 *   token {"client_id":C,"resource":R|"scope":S,"refresh_token":PRT,
 *          "request_nonce":N,"grant_type":"refresh_token","redirect_uri":U,
 *          "iss":"aad:brokerplugin","win_ver":W}
 *   renew {"client_id":"38aa3b87-...","request_nonce":N,"scope":"openid aza ugs",
 *          "iss":"aad:brokerplugin","grant_type":"refresh_token",
 *          "refresh_token":PRT,"previous_refresh_token":PRT,"win_ver":W}
 * (ROADtools aad_brokerplugin_prt_auth and renew_prt).  LJ_ERR_INVAL for a
 * missing or bad field (both or neither of resource/scope).  *payload_json
 * malloc'ed, secret (lj_secret_free).
 */
enum lj_rc prt_hs256_payload(const struct prt_hs256_req *r, char **payload_json);

/*
 * The HS256 JWT b64url(header).b64url(payload_json).b64url(HMAC-SHA256(
 * derived, signing input)) with header {"alg":"HS256","typ":"JWT","ctx":
 * "<std b64 of ctx>","kdf_ver":2}; derived is the kdf v2 key from ctx and
 * payload_json.  *jwt malloc'ed, secret (lj_secret_free).  LJ_ERR_INVAL,
 * LJ_ERR_NOMEM, LJ_ERR_CRYPTO (HMAC failed).
 */
enum lj_rc prt_hs256_jwt(const unsigned char ctx[PRT_CTX_LEN], const char *payload_json,
                         const unsigned char derived[32], char **jwt);

/* ---- the encrypted answer of an HS256 request (RFC 7516, alg "dir") ---- */

/*
 * The answer body is a compact JWE unless it starts with '{' (then it is a
 * plain JSON error; the caller reads it with oauth_error_parse).
 *
 * prt_jwe_header_ctx: the ctx (PRT_CTX_LEN bytes, standard base64 in the
 * protected header) the caller derives the kdf v1 key from.  len at most
 * PRT_MAX_JWE; body need not be NUL-terminated.  The header must carry alg
 * "dir" and enc "A256GCM".  LJ_ERR_TOO_BIG, LJ_ERR_PARSE (not 5 segments,
 * bad base64url, header not a JSON object, ctx not base64 of 24 bytes),
 * LJ_ERR_PROTOCOL (alg, enc or ctx missing or other).  ctx written only on
 * success.
 */
enum lj_rc prt_jwe_header_ctx(const char *jwe, size_t len, unsigned char ctx[PRT_CTX_LEN]);

/*
 * Decrypt the same JWE with key (the kdf v1 derived key): AES-256-GCM, IV
 * segment 3 (12 bytes), ciphertext segment 4 (at most PRT_MAX_BODY bytes),
 * tag segment 5 (16 bytes), AAD the ASCII of segment 1; segment 2 must be
 * empty.  The header is checked as above first.  LJ_ERR_TOO_BIG,
 * LJ_ERR_PARSE, LJ_ERR_PROTOCOL (header, segment 2 not empty, IV or tag of
 * another length), LJ_ERR_CRYPTO (the tag does not verify: wrong key or a
 * changed message).  *plain (NUL-terminated; *plain_len excludes the NUL)
 * malloc'ed, secret (lj_secret_free); written only on success.
 */
enum lj_rc prt_jwe_decrypt(const char *jwe, size_t len, const unsigned char key[32], char **plain,
                           size_t *plain_len);

#endif
