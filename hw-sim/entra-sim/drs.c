/*
 * drs.c — the enterpriseregistration.windows.net side of entra-sim:
 * discovery, device join and device delete.
 *
 * Join checks, in order: api-version; bearer token (RS256 signature by the
 * simulator's key, audience = DRS resource or app id, tenant, expiry) —
 * 401 AuthenticationError "Invalid JWT token."; Content-Type; JSON member
 * names and types (case-sensitive, unknown members refused); the PKCS#10
 * request (DER, CN, RSA 2048..4096, sha256WithRSA, signature); the RSA1
 * transport-key blob; attribute lengths (<= 512); then the user and the
 * tenant's device settings (users may join, MFA, quota).  A successful
 * join stores a device object and returns a certificate issued by the
 * MS-Organization-Access CA for the CSR's public key with CN = device id.
 *
 * Error types the simulator chooses where the real ones are not public
 * (see README): not permitted → 400 AuthorizationError; quota → 400
 * DeviceRegistrationQuotaExceeded; MFA missing → 400 AuthorizationError
 * with a multi-factor message; unknown tenant in discovery → 404
 * DirectoryError.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hw-sim/entra-sim/jwt.h"
#include "hw-sim/entra-sim/oauth.h"
#include "hw-sim/entra-sim/pki.h"
#include "hw-sim/entra-sim/server.h"
#include "hw-sim/entra-sim/tenant.h"
#include "hw-sim/entra-sim/util.h"
#include "platform/common/b64.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"

#define MOD "drs"
#define DRS_HOST "https://enterpriseregistration.windows.net"
#define ATTR_MAX 512
#define CSR_B64_MAX (16 * 1024)
#define TKEY_B64_MAX (4 * 1024)

/* Well-known role template ids the join answer puts in MembershipChanges. */
#define ROLE_GLOBAL_ADMIN "62e90394-69f5-4237-9190-012177145e10"
#define ROLE_DEVICE_ADMIN "9f06204d-73c1-4d4c-880a-6edb90606fd8"

static const char *const not_permitted_fmt =
    "Administrator policy does not allow user %s to device join";

static cJSON *
svc(cJSON *o, const char *name)
{
    return cJSON_AddObjectToObject(o, name);
}

static void
svc3(cJSON *o, const char *name, const char *ep_key, const char *ep, const char *rid_key,
     const char *version)
{
    cJSON *s = svc(o, name);

    if (s == NULL)
        return;
    cJSON_AddStringToObject(s, ep_key, ep);
    cJSON_AddStringToObject(s, rid_key, "urn:ms-drs:enterpriseregistration.windows.net");
    cJSON_AddStringToObject(s, "ServiceVersion", version);
}

static bool check_bearer(struct sim_req *r, struct jwt_info *ji, enum MHD_Result *res);

static enum MHD_Result
discover(struct sim_req *r, const char *domain)
{
    const char *ver = srv_query(r, "api-version");
    char tid[40], tname[256], dname[256], v[320];
    bool found;
    cJSON *o, *s, *oa;

    if (strcmp(r->method, "GET") != 0)
        return srv_drs_error(r, 405, "InvalidParameter", NULL,
                             "The HTTP method %s is not supported.", r->method);
    /*
     * Only the two versions public clients are seen to use: 1.7 anonymous
     * (Azure-Samples/DSRegTool DSRegTool.ps1) and 1.9 with managed=True and
     * a DRS bearer (himmelblau-idm/libhimmelblau src/discovery.rs).  What
     * DRS answers to another version, or to 1.9 without a token, is not
     * public: the simulator refuses both (README, "Strict where unknown").
     */
    if (ver == NULL || !(strcmp(ver, "1.7") == 0 || strcmp(ver, "1.9") == 0))
        return srv_drs_error(r, 400, "InvalidParameter", NULL,
                             "The api-version '%.32s' is not supported.", ver != NULL ? ver : "");
    if (strcmp(ver, "1.9") == 0) {
        const char *managed = srv_query(r, "managed");
        struct jwt_info ji;
        enum MHD_Result res;

        if (managed == NULL || strcasecmp(managed, "true") != 0)
            return srv_drs_error(r, 400, "InvalidParameter", NULL,
                                 "The api-version '1.9' requires managed=True.");
        if (!check_bearer(r, &ji, &res))
            return res;
    }
    pthread_mutex_lock(&g_sim.lock);
    found = tenant_has_domain(g_sim.t, domain) || sim_streq_ci(domain, g_sim.t->id);
    snprintf(tid, sizeof(tid), "%s", g_sim.t->id);
    snprintf(tname, sizeof(tname), "%s", g_sim.t->domains[0]);
    snprintf(dname, sizeof(dname), "%s", g_sim.t->name);
    pthread_mutex_unlock(&g_sim.lock);
    if (!found)
        return srv_drs_error(r, 404, "DirectoryError", NULL,
                             "AADSTS90002: Tenant '%.100s' not found. Check to make sure you "
                             "have the correct tenant ID and are signing into the correct "
                             "cloud.",
                             domain);
    o = cJSON_CreateObject();
    if (o == NULL)
        return MHD_NO;
    svc3(o, "DeviceRegistrationService", "RegistrationEndpoint",
         DRS_HOST "/EnrollmentServer/DeviceEnrollmentWebService.svc", "RegistrationResourceId",
         "1.0");
    s = svc(o, "AuthenticationService");
    oa = s != NULL ? cJSON_AddObjectToObject(s, "OAuth2") : NULL;
    if (oa != NULL) {
        snprintf(v, sizeof(v), "https://login.microsoftonline.com/%s/oauth2/authorize", tid);
        cJSON_AddStringToObject(oa, "AuthCodeEndpoint", v);
        snprintf(v, sizeof(v), "https://login.microsoftonline.com/%s/oauth2/token", tid);
        cJSON_AddStringToObject(oa, "TokenEndpoint", v);
    }
    s = svc(o, "IdentityProviderService");
    if (s != NULL) {
        cJSON_AddBoolToObject(s, "Federated", 0);
        snprintf(v, sizeof(v), "https://login.microsoftonline.com/%s/wsfed", tid);
        cJSON_AddStringToObject(s, "PassiveAuthEndpoint", v);
    }
    svc3(o, "DeviceJoinService", "JoinEndpoint", DRS_HOST "/EnrollmentServer/device/",
         "JoinResourceId", "2.0");
    svc3(o, "KeyProvisioningService", "KeyProvisionEndpoint", DRS_HOST "/EnrollmentServer/key/",
         "KeyProvisionResourceId", "1.0");
    snprintf(v, sizeof(v), DRS_HOST "/webauthn/%s/", tid);
    svc3(o, "WebAuthNService", "WebAuthNEndpoint", v, "WebAuthNResourceId", "1.0");
    snprintf(v, sizeof(v), DRS_HOST "/manage/%s/", tid);
    svc3(o, "DeviceManagementService", "DeviceManagementEndpoint", v, "DeviceManagementResourceId",
         "1.0");
    s = svc(o, "MsaProviderData");
    if (s != NULL) {
        cJSON_AddStringToObject(s, "SiteId", "");
        cJSON_AddStringToObject(s, "SiteUrl", "");
    }
    svc3(o, "PrecreateService", "PrecreateEndpoint", DRS_HOST "/EnrollmentServer/device/precreate/",
         "PrecreateResourceId", "1.0");
    s = svc(o, "TenantInfo");
    if (s != NULL) {
        cJSON_AddStringToObject(s, "TenantId", tid);
        cJSON_AddStringToObject(s, "TenantName", tname);
        cJSON_AddStringToObject(s, "DisplayName", dname);
    }
    s = svc(o, "AzureRbacService");
    if (s != NULL)
        cJSON_AddStringToObject(s, "RbacPolicyEndpoint", "https://pas.windows.net");
    svc3(o, "DeviceJoinResourceService", "Endpoint", DRS_HOST "/EnrollmentServer/device/resource/",
         "ResourceId", "1.0");
    snprintf(v, sizeof(v), DRS_HOST "/EnrollmentServer/nonce/%s/", tid);
    svc3(o, "NonceService", "Endpoint", v, "ResourceId", "1.0");
    return srv_reply_json(r, 200, o, NULL);
}

static bool
api_version_ok(struct sim_req *r)
{
    const char *v = srv_query(r, "api-version");

    return v != NULL && (strcmp(v, "1.0") == 0 || strcmp(v, "2.0") == 0);
}

/* Verify the bearer token; on failure the 401 answer is already queued. */
static bool
check_bearer(struct sim_req *r, struct jwt_info *ji, enum MHD_Result *res)
{
    static const char *const auds[] = {OAUTH_DRS_RESOURCE, OAUTH_DRS_APPID, NULL};
    static const char *const hdrs[] = {"WWW-Authenticate", "Bearer", NULL};
    const char *auth = srv_header(r, "Authorization");
    char why[160] = "no Authorization header";
    char tid[40];
    size_t spki_len;
    const unsigned char *spki = pki_key_spki(g_sim.token_key, &spki_len);

    pthread_mutex_lock(&g_sim.lock);
    snprintf(tid, sizeof(tid), "%s", g_sim.t->id);
    pthread_mutex_unlock(&g_sim.lock);
    if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0 &&
        jwt_verify(spki, spki_len, g_sim.token_kid, auth + 7, auds, tid, ji, why, sizeof(why)))
        return true;
    if (auth != NULL && strncasecmp(auth, "Bearer ", 7) != 0)
        snprintf(why, sizeof(why), "Authorization is not a Bearer token");
    lj_log(LJ_LOG_INFO, MOD, "event=token_rejected request_id=%s reason=\"%s\"", r->request_id,
           why);
    *res = srv_drs_error(r, 401, "AuthenticationError", hdrs, "Invalid JWT token.");
    return false;
}

static const char *
req_string(const cJSON *o, const char *name, const char **err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    if (v == NULL) {
        *err = "is required";
        return NULL;
    }
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        *err = "must be a non-empty string";
        return NULL;
    }
    return v->valuestring;
}

struct join_req {
    const char *display_name, *device_type, *os_version, *target_domain;
    int join_type;
    bool reuse, return_sid;
    unsigned char *csr, *tkey;
    size_t csr_len, tkey_len;
    struct der spki;
};

static void
join_req_free(struct join_req *j)
{
    free(j->csr);
    free(j->tkey);
}

/* Validate the JSON body; on failure the 400 answer is queued. */
static bool
parse_join(struct sim_req *r, const cJSON *o, struct join_req *j, enum MHD_Result *res)
{
    static const char *const members[] = {"CertificateRequest",
                                          "TransportKey",
                                          "TargetDomain",
                                          "DeviceType",
                                          "OSVersion",
                                          "DeviceDisplayName",
                                          "JoinType",
                                          "Attributes",
                                          "AikCertificate",
                                          "AttestationData",
                                          NULL};
    static const char *const names[] = {"TargetDomain", "DeviceType", "OSVersion",
                                        "DeviceDisplayName"};
    const char **slots[] = {&j->target_domain, &j->device_type, &j->os_version, &j->display_name};
    const cJSON *m, *cr, *v, *attrs;
    const char *err = NULL, *s;
    char why[200];
    bool domain_ok;

    cJSON_ArrayForEach(m, o)
    {
        bool known = false;
        for (size_t i = 0; members[i] != NULL; i++)
            known = known || strcmp(m->string, members[i]) == 0;
        if (!known) {
            *res = srv_drs_error(r, 400, "InvalidParameter", NULL,
                                 "The request contains an unknown member '%.64s'.", m->string);
            return false;
        }
    }
    cr = cJSON_GetObjectItemCaseSensitive(o, "CertificateRequest");
    if (!cJSON_IsObject(cr)) {
        *res = srv_drs_error(r, 400, "InvalidParameter", NULL,
                             "CertificateRequest is required and must be an object.");
        return false;
    }
    cJSON_ArrayForEach(m, cr)
    {
        if (strcmp(m->string, "Type") != 0 && strcmp(m->string, "Data") != 0) {
            *res =
                srv_drs_error(r, 400, "InvalidParameter", NULL,
                              "CertificateRequest contains an unknown member '%.64s'.", m->string);
            return false;
        }
    }
    s = req_string(cr, "Type", &err);
    if (s == NULL || strcmp(s, "pkcs10") != 0) {
        *res = srv_drs_error(r, 400, "InvalidParameter", NULL,
                             "CertificateRequest.Type must be \"pkcs10\".");
        return false;
    }
    s = req_string(cr, "Data", &err);
    if (s == NULL || strlen(s) > CSR_B64_MAX ||
        !lj_b64_decode(s, strlen(s), LJ_B64_STD, &j->csr, &j->csr_len)) {
        *res = srv_drs_error(r, 400, "InvalidParameter", NULL,
                             "CertificateRequest.Data must be base64 of a DER PKCS#10 "
                             "request.");
        return false;
    }
    s = req_string(o, "TransportKey", &err);
    if (s == NULL || strlen(s) > TKEY_B64_MAX ||
        !lj_b64_decode(s, strlen(s), LJ_B64_STD, &j->tkey, &j->tkey_len)) {
        *res = srv_drs_error(r, 400, "InvalidParameter", NULL,
                             "TransportKey must be base64 of a BCRYPT_RSAPUBLIC_BLOB.");
        return false;
    }
    for (size_t i = 0; i < 4; i++) {
        *slots[i] = req_string(o, names[i], &err);
        if (*slots[i] == NULL) {
            *res = srv_drs_error(r, 400, "InvalidParameter", NULL, "%s %s.", names[i], err);
            return false;
        }
        if (strlen(*slots[i]) > ATTR_MAX) {
            *res = srv_drs_error(r, 400, "InvalidParameter", NULL, "%s exceeds length limits (%d).",
                                 names[i], ATTR_MAX);
            return false;
        }
    }
    /* Windows sends its version as a dotted quad (AADInternals, ROADtools and
     * pytune all do); the device object's OS version is read as one. */
    if (!sim_dotted_quad(j->os_version)) {
        *res = srv_drs_error(r, 400, "InvalidParameter", NULL,
                             "OSVersion '%.64s' is not a valid version "
                             "(major.minor.build.revision).",
                             j->os_version);
        return false;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "JoinType");
    /* In int range before the cast (undefined otherwise; the same bug simfuzz_tenant found). */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= -1e9 && v->valuedouble <= 1e9) ||
        v->valuedouble != (double)(int)v->valuedouble) {
        *res = srv_drs_error(r, 400, "InvalidParameter", NULL,
                             "JoinType is required and must be an integer.");
        return false;
    }
    j->join_type = (int)v->valuedouble;
    if (j->join_type != 0 && j->join_type != 4) {
        *res = srv_drs_error(r, 400, "InvalidParameter", NULL,
                             "JoinType %d is not supported by this endpoint.", j->join_type);
        return false;
    }
    for (const char *const *k = (const char *const[]){"AikCertificate", "AttestationData", NULL};
         *k != NULL; k++) {
        v = cJSON_GetObjectItemCaseSensitive(o, *k);
        if (v != NULL && !cJSON_IsString(v)) {
            *res = srv_drs_error(r, 400, "InvalidParameter", NULL, "%s must be a string.", *k);
            return false;
        }
    }
    attrs = cJSON_GetObjectItemCaseSensitive(o, "Attributes");
    if (attrs != NULL) {
        size_t n = 0;
        if (!cJSON_IsObject(attrs))
            goto bad_attr;
        cJSON_ArrayForEach(m, attrs)
        {
            if (++n > 32 || m->string[0] == '\0' || strlen(m->string) > ATTR_MAX ||
                !cJSON_IsString(m) || strlen(m->valuestring) > ATTR_MAX)
                goto bad_attr;
            if (strcmp(m->string, "ReuseDevice") == 0)
                j->reuse = sim_streq_ci(m->valuestring, "true");
            if (strcmp(m->string, "ReturnClientSid") == 0)
                j->return_sid = sim_streq_ci(m->valuestring, "true");
        }
    }
    pthread_mutex_lock(&g_sim.lock);
    domain_ok = tenant_has_domain(g_sim.t, j->target_domain) ||
                sim_streq_ci(j->target_domain, g_sim.t->id) ||
                sim_streq_ci(j->target_domain, "enterpriseregistration.windows.net");
    pthread_mutex_unlock(&g_sim.lock);
    if (!domain_ok) {
        *res = srv_drs_error(r, 400, "InvalidParameter", NULL,
                             "TargetDomain '%.100s' is not a domain of this tenant.",
                             j->target_domain);
        return false;
    }
    if (!pki_csr_check(j->csr, j->csr_len, PKI_JOIN_CSR_CN, &j->spki, why, sizeof(why))) {
        *res = srv_drs_error(r, 400, "InvalidParameter", NULL,
                             "The certificate request is invalid: %s.", why);
        return false;
    }
    if (!pki_rsa1_check(j->tkey, j->tkey_len, why, sizeof(why))) {
        *res = srv_drs_error(r, 400, "InvalidParameter", NULL, "The transport key is invalid: %s.",
                             why);
        return false;
    }
    return true;
bad_attr:
    *res = srv_drs_error(r, 400, "InvalidParameter", NULL,
                         "An Attribute key or value specified is invalid or exceeds length "
                         "limits (512).");
    return false;
}

static struct pki_key *
wrong_key(void)
{
    /* Made at start-up by main.c; shared read-only. */
    return g_sim.wrong_key;
}

static enum MHD_Result
join_answer(struct sim_req *r, const unsigned char *cert, size_t cert_len, const char *upn,
            bool return_sid)
{
    char thumb[41], sid1[96], sid2[96];
    char *raw = lj_b64_encode(cert, cert_len, LJ_B64_STD, NULL);
    cJSON *o = cJSON_CreateObject(), *c, *u, *mc, *e, *add;

    if (raw == NULL || o == NULL) {
        free(raw);
        cJSON_Delete(o);
        return MHD_NO;
    }
    pki_thumbprint(cert, cert_len, thumb);
    c = cJSON_AddObjectToObject(o, "Certificate");
    if (c != NULL) {
        cJSON_AddStringToObject(c, "Thumbprint", thumb);
        cJSON_AddStringToObject(c, "RawBody", raw);
    }
    u = cJSON_AddObjectToObject(o, "User");
    if (u != NULL)
        cJSON_AddStringToObject(u, "Upn", upn);
    mc = cJSON_AddArrayToObject(o, "MembershipChanges");
    if (mc != NULL && return_sid) {
        e = cJSON_CreateObject();
        if (e != NULL) {
            cJSON_AddStringToObject(e, "LocalSID", "S-1-5-32-544");
            add = cJSON_AddArrayToObject(e, "AddSIDs");
            sim_guid_sid(ROLE_GLOBAL_ADMIN, sid1, sizeof(sid1));
            sim_guid_sid(ROLE_DEVICE_ADMIN, sid2, sizeof(sid2));
            if (add != NULL) {
                cJSON_AddItemToArray(add, cJSON_CreateString(sid1));
                cJSON_AddItemToArray(add, cJSON_CreateString(sid2));
            }
            cJSON_AddItemToArray(mc, e);
        }
    }
    free(raw);
    return srv_reply_json(r, 200, o, NULL);
}

static enum MHD_Result
join(struct sim_req *r)
{
    struct jwt_info ji;
    struct join_req j;
    enum MHD_Result res = MHD_NO;
    cJSON *body = NULL;
    const char *ct;
    unsigned char hash[32];
    struct sim_user *u;
    struct sim_device *d = NULL, *existing;
    unsigned char *cert = NULL;
    size_t cert_len = 0;
    char dev_id[37], upn[256], oid[37], tid[40], region[8];
    int jt;
    bool reused = false;
    enum { OK, E_USER, E_DISABLED, E_POLICY, E_MFA, E_QUOTA, E_FULL } verdict = OK;
    unsigned long max = 0;
    const unsigned char *spki;
    size_t spki_len;

    memset(&j, 0, sizeof(j));
    if (!api_version_ok(r))
        return srv_drs_error(
            r, 400, "InvalidParameter", NULL, "The api-version '%.32s' is not supported.",
            srv_query(r, "api-version") != NULL ? srv_query(r, "api-version") : "");
    if (!check_bearer(r, &ji, &res))
        return res;
    ct = srv_header(r, "Content-Type");
    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
        (ct[16] != '\0' && ct[16] != ';'))
        return srv_drs_error(r, 400, "InvalidParameter", NULL,
                             "The Content-Type must be application/json.");
    body = srv_body_json(r);
    if (!cJSON_IsObject(body)) {
        res = srv_drs_error(r, 400, "InvalidParameter", NULL,
                            "The request body is not a valid JSON object.");
        goto out;
    }
    if (!parse_join(r, body, &j, &res))
        goto out;
    pki_sha256(j.spki.p, j.spki.n, hash);

    pthread_mutex_lock(&g_sim.lock);
    u = tenant_user_by_oid(g_sim.t, ji.oid);
    snprintf(upn, sizeof(upn), "%s", ji.upn);
    if (u == NULL) {
        verdict = E_USER;
    } else if (!u->enabled) {
        verdict = E_DISABLED;
    } else {
        const struct sim_tenant *t = g_sim.t;
        bool allowed = t->join == SIM_JOIN_ALL;
        snprintf(upn, sizeof(upn), "%s", u->upn);
        for (size_t i = 0; t->join == SIM_JOIN_SELECTED && i < t->njoin_groups; i++)
            allowed = allowed || tenant_user_in_group(u, t->join_groups[i]);
        max = t->max_devices;
        if (!allowed)
            verdict = E_POLICY;
        else if ((t->require_mfa_to_join || t->ca_join == SIM_CA_REQUIRE_MFA) && !ji.mfa)
            verdict = E_MFA;
        else if (j.reuse && (existing = state_device_by_key(u->oid, hash)) != NULL) {
            reused = true;
            snprintf(existing->display_name, sizeof(existing->display_name), "%s", j.display_name);
            snprintf(existing->os_version, sizeof(existing->os_version), "%s", j.os_version);
            cert = malloc(existing->cert_len);
            if (cert != NULL) {
                memcpy(cert, existing->cert, existing->cert_len);
                cert_len = existing->cert_len;
            }
            snprintf(dev_id, sizeof(dev_id), "%s", existing->id);
            if (existing->tkey == NULL) {
                existing->tkey = j.tkey;
                existing->tkey_len = j.tkey_len;
                j.tkey = NULL;
            }
        } else if (max != 0 && u->devices >= max) {
            verdict = E_QUOTA;
        } else if ((d = calloc(1, sizeof(*d))) == NULL || !state_add_device(d)) {
            free(d);
            d = NULL;
            verdict = E_FULL;
        } else {
            sim_guid_new(d->id);
            snprintf(d->owner_oid, sizeof(d->owner_oid), "%s", u->oid);
            snprintf(d->upn, sizeof(d->upn), "%s", u->upn);
            snprintf(d->display_name, sizeof(d->display_name), "%s", j.display_name);
            snprintf(d->device_type, sizeof(d->device_type), "%s", j.device_type);
            snprintf(d->os_version, sizeof(d->os_version), "%s", j.os_version);
            d->join_type = j.join_type;
            memcpy(d->key_hash, hash, sizeof(hash));
            d->created = time(NULL);
            /* Kept for the PRT's session_key_jwe ([MS-OAPXBC] 3.2.5.1.2: the session key
             * is encrypted to the transport key the device registered). */
            d->tkey = j.tkey;
            d->tkey_len = j.tkey_len;
            j.tkey = NULL;
            d->auth_pending = (unsigned long)t->prt.not_ready_joined;
            u->devices++;
            snprintf(dev_id, sizeof(dev_id), "%s", d->id);
        }
        snprintf(oid, sizeof(oid), "%s", u->oid);
    }
    snprintf(tid, sizeof(tid), "%s", g_sim.t->id);
    snprintf(region, sizeof(region), "%s", g_sim.t->region);
    jt = j.join_type;
    pthread_mutex_unlock(&g_sim.lock);

    switch (verdict) {
    case E_USER:
        res = srv_drs_error(r, 400, "DirectoryError", NULL,
                            "The user object by the given id (%s) is not found.", ji.oid);
        goto out;
    case E_DISABLED:
        res = srv_drs_error(r, 401, "AuthenticationError", NULL, "The user account is disabled.");
        goto out;
    case E_POLICY:
        lj_log(LJ_LOG_INFO, MOD, "event=join_refused reason=not_permitted upn=%s", upn);
        res = srv_drs_error(r, 400, "AuthorizationError", NULL, not_permitted_fmt, upn);
        goto out;
    case E_MFA:
        res = srv_drs_error(r, 400, "AuthorizationError", NULL,
                            "Administrator policy requires multi-factor authentication for "
                            "user %s to device join. The token was obtained without "
                            "multi-factor authentication.",
                            upn);
        goto out;
    case E_QUOTA:
        lj_log(LJ_LOG_INFO, MOD, "event=join_refused reason=quota upn=%s max=%lu", upn, max);
        res = srv_drs_error(r, 400, "DeviceRegistrationQuotaExceeded", NULL,
                            "User %s has reached the maximum number of devices (%lu) allowed "
                            "to join or register with the directory.",
                            upn, max);
        goto out;
    case E_FULL:
        res = srv_drs_error(r, 400, "DirectoryError", NULL,
                            "The directory object quota limit has been reached.");
        goto out;
    case OK: break;
    }
    if (reused && !(r->has_fault && r->fault.kind == SIM_FAULT_WRONG_CERT)) {
        if (cert == NULL) {
            res = MHD_NO;
            goto out;
        }
        lj_log(LJ_LOG_INFO, MOD, "event=join_reused device_id=%s upn=%s", dev_id, upn);
        res = join_answer(r, cert, cert_len, upn, j.return_sid);
        goto out;
    }
    free(cert);
    cert = NULL;
    spki = j.spki.p;
    spki_len = j.spki.n;
    if (r->has_fault && r->fault.kind == SIM_FAULT_WRONG_CERT && wrong_key() != NULL)
        spki = pki_key_spki(wrong_key(), &spki_len);
    if (pki_issue_device(g_sim.drs_ca_key, g_sim.drs_ca_der, g_sim.drs_ca_len, dev_id, oid, tid, jt,
                         region, spki, spki_len, &cert, &cert_len) != LJ_OK) {
        pthread_mutex_lock(&g_sim.lock);
        if (!reused)
            state_delete_device(dev_id);
        pthread_mutex_unlock(&g_sim.lock);
        res = srv_drs_error(r, 500, "CertificateAuthorityError", NULL,
                            "The device certificate could not be issued.");
        goto out;
    }
    if (!reused) {
        pthread_mutex_lock(&g_sim.lock);
        d = state_device_by_id(dev_id);
        if (d != NULL && d->cert == NULL) {
            d->cert = malloc(cert_len);
            if (d->cert != NULL) {
                memcpy(d->cert, cert, cert_len);
                d->cert_len = cert_len;
                pki_thumbprint(cert, cert_len, d->thumbprint);
                d->ready = true;
            }
        }
        pthread_mutex_unlock(&g_sim.lock);
        lj_log(LJ_LOG_INFO, MOD, "event=joined device_id=%s upn=%s join_type=%d", dev_id, upn, jt);
    }
    res = join_answer(r, cert, cert_len, upn, j.return_sid);
out:
    free(cert);
    join_req_free(&j);
    cJSON_Delete(body);
    return res;
}

static enum MHD_Result
delete_device(struct sim_req *r, const char *id)
{
    unsigned char *der = NULL;
    size_t len = 0;
    bool trusted = false, ok = false;
    enum MHD_Result res;
    struct sim_device *d;
    enum { DEL_OK, DEL_MISSING, DEL_MISMATCH } verdict;

    if (!api_version_ok(r))
        return srv_drs_error(
            r, 400, "InvalidParameter", NULL, "The api-version '%.32s' is not supported.",
            srv_query(r, "api-version") != NULL ? srv_query(r, "api-version") : "");
    if (!srv_client_cert(r, &der, &len, &trusted))
        return srv_drs_error(r, 401, "AuthenticationError", NULL,
                             "A device certificate is required as the TLS client "
                             "certificate.");
    if (!trusted) {
        free(der);
        return srv_drs_error(r, 401, "AuthenticationError", NULL,
                             "The client certificate is not valid.");
    }
    pthread_mutex_lock(&g_sim.lock);
    d = state_device_by_id(id);
    if (d == NULL) {
        verdict = DEL_MISSING;
    } else if (d->cert == NULL || d->cert_len != len || memcmp(d->cert, der, len) != 0) {
        verdict = DEL_MISMATCH;
    } else {
        verdict = DEL_OK;
        ok = state_delete_device(id);
    }
    pthread_mutex_unlock(&g_sim.lock);
    free(der);
    switch (verdict) {
    case DEL_MISSING:
        /* The MS-DVRJ ErrorDetails shape with the text Entra documents for a
         * deleted device (entra-docs troubleshoot-hybrid-join-windows-current);
         * AADInternals' Remove-AADIntDeviceFromAzureAD prints its Message. */
        return srv_drs_error(r, 400, "DirectoryError", NULL,
                             "The device object by the given id (%.40s) is not found.", id);
    case DEL_MISMATCH:
        return srv_drs_error(r, 403, "AuthorizationError", NULL,
                             "The client certificate does not belong to device %.40s.", id);
    case DEL_OK: break;
    }
    lj_log(LJ_LOG_INFO, MOD, "event=device_deleted device_id=%s ok=%d", id, ok);
    res = srv_reply(r, 200, NULL, NULL, NULL);
    return res;
}

bool
drs_route(struct sim_req *r, enum MHD_Result *res)
{
    const char *p = r->path;
    char seg[256];
    const char *slash;

    if (strncasecmp(p, "/EnrollmentServer/device", 24) == 0) {
        const char *rest = p + 24;
        if (rest[0] == '\0' || strcmp(rest, "/") == 0) {
            if (strcmp(r->method, "POST") != 0)
                *res = srv_drs_error(r, 405, "InvalidParameter", NULL,
                                     "The HTTP method %s is not supported.", r->method);
            else
                *res = join(r);
            return true;
        }
        if (rest[0] == '/') {
            unsigned char g[16];
            snprintf(seg, sizeof(seg), "%s", rest + 1);
            if (seg[0] != '\0' && seg[strlen(seg) - 1] == '/')
                seg[strlen(seg) - 1] = '\0';
            if (!sim_guid_parse(seg, g)) {
                *res = srv_drs_error(r, 404, "InvalidParameter", NULL,
                                     "The requested resource was not found.");
                return true;
            }
            if (strcmp(r->method, "DELETE") != 0)
                *res = srv_drs_error(r, 405, "InvalidParameter", NULL,
                                     "The HTTP method %s is not supported.", r->method);
            else
                *res = delete_device(r, seg);
            return true;
        }
        return false;
    }
    /* /{domain}/Discover */
    if (p[0] != '/')
        return false;
    slash = strchr(p + 1, '/');
    if (slash == NULL || strcasecmp(slash, "/discover") != 0 ||
        (size_t)(slash - p - 1) >= sizeof(seg) || slash == p + 1)
        return false;
    memcpy(seg, p + 1, (size_t)(slash - p - 1));
    seg[slash - p - 1] = '\0';
    *res = discover(r, seg);
    return true;
}
