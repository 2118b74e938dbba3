/*
 * flow.c — the join flow (see flow.h and architecture.md "The join flow").
 *
 * Design note.
 * - One struct flow holds everything a run owns; every step is a function
 *   returning enum lj_rc.  A step that fails records WHY exactly once in
 *   f->err (phase, reason, code, server part) through fail_*(); the runner
 *   then sends the one `result` event, writes the error record to the
 *   journal and maps the reason to its exit code.  A step that fails
 *   without recording (a local bug, out of memory) is classified from its
 *   rc by lj_classify_rc.
 * - Order: UI + hello, journal (already joined: stop, no network), TPM open
 *   + keygen and then the join CSR's signature started in the background
 *   (the TPM worker runs them while the person signs in), preflight (TPM,
 *   clock, every endpoint's DNS/TCP/TLS) before any prompt, DRS discovery
 *   when the tenant is configured as a domain (it needs no token, so a
 *   wrong domain or an unreachable DRS ends the run before anyone types a
 *   credential), sign-in, discovery when the domain comes from the UPN
 *   (tenant `organizations` or a GUID), keygen awaited, join (with the
 *   presigned CSR), MDM hook.  `--no-early-keygen` (the sequential
 *   baseline of make bench) does all of it after sign-in, one step at a
 *   time: sign-in, discovery, keygen, CSR.
 * - Cancellation: SIGTERM/SIGINT set a flag; the UI's `cancel` sets
 *   f->cancel.  Waits poll the UI in short slices and HTTP transfers poll
 *   both through the cancel hook, so a cancel ends any step with
 *   LJ_ERR_CANCELLED and the journal stays at its last consistent state.
 * - Secrets: access and refresh tokens live in f only (wiped at the end;
 *   lj_secrets_held while held), passwords and codes only as long as the
 *   request that uses them.
 *
 * Intune (issue 6, after the join; mdm_*() below).
 * - Scope first: a DRS token whose claims carry no mdm_enrollment_url means
 *   the user is outside the MDM user scope (mdm-enrollment.md §1.3):
 *   mdm_not_in_scope without any SOAP.  An unreadable (opaque) token skips
 *   this check and lets Intune decide.
 * - Token: refresh grant (v1, resource https://enrollment.manage.microsoft.com/)
 *   with the sign-in's refresh token: no second prompt.  The newest refresh
 *   token replaces the old one.
 * - Then MS-MDE2 Discover at {mdm_url}/EnrollmentServer/Discovery.svc, the
 *   XCEP policy when discovery names one (key length and hash checked),
 *   and the WSTEP RST with a PKCS#10 signed by the DEVICE key in the TPM
 *   (the key Entra already certified: no second slow RSA keygen, and the
 *   MDM identity stays bound to the same TPM key as the join).
 *   mdm_enroll_parse checks the certificate's key is ours, the chain and
 *   validity; only then mdm-cert.der, mdm-chain.pem and the journal
 *   (server URL, thumbprint, state mdm_enrolled) are written.
 * - Outcomes: enrolled -> result joined + mdm enrolled, exit 0.
 *   Pending (Intune 503/429/maintenance, no network, cancel after the
 *   join) -> the refresh token is SEALED by the TPM (tpm_seal, never on
 *   disk in clear), journal mdm_pending + marker mdm-pending, result
 *   joined_mdm_pending, exit 11.  Refused by Intune policy or nonsense
 *   answer -> the device stays joined: journal joined + last_error (phase
 *   mdm), result status joined WITH the reason fields and mdm.state
 *   "failed", exit of the reason (7, 8).  Any other failure after the join
 *   (TPM, sign-in needed) keeps mdm_pending with its reason's exit code.
 * - Resume: `run` on a device that is mdm_pending (or joined with an MDM
 *   error) skips the join, unseals the token and enrolls; when the token
 *   is missing, expired or revoked it signs the user in again (no
 *   re-join).  `mdm-retry` does the same without ever prompting and stops
 *   with signin_session_expired (exit 6) instead.
 */
#include "agent/flow/flow.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/net/cfgmap.h"
#include "agent/proto/drs.h"
#include "agent/proto/classify.h"
#include "agent/core/exitcodes.h"
#include "agent/net/http.h"
#include "agent/state/journal.h"
#include "agent/net/loopback.h"
#include "agent/state/marker.h"
#include "agent/proto/mdm.h"
#include "agent/proto/oauth.h"
#include "agent/state/recover.h"
#include "agent/ui/ui_proto.h"
#include "agent/core/version.h"
#include "platform/clock.h"
#include "platform/common/fsutil.h"
#include "platform/identity.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "platform/testhook.h"
#include "tpm/tpm.h"
#include "platform/common/elapsed.h"
#include "platform/common/text.h"

#define MOD "flow"
#define DRS_APP_ID "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9"
#define UI_SLICE_MS 200
#define PASSWORD_FILE_MAX 1024

static volatile sig_atomic_t g_stop;

struct flow {
    const struct lj_config *cfg;
    struct lj_ui *ui;
    struct lj_http *http;
    struct tpm_ctx *tpm;
    enum lj_rc tpm_open_rc; /* tpm_open (and, later, tpm_preflight) verdict */
    bool keys_started;
    bool csr_started;    /* the join CSR is being signed in the background */
    bool discovered;     /* f->disc holds the DRS discovery answer */
    bool early_discovery; /* discovering before sign-in (tenant given as a domain) */
    struct lj_identity id;
    struct lj_journal j;
    struct oauth_params op;
    /* sign-in */
    char *access_token;  /* secret */
    char *refresh_token; /* secret; kept for the MDM step */
    char *mdm_token;     /* secret: access token for the Intune enrollment resource */
    bool secrets_held;
    /* Intune */
    bool interactive;    /* false in mdm-retry: never prompt */
    bool resume;         /* the device was joined before this run */
    bool fresh_signin;   /* claims below come from a DRS token of this run */
    long mdm_retry_after; /* Retry-After of the last Intune answer, -1 none */
    struct mdm_enrollment enr;
    bool have_enr;
    struct oauth_jwt_claims claims;
    bool have_claims;
    char domain[256];
    struct drs_discovery disc;
    /* UI */
    bool cancel;
    bool have_pending;
    struct lj_ui_msg pending; /* a message that arrived during a transfer */
    /* failure */
    bool failed;
    enum lj_reason reason;
    struct lj_error_record err;
    char host[256];
    char what[160];
};

/* ---- small helpers ---- */

static void
on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void
signals_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: waits wake up and look at the flag */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}


/* Copy src into dst (size dsz), truncating; NULL copies "". */
static void
copy(char *dst, size_t dsz, const char *src)
{
    size_t n = src != NULL ? strnlen(src, dsz - 1) : 0;

    if (n > 0)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/*
 * The server's message for the error record (dst, size dsz): Entra's
 * trailer ("Trace ID: .. Correlation ID: .. Timestamp: ..") is dropped, as
 * those are shown as their own fields; a message too long is cut at a word
 * and ends in "...".
 */
static void
copy_server_message(char *dst, size_t dsz, const char *src)
{
    const char *end, *trailer;
    size_t n;

    if (dsz < 8) {
        if (dsz > 0)
            dst[0] = '\0';
        return;
    }
    if (src == NULL)
        src = "";
    end = src + strlen(src);
    trailer = strstr(src, "Trace ID:");
    if (trailer != NULL)
        end = trailer;
    while (end > src && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    n = (size_t)(end - src);
    if (n < dsz) {
        memcpy(dst, src, n);
        dst[n] = '\0';
        return;
    }
    n = dsz - 4; /* room for "..." and the terminator */
    while (n > 0 && src[n] != ' ')
        n--;
    while (n > 0 && strchr(" ,.;:", src[n - 1]) != NULL)
        n--;
    memcpy(dst, src, n);
    memcpy(dst + n, "...", 4);
}

static bool
stopping(const struct flow *f)
{
    return g_stop || f->cancel;
}

/* Take a UI message: cancel ends the run, others are kept for whoever waits. */
static void
ui_take(struct flow *f, struct lj_ui_msg *m)
{
    if (m->type == LJ_UI_MSG_CANCEL) {
        lj_log(LJ_LOG_INFO, MOD, "event=cancel_requested source=ui");
        f->cancel = true;
        lj_ui_msg_clear(m);
        return;
    }
    if (m->type == LJ_UI_MSG_RETRY) {
        lj_log(LJ_LOG_INFO, MOD, "event=retry_ignored reason=\"nothing to retry yet\"");
        lj_ui_error(f->ui, "not_expected",
                    "retry: the agent is still working; retry is taken after a result that "
                    "is not a success");
        lj_ui_msg_clear(m);
        return;
    }
    lj_ui_msg_clear(&f->pending);
    f->pending = *m;
    f->have_pending = true;
    memset(m, 0, sizeof(*m));
}

/* curl's progress hook: look at signals and the UI without waiting. */
static bool
http_cancelled(void *arg)
{
    struct flow *f = arg;
    struct lj_ui_msg m;

    memset(&m, 0, sizeof(m));
    if (!stopping(f) && f->ui != NULL && lj_ui_poll(f->ui, 0, &m) == LJ_OK)
        ui_take(f, &m);
    return stopping(f);
}

/*
 * Wait up to ms for the UI, signals and (when want_msg) a message of type
 * want.  LJ_OK with *msg filled (caller clears) when that message came,
 * LJ_ERR_TIMEOUT when the time ran out, LJ_ERR_CANCELLED on cancel.
 */
static enum lj_rc
ui_wait(struct flow *f, long long ms, bool want_msg, enum lj_ui_msg_type want,
        struct lj_ui_msg *msg)
{
    long long end = lj_mono_ms() + ms;

    for (;;) {
        struct lj_ui_msg m;
        long long left;
        enum lj_rc rc;

        if (stopping(f))
            return LJ_ERR_CANCELLED;
        if (f->have_pending) {
            if (want_msg && f->pending.type == want) {
                *msg = f->pending;
                memset(&f->pending, 0, sizeof(f->pending));
                f->have_pending = false;
                return LJ_OK;
            }
            lj_log(LJ_LOG_INFO, MOD, "event=message_ignored type=%d reason=\"not asked for\"",
                   (int)f->pending.type);
            lj_ui_msg_clear(&f->pending);
            f->have_pending = false;
        }
        left = end - lj_mono_ms();
        if (left <= 0)
            return LJ_ERR_TIMEOUT;
        memset(&m, 0, sizeof(m));
        rc = lj_ui_poll(f->ui, left < UI_SLICE_MS ? (int)left : UI_SLICE_MS, &m);
        if (rc == LJ_OK)
            ui_take(f, &m);
        else if (rc != LJ_ERR_TIMEOUT)
            return rc;
    }
}

static void
hex_lower(const unsigned char *b, size_t n, char *out, size_t osz)
{
    out[0] = '\0';
    for (size_t i = 0; i < n && 2 * i + 2 < osz; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* ---- failure recording ---- */

static void
fail_set(struct flow *f, enum lj_phase phase, enum lj_reason r, const char *code, enum lj_rc rc)
{
    const struct lj_reason_info *info = lj_reason_get(r);

    if (f->failed)
        return; /* keep the first */
    /*
     * After the join, anything that a later attempt can get past without
     * anyone changing anything (no network, Intune busy, cancel) means
     * "joined, management pending", never a failed join.
     */
    if (phase == LJ_PHASE_MDM &&
        (r == LJ_R_NETWORK_UNREACHABLE || r == LJ_R_TLS_UNTRUSTED ||
         r == LJ_R_NETWORK_INTERCEPTED || r == LJ_R_SERVICE_UNAVAILABLE || r == LJ_R_THROTTLED ||
         r == LJ_R_CANCELLED)) {
        r = LJ_R_JOINED_MDM_PENDING;
        code = NULL;
        info = lj_reason_get(r);
    } else if (phase == LJ_PHASE_MDM && r == LJ_R_BAD_SERVICE_RESPONSE) {
        /* same slug; the sentence says the device IS joined */
        if (code != NULL && info != NULL && strcmp(code, info->code) == 0)
            code = NULL;
        r = LJ_R_MDM_BAD_SERVICE_RESPONSE;
        info = lj_reason_get(r);
    }
    f->failed = true;
    f->reason = r;
    copy(f->err.phase, sizeof(f->err.phase), lj_phase_name(phase));
    copy(f->err.reason, sizeof(f->err.reason), info != NULL ? info->slug : "internal");
    copy(f->err.code, sizeof(f->err.code),
         code != NULL && code[0] != '\0' ? code : (info != NULL ? info->code : ""));
    copy(f->err.rc, sizeof(f->err.rc), lj_rc_name(rc));
    lj_log(LJ_LOG_WARN, MOD, "event=failed phase=%s reason=%s code=%s rc=%s", f->err.phase,
           f->err.reason, f->err.code, f->err.rc);
}

static enum lj_rc
fail_classified(struct flow *f, enum lj_phase phase, const struct lj_classified *c, enum lj_rc rc)
{
    fail_set(f, phase, c->reason, c->code, rc);
    return rc;
}

/* A local failure (TPM, network, parse, cancel) named by its rc. */
static enum lj_rc
fail_rc(struct flow *f, enum lj_phase phase, enum lj_rc rc)
{
    struct lj_classified c;

    lj_classify_rc(rc, &c);
    return fail_classified(f, phase, &c, rc);
}

/* A transport failure towards url: names the host and what failed. */
static enum lj_rc
fail_net(struct flow *f, enum lj_phase phase, enum lj_rc rc, const char *url, const char *detail)
{
    long port = 0;

    if (rc == LJ_ERR_CANCELLED)
        return fail_rc(f, phase, rc);
    if (lj_http_url_host(url, f->host, sizeof(f->host), &port) != LJ_OK)
        copy(f->host, sizeof(f->host), "");
    copy(f->what, sizeof(f->what), lj_error_net_what(rc));
    lj_log(LJ_LOG_WARN, MOD, "event=network_failed phase=%s host=%s rc=%s detail=\"%s\"",
           lj_phase_name(phase), f->host, lj_rc_name(rc), detail != NULL ? detail : "");
    return fail_rc(f, phase, rc);
}

/* The ids a help desk needs, from response headers (body ids win when set later). */
static void
err_ids_from_resp(struct flow *f, const struct lj_http_response *resp)
{
    const char *v;

    f->err.http_status = resp->status;
    v = lj_http_response_id(resp, "request-id");
    if (v == NULL)
        v = lj_http_response_id(resp, "x-ms-request-id");
    copy(f->err.request_id, sizeof(f->err.request_id), v != NULL ? v : resp->client_request_id);
    v = lj_http_response_id(resp, "x-ms-trace-id");
    if (v != NULL)
        copy(f->err.trace_id, sizeof(f->err.trace_id), v);
    v = lj_http_response_id(resp, "client-request-id");
    copy(f->err.correlation_id, sizeof(f->err.correlation_id),
         v != NULL ? v : resp->client_request_id);
    copy(f->err.server_time, sizeof(f->err.server_time), resp->date);
}

/* Remember url's host for the message (the first one named stays). */
static void
note_host(struct flow *f, const char *url)
{
    long port = 0;

    if (f->host[0] != '\0' || url == NULL || url[0] == '\0')
        return;
    if (lj_http_url_host(url, f->host, sizeof(f->host), &port) != LJ_OK)
        f->host[0] = '\0';
}

/*
 * An answer came but cannot be used: a 200 we cannot read, or an error body
 * that is not the service's shape.  A web page means something on the
 * network answered instead of the service (network_intercepted); anything
 * else is bad_service_response, with what (a clause for "could not be used
 * because ...") saying why.  Returns rc.
 */
static enum lj_rc
fail_answer(struct flow *f, enum lj_phase phase, const char *url,
            const struct lj_http_response *resp, const char *what, enum lj_rc rc)
{
    if (f->failed)
        return rc;
    note_host(f, url);
    err_ids_from_resp(f, resp);
    if (lj_body_is_html(resp->body, resp->body_len)) {
        lj_log(LJ_LOG_WARN, MOD, "event=answer_is_web_page phase=%s host=%s status=%ld",
               lj_phase_name(phase), f->host, resp->status);
        fail_set(f, phase, LJ_R_NETWORK_INTERCEPTED, NULL, rc);
        return rc;
    }
    copy(f->what, sizeof(f->what), what);
    fail_set(f, phase, LJ_R_BAD_SERVICE_RESPONSE, NULL, rc);
    return rc;
}

/* An OAuth error (token answer or authorize redirect) during phase. */
static enum lj_rc
fail_oauth_error(struct flow *f, enum lj_phase phase, const struct oauth_error *e)
{
    struct lj_classified c;

    lj_classify_oauth(e, &c);
    fail_classified(f, phase, &c, LJ_ERR_AUTH);
    copy(f->err.error_type, sizeof(f->err.error_type), e->error);
    if (e->aadsts > 0)
        snprintf(f->err.error_code, sizeof(f->err.error_code), "AADSTS%lu", e->aadsts);
    copy_server_message(f->err.message, sizeof(f->err.message), e->description);
    if (e->trace_id[0] != '\0')
        copy(f->err.trace_id, sizeof(f->err.trace_id), e->trace_id);
    if (e->correlation_id[0] != '\0')
        copy(f->err.correlation_id, sizeof(f->err.correlation_id), e->correlation_id);
    if (e->timestamp[0] != '\0')
        copy(f->err.server_time, sizeof(f->err.server_time), e->timestamp);
    return LJ_ERR_AUTH;
}

/* A token-endpoint error answer (any grant) during phase. */
static enum lj_rc
fail_oauth_in(struct flow *f, enum lj_phase phase, const struct lj_http_response *resp,
              enum oauth_grant grant)
{
    struct oauth_error e;

    if (resp->body == NULL || oauth_error_parse(resp->body, resp->body_len, grant, &e) != LJ_OK) {
        if (resp->status == 429 || resp->status >= 500) {
            note_host(f, f->cfg->authority);
            err_ids_from_resp(f, resp);
            fail_set(f, phase, LJ_R_SERVICE_UNAVAILABLE, NULL, LJ_ERR_HTTP);
            return LJ_ERR_HTTP;
        }
        return fail_answer(f, phase, f->cfg->authority, resp,
                           "it is not a sign-in answer this device can read", LJ_ERR_HTTP);
    }
    err_ids_from_resp(f, resp);
    return fail_oauth_error(f, phase, &e);
}

static enum lj_rc
fail_oauth(struct flow *f, const struct lj_http_response *resp, enum oauth_grant grant)
{
    return fail_oauth_in(f, LJ_PHASE_SIGNIN, resp, grant);
}

/* A DRS error answer (discovery or join). */
static enum lj_rc
fail_drs(struct flow *f, enum lj_phase phase, const struct lj_http_response *resp)
{
    struct drs_error e;
    struct lj_classified c;
    long port;

    drs_error_parse(resp->status, resp->body, resp->body_len, &e);
    lj_classify_drs(phase, &e, &c);
    /*
     * Discovery before sign-in for the configured domain: the directory's
     * AADSTS90002 is the verdict the sign-in service would give a moment
     * later for the same tenant (tenant_not_found: fix `tenant =`).
     */
    if (f->early_discovery && c.reason == LJ_R_DRS_TENANT_NOT_FOUND &&
        strstr(e.message, "AADSTS90002") != NULL) {
        c.reason = LJ_R_TENANT_NOT_FOUND;
        copy(c.code, sizeof(c.code), "AADSTS90002");
    }
    err_ids_from_resp(f, resp);
    fail_classified(f, phase, &c, LJ_ERR_HTTP);
    copy(f->err.error_type, sizeof(f->err.error_type), e.error_type);
    copy(f->err.error_code, sizeof(f->err.error_code), e.sub_code);
    copy_server_message(f->err.message, sizeof(f->err.message), e.message);
    if (e.trace_id[0] != '\0')
        copy(f->err.trace_id, sizeof(f->err.trace_id), e.trace_id);
    if (e.time[0] != '\0')
        copy(f->err.server_time, sizeof(f->err.server_time), e.time);
    if (f->host[0] == '\0' &&
        lj_http_url_host(f->cfg->drs_url, f->host, sizeof(f->host), &port) != LJ_OK)
        f->host[0] = '\0';
    return LJ_ERR_HTTP;
}

/* ---- HTTP ---- */

/*
 * One request; a transport failure is recorded (naming the host) and
 * returned.  LJ_OK means an HTTP answer of any status is in *resp.
 */
static enum lj_rc
http(struct flow *f, enum lj_phase phase, const char *url, const char *ctype, const char *body,
     const char *bearer, struct lj_http_response *resp)
{
    struct lj_http_request req;
    enum lj_rc rc;

    memset(&req, 0, sizeof(req));
    req.url = url;
    req.body = body;
    req.body_len = body != NULL ? strlen(body) : 0;
    req.content_type = ctype;
    req.bearer = bearer;
    rc = lj_http_do(f->http, &req, resp);
    if (rc != LJ_OK)
        return fail_net(f, phase, rc, url, resp->error);
    return LJ_OK;
}

/* POST a form to the token endpoint (during phase). */
static enum lj_rc
token_post_in(struct flow *f, enum lj_phase phase, const char *form,
              struct lj_http_response *resp)
{
    char *url = NULL;
    enum lj_rc rc;

    rc = oauth_endpoint_url(&f->op, OAUTH_EP_TOKEN, &url);
    if (rc != LJ_OK)
        return rc;
    rc = http(f, phase, url, "application/x-www-form-urlencoded", form, NULL, resp);
    free(url);
    return rc;
}

static enum lj_rc
token_post(struct flow *f, const char *form, struct lj_http_response *resp)
{
    return token_post_in(f, LJ_PHASE_SIGNIN, form, resp);
}

/* ---- preflight ---- */

static enum lj_rc
preflight(struct flow *f)
{
    const char *urls[3] = {f->cfg->authority, f->cfg->drs_url, f->cfg->mdm_url};
    char seen[3][300];
    size_t nseen = 0;
    char why[160];
    enum lj_rc rc;

    lj_ui_progress(f->ui, "preflight", "Checking the device and the network", 5);
    if (f->tpm_open_rc != LJ_OK)
        return fail_rc(f, LJ_PHASE_PREFLIGHT, f->tpm_open_rc);
    rc = lj_clock_check(lj_clock_now(), why, sizeof(why));
    if (rc != LJ_OK) {
        copy(f->what, sizeof(f->what), why);
        lj_log(LJ_LOG_WARN, MOD, "event=clock_implausible why=\"%s\"", why);
        fail_set(f, LJ_PHASE_PREFLIGHT, LJ_R_CLOCK_WRONG, NULL, rc);
        return rc;
    }
    for (size_t i = 0; i < 3; i++) {
        char host[256], key[300], what[320];
        long port = 0;
        bool dup = false;

        if (urls[i][0] == '\0' || lj_http_url_host(urls[i], host, sizeof(host), &port) != LJ_OK)
            continue;
        snprintf(key, sizeof(key), "%s:%ld", host, port);
        for (size_t k = 0; k < nseen; k++)
            dup = dup || strcmp(seen[k], key) == 0;
        if (dup)
            continue;
        copy(seen[nseen++], sizeof(seen[0]), key);
        rc = lj_http_probe(f->http, urls[i], what, sizeof(what));
        if (rc != LJ_OK)
            return fail_net(f, LJ_PHASE_PREFLIGHT, rc, urls[i], what);
        lj_log(LJ_LOG_INFO, MOD, "event=probe_ok host=%s port=%ld", host, port);
    }
    return LJ_OK;
}

/* ---- sign-in ---- */

static void
secrets_drop(struct flow *f)
{
    lj_secret_free(f->access_token);
    lj_secret_free(f->refresh_token);
    lj_secret_free(f->mdm_token);
    f->access_token = NULL;
    f->refresh_token = NULL;
    f->mdm_token = NULL;
    if (f->secrets_held)
        lj_secrets_held(false);
    f->secrets_held = false;
}

/* A 200 from the token endpoint: keep the tokens, read the claims. */
static enum lj_rc
got_token(struct flow *f, const struct lj_http_response *resp)
{
    struct oauth_token t;
    enum lj_rc rc;

    rc = oauth_token_parse(resp->body, resp->body_len, &t);
    if (rc != LJ_OK)
        return fail_answer(f, LJ_PHASE_SIGNIN, f->cfg->authority, resp,
                           "it is not a sign-in answer this device can read", rc);
    secrets_drop(f);
    f->access_token = t.access_token;
    f->refresh_token = t.refresh_token;
    t.access_token = NULL;
    t.refresh_token = NULL;
    oauth_token_free(&t);
    lj_secrets_held(true);
    f->secrets_held = true;
    f->have_claims = oauth_jwt_claims_parse(f->access_token, &f->claims) == LJ_OK;
    f->fresh_signin = true;
    if (!f->have_claims) {
        lj_log(LJ_LOG_WARN, MOD, "event=token_claims_unreadable (opaque access token)");
    } else if (f->claims.aud[0] != '\0' && strcmp(f->claims.aud, OAUTH_DRS_RESOURCE) != 0 &&
               strcmp(f->claims.aud, DRS_APP_ID) != 0) {
        lj_log(LJ_LOG_WARN, MOD, "event=token_wrong_audience aud=%s", f->claims.aud);
        return fail_answer(f, LJ_PHASE_SIGNIN, f->cfg->authority, resp,
                           "its sign-in token is for another service", LJ_ERR_PROTOCOL);
    }
    lj_log(LJ_LOG_INFO, MOD, "event=signed_in upn=%s tid=%s refresh_token=%s",
           f->have_claims ? f->claims.upn : "", f->have_claims ? f->claims.tid : "",
           f->refresh_token != NULL ? "***" : "none");
    return LJ_OK;
}

static enum lj_rc
signin_device_code(struct flow *f)
{
    struct lj_http_response resp;
    struct oauth_device_code dc;
    char *url = NULL, *form = NULL;
    long long deadline_ms;
    long interval, wait_s;
    bool have_dc = false;
    enum lj_rc rc;

    memset(&resp, 0, sizeof(resp));
    memset(&dc, 0, sizeof(dc));
    rc = oauth_endpoint_url(&f->op, OAUTH_EP_DEVICECODE, &url);
    if (rc == LJ_OK)
        rc = oauth_body_devicecode_start(&f->op, &form);
    if (rc != LJ_OK)
        goto out;
    rc = http(f, LJ_PHASE_SIGNIN, url, "application/x-www-form-urlencoded", form, NULL, &resp);
    if (rc != LJ_OK)
        goto out;
    if (resp.status != 200) {
        rc = fail_oauth(f, &resp, OAUTH_GRANT_DEVICE_CODE);
        goto out;
    }
    rc = oauth_device_code_parse(resp.body, resp.body_len, &dc);
    if (rc != LJ_OK) {
        fail_answer(f, LJ_PHASE_SIGNIN, url, &resp, "it holds no usable sign-in code", rc);
        goto out;
    }
    have_dc = true;
    lj_http_response_free(&resp);
    deadline_ms = lj_mono_ms() + (long long)dc.expires_in * 1000;
    interval = dc.interval;
    wait_s = interval;
    lj_log(LJ_LOG_INFO, MOD, "event=device_code user_code=%s expires_in=%ld interval=%ld",
           dc.user_code, dc.expires_in, dc.interval);
    rc = lj_ui_prompt_device_code(f->ui, dc.user_code, dc.verification_uri,
                                  lj_clock_now() + dc.expires_in);
    if (rc != LJ_OK)
        goto out;
    lj_ui_progress(f->ui, "signin", "Waiting for sign-in", 20);
    for (;;) {
        struct oauth_error e;
        enum oauth_poll_action act;

        rc = ui_wait(f, (long long)wait_s * 1000, false, LJ_UI_MSG_CANCEL, NULL);
        if (rc != LJ_ERR_TIMEOUT) {
            if (rc == LJ_ERR_CANCELLED)
                fail_rc(f, LJ_PHASE_SIGNIN, rc);
            goto out;
        }
        lj_secret_free(form);
        form = NULL;
        rc = oauth_body_devicecode_poll(&f->op, dc.device_code, &form);
        if (rc != LJ_OK)
            goto out;
        lj_http_response_free(&resp);
        rc = token_post(f, form, &resp);
        if (rc != LJ_OK)
            goto out;
        if (resp.status == 200) {
            rc = got_token(f, &resp);
            goto out;
        }
        if (resp.body == NULL ||
            oauth_error_parse(resp.body, resp.body_len, OAUTH_GRANT_DEVICE_CODE, &e) != LJ_OK) {
            rc = fail_oauth(f, &resp, OAUTH_GRANT_DEVICE_CODE);
            goto out;
        }
        act = oauth_poll_next(e.cls, lj_mono_ms() / 1000, deadline_ms / 1000, &interval, &wait_s);
        if (act == OAUTH_POLL_WAIT)
            continue;
        if (act == OAUTH_POLL_EXPIRED) {
            err_ids_from_resp(f, &resp);
            fail_set(f, LJ_PHASE_SIGNIN, LJ_R_SIGNIN_EXPIRED, NULL, LJ_ERR_TIMEOUT);
            rc = LJ_ERR_TIMEOUT;
            goto out;
        }
        rc = fail_oauth(f, &resp, OAUTH_GRANT_DEVICE_CODE);
        goto out;
    }
out:
    if (have_dc)
        oauth_device_code_free(&dc);
    lj_http_response_free(&resp);
    lj_secret_free(form);
    free(url);
    return rc;
}

/* Read password_file (first line) as a secret; caller frees with lj_secret_free. */
static enum lj_rc
read_password_file(const char *path, char **out)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    enum lj_rc rc;

    rc = lj_fs_read(path, PASSWORD_FILE_MAX, &buf, &len);
    if (rc != LJ_OK)
        return lj_err_set(rc, MOD, "event=password_file_unreadable path=%s rc=%s", path,
                          lj_rc_name(rc));
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n' || buf[i] == '\r') {
            lj_secure_zero(buf + i, len - i);
            len = i;
            break;
        }
    }
    *out = (char *)buf;
    return LJ_OK;
}

static enum lj_rc
signin_password(struct flow *f)
{
    struct lj_http_response resp;
    struct lj_ui_msg m;
    char *password = NULL, *form = NULL;
    char username[LJ_CONFIG_NAME_MAX];
    enum lj_rc rc;

    memset(&resp, 0, sizeof(resp));
    memset(&m, 0, sizeof(m));
    copy(username, sizeof(username), f->cfg->username);
    if (f->cfg->password_file[0] != '\0') {
        rc = read_password_file(f->cfg->password_file, &password);
        if (rc != LJ_OK) {
            fail_set(f, LJ_PHASE_SIGNIN, LJ_R_INTERNAL, NULL, rc);
            goto out;
        }
    } else {
        rc = lj_ui_prompt_credentials(f->ui, username, "Enter the password for your work account");
        if (rc != LJ_OK)
            goto out;
        rc =
            ui_wait(f, (long long)LJ_FLOW_PROMPT_TIMEOUT_S * 1000, true, LJ_UI_MSG_CREDENTIALS, &m);
        if (rc == LJ_ERR_TIMEOUT) {
            fail_set(f, LJ_PHASE_SIGNIN, LJ_R_SIGNIN_EXPIRED, NULL, rc);
            goto out;
        }
        if (rc != LJ_OK) {
            if (rc == LJ_ERR_CANCELLED)
                fail_rc(f, LJ_PHASE_SIGNIN, rc);
            goto out;
        }
        if (m.username != NULL && m.username[0] != '\0')
            copy(username, sizeof(username), m.username);
        password = m.password;
        m.password = NULL;
    }
    lj_ui_progress(f->ui, "signin", "Signing in", 20);
    rc = oauth_body_password(&f->op, username, password != NULL ? password : "", &form);
    lj_secret_free(password);
    password = NULL;
    if (rc != LJ_OK)
        goto out;
    rc = token_post(f, form, &resp);
    if (rc != LJ_OK)
        goto out;
    rc = resp.status == 200 ? got_token(f, &resp) : fail_oauth(f, &resp, OAUTH_GRANT_PASSWORD);
out:
    lj_ui_msg_clear(&m);
    lj_secret_free(password);
    lj_secret_free(form);
    lj_http_response_free(&resp);
    return rc;
}

/*
 * A redirect the loopback listener caught (url: secret).  LJ_OK with *code
 * when it is the answer to this sign-in; LJ_ERR_AUTH (recorded) when Entra
 * redirected with an error; LJ_ERR_PROTOCOL for anything else (answered,
 * ignored: keep waiting).
 */
static enum lj_rc
loopback_take(struct flow *f, struct lj_loopback *lb, const struct oauth_pkce *pk,
              const char *redirect, const char *url, char **code)
{
    struct oauth_error oe;
    enum lj_rc rc;

    memset(&oe, 0, sizeof(oe));
    rc = oauth_redirect_parse(pk, redirect, url, code, &oe);
    if (rc == LJ_OK) {
        lj_log(LJ_LOG_INFO, MOD, "event=auth_code_received via=loopback");
        lj_loopback_reply(lb, true, NULL);
        return LJ_OK;
    }
    if (rc == LJ_ERR_AUTH) {
        lj_log(LJ_LOG_WARN, MOD, "event=authorize_error via=loopback error=%.60s", oe.error);
        lj_loopback_reply(lb, false, "The sign-in did not succeed. The device shows why.");
        return fail_oauth_error(f, LJ_PHASE_SIGNIN, &oe);
    }
    lj_log(LJ_LOG_WARN, MOD, "event=auth_code_rejected via=loopback rc=%s", lj_rc_name(rc));
    lj_loopback_reply(lb, false,
                      "This is not the answer to the sign-in the device is waiting for. "
                      "Start the sign-in again from the device.");
    return LJ_ERR_PROTOCOL;
}

/*
 * Authorization code + PKCE.  The UI's web view hands code and state back
 * (`auth_code`); when redirect_uri is a loopback URI the agent also listens
 * there itself and takes whichever answer comes first.
 */
static enum lj_rc
signin_auth_code(struct flow *f)
{
    struct lj_http_response resp;
    struct lj_loopback *lb = NULL;
    struct oauth_pkce pk;
    struct lj_ui_msg m;
    char *url = NULL, *form = NULL, *eff = NULL, *code = NULL;
    const char *redirect =
        f->cfg->redirect_uri[0] != '\0' ? f->cfg->redirect_uri : OAUTH_DEFAULT_REDIRECT;
    long long end;
    enum lj_rc rc;

    memset(&resp, 0, sizeof(resp));
    memset(&m, 0, sizeof(m));
    rc = oauth_pkce_new(&pk);
    if (rc != LJ_OK)
        return rc;
    if (lj_loopback_uri(redirect)) {
        rc = lj_loopback_open(redirect, &lb, &eff);
        if (rc != LJ_OK) {
            fail_set(f, LJ_PHASE_SIGNIN, LJ_R_INTERNAL, NULL, rc);
            goto out;
        }
        redirect = eff;
    }
    rc = oauth_authorize_url(&f->op, redirect, &pk, false, &url);
    if (rc != LJ_OK)
        goto out;
    rc = lj_ui_prompt_browser(f->ui, url, redirect);
    if (rc != LJ_OK)
        goto out;
    lj_ui_progress(f->ui, "signin", "Waiting for sign-in in the browser", 20);
    end = lj_mono_ms() + (long long)LJ_FLOW_PROMPT_TIMEOUT_S * 1000;
    while (code == NULL) {
        long long left = end - lj_mono_ms();
        char *got = NULL;

        if (left <= 0) {
            fail_set(f, LJ_PHASE_SIGNIN, LJ_R_SIGNIN_EXPIRED, NULL, LJ_ERR_TIMEOUT);
            rc = LJ_ERR_TIMEOUT;
            goto out;
        }
        if (lb != NULL && left > UI_SLICE_MS / 2)
            left = UI_SLICE_MS / 2; /* share the wait with the listener */
        rc = ui_wait(f, left, true, LJ_UI_MSG_AUTH_CODE, &m);
        if (rc == LJ_OK) {
            if (oauth_code_check(&pk, m.code, m.state) == LJ_OK) {
                lj_log(LJ_LOG_INFO, MOD, "event=auth_code_received via=ui");
                code = m.code;
                m.code = NULL;
                break;
            }
            /* Not the answer to our request (stale page, forged redirect): keep waiting. */
            lj_log(LJ_LOG_WARN, MOD,
                   "event=auth_code_rejected reason=\"state mismatch or bad code\"");
            lj_ui_error(f->ui, "bad_field", "auth_code: state does not match this sign-in");
            lj_ui_msg_clear(&m);
            continue;
        }
        if (rc != LJ_ERR_TIMEOUT) {
            if (rc == LJ_ERR_CANCELLED)
                fail_rc(f, LJ_PHASE_SIGNIN, rc);
            goto out;
        }
        if (lb == NULL)
            continue;
        rc = lj_loopback_poll(lb, (int)left, &got);
        if (rc == LJ_ERR_TIMEOUT)
            continue;
        if (rc != LJ_OK) {
            fail_set(f, LJ_PHASE_SIGNIN, LJ_R_INTERNAL, NULL, rc);
            goto out;
        }
        rc = loopback_take(f, lb, &pk, redirect, got, &code);
        lj_secret_free(got);
        if (rc != LJ_OK && rc != LJ_ERR_PROTOCOL)
            goto out;
    }
    /* One answer is enough: stop listening before redeeming it. */
    lj_loopback_close(lb);
    lb = NULL;
    lj_ui_progress(f->ui, "signin", "Signing in", 25);
    rc = oauth_body_code_redeem(&f->op, code, redirect, pk.verifier, &form);
    if (rc != LJ_OK)
        goto out;
    rc = token_post(f, form, &resp);
    if (rc != LJ_OK)
        goto out;
    rc = resp.status == 200 ? got_token(f, &resp) : fail_oauth(f, &resp, OAUTH_GRANT_AUTH_CODE);
out:
    oauth_pkce_wipe(&pk);
    lj_ui_msg_clear(&m);
    lj_secret_free(code);
    lj_secret_free(form);
    lj_loopback_close(lb);
    free(url);
    free(eff);
    lj_http_response_free(&resp);
    return rc;
}

static enum lj_rc
signin(struct flow *f)
{
    enum lj_rc rc;

    lj_ui_progress(f->ui, "signin", "Starting sign-in", 10);
    /* Passwords, device codes and auth codes are held from here: no core dumps. */
    lj_secrets_held(true);
    switch (f->cfg->signin) {
    case LJ_SIGNIN_PASSWORD:
        rc = signin_password(f);
        break;
    case LJ_SIGNIN_AUTH_CODE:
        rc = signin_auth_code(f);
        break;
    case LJ_SIGNIN_DEVICE_CODE:
    default:
        rc = signin_device_code(f);
        break;
    }
    lj_secrets_held(false); /* tokens (if any) keep their own hold until secrets_drop */
    return rc;
}

/* ---- discovery ---- */

/* The tenant names the DRS domain itself (not `organizations`, not a GUID). */
static bool
tenant_is_domain(const struct lj_config *cfg)
{
    return strchr(cfg->tenant, '.') != NULL && !lj_is_guid(cfg->tenant);
}

/*
 * DRS discovery for f->domain (the configured domain, or the UPN's after
 * sign-in).  pct: the progress percentage (before or after sign-in).
 */
static enum lj_rc
discover(struct flow *f, int pct)
{
    struct lj_http_response resp;
    const char *t = f->cfg->tenant, *at;
    char *url = NULL;
    enum lj_rc rc;

    memset(&resp, 0, sizeof(resp));
    lj_ui_progress(f->ui, "discover", "Finding your organization's device registration service",
                   pct);
    if (tenant_is_domain(f->cfg)) {
        copy(f->domain, sizeof(f->domain), t);
    } else if (f->have_claims && (at = strrchr(f->claims.upn, '@')) != NULL && at[1] != '\0') {
        copy(f->domain, sizeof(f->domain), at + 1);
    } else {
        lj_log(LJ_LOG_WARN, MOD, "event=no_tenant_domain tenant=%s", t);
        fail_set(f, LJ_PHASE_DISCOVER, LJ_R_DRS_TENANT_NOT_FOUND, NULL, LJ_ERR_NOT_FOUND);
        return LJ_ERR_NOT_FOUND;
    }
    rc = drs_discover_url(f->cfg->drs_url, f->domain, &url);
    if (rc != LJ_OK) {
        fail_set(f, LJ_PHASE_DISCOVER, LJ_R_DRS_TENANT_NOT_FOUND, NULL, rc);
        goto out;
    }
    rc = http(f, LJ_PHASE_DISCOVER, url, NULL, NULL, NULL, &resp);
    if (rc != LJ_OK)
        goto out;
    if (resp.status != 200) {
        rc = fail_drs(f, LJ_PHASE_DISCOVER, &resp);
        goto out;
    }
    rc = drs_discovery_parse(resp.body, resp.body_len, f->cfg->drs_url, &f->disc);
    if (rc != LJ_OK) {
        fail_answer(f, LJ_PHASE_DISCOVER, url, &resp,
                    "it does not name the organization's registration service", rc);
        goto out;
    }
    f->discovered = true;
    lj_log(LJ_LOG_INFO, MOD, "event=discovered domain=%s join=%s version=%s before_signin=%d",
           f->domain, f->disc.join_endpoint, f->disc.join_service_version,
           f->early_discovery ? 1 : 0);
out:
    free(url);
    lj_http_response_free(&resp);
    return rc;
}

/* ---- join ---- */

static void
display_name(const struct flow *f, char *out, size_t osz)
{
    if (f->cfg->display_name[0] != '\0')
        copy(out, osz, f->cfg->display_name);
    else if (f->id.serial[0] != '\0')
        snprintf(out, osz, "LINK-%s", f->id.serial);
    else
        copy(out, osz, "LINK-DEVICE");
}

/* Save the journal and make the systemd marker files follow its state. */
static enum lj_rc
journal_save(struct flow *f)
{
    enum lj_rc rc = lj_journal_save(f->cfg->state_dir, &f->j);

    if (rc == LJ_OK)
        rc = lj_marker_sync(f->cfg->state_dir, f->j.state);
    if (rc != LJ_OK)
        fail_set(f, LJ_PHASE_JOIN, LJ_R_INTERNAL, NULL, rc);
    return rc;
}

static enum lj_rc
keys_await(struct flow *f)
{
    bool created = false;
    enum lj_rc rc;

    lj_ui_progress(f->ui, "keys", "Preparing the device keys", 65);
    rc = f->keys_started ? tpm_keys_ensure_wait(f->tpm, &created)
                         : tpm_keys_ensure(f->tpm, &created);
    f->keys_started = false;
    if (rc != LJ_OK)
        return fail_rc(f, LJ_PHASE_KEYS, rc);
    lj_log(LJ_LOG_INFO, MOD, "event=keys_ready created=%d", created ? 1 : 0);
    if (f->j.state < LJ_JS_KEYS_READY) {
        lj_journal_set_state(&f->j, LJ_JS_KEYS_READY);
        rc = journal_save(f);
    }
    return rc;
}

/* Seconds to wait before the next join attempt, or -1 to stop retrying. */
static long
retry_wait(const struct lj_http_response *resp, int attempt, long budget_left)
{
    long w =
        resp->retry_after >= 0 ? resp->retry_after : (long)LJ_FLOW_RETRY_DEFAULT_S << (attempt - 1);

    if (attempt >= LJ_FLOW_JOIN_MAX_ATTEMPTS || w > budget_left)
        return -1;
    return w;
}

static enum lj_rc
join(struct flow *f)
{
    struct lj_http_response resp;
    struct drs_join_request jr;
    struct drs_join_verify v;
    struct drs_join_result res;
    enum drs_reject why = DRS_REJECT_NONE;
    unsigned char *csr = NULL, *blob = NULL, *spki = NULL;
    unsigned char digest[WC_SHA256_DIGEST_SIZE];
    size_t csr_len = 0, blob_len = 0, spki_len = 0;
    char *url = NULL, *body = NULL;
    char name[LJ_CONFIG_NAME_MAX];
    long budget = LJ_FLOW_RETRY_BUDGET_S;
    bool have_res = false;
    enum lj_rc rc;

    memset(&resp, 0, sizeof(resp));
    memset(&res, 0, sizeof(res));
    lj_ui_progress(f->ui, "join", "Joining the device to your organization", 75);
    rc = LJ_ERR_NOT_FOUND;
    if (f->csr_started) {
        f->csr_started = false;
        rc = tpm_csr_wait(f->tpm, &csr, &csr_len, NULL);
        if (rc == LJ_OK)
            lj_log(LJ_LOG_INFO, MOD, "event=csr_presigned_used der_len=%zu", csr_len);
        else
            lj_log(LJ_LOG_WARN, MOD, "event=csr_presign_failed rc=%s (signing now)",
                   lj_rc_name(rc));
    }
    /* Not started (sequential baseline) or failed: sign now, the error is this one's. */
    if (rc != LJ_OK)
        rc = tpm_csr(f->tpm, LJ_FLOW_CSR_CN, &csr, &csr_len, NULL);
    if (rc == LJ_OK)
        rc = tpm_transport_blob(f->tpm, &blob, &blob_len);
    if (rc == LJ_OK)
        rc = tpm_device_spki(f->tpm, &spki, &spki_len);
    if (rc != LJ_OK) {
        fail_rc(f, LJ_PHASE_KEYS, rc);
        goto out;
    }
    if (wc_Sha256Hash(spki, (word32)spki_len, digest) != 0) {
        rc = fail_rc(f, LJ_PHASE_JOIN, LJ_ERR_CRYPTO);
        goto out;
    }
    display_name(f, name, sizeof(name));
    memset(&jr, 0, sizeof(jr));
    jr.csr_der = csr;
    jr.csr_len = csr_len;
    jr.tk_blob = blob;
    jr.tk_len = blob_len;
    jr.target_domain = f->domain;
    jr.os_version = f->id.os_version[0] != '\0' ? f->id.os_version : "0";
    jr.display_name = name;
    rc = drs_join_url(&f->disc, &url);
    if (rc == LJ_OK)
        rc = drs_join_body(&jr, &body);
    if (rc != LJ_OK) {
        fail_rc(f, LJ_PHASE_JOIN, rc);
        goto out;
    }
    /* Journal before the request: a lost answer is retried with this key. */
    lj_journal_set_state(&f->j, LJ_JS_SIGNED_IN);
    if (f->have_claims) {
        copy(f->j.upn, sizeof(f->j.upn), f->claims.upn);
        copy(f->j.tenant_id, sizeof(f->j.tenant_id), f->claims.tid);
    }
    lj_journal_set_state(&f->j, LJ_JS_JOIN_SENT);
    hex_lower(digest, sizeof(digest), f->j.join_fingerprint, sizeof(f->j.join_fingerprint));
    for (int attempt = 1;; attempt++) {
        long w;

        f->j.join_attempts++;
        rc = journal_save(f);
        if (rc != LJ_OK)
            goto out;
        lj_http_response_free(&resp);
        rc = http(f, LJ_PHASE_JOIN, url, "application/json", body, f->access_token, &resp);
        LJ_TEST_CRASH_POINT("join_response"); /* the answer is here, nothing saved yet */
        copy(f->j.join_request_id, sizeof(f->j.join_request_id), resp.client_request_id);
        if (rc != LJ_OK)
            goto out;
        lj_log(LJ_LOG_INFO, MOD, "event=join_answer status=%ld attempt=%d", resp.status, attempt);
        if (resp.status != 503 && resp.status != 429)
            break;
        w = retry_wait(&resp, attempt, budget);
        if (w < 0)
            break;
        lj_log(LJ_LOG_INFO, MOD, "event=join_retry wait_s=%ld status=%ld", w, resp.status);
        lj_ui_progress(f->ui, "join", "The service is busy; trying again", 75);
        budget -= w;
        rc = ui_wait(f, w * 1000, false, LJ_UI_MSG_CANCEL, NULL);
        if (rc != LJ_ERR_TIMEOUT) {
            if (rc == LJ_ERR_CANCELLED)
                fail_rc(f, LJ_PHASE_JOIN, rc);
            goto out;
        }
    }
    if (resp.status != 200) {
        rc = fail_drs(f, LJ_PHASE_JOIN, &resp);
        goto out;
    }
    memset(&v, 0, sizeof(v));
    v.key.spki_der = spki;
    v.key.spki_len = spki_len;
    v.tenant_id = f->have_claims ? f->claims.tid : NULL;
    v.issuer_cn = LJ_FLOW_ISSUER_CN;
    rc = drs_join_response_parse(resp.body, resp.body_len, &v, &res, &why);
    if (rc != LJ_OK) {
        lj_log(LJ_LOG_WARN, MOD, "event=join_answer_rejected why=%s", drs_reject_name(why));
        fail_answer(f, LJ_PHASE_JOIN, url, &resp, drs_reject_text(why), rc);
        goto out;
    }
    have_res = true;
    rc = lj_journal_save_cert(f->cfg->state_dir, res.cert_der, res.cert_len);
    if (rc != LJ_OK) {
        fail_rc(f, LJ_PHASE_JOIN, rc);
        goto out;
    }
    copy(f->j.device_id, sizeof(f->j.device_id), res.device_id);
    if (res.tenant_id[0] != '\0')
        copy(f->j.tenant_id, sizeof(f->j.tenant_id), res.tenant_id);
    copy(f->j.tenant_name, sizeof(f->j.tenant_name),
         f->disc.tenant_display_name[0] != '\0' ? f->disc.tenant_display_name
         : f->disc.tenant_name[0] != '\0'       ? f->disc.tenant_name
                                                : f->domain);
    if (res.upn[0] != '\0')
        copy(f->j.upn, sizeof(f->j.upn), res.upn);
    copy(f->j.cert_thumbprint, sizeof(f->j.cert_thumbprint), res.thumbprint);
    lj_journal_set_state(&f->j, LJ_JS_JOINED);
    lj_journal_clear_error(&f->j);
    rc = journal_save(f);
    if (rc == LJ_OK)
        lj_log(LJ_LOG_INFO, MOD, "event=joined device_id=%s tenant_id=%s thumbprint=%s",
               f->j.device_id, f->j.tenant_id, f->j.cert_thumbprint);
out:
    if (have_res)
        drs_join_result_free(&res);
    lj_http_response_free(&resp);
    free(csr);
    free(blob);
    free(spki);
    free(url);
    free(body);
    return rc;
}

/* ---- Intune enrollment (see the design note at the top) ---- */

/* Forget a failure that a retry or a fresh sign-in is about to get past. */
static void
fail_clear(struct flow *f)
{
    f->failed = false;
    f->reason = LJ_R_INTERNAL;
    memset(&f->err, 0, sizeof(f->err));
    f->host[0] = '\0';
    f->what[0] = '\0';
}

/* An Intune answer that is not the expected 200 SOAP body (fault or not). */
static enum lj_rc
fail_mdm_answer(struct flow *f, const struct lj_http_response *resp, const struct mdm_fault *flt)
{
    struct lj_classified c;
    long port;

    lj_classify_mdm(flt, &c);
    err_ids_from_resp(f, resp);
    fail_classified(f, LJ_PHASE_MDM, &c, LJ_ERR_HTTP);
    copy(f->err.error_type, sizeof(f->err.error_type),
         flt->error_type[0] != '\0' ? flt->error_type : flt->subcode);
    copy(f->err.error_code, sizeof(f->err.error_code), flt->subcode);
    copy(f->err.message, sizeof(f->err.message),
         flt->message[0] != '\0' ? flt->message : flt->reason);
    if (flt->trace_id[0] != '\0')
        copy(f->err.trace_id, sizeof(f->err.trace_id), flt->trace_id);
    if (f->host[0] == '\0' &&
        lj_http_url_host(f->cfg->mdm_url, f->host, sizeof(f->host), &port) != LJ_OK)
        f->host[0] = '\0';
    lj_log(LJ_LOG_WARN, MOD,
           "event=mdm_refused status=%ld kind=%d subcode=\"%s\" error_type=\"%s\" hresult=0x%08lx "
           "trace_id=%s reason=%s",
           resp->status, (int)flt->kind, flt->subcode, flt->error_type, flt->hresult,
           flt->trace_id, f->err.reason);
    return LJ_ERR_HTTP;
}

/* A 200 body that did not pass its parser: bad_service_response, why named. */
static enum lj_rc
fail_mdm_parse(struct flow *f, const struct lj_http_response *resp, const char *step,
               enum mdm_reject why, enum lj_rc rc)
{
    lj_log(LJ_LOG_WARN, MOD, "event=mdm_answer_rejected step=%s why=%s", step,
           mdm_reject_name(why));
    err_ids_from_resp(f, resp);
    fail_set(f, LJ_PHASE_MDM, LJ_R_BAD_SERVICE_RESPONSE, NULL, rc);
    snprintf(f->err.message, sizeof(f->err.message), "%s answer rejected: %s", step,
             mdm_reject_name(why));
    return rc;
}

/*
 * POST one SOAP request and check the answer is a 200 SOAP body without a
 * fault (anything else is recorded through lj_classify_mdm).  LJ_OK: the
 * caller parses resp.
 */
static enum lj_rc
mdm_post(struct flow *f, const char *url, const char *xml, size_t len,
         struct lj_http_response *resp)
{
    static const char *const hdrs[] = {"User-Agent: " MDM_USER_AGENT, NULL};
    struct lj_http_request req;
    struct mdm_fault flt;
    enum lj_rc rc;

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = url;
    req.headers = hdrs;
    req.body = xml;
    req.body_len = len;
    req.content_type = MDM_CONTENT_TYPE;
    req.max_body = MDM_MAX_BODY;
    rc = lj_http_do(f->http, &req, resp);
    if (rc != LJ_OK)
        return fail_net(f, LJ_PHASE_MDM, rc, url, resp->error);
    f->mdm_retry_after = resp->retry_after;
    mdm_fault_parse(resp->status, resp->body, resp->body_len, &flt);
    if (resp->status == 200 && flt.kind == MDM_BODY_SOAP)
        return LJ_OK;
    return fail_mdm_answer(f, resp, &flt);
}

/* In scope?  Decided from the DRS token of this run's sign-in (§1.3). */
static enum lj_rc
mdm_scope_check(struct flow *f)
{
    if (!f->fresh_signin || !f->have_claims)
        return LJ_OK; /* opaque token or no sign-in in this run: Intune decides */
    if (f->claims.mdm_enrollment_url[0] != '\0') {
        lj_log(LJ_LOG_INFO, MOD, "event=mdm_in_scope mdm_enrollment_url=%s",
               f->claims.mdm_enrollment_url);
        return LJ_OK;
    }
    lj_log(LJ_LOG_WARN, MOD, "event=mdm_not_in_scope upn=%s reason=\"no mdm_enrollment_url "
           "claim in the sign-in token\"", f->claims.upn);
    fail_set(f, LJ_PHASE_MDM, LJ_R_MDM_NOT_IN_SCOPE, NULL, LJ_ERR_AUTH);
    copy(f->err.message, sizeof(f->err.message),
         "Entra issued no MDM enrollment URL for this user (MDM user scope)");
    return LJ_ERR_AUTH;
}

/* Access token for the Intune enrollment resource from the refresh token. */
static enum lj_rc
mdm_token_get(struct flow *f)
{
    struct oauth_params op = f->op;
    struct lj_http_response resp;
    struct oauth_token t;
    char *form = NULL;
    enum lj_rc rc;

    memset(&resp, 0, sizeof(resp));
    if (f->refresh_token == NULL || f->refresh_token[0] == '\0') {
        lj_log(LJ_LOG_WARN, MOD, "event=mdm_no_refresh_token");
        fail_set(f, LJ_PHASE_MDM, LJ_R_SIGNIN_SESSION_EXPIRED, "", LJ_ERR_NOT_FOUND);
        return LJ_ERR_NOT_FOUND;
    }
    lj_ui_progress(f->ui, "mdm", "Getting permission to enroll in device management", 88);
    op.api = OAUTH_V1;
    op.target = OAUTH_MDM_RESOURCE;
    rc = oauth_body_refresh(&op, f->refresh_token, &form);
    if (rc != LJ_OK) {
        fail_rc(f, LJ_PHASE_MDM, rc);
        goto out;
    }
    rc = token_post_in(f, LJ_PHASE_MDM, form, &resp);
    if (rc != LJ_OK)
        goto out;
    if (resp.status != 200) {
        rc = fail_oauth_in(f, LJ_PHASE_MDM, &resp, OAUTH_GRANT_REFRESH);
        goto out;
    }
    rc = oauth_token_parse(resp.body, resp.body_len, &t);
    if (rc != LJ_OK) {
        err_ids_from_resp(f, &resp);
        fail_set(f, LJ_PHASE_MDM, LJ_R_BAD_SERVICE_RESPONSE, NULL, rc);
        goto out;
    }
    lj_secret_free(f->mdm_token);
    f->mdm_token = t.access_token;
    t.access_token = NULL;
    if (t.refresh_token != NULL) { /* rotated: keep the newest */
        lj_secret_free(f->refresh_token);
        f->refresh_token = t.refresh_token;
        t.refresh_token = NULL;
    }
    oauth_token_free(&t);
    if (!f->secrets_held)
        lj_secrets_held(true);
    f->secrets_held = true;
    lj_log(LJ_LOG_INFO, MOD, "event=mdm_token resource=%s access_token=*** refresh_token=***",
           OAUTH_MDM_RESOURCE);
out:
    lj_secret_free(form);
    lj_http_response_free(&resp);
    return rc;
}

/* OS version as MS-MDE2 wants it: digits and dots, starting with a digit. */
static const char *
mdm_os_version(const struct flow *f)
{
    const char *v = f->id.os_version;

    if (v[0] >= '0' && v[0] <= '9' && strspn(v, "0123456789.") == strlen(v) && strlen(v) < 32)
        return v;
    return "0";
}

/* One enrollment sequence: Discover, GetPolicies (when named), RST. */
static enum lj_rc
mdm_attempt(struct flow *f, const unsigned char *csr, size_t csr_len, const unsigned char *spki,
            size_t spki_len)
{
    struct lj_http_response resp;
    struct mdm_discover_request dr;
    struct mdm_discovery d;
    struct mdm_policy pol;
    struct mdm_enroll_verify v;
    struct mdm_enrollment e;
    enum mdm_reject why = MDM_REJECT_NONE;
    char msgid[MDM_MSGID_LEN], url[LJ_CONFIG_URL_MAX + 64], name[LJ_CONFIG_NAME_MAX];
    const char *upn = f->j.upn[0] != '\0' ? f->j.upn : f->claims.upn;
    char *xml = NULL;
    size_t len = 0, blen;
    enum lj_rc rc;

    memset(&resp, 0, sizeof(resp));
    memset(&e, 0, sizeof(e));
    /* Discover: {mdm_url}/EnrollmentServer/Discovery.svc, no authentication. */
    copy(url, sizeof(url), f->cfg->mdm_url);
    blen = strlen(url);
    while (blen > 0 && url[blen - 1] == '/')
        url[--blen] = '\0';
    snprintf(url + blen, sizeof(url) - blen, "/EnrollmentServer/Discovery.svc");
    lj_ui_progress(f->ui, "mdm", "Finding your organization's device management service", 90);
    memset(&dr, 0, sizeof(dr));
    dr.url = url;
    dr.message_id = msgid;
    dr.upn = upn;
    dr.os_version = mdm_os_version(f);
    rc = mdm_message_id(msgid);
    if (rc == LJ_OK)
        rc = mdm_discover_build(&dr, &xml, &len);
    if (rc != LJ_OK) {
        fail_rc(f, LJ_PHASE_MDM, rc);
        goto out;
    }
    rc = mdm_post(f, url, xml, len, &resp);
    free(xml);
    xml = NULL;
    if (rc != LJ_OK)
        goto out;
    rc = mdm_discover_parse(resp.body, resp.body_len, msgid, &d, &why);
    if (rc != LJ_OK) {
        fail_mdm_parse(f, &resp, "discovery", why, rc);
        goto out;
    }
    lj_http_response_free(&resp);
    lj_log(LJ_LOG_INFO, MOD, "event=mdm_discovered auth_policy=%s version=%s enroll=%s policy=%s",
           d.auth_policy, d.enrollment_version, d.enrollment_service_url,
           d.enrollment_policy_service_url);
    /* The certificate policy, when discovery names its service. */
    if (d.enrollment_policy_service_url[0] != '\0') {
        struct mdm_policy_request pr = {.url = d.enrollment_policy_service_url,
                                        .message_id = msgid, .access_token = f->mdm_token};

        lj_ui_progress(f->ui, "mdm", "Reading the device management certificate policy", 92);
        rc = mdm_message_id(msgid);
        if (rc == LJ_OK)
            rc = mdm_policy_build(&pr, &xml, &len);
        if (rc != LJ_OK) {
            fail_rc(f, LJ_PHASE_MDM, rc);
            goto out;
        }
        rc = mdm_post(f, pr.url, xml, len, &resp);
        lj_secret_free(xml);
        xml = NULL;
        if (rc != LJ_OK)
            goto out;
        rc = mdm_policy_parse(resp.body, resp.body_len, msgid, &pol, &why);
        if (rc == LJ_OK)
            rc = mdm_policy_check(&pol, LJ_FLOW_MDM_KEY_BITS, &why);
        if (rc != LJ_OK) {
            fail_mdm_parse(f, &resp, "policy", why, rc);
            goto out;
        }
        lj_http_response_free(&resp);
        lj_log(LJ_LOG_INFO, MOD, "event=mdm_policy min_key_bits=%u hash_oid=%s validity_s=%lld",
               pol.min_key_bits, pol.hash_oid, pol.validity_s);
    }
    /* RequestSecurityToken. */
    lj_ui_progress(f->ui, "mdm", "Enrolling the device in device management", 95);
    display_name(f, name, sizeof(name));
    {
        struct mdm_enroll_request er = {
            .url = d.enrollment_service_url,
            .message_id = msgid,
            .access_token = f->mdm_token,
            .csr_der = csr,
            .csr_len = csr_len,
            .device_id = f->j.device_id,
            .tenant_id = f->j.tenant_id,
            .os_version = mdm_os_version(f),
            .device_name = name,
            .manufacturer = f->id.manufacturer,
            .model = f->id.model,
            .serial = f->id.serial,
            .not_in_oobe = f->resume,
        };

        rc = mdm_message_id(msgid);
        if (rc == LJ_OK)
            rc = mdm_enroll_build(&er, &xml, &len);
        if (rc != LJ_OK) {
            fail_rc(f, LJ_PHASE_MDM, rc);
            goto out;
        }
        rc = mdm_post(f, er.url, xml, len, &resp);
        lj_secret_free(xml);
        xml = NULL;
        if (rc != LJ_OK)
            goto out;
    }
    memset(&v, 0, sizeof(v));
    v.key.spki_der = spki;
    v.key.spki_len = spki_len;
    v.message_id = msgid;
    rc = mdm_enroll_parse(resp.body, resp.body_len, &v, &e, &why);
    if (rc != LJ_OK) {
        fail_mdm_parse(f, &resp, "enrollment", why, rc);
        goto out;
    }
    f->enr = e;
    f->have_enr = true;
    memset(&e, 0, sizeof(e));
out:
    lj_secret_free(xml);
    lj_http_response_free(&resp);
    return rc;
}

/* The Intune device id: the CN of the client certificate's subject. */
static void
mdm_cn(const char *subject, char *out, size_t osz)
{
    const char *p = strstr(subject, "CN=");
    size_t n;

    out[0] = '\0';
    if (p == NULL)
        return;
    p += 3;
    n = strcspn(p, "/,");
    if (n >= osz)
        n = osz - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* Store what enrollment delivered, then journal mdm_enrolled. */
static enum lj_rc
mdm_store(struct flow *f)
{
    const unsigned char *chain[MDM_MAX_CERTS];
    size_t chain_len[MDM_MAX_CERTS];
    enum lj_rc rc;

    for (size_t i = 0; i < f->enr.chain_len; i++) {
        chain[i] = f->enr.chain[i].der;
        chain_len[i] = f->enr.chain[i].len;
    }
    rc = lj_journal_save_mdm(f->cfg->state_dir, f->enr.client.der, f->enr.client.len, chain,
                             chain_len, f->enr.chain_len);
    if (rc != LJ_OK)
        return fail_rc(f, LJ_PHASE_MDM, rc);
    copy(f->j.mdm_server_url, sizeof(f->j.mdm_server_url), f->enr.mgmt_url);
    copy(f->j.mdm_cert_thumbprint, sizeof(f->j.mdm_cert_thumbprint), f->enr.client.thumbprint);
    mdm_cn(f->enr.client.subject, f->j.mdm_enrollment_id, sizeof(f->j.mdm_enrollment_id));
    lj_journal_set_state(&f->j, LJ_JS_MDM_ENROLLED);
    lj_journal_clear_error(&f->j);
    rc = lj_journal_save(f->cfg->state_dir, &f->j);
    if (rc == LJ_OK)
        rc = lj_marker_sync(f->cfg->state_dir, f->j.state);
    if (rc != LJ_OK)
        return fail_rc(f, LJ_PHASE_MDM, rc);
    lj_log(LJ_LOG_INFO, MOD, "event=mdm_enrolled enrollment_id=%s server=%s thumbprint=%s",
           f->j.mdm_enrollment_id, f->j.mdm_server_url, f->j.mdm_cert_thumbprint);
    return LJ_OK;
}

/* Enrollment sequences with the retry bound of flow.h, then store. */
static enum lj_rc
mdm_enroll(struct flow *f)
{
    unsigned char *csr = NULL, *spki = NULL;
    size_t csr_len = 0, spki_len = 0;
    long budget = LJ_FLOW_MDM_RETRY_BUDGET_S;
    enum lj_rc rc;

    rc = tpm_csr(f->tpm, f->j.device_id, &csr, &csr_len, NULL);
    if (rc == LJ_OK)
        rc = tpm_device_spki(f->tpm, &spki, &spki_len);
    if (rc != LJ_OK) {
        fail_rc(f, LJ_PHASE_MDM, rc);
        goto out;
    }
    for (int attempt = 1;; attempt++) {
        long w;

        f->mdm_retry_after = -1;
        f->j.mdm_attempts++;
        rc = mdm_attempt(f, csr, csr_len, spki, spki_len);
        if (rc == LJ_OK || f->reason != LJ_R_JOINED_MDM_PENDING || stopping(f))
            break;
        w = f->mdm_retry_after >= 0 ? f->mdm_retry_after
                                    : (long)LJ_FLOW_RETRY_DEFAULT_S << (attempt - 1);
        if (attempt >= LJ_FLOW_MDM_MAX_ATTEMPTS || w > budget)
            break;
        lj_log(LJ_LOG_INFO, MOD, "event=mdm_retry wait_s=%ld attempt=%d", w, attempt);
        lj_ui_progress(f->ui, "mdm", "Device management is busy; trying again", 90);
        budget -= w;
        rc = ui_wait(f, w * 1000, false, LJ_UI_MSG_CANCEL, NULL);
        if (rc != LJ_ERR_TIMEOUT) {
            rc = LJ_ERR_CANCELLED; /* the pending record of the last attempt stays */
            break;
        }
        fail_clear(f);
    }
    if (rc == LJ_OK)
        rc = mdm_store(f);
out:
    free(csr);
    free(spki);
    return rc;
}

/* Put the kept (sealed) refresh token into f; false when there is none usable. */
static bool
mdm_unseal_token(struct flow *f)
{
    unsigned char *data = NULL;
    size_t len = 0;
    enum lj_rc rc;

    rc = tpm_unseal(f->tpm, LJ_FLOW_MDM_SEAL_NAME, &data, &len);
    if (rc != LJ_OK) {
        lj_log(LJ_LOG_WARN, MOD, "event=mdm_no_kept_signin rc=%s", lj_rc_name(rc));
        return false;
    }
    if (len == 0 || strlen((char *)data) != len) {
        lj_secure_free(data, len);
        return false;
    }
    secrets_drop(f);
    f->refresh_token = (char *)data;
    lj_secrets_held(true);
    f->secrets_held = true;
    lj_log(LJ_LOG_INFO, MOD, "event=mdm_kept_signin_unsealed refresh_token=***");
    return true;
}

/*
 * The token step of a resumed enrollment: the sealed refresh token, else
 * (interactive only) a new sign-in; then the Intune token.
 */
static enum lj_rc
mdm_resume_token(struct flow *f)
{
    enum lj_rc rc;

    if (mdm_unseal_token(f)) {
        rc = mdm_token_get(f);
        if (rc == LJ_OK || f->reason != LJ_R_SIGNIN_SESSION_EXPIRED)
            return rc;
        lj_log(LJ_LOG_INFO, MOD, "event=mdm_kept_signin_expired");
    } else {
        fail_set(f, LJ_PHASE_MDM, LJ_R_SIGNIN_SESSION_EXPIRED, "", LJ_ERR_NOT_FOUND);
    }
    /* the kept sign-in is useless now */
    if (tpm_sealed_remove(f->cfg->state_dir, LJ_FLOW_MDM_SEAL_NAME) != LJ_OK)
        lj_log(LJ_LOG_WARN, MOD, "event=sealed_token_remove_failed");
    if (!f->interactive)
        return LJ_ERR_AUTH;
    fail_clear(f);
    lj_ui_progress(f->ui, "signin", "Sign in again to finish device management setup", 10);
    rc = signin(f);
    if (rc == LJ_OK)
        rc = mdm_scope_check(f);
    if (rc == LJ_OK)
        rc = mdm_token_get(f);
    return rc;
}

/*
 * After the join (or on resume): decide, journal and report the Intune
 * outcome of rc.  Returns the exit code.
 */
static int
mdm_outcome(struct flow *f, enum lj_rc rc)
{
    const struct lj_reason_info *info;
    struct lj_error_params p;
    struct lj_ui_result r;
    char msg[512], action[512];
    bool refused;
    int ex;

    memset(&r, 0, sizeof(r));
    r.device_id = f->j.device_id;
    r.tenant_name = f->j.tenant_name;
    r.upn = f->j.upn;
    if (rc == LJ_OK) {
        if (tpm_sealed_remove(f->cfg->state_dir, LJ_FLOW_MDM_SEAL_NAME) != LJ_OK)
            lj_log(LJ_LOG_WARN, MOD, "event=sealed_token_remove_failed");
        lj_ui_progress(f->ui, "done", "Joined and enrolled in device management", 100);
        r.status = LJ_UI_JOINED;
        r.mdm_state = "enrolled";
        r.mdm_server_url = f->j.mdm_server_url;
        r.mdm_cert_thumbprint = f->j.mdm_cert_thumbprint;
        lj_ui_result(f->ui, &r);
        return LJ_EXIT_OK;
    }
    if (!f->failed)
        fail_rc(f, LJ_PHASE_MDM, rc);
    info = lj_reason_get(f->reason);
    refused = f->reason == LJ_R_MDM_NOT_IN_SCOPE || f->reason == LJ_R_MDM_PLATFORM_BLOCKED ||
              f->reason == LJ_R_MDM_OWNERSHIP_BLOCKED || f->reason == LJ_R_MDM_DEVICE_CAP ||
              f->reason == LJ_R_MDM_LICENSE_MISSING || f->reason == LJ_R_MDM_REJECTED ||
              f->reason == LJ_R_MDM_BAD_SERVICE_RESPONSE;
    if (refused || f->reason == LJ_R_SIGNIN_SESSION_EXPIRED) {
        /* nothing a later retry with the kept sign-in can change */
        if (tpm_sealed_remove(f->cfg->state_dir, LJ_FLOW_MDM_SEAL_NAME) != LJ_OK)
            lj_log(LJ_LOG_WARN, MOD, "event=sealed_token_remove_failed");
    } else if (f->refresh_token != NULL && f->tpm != NULL) {
        enum lj_rc src = tpm_seal(f->tpm, LJ_FLOW_MDM_SEAL_NAME,
                                  (const unsigned char *)f->refresh_token,
                                  strlen(f->refresh_token));

        lj_log(src == LJ_OK ? LJ_LOG_INFO : LJ_LOG_WARN, MOD,
               "event=mdm_signin_kept sealed=%s rc=%s", src == LJ_OK ? "yes" : "no",
               lj_rc_name(src));
    }
    lj_journal_set_state(&f->j, refused ? LJ_JS_JOINED : LJ_JS_MDM_PENDING);
    lj_journal_set_error(&f->j, &f->err);
    if (lj_journal_save(f->cfg->state_dir, &f->j) != LJ_OK ||
        lj_marker_sync(f->cfg->state_dir, f->j.state) != LJ_OK)
        lj_log(LJ_LOG_ERROR, MOD, "event=journal_mdm_record_lost");
    memset(&p, 0, sizeof(p));
    p.host = f->host[0] != '\0' ? f->host : NULL;
    p.what = f->what[0] != '\0' ? f->what : NULL;
    p.domain = f->domain[0] != '\0' ? f->domain : NULL;
    p.manufacturer = f->id.manufacturer;
    p.model = f->id.model;
    p.serial = f->id.serial;
    lj_error_format(info->message, &p, msg, sizeof(msg));
    lj_error_format(info->admin_action, &p, action, sizeof(action));
    r.status = refused ? LJ_UI_JOINED : LJ_UI_JOINED_MDM_PENDING;
    r.mdm_state = refused ? "failed" : "pending";
    r.fix_by = lj_fix_by_name(info->fix_by);
    r.message = msg;
    r.admin_action = action;
    r.retryable = info->retryable;
    r.error = &f->err;
    lj_ui_progress(f->ui, "done", refused ? "Joined; device management refused" :
                                            "Joined; device management pending", 100);
    lj_ui_result(f->ui, &r);
    ex = info->exit_code;
    lj_log(LJ_LOG_INFO, MOD, "event=mdm_outcome state=%s reason=%s exit=%d",
           lj_journal_state_name(f->j.state), f->err.reason, ex);
    return ex;
}

/* Does a joined device still owe an Intune enrollment that `run` should finish? */
static bool
mdm_resumable(const struct lj_journal *j)
{
    return j->state == LJ_JS_MDM_PENDING ||
           (j->state == LJ_JS_JOINED && j->has_error && strcmp(j->last_error.phase, "mdm") == 0);
}

/* ---- result ---- */

static int
report_failure(struct flow *f, enum lj_rc rc)
{
    const struct lj_reason_info *info;
    struct lj_error_params p;
    struct lj_ui_result r;
    char msg[512], action[512];

    if (!f->failed)
        fail_rc(f, LJ_PHASE_PREFLIGHT, rc);
    info = lj_reason_get(f->reason);
    memset(&p, 0, sizeof(p));
    if (f->reason == LJ_R_BAD_SERVICE_RESPONSE && f->what[0] == '\0')
        copy(f->what, sizeof(f->what), "it is not in the expected form");
    p.host = f->host[0] != '\0' ? f->host : NULL;
    p.what = f->what[0] != '\0' ? f->what : NULL;
    /* Before discovery the organization is the configured tenant. */
    p.domain = f->domain[0] != '\0' ? f->domain : f->cfg->tenant;
    p.manufacturer = f->id.manufacturer;
    p.model = f->id.model;
    p.serial = f->id.serial;
    lj_error_format(info->message, &p, msg, sizeof(msg));
    lj_error_format(info->admin_action, &p, action, sizeof(action));
    memset(&r, 0, sizeof(r));
    r.status = f->reason == LJ_R_CANCELLED ? LJ_UI_CANCELLED : LJ_UI_FAILED;
    r.fix_by = lj_fix_by_name(info->fix_by);
    r.message = msg;
    r.admin_action = action;
    r.retryable = info->retryable;
    r.error = &f->err;
    lj_ui_result(f->ui, &r);
    lj_journal_set_error(&f->j, &f->err);
    if (lj_journal_save(f->cfg->state_dir, &f->j) != LJ_OK)
        lj_log(LJ_LOG_ERROR, MOD, "event=journal_error_record_lost");
    return info->exit_code;
}

/* The device identity: DMI, with the configured overrides. */
static void
identity_load(const struct lj_config *cfg, struct lj_identity *id)
{
    struct lj_identity ov;

    memset(&ov, 0, sizeof(ov));
    copy(ov.manufacturer, sizeof(ov.manufacturer), cfg->manufacturer);
    copy(ov.model, sizeof(ov.model), cfg->model);
    copy(ov.serial, sizeof(ov.serial), cfg->serial);
    copy(ov.os_version, sizeof(ov.os_version), cfg->os_version);
    lj_identity_read(id, &ov, NULL);
}

/*
 * One attempt, for both entry points, over an open UI (hello sent by the
 * caller).  retry_cmd: `mdm-retry` (no prompts, nothing but a pending
 * enrollment to do).
 */
static int
flow_main(const struct lj_config *cfg, bool retry_cmd, struct lj_ui *ui)
{
    struct flow *f = calloc(1, sizeof(*f));
    struct lj_journal_report rep;
    struct lj_http_config hc;
    struct tpm_open_opts to;
    const char *ct[LJ_CONFIG_MAX_CONNECT_TO];
    int ex = LJ_EXIT_FAILURE;
    enum lj_rc rc;

    if (f == NULL)
        return LJ_EXIT_FAILURE;
    g_stop = 0;
    signals_install();
    f->cfg = cfg;
    f->interactive = !retry_cmd;
    f->ui = ui;
    identity_load(cfg, &f->id);
    rc = lj_fs_mkdir_private(cfg->state_dir);
    if (rc == LJ_OK)
        rc = lj_journal_load(cfg->state_dir, &f->j, &rep);
    if (rc != LJ_OK) {
        lj_journal_init(&f->j);
        report_failure(f, rc);
        ex = LJ_EXIT_STATE;
        goto out;
    }
    if (rep.moved_aside) {
        char step[900];

        snprintf(step, sizeof(step),
                 "The saved progress was unreadable (%s) and was kept as %s; starting again",
                 rep.reason, rep.aside_path);
        lj_ui_progress(f->ui, "preflight", step, 1);
    }
    /* What the keys, the TPM and a saved certificate prove (issue 7). */
    {
        struct lj_recover_report rr;

        rc = lj_recover(cfg, &f->j, &rr);
        if (rc != LJ_OK) {
            report_failure(f, rc);
            ex = LJ_EXIT_STATE;
            goto out;
        }
        if (rr.notice[0] != '\0')
            lj_ui_progress(f->ui, "preflight", rr.notice, 2);
    }
    if (retry_cmd && f->j.state < LJ_JS_JOINED) {
        fprintf(stderr, "linkjoin mdm-retry: this device is not joined (state %s); run "
                        "'linkjoin run' first\n", lj_journal_state_name(f->j.state));
        ex = LJ_EXIT_NOT_JOINED;
        goto out;
    }
    if (retry_cmd && f->j.state != LJ_JS_MDM_PENDING) {
        lj_log(LJ_LOG_INFO, MOD, "event=mdm_nothing_pending state=%s",
               lj_journal_state_name(f->j.state));
        printf("linkjoin mdm-retry: no Intune enrollment is pending (state %s)\n",
               lj_journal_state_name(f->j.state));
        if (lj_marker_sync(cfg->state_dir, f->j.state) != LJ_OK)
            lj_log(LJ_LOG_WARN, MOD, "event=marker_sync_failed");
        ex = LJ_EXIT_OK;
        goto out;
    }
    if (f->j.state >= LJ_JS_JOINED && !mdm_resumable(&f->j)) {
        struct lj_ui_result r;

        memset(&r, 0, sizeof(r));
        r.status = LJ_UI_ALREADY_JOINED;
        r.device_id = f->j.device_id;
        r.tenant_name = f->j.tenant_name;
        r.upn = f->j.upn;
        r.message = "This device is already joined; nothing was changed.";
        lj_ui_result(f->ui, &r);
        lj_log(LJ_LOG_INFO, MOD, "event=already_joined device_id=%s", f->j.device_id);
        if (lj_marker_sync(cfg->state_dir, f->j.state) != LJ_OK)
            lj_log(LJ_LOG_WARN, MOD, "event=marker_sync_failed");
        ex = LJ_EXIT_ALREADY_JOINED;
        goto out;
    }
    f->resume = f->j.state >= LJ_JS_JOINED;
    if (f->resume)
        lj_log(LJ_LOG_INFO, MOD, "event=mdm_resume state=%s device_id=%s",
               lj_journal_state_name(f->j.state), f->j.device_id);

    /* Keygen first, so it overlaps preflight and the user's sign-in. */
    lj_cfg_tpm_opts(cfg, true, &to);
    f->tpm_open_rc = tpm_open(&to, &f->tpm);
    /*
     * Lockout and self-test are checked BEFORE keygen is queued: the TPM
     * worker runs calls in order, so a check queued after keygen would wait
     * for it.  preflight() reports tpm_open_rc before any prompt
     * (LJ_ERR_TPM_LOCKOUT -> tpm_locked).
     */
    if (f->tpm_open_rc == LJ_OK)
        f->tpm_open_rc = tpm_preflight(f->tpm, NULL);
    if (f->tpm_open_rc == LJ_OK && !cfg->no_early_keygen)
        f->keys_started = tpm_keys_ensure_start(f->tpm) == LJ_OK;
    /*
     * The join CSR's subject is a constant, not the user's: it is signed
     * right after keygen, on the TPM worker, while the person signs in
     * (a discrete TPM's RSA sign is a few hundred ms off the person's wait).
     */
    if (f->keys_started && !f->resume)
        f->csr_started = tpm_csr_start(f->tpm, LJ_FLOW_CSR_CN) == LJ_OK;
    LJ_TEST_CRASH_POINT("keys_started");

    lj_cfg_http(cfg, ct, &hc);
    hc.cancelled = http_cancelled;
    hc.cancel_arg = f;
    rc = lj_http_new(&hc, &f->http);
    if (rc != LJ_OK)
        goto fail;

    f->op.authority = cfg->authority;
    f->op.tenant = cfg->tenant;
    f->op.client_id = cfg->client_id[0] != '\0' ? cfg->client_id : NULL;
    f->op.api = OAUTH_V1;
    f->op.target = OAUTH_DRS_RESOURCE;

    if (f->resume) {
        /* joined already: every failure from here on is an MDM outcome */
        rc = f->tpm_open_rc != LJ_OK ? fail_rc(f, LJ_PHASE_MDM, f->tpm_open_rc) : keys_await(f);
        if (rc == LJ_OK)
            rc = mdm_resume_token(f);
        if (rc == LJ_OK)
            rc = mdm_enroll(f);
        ex = mdm_outcome(f, rc);
        goto out;
    }
    rc = preflight(f);
    f->early_discovery = tenant_is_domain(cfg) && !cfg->no_early_keygen;
    if (rc == LJ_OK && f->early_discovery)
        rc = discover(f, 7);
    f->early_discovery = false;
    if (rc == LJ_OK)
        rc = signin(f);
    if (rc == LJ_OK && !f->discovered)
        rc = discover(f, 55);
    if (rc == LJ_OK)
        rc = keys_await(f);
    if (rc == LJ_OK)
        rc = join(f);
    if (rc != LJ_OK)
        goto fail;
    rc = mdm_scope_check(f);
    if (rc == LJ_OK)
        rc = mdm_token_get(f);
    if (rc == LJ_OK)
        rc = mdm_enroll(f);
    ex = mdm_outcome(f, rc);
    goto out;
fail:
    if (stopping(f) && !f->failed)
        rc = LJ_ERR_CANCELLED;
    ex = report_failure(f, rc);
out:
    if (f->have_enr)
        mdm_enrollment_free(&f->enr);
    secrets_drop(f);
    lj_ui_msg_clear(&f->pending);
    lj_http_free(f->http);
    tpm_close(f->tpm); /* waits for a keygen still running: keys are kept for the retry */
    lj_secure_zero(f, sizeof(*f));
    free(f);
    return ex;
}

/*
 * After a result that is not a success: wait up to cfg->retry_wait for
 * the UI's `retry` (true) or `cancel` (*ex = cancelled).  false when the
 * window ends, a signal comes, or the UI cannot send anything (tty, stdin
 * closed).
 */
static bool
retry_wanted(const struct lj_config *cfg, struct lj_ui *ui, int *ex)
{
    long long end = lj_mono_ms() + (long long)cfg->retry_wait * 1000;

    if (cfg->retry_wait <= 0 || !lj_ui_can_receive(ui)) {
        lj_log(LJ_LOG_INFO, MOD, "event=retry_not_offered reason=%s",
               cfg->retry_wait <= 0 ? "retry_wait_0" : "ui_cannot_send");
        return false;
    }
    lj_log(LJ_LOG_INFO, MOD, "event=waiting_for_retry window_s=%d exit=%d", cfg->retry_wait, *ex);
    for (;;) {
        struct lj_ui_msg m;
        long long left = end - lj_mono_ms();
        enum lj_rc rc;

        if (g_stop) {
            lj_log(LJ_LOG_INFO, MOD, "event=retry_wait_ended reason=signal");
            return false;
        }
        if (!lj_ui_can_receive(ui)) {
            lj_log(LJ_LOG_INFO, MOD, "event=retry_wait_ended reason=ui_input_closed");
            return false;
        }
        if (left <= 0) {
            lj_log(LJ_LOG_INFO, MOD, "event=retry_wait_ended reason=window_over");
            return false;
        }
        memset(&m, 0, sizeof(m));
        rc = lj_ui_poll(ui, left < UI_SLICE_MS ? (int)left : UI_SLICE_MS, &m);
        if (rc == LJ_ERR_TIMEOUT)
            continue;
        if (rc != LJ_OK) {
            lj_log(LJ_LOG_WARN, MOD, "event=retry_wait_ended reason=ui_failed rc=%s",
                   lj_rc_name(rc));
            return false;
        }
        switch (m.type) {
        case LJ_UI_MSG_RETRY:
            lj_ui_msg_clear(&m);
            return true;
        case LJ_UI_MSG_CANCEL:
            lj_ui_msg_clear(&m);
            lj_log(LJ_LOG_INFO, MOD, "event=retry_wait_ended reason=cancel");
            *ex = LJ_EXIT_CANCELLED;
            return false;
        default:
            lj_ui_msg_clear(&m);
            lj_ui_error(ui, "not_expected",
                        "nothing is being asked for now: send retry to try again, or cancel");
            break;
        }
    }
}

static struct lj_ui *
ui_open(const struct lj_config *cfg, bool retry_cmd)
{
    struct lj_ui *ui = NULL;
    enum lj_rc rc;

    if (retry_cmd)
        rc = lj_ui_open_fds(cfg->ui == LJ_UI_STDIO ? LJ_UI_STDIO : LJ_UI_TTY, -1, STDOUT_FILENO,
                            &ui);
    else
        rc = lj_ui_open(cfg, &ui);
    if (rc != LJ_OK) {
        fprintf(stderr, "linkjoin %s: cannot open the UI channel (%s): %s\n",
                retry_cmd ? "mdm-retry" : "run", lj_rc_name(rc), lj_err_detail());
        return NULL;
    }
    return ui;
}

static void
hello(const struct lj_config *cfg, struct lj_ui *ui)
{
    struct lj_identity id;

    identity_load(cfg, &id);
    lj_ui_hello(ui, &id);
}

int
lj_flow_run(const struct lj_config *cfg)
{
    struct lj_ui *ui = ui_open(cfg, false);
    int ex, attempt = 1;

    if (ui == NULL)
        return LJ_EXIT_FAILURE;
    hello(cfg, ui);
    for (;;) {
        ex = flow_main(cfg, false, ui);
        if (ex == LJ_EXIT_OK || ex == LJ_EXIT_ALREADY_JOINED || ex == LJ_EXIT_CANCELLED ||
            !retry_wanted(cfg, ui, &ex))
            break;
        attempt++;
        lj_log(LJ_LOG_INFO, MOD, "event=retry attempt=%d", attempt);
        lj_ui_new_attempt(ui);
        lj_ui_progress(ui, "preflight", "Trying again", 0);
    }
    lj_ui_free(ui);
    return ex;
}

int
lj_flow_mdm_retry(const struct lj_config *cfg)
{
    struct lj_ui *ui = ui_open(cfg, true);
    int ex;

    if (ui == NULL)
        return LJ_EXIT_FAILURE;
    hello(cfg, ui);
    ex = flow_main(cfg, true, ui);
    lj_ui_free(ui);
    return ex;
}
