/*
 * flow_int.h — private to agent/flow/: the state of one run (struct flow)
 * and the steps and helpers the flow's files share.  Nothing outside
 * agent/flow/ includes it except the flow's unit tests.
 *
 * Files: flow.c (runner, result, entry points, design note), io.c (signals,
 * UI waits, HTTP, journal, retry bound), fail.c (failure recording and the
 * failure result), tokens.c (tokens held in memory and sealed), preflight.c,
 * signin.c, join.c (discovery, keys, join), enroll.c (Intune).
 */
#ifndef LJ_AGENT_FLOW_INT_H
#define LJ_AGENT_FLOW_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/core/config.h"
#include "agent/core/errors.h"
#include "agent/flow/flow.h"
#include "agent/net/http.h"
#include "agent/proto/classify.h"
#include "agent/proto/drs.h"
#include "agent/proto/mdm.h"
#include "agent/proto/oauth.h"
#include "agent/state/journal.h"
#include "agent/ui/messages.h"
#include "agent/ui/ui_proto.h"
#include "platform/identity.h"
#include "tpm/tpm.h"

#define MOD "flow"
/* How long one UI poll may block: the granularity of cancel and timeouts. */
#define UI_SLICE_MS 200

/* Tokens of this run (secrets: wiped on free, never logged). */
struct flow_tokens {
    char *access;  /* DRS access token */
    char *refresh; /* kept for the Intune step (sealed while pending) */
    char *mdm;     /* access token for the Intune enrollment resource */
    char *prt;     /* the Primary Refresh Token (sealed as prt.sealed) */
    bool held;     /* this run holds lj_secrets_held(true) for them */
};

/* The first failure of the run: what the result, journal and exit code say. */
struct flow_failure {
    bool failed;
    enum lj_reason reason;
    struct lj_error_record err;
    char host[256];  /* {host} of the message: the endpoint that failed */
    char what[160];  /* {what} of the message: why an answer was unusable */
    long wait_min;   /* tpm_locked: the lockout's minutes for {wait} (0 = unknown) */
    char proxy[256]; /* {proxy}: the HTTP proxy the failed request went through */
};

/* What the UI sent while the flow was busy elsewhere. */
struct flow_inbox {
    bool cancel;
    bool have_pending;
    struct lj_ui_msg pending; /* a message that arrived during a transfer */
};

struct flow {
    const struct lj_config *cfg;
    struct lj_ui *ui;
    struct lj_http *http;
    struct tpm_ctx *tpm;
    enum lj_rc tpm_open_rc;  /* tpm_open (and, later, tpm_preflight) verdict */
    struct tpm_health tpm_h; /* tpm_preflight's reading (lockout counters) */
    bool keys_started;
    bool csr_started; /* the join CSR is being signed in the background */
    /*
     * A new PRT (f->tok.prt) still to be sealed and journaled
     * (flow_prt_seal_finish); prt_seal_started: on the TPM worker.
     */
    bool prt_seal_due;
    bool prt_seal_started;
    long long prt_seal_expires_in;
    unsigned char *csr; /* the presigned join CSR once collected (flow_keys_await) */
    size_t csr_len;
    bool discovered;      /* f->disc holds the DRS discovery answer */
    bool early_discovery; /* discovering before sign-in (tenant given as a domain) */
    struct lj_identity id;
    struct lj_journal j;
    struct oauth_params op;
    struct flow_tokens tok;
    /* Intune */
    bool interactive;     /* false in mdm-retry: never prompt */
    bool resume;          /* the device was joined before this run */
    bool fresh_signin;    /* claims below come from a DRS token of this run */
    long mdm_retry_after; /* Retry-After of the last Intune answer, -1 none */
    struct mdm_enrollment enr;
    bool have_enr;
    struct oauth_jwt_claims claims;
    bool have_claims;
    /* the sign-in's id_token: Entra's MDM URL claims live there */
    struct oauth_jwt_claims id_claims;
    bool have_id_claims;
    char domain[256];
    struct drs_discovery disc;
    struct flow_inbox inbox;
    struct flow_failure fail;
};

/* ---- flow.c ---- */

/* The device identity (DMI) with the configured overrides. */
void flow_identity_load(const struct lj_config *cfg, struct lj_identity *id);

/* ---- io.c ---- */

/* Copy src into dst (size dsz > 0), truncating; NULL copies "". */
void flow_copy(char *dst, size_t dsz, const char *src);

/*
 * Make SIGTERM/SIGINT set the stop flag (no SA_RESTART) and ignore
 * SIGPIPE.  A flag already set stays set (the token broker installs them
 * before its first request and again through each request).
 */
void flow_signals_install(void);
/* A signal came since flow_signals_install. */
bool flow_signalled(void);
/* A signal came or the UI sent cancel. */
bool flow_stopping(const struct flow *f);
/* The HTTP client's cancel hook (arg: the struct flow); never blocks. */
bool flow_http_cancelled(void *arg);

/*
 * Wait up to ms for the UI, signals and (when want_msg) a message of type
 * want.  LJ_OK with *msg filled (caller clears with lj_ui_msg_clear) when
 * that message came, LJ_ERR_TIMEOUT when the time ran out, LJ_ERR_CANCELLED
 * on cancel.  Other messages are dropped.
 */
enum lj_rc flow_ui_wait(struct flow *f, long long ms, bool want_msg, enum lj_ui_msg_type want,
                        struct lj_ui_msg *msg);

/*
 * One request; a transport failure is recorded (naming the host) and
 * returned.  LJ_OK means an HTTP answer of any status is in *resp (caller
 * frees with lj_http_response_free).  Blocks; cancellable.
 */
enum lj_rc flow_http(struct flow *f, enum lj_phase phase, const char *url, const char *ctype,
                     const char *body, const char *bearer, struct lj_http_response *resp);
/* As flow_http, for a request the caller filled (extra headers). */
enum lj_rc flow_http_req(struct flow *f, enum lj_phase phase, const struct lj_http_request *req,
                         struct lj_http_response *resp);
/* POST a form (secret; not kept) to the token endpoint during phase; as flow_http. */
enum lj_rc flow_token_post(struct flow *f, enum lj_phase phase, const char *form,
                           struct lj_http_response *resp);

/*
 * Save f->j, then make the systemd marker files follow its state; a failure
 * of either is recorded under phase (unless a failure is already recorded)
 * and returned.
 */
enum lj_rc flow_journal_save(struct flow *f, enum lj_phase phase);

/*
 * flow_journal_save without fsync (lj_journal_save_volatile): for a state
 * that the next durable save supersedes before anything leaves the device.
 */
enum lj_rc flow_journal_note(struct flow *f, enum lj_phase phase);

/*
 * The retry bound of flow.h, as a pure function.  attempt: the attempt that
 * just got a busy answer (1 = the first); retry_after: that answer's
 * Retry-After in seconds, -1 when it had none; waited_s: seconds already
 * waited between earlier attempts.  Returns the seconds to wait before
 * attempt + 1, or -1 to stop: after max_attempts attempts, or when the wait
 * (Retry-After, else LJ_FLOW_RETRY_DEFAULT_S doubled per attempt) is longer
 * than what is left of budget_s.
 */
long flow_retry_wait(int attempt, long retry_after, long waited_s, int max_attempts, long budget_s);

/* ---- fail.c: record the first failure (later calls change nothing) ---- */

/*
 * Record reason r (code: the taxonomy code to show, NULL for the reason's
 * own) for phase.  In phase mdm a failure that a later attempt can get past
 * becomes joined_mdm_pending, and bad_service_response becomes
 * mdm_bad_service_response.
 */
void flow_fail_set(struct flow *f, enum lj_phase phase, enum lj_reason r, const char *code,
                   enum lj_rc rc);
/* A local failure (TPM, network, parse, cancel) named by its rc.  Returns rc. */
enum lj_rc flow_fail_rc(struct flow *f, enum lj_phase phase, enum lj_rc rc);
/* A transport failure towards url: names the host and what failed.  Returns rc. */
enum lj_rc flow_fail_net(struct flow *f, enum lj_phase phase, enum lj_rc rc, const char *url,
                         const char *detail);
/* The help-desk ids and the HTTP status of resp into the error record. */
void flow_err_ids_from_resp(struct flow *f, const struct lj_http_response *resp);
/* An answer that cannot be used (what: why, for the message).  Returns rc. */
enum lj_rc flow_fail_answer(struct flow *f, enum lj_phase phase, const char *url,
                            const struct lj_http_response *resp, const char *what, enum lj_rc rc);
/* An OAuth error (token answer or authorize redirect).  Returns LJ_ERR_AUTH. */
enum lj_rc flow_fail_oauth_error(struct flow *f, enum lj_phase phase, const struct oauth_error *e);
/* A token-endpoint answer that is not a 200, for grant.  Returns the rc to fail with. */
enum lj_rc flow_fail_oauth(struct flow *f, enum lj_phase phase, const struct lj_http_response *resp,
                           enum oauth_grant grant);
/* A DRS error answer (discovery or join).  Returns LJ_ERR_HTTP. */
enum lj_rc flow_fail_drs(struct flow *f, enum lj_phase phase, const struct lj_http_response *resp);
/* An Intune answer that is not a 200 SOAP body (fault or not).  Returns LJ_ERR_HTTP. */
enum lj_rc flow_fail_mdm_answer(struct flow *f, const struct lj_http_response *resp,
                                const struct mdm_fault *flt);
/* An Intune 200 body its parser rejected at step (why).  Returns rc. */
enum lj_rc flow_fail_mdm_parse(struct flow *f, const struct lj_http_response *resp,
                               const char *step, enum mdm_reject why, enum lj_rc rc);
/* Change the reason of the recorded failure (slug, default code) to r. */
void flow_fail_reason_set(struct flow *f, enum lj_reason r);
/* Forget the recorded failure (a retry or a fresh sign-in is about to get past it). */
void flow_fail_clear(struct flow *f);
/*
 * The result of a failed run: the `result` event, the error record in the
 * journal, and the reason's exit code (returned).  Without a recorded
 * failure, rc is recorded first (phase preflight).
 */
int flow_report_failure(struct flow *f, enum lj_rc rc);

/* ---- tokens.c ---- */

/* Wipe and free every token of f and release its hold on secrets. */
void flow_tokens_drop(struct flow *f);
/* A 200 from the token endpoint during sign-in: keep the tokens, read the claims. */
enum lj_rc flow_got_token(struct flow *f, const struct lj_http_response *resp);
/* The Intune access token of t (and its rotated refresh token); frees t. */
void flow_tokens_set_mdm(struct flow *f, struct oauth_token *t);
/* Put the kept (sealed) refresh token into f; false when there is none usable. */
bool flow_tokens_unseal(struct flow *f);
/* Seal f->tok.refresh (not NULL; f->tpm open) for a later Intune retry (logged, not fatal). */
void flow_tokens_seal(struct flow *f);
/* Remove the sealed refresh token (logged, not fatal). */
void flow_tokens_forget_sealed(const struct flow *f);

/* ---- prt.c: the Primary Refresh Token (each records its failure) ---- */

struct prt_hs256_req;

/*
 * Right after the join (or when none is kept): the PRT from f->tok.refresh,
 * signed by the device key; session key into the TPM, f->tok.prt set.
 * Sealing the PRT and journaling its times is left due
 * (f->prt_seal_due): the next flow_prt_request seals it on the TPM worker
 * while its request is on the network; flow_prt_seal_finish ends it (or
 * does it, when no request follows).  Blocks (two round trips, a TPM
 * sign, a TPM decrypt and import).
 */
enum lj_rc flow_prt_acquire(struct flow *f);
/*
 * Seal a new PRT left due by flow_prt_acquire (wait for the background
 * seal, or seal now) and set its times in f->j, saving the journal when
 * journal is true (else the caller's next journal save does: the
 * enrollment's record or its outcome's); LJ_OK when nothing is due.  A
 * failure is recorded in phase ph (the PRT stays in memory for this run
 * only).
 */
enum lj_rc flow_prt_seal_finish(struct flow *f, enum lj_phase ph, bool journal);
/*
 * The kept PRT into f->tok.prt (no-op when set).  LJ_ERR_NOT_FOUND when
 * none is kept; unseal errors as tpm_unseal.  Records no failure.
 */
enum lj_rc flow_prt_load(struct flow *f);
/*
 * One PRT-signed request (nonce, PRT and win_ver filled in here) and its
 * decrypted answer: *plain (secret, lj_secure_free(*plain, *plain_len)).
 */
enum lj_rc flow_prt_request(struct flow *f, enum lj_phase ph, const struct prt_hs256_req *req,
                            char **plain, size_t *plain_len);
/* flow_prt_request for an access token, parsed into *out (oauth_token_free). */
enum lj_rc flow_prt_token(struct flow *f, enum lj_phase ph, const struct prt_hs256_req *req,
                          struct oauth_token *out);
/* Renew the PRT (ROADtools renew_prt): new PRT sealed and journaled. */
enum lj_rc flow_prt_renew(struct flow *f);
/* Remove the sealed PRT and its session key (logged, not fatal). */
void flow_prt_forget(const struct flow *f);

/* ---- the steps: each records its failure and returns its rc ---- */

/* preflight.c: the TPM verdict, the clock, DNS/TCP/TLS to every endpoint. */
enum lj_rc flow_preflight(struct flow *f);
/*
 * How long the lockout in h lasts: its minutes (0 = unknown) returned, and
 * English words for {wait} ("about 17 minutes") in out.  Pure.
 */
long flow_lockout_wait(const struct tpm_health *h, char *out, size_t osz);
/* signin.c: the configured sign-in method; blocks for the user. */
enum lj_rc flow_signin(struct flow *f);
/* join.c */
/* The tenant names the DRS domain itself (not `organizations`, not a GUID). */
bool flow_tenant_is_domain(const struct lj_config *cfg);
/* DRS discovery for the configured domain or the UPN's; pct: progress percent. */
enum lj_rc flow_discover(struct flow *f, int pct);
/* The device's display name (configured, LINK-<serial> or LINK-DEVICE). */
void flow_display_name(const struct flow *f, char *out, size_t osz);
/* Collect (or create) the device keys; journal keys_ready. */
enum lj_rc flow_keys_await(struct flow *f);
/* The DRS join, with the retry bound; journal joined. */
enum lj_rc flow_join(struct flow *f);
/* enroll.c */
/* Right after the join: scope check, Intune token, enrollment. */
enum lj_rc flow_enroll_fresh(struct flow *f);
/* On a joined device: the kept sign-in (or a new one), Intune token, enrollment. */
enum lj_rc flow_enroll_resume(struct flow *f);
/* Journal and report the Intune outcome of rc; returns the exit code. */
int flow_enroll_outcome(struct flow *f, enum lj_rc rc);
/* Does a joined device still owe an Intune enrollment that `run` should finish? */
bool flow_enroll_owed(const struct lj_journal *j);

#endif
