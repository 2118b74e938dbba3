/*
 * server.h — entra-sim's HTTP layer: two libmicrohttpd daemons (public
 * HTTPS on one port for all three host names; plain-HTTP control API on a
 * separate loopback port), request contexts with body ceilings, response
 * helpers in the real services' error shapes, fault injection and the
 * request log.
 *
 * Threading: one thread per connection (so an injected delay stalls only
 * its own connection).  A struct sim_req lives for one request.
 */
#ifndef LJ_SIM_SERVER_H
#define LJ_SIM_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "hw-sim/entra-sim/util.h"
#include "platform/common/result.h"

enum sim_fault_kind {
    SIM_FAULT_DELAY,
    SIM_FAULT_STATUS,
    SIM_FAULT_DROP,
    SIM_FAULT_CLOSE,
    SIM_FAULT_MALFORMED,
    SIM_FAULT_OVERSIZED,
    SIM_FAULT_CONTENT_TYPE,
    SIM_FAULT_HTML,
    SIM_FAULT_WRONG_CERT,
    SIM_FAULT_XML_BOMB, /* 200 with a billion-laughs document (DOCTYPE + nested entities) */
    SIM_FAULT_DEEP,     /* 200 with a SOAP envelope nested depth levels deep */
};

struct sim_fault {
    char id[16];
    char prefix[256];
    char method[16]; /* "" = any */
    long remaining;
    enum sim_fault_kind kind;
    long delay_ms;
    unsigned status;
    long retry_after; /* -1 = no header */
    size_t size;
    long depth;
    long hits;
    bool has_body; /* status: answer with body instead of the service's shape */
    char body[4096];
};

struct sim_req {
    struct MHD_Connection *conn;
    const char *method;
    char path[1024];
    char host[256];
    char request_id[37];
    char correlation_id[37];
    char client_request_id[80];
    char user_agent[128]; /* the first User-Agent (printable, cut), "" if none */
    unsigned user_agents; /* how many User-Agent header lines came */
    /* For the request log (printable, cut): the query as "k=v&k=v" (values
     * decoded), Accept, the Authorization scheme only (never the token),
     * ocp-adrs-client-name and -version. */
    char query[512];
    char accept[128];
    char auth_scheme[16];
    char adrs_name[64];
    char adrs_version[32];
    struct sim_buf body;
    bool too_big;
    size_t discarded;
    bool control;
    bool mdm; /* enrollment.manage.microsoft.com or an Intune path: SOAP error shapes */
    bool has_fault;
    struct sim_fault fault;
    long long start_ms;
    bool responded;
};

/*
 * Start both daemons.  listen/control are "ADDR:PORT" (port 0 = any free
 * port; control must be loopback).  PEM strings are copied by MHD.  The
 * bound ports are written to *port and *ctl_port.
 */
enum lj_rc srv_start(const char *listen, const char *control, const char *key_pem,
                     const char *cert_pem, const char *trust_pem, int *port, int *ctl_port);

/*
 * Before srv_start: the signature algorithms the public port offers (its
 * ClientHello answer and the TLS 1.2 CertificateRequest).  "default": GnuTLS's
 * NORMAL (RSA-PSS and PKCS#1 v1.5, TLS 1.2 and 1.3); "tls12": the same on
 * TLS 1.2 only; "no-pss": no RSA-PSS, a server that only
 * takes PKCS#1 v1.5 (and ECDSA) signatures, so TLS 1.2 only for its RSA
 * certificate; "pkcs1-sha384": rsa_pkcs1_sha384 only (TLS 1.2);
 * "pss-sha384": rsa_pss_rsae_sha384 only (TLS 1.2).  false for any other
 * name.
 */
bool srv_set_tls_sigalgs(const char *name);
void srv_stop(void);

/*
 * Queue a response.  body is taken (NUL-terminated text, freed with a
 * wipe); hdrs is a NULL-terminated list of name, value pairs (may be
 * NULL).  Applies response faults, adds request-id headers, logs.
 */
enum MHD_Result srv_reply(struct sim_req *r, unsigned status, const char *ctype, char *body,
                          const char *const *hdrs);
/* Same with a JSON object (taken). */
enum MHD_Result srv_reply_json(struct sim_req *r, unsigned status, cJSON *o,
                               const char *const *hdrs);
/* DRS error body {ErrorType, Message, TraceId, Time}. */
enum MHD_Result srv_drs_error(struct sim_req *r, unsigned status, const char *type,
                              const char *const *hdrs, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Entra token-endpoint error body (error, error_description "AADSTSn: ..."). */
enum MHD_Result srv_oauth_error(struct sim_req *r, unsigned status, const char *error, long code,
                                const char *suberror, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* The Entra-shaped error description text (caller frees). */
char *srv_aadsts_text(struct sim_req *r, long code, const char *msg);

const char *srv_query(struct sim_req *r, const char *name);
const char *srv_header(struct sim_req *r, const char *name);

/*
 * Parse the request body as JSON (object or array), refusing nesting
 * deeper than 32.  Returns NULL on any problem.
 */
cJSON *srv_body_json(struct sim_req *r);

/*
 * The TLS client certificate of this connection as DER (malloc'ed, caller
 * frees) and whether it chains to the trusted (MS-Organization-Access) CA.
 */
bool srv_client_cert(struct sim_req *r, unsigned char **der, size_t *len, bool *trusted);

/* Faults and the request log (control API). */
bool srv_fault_add(const cJSON *o, char *id, size_t idsz, char *err, size_t errsz);
cJSON *srv_faults_json(void);
void srv_faults_clear(void);
cJSON *srv_log_json(const char *prefix);
void srv_log_clear(void);

/* Route hooks implemented by the endpoint modules. */
bool oauth_route(struct sim_req *r, enum MHD_Result *res);
bool drs_route(struct sim_req *r, enum MHD_Result *res);
bool mdm_route(struct sim_req *r, enum MHD_Result *res);
/* An injected status (413, 429, 5xx, ...) as an Intune SOAP fault (mdm.c). */
enum MHD_Result mdm_status_fault(struct sim_req *r, unsigned status, const char *const *hdrs);
/* true for the Intune enrollment paths (any host). */
bool mdm_is_path(const char *path);
enum MHD_Result control_handle(struct sim_req *r);

#endif
