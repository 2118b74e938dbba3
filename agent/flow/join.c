/*
 * join.c — DRS discovery (before sign-in when the tenant is a domain, else
 * from the UPN's domain), collecting the device keys, and the join itself
 * (MS-DVRJ): a CSR signed by the device key in the TPM, POSTed with the
 * transport key, retried on 503/429 within the bound of flow.h, and an
 * answer that must certify our key before anything is saved.
 */
#include "agent/flow/flow_int.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/common/log.h"
#include "platform/common/text.h"
#include "platform/testhook.h"

/* The tenant names the DRS domain itself (not `organizations`, not a GUID). */
bool
flow_tenant_is_domain(const struct lj_config *cfg)
{
    return strchr(cfg->tenant, '.') != NULL && !lj_is_guid(cfg->tenant);
}

/*
 * DRS discovery for f->domain (the configured domain, or the UPN's after
 * sign-in).  pct: the progress percentage (before or after sign-in).
 */
enum lj_rc
flow_discover(struct flow *f, int pct)
{
    static const char *const hdrs[] = {DRS_DISCOVERY_ACCEPT, NULL};
    struct lj_http_request req;
    struct lj_http_response resp;
    const char *t = f->cfg->tenant, *at;
    char *url = NULL;
    bool authed;
    enum lj_rc rc;

    memset(&resp, 0, sizeof(resp));
    lj_ui_progress(f->ui, "step.discover.drs", pct);
    if (flow_tenant_is_domain(f->cfg)) {
        flow_copy(f->domain, sizeof(f->domain), t);
    } else if (f->have_claims && (at = strrchr(f->claims.upn, '@')) != NULL && at[1] != '\0') {
        flow_copy(f->domain, sizeof(f->domain), at + 1);
    } else {
        lj_log(LJ_LOG_WARN, MOD, "event=no_tenant_domain tenant=%s", t);
        flow_fail_set(f, LJ_PHASE_DISCOVER, LJ_R_DRS_TENANT_NOT_FOUND, NULL, LJ_ERR_NOT_FOUND);
        return LJ_ERR_NOT_FOUND;
    }
    /*
     * Before sign-in there is no token: ask as Windows' dsreg does, api-version
     * 1.7 without Authorization (Azure-Samples/DSRegTool DSRegTool.ps1).  After
     * sign-in ask as libhimmelblau does, api-version 1.9 and managed=True with
     * the DRS access token as bearer (himmelblau-idm/libhimmelblau
     * src/discovery.rs Services::new).  Both send Accept: application/json;
     * the ocp-adrs-client-name/-version pair comes from the HTTP client.
     */
    authed = f->tok.access != NULL && f->tok.access[0] != '\0';
    rc = drs_discover_url(f->cfg->drs_url, f->domain, authed, &url);
    if (rc != LJ_OK) {
        flow_fail_set(f, LJ_PHASE_DISCOVER, LJ_R_DRS_TENANT_NOT_FOUND, NULL, rc);
        goto out;
    }
    memset(&req, 0, sizeof(req));
    req.url = url;
    req.headers = hdrs;
    req.bearer = authed ? f->tok.access : NULL;
    lj_log(LJ_LOG_INFO, MOD, "event=discover url=%s authorization=%s", url,
           authed ? "bearer" : "none");
    rc = flow_http_req(f, LJ_PHASE_DISCOVER, &req, &resp);
    if (rc != LJ_OK)
        goto out;
    if (resp.status != 200) {
        rc = flow_fail_drs(f, LJ_PHASE_DISCOVER, &resp);
        goto out;
    }
    rc = drs_discovery_parse(resp.body, resp.body_len, f->cfg->drs_url, &f->disc);
    if (rc != LJ_OK) {
        flow_fail_answer(f, LJ_PHASE_DISCOVER, url, &resp,
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

/* b (n bytes) as lower-case hex into out (osz), cut to fit. */
static void
hex_lower(const unsigned char *b, size_t n, char *out, size_t osz)
{
    out[0] = '\0';
    for (size_t i = 0; i < n && 2 * i + 2 < osz; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* The device name DRS and Intune show: configured, else LINK-<serial>. */
void
flow_display_name(const struct flow *f, char *out, size_t osz)
{
    if (f->cfg->display_name[0] != '\0')
        flow_copy(out, osz, f->cfg->display_name);
    else if (f->id.serial[0] != '\0')
        snprintf(out, osz, "LINK-%s", f->id.serial);
    else
        flow_copy(out, osz, "LINK-DEVICE");
}

/*
 * Collect the keys queued at start (or create them now, in the sequential
 * baseline) and journal keys_ready.  Blocks for the TPM.
 */
enum lj_rc
flow_keys_await(struct flow *f)
{
    bool created = false;
    enum lj_rc rc;

    lj_ui_progress(f->ui, "step.keys.prepare", 65);
    rc = f->keys_started ? tpm_keys_ensure_wait(f->tpm, &created)
                         : tpm_keys_ensure(f->tpm, &created);
    f->keys_started = false;
    if (rc != LJ_OK)
        return flow_fail_rc(f, LJ_PHASE_KEYS, rc);
    lj_log(LJ_LOG_INFO, MOD, "event=keys_ready created=%d", created ? 1 : 0);
    /*
     * The join CSR signed in the background right after keygen is
     * collected now, before keys_ready is journaled: the join needs it next
     * anyway, and no TPM command of this run is in flight from here until
     * the join (a run that dies after keys_ready leaves no object behind
     * on a TPM without a resource manager).
     */
    if (f->csr_started) {
        f->csr_started = false;
        if (tpm_csr_wait(f->tpm, &f->csr, &f->csr_len, NULL) != LJ_OK) {
            lj_log(LJ_LOG_WARN, MOD, "event=csr_presign_failed detail=\"%s\" (signing at the join)",
                   lj_err_detail());
            f->csr = NULL;
        }
    }
    if (f->j.state < LJ_JS_KEYS_READY) {
        lj_journal_set_state(&f->j, LJ_JS_KEYS_READY);
        /*
         * Recorded as phase join, as it always was: the record says "before
         * the join".  Without fsync: the keys' own record (keys.rec) is
         * durable already, and join_sent, saved with fsync before the join
         * request leaves, follows with nothing sent in between; a power
         * loss that takes keys_ready back to new only drops the "continuing
         * where it stopped" notice (lj_recover), the keys are reused the
         * same.  Two fsyncs off the person's wait after sign-in.
         */
        rc = flow_journal_note(f, LJ_PHASE_JOIN);
    }
    return rc;
}

/* What the join request carries and its answer is checked against. */
struct join_keys {
    unsigned char *csr, *blob, *spki; /* DER PKCS#10, BCRYPT_RSAPUBLIC_BLOB, DER SPKI */
    size_t csr_len, blob_len, spki_len;
    unsigned char digest[WC_SHA256_DIGEST_SIZE]; /* SHA-256 of spki */
};

static void
join_keys_free(struct join_keys *k)
{
    free(k->csr);
    free(k->blob);
    free(k->spki);
}

/*
 * The join CSR (presigned in the background, else signed now), the
 * transport key blob, and the device key's SPKI and its digest.  k is
 * filled as far as it got (caller frees with join_keys_free).
 */
static enum lj_rc
join_keys_get(struct flow *f, struct join_keys *k)
{
    enum lj_rc rc = LJ_ERR_NOT_FOUND;

    if (f->csr != NULL) {
        k->csr = f->csr;
        k->csr_len = f->csr_len;
        f->csr = NULL;
        rc = LJ_OK;
        lj_log(LJ_LOG_INFO, MOD, "event=csr_presigned_used der_len=%zu", k->csr_len);
    } else if (f->csr_started) {
        f->csr_started = false;
        rc = tpm_csr_wait(f->tpm, &k->csr, &k->csr_len, NULL);
        if (rc == LJ_OK)
            lj_log(LJ_LOG_INFO, MOD, "event=csr_presigned_used der_len=%zu", k->csr_len);
        else
            lj_log(LJ_LOG_WARN, MOD, "event=csr_presign_failed rc=%s (signing now)",
                   lj_rc_name(rc));
    }
    /* Not started (sequential baseline) or failed: sign now, the error is this one's. */
    if (rc != LJ_OK)
        rc = tpm_csr(f->tpm, LJ_FLOW_CSR_CN, &k->csr, &k->csr_len, NULL);
    if (rc == LJ_OK)
        rc = tpm_transport_blob(f->tpm, &k->blob, &k->blob_len);
    if (rc == LJ_OK)
        rc = tpm_device_spki(f->tpm, &k->spki, &k->spki_len);
    if (rc != LJ_OK)
        return flow_fail_rc(f, LJ_PHASE_KEYS, rc);
    if (wc_Sha256Hash(k->spki, (word32)k->spki_len, k->digest) != 0)
        return flow_fail_rc(f, LJ_PHASE_JOIN, LJ_ERR_CRYPTO);
    return LJ_OK;
}

/* The join URL and JSON body (MS-DVRJ 3.1.5.1.1.1); caller frees both with free(). */
static enum lj_rc
join_build(struct flow *f, const struct join_keys *k, char **url, char **body)
{
    struct drs_join_request jr;
    char name[LJ_CONFIG_NAME_MAX];
    enum lj_rc rc;

    flow_display_name(f, name, sizeof(name));
    memset(&jr, 0, sizeof(jr));
    jr.csr_der = k->csr;
    jr.csr_len = k->csr_len;
    jr.tk_blob = k->blob;
    jr.tk_len = k->blob_len;
    jr.target_domain = f->domain;
    jr.os_version = f->cfg->os_version; /* a dotted quad (config), not os-release's */
    jr.display_name = name;
    rc = drs_join_url(&f->disc, url);
    if (rc == LJ_OK)
        rc = drs_join_body(&jr, body);
    if (rc != LJ_OK)
        flow_fail_rc(f, LJ_PHASE_JOIN, rc);
    return rc;
}

/*
 * POST the join, again after 503/429 within the retry bound of flow.h.  The
 * journal says join_sent (with the key's fingerprint) before each attempt,
 * so a lost answer is retried with this key.  LJ_OK: *resp holds the last
 * answer, of any status.
 */
static enum lj_rc
join_send(struct flow *f, const struct join_keys *k, const char *url, const char *body,
          struct lj_http_response *resp)
{
    long waited = 0;
    enum lj_rc rc;

    lj_journal_set_state(&f->j, LJ_JS_SIGNED_IN);
    if (f->have_claims) {
        flow_copy(f->j.upn, sizeof(f->j.upn), f->claims.upn);
        flow_copy(f->j.tenant_id, sizeof(f->j.tenant_id), f->claims.tid);
    }
    lj_journal_set_state(&f->j, LJ_JS_JOIN_SENT);
    hex_lower(k->digest, sizeof(k->digest), f->j.join_fingerprint, sizeof(f->j.join_fingerprint));
    for (int attempt = 1;; attempt++) {
        long w;

        f->j.join_attempts++;
        rc = flow_journal_save(f, LJ_PHASE_JOIN);
        if (rc != LJ_OK)
            return rc;
        lj_http_response_free(resp);
        rc = flow_http(f, LJ_PHASE_JOIN, url, "application/json", body, f->tok.access, resp);
        LJ_TEST_CRASH_POINT("join_response"); /* the answer is here, nothing saved yet */
        flow_copy(f->j.join_request_id, sizeof(f->j.join_request_id), resp->client_request_id);
        if (rc != LJ_OK)
            return rc;
        lj_log(LJ_LOG_INFO, MOD, "event=join_answer status=%ld attempt=%d", resp->status, attempt);
        if (resp->status != 503 && resp->status != 429)
            return LJ_OK;
        w = flow_retry_wait(attempt, resp->retry_after, waited, LJ_FLOW_JOIN_MAX_ATTEMPTS,
                            LJ_FLOW_RETRY_BUDGET_S);
        if (w < 0)
            return LJ_OK;
        lj_log(LJ_LOG_INFO, MOD, "event=join_retry wait_s=%ld status=%ld", w, resp->status);
        lj_ui_progress(f->ui, "step.join.busy", 75);
        lj_ui_notice(f->ui, "service_busy", w, NULL, 0);
        waited += w;
        rc = flow_ui_wait(f, w * 1000, false, LJ_UI_MSG_CANCEL, NULL);
        if (rc != LJ_ERR_TIMEOUT) {
            if (rc == LJ_ERR_CANCELLED)
                flow_fail_rc(f, LJ_PHASE_JOIN, rc);
            return rc;
        }
    }
}

/*
 * The join's answer: an error is classified; a 200 must carry a certificate
 * for our key, issued by MS-Organization-Access for the signed-in tenant.
 * Then the certificate file and the journal (joined) are written.
 */
static enum lj_rc
join_accept(struct flow *f, const struct join_keys *k, const char *url,
            const struct lj_http_response *resp)
{
    struct drs_join_verify v;
    struct drs_join_result res;
    enum drs_reject why = DRS_REJECT_NONE;
    enum lj_rc rc;

    if (resp->status != 200)
        return flow_fail_drs(f, LJ_PHASE_JOIN, resp);
    memset(&v, 0, sizeof(v));
    memset(&res, 0, sizeof(res));
    v.key.spki_der = k->spki;
    v.key.spki_len = k->spki_len;
    v.tenant_id = f->have_claims ? f->claims.tid : NULL;
    v.issuer_cn = LJ_FLOW_ISSUER_CN;
    rc = drs_join_response_parse(resp->body, resp->body_len, &v, &res, &why);
    if (rc != LJ_OK) {
        lj_log(LJ_LOG_WARN, MOD, "event=join_answer_rejected why=%s", drs_reject_name(why));
        return flow_fail_answer(f, LJ_PHASE_JOIN, url, resp, drs_reject_text(why), rc);
    }
    rc = lj_journal_save_cert(f->cfg->state_dir, res.cert_der, res.cert_len);
    if (rc != LJ_OK) {
        flow_fail_rc(f, LJ_PHASE_JOIN, rc);
        goto out;
    }
    flow_copy(f->j.device_id, sizeof(f->j.device_id), res.device_id);
    if (res.tenant_id[0] != '\0')
        flow_copy(f->j.tenant_id, sizeof(f->j.tenant_id), res.tenant_id);
    flow_copy(f->j.tenant_name, sizeof(f->j.tenant_name),
              f->disc.tenant_display_name[0] != '\0' ? f->disc.tenant_display_name
              : f->disc.tenant_name[0] != '\0'       ? f->disc.tenant_name
                                                     : f->domain);
    if (res.upn[0] != '\0')
        flow_copy(f->j.upn, sizeof(f->j.upn), res.upn);
    flow_copy(f->j.cert_thumbprint, sizeof(f->j.cert_thumbprint), res.thumbprint);
    lj_journal_set_state(&f->j, LJ_JS_JOINED);
    lj_journal_clear_error(&f->j);
    rc = flow_journal_save(f, LJ_PHASE_JOIN);
    if (rc == LJ_OK)
        lj_log(LJ_LOG_INFO, MOD, "event=joined device_id=%s tenant_id=%s thumbprint=%s",
               f->j.device_id, f->j.tenant_id, f->j.cert_thumbprint);
out:
    drs_join_result_free(&res);
    return rc;
}

/*
 * The join: key material, request, POST (with the retry bound), answer.
 * Records its failure; LJ_OK when the device is joined and journaled.
 */
enum lj_rc
flow_join(struct flow *f)
{
    struct lj_http_response resp;
    struct join_keys k;
    char *url = NULL, *body = NULL;
    enum lj_rc rc;

    memset(&resp, 0, sizeof(resp));
    memset(&k, 0, sizeof(k));
    lj_ui_progress(f->ui, "step.join.join", 75);
    rc = join_keys_get(f, &k);
    if (rc == LJ_OK)
        rc = join_build(f, &k, &url, &body);
    if (rc == LJ_OK)
        rc = join_send(f, &k, url, body, &resp);
    if (rc == LJ_OK)
        rc = join_accept(f, &k, url, &resp);
    lj_http_response_free(&resp);
    join_keys_free(&k);
    free(url);
    free(body);
    return rc;
}
