/*
 * tokens.c — the tokens of one run: the sign-in's access and refresh
 * tokens, the Intune access token, and the refresh token sealed by the TPM
 * while an Intune enrollment is pending.  They live only in f->tok (wiped
 * on free); the process is non-dumpable (lj_secrets_held) while f->tok.held.
 */
#include "agent/flow/flow_int.h"

#include <string.h>

#include "platform/common/log.h"
#include "platform/common/secmem.h"

/* The DRS application id: a DRS token may name it as its audience. */
#define DRS_APP_ID "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9"

/* Wipe and free every token and release the hold on secrets. */
void
flow_tokens_drop(struct flow *f)
{
    lj_secret_free(f->tok.access);
    lj_secret_free(f->tok.refresh);
    lj_secret_free(f->tok.mdm);
    lj_secret_free(f->tok.prt);
    f->tok.access = NULL;
    f->tok.refresh = NULL;
    f->tok.mdm = NULL;
    f->tok.prt = NULL;
    if (f->tok.held)
        lj_secrets_held(false);
    f->tok.held = false;
}

/*
 * A 200 from the token endpoint during sign-in: take its tokens (they
 * replace any held), read the claims, check the audience is DRS.
 */
enum lj_rc
flow_got_token(struct flow *f, const struct lj_http_response *resp)
{
    struct oauth_token t;
    enum lj_rc rc;

    rc = oauth_token_parse(resp->body, resp->body_len, &t);
    if (rc != LJ_OK)
        return flow_fail_answer(f, LJ_PHASE_SIGNIN, f->cfg->authority, resp,
                                "it is not a sign-in answer this device can read", rc);
    flow_tokens_drop(f);
    f->tok.access = t.access_token;
    f->tok.refresh = t.refresh_token;
    t.access_token = NULL;
    t.refresh_token = NULL;
    /* Entra's MDM URL claims are in the id_token (Learn "How device
     * registration works", phase D: mdm_tou_url read from the ID token). */
    f->have_id_claims =
        t.id_token != NULL && oauth_jwt_claims_parse(t.id_token, &f->id_claims) == LJ_OK;
    oauth_token_free(&t);
    lj_secrets_held(true);
    f->tok.held = true;
    f->have_claims = oauth_jwt_claims_parse(f->tok.access, &f->claims) == LJ_OK;
    f->fresh_signin = true;
    if (!f->have_claims) {
        lj_log(LJ_LOG_WARN, MOD, "event=token_claims_unreadable (opaque access token)");
    } else if (f->claims.aud[0] != '\0' && strcmp(f->claims.aud, OAUTH_DRS_RESOURCE) != 0 &&
               strcmp(f->claims.aud, DRS_APP_ID) != 0) {
        lj_log(LJ_LOG_WARN, MOD, "event=token_wrong_audience aud=%s", f->claims.aud);
        return flow_fail_answer(f, LJ_PHASE_SIGNIN, f->cfg->authority, resp,
                                "its sign-in token is for another service", LJ_ERR_PROTOCOL);
    }
    lj_log(LJ_LOG_INFO, MOD, "event=signed_in upn=%s tid=%s refresh_token=%s",
           f->have_claims ? f->claims.upn : "", f->have_claims ? f->claims.tid : "",
           f->tok.refresh != NULL ? "***" : "none");
    return LJ_OK;
}

/* Put the kept (sealed) refresh token into f; false when there is none usable. */
bool
flow_tokens_unseal(struct flow *f)
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
    lj_secret_free(f->tok.refresh);
    f->tok.refresh = (char *)data;
    if (!f->tok.held)
        lj_secrets_held(true);
    f->tok.held = true;
    lj_log(LJ_LOG_INFO, MOD, "event=mdm_kept_signin_unsealed refresh_token=***");
    return true;
}

/*
 * The answer of the Intune token request: t's access token becomes
 * f->tok.mdm and a rotated refresh token replaces the old one (keep the
 * newest).  Takes the tokens out of t and frees t.
 */
void
flow_tokens_set_mdm(struct flow *f, struct oauth_token *t)
{
    lj_secret_free(f->tok.mdm);
    f->tok.mdm = t->access_token;
    t->access_token = NULL;
    if (t->refresh_token != NULL) {
        lj_secret_free(f->tok.refresh);
        f->tok.refresh = t->refresh_token;
        t->refresh_token = NULL;
    }
    oauth_token_free(t);
    if (!f->tok.held)
        lj_secrets_held(true);
    f->tok.held = true;
}

/* Seal the refresh token for a later Intune retry; a failure is logged only. */
void
flow_tokens_seal(struct flow *f)
{
    enum lj_rc src = tpm_seal(f->tpm, LJ_FLOW_MDM_SEAL_NAME, (const unsigned char *)f->tok.refresh,
                              strlen(f->tok.refresh));

    lj_log(src == LJ_OK ? LJ_LOG_INFO : LJ_LOG_WARN, MOD, "event=mdm_signin_kept sealed=%s rc=%s",
           src == LJ_OK ? "yes" : "no", lj_rc_name(src));
}

/* Remove the sealed refresh token (enrolled, or useless now); a failure is logged only. */
void
flow_tokens_forget_sealed(const struct flow *f)
{
    if (tpm_sealed_remove(f->cfg->state_dir, LJ_FLOW_MDM_SEAL_NAME) != LJ_OK)
        lj_log(LJ_LOG_WARN, MOD, "event=sealed_token_remove_failed");
}
