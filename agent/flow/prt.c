/*
 * prt.c — the Primary Refresh Token of a joined device: taken right after
 * the join, kept (sealed PRT, session key inside the TPM) and used to sign
 * the requests that need a device-authenticated token (Intune, `linkjoin
 * token`) and its own renewal.
 *
 * Design note.
 * - Getting it ([MS-OAPXBC] 3.1.5.1.2; ROADtools deviceauth.py
 *   get_prt_with_refresh_token, AADInternals PRT.ps1 Get-UserPRTKeys,
 *   libhimmelblau auth.rs acquire_user_prt_by_refresh_token): a nonce
 *   (grant_type=srv_challenge), then a JWT carrying the sign-in's refresh
 *   token, signed RS256 by the DEVICE key in the TPM with the device
 *   certificate as x5c, posted as a jwt-bearer grant.  The answer's
 *   session_key_jwe holds the 32-byte session key encrypted RSA-OAEP-SHA1
 *   to the TRANSPORT key, which the TPM decrypts.  The password of a
 *   password sign-in is not kept for this (the sign-in's refresh token is
 *   the same user's credential, and the password is wiped right after the
 *   sign-in): the refresh-token form is used for every sign-in method.
 * - Custody: the session key is imported at once into the TPM as an
 *   HMAC-SHA256 keyed-hash object (tpm_hmac_key_import, file
 *   prt-session.hkey) and wiped; every key derived from it later is one
 *   TPM2_HMAC over the SP 800-108 fixed input (prt_kdf_input), so the
 *   session key never exists in this process again and the derived keys
 *   live only for the request they sign or decrypt.  Why the TPM and not a
 *   sealed blob: a sealed session key would have to be unsealed into
 *   memory for every request, and whoever copies it can mint PRT-signed
 *   requests anywhere; a keyed-hash object that cannot leave the TPM
 *   (fixedTPM) keeps the PRT usable on this device only, as Windows does.
 *   The PRT itself is sealed by the TPM (prt.sealed) like the kept
 *   refresh token; the journal keeps only its issue and expiry times.
 * - Using it: HS256 JWT with header ctx (24 random bytes) and kdf_ver 2,
 *   key = KDF(session key, SHA-256(ctx || payload)) ([MS-OAPXBC]
 *   3.1.5.2.1.3; ROADtools request_token_with_sessionkey_signed_payload).
 *   The answer is a JWE (dir, A256GCM) under KDF(session key, its own
 *   ctx) (ROADtools decrypt_auth_response); errors come back as plain
 *   OAuth JSON.
 */
#include "agent/flow/flow_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/proto/prt.h"
#include "platform/clock.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"

/* The session key's length ([MS-OAPXBC] 3.1.5.1.2.3; AADInternals' example). */
#define PRT_SESSION_KEY_LEN 32
/* A PRT answer without refresh_token_expires_in: Entra's 14 days (Learn "What is a PRT"). */
#define PRT_DEFAULT_LIFE_S (14LL * 86400)

/*
 * POST form to the v1 token endpoint of the device's tenant (the PRT
 * protocol is v1 only: [MS-OAPXBC] 3.1.5.1.2, ROADtools /oauth2/token),
 * whatever endpoint and tenant name the sign-in used.
 */
static enum lj_rc
prt_post(struct flow *f, enum lj_phase ph, const char *form, struct lj_http_response *resp)
{
    struct oauth_params saved = f->op;
    enum lj_rc rc;

    f->op.api = OAUTH_V1;
    if (f->j.tenant_id[0] != '\0')
        f->op.tenant = f->j.tenant_id;
    rc = flow_token_post(f, ph, form, resp);
    f->op = saved;
    return rc;
}

/*
 * The AADSTS codes that mean the refresh token (or PRT) itself is expired
 * or revoked, so a new sign-in is what helps (Learn reference-error-codes:
 * 70008 ExpiredOrRevokedGrant, 700082 inactivity, 50173 FreshTokenNeeded,
 * 700084 SPA token lifetime).  Any other invalid_grant of a PRT exchange
 * (a stale nonce, a signature the service cannot verify) is the device's
 * request being refused, not the person's session.
 */
static bool
prt_session_code(const char *code)
{
    static const char *const codes[] = {"AADSTS70008", "AADSTS700082", "AADSTS50173",
                                        "AADSTS700084", NULL};

    for (size_t i = 0; codes[i] != NULL; i++) {
        if (strcmp(code, codes[i]) == 0)
            return true;
    }
    return false;
}

/* What a failed PRT exchange becomes, from the OAuth error recorded for it. */
static enum lj_rc
prt_fail(struct flow *f, enum lj_phase ph, const struct lj_http_response *resp, bool with_prt)
{
    enum lj_rc rc = flow_fail_oauth(f, ph, resp, OAUTH_GRANT_REFRESH);

    /*
     * The classifier names sign-in outcomes; here the device signs, so a
     * refusal it cannot name is the PRT's (prt_refused).  An expired or
     * revoked sign-in refresh token stays signin_session_expired; an
     * expired PRT is the same for the person: sign in again.
     */
    if (f->fail.reason == LJ_R_SIGNIN_REJECTED ||
        (f->fail.reason == LJ_R_SIGNIN_SESSION_EXPIRED && !prt_session_code(f->fail.err.code)))
        flow_fail_reason_set(f, LJ_R_PRT_REFUSED);
    lj_log(LJ_LOG_WARN, MOD, "event=prt_refused step=%s http=%ld reason=%s code=%s",
           with_prt ? "prt_signed_request" : "prt_request", resp->status, f->fail.err.reason,
           f->fail.err.code);
    return rc;
}

/* A nonce for one request ([MS-OAPXBC] 3.1.5.1.1 srv_challenge). */
static enum lj_rc
prt_nonce(struct flow *f, enum lj_phase ph, char *nonce, size_t nsz)
{
    struct lj_http_response resp;
    char *form = NULL;
    enum lj_rc rc;

    memset(&resp, 0, sizeof(resp));
    rc = prt_body_challenge(&form);
    if (rc != LJ_OK)
        return flow_fail_rc(f, ph, rc);
    rc = prt_post(f, ph, form, &resp);
    free(form);
    if (rc != LJ_OK)
        goto out;
    if (resp.status != 200) {
        rc = prt_fail(f, ph, &resp, false);
        goto out;
    }
    rc = prt_nonce_parse(resp.body, resp.body_len, nonce, nsz);
    if (rc != LJ_OK)
        rc = flow_fail_answer(f, ph, f->cfg->authority, &resp, "its nonce is not readable", rc);
out:
    lj_http_response_free(&resp);
    return rc;
}

/*
 * win_ver: the device's OS version when it is a dotted version
 * ("10.0.26100.1"); anything else (a distribution's "12") is not sent and
 * proto/prt.c's default stands in.
 */
static const char *
prt_win_ver(const struct flow *f)
{
    const char *v = f->id.os_version;
    size_t n = strlen(v);

    if (n > 0 && n < 32 && v[0] >= '0' && v[0] <= '9' && strchr(v, '.') != NULL &&
        strspn(v, "0123456789.") == n && v[n - 1] != '.')
        return v;
    return NULL;
}

/* RS256 request JWT signed by the device key (*jwt secret: lj_secret_free). */
static enum lj_rc
prt_signed_by_device(struct flow *f, const char *nonce, char **jwt)
{
    unsigned char *cert = NULL, digest[32], sig[TPM_RSA_BYTES];
    size_t cert_len = 0, sig_len = 0;
    char *input = NULL;
    struct prt_rs256_req r;
    enum lj_rc rc;

    rc = lj_journal_load_cert(f->cfg->state_dir, &cert, &cert_len);
    if (rc != LJ_OK)
        return flow_fail_rc(f, LJ_PHASE_MDM, rc);
    memset(&r, 0, sizeof(r));
    r.nonce = nonce;
    r.refresh_token = f->tok.refresh;
    r.win_ver = prt_win_ver(f);
    r.cert_der = cert;
    r.cert_der_len = cert_len;
    rc = prt_rs256_signing_input(&r, &input);
    if (rc == LJ_OK)
        rc = prt_sha256(input, strlen(input), digest);
    if (rc == LJ_OK)
        rc = tpm_sign_sha256(f->tpm, digest, sig, &sig_len);
    if (rc == LJ_OK)
        rc = prt_jwt_join(input, sig, sig_len, jwt);
    if (rc != LJ_OK)
        flow_fail_rc(f, LJ_PHASE_MDM, rc);
    lj_secret_free(input);
    free(cert);
    return rc;
}

/* The PRT's times (issued or renewed now, expires_in from now) into the journal record. */
static void
prt_times(struct flow *f, long long expires_in)
{
    int64_t now = lj_clock_now();

    f->j.prt_updated = now;
    f->j.prt_expires = now + (expires_in > 0 ? expires_in : PRT_DEFAULT_LIFE_S);
}

/* Journal the PRT's times. */
static enum lj_rc
prt_journal(struct flow *f, enum lj_phase ph, long long expires_in)
{
    prt_times(f, expires_in);
    return flow_journal_save(f, ph);
}

enum lj_rc
flow_prt_acquire(struct flow *f)
{
    struct lj_http_response resp;
    struct prt_answer a;
    char nonce[PRT_NONCE_MAX], *jwt = NULL, *form = NULL;
    unsigned char ek[PRT_EK_LEN], *sk = NULL;
    size_t ek_len = 0, sk_len = 0;
    bool have_answer = false;
    enum lj_rc rc;

    memset(&resp, 0, sizeof(resp));
    if (f->tok.refresh == NULL || f->tok.refresh[0] == '\0') {
        lj_log(LJ_LOG_WARN, MOD, "event=prt_no_refresh_token");
        flow_fail_set(f, LJ_PHASE_MDM, LJ_R_SIGNIN_SESSION_EXPIRED, "", LJ_ERR_NOT_FOUND);
        return LJ_ERR_NOT_FOUND;
    }
    lj_ui_progress(f->ui, "step.mdm.sso", 86);
    rc = prt_nonce(f, LJ_PHASE_MDM, nonce, sizeof(nonce));
    if (rc == LJ_OK)
        rc = prt_signed_by_device(f, nonce, &jwt);
    /*
     * the session key's decrypt and import need a salted session (the key
     * never in clear on the TPM bus): made while the request is in flight
     */
    if (rc == LJ_OK)
        tpm_hold_prepare_start(f->tpm);
    if (rc == LJ_OK && (rc = prt_body_jwt_bearer(jwt, &form)) != LJ_OK)
        flow_fail_rc(f, LJ_PHASE_MDM, rc);
    if (rc == LJ_OK)
        rc = prt_post(f, LJ_PHASE_MDM, form, &resp);
    if (rc != LJ_OK)
        goto out;
    if (resp.status != 200) {
        rc = prt_fail(f, LJ_PHASE_MDM, &resp, false);
        goto out;
    }
    rc = prt_answer_parse(resp.body, resp.body_len, &a);
    if (rc != LJ_OK) {
        flow_fail_answer(f, LJ_PHASE_MDM, f->cfg->authority, &resp,
                         "its device sign-in answer is not readable", rc);
        goto out;
    }
    have_answer = true;
    rc = prt_session_key_jwe_parse(a.session_key_jwe, ek, &ek_len);
    if (rc != LJ_OK) {
        flow_fail_answer(f, LJ_PHASE_MDM, f->cfg->authority, &resp,
                         "its session key is not in the expected form", rc);
        goto out;
    }
    /* [MS-OAPXBC] 3.1.5.1.2.3: RSA-OAEP with SHA-1 under the transport key. */
    rc = tpm_transport_decrypt(f->tpm, TPM_OAEP_SHA1, ek, ek_len, &sk, &sk_len);
    if (rc == LJ_OK && sk_len != PRT_SESSION_KEY_LEN) {
        flow_fail_answer(f, LJ_PHASE_MDM, f->cfg->authority, &resp,
                         "its session key has the wrong length", LJ_ERR_PROTOCOL);
        rc = LJ_ERR_PROTOCOL;
        goto out;
    }
    if (rc == LJ_ERR_CRYPTO) {
        flow_fail_answer(f, LJ_PHASE_MDM, f->cfg->authority, &resp,
                         "its session key is not for this device's transport key", rc);
        goto out;
    }
    if (rc == LJ_OK)
        rc = tpm_hmac_key_import(f->tpm, LJ_FLOW_PRT_KEY_NAME, sk, sk_len);
    if (rc != LJ_OK) {
        flow_fail_rc(f, LJ_PHASE_MDM, rc);
        goto out;
    }
    lj_secret_free(f->tok.prt);
    f->tok.prt = a.prt;
    a.prt = NULL;
    /* sealed and journaled by flow_prt_seal_finish, off the request's critical path */
    f->prt_seal_due = true;
    f->prt_seal_started = false;
    f->prt_seal_expires_in = a.prt_expires_in;
    lj_log(LJ_LOG_INFO, MOD, "event=prt_acquired expires_in=%lld prt=*** session_key=tpm",
           a.prt_expires_in);
out:
    if (sk != NULL)
        lj_secure_free(sk, sk_len);
    lj_secure_zero(ek, sizeof(ek));
    if (have_answer)
        prt_answer_free(&a);
    lj_secret_free(form);
    lj_secret_free(jwt);
    lj_secure_zero(nonce, sizeof(nonce));
    lj_http_response_free(&resp);
    return rc;
}

/* Queue the due seal on the TPM worker (flow_prt_seal_finish collects it). */
static void
prt_seal_start(struct flow *f)
{
    if (!f->prt_seal_due || f->prt_seal_started)
        return;
    f->prt_seal_started =
        tpm_seal_start(f->tpm, LJ_FLOW_PRT_SEAL_NAME, (const unsigned char *)f->tok.prt,
                       strlen(f->tok.prt)) == LJ_OK;
}

enum lj_rc
flow_prt_seal_finish(struct flow *f, enum lj_phase ph, bool journal)
{
    enum lj_rc rc;

    if (!f->prt_seal_due)
        return LJ_OK;
    if (f->prt_seal_started)
        rc = tpm_seal_wait(f->tpm);
    else
        rc = tpm_seal(f->tpm, LJ_FLOW_PRT_SEAL_NAME, (const unsigned char *)f->tok.prt,
                      strlen(f->tok.prt));
    f->prt_seal_due = false;
    f->prt_seal_started = false;
    if (rc != LJ_OK)
        return flow_fail_rc(f, ph, rc);
    if (!journal) {
        prt_times(f, f->prt_seal_expires_in);
        return LJ_OK;
    }
    return prt_journal(f, ph, f->prt_seal_expires_in);
}

enum lj_rc
flow_prt_load(struct flow *f)
{
    unsigned char *data = NULL;
    size_t len = 0;
    enum lj_rc rc;

    if (f->tok.prt != NULL)
        return LJ_OK;
    if (!tpm_hmac_key_present(f->cfg->state_dir, LJ_FLOW_PRT_KEY_NAME))
        return LJ_ERR_NOT_FOUND;
    rc = tpm_unseal(f->tpm, LJ_FLOW_PRT_SEAL_NAME, &data, &len);
    if (rc != LJ_OK) {
        lj_log(LJ_LOG_WARN, MOD, "event=prt_unseal_failed rc=%s", lj_rc_name(rc));
        return rc;
    }
    if (len == 0 || strlen((char *)data) != len) {
        lj_secure_free(data, len);
        return LJ_ERR_KEYS_CORRUPT;
    }
    f->tok.prt = (char *)data;
    if (!f->tok.held)
        lj_secrets_held(true);
    f->tok.held = true;
    lj_log(LJ_LOG_INFO, MOD, "event=prt_unsealed prt=***");
    return LJ_OK;
}

/* Derived key for kdf_ver (ctx, and for v2 the payload) computed by the TPM. */
static enum lj_rc
prt_derive(struct flow *f, int kdf_ver, const unsigned char ctx[PRT_CTX_LEN], const char *payload,
           unsigned char key[32])
{
    unsigned char in[PRT_KDF_INPUT_MAX];
    size_t in_len = 0;
    enum lj_rc rc;

    rc = prt_kdf_input(kdf_ver, ctx, payload, payload != NULL ? strlen(payload) : 0, in, sizeof(in),
                       &in_len);
    if (rc == LJ_OK)
        rc = tpm_hmac_sha256(f->tpm, LJ_FLOW_PRT_KEY_NAME, in, in_len, key);
    lj_secure_zero(in, sizeof(in));
    return rc;
}

/* The PRT-signed request JWT for r (nonce and PRT filled here); *jwt secret. */
static enum lj_rc
prt_signed_by_session(struct flow *f, enum lj_phase ph, struct prt_hs256_req *r, char **jwt)
{
    unsigned char ctx[PRT_CTX_LEN], key[32];
    char *payload = NULL;
    enum lj_rc rc;

    rc = prt_ctx_new(ctx);
    if (rc == LJ_OK)
        rc = prt_hs256_payload(r, &payload);
    if (rc == LJ_OK)
        rc = prt_derive(f, 2, ctx, payload, key);
    if (rc == LJ_OK)
        rc = prt_hs256_jwt(ctx, payload, key, jwt);
    if (rc != LJ_OK)
        flow_fail_rc(f, ph, rc);
    lj_secure_zero(key, sizeof(key));
    lj_secret_free(payload);
    return rc;
}

/* Decrypt a PRT-signed request's 200 answer into *plain (secret). */
static enum lj_rc
prt_open_answer(struct flow *f, enum lj_phase ph, const struct lj_http_response *resp, char **plain,
                size_t *plain_len)
{
    unsigned char ctx[PRT_CTX_LEN], key[32];
    enum lj_rc rc;

    rc = prt_jwe_header_ctx(resp->body, resp->body_len, ctx);
    if (rc != LJ_OK)
        return flow_fail_answer(f, ph, f->cfg->authority, resp,
                                "its answer is not encrypted for this device", rc);
    rc = prt_derive(f, 1, ctx, NULL, key);
    if (rc != LJ_OK)
        return flow_fail_rc(f, ph, rc);
    rc = prt_jwe_decrypt(resp->body, resp->body_len, key, plain, plain_len);
    lj_secure_zero(key, sizeof(key));
    if (rc != LJ_OK)
        return flow_fail_answer(f, ph, f->cfg->authority, resp,
                                "its encrypted answer does not open with this device's key", rc);
    return LJ_OK;
}

enum lj_rc
flow_prt_request(struct flow *f, enum lj_phase ph, const struct prt_hs256_req *req, char **plain,
                 size_t *plain_len)
{
    struct lj_http_response resp;
    struct prt_hs256_req r = *req;
    char nonce[PRT_NONCE_MAX], *jwt = NULL, *form = NULL;
    enum lj_rc rc;

    memset(&resp, 0, sizeof(resp));
    if (f->tok.prt == NULL) {
        flow_fail_rc(f, ph, LJ_ERR_NOT_FOUND);
        return LJ_ERR_NOT_FOUND;
    }
    rc = prt_nonce(f, ph, nonce, sizeof(nonce));
    if (rc != LJ_OK)
        goto out;
    r.nonce = nonce;
    r.prt = f->tok.prt;
    r.win_ver = prt_win_ver(f);
    rc = prt_signed_by_session(f, ph, &r, &jwt);
    if (rc == LJ_OK && (rc = prt_body_jwt_bearer(jwt, &form)) != LJ_OK)
        flow_fail_rc(f, ph, rc);
    /* a new PRT is sealed by the TPM worker while the request is on the network */
    prt_seal_start(f);
    if (rc == LJ_OK)
        rc = prt_post(f, ph, form, &resp);
    /*
     * Only the journal record's PRT times here: the enrollment (or its
     * outcome record) that this request serves saves the journal next.
     */
    if (rc == LJ_OK)
        rc = flow_prt_seal_finish(f, ph, false);
    if (rc != LJ_OK)
        goto out;
    if (resp.status != 200) {
        rc = prt_fail(f, ph, &resp, true);
        goto out;
    }
    rc = prt_open_answer(f, ph, &resp, plain, plain_len);
out:
    /* failed before the seal was collected: the new PRT is kept all the same */
    if (f->prt_seal_due)
        (void)flow_prt_seal_finish(f, ph, true);
    lj_secret_free(form);
    lj_secret_free(jwt);
    lj_secure_zero(nonce, sizeof(nonce));
    lj_http_response_free(&resp);
    return rc;
}

enum lj_rc
flow_prt_token(struct flow *f, enum lj_phase ph, const struct prt_hs256_req *req,
               struct oauth_token *out)
{
    char *plain = NULL;
    size_t plain_len = 0;
    enum lj_rc rc;

    rc = flow_prt_request(f, ph, req, &plain, &plain_len);
    if (rc != LJ_OK)
        return rc;
    rc = oauth_token_parse(plain, plain_len, out);
    if (rc != LJ_OK) {
        flow_fail_set(f, ph, LJ_R_BAD_SERVICE_RESPONSE, NULL, rc);
        flow_copy(f->fail.what, sizeof(f->fail.what), "its token answer is not readable");
    }
    lj_secure_free(plain, plain_len);
    return rc;
}

enum lj_rc
flow_prt_renew(struct flow *f)
{
    struct prt_hs256_req r;
    struct prt_answer a;
    char *plain = NULL;
    size_t plain_len = 0;
    enum lj_rc rc;

    memset(&r, 0, sizeof(r));
    r.kind = PRT_HS256_RENEW;
    rc = flow_prt_request(f, LJ_PHASE_MDM, &r, &plain, &plain_len);
    if (rc != LJ_OK)
        return rc;
    rc = prt_renew_answer_parse(plain, plain_len, &a);
    lj_secure_free(plain, plain_len);
    if (rc != LJ_OK) {
        flow_fail_set(f, LJ_PHASE_MDM, LJ_R_BAD_SERVICE_RESPONSE, NULL, rc);
        flow_copy(f->fail.what, sizeof(f->fail.what), "its renewed token is not readable");
        return rc;
    }
    rc = tpm_seal(f->tpm, LJ_FLOW_PRT_SEAL_NAME, (const unsigned char *)a.prt, strlen(a.prt));
    if (rc != LJ_OK) {
        flow_fail_rc(f, LJ_PHASE_MDM, rc);
        prt_answer_free(&a);
        return rc;
    }
    rc = prt_journal(f, LJ_PHASE_MDM, a.prt_expires_in);
    lj_secret_free(f->tok.prt);
    f->tok.prt = a.prt;
    a.prt = NULL;
    lj_log(LJ_LOG_INFO, MOD, "event=prt_renewed expires_in=%lld prt=***", a.prt_expires_in);
    prt_answer_free(&a);
    return rc;
}

void
flow_prt_forget(const struct flow *f)
{
    if (tpm_sealed_remove(f->cfg->state_dir, LJ_FLOW_PRT_SEAL_NAME) != LJ_OK ||
        tpm_hmac_key_remove(f->cfg->state_dir, LJ_FLOW_PRT_KEY_NAME) != LJ_OK)
        lj_log(LJ_LOG_WARN, MOD, "event=prt_remove_failed");
}
