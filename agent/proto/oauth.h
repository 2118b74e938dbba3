/*
 * oauth.h — OAuth2 against the Entra authority, as pure functions: request
 * URLs and form bodies in, parsed responses and decisions out.  No I/O: the
 * caller (the sign-in step of the flow) sends what these build over
 * agent/http and hands the response body back.
 *
 * Secrets (passwords, device codes, authorization codes, PKCE verifiers,
 * access/refresh/id tokens) live only in buffers this module wipes before
 * freeing; bodies that contain one are marked "secret" below and must be
 * freed with lj_secret_free().  Log lines use oauth_redact().
 */
#ifndef LJ_AGENT_OAUTH_H
#define LJ_AGENT_OAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "platform/common/result.h"

#define OAUTH_DEFAULT_AUTHORITY "https://login.microsoftonline.com"
/* Microsoft Authentication Broker: the client AADInternals and himmelblau join with. */
#define OAUTH_BROKER_CLIENT_ID "29d9ed98-a469-4536-ade2-f981bc1d605e"
#define OAUTH_DEFAULT_REDIRECT "ms-aadj-redir://auth/drs"
/* The Intune enrollment token's redirect (pytune get_enrollment_token, ROADtools firstpartyscopes).
 */
#define OAUTH_MDM_REDIRECT "ms-aadj-redir://auth/mdm"
/* DRS: v1 resource and v2 scope (roadtx constants.py, libhimmelblau auth.rs). */
#define OAUTH_DRS_RESOURCE "urn:ms-drs:enterpriseregistration.windows.net"
#define OAUTH_DRS_SCOPE "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9/.default offline_access"
/* Intune enrollment (AADInternals MDM.ps1, pytune). */
#define OAUTH_MDM_RESOURCE "https://enrollment.manage.microsoft.com/"
#define OAUTH_MDM_SCOPE "https://enrollment.manage.microsoft.com/.default offline_access"

/* Ceilings for what the token endpoint may send. */
#define OAUTH_MAX_BODY (64u * 1024u)
#define OAUTH_MAX_TOKEN (16u * 1024u)

enum oauth_api {
    OAUTH_V1 = 1, /* /oauth2/token, "resource=" */
    OAUTH_V2 = 2, /* /oauth2/v2.0/token, "scope=" */
};

/* Who to ask and for what.  Borrowed strings; none is kept. */
struct oauth_params {
    const char *authority; /* https://host[:port], no path; NULL = default */
    const char *tenant;    /* domain, tenant GUID, or "organizations" */
    const char *client_id; /* NULL = OAUTH_BROKER_CLIENT_ID */
    enum oauth_api api;
    const char *target; /* v1: resource URI; v2: space-separated scopes */
};

enum oauth_endpoint {
    OAUTH_EP_DEVICECODE = 0,
    OAUTH_EP_TOKEN = 1,
    OAUTH_EP_AUTHORIZE = 2,
};

/*
 * The URL of an endpoint: {authority}/{tenant}/oauth2/v2.0/{devicecode,token,
 * authorize} (v2) or {authority}/{tenant}/oauth2/{devicecode?api-version=1.0,
 * token,authorize} (v1).  LJ_ERR_INVAL when authority is not https or tenant
 * has characters outside [A-Za-z0-9.-_].  *out: malloc'ed, caller frees.
 */
enum lj_rc oauth_endpoint_url(const struct oauth_params *p, enum oauth_endpoint ep, char **out);

/*
 * Form bodies (application/x-www-form-urlencoded, every value %-escaped).
 * *out is malloc'ed; bodies marked secret must be freed with
 * lj_secret_free(), the others with free().
 *   devicecode_start: client_id + scope|resource                (not secret)
 *   devicecode_poll:  grant_type=urn:ietf:params:oauth:grant-type:device_code,
 *                     client_id, device_code (v2) | code + resource (v1)  (secret)
 *   password:         grant_type=password, client_id, username, password,
 *                     scope|resource                            (secret)
 *   code_redeem:      grant_type=authorization_code, client_id, code,
 *                     redirect_uri, code_verifier, scope|resource (secret)
 *   refresh:          grant_type=refresh_token, client_id, refresh_token,
 *                     scope|resource (p->target names the new resource) (secret)
 */
enum lj_rc oauth_body_devicecode_start(const struct oauth_params *p, char **out);
enum lj_rc oauth_body_devicecode_poll(const struct oauth_params *p, const char *device_code,
                                      char **out);
enum lj_rc oauth_body_password(const struct oauth_params *p, const char *username,
                               const char *password, char **out);
enum lj_rc oauth_body_code_redeem(const struct oauth_params *p, const char *code,
                                  const char *redirect_uri, const char *code_verifier, char **out);
enum lj_rc oauth_body_refresh(const struct oauth_params *p, const char *refresh_token, char **out);

/*
 * %-escape s for a query string or form value (RFC 3986 unreserved kept,
 * everything else %XX, space as %20).  *out malloc'ed, caller frees.
 */
enum lj_rc oauth_escape(const char *s, char **out);

/* ---- authorization code + PKCE (RFC 7636, S256) ---- */

struct oauth_pkce {
    char verifier[44];  /* b64url(32 CSPRNG bytes): 43 chars; secret */
    char challenge[44]; /* b64url(SHA-256(verifier)): 43 chars */
    char state[23];     /* b64url(16 CSPRNG bytes): 22 chars */
};

/* Fill *pk from wolfSSL's RNG.  LJ_ERR_CRYPTO if the RNG fails. */
enum lj_rc oauth_pkce_new(struct oauth_pkce *pk);
/* challenge = b64url(SHA-256(verifier)) into out[44].  LJ_ERR_INVAL/LJ_ERR_CRYPTO. */
enum lj_rc oauth_pkce_challenge(const char *verifier, char out[44]);
/* Wipe *pk (call when the code is redeemed or abandoned). */
void oauth_pkce_wipe(struct oauth_pkce *pk);

/*
 * The authorize URL: {authorize endpoint}?client_id&response_type=code&
 * redirect_uri&scope|resource&state&code_challenge&code_challenge_method=S256
 * (+ prompt=login when force_prompt).  *out malloc'ed, caller frees.
 */
enum lj_rc oauth_authorize_url(const struct oauth_params *p, const char *redirect_uri,
                               const struct oauth_pkce *pk, bool force_prompt, char **out);

struct oauth_error;

/* The longest error_description kept from an authorize redirect. */
#define OAUTH_REDIRECT_DESC_MAX 200

/*
 * Check a redirect the web view (or loopback listener) caught: its
 * scheme/host/path must equal redirect_uri exactly, its query must carry
 * state equal to pk->state (constant time) and a code.  State is checked
 * first: a missing or wrong state is LJ_ERR_PROTOCOL whatever else the
 * query holds (an error= included), and *err is not touched.  An error=...
 * redirect with our state (RFC 6749 §4.1.2.1) fills *err (when given) and
 * returns LJ_ERR_AUTH: error and error_description keep only the characters
 * that section allows (others become spaces), the description at most
 * OAUTH_REDIRECT_DESC_MAX bytes.  A missing code is LJ_ERR_PROTOCOL.  On
 * success *code is malloc'ed (secret: lj_secret_free).  url at most 16 KiB.
 */
enum lj_rc oauth_redirect_parse(const struct oauth_pkce *pk, const char *redirect_uri,
                                const char *url, char **code, struct oauth_error *err);

/*
 * The same check for a code and state handed over separately (the UI's
 * auth_code message).  LJ_ERR_PROTOCOL on state mismatch or a malformed code.
 */
enum lj_rc oauth_code_check(const struct oauth_pkce *pk, const char *code, const char *state);

/* ---- responses ---- */

struct oauth_device_code {
    char *device_code; /* secret; wiped by oauth_device_code_free */
    char *user_code;
    char *verification_uri; /* https only */
    char *
        verification_uri_complete; /* RFC 8628 3.2 (OPTIONAL): https, holds the code; may be NULL */
    char *message;                 /* the server's text for the person, as sent; may be NULL */
    long expires_in;               /* seconds, 1..86400 */
    long interval;                 /* seconds, 1..60; 5 when the server omits it */
};

/*
 * Parse a devicecode response (at most OAUTH_MAX_BODY bytes, depth 4).
 * LJ_ERR_PARSE / LJ_ERR_TOO_BIG / LJ_ERR_PROTOCOL (a field missing, of the
 * wrong type or out of range).  *out is written only on success; free with
 * oauth_device_code_free().
 */
enum lj_rc oauth_device_code_parse(const char *body, size_t len, struct oauth_device_code *out);
void oauth_device_code_free(struct oauth_device_code *dc);

struct oauth_token {
    char *access_token;  /* secret */
    char *refresh_token; /* secret; NULL when not issued */
    char *id_token;      /* secret-ish; NULL when not issued */
    long expires_in;     /* seconds; 0 when absent */
};

/*
 * Parse a token response (Bearer only).  The caller still owns and must wipe
 * body.  *out written only on success; free with oauth_token_free(), which
 * wipes.
 */
enum lj_rc oauth_token_parse(const char *body, size_t len, struct oauth_token *out);
void oauth_token_free(struct oauth_token *t);

/* What an error response means for the flow. */
enum oauth_err_class {
    OAUTH_ERRC_OTHER = 0,        /* anything not below: carry the server text */
    OAUTH_ERRC_PENDING,          /* authorization_pending, 70016 */
    OAUTH_ERRC_SLOW_DOWN,        /* slow_down */
    OAUTH_ERRC_EXPIRED,          /* expired_token, code_expired, 70019 */
    OAUTH_ERRC_DECLINED,         /* authorization_declined, access_denied, 65004 */
    OAUTH_ERRC_BAD_PASSWORD,     /* 50126 */
    OAUTH_ERRC_UNKNOWN_USER,     /* 50034 */
    OAUTH_ERRC_DISABLED,         /* 50057 */
    OAUTH_ERRC_LOCKED,           /* 50053 */
    OAUTH_ERRC_PASSWORD_EXPIRED, /* 50055, 50144 */
    OAUTH_ERRC_UNKNOWN_TENANT,   /* 90002, 50128, 50059, 90019 */
    OAUTH_ERRC_MFA_REQUIRED,     /* 50076, 50074 */
    OAUTH_ERRC_CA_BLOCKED,       /* 53003 */
    OAUTH_ERRC_REFRESH_INVALID,  /* refresh grant: invalid_grant, 70008, 700082, 50173 */
    /* Device authentication (PRT requests; Microsoft Learn reference-error-codes): */
    OAUTH_ERRC_DEVICE_AUTH_FAILED, /* 50155, 50097: not (yet) accepted, e.g. right after a join */
    OAUTH_ERRC_DEVICE_DISABLED,    /* 135011: the device object is disabled */
    OAUTH_ERRC_DEVICE_NOT_FOUND,   /* 700003: the device object is gone (deleted) */
    /* Conditional Access and sign-in policy, checked before the generic
     * invalid_grant of a refresh grant (names: Microsoft Learn
     * reference-error-codes, as in himmelblau-idm/libhimmelblau aadsts_err_gen.rs) */
    OAUTH_ERRC_CA_PLATFORM,        /* 50005 DevicePolicyError: platform not allowed */
    OAUTH_ERRC_CA_COMPLIANT,       /* 53000 DeviceNotCompliant */
    OAUTH_ERRC_CA_DOMAIN_JOINED,   /* 53001 DeviceNotDomainJoined */
    OAUTH_ERRC_CA_APPROVED_APP,    /* 53002 ApplicationUsedIsNotAnApprovedApp */
    OAUTH_ERRC_CA_PROOFUP_RISK,    /* 53004 ProofUpBlockedDueToRisk */
    OAUTH_ERRC_CA_SECURITY_POLICY, /* 530032 BlockedByConditionalAccessOnSecurityPolicy */
    OAUTH_ERRC_CA_DELEGATED_ADMIN, /* 530034 DelegatedAdminBlockedDueToSuspiciousActivity */
    OAUTH_ERRC_SECURITY_DEFAULTS,  /* 530035 BlockedBySecurityDefaults */
    OAUTH_ERRC_CA_EXTERNAL,        /* 50158 ExternalSecurityChallenge */
    OAUTH_ERRC_MFA_REGISTRATION,   /* 50079, 50072: the user must register MFA first */
    OAUTH_ERRC_REDIRECT_MISMATCH,  /* 50011 InvalidReplyTo: configuration */
    OAUTH_ERRC_BAD_USER_CODE,      /* 70018 BadVerificationCode */
    OAUTH_ERRC_COUNT__
};

enum oauth_grant {
    OAUTH_GRANT_DEVICE_CODE = 0,
    OAUTH_GRANT_PASSWORD,
    OAUTH_GRANT_AUTH_CODE,
    OAUTH_GRANT_REFRESH,
};

struct oauth_error {
    char error[64];        /* "invalid_grant" */
    char description[512]; /* error_description, control chars blanked */
    unsigned long aadsts;  /* first of error_codes, else from description; 0 = none */
    char trace_id[64];
    char correlation_id[64];
    char timestamp[64];
    enum oauth_err_class cls;
};

/*
 * Parse a token/devicecode error body (JSON with "error").  The grant that
 * was attempted decides refresh-token classification.  LJ_ERR_PARSE when the
 * body is not such a JSON object (the caller then reports the HTTP status).
 * *out written only on success.
 */
enum lj_rc oauth_error_parse(const char *body, size_t len, enum oauth_grant grant,
                             struct oauth_error *out);

/* Classify from the error string and AADSTS code alone. */
enum oauth_err_class oauth_error_classify(const char *error, unsigned long aadsts,
                                          enum oauth_grant grant);

/* A stable name for a class ("pending", "mfa_required", ...); never NULL. */
const char *oauth_err_class_name(enum oauth_err_class cls);

/* ---- device-code polling (RFC 8628 §3.5) ---- */

enum oauth_poll_action {
    OAUTH_POLL_WAIT = 0, /* sleep *wait_s seconds, then poll again */
    OAUTH_POLL_EXPIRED,  /* the code expired: report signin_expired */
    OAUTH_POLL_STOP,     /* any other error: classify and report it */
};

/*
 * Decide what follows a poll answer of class cls at time now (seconds, any
 * monotonic base) when the code expires at expires_at.  *interval is the
 * current polling interval; slow_down adds 5 seconds to it (capped at 60).
 * A WAIT never sleeps past expires_at; a pending answer at or after
 * expires_at is EXPIRED.  Pure function.
 */
enum oauth_poll_action oauth_poll_next(enum oauth_err_class cls, long long now,
                                       long long expires_at, long *interval, long *wait_s);

/* ---- JWT claims ---- */

/*
 * Claims read from a JWT payload WITHOUT checking its signature.  Why that is
 * right here: the token arrived straight from the token endpoint over
 * verified TLS, so its origin is already established; the agent uses the
 * claims only to display the UPN, pick the tenant id and refuse to send a
 * token whose audience is not DRS; the resource server (DRS, Intune) is the
 * party that validates the signature.  Microsoft also documents access
 * tokens as opaque to clients (some carry a header nonce that makes
 * client-side verification fail).  Never use these claims for an
 * authorization decision.
 */
struct oauth_jwt_claims {
    char aud[256]; /* first audience when aud is an array */
    char tid[64];
    char oid[64];
    char upn[256]; /* upn, else preferred_username, else unique_name */
    char amr[128]; /* space-separated, e.g. "pwd mfa" */
    long long exp; /* 0 when absent */
    /*
     * Entra's MDM URL claim (a restricted claim, Microsoft Learn "claims
     * mapping"): present only when the
     * user is inside the tenant's MDM user scope; "" when absent.
     */
    char mdm_enrollment_url[512];
    /*
     * The Entra device id of a device-authenticated token (claim
     * "deviceid"; AADInternals MDM.ps1 Join-DeviceToIntune and pytune
     * get_enrollment_token read it); "" when absent.
     */
    char deviceid[64];
};

/*
 * Decode header.payload.signature (at most OAUTH_MAX_TOKEN bytes) and read
 * the claims above.  LJ_ERR_PARSE when it is not a JWT.  *out written only
 * on success.
 */
enum lj_rc oauth_jwt_claims_parse(const char *jwt, struct oauth_jwt_claims *out);

/* true when the space-separated amr list contains method (e.g. "mfa"). */
bool oauth_jwt_has_amr(const struct oauth_jwt_claims *c, const char *method);

/* ---- logging ---- */

/*
 * Copy a URL, query or form body into out (size outsz, always terminated)
 * with the values of secret keys (password, code, device_code,
 * code_verifier, refresh_token, access_token, id_token, client_secret,
 * assertion, client_assertion, request) replaced by "***".  Returns out.
 */
char *oauth_redact(const char *in, char *out, size_t outsz);

#endif
