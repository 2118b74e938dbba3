/*
 * signin.c — signing the user in for a DRS token, by the configured method:
 * device code (RFC 8628), password (RFC 6749's resource owner password
 * grant), or authorization code with PKCE (RFC 7636), where a loopback
 * redirect_uri is also listened on by the agent itself (RFC 8252).
 * Passwords and codes are held only for the request that uses them.
 */
#include "agent/flow/flow_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/net/loopback.h"
#include "platform/clock.h"
#include "platform/common/elapsed.h"
#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"

#define PASSWORD_FILE_MAX 1024

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
    rc = flow_http(f, LJ_PHASE_SIGNIN, url, "application/x-www-form-urlencoded", form, NULL, &resp);
    if (rc != LJ_OK)
        goto out;
    if (resp.status != 200) {
        rc = flow_fail_oauth(f, LJ_PHASE_SIGNIN, &resp, OAUTH_GRANT_DEVICE_CODE);
        goto out;
    }
    rc = oauth_device_code_parse(resp.body, resp.body_len, &dc);
    if (rc != LJ_OK) {
        flow_fail_answer(f, LJ_PHASE_SIGNIN, url, &resp, "it holds no usable sign-in code", rc);
        goto out;
    }
    have_dc = true;
    lj_http_response_free(&resp);
    deadline_ms = lj_mono_ms() + (long long)dc.expires_in * 1000;
    interval = dc.interval;
    wait_s = interval;
    lj_log(LJ_LOG_INFO, MOD, "event=device_code user_code=%s expires_in=%ld interval=%ld",
           dc.user_code, dc.expires_in, dc.interval);
    {
        struct lj_ui_device_code p = {dc.user_code,
                                      dc.verification_uri,
                                      dc.verification_uri_complete,
                                      dc.message,
                                      lj_clock_now() + dc.expires_in,
                                      dc.interval};

        rc = lj_ui_prompt_device_code(f->ui, &p);
    }
    if (rc != LJ_OK)
        goto out;
    lj_ui_progress(f->ui, "step.signin.wait", 20);
    for (;;) {
        struct oauth_error e;
        enum oauth_poll_action act;

        rc = flow_ui_wait(f, (long long)wait_s * 1000, false, LJ_UI_MSG_CANCEL, NULL);
        if (rc != LJ_ERR_TIMEOUT) {
            if (rc == LJ_ERR_CANCELLED)
                flow_fail_rc(f, LJ_PHASE_SIGNIN, rc);
            lj_ui_prompt_closed(f->ui, "cancelled");
            goto out;
        }
        lj_secret_free(form);
        form = NULL;
        rc = oauth_body_devicecode_poll(&f->op, dc.device_code, &form);
        if (rc != LJ_OK)
            goto out;
        lj_http_response_free(&resp);
        rc = flow_token_post(f, LJ_PHASE_SIGNIN, form, &resp);
        if (rc != LJ_OK)
            goto out;
        if (resp.status == 200) {
            lj_ui_prompt_closed(f->ui, "answered"); /* a reconnecting UI must not see it */
            rc = flow_got_token(f, &resp);
            goto out;
        }
        if (resp.body == NULL ||
            oauth_error_parse(resp.body, resp.body_len, OAUTH_GRANT_DEVICE_CODE, &e) != LJ_OK) {
            rc = flow_fail_oauth(f, LJ_PHASE_SIGNIN, &resp, OAUTH_GRANT_DEVICE_CODE);
            goto out;
        }
        act = oauth_poll_next(e.cls, lj_mono_ms() / 1000, deadline_ms / 1000, &interval, &wait_s);
        if (act == OAUTH_POLL_WAIT)
            continue;
        if (act == OAUTH_POLL_EXPIRED) {
            lj_ui_prompt_closed(f->ui, "expired");
            flow_err_ids_from_resp(f, &resp);
            flow_fail_set(f, LJ_PHASE_SIGNIN, LJ_R_SIGNIN_EXPIRED, NULL, LJ_ERR_TIMEOUT);
            rc = LJ_ERR_TIMEOUT;
            goto out;
        }
        /* declined, or refused: the person answered the prompt */
        lj_ui_prompt_closed(f->ui, "answered");
        rc = flow_fail_oauth(f, LJ_PHASE_SIGNIN, &resp, OAUTH_GRANT_DEVICE_CODE);
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

/*
 * Read password_file (first line) as a secret; caller frees with
 * lj_secret_free.  The file must still be private (lj_fs_read_private checks
 * the descriptor it reads; `run` checked the path at start).
 */
static enum lj_rc
read_password_file(const char *path, char **out)
{
    struct lj_fs_private pf;
    unsigned char *buf = NULL;
    size_t len = 0;
    enum lj_rc rc;

    rc = lj_fs_read_private(path, PASSWORD_FILE_MAX, &buf, &len, &pf);
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

/* password_file_remove: the password was used (Entra answered the grant). */
static void
remove_password_file(const struct flow *f)
{
    enum lj_rc rc;

    if (!f->cfg->password_file_remove || f->cfg->password_file[0] == '\0')
        return;
    rc = lj_fs_remove(f->cfg->password_file);
    lj_log(rc == LJ_OK ? LJ_LOG_INFO : LJ_LOG_WARN, MOD,
           "event=password_file_removed path=%s rc=%s", f->cfg->password_file, lj_rc_name(rc));
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
    flow_copy(username, sizeof(username), f->cfg->username);
    if (f->cfg->password_file[0] != '\0') {
        rc = read_password_file(f->cfg->password_file, &password);
        if (rc != LJ_OK) {
            flow_fail_set(f, LJ_PHASE_SIGNIN, LJ_R_INTERNAL, NULL, rc);
            goto out;
        }
    } else {
        rc = lj_ui_prompt_credentials(f->ui, username, "prompt.credentials.password");
        if (rc != LJ_OK)
            goto out;
        rc = flow_ui_wait(f, (long long)LJ_FLOW_PROMPT_TIMEOUT_S * 1000, true,
                          LJ_UI_MSG_CREDENTIALS, &m);
        if (rc == LJ_ERR_TIMEOUT) {
            lj_ui_prompt_closed(f->ui, "expired");
            flow_fail_set(f, LJ_PHASE_SIGNIN, LJ_R_SIGNIN_EXPIRED, NULL, rc);
            goto out;
        }
        if (rc != LJ_OK) {
            if (rc == LJ_ERR_CANCELLED)
                flow_fail_rc(f, LJ_PHASE_SIGNIN, rc);
            lj_ui_prompt_closed(f->ui, "cancelled");
            goto out;
        }
        lj_ui_prompt_closed(f->ui, "answered"); /* a reconnecting UI must not see it */
        if (m.username != NULL && m.username[0] != '\0')
            flow_copy(username, sizeof(username), m.username);
        password = m.password;
        m.password = NULL;
    }
    lj_ui_progress(f->ui, "step.signin.signing_in", 20);
    rc = oauth_body_password(&f->op, username, password != NULL ? password : "", &form);
    lj_secret_free(password);
    password = NULL;
    if (rc != LJ_OK)
        goto out;
    rc = flow_token_post(f, LJ_PHASE_SIGNIN, form, &resp);
    if (rc != LJ_OK)
        goto out; /* no answer: the file stays for a retry */
    if (f->cfg->password_file[0] != '\0')
        remove_password_file(f);
    rc = resp.status == 200 ? flow_got_token(f, &resp)
                            : flow_fail_oauth(f, LJ_PHASE_SIGNIN, &resp, OAUTH_GRANT_PASSWORD);
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
 * redirected with an error and our state; LJ_ERR_PROTOCOL for anything else,
 * an error= without our state included (answered 400, nothing of it kept:
 * keep waiting).
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
        return flow_fail_oauth_error(f, LJ_PHASE_SIGNIN, &oe);
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
            flow_fail_set(f, LJ_PHASE_SIGNIN, LJ_R_INTERNAL, NULL, rc);
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
    lj_ui_progress(f->ui, "step.signin.wait_browser", 20);
    end = lj_mono_ms() + (long long)LJ_FLOW_PROMPT_TIMEOUT_S * 1000;
    while (code == NULL) {
        long long left = end - lj_mono_ms();
        char *got = NULL;

        if (left <= 0) {
            lj_ui_prompt_closed(f->ui, "expired");
            flow_fail_set(f, LJ_PHASE_SIGNIN, LJ_R_SIGNIN_EXPIRED, NULL, LJ_ERR_TIMEOUT);
            rc = LJ_ERR_TIMEOUT;
            goto out;
        }
        if (lb != NULL && left > UI_SLICE_MS / 2)
            left = UI_SLICE_MS / 2; /* share the wait with the listener */
        rc = flow_ui_wait(f, left, true, LJ_UI_MSG_AUTH_CODE, &m);
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
                flow_fail_rc(f, LJ_PHASE_SIGNIN, rc);
            lj_ui_prompt_closed(f->ui, "cancelled");
            goto out;
        }
        if (lb == NULL)
            continue;
        rc = lj_loopback_poll(lb, (int)left, &got);
        if (rc == LJ_ERR_TIMEOUT)
            continue;
        if (rc != LJ_OK) {
            flow_fail_set(f, LJ_PHASE_SIGNIN, LJ_R_INTERNAL, NULL, rc);
            goto out;
        }
        rc = loopback_take(f, lb, &pk, redirect, got, &code);
        lj_secret_free(got);
        if (rc != LJ_OK && rc != LJ_ERR_PROTOCOL)
            goto out;
    }
    lj_ui_prompt_closed(f->ui, "answered"); /* a reconnecting UI must not see it */
    /* One answer is enough: stop listening before redeeming it. */
    lj_loopback_close(lb);
    lb = NULL;
    lj_ui_progress(f->ui, "step.signin.signing_in", 25);
    rc = oauth_body_code_redeem(&f->op, code, redirect, pk.verifier, &form);
    if (rc != LJ_OK)
        goto out;
    rc = flow_token_post(f, LJ_PHASE_SIGNIN, form, &resp);
    if (rc != LJ_OK)
        goto out;
    rc = resp.status == 200 ? flow_got_token(f, &resp)
                            : flow_fail_oauth(f, LJ_PHASE_SIGNIN, &resp, OAUTH_GRANT_AUTH_CODE);
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

/*
 * Sign in by cfg->signin; blocks for the user (cancellable).  LJ_OK: the
 * tokens and claims are in f.
 */
enum lj_rc
flow_signin(struct flow *f)
{
    enum lj_rc rc;

    lj_ui_progress(f->ui, "step.signin.start", 10);
    /* Passwords, device codes and auth codes are held from here: no core dumps. */
    lj_secrets_held(true);
    switch (f->cfg->signin) {
    case LJ_SIGNIN_PASSWORD: rc = signin_password(f); break;
    case LJ_SIGNIN_AUTH_CODE: rc = signin_auth_code(f); break;
    case LJ_SIGNIN_DEVICE_CODE:
    default: rc = signin_device_code(f); break;
    }
    lj_secrets_held(false); /* tokens (if any) keep their own hold until secrets_drop */
    return rc;
}
