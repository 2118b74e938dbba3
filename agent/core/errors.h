/*
 * errors.h — the failure taxonomy: every way a join can fail, named once.
 *
 * One table (agent/core/errors.c) maps each reason to its phase, slug,
 * Windows-compatible code, who can fix it, the sentence the person at the
 * device reads, the admin-center path that changes it, whether a plain retry
 * can help, and the process exit code.  README.md's "Failure reasons" table
 * is generated from it (`linkjoin errors --markdown`) and a unit test keeps
 * the two identical.  Slugs are a contract (UI, status, scripts): never
 * rename one; add new reasons anywhere in the enum, the table order is the
 * enum order.  Server answers are classified in agent/proto/classify.h
 * (this header sits below the protocol modules and includes none of them).
 */
#ifndef LJ_AGENT_ERRORS_H
#define LJ_AGENT_ERRORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/common/result.h"

enum lj_phase {
    LJ_PHASE_PREFLIGHT = 0,
    LJ_PHASE_SIGNIN,
    LJ_PHASE_KEYS,
    LJ_PHASE_DISCOVER,
    LJ_PHASE_JOIN,
    LJ_PHASE_MDM,
    LJ_PHASE_COUNT__
};

enum lj_fix_by {
    LJ_FIX_USER = 0,
    LJ_FIX_ADMIN,
    LJ_FIX_RETRY,
    LJ_FIX_HARDWARE,
    LJ_FIX_SUPPORT,
    LJ_FIX_COUNT__
};

enum lj_reason {
    /* preflight / any network step */
    LJ_R_CLOCK_WRONG = 0,
    LJ_R_NETWORK_UNREACHABLE, /* cannot connect (refused, unreachable, reset) */
    LJ_R_NETWORK_DNS,         /* same slug: the name did not resolve */
    LJ_R_NETWORK_TIMEOUT,     /* same slug: the connection timed out */
    LJ_R_TLS_UNTRUSTED,
    LJ_R_NETWORK_INTERCEPTED,
    LJ_R_NETWORK_INTERCEPTED_TLS,   /* same slug: the proxy inspects TLS */
    LJ_R_NETWORK_INTERCEPTED_PROXY, /* same slug: a web page from the proxy */
    LJ_R_PROXY_UNREACHABLE,
    LJ_R_PROXY_AUTH_REQUIRED,
    /* TPM */
    LJ_R_TPM_UNAVAILABLE,
    LJ_R_TPM_LOCKED,
    LJ_R_TPM_FAILED,
    LJ_R_TPM_KEYS_LOST,
    LJ_R_DEVICE_KEY_OUTDATED,       /* a key of the RSASSA-only template asked for RSA-PSS */
    LJ_R_TLS_SIGNATURE_UNSUPPORTED, /* a TLS server asks for a signature the device key lacks */
    /* sign-in */
    LJ_R_WRONG_PASSWORD,
    LJ_R_UNKNOWN_USER,
    LJ_R_USER_DISABLED,
    LJ_R_ACCOUNT_LOCKED,
    LJ_R_PASSWORD_EXPIRED,
    LJ_R_TENANT_NOT_FOUND,
    LJ_R_MFA_REQUIRED,
    LJ_R_BLOCKED_BY_CA,
    /*
     * Conditional Access (and security defaults) by AADSTS code: the same
     * slug blocked_by_conditional_access, each with the policy condition or
     * grant that refused, so the admin action names it.
     */
    LJ_R_CA_PLATFORM,               /* 50005 */
    LJ_R_CA_COMPLIANT,              /* 53000 */
    LJ_R_CA_DOMAIN_JOINED,          /* 53001 */
    LJ_R_CA_APPROVED_APP,           /* 53002 */
    LJ_R_CA_PROOFUP_RISK,           /* 53004 */
    LJ_R_CA_SECURITY_POLICY,        /* 530032 */
    LJ_R_CA_DELEGATED_ADMIN,        /* 530034 */
    LJ_R_CA_SECURITY_DEFAULTS,      /* 530035 */
    LJ_R_CA_EXTERNAL,               /* 50158 */
    LJ_R_MFA_REGISTRATION_REQUIRED, /* 50079, 50072: register MFA first */
    LJ_R_SIGNIN_EXPIRED,
    LJ_R_SIGNIN_DECLINED,
    LJ_R_SIGNIN_CODE_WRONG, /* 70018: the user code was mistyped */
    LJ_R_SIGNIN_SESSION_EXPIRED,
    LJ_R_SIGNIN_REJECTED,
    LJ_R_REDIRECT_NOT_REGISTERED, /* AADSTS50011: a configuration error */
    LJ_R_CANCELLED,
    /* DRS */
    LJ_R_DRS_TENANT_NOT_FOUND,
    LJ_R_SERVICE_UNAVAILABLE,
    LJ_R_THROTTLED,
    LJ_R_BAD_SERVICE_RESPONSE,
    LJ_R_JOIN_NOT_PERMITTED,
    /*
     * Same slug, admin action for "Selected" groups; picked only when the
     * service's message mentions a group.  The observed message is the
     * same for None and Selected ("Administrator policy does not allow
     * user X to device join"), so the base row's action names both fixes.
     */
    LJ_R_JOIN_NOT_PERMITTED_GROUP,
    LJ_R_DEVICE_QUOTA_REACHED,
    LJ_R_AUTH_REJECTED,
    LJ_R_JOIN_REJECTED,
    /* Intune */
    LJ_R_MDM_NOT_IN_SCOPE,
    LJ_R_MDM_PLATFORM_BLOCKED,
    LJ_R_MDM_OWNERSHIP_BLOCKED,
    LJ_R_MDM_DEVICE_CAP,
    LJ_R_MDM_LICENSE_MISSING,
    LJ_R_MDM_REJECTED,
    LJ_R_MDM_BAD_SERVICE_RESPONSE, /* slug bad_service_response, after the join */
    LJ_R_JOINED_MDM_PENDING,
    /* device authentication after the join (the PRT and the tokens it signs) */
    LJ_R_DEVICE_AUTH_PENDING, /* AADSTS50155 right after a join: retried like pending */
    LJ_R_DEVICE_DISABLED,     /* AADSTS135011 */
    LJ_R_DEVICE_NOT_FOUND,    /* AADSTS700003: the device object was deleted */
    LJ_R_PRT_REFUSED,         /* the PRT request or a PRT-signed request refused otherwise */
    /* us */
    LJ_R_INTERNAL,
    LJ_R_COUNT__
};

struct lj_reason_info {
    enum lj_reason id;
    const char *slug;    /* stable, [a-z_] */
    const char *variant; /* "" or a short note ("selected groups") */
    enum lj_phase phase; /* where it usually happens; results carry the actual phase */
    const char *code;    /* "0x801c0003" or "AADSTS50076" (default; see lj_classified) */
    enum lj_fix_by fix_by;
    bool retryable;           /* retrying can help with nobody changing anything */
    int exit_code;            /* enum lj_exit */
    const char *message;      /* one sentence for the person; may hold {placeholders} */
    const char *admin_action; /* admin-center path or setting; may hold {placeholders} */
};

/*
 * The last failure as the journal, `status` and the UI result carry it: the
 * taxonomy row (phase, reason, code) plus what the server said.
 */
struct lj_error_record {
    char phase[16];      /* preflight, signin, keys, discover, join, mdm */
    char reason[48];     /* stable slug, e.g. device_quota_reached */
    char code[24];       /* 0x801c000e, AADSTS50076, ... */
    long http_status;    /* 0 = no HTTP answer */
    char error_type[64]; /* server ErrorType / OAuth error */
    char error_code[64]; /* server error code (string form) */
    char message[256];   /* the server's message, as received (sanitized) */
    char request_id[64];
    char trace_id[64];
    char correlation_id[64];
    char server_time[40]; /* the server's timestamp, as received */
    int64_t time;         /* our clock when recorded (Unix seconds) */
    char rc[24];          /* lj_rc_name() of the local result */
};

/* The entry of r; NULL for an out-of-range value.  Static storage. */
const struct lj_reason_info *lj_reason_get(enum lj_reason r);
/*
 * The row's catalog key ("network_dns": the enum name without LJ_R_, lower
 * case; unique per row), the <key> of the message ids reason.<key> and
 * admin.<key>.  NULL for an out-of-range value.  Static storage.
 */
const char *lj_reason_key(enum lj_reason r);
/* The first entry with this slug (the base variant); NULL when unknown. */
const struct lj_reason_info *lj_reason_by_slug(const char *slug);

/* "preflight", "signin", ...; "user", "admin", ...; never NULL. */
const char *lj_phase_name(enum lj_phase p);
const char *lj_fix_by_name(enum lj_fix_by f);

/*
 * Values for message placeholders.  Any may be NULL; a missing value is
 * replaced by a neutral phrase (host -> "the Microsoft service").
 *   {host} {what} {domain} {manufacturer} {model} {serial} {upn} {wait} {proxy}
 */
struct lj_error_params {
    const char *host;         /* e.g. enterpriseregistration.windows.net */
    const char *what;         /* what failed, e.g. lj_error_net_what(rc) */
    const char *domain;       /* tenant domain */
    const char *manufacturer; /* device identity (ownership-blocked) */
    const char *model;
    const char *serial;
    const char *upn;   /* the signed-in user, when known ("the user" if not) */
    const char *wait;  /* how long a TPM lockout lasts ("about 17 minutes"; "a few minutes") */
    const char *proxy; /* the HTTP proxy the request went through */
    /* {wait} as a number of minutes (0 = unknown), sent beside it as args
       "wait_minutes" so each language puts it in its own words */
    long wait_minutes;
};

/*
 * Expand tmpl's placeholders into out (size outsz, always terminated; long
 * results are truncated).  Parameter values are copied with control
 * characters, '{' and '}' removed.  Returns the length the full text needs
 * (like snprintf).  Unknown placeholders are copied literally.
 */
size_t lj_error_format(const char *tmpl, const struct lj_error_params *p, char *out, size_t outsz);

/* A plain phrase for a network-layer rc ("the name did not resolve"). */
const char *lj_error_net_what(enum lj_rc rc);

/* A classification: the reason and the code to show (the server's own when specific). */
struct lj_classified {
    enum lj_reason reason;
    char code[24];
};

/*
 * A local failure (network, TLS, TPM, local state, parse, cancel) -> reason.
 * LJ_ERR_STATE (keys of another key provider, a certificate not for the
 * device key) is tpm_keys_lost like LJ_ERR_TPM_WRONG_TPM; an rc with no row
 * is internal.  LJ_ERR_KEY_SCHEME (the device key of the RSASSA-only
 * template asked for RSA-PSS) is device_key_outdated; LJ_ERR_SIG_UNSUPPORTED
 * (a server's CertificateRequest offers no signature the device key makes)
 * tls_signature_unsupported.  agent/cli/exit.h turns the row into the exit
 * status.
 */
void lj_classify_rc(enum lj_rc rc, struct lj_classified *out);

/*
 * The README table (header + one row per entry, '\n' line ends).  *out
 * malloc'ed, caller frees.
 */
enum lj_rc lj_errors_markdown(char **out);

#endif
