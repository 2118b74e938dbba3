/*
 * fail.c — failure recording: every step that fails records WHY exactly
 * once (phase, reason, code, the server's part) through flow_fail_*(); the
 * first failure stays.  The rules that depend on the flow's state live
 * here: in phase mdm what a later attempt can get past is
 * joined_mdm_pending, and AADSTS90002 during discovery before sign-in is
 * tenant_not_found.  flow_report_failure turns the record into the result
 * event, the journal's last_error and the exit code.
 */
#include "agent/flow/flow_int.h"

#include <stdio.h>
#include <string.h>

#include "platform/common/log.h"
#include "platform/common/text.h"

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

void
flow_fail_set(struct flow *f, enum lj_phase phase, enum lj_reason r, const char *code,
              enum lj_rc rc)
{
    const struct lj_reason_info *info = lj_reason_get(r);

    if (f->fail.failed)
        return; /* keep the first */
    /*
     * Through a proxy, an unknown CA is the proxy inspecting TLS and a web
     * page is the proxy's own: both network_intercepted, naming the proxy.
     */
    if (f->fail.proxy[0] == '\0' && f->http != NULL && f->fail.host[0] != '\0')
        flow_copy(f->fail.proxy, sizeof(f->fail.proxy), lj_http_proxy_for(f->http, f->fail.host));
    if (f->fail.proxy[0] != '\0' && (r == LJ_R_TLS_UNTRUSTED || r == LJ_R_NETWORK_INTERCEPTED)) {
        r = r == LJ_R_TLS_UNTRUSTED ? LJ_R_NETWORK_INTERCEPTED_TLS : LJ_R_NETWORK_INTERCEPTED_PROXY;
        code = NULL;
        info = lj_reason_get(r);
    }
    /*
     * After the join, anything that a later attempt can get past without
     * anyone changing anything (no network, Intune busy, cancel) means
     * "joined, management pending", never a failed join.
     */
    if (phase == LJ_PHASE_MDM &&
        (r == LJ_R_NETWORK_UNREACHABLE || r == LJ_R_NETWORK_DNS || r == LJ_R_NETWORK_TIMEOUT ||
         r == LJ_R_TLS_UNTRUSTED || r == LJ_R_NETWORK_INTERCEPTED ||
         r == LJ_R_NETWORK_INTERCEPTED_TLS || r == LJ_R_NETWORK_INTERCEPTED_PROXY ||
         r == LJ_R_PROXY_UNREACHABLE || r == LJ_R_SERVICE_UNAVAILABLE || r == LJ_R_THROTTLED ||
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
    f->fail.failed = true;
    f->fail.reason = r;
    flow_copy(f->fail.err.phase, sizeof(f->fail.err.phase), lj_phase_name(phase));
    flow_copy(f->fail.err.reason, sizeof(f->fail.err.reason),
              info != NULL ? info->slug : "internal");
    flow_copy(f->fail.err.code, sizeof(f->fail.err.code),
              code != NULL && code[0] != '\0' ? code : (info != NULL ? info->code : ""));
    flow_copy(f->fail.err.rc, sizeof(f->fail.err.rc), lj_rc_name(rc));
    lj_log(LJ_LOG_WARN, MOD, "event=failed phase=%s reason=%s code=%s rc=%s", f->fail.err.phase,
           f->fail.err.reason, f->fail.err.code, f->fail.err.rc);
}

static enum lj_rc
fail_classified(struct flow *f, enum lj_phase phase, const struct lj_classified *c, enum lj_rc rc)
{
    flow_fail_set(f, phase, c->reason, c->code, rc);
    return rc;
}

/* A local failure (TPM, network, parse, cancel) named by its rc. */
enum lj_rc
flow_fail_rc(struct flow *f, enum lj_phase phase, enum lj_rc rc)
{
    struct lj_classified c;

    lj_classify_rc(rc, &c);
    return fail_classified(f, phase, &c, rc);
}

/* A transport failure towards url: names the host and what failed. */
enum lj_rc
flow_fail_net(struct flow *f, enum lj_phase phase, enum lj_rc rc, const char *url,
              const char *detail)
{
    long port = 0;

    if (rc == LJ_ERR_CANCELLED)
        return flow_fail_rc(f, phase, rc);
    if (lj_http_url_host(url, f->fail.host, sizeof(f->fail.host), &port) != LJ_OK)
        flow_copy(f->fail.host, sizeof(f->fail.host), "");
    flow_copy(f->fail.what, sizeof(f->fail.what), lj_error_net_what(rc));
    /* Through a proxy, the HTTP client's own words say which side failed
     * ("the proxy refused to open a connection to it (HTTP 403)"). */
    if (detail != NULL && strstr(detail, ": the proxy ") != NULL && f->http != NULL &&
        lj_http_proxy_for(f->http, f->fail.host) != NULL)
        flow_copy(f->fail.what, sizeof(f->fail.what), strstr(detail, ": the proxy ") + 2);
    lj_log(LJ_LOG_WARN, MOD, "event=network_failed phase=%s host=%s rc=%s detail=\"%s\"",
           lj_phase_name(phase), f->fail.host, lj_rc_name(rc), detail != NULL ? detail : "");
    return flow_fail_rc(f, phase, rc);
}

/* The ids a help desk needs, from response headers (body ids win when set later). */
void
flow_err_ids_from_resp(struct flow *f, const struct lj_http_response *resp)
{
    const char *v;

    f->fail.err.http_status = resp->status;
    v = lj_http_response_id(resp, "request-id");
    if (v == NULL)
        v = lj_http_response_id(resp, "x-ms-request-id");
    flow_copy(f->fail.err.request_id, sizeof(f->fail.err.request_id),
              v != NULL ? v : resp->client_request_id);
    v = lj_http_response_id(resp, "x-ms-trace-id");
    if (v != NULL)
        flow_copy(f->fail.err.trace_id, sizeof(f->fail.err.trace_id), v);
    v = lj_http_response_id(resp, "client-request-id");
    flow_copy(f->fail.err.correlation_id, sizeof(f->fail.err.correlation_id),
              v != NULL ? v : resp->client_request_id);
    flow_copy(f->fail.err.server_time, sizeof(f->fail.err.server_time), resp->date);
}

/* Remember url's host for the message (the first one named stays). */
static void
note_host(struct flow *f, const char *url)
{
    long port = 0;

    if (f->fail.host[0] != '\0' || url == NULL || url[0] == '\0')
        return;
    if (lj_http_url_host(url, f->fail.host, sizeof(f->fail.host), &port) != LJ_OK)
        f->fail.host[0] = '\0';
}

/*
 * An answer came but cannot be used: a 200 we cannot read, or an error body
 * that is not the service's shape.  A web page means something on the
 * network answered instead of the service (network_intercepted); anything
 * else is bad_service_response, with what (a clause for "could not be used
 * because ...") saying why.  Returns rc.
 */
enum lj_rc
flow_fail_answer(struct flow *f, enum lj_phase phase, const char *url,
                 const struct lj_http_response *resp, const char *what, enum lj_rc rc)
{
    if (f->fail.failed)
        return rc;
    note_host(f, url);
    flow_err_ids_from_resp(f, resp);
    if (lj_body_is_html(resp->body, resp->body_len)) {
        lj_log(LJ_LOG_WARN, MOD, "event=answer_is_web_page phase=%s host=%s status=%ld",
               lj_phase_name(phase), f->fail.host, resp->status);
        flow_fail_set(f, phase, LJ_R_NETWORK_INTERCEPTED, NULL, rc);
        return rc;
    }
    flow_copy(f->fail.what, sizeof(f->fail.what), what);
    flow_fail_set(f, phase, LJ_R_BAD_SERVICE_RESPONSE, NULL, rc);
    return rc;
}

/* An OAuth error (token answer or authorize redirect) during phase. */
enum lj_rc
flow_fail_oauth_error(struct flow *f, enum lj_phase phase, const struct oauth_error *e)
{
    struct lj_classified c;

    lj_classify_oauth(e, &c);
    fail_classified(f, phase, &c, LJ_ERR_AUTH);
    flow_copy(f->fail.err.error_type, sizeof(f->fail.err.error_type), e->error);
    if (e->aadsts > 0)
        snprintf(f->fail.err.error_code, sizeof(f->fail.err.error_code), "AADSTS%lu", e->aadsts);
    copy_server_message(f->fail.err.message, sizeof(f->fail.err.message), e->description);
    if (e->trace_id[0] != '\0')
        flow_copy(f->fail.err.trace_id, sizeof(f->fail.err.trace_id), e->trace_id);
    if (e->correlation_id[0] != '\0')
        flow_copy(f->fail.err.correlation_id, sizeof(f->fail.err.correlation_id),
                  e->correlation_id);
    if (e->timestamp[0] != '\0')
        flow_copy(f->fail.err.server_time, sizeof(f->fail.err.server_time), e->timestamp);
    return LJ_ERR_AUTH;
}

/* A token-endpoint error answer (any grant) during phase. */
enum lj_rc
flow_fail_oauth(struct flow *f, enum lj_phase phase, const struct lj_http_response *resp,
                enum oauth_grant grant)
{
    struct oauth_error e;

    if (resp->body == NULL || oauth_error_parse(resp->body, resp->body_len, grant, &e) != LJ_OK) {
        if (resp->status == 429 || resp->status >= 500) {
            note_host(f, f->cfg->authority);
            flow_err_ids_from_resp(f, resp);
            flow_fail_set(f, phase, LJ_R_SERVICE_UNAVAILABLE, NULL, LJ_ERR_HTTP);
            return LJ_ERR_HTTP;
        }
        return flow_fail_answer(f, phase, f->cfg->authority, resp,
                                "it is not a sign-in answer this device can read", LJ_ERR_HTTP);
    }
    flow_err_ids_from_resp(f, resp);
    return flow_fail_oauth_error(f, phase, &e);
}

/* A DRS error answer (discovery or join). */
enum lj_rc
flow_fail_drs(struct flow *f, enum lj_phase phase, const struct lj_http_response *resp)
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
        flow_copy(c.code, sizeof(c.code), "AADSTS90002");
    }
    flow_err_ids_from_resp(f, resp);
    fail_classified(f, phase, &c, LJ_ERR_HTTP);
    flow_copy(f->fail.err.error_type, sizeof(f->fail.err.error_type), e.error_type);
    flow_copy(f->fail.err.error_code, sizeof(f->fail.err.error_code), e.sub_code);
    copy_server_message(f->fail.err.message, sizeof(f->fail.err.message), e.message);
    if (e.trace_id[0] != '\0')
        flow_copy(f->fail.err.trace_id, sizeof(f->fail.err.trace_id), e.trace_id);
    if (e.time[0] != '\0')
        flow_copy(f->fail.err.server_time, sizeof(f->fail.err.server_time), e.time);
    if (f->fail.host[0] == '\0' &&
        lj_http_url_host(f->cfg->drs_url, f->fail.host, sizeof(f->fail.host), &port) != LJ_OK)
        f->fail.host[0] = '\0';
    return LJ_ERR_HTTP;
}

/* An Intune answer that is not the expected 200 SOAP body (fault or not). */
enum lj_rc
flow_fail_mdm_answer(struct flow *f, const struct lj_http_response *resp,
                     const struct mdm_fault *flt)
{
    struct lj_classified c;
    long port;

    lj_classify_mdm(flt, &c);
    flow_err_ids_from_resp(f, resp);
    fail_classified(f, LJ_PHASE_MDM, &c, LJ_ERR_HTTP);
    flow_copy(f->fail.err.error_type, sizeof(f->fail.err.error_type),
              flt->error_type[0] != '\0' ? flt->error_type : flt->subcode);
    flow_copy(f->fail.err.error_code, sizeof(f->fail.err.error_code), flt->subcode);
    flow_copy(f->fail.err.message, sizeof(f->fail.err.message),
              flt->message[0] != '\0' ? flt->message : flt->reason);
    if (flt->trace_id[0] != '\0')
        flow_copy(f->fail.err.trace_id, sizeof(f->fail.err.trace_id), flt->trace_id);
    if (f->fail.host[0] == '\0' &&
        lj_http_url_host(f->cfg->mdm_url, f->fail.host, sizeof(f->fail.host), &port) != LJ_OK)
        f->fail.host[0] = '\0';
    lj_log(LJ_LOG_WARN, MOD,
           "event=mdm_refused status=%ld kind=%d subcode=\"%s\" error_type=\"%s\" hresult=0x%08lx "
           "trace_id=%s reason=%s",
           resp->status, (int)flt->kind, flt->subcode, flt->error_type, flt->hresult, flt->trace_id,
           f->fail.err.reason);
    return LJ_ERR_HTTP;
}

/* A 200 body that did not pass its parser: bad_service_response, why named. */
enum lj_rc
flow_fail_mdm_parse(struct flow *f, const struct lj_http_response *resp, const char *step,
                    enum mdm_reject why, enum lj_rc rc)
{
    lj_log(LJ_LOG_WARN, MOD, "event=mdm_answer_rejected step=%s why=%s", step,
           mdm_reject_name(why));
    flow_err_ids_from_resp(f, resp);
    flow_fail_set(f, LJ_PHASE_MDM, LJ_R_BAD_SERVICE_RESPONSE, NULL, rc);
    snprintf(f->fail.err.message, sizeof(f->fail.err.message), "%s answer rejected: %s", step,
             mdm_reject_name(why));
    return rc;
}

/*
 * The recorded failure is r instead (a step that knows better than the
 * classifier what a generic refusal means there).  The server's own AADSTS
 * code stays; a default code becomes r's.
 */
void
flow_fail_reason_set(struct flow *f, enum lj_reason r)
{
    const struct lj_reason_info *old = lj_reason_get(f->fail.reason), *info = lj_reason_get(r);

    if (!f->fail.failed || info == NULL)
        return;
    if (old != NULL && strcmp(f->fail.err.code, old->code) == 0)
        flow_copy(f->fail.err.code, sizeof(f->fail.err.code), info->code);
    f->fail.reason = r;
    flow_copy(f->fail.err.reason, sizeof(f->fail.err.reason), info->slug);
}

/* Forget a failure that a retry or a fresh sign-in is about to get past. */
void
flow_fail_clear(struct flow *f)
{
    f->fail.failed = false;
    f->fail.reason = LJ_R_INTERNAL;
    memset(&f->fail.err, 0, sizeof(f->fail.err));
    f->fail.host[0] = '\0';
    f->fail.what[0] = '\0';
    f->fail.proxy[0] = '\0';
}

/* The result of a failed run; returns the exit code (see flow_int.h). */
int
flow_report_failure(struct flow *f, enum lj_rc rc)
{
    const struct lj_reason_info *info;
    struct lj_error_params p;
    struct lj_ui_result r;
    char msg[512], action[1024], msg_id[80], action_id[80];

    if (!f->fail.failed)
        flow_fail_rc(f, LJ_PHASE_PREFLIGHT, rc);
    info = lj_reason_get(f->fail.reason);
    memset(&p, 0, sizeof(p));
    if (f->fail.reason == LJ_R_BAD_SERVICE_RESPONSE && f->fail.what[0] == '\0')
        flow_copy(f->fail.what, sizeof(f->fail.what), "it is not in the expected form");
    p.host = f->fail.host[0] != '\0' ? f->fail.host : NULL;
    p.what = f->fail.what[0] != '\0' ? f->fail.what : NULL;
    /* Before discovery the organization is the configured tenant. */
    p.domain = f->domain[0] != '\0' ? f->domain : f->cfg->tenant;
    p.manufacturer = f->id.manufacturer;
    p.model = f->id.model;
    p.serial = f->id.serial;
    p.upn = f->j.upn[0] != '\0' ? f->j.upn : (f->have_claims ? f->claims.upn : NULL);
    if (f->fail.reason == LJ_R_TPM_LOCKED) { /* preflight wrote the lockout's length */
        p.wait = p.what;
        p.wait_minutes = f->fail.wait_min;
        p.what = NULL;
    }
    p.proxy = f->fail.proxy[0] != '\0' ? f->fail.proxy : NULL;
    lj_error_format(info->message, &p, msg, sizeof(msg));
    lj_error_format(info->admin_action, &p, action, sizeof(action));
    memset(&r, 0, sizeof(r));
    r.status = f->fail.reason == LJ_R_CANCELLED ? LJ_UI_CANCELLED : LJ_UI_FAILED;
    r.upn = p.upn; /* who, for the help desk, once sign-in got that far */
    r.fix_by = lj_fix_by_name(info->fix_by);
    r.message = msg;
    r.admin_action = action;
    r.retryable = info->retryable;
    r.error = &f->fail.err;
    snprintf(msg_id, sizeof(msg_id), "reason.%s", lj_reason_key(f->fail.reason));
    snprintf(action_id, sizeof(action_id), "admin.%s", lj_reason_key(f->fail.reason));
    r.message_id = msg_id;
    r.admin_action_id = action_id;
    r.params = &p;
    /* `run` waits retry_wait for the UI's retry after this result (flow.c retry_wanted) */
    r.retry_window = f->interactive ? f->cfg->retry_wait : 0;
    lj_ui_result(f->ui, &r);
    /*
     * Only the error record changes here, so the marker files are left
     * alone (not flow_journal_save): after an unreadable journal the state
     * in memory is `new`, and a sync would delete the markers of a device
     * that may well be joined.
     */
    lj_journal_set_error(&f->j, &f->fail.err);
    if (lj_journal_save(f->cfg->state_dir, &f->j) != LJ_OK)
        lj_log(LJ_LOG_ERROR, MOD, "event=journal_error_record_lost");
    return info->exit_code;
}
