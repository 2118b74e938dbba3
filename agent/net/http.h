/*
 * http.h — HTTPS requests for the protocol clients (the only module that
 * includes curl.h).
 *
 * Rules this module enforces so callers can't get them wrong:
 *  - https only: an http:// URL is refused before any connection
 *    (LJ_ERR_INVAL), and curl is restricted to the https protocol;
 *  - TLS verification (chain and host name) is always on; ca_file, when
 *    given, replaces the system trust store;
 *  - redirects are never followed: a 3xx comes back with its Location, so
 *    an Authorization header can never travel to another host;
 *  - response bodies and headers are capped while receiving; going over
 *    aborts the transfer with LJ_ERR_TOO_BIG;
 *  - the bearer token is never logged (the log line shows authorization=***),
 *    and our copy is wiped after the request;
 *  - every request carries User-Agent, ocp-adrs-client-name/-version and a
 *    fresh client-request-id (plus return-client-request-id: true).
 *
 * Transport failures are mapped once, here: DNS -> LJ_ERR_NET_DNS, refused
 * -> LJ_ERR_NET_CONNECT, timeouts -> LJ_ERR_NET_TIMEOUT, unknown CA ->
 * LJ_ERR_TLS_UNTRUSTED, host name mismatch -> LJ_ERR_TLS_HOSTNAME, other
 * TLS -> LJ_ERR_TLS, a connection dropped mid-response -> LJ_ERR_NET_CONNECT,
 * an unreadable ca_file -> LJ_ERR_CONFIG, the cancel hook -> LJ_ERR_CANCELLED;
 * through a proxy, a proxy that cannot be reached -> LJ_ERR_PROXY, its 407
 * (or 401) to the CONNECT -> LJ_ERR_PROXY_AUTH, another refusal of the
 * tunnel -> LJ_ERR_NET_CONNECT.
 * An HTTP error status is NOT a failure here: lj_http_do returns LJ_OK
 * with resp->status set, and the protocol modules interpret it.
 *
 * TLS client authentication (`leave`, later MDM sessions): set
 * client_cert on struct lj_http_config.  The certificate is presented when
 * the server asks for one and the handshake signature is made by the
 * sign callback (the device key in tpm/), so the private key never enters
 * this process.  Such a client signs rsa_pkcs1_sha256/384/512, and
 * rsa_pss_rsae_sha256/384/512 on TLS 1.2 and 1.3 when pss is set
 * (agent/net/tls_tpmkey.h says why);
 * the TLS-library part lives in agent/net/tls_tpmkey_wolfssl.c.
 */
#ifndef LJ_AGENT_HTTP_H
#define LJ_AGENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "platform/common/result.h"

#define LJ_HTTP_MAX_BODY (1024 * 1024)  /* default response body cap */
#define LJ_HTTP_MAX_HEADERS (64 * 1024) /* default response header cap */
#define LJ_HTTP_MAX_IDS 8
#define LJ_HTTP_URL_MAX 2048

/* The padding of a TLS client-authentication signature (RFC 8446 4.2.3). */
enum lj_http_sig {
    LJ_HTTP_SIG_PKCS1 = 0, /* RSASSA-PKCS1-v1_5: rsa_pkcs1_sha256/384/512 */
    LJ_HTTP_SIG_PSS = 1,   /* RSASSA-PSS, MGF1 of the same hash, salt = digest length */
};

/* The hash of that signature; each value is the digest length in bytes. */
enum lj_http_hash {
    LJ_HTTP_SHA256 = 32,
    LJ_HTTP_SHA384 = 48,
    LJ_HTTP_SHA512 = 64,
};

/*
 * Signature in scheme over digest (hash bytes, the hash already taken)
 * with the private key of a client certificate; sig has room for 512
 * bytes, *sig_len gets the length.  Called during TLS handshakes on the
 * thread running lj_http_do; may block (a TPM round trip).  Its error is
 * what lj_http_do reports for the failed handshake.
 */
typedef enum lj_rc (*lj_http_sign_fn)(void *arg, enum lj_http_sig scheme, enum lj_http_hash hash,
                                      const unsigned char *digest, unsigned char *sig,
                                      size_t *sig_len);

/* A TLS client identity whose private key stays outside this process. */
struct lj_http_client_cert {
    const unsigned char *cert_der; /* X.509 DER, RSA key; copied by lj_http_new */
    size_t cert_len;
    lj_http_sign_fn sign; /* borrowed, with sign_arg: must outlive the client */
    void *sign_arg;
    /* sign makes RSA-PSS too: with it the client authenticates on TLS 1.2
       and 1.3 (tls_tpmkey.h); without it RSA-PSS is refused, TLS 1.2 only. */
    bool pss;
    /* Optional: the signing key's DER SubjectPublicKeyInfo; lj_http_new
       fails LJ_ERR_STATE when the certificate holds another key. */
    const unsigned char *key_spki;
    size_t key_spki_len;
};

/* Client settings; strings are copied by lj_http_new. */
struct lj_http_config {
    const char *ca_file;           /* NULL or "" = system trust store */
    const char *const *connect_to; /* curl HOST:PORT:HOST:PORT entries */
    size_t n_connect_to;
    long connect_timeout;       /* seconds; 0 = 10 */
    long request_timeout;       /* seconds, whole request; 0 = 60 */
    size_t max_body;            /* 0 = LJ_HTTP_MAX_BODY */
    size_t max_headers;         /* 0 = LJ_HTTP_MAX_HEADERS */
    const char *user_agent;     /* NULL = LJ_USER_AGENT (core/version.h) */
    const char *client_name;    /* ocp-adrs-client-name; NULL = "linkjoin" */
    const char *client_version; /* ocp-adrs-client-version; NULL = VERSION */
    /* Polled during transfers; returning true aborts with LJ_ERR_CANCELLED. */
    bool (*cancelled)(void *arg);
    void *cancel_arg;
    /* NULL = no client certificate.  Set: TLS 1.2 only, see above. */
    const struct lj_http_client_cert *client_cert;
    /*
     * An HTTP proxy, "http://HOST:PORT" (core/proxy.h), or NULL/"" for none:
     * every https request to a host not matched by no_proxy goes through it
     * in a CONNECT tunnel (RFC 9110 9.3.6), TLS end to end.  proxy_user and
     * proxy_password (secrets) are copied and wiped when the client is freed;
     * the caller wipes its own.  The environment is never read here.
     */
    const char *proxy;
    const char *no_proxy;
    const char *proxy_user;
    const char *proxy_password;
};

struct lj_http_request {
    const char *method;         /* NULL = GET, or POST when body is set */
    const char *url;            /* https://... */
    const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL; a name
                                 * given here replaces the default header of that
                                 * name (User-Agent, ocp-adrs-client-*, Content-Type) */
    const void *body;           /* request body, or NULL */
    size_t body_len;
    const char *content_type; /* for body; NULL = none */
    const char *bearer;       /* access token (secret) or NULL */
    size_t max_body;          /* 0 = the client's cap */
};

/* A captured trace header (request-id, x-ms-request-id, ...); name lower case. */
struct lj_http_id {
    char name[40];
    char value[128];
};

struct lj_http_response {
    long status; /* HTTP status; 0 when no response */
    char *body;  /* malloc'ed, NUL-terminated (wiped and freed by lj_http_response_free) */
    size_t body_len;
    char content_type[128];         /* "" when absent */
    long retry_after;               /* seconds; -1 when absent or unparseable */
    char location[LJ_HTTP_URL_MAX]; /* Location of a 3xx; "" otherwise */
    char date[64];                  /* the server's Date header, "" when absent */
    char client_request_id[40];     /* the id we sent */
    struct lj_http_id ids[LJ_HTTP_MAX_IDS];
    size_t n_ids;
    char error[320]; /* on failure: "HOST:PORT: what failed" */
};

struct lj_http;

/*
 * Create a client.  *out is freed with lj_http_free.  Initializes libcurl
 * once per process.  Returns LJ_ERR_NOMEM or LJ_ERR_INTERNAL on failure.
 */
enum lj_rc lj_http_new(const struct lj_http_config *cfg, struct lj_http **out);

/* Free a client (NULL is fine).  Closes its cached connections. */
void lj_http_free(struct lj_http *h);

/*
 * The proxy a request to host goes through: the client's proxy URL, or NULL
 * when it has none or no_proxy matches host.  Borrowed from h.
 */
const char *lj_http_proxy_for(const struct lj_http *h, const char *host);

/*
 * Perform one request; blocks up to the request timeout.  resp is
 * initialized here (any previous content is NOT freed: call
 * lj_http_response_free first).  On LJ_OK resp->status is the HTTP status
 * (any value, 3xx included) and body/headers are filled.  On failure the
 * rc is one of those listed at the top, resp->error names host and what
 * failed, resp->client_request_id is set, and resp->body is NULL.  Either
 * way the caller calls lj_http_response_free(resp).
 */
enum lj_rc lj_http_do(struct lj_http *h, const struct lj_http_request *req,
                      struct lj_http_response *resp);

/* Free what a response owns and reset it; NULL is fine. */
void lj_http_response_free(struct lj_http_response *resp);

/* An HTML body: lj_body_is_html() in platform/common/text.h. */

/* Value of a captured id header by lower-case name, or NULL. Borrowed. */
const char *lj_http_response_id(const struct lj_http_response *resp, const char *name);

/*
 * Preflight: resolve, connect and complete the TLS handshake (with full
 * verification) to url's host and port, then send one HEAD for url (any
 * HTTP status will do) and keep the connection open in h, so the first
 * lj_http_do to that host reuses it instead of a second handshake.
 * Blocks up to the connect timeout.  On failure what (size wsz, may be
 * NULL) gets "HOST:PORT: what failed" and the rc is mapped as for
 * lj_http_do.
 */
enum lj_rc lj_http_probe(struct lj_http *h, const char *url, char *what, size_t wsz);

/*
 * application/x-www-form-urlencoded body from name/value pairs: kv is
 * {name1, value1, name2, value2, ..., NULL}.  Values may be secrets, so
 * the result is malloc'ed and the caller frees it with lj_secret_free().
 * Returns NULL when out of memory.
 */
char *lj_http_form_encode(const char *const *kv);

/* Percent-encode s for a URL query component (RFC 3986 unreserved kept).
 * Caller frees with free() (lj_secret_free for secrets); NULL on ENOMEM. */
char *lj_http_url_escape(const char *s);

/*
 * Host and port of an https URL ("login.microsoftonline.com", 443).  Returns
 * LJ_ERR_INVAL for anything but a well-formed https URL.  host gets at most
 * hsz-1 bytes.
 */
enum lj_rc lj_http_url_host(const char *url, char *host, size_t hsz, long *port);

/*
 * Internal, exposed for unit tests: map a CURLcode (as int), the TLS
 * verification result and curl's error text to an lj_rc, and write a short
 * description of what failed to what.
 */
enum lj_rc lj_http__map_error(int curl_code, long verify_result, const char *errbuf, bool too_big,
                              char *what, size_t wsz);

/*
 * Internal, exposed for the fuzz target: take one response header line as
 * curl delivers it (data, len; not NUL-terminated, CRLF included) into r's
 * content_type, location, date, retry_after and ids.  A status line
 * ("HTTP/...") resets them.  The caller enforces the header size cap.
 */
void lj_http__header_line(struct lj_http_response *r, const char *data, size_t len);

#endif
