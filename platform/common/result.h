/*
 * result.h — the one result type of agent/, platform/ and tpm/.
 *
 * Every wrapper turns its library's codes (CURLcode, TSS2_RC, wolfSSL ints,
 * cJSON NULL, errno) into an enum lj_rc once, at the boundary, and records the
 * first detailed error text with lj_err_set().  Numbers are fixed: new values
 * go at the end, never in between.
 */
#ifndef LJ_PLATFORM_RESULT_H
#define LJ_PLATFORM_RESULT_H

enum lj_rc {
    LJ_OK = 0,
    LJ_ERR_NOMEM = 1,              /* allocation failed */
    LJ_ERR_INVAL = 2,              /* bad argument or bad input value */
    LJ_ERR_IO = 3,                 /* file system or OS call failed */
    LJ_ERR_PARSE = 4,              /* input (file, JSON, DER, XML) malformed */
    LJ_ERR_TOO_BIG = 5,            /* input over its ceiling */
    LJ_ERR_NOT_FOUND = 6,          /* a file, key or object that should exist */
    LJ_ERR_TPM_UNREACHABLE = 7,    /* TCTI could not connect to a TPM */
    LJ_ERR_TPM_LOCKOUT = 8,        /* dictionary-attack lockout */
    LJ_ERR_TPM_WRONG_TPM = 9,      /* blobs belong to a different TPM */
    LJ_ERR_TPM_OBJECT_MEMORY = 10, /* TPM out of object slots */
    LJ_ERR_TPM = 11,               /* any other TPM failure (detail logged) */
    LJ_ERR_KEYS_CORRUPT = 12,      /* key blobs on disk unreadable */
    LJ_ERR_CRYPTO = 13,            /* wolfSSL failure */
    LJ_ERR_NET_DNS = 14,           /* name did not resolve */
    LJ_ERR_NET_CONNECT = 15,       /* TCP connect refused/unreachable */
    LJ_ERR_NET_TIMEOUT = 16,       /* connect or transfer timed out */
    LJ_ERR_TLS_UNTRUSTED = 17,     /* server certificate not trusted */
    LJ_ERR_TLS = 18,               /* other TLS failure */
    LJ_ERR_HTTP = 19,              /* HTTP-level failure (status, body) */
    LJ_ERR_PROTOCOL = 20,          /* the peer broke the protocol */
    LJ_ERR_CANCELLED = 21,         /* the user or a signal cancelled */
    LJ_ERR_CONFIG = 22,            /* configuration invalid */
    LJ_ERR_STATE = 23,             /* journal/state inconsistent */
    LJ_ERR_UNSUPPORTED = 24,       /* not supported here */
    LJ_ERR_INTERNAL = 25,          /* a bug: should not happen */
    LJ_ERR_TLS_HOSTNAME = 26,      /* certificate does not name the host */
    LJ_ERR_AUTH = 27,              /* authentication/authorization refused */
    LJ_ERR_TPM_KEYS_LOST = 28,     /* key blobs exist but the TPM lost the seed */
    LJ_ERR_TIMEOUT = 29,           /* a bounded wait expired */
    LJ_ERR_PROXY = 30,             /* the HTTP proxy could not be reached */
    LJ_ERR_PROXY_AUTH = 31,        /* the HTTP proxy wants (other) credentials: 407 */
    LJ_ERR_KEY_SCHEME = 32,        /* the key's template cannot make the signature asked for */
    LJ_ERR_SIG_UNSUPPORTED = 33, /* a signature asked for that the key (or its TPM) does not make */
    LJ_RC_COUNT__
};

/* A stable lower-case name for rc ("tpm_unreachable"); never NULL. */
const char *lj_rc_name(enum lj_rc rc);

/*
 * The first error detail of this thread.  lj_err_set() stores a formatted
 * detail only when none is stored yet ("keep the first error"), logs it at
 * error level with the given module name, and returns rc so callers can
 * write `return lj_err_set(...)`.  lj_err_detail() returns the stored text
 * (borrowed, valid until lj_err_clear() on this thread) or "".
 */
enum lj_rc lj_err_set(enum lj_rc rc, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *lj_err_detail(void);
enum lj_rc lj_err_code(void);
void lj_err_clear(void);

/*
 * Adopt an error recorded on another thread (e.g. a worker) as this
 * thread's first error, without logging it again (it was logged where it
 * happened).  Does nothing when this thread already holds an error or rc
 * is LJ_OK.  detail may be NULL.
 */
void lj_err_adopt(enum lj_rc rc, const char *detail);

#endif
