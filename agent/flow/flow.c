/*
 * flow.c — the join flow of `run` and `mdm-retry` (see flow.h): the runner,
 * its retry-after-failure loop and the entry points.  The steps live in
 * preflight.c, signin.c, join.c and enroll.c; failures are recorded in
 * fail.c; flow_int.h says which file holds what.
 *
 * Design note.
 * - One struct flow holds everything a run owns; every step is a function
 *   returning enum lj_rc.  A step that fails records WHY exactly once in
 *   f->fail (phase, reason, code, server part) through flow_fail_*();
 *   the runner then sends the one `result` event, writes the error record
 *   to the journal and maps the reason to its exit code.  A step that fails
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
 *   f->inbox.cancel.  Waits poll the UI in short slices and HTTP transfers
 *   poll both through the cancel hook, so a cancel ends any step with
 *   LJ_ERR_CANCELLED and the journal stays at its last consistent state.
 * - Secrets: access and refresh tokens live in f->tok only (wiped at the
 *   end; lj_secrets_held while held), passwords and codes only as long as
 *   the request that uses them.
 *
 * Intune (after the join; enroll.c).
 * - PRT first (prt.c): right after the join the device takes a Primary
 *   Refresh Token with its own keys; the session key stays in the TPM.
 * - Token: a PRT-signed request for https://enrollment.manage.microsoft.com/;
 *   its deviceid claim must name the joined device before any SOAP.
 *   AADSTS50155 right after the join is device_auth_pending (retried).
 * - Scope: the sign-in id_token's mdm_enrollment_url, when present, is the
 *   discovery URL; a missing claim decides nothing (Intune's answer does).
 * - Then MS-MDE2 Discover at {mdm_url}/EnrollmentServer/Discovery.svc, the
 *   MS-XCEP policy when discovery names one (key length and hash checked),
 *   and the MS-WSTEP RequestSecurityToken with a PKCS#10 signed by the
 *   DEVICE key in the TPM (the key Entra already certified: no second slow
 *   RSA keygen, and the MDM identity stays bound to the same TPM key as
 *   the join).
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
#include "agent/flow/flow_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/core/exitcodes.h"
#include "agent/net/cfgmap.h"
#include "agent/state/marker.h"
#include "agent/state/recover.h"
#include "platform/common/elapsed.h"
#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "platform/testhook.h"

/* The device identity: DMI, with the configured overrides. */
void
flow_identity_load(const struct lj_config *cfg, struct lj_identity *id)
{
    struct lj_identity ov;

    memset(&ov, 0, sizeof(ov));
    flow_copy(ov.manufacturer, sizeof(ov.manufacturer), cfg->manufacturer);
    flow_copy(ov.model, sizeof(ov.model), cfg->model);
    flow_copy(ov.serial, sizeof(ov.serial), cfg->serial);
    lj_identity_read(id, &ov, NULL);
}

/*
 * The state directory: its journal (an unreadable one is moved aside and
 * the run starts again) and what the keys, the TPM and a saved certificate
 * prove about it (lj_recover).  On failure f->j is usable for the error
 * record.
 */
static enum lj_rc
state_load(struct flow *f)
{
    struct lj_journal_report rep;
    struct lj_recover_report rr;
    enum lj_rc rc;

    rc = lj_fs_mkdir_private(f->cfg->state_dir);
    if (rc == LJ_OK)
        rc = lj_journal_load(f->cfg->state_dir, &f->j, &rep);
    if (rc != LJ_OK) {
        lj_journal_init(&f->j);
        return rc;
    }
    if (rep.moved_aside) {
        /* the reason and the kept file are in the journal's log line */
        lj_ui_notice(f->ui, "journal_unreadable", -1, "preflight", 1);
    }
    rc = lj_recover(f->cfg, &f->j, &rr);
    if (rc != LJ_OK)
        return rc;
    if (rr.action != LJ_RECOVER_NONE) {
        char name[48];

        /* notice.recover_<action>: the same sentence as rr.notice */
        snprintf(name, sizeof(name), "recover_%s", lj_recover_action_name(rr.action));
        lj_ui_notice(f->ui, name, -1, "preflight", 2);
    }
    return LJ_OK;
}

/*
 * The runs that end before any TPM or network work: mdm-retry on a device
 * that is not joined or has nothing pending, and run on a joined device
 * that owes no enrollment.  true with *ex set when this run is one of them.
 */
static bool
nothing_to_do(struct flow *f, bool retry_cmd, int *ex)
{
    struct lj_ui_result r;

    if (retry_cmd && f->j.state < LJ_JS_JOINED) {
        fprintf(stderr,
                "linkjoin mdm-retry: this device is not joined (state %s); run "
                "'linkjoin run' first\n",
                lj_journal_state_name(f->j.state));
        *ex = LJ_EXIT_NOT_JOINED;
        return true;
    }
    if (retry_cmd && f->j.state != LJ_JS_MDM_PENDING) {
        lj_log(LJ_LOG_INFO, MOD, "event=mdm_nothing_pending state=%s",
               lj_journal_state_name(f->j.state));
        printf("linkjoin mdm-retry: no Intune enrollment is pending (state %s)\n",
               lj_journal_state_name(f->j.state));
        if (lj_marker_sync(f->cfg->state_dir, f->j.state) != LJ_OK)
            lj_log(LJ_LOG_WARN, MOD, "event=marker_sync_failed");
        *ex = LJ_EXIT_OK;
        return true;
    }
    if (f->j.state < LJ_JS_JOINED || flow_enroll_owed(&f->j))
        return false;
    memset(&r, 0, sizeof(r));
    r.status = LJ_UI_ALREADY_JOINED;
    r.device_id = f->j.device_id;
    r.tenant_name = f->j.tenant_name;
    r.upn = f->j.upn;
    r.message_id = "result.already_joined.message";
    r.message = lj_msg_en(r.message_id);
    lj_ui_result(f->ui, &r);
    lj_log(LJ_LOG_INFO, MOD, "event=already_joined device_id=%s", f->j.device_id);
    if (lj_marker_sync(f->cfg->state_dir, f->j.state) != LJ_OK)
        lj_log(LJ_LOG_WARN, MOD, "event=marker_sync_failed");
    *ex = LJ_EXIT_ALREADY_JOINED;
    return true;
}

/*
 * Open the TPM and queue keygen, then the join CSR's signature, on its
 * worker, so they overlap preflight and the user's sign-in.  The verdict is
 * kept in f->tpm_open_rc for preflight (or the resume) to report.
 */
static void
tpm_start(struct flow *f)
{
    struct tpm_open_opts to;

    lj_cfg_tpm_opts(f->cfg, true, &to);
    f->tpm_open_rc = tpm_open(&to, &f->tpm);
    /*
     * Lockout and self-test are checked BEFORE keygen is queued: the TPM
     * worker runs calls in order, so a check queued after keygen would wait
     * for it.  flow_preflight() reports tpm_open_rc before any prompt
     * (LJ_ERR_TPM_LOCKOUT -> tpm_locked).
     */
    if (f->tpm_open_rc == LJ_OK)
        f->tpm_open_rc = tpm_preflight(f->tpm, &f->tpm_h);
    if (f->tpm_open_rc == LJ_OK && !f->cfg->no_early_keygen)
        f->keys_started = tpm_keys_ensure_start(f->tpm) == LJ_OK;
    /*
     * The join CSR's subject is a constant, not the user's: it is signed
     * right after keygen, on the TPM worker, while the person signs in
     * (a discrete TPM's RSA sign is a few hundred ms off the person's wait).
     */
    if (f->keys_started && !f->resume)
        f->csr_started = tpm_csr_start(f->tpm, LJ_FLOW_CSR_CN) == LJ_OK;
    LJ_TEST_CRASH_POINT("keys_started");
}

/* The HTTP client (cancellable through the UI and signals) and the OAuth parameters. */
static enum lj_rc
net_start(struct flow *f)
{
    const char *ct[LJ_CONFIG_MAX_CONNECT_TO];
    struct lj_http_config hc;
    struct lj_cfg_proxy px;
    enum lj_rc rc;

    lj_cfg_http(f->cfg, ct, &hc);
    hc.cancelled = flow_http_cancelled;
    hc.cancel_arg = f;
    rc = lj_cfg_proxy(f->cfg, &px, &hc);
    if (rc == LJ_OK)
        rc = lj_http_new(&hc, &f->http);
    lj_cfg_proxy_wipe(&px); /* the client holds its own copy */
    if (rc == LJ_ERR_PROXY || rc == LJ_ERR_PROXY_AUTH) {
        /* an environment proxy that is no URL, an unusable credentials file */
        flow_copy(f->fail.proxy, sizeof(f->fail.proxy), px.url);
        flow_copy(f->fail.what, sizeof(f->fail.what), px.error);
        flow_fail_rc(f, LJ_PHASE_PREFLIGHT, rc);
    }
    if (rc != LJ_OK)
        return rc;
    f->op.authority = f->cfg->authority;
    f->op.tenant = f->cfg->tenant;
    f->op.client_id = f->cfg->client_id[0] != '\0' ? f->cfg->client_id : NULL;
    f->op.api = OAUTH_V1;
    f->op.target = OAUTH_DRS_RESOURCE;
    return LJ_OK;
}

/* A run that failed before the join was done: the failure result and its exit code. */
static int
run_failed(struct flow *f, enum lj_rc rc)
{
    if (flow_stopping(f) && !f->fail.failed)
        rc = LJ_ERR_CANCELLED;
    return flow_report_failure(f, rc);
}

/* A device not joined yet: preflight, sign-in, discovery, keys, join, Intune. */
static int
join_run(struct flow *f)
{
    enum lj_rc rc;

    rc = flow_preflight(f);
    f->early_discovery = flow_tenant_is_domain(f->cfg) && !f->cfg->no_early_keygen;
    if (rc == LJ_OK && f->early_discovery)
        rc = flow_discover(f, 7);
    f->early_discovery = false;
    if (rc == LJ_OK)
        rc = flow_signin(f);
    if (rc == LJ_OK && !f->discovered)
        rc = flow_discover(f, 55);
    if (rc == LJ_OK)
        rc = flow_keys_await(f);
    if (rc == LJ_OK)
        rc = flow_join(f);
    if (rc != LJ_OK)
        return run_failed(f, rc);
    return flow_enroll_outcome(f, flow_enroll_fresh(f));
}

/* A device joined before this run: every failure from here on is an Intune outcome. */
static int
resume_run(struct flow *f)
{
    enum lj_rc rc;

    rc = f->tpm_open_rc != LJ_OK ? flow_fail_rc(f, LJ_PHASE_MDM, f->tpm_open_rc)
                                 : flow_keys_await(f);
    if (rc == LJ_OK)
        rc = flow_enroll_resume(f);
    return flow_enroll_outcome(f, rc);
}

/* Release everything a run owns (waits for a keygen still running: keys are kept). */
static void
flow_free(struct flow *f)
{
    if (f->have_enr)
        mdm_enrollment_free(&f->enr);
    flow_tokens_drop(f);
    free(f->csr);
    lj_ui_msg_clear(&f->inbox.pending);
    lj_http_free(f->http);
    if (f->tpm != NULL)
        tpm_parent_hold(f->tpm, false);
    tpm_close(f->tpm);
    lj_secure_zero(f, sizeof(*f));
    free(f);
}

/*
 * One attempt, for both entry points, over an open UI (hello sent by the
 * caller).  retry_cmd: `mdm-retry` (no prompts, nothing but a pending
 * enrollment to do).  Returns the exit code.
 */
static int
flow_main(const struct lj_config *cfg, bool retry_cmd, struct lj_ui *ui)
{
    struct flow *f = calloc(1, sizeof(*f));
    enum lj_rc rc;
    int ex;

    if (f == NULL)
        return LJ_EXIT_FAILURE;
    flow_signals_install();
    f->cfg = cfg;
    f->interactive = !retry_cmd;
    f->ui = ui;
    flow_identity_load(cfg, &f->id);
    rc = state_load(f);
    if (rc != LJ_OK) {
        flow_report_failure(f, rc);
        ex = LJ_EXIT_STATE;
    } else if (!nothing_to_do(f, retry_cmd, &ex)) {
        f->resume = f->j.state >= LJ_JS_JOINED;
        if (f->resume)
            lj_log(LJ_LOG_INFO, MOD, "event=mdm_resume state=%s device_id=%s",
                   lj_journal_state_name(f->j.state), f->j.device_id);
        tpm_start(f);
        rc = net_start(f);
        if (rc != LJ_OK)
            ex = run_failed(f, rc);
        else
            ex = f->resume ? resume_run(f) : join_run(f);
    }
    flow_free(f);
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

        if (flow_signalled()) {
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
        case LJ_UI_MSG_RETRY: lj_ui_msg_clear(&m); return true;
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
    if (rc == LJ_OK)
        lj_ui_set_locale(ui, cfg->locale);
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

    flow_identity_load(cfg, &id);
    lj_ui_hello(ui, &id);
}

/*
 * Why the agent leaves after exit code ex (the `leaving` event): after a
 * failure nothing runs again until the device restarts, whether a retry
 * window was offered or not (tty, retry_wait 0); a pending enrollment
 * finishes by the mdm-retry timer.
 */
static const char *
leaving_why(int ex)
{
    if (flow_signalled())
        return "signal";
    if (ex == LJ_EXIT_CANCELLED)
        return "cancelled";
    if (ex == LJ_EXIT_OK || ex == LJ_EXIT_ALREADY_JOINED || ex == LJ_EXIT_MDM_PENDING)
        return "done";
    return "retry_window_closed";
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
        lj_ui_progress(ui, "step.preflight.retry", 0);
    }
    lj_ui_leaving(ui, leaving_why(ex), ex);
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
    lj_ui_leaving(ui, leaving_why(ex), ex);
    lj_ui_free(ui);
    return ex;
}
