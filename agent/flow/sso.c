/*
 * sso.c — what the Primary Refresh Token is for after setup: `linkjoin
 * token` (an access token for a local client, e.g. the Windows 365
 * connection client) and `linkjoin prt-renew` (keep the PRT fresh, run by
 * linkjoin-prt-renew.timer).  Both use the PRT kept by prt.c and never
 * prompt anyone.
 *
 * Renewal policy: Windows' CloudAP renews the PRT every 4 hours (Learn
 * "What is a Primary Refresh Token", PRT lifetime and renewal); the timer
 * runs hourly and a renewal is due when the PRT is 4 hours old or has a
 * third of its life (or less) left, so a device that was off for days
 * renews at its first chance, long before the 14-day PRT expires.
 */
#include "agent/flow/flow_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/core/exitcodes.h"
#include "agent/core/json.h"
#include "agent/proto/pjson.h"
#include "agent/net/cfgmap.h"
#include "agent/proto/prt.h"
#include "platform/clock.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"

/* Fill *t with reason and the formatted message (one line). */
static void __attribute__((format(printf, 3, 4)))
sso_say(struct lj_flow_token_fail *t, const char *reason, const char *fmt, ...)
{
    va_list ap;

    memset(t, 0, sizeof(*t));
    flow_copy(t->reason, sizeof(t->reason), reason);
    va_start(ap, fmt);
    vsnprintf(t->message, sizeof(t->message), fmt, ap);
    va_end(ap);
}

/*
 * A struct flow for a PRT command: journal, TPM, HTTP; no UI, never
 * interactive.  On failure *t says why and *ex is the exit code.
 */
static enum lj_rc
sso_open(const struct lj_config *cfg, struct flow *f, struct lj_flow_token_fail *t, int *ex)
{
    struct lj_journal_report rep;
    struct tpm_open_opts to;
    const char *ct[LJ_CONFIG_MAX_CONNECT_TO];
    struct lj_http_config hc;
    struct lj_cfg_proxy px;
    enum lj_rc rc;

    memset(f, 0, sizeof(*f));
    memset(&px, 0, sizeof(px));
    f->cfg = cfg;
    f->interactive = false;
    f->resume = true;
    flow_signals_install();
    flow_identity_load(cfg, &f->id);
    rc = lj_journal_load(cfg->state_dir, &f->j, &rep);
    if (rc == LJ_OK && rep.moved_aside)
        rc = LJ_ERR_STATE;
    if (rc == LJ_ERR_NOT_FOUND || (rc == LJ_OK && f->j.state < LJ_JS_JOINED)) {
        sso_say(t, "not_joined", "this device is not joined; run 'linkjoin run' first");
        *ex = LJ_EXIT_NOT_JOINED;
        return LJ_ERR_NOT_FOUND;
    }
    if (rc != LJ_OK) {
        sso_say(t, "state_unreadable", "the saved state in %s is unreadable (%s)", cfg->state_dir,
                lj_rc_name(rc));
        *ex = LJ_EXIT_STATE;
        return rc;
    }
    lj_cfg_tpm_opts(cfg, true, &to);
    rc = tpm_open(&to, &f->tpm);
    if (rc == LJ_OK) {
        lj_cfg_http(cfg, ct, &hc);
        hc.cancelled = flow_http_cancelled;
        hc.cancel_arg = f;
        rc = lj_cfg_proxy(cfg, &px, &hc); /* the corporate proxy, like run's */
        if (rc == LJ_OK)
            rc = lj_http_new(&hc, &f->http);
        lj_cfg_proxy_wipe(&px);
    }
    if (rc != LJ_OK) {
        sso_say(t, rc == LJ_ERR_TPM_UNREACHABLE ? "tpm_unavailable" : "cannot_start", "%s (%s)",
                rc == LJ_ERR_TPM_UNREACHABLE                    ? "the TPM does not answer"
                : rc == LJ_ERR_PROXY || rc == LJ_ERR_PROXY_AUTH ? "the proxy setting is unusable"
                                                                : "cannot start",
                lj_rc_name(rc));
        *ex = rc == LJ_ERR_TPM_UNREACHABLE ? LJ_EXIT_TPM : LJ_EXIT_FAILURE;
        return rc;
    }
    tpm_parent_hold(f->tpm, true); /* nonce-signed requests: several TPM calls in a row */
    f->op.authority = cfg->authority;
    f->op.tenant = f->j.tenant_id[0] != '\0' ? f->j.tenant_id : cfg->tenant;
    f->op.client_id = NULL;
    f->op.api = OAUTH_V1;
    f->op.target = OAUTH_DRS_RESOURCE;
    return LJ_OK;
}

static void
sso_close(struct flow *f)
{
    flow_tokens_drop(f);
    lj_http_free(f->http);
    if (f->tpm != NULL)
        tpm_parent_hold(f->tpm, false);
    tpm_close(f->tpm);
    lj_secure_zero(f, sizeof(*f));
}

/* The recorded failure into *t; returns its exit code. */
static int
sso_failed(struct flow *f, enum lj_rc rc, struct lj_flow_token_fail *t)
{
    const struct lj_reason_info *info;
    struct lj_error_params p;
    char msg[512];

    if (!f->fail.failed)
        flow_fail_rc(f, LJ_PHASE_MDM, rc);
    info = lj_reason_get(f->fail.reason);
    memset(&p, 0, sizeof(p));
    p.host = f->fail.host[0] != '\0' ? f->fail.host : NULL;
    p.what = f->fail.what[0] != '\0' ? f->fail.what : NULL;
    lj_error_format(info->message, &p, msg, sizeof(msg));
    sso_say(t, f->fail.err.reason, "%s (%s, code %s)", msg, f->fail.err.reason, f->fail.err.code);
    if (f->fail.err.trace_id[0] != '\0')
        snprintf(t->detail, sizeof(t->detail), "trace id %s, correlation id %s",
                 f->fail.err.trace_id, f->fail.err.correlation_id);
    /* joined_mdm_pending is the MDM step's word for "later": here it is "later" too */
    return info->exit_code;
}

/* *t on stderr as `linkjoin NAME: MESSAGE` (and the ids on a second line). */
static void
sso_print(const char *name, const struct lj_flow_token_fail *t)
{
    fprintf(stderr, "linkjoin %s: %s\n", name, t->message);
    if (t->detail[0] != '\0')
        fprintf(stderr, "  %s\n", t->detail);
}

/*
 * The token for a local client as one JSON object (the shape of an OAuth2
 * token answer, RFC 6749 5.1, plus what was asked): the access token is
 * the point of the command, so it goes to *json (lj_secret_free) and
 * nowhere else.
 */
static enum lj_rc
sso_token_json(char **json, const struct oauth_token *t, const struct lj_flow_token_ask *ask,
               const char *client_id, int64_t now)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    enum lj_rc rc = LJ_ERR_NOMEM;

    if (o == NULL || cJSON_AddStringToObject(o, "token_type", "Bearer") == NULL ||
        cJSON_AddStringToObject(o, "access_token", t->access_token) == NULL ||
        cJSON_AddNumberToObject(o, "expires_in", (double)t->expires_in) == NULL ||
        cJSON_AddNumberToObject(o, "expires_on", (double)(now + t->expires_in)) == NULL ||
        cJSON_AddStringToObject(o, ask->resource != NULL ? "resource" : "scope",
                                ask->resource != NULL ? ask->resource : ask->scope) == NULL ||
        cJSON_AddStringToObject(o, "client_id", client_id) == NULL)
        goto out;
    text = cJSON_PrintUnformatted(o);
    if (text == NULL)
        goto out;
    *json = text;
    text = NULL;
    rc = LJ_OK;
out:
    if (text != NULL)
        lj_secret_free(text);
    pjson_wipe_delete(o);
    return rc;
}

int
lj_flow_token(const struct lj_config *cfg, const struct lj_flow_token_ask *ask, char **json,
              struct lj_flow_token_fail *fail)
{
    struct flow f;
    struct prt_hs256_req r;
    struct oauth_token t;
    int ex = LJ_EXIT_FAILURE;
    enum lj_rc rc;

    *json = NULL;
    memset(fail, 0, sizeof(*fail));
    if (sso_open(cfg, &f, fail, &ex) != LJ_OK)
        goto out;
    rc = flow_prt_load(&f);
    if (rc == LJ_ERR_NOT_FOUND) {
        sso_say(fail, "no_prt",
                "this device holds no Primary Refresh Token; 'linkjoin prt-renew' gets one from "
                "the kept sign-in, or 'linkjoin run' signs in again");
        ex = LJ_EXIT_SIGNIN;
        goto out;
    }
    memset(&r, 0, sizeof(r));
    r.client_id = ask->client_id != NULL ? ask->client_id : OAUTH_BROKER_CLIENT_ID;
    r.resource = ask->resource;
    r.scope = ask->scope;
    r.redirect_uri = ask->redirect_uri;
    if (rc == LJ_OK)
        rc = flow_prt_token(&f, LJ_PHASE_MDM, &r, &t);
    if (rc != LJ_OK) {
        ex = sso_failed(&f, rc, fail);
        goto out;
    }
    rc = sso_token_json(json, &t, ask, r.client_id, lj_clock_now());
    oauth_token_free(&t);
    if (rc != LJ_OK) {
        sso_say(fail, "internal", "out of memory writing the answer");
        goto out;
    }
    ex = LJ_EXIT_OK;
    lj_log(LJ_LOG_INFO, MOD, "event=token_issued client_id=%s %s=%s access_token=***", r.client_id,
           ask->resource != NULL ? "resource" : "scope",
           ask->resource != NULL ? ask->resource : ask->scope);
out:
    sso_close(&f);
    return ex;
}

bool
lj_flow_prt_due(int64_t now, int64_t updated, int64_t expires)
{
    int64_t life = expires - updated;

    if (updated <= 0 || expires <= 0 || life <= 0)
        return true;
    return now - updated >= LJ_FLOW_PRT_RENEW_S || expires - now <= life / 3;
}

int
lj_flow_prt_renew(const struct lj_config *cfg, bool force, FILE *out)
{
    struct flow f;
    struct lj_flow_token_fail t;
    int64_t now = lj_clock_now();
    int ex = LJ_EXIT_FAILURE;
    enum lj_rc rc;

    if (sso_open(cfg, &f, &t, &ex) != LJ_OK) {
        sso_print("prt-renew", &t);
        goto out;
    }
    rc = flow_prt_load(&f);
    if (rc == LJ_OK && !force && !lj_flow_prt_due(now, f.j.prt_updated, f.j.prt_expires)) {
        fprintf(out, "linkjoin prt-renew: not due (renewed %lld s ago, %lld s left)\n",
                (long long)(now - f.j.prt_updated), (long long)(f.j.prt_expires - now));
        ex = LJ_EXIT_OK;
        goto out;
    }
    if (rc == LJ_OK) {
        rc = flow_prt_renew(&f);
        if (rc != LJ_OK &&
            (f.fail.reason == LJ_R_PRT_REFUSED || f.fail.reason == LJ_R_SIGNIN_SESSION_EXPIRED)) {
            lj_log(LJ_LOG_INFO, MOD, "event=prt_renew_refused then=kept_signin");
            flow_fail_clear(&f);
            lj_secret_free(f.tok.prt);
            f.tok.prt = NULL;
            rc = LJ_ERR_NOT_FOUND;
        }
    }
    if (rc == LJ_ERR_NOT_FOUND) {
        /* none kept (or the kept one refused): a new one from the kept sign-in */
        bool created = false;

        if (!flow_tokens_unseal(&f)) {
            fprintf(stderr, "linkjoin prt-renew: there is no Primary Refresh Token and no kept "
                            "sign-in; 'linkjoin run' signs in again\n");
            ex = LJ_EXIT_SIGNIN;
            goto out;
        }
        rc = tpm_keys_ensure(f.tpm, &created);
        if (rc == LJ_OK)
            rc = flow_prt_acquire(&f);
        if (rc == LJ_OK)
            rc = flow_prt_seal_finish(&f, LJ_PHASE_MDM, true);
    }
    if (rc != LJ_OK) {
        ex = sso_failed(&f, rc, &t);
        sso_print("prt-renew", &t);
        goto out;
    }
    fprintf(out, "linkjoin prt-renew: renewed; expires in %lld s\n",
            (long long)(f.j.prt_expires - lj_clock_now()));
    ex = LJ_EXIT_OK;
out:
    sso_close(&f);
    return ex;
}
