/*
 * enroll.c — the Intune enrollment after the join (and on resume): scope
 * check, Intune token, the MS-MDE2 sequence with its retry bound, storing
 * what it delivered, and the outcome (enrolled, pending, refused).  See the
 * design note "Intune" in flow.c.
 */
#include "agent/flow/flow_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/core/exitcodes.h"
#include "agent/proto/prt.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"

/*
 * POST one SOAP request; *flt is what the answer is (a fault, SOAP, ...).
 * LJ_OK: an HTTP answer is in resp (any status).  A transport failure is
 * recorded in the MDM phase.
 */
static enum lj_rc
mdm_send(struct flow *f, const char *url, const char *xml, size_t len,
         struct lj_http_response *resp, struct mdm_fault *flt)
{
    static const char *const hdrs[] = {"User-Agent: " MDM_USER_AGENT, NULL};
    struct lj_http_request req;
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
        return flow_fail_net(f, LJ_PHASE_MDM, rc, url, resp->error);
    f->mdm_retry_after = resp->retry_after;
    mdm_fault_parse(resp->status, resp->body, resp->body_len, flt);
    return LJ_OK;
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
    struct mdm_fault flt;
    enum lj_rc rc;

    rc = mdm_send(f, url, xml, len, resp, &flt);
    if (rc != LJ_OK)
        return rc;
    if (resp->status == 200 && flt.kind == MDM_BODY_SOAP)
        return LJ_OK;
    return flow_fail_mdm_answer(f, resp, &flt);
}

/*
 * May the device send its Intune token to url?  Only over https to a host
 * of Microsoft's Intune service (*.manage.microsoft.com: discovery,
 * enrollment and fef.* clusters; MS-MDE2 leaves the hosts to the service)
 * or to the host of the configured mdm_url (a sovereign cloud, a test
 * double reached through connect_to).  A discovery answer or a token claim
 * naming any other host is refused, so a tampered answer cannot collect the
 * token.
 */
static bool
mdm_host_ok(const struct flow *f, const char *url)
{
    static const char suffix[] = ".manage.microsoft.com";
    char host[256], own[256];
    long port = 0;
    size_t n;

    if (strncmp(url, "https://", 8) != 0 ||
        lj_http_url_host(url, host, sizeof(host), &port) != LJ_OK)
        return false;
    n = strlen(host);
    if (n > sizeof(suffix) - 1 && strcasecmp(host + n - (sizeof(suffix) - 1), suffix) == 0)
        return true;
    return lj_http_url_host(f->cfg->mdm_url, own, sizeof(own), &port) == LJ_OK &&
           strcasecmp(host, own) == 0;
}

/*
 * Where Intune discovery goes.  Entra puts mdm_enrollment_url (with the
 * terms-of-use and compliance URLs) into the sign-in's id_token for users
 * inside the tenant's MDM user scope (Learn "How device registration
 * works", phase D).  Present: its discovery URL is used.  Absent (an
 * opaque token, a resumed enrollment, a tenant that leaves it out): never
 * a verdict by itself; discovery goes to the configured mdm_url and
 * Intune's answer decides (AADInternals, pytune and himmelblau call Intune
 * and classify its answer).  url gets the full Discovery.svc URL.
 */
static void
mdm_discovery_url(struct flow *f, char *url, size_t usz)
{
    const char *claim = f->have_id_claims ? f->id_claims.mdm_enrollment_url : "";
    char host[256];
    long port;
    size_t blen;

    if (claim[0] != '\0' && !mdm_host_ok(f, claim))
        lj_log(LJ_LOG_WARN, MOD, "event=mdm_scope_claim_refused reason=not_an_intune_host");
    else if (claim[0] != '\0' && lj_http_url_host(claim, host, sizeof(host), &port) == LJ_OK &&
             strlen(claim) < usz) {
        lj_log(LJ_LOG_INFO, MOD, "event=mdm_scope_claim present=yes mdm_enrollment_url=%s", claim);
        flow_copy(url, usz, claim);
        return;
    }
    lj_log(LJ_LOG_INFO, MOD, "event=mdm_scope_claim present=no source=%s then=%s",
           f->fresh_signin ? (f->have_id_claims ? "id_token" : "no_id_token") : "no_signin",
           f->cfg->mdm_url);
    flow_copy(url, usz, f->cfg->mdm_url);
    blen = strlen(url);
    while (blen > 0 && url[blen - 1] == '/')
        url[--blen] = '\0';
    snprintf(url + blen, usz - blen, "/EnrollmentServer/Discovery.svc");
}

/*
 * The PRT for the Intune token: the one in memory, the kept one, else a new
 * one from the sign-in's refresh token (kept sealed while pending).
 */
static enum lj_rc
mdm_prt_ready(struct flow *f)
{
    enum lj_rc rc = flow_prt_load(f);

    if (rc == LJ_OK)
        return LJ_OK;
    if (rc != LJ_ERR_NOT_FOUND)
        lj_log(LJ_LOG_WARN, MOD, "event=prt_kept_unusable rc=%s then=new_prt", lj_rc_name(rc));
    return flow_prt_acquire(f);
}

/*
 * Access token for the Intune enrollment resource, device-authenticated:
 * a PRT-signed request (client 29d9ed98, resource
 * https://enrollment.manage.microsoft.com/, redirect ms-aadj-redir://auth/mdm:
 * pytune device/windows.py get_enrollment_token).  Intune needs the
 * token's deviceid claim (AADInternals MDM.ps1 Join-DeviceToIntune refuses
 * to enroll without it), so it is checked against the joined device id
 * before any RST is sent.
 */
static enum lj_rc
mdm_token_get(struct flow *f)
{
    struct prt_hs256_req r;
    struct oauth_token t;
    struct oauth_jwt_claims c;
    enum lj_rc rc;

    rc = mdm_prt_ready(f);
    if (rc != LJ_OK)
        return rc;
    lj_ui_progress(f->ui, "step.mdm.token", 88);
    memset(&r, 0, sizeof(r));
    r.client_id = OAUTH_BROKER_CLIENT_ID;
    r.resource = OAUTH_MDM_RESOURCE;
    r.redirect_uri = OAUTH_MDM_REDIRECT;
    rc = flow_prt_token(f, LJ_PHASE_MDM, &r, &t);
    if (rc != LJ_OK)
        return rc;
    if (oauth_jwt_claims_parse(t.access_token, &c) != LJ_OK || c.deviceid[0] == '\0' ||
        strcasecmp(c.deviceid, f->j.device_id) != 0) {
        bool none = c.deviceid[0] == '\0';

        lj_log(LJ_LOG_WARN, MOD, "event=mdm_token_not_device_bound deviceid=%s expected=%s",
               none ? "none" : c.deviceid, f->j.device_id);
        oauth_token_free(&t);
        flow_fail_set(f, LJ_PHASE_MDM, LJ_R_BAD_SERVICE_RESPONSE, NULL, LJ_ERR_PROTOCOL);
        flow_copy(f->fail.what, sizeof(f->fail.what),
                  none ? "its Intune token does not name this device"
                       : "its Intune token names another device");
        return LJ_ERR_PROTOCOL;
    }
    flow_tokens_set_mdm(f, &t);
    lj_log(LJ_LOG_INFO, MOD, "event=mdm_token resource=%s deviceid=%s access_token=***",
           OAUTH_MDM_RESOURCE, c.deviceid);
    return LJ_OK;
}

/*
 * The Windows identity the device presents (config os_version, a dotted
 * quad [MS-MDE2] 3.1.4.1.3.1 DottedQuadType; os_edition, the product type),
 * never os-release's "12".
 */
static const char *
mdm_os_edition(const struct flow *f, char buf[12])
{
    snprintf(buf, 12, "%d", f->cfg->os_edition);
    return buf;
}

/*
 * MS-MDE2 Discover at {mdm_url}/EnrollmentServer/Discovery.svc (no
 * authentication).  LJ_OK: *d names the policy and enrollment services.
 */
static enum lj_rc
mdm_discover_step(struct flow *f, struct mdm_discovery *d)
{
    struct lj_http_response resp;
    struct mdm_discover_request dr;
    enum mdm_reject why = MDM_REJECT_NONE;
    char msgid[MDM_MSGID_LEN], url[LJ_CONFIG_URL_MAX + 64], edition[12];
    char *xml = NULL;
    size_t len = 0;
    enum lj_rc rc;

    memset(&resp, 0, sizeof(resp));
    mdm_discovery_url(f, url, sizeof(url));
    lj_ui_progress(f->ui, "step.mdm.discover", 90);
    memset(&dr, 0, sizeof(dr));
    dr.url = url;
    dr.message_id = msgid;
    dr.upn = f->j.upn[0] != '\0' ? f->j.upn : f->claims.upn;
    dr.os_version = f->cfg->os_version;
    dr.os_edition = mdm_os_edition(f, edition);
    rc = mdm_message_id(msgid);
    if (rc == LJ_OK)
        rc = mdm_discover_build(&dr, &xml, &len);
    if (rc != LJ_OK)
        return flow_fail_rc(f, LJ_PHASE_MDM, rc);
    rc = mdm_post(f, url, xml, len, &resp);
    free(xml);
    if (rc != LJ_OK)
        goto out;
    rc = mdm_discover_parse(resp.body, resp.body_len, msgid, d, &why);
    if (rc != LJ_OK) {
        flow_fail_mdm_parse(f, &resp, "discovery", why, rc);
        goto out;
    }
    if (!mdm_host_ok(f, d->enrollment_service_url) ||
        (d->enrollment_policy_service_url[0] != '\0' &&
         !mdm_host_ok(f, d->enrollment_policy_service_url))) {
        lj_log(LJ_LOG_WARN, MOD,
               "event=mdm_discovery_refused reason=not_an_intune_host enroll=%s "
               "policy=%s",
               d->enrollment_service_url, d->enrollment_policy_service_url);
        flow_fail_set(f, LJ_PHASE_MDM, LJ_R_BAD_SERVICE_RESPONSE, NULL, LJ_ERR_PROTOCOL);
        flow_copy(f->fail.what, sizeof(f->fail.what),
                  "it names an enrollment service outside Microsoft's Intune hosts");
        rc = LJ_ERR_PROTOCOL;
        goto out;
    }
    lj_log(LJ_LOG_INFO, MOD, "event=mdm_discovered auth_policy=%s version=%s enroll=%s policy=%s",
           d->auth_policy, d->enrollment_version, d->enrollment_service_url,
           d->enrollment_policy_service_url);
out:
    lj_http_response_free(&resp);
    return rc;
}

/* The certificate the RST asks for when GetPolicies gave no usable policy. */
#define MDM_DEFAULT_POLICY "rsa2048_sha256"

/*
 * MS-XCEP GetPolicies at the policy service discovery named.  Best effort:
 * the policy service is optional (MS-MDE2 3.1.4.1.3.2, EnrollmentPolicyServiceUrl
 * minOccurs 0) and clients that never call it enroll with Intune using an
 * RSA-2048 / SHA-256 CSR (AADInternals MDM_utils.ps1 Enroll-DeviceToMDM,
 * pytune device/windows.py send_enroll_request).  So a fault, another
 * status or an answer that cannot be read is logged and the enrollment
 * goes on with RSA-2048 / SHA-256; only a transport failure, or a policy that
 * was read and refuses that key or hash, ends it.
 */
static enum lj_rc
mdm_policy_step(struct flow *f, const struct mdm_discovery *d)
{
    struct lj_http_response resp;
    struct mdm_policy pol;
    struct mdm_fault flt;
    enum mdm_reject why = MDM_REJECT_NONE;
    char msgid[MDM_MSGID_LEN];
    struct mdm_policy_request pr = {
        .url = d->enrollment_policy_service_url, .message_id = msgid, .access_token = f->tok.mdm};
    char *xml = NULL;
    size_t len = 0;
    enum lj_rc rc;

    memset(&resp, 0, sizeof(resp));
    lj_ui_progress(f->ui, "step.mdm.policy", 92);
    rc = mdm_message_id(msgid);
    if (rc == LJ_OK)
        rc = mdm_policy_build(&pr, &xml, &len);
    if (rc != LJ_OK)
        return flow_fail_rc(f, LJ_PHASE_MDM, rc);
    rc = mdm_send(f, pr.url, xml, len, &resp, &flt);
    lj_secret_free(xml);
    if (rc != LJ_OK)
        goto out;
    if (resp.status != 200 || flt.kind == MDM_BODY_FAULT) {
        lj_log(LJ_LOG_WARN, MOD,
               "event=mdm_policy_unavailable reason=%s http=%ld subcode=%s error_type=%s "
               "hresult=0x%08lx trace_id=%s then=" MDM_DEFAULT_POLICY,
               flt.kind == MDM_BODY_FAULT ? "fault" : "status", resp.status,
               flt.subcode[0] ? flt.subcode : "-", flt.error_type[0] ? flt.error_type : "-",
               flt.hresult, flt.trace_id[0] ? flt.trace_id : "-");
        goto out;
    }
    rc = mdm_policy_parse(resp.body, resp.body_len, msgid, &pol, &why);
    if (rc != LJ_OK) {
        lj_log(LJ_LOG_WARN, MOD,
               "event=mdm_policy_unavailable reason=unreadable http=%ld why=%s "
               "then=" MDM_DEFAULT_POLICY,
               resp.status, mdm_reject_name(why));
        rc = LJ_OK;
        goto out;
    }
    rc = mdm_policy_check(&pol, LJ_FLOW_MDM_KEY_BITS, &why);
    if (rc != LJ_OK) {
        flow_fail_mdm_parse(f, &resp, "policy", why, rc);
        goto out;
    }
    lj_log(LJ_LOG_INFO, MOD, "event=mdm_policy min_key_bits=%u hash_oid=%s validity_s=%lld",
           pol.min_key_bits, pol.hash_oid, pol.validity_s);
out:
    lj_http_response_free(&resp);
    return rc;
}

/*
 * MS-WSTEP RequestSecurityToken at the enrollment service, with the CSR
 * signed by the device key; the answer must certify that key (spki).
 * LJ_OK: the enrollment is in f->enr.
 */
static enum lj_rc
mdm_rst_step(struct flow *f, const struct mdm_discovery *d, const unsigned char *csr,
             size_t csr_len, const unsigned char *spki, size_t spki_len)
{
    struct lj_http_response resp;
    struct mdm_enroll_verify v;
    struct mdm_enrollment e;
    enum mdm_reject why = MDM_REJECT_NONE;
    char msgid[MDM_MSGID_LEN], name[LJ_CONFIG_NAME_MAX], edition[12];
    char url[MDM_MAX_URL];
    char *xml = NULL;
    size_t len = 0;
    enum lj_rc rc;

    memset(&resp, 0, sizeof(resp));
    memset(&e, 0, sizeof(e));
    lj_ui_progress(f->ui, "step.mdm.enroll", 95);
    flow_display_name(f, name, sizeof(name));
    /* client-request-id in the query as Windows and AADInternals send it
     * (mdm_enroll_url); the discovery's ActivityId when it is a GUID. */
    rc = mdm_enroll_url(d->enrollment_service_url, d->activity_id, url, sizeof(url));
    if (rc != LJ_OK)
        return flow_fail_rc(f, LJ_PHASE_MDM, rc);
    {
        struct mdm_enroll_request er = {
            .url = url,
            .message_id = msgid,
            .access_token = f->tok.mdm,
            .csr_der = csr,
            .csr_len = csr_len,
            .device_id = f->j.device_id,
            .tenant_id = f->j.tenant_id,
            .os_version = f->cfg->os_version,
            .os_edition = mdm_os_edition(f, edition),
            .device_name = name,
            .manufacturer = f->id.manufacturer,
            .model = f->id.model,
            .serial = f->id.serial,
            .not_in_oobe = f->resume,
        };

        rc = mdm_message_id(msgid);
        if (rc == LJ_OK)
            rc = mdm_enroll_build(&er, &xml, &len);
        if (rc != LJ_OK)
            return flow_fail_rc(f, LJ_PHASE_MDM, rc);
        rc = mdm_post(f, er.url, xml, len, &resp);
        lj_secret_free(xml);
        if (rc != LJ_OK)
            goto out;
    }
    memset(&v, 0, sizeof(v));
    v.key.spki_der = spki;
    v.key.spki_len = spki_len;
    v.message_id = msgid;
    rc = mdm_enroll_parse(resp.body, resp.body_len, &v, &e, &why);
    if (rc != LJ_OK) {
        flow_fail_mdm_parse(f, &resp, "enrollment", why, rc);
        goto out;
    }
    f->enr = e;
    f->have_enr = true;
out:
    lj_http_response_free(&resp);
    return rc;
}

/*
 * The MDM CSR (signed by the device key, CN = the device id): started on
 * the TPM worker before discovery, so the signature is made while the
 * discovery and policy requests are on the network, and collected just
 * before the RST needs it (bg); signed right away (not bg) when another
 * background CSR is still pending.
 */
struct mdm_csr {
    bool bg;
    unsigned char *der;
    size_t len;
};

static void
mdm_csr_start(struct flow *f, struct mdm_csr *c)
{
    memset(c, 0, sizeof(*c));
    c->bg = !tpm_csr_pending(f->tpm) && tpm_csr_start(f->tpm, f->j.device_id) == LJ_OK;
}

/* The CSR in c->der (collected or signed now); a failure is recorded. */
static enum lj_rc
mdm_csr_collect(struct flow *f, struct mdm_csr *c)
{
    enum lj_rc rc;

    if (c->der != NULL)
        return LJ_OK;
    if (c->bg) {
        c->bg = false;
        rc = tpm_csr_wait(f->tpm, &c->der, &c->len, NULL);
    } else {
        rc = tpm_csr(f->tpm, f->j.device_id, &c->der, &c->len, NULL);
    }
    if (rc != LJ_OK)
        return flow_fail_rc(f, LJ_PHASE_MDM, rc);
    return LJ_OK;
}

/* Collect an uncollected background CSR (a failure before the RST) and free c. */
static void
mdm_csr_free(struct flow *f, struct mdm_csr *c)
{
    if (c->bg)
        (void)tpm_csr_wait(f->tpm, NULL, NULL, NULL);
    free(c->der);
    memset(c, 0, sizeof(*c));
}

/* One enrollment sequence: Discover, GetPolicies (when discovery names it), RST. */
static enum lj_rc
mdm_attempt(struct flow *f, struct mdm_csr *c, const unsigned char *spki, size_t spki_len)
{
    struct mdm_discovery d;
    enum lj_rc rc;

    rc = mdm_discover_step(f, &d);
    if (rc == LJ_OK && d.enrollment_policy_service_url[0] != '\0')
        rc = mdm_policy_step(f, &d);
    if (rc == LJ_OK)
        rc = mdm_csr_collect(f, c);
    if (rc == LJ_OK)
        rc = mdm_rst_step(f, &d, c->der, c->len, spki, spki_len);
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
        return flow_fail_rc(f, LJ_PHASE_MDM, rc);
    flow_copy(f->j.mdm_server_url, sizeof(f->j.mdm_server_url), f->enr.mgmt_url);
    flow_copy(f->j.mdm_cert_thumbprint, sizeof(f->j.mdm_cert_thumbprint), f->enr.client.thumbprint);
    mdm_cn(f->enr.client.subject, f->j.mdm_enrollment_id, sizeof(f->j.mdm_enrollment_id));
    lj_journal_set_state(&f->j, LJ_JS_MDM_ENROLLED);
    lj_journal_clear_error(&f->j);
    rc = flow_journal_save(f, LJ_PHASE_MDM);
    if (rc != LJ_OK)
        return rc;
    lj_log(LJ_LOG_INFO, MOD, "event=mdm_enrolled enrollment_id=%s server=%s thumbprint=%s",
           f->j.mdm_enrollment_id, f->j.mdm_server_url, f->j.mdm_cert_thumbprint);
    return LJ_OK;
}

/* Enrollment sequences with the retry bound of flow.h, then store. */
static enum lj_rc
mdm_enroll(struct flow *f)
{
    struct mdm_csr c;
    unsigned char *spki = NULL;
    size_t spki_len = 0;
    long waited = 0;
    enum lj_rc rc;

    mdm_csr_start(f, &c);
    rc = tpm_device_spki(f->tpm, &spki, &spki_len);
    if (rc != LJ_OK) {
        flow_fail_rc(f, LJ_PHASE_MDM, rc);
        goto out;
    }
    for (int attempt = 1;; attempt++) {
        long w;

        f->mdm_retry_after = -1;
        f->j.mdm_attempts++;
        rc = mdm_attempt(f, &c, spki, spki_len);
        if (rc == LJ_OK || f->fail.reason != LJ_R_JOINED_MDM_PENDING || flow_stopping(f))
            break;
        w = flow_retry_wait(attempt, f->mdm_retry_after, waited, LJ_FLOW_MDM_MAX_ATTEMPTS,
                            LJ_FLOW_MDM_RETRY_BUDGET_S);
        if (w < 0)
            break;
        lj_log(LJ_LOG_INFO, MOD, "event=mdm_retry wait_s=%ld attempt=%d", w, attempt);
        lj_ui_progress(f->ui, "step.mdm.busy", 90);
        lj_ui_notice(f->ui, "mdm_busy", w, NULL, 0);
        waited += w;
        rc = flow_ui_wait(f, w * 1000, false, LJ_UI_MSG_CANCEL, NULL);
        if (rc != LJ_ERR_TIMEOUT) {
            rc = LJ_ERR_CANCELLED; /* the pending record of the last attempt stays */
            break;
        }
        flow_fail_clear(f);
    }
    if (rc == LJ_OK)
        rc = mdm_store(f);
out:
    mdm_csr_free(f, &c);
    free(spki);
    return rc;
}

/*
 * The token step of a resumed enrollment: the sealed refresh token, else
 * (interactive only) a new sign-in; then the Intune token.
 */
static enum lj_rc
mdm_resume_token(struct flow *f)
{
    enum lj_rc rc;

    /* A kept PRT needs no sign-in; one the service no longer takes is dropped. */
    if (flow_prt_load(f) == LJ_OK) {
        rc = mdm_token_get(f);
        if (rc == LJ_OK ||
            (f->fail.reason != LJ_R_SIGNIN_SESSION_EXPIRED && f->fail.reason != LJ_R_PRT_REFUSED))
            return rc;
        lj_log(LJ_LOG_INFO, MOD, "event=prt_kept_refused reason=%s then=kept_signin",
               f->fail.err.reason);
        flow_prt_forget(f);
        lj_secret_free(f->tok.prt);
        f->tok.prt = NULL;
        flow_fail_clear(f);
    }
    if (flow_tokens_unseal(f)) {
        rc = mdm_token_get(f);
        if (rc == LJ_OK || f->fail.reason != LJ_R_SIGNIN_SESSION_EXPIRED)
            return rc;
        lj_log(LJ_LOG_INFO, MOD, "event=mdm_kept_signin_expired");
    } else {
        flow_fail_set(f, LJ_PHASE_MDM, LJ_R_SIGNIN_SESSION_EXPIRED, "", LJ_ERR_NOT_FOUND);
    }
    flow_tokens_forget_sealed(f); /* the kept sign-in is useless now */
    if (!f->interactive)
        return LJ_ERR_AUTH;
    flow_fail_clear(f);
    lj_ui_progress(f->ui, "step.signin.again_for_mdm", 10);
    rc = flow_signin(f);
    if (rc == LJ_OK)
        rc = mdm_token_get(f);
    return rc;
}

/* Right after the join: PRT, Intune token, enrollment (records its failure). */
enum lj_rc
flow_enroll_fresh(struct flow *f)
{
    enum lj_rc rc;

    /* a dozen TPM calls in a row follow: one storage parent for all of them */
    tpm_parent_hold(f->tpm, true);
    rc = mdm_token_get(f);

    if (rc == LJ_OK)
        rc = mdm_enroll(f);
    return rc;
}

/*
 * On a device joined before this run: the kept sign-in (or, interactive, a
 * new one), the Intune token, enrollment (records its failure).
 */
enum lj_rc
flow_enroll_resume(struct flow *f)
{
    enum lj_rc rc;

    tpm_parent_hold(f->tpm, true);
    rc = mdm_resume_token(f);

    if (rc == LJ_OK)
        rc = mdm_enroll(f);
    return rc;
}

/*
 * After the join (or on resume): decide, journal and report the Intune
 * outcome of rc (see the design note in flow.c).  Returns the exit code.
 */
int
flow_enroll_outcome(struct flow *f, enum lj_rc rc)
{
    const struct lj_reason_info *info;
    struct lj_error_params p;
    struct lj_ui_result r;
    char msg[512], action[1024], msg_id[80], action_id[80];
    bool refused;
    int ex;

    memset(&r, 0, sizeof(r));
    r.device_id = f->j.device_id;
    r.tenant_name = f->j.tenant_name;
    r.upn = f->j.upn;
    if (rc == LJ_OK) {
        flow_tokens_forget_sealed(f);
        lj_ui_progress(f->ui, "step.done.enrolled", 100);
        r.status = LJ_UI_JOINED;
        r.setup_complete = true;
        r.mdm_state = "enrolled";
        r.mdm_server_url = f->j.mdm_server_url;
        r.mdm_cert_thumbprint = f->j.mdm_cert_thumbprint;
        lj_ui_result(f->ui, &r);
        return LJ_EXIT_OK;
    }
    if (!f->fail.failed)
        flow_fail_rc(f, LJ_PHASE_MDM, rc);
    info = lj_reason_get(f->fail.reason);
    refused =
        f->fail.reason == LJ_R_MDM_NOT_IN_SCOPE || f->fail.reason == LJ_R_MDM_PLATFORM_BLOCKED ||
        f->fail.reason == LJ_R_MDM_OWNERSHIP_BLOCKED || f->fail.reason == LJ_R_MDM_DEVICE_CAP ||
        f->fail.reason == LJ_R_MDM_LICENSE_MISSING || f->fail.reason == LJ_R_MDM_REJECTED ||
        f->fail.reason == LJ_R_MDM_BAD_SERVICE_RESPONSE ||
        f->fail.reason == LJ_R_DEVICE_NOT_FOUND || f->fail.reason == LJ_R_PRT_REFUSED;
    /*
     * A disabled device (device_disabled) is not refused for good: an admin
     * enables it and the retry timer finishes the enrollment with the kept
     * sign-in, so it stays pending (with its own exit code).
     */
    if (f->fail.reason == LJ_R_DEVICE_NOT_FOUND)
        flow_prt_forget(f); /* the device object is gone: its PRT with it */
    if (refused || f->fail.reason == LJ_R_SIGNIN_SESSION_EXPIRED) {
        flow_tokens_forget_sealed(f); /* nothing a later retry with it can change */
    } else if (f->tok.refresh != NULL && f->tpm != NULL) {
        flow_tokens_seal(f);
    }
    lj_journal_set_state(&f->j, refused ? LJ_JS_JOINED : LJ_JS_MDM_PENDING);
    lj_journal_set_error(&f->j, &f->fail.err);
    /* the failure is recorded already: flow_journal_save records nothing more */
    if (flow_journal_save(f, LJ_PHASE_MDM) != LJ_OK)
        lj_log(LJ_LOG_ERROR, MOD, "event=journal_mdm_record_lost");
    memset(&p, 0, sizeof(p));
    p.host = f->fail.host[0] != '\0' ? f->fail.host : NULL;
    p.what = f->fail.what[0] != '\0' ? f->fail.what : NULL;
    p.domain = f->domain[0] != '\0' ? f->domain : NULL;
    p.manufacturer = f->id.manufacturer;
    p.model = f->id.model;
    p.serial = f->id.serial;
    p.upn = f->j.upn[0] != '\0' ? f->j.upn : (f->have_claims ? f->claims.upn : NULL);
    p.proxy = f->fail.proxy[0] != '\0' ? f->fail.proxy : NULL;
    lj_error_format(info->message, &p, msg, sizeof(msg));
    lj_error_format(info->admin_action, &p, action, sizeof(action));
    r.status = refused ? LJ_UI_JOINED : LJ_UI_JOINED_MDM_PENDING;
    r.mdm_state = refused ? "failed" : "pending";
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
    /*
     * mdm = required (the default): Intune is part of setup, so a refusal
     * leaves it incomplete (the reason's exit code, the bar short of 100);
     * optional: the joined device is done (exit 0).  Pending is never done.
     */
    r.setup_complete = refused && f->cfg->mdm == LJ_MDM_OPTIONAL;
    lj_ui_progress(f->ui, refused ? "step.done.mdm_refused" : "step.done.mdm_pending",
                   r.setup_complete ? 100 : 95);
    lj_ui_result(f->ui, &r);
    ex = r.setup_complete ? LJ_EXIT_OK : info->exit_code;
    lj_log(LJ_LOG_INFO, MOD, "event=mdm_outcome state=%s reason=%s exit=%d",
           lj_journal_state_name(f->j.state), f->fail.err.reason, ex);
    return ex;
}

/* Does a joined device still owe an Intune enrollment that `run` should finish? */
bool
flow_enroll_owed(const struct lj_journal *j)
{
    return j->state == LJ_JS_MDM_PENDING ||
           (j->state == LJ_JS_JOINED && j->has_error && strcmp(j->last_error.phase, "mdm") == 0);
}
