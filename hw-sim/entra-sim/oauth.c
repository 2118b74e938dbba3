/*
 * oauth.c — see oauth.h.
 *
 * Every request to /{tenant}/... first resolves the tenant segment (the
 * tenant id, a verified domain, "common" or "organizations"; anything else
 * is AADSTS90002).  Token requests are form posts; parameters are checked
 * in the order Entra reports them (missing parameter 900144, unknown grant
 * 70003, unknown resource 500011), then the user (50034, 50057, 50053,
 * 50126, 50055), then policy for the DRS resource (53003 conditional
 * access block; 50079/50076 when MFA is required by the device setting or
 * conditional access and the sign-in had none).
 *
 * Tokens: RS256 access tokens from jwt.c; refresh tokens and codes are
 * opaque random strings tracked in g_sim (tenant.h).  The v1 endpoints
 * answer numbers as strings ("expires_in":"3599") as Entra's v1 does.
 */
#include "hw-sim/entra-sim/oauth.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw-sim/entra-sim/pki.h"
#include "hw-sim/entra-sim/prt.h"
#include "hw-sim/entra-sim/server.h"
#include "hw-sim/entra-sim/tenant.h"
#include "hw-sim/entra-sim/util.h"
#include "platform/common/b64.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"

#define MOD "oauth"
#define AUTHCODE_LIFETIME 600

static const char *const known_resources[] = {
    OAUTH_DRS_RESOURCE,
    OAUTH_DRS_APPID,
    "https://enrollment.manage.microsoft.com/",
    "https://enrollment.manage.microsoft.com",
    "d4ebce55-015a-49b5-a083-c84d1797ae8c", /* Microsoft Intune Enrollment */
    "0000000a-0000-0000-c000-000000000000", /* Microsoft Intune */
    "00000003-0000-0000-c000-000000000000", /* Microsoft Graph */
    "https://graph.microsoft.com",
    "00000002-0000-0000-c000-000000000000", /* Azure AD Graph */
    "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", /* Azure Portal */
    NULL};

static bool
is_drs_aud(const char *aud)
{
    return strcmp(aud, OAUTH_DRS_RESOURCE) == 0 || strcmp(aud, OAUTH_DRS_APPID) == 0;
}

static bool
is_enrollment_aud(const char *aud)
{
    return strcmp(aud, "https://enrollment.manage.microsoft.com/") == 0 ||
           strcmp(aud, "https://enrollment.manage.microsoft.com") == 0 ||
           strcmp(aud, "d4ebce55-015a-49b5-a083-c84d1797ae8c") == 0;
}

/*
 * The device platform Conditional Access reads from a User-Agent (Microsoft
 * Learn, concept-conditional-access-conditions: "device platform ... is
 * identified by the user agent"); NULL for one it cannot place ("Unknown",
 * the platform of AADSTS50005 in hashicorp/terraform-provider-azuread #586).
 * Android before Linux and iOS before macOS: their UAs name both.
 */
static const char *
ua_platform(const char *ua)
{
    if (ua == NULL)
        return NULL;
    if (strstr(ua, "Android") != NULL)
        return "Android";
    if (strstr(ua, "iPhone") != NULL || strstr(ua, "iPad") != NULL)
        return "iOS";
    if (strstr(ua, "Windows NT") != NULL || strstr(ua, "Windows Phone") != NULL)
        return "Windows";
    if (strstr(ua, "Macintosh") != NULL || strstr(ua, "Mac OS X") != NULL)
        return "macOS";
    if (strstr(ua, "Linux") != NULL || strstr(ua, "X11") != NULL)
        return "Linux";
    return NULL;
}

/* What a token request or authorize request asks for. */
struct ask {
    char client_id[64];
    char aud[256];
    char scope[512];
    bool v2;
    bool want_refresh;
    bool want_id;
    bool client_info;
};

/* The fields of a user a grant needs, copied out under the lock. */
struct who {
    char oid[37];
    char upn[256];
    char name[256];
    bool mfa;
};

struct fail {
    unsigned status;
    const char *error;
    long code;
    const char *suberror;
    char msg[512];
};

static enum MHD_Result
reply_fail(struct sim_req *r, const struct fail *f)
{
    return srv_oauth_error(r, f->status, f->error, f->code, f->suberror, "%s", f->msg);
}

static void set_fail(struct fail *f, unsigned status, const char *error, long code, const char *sub,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
set_fail(struct fail *f, unsigned status, const char *error, long code, const char *sub,
         const char *fmt, ...)
{
    va_list ap;

    f->status = status;
    f->error = error;
    f->code = code;
    f->suberror = sub;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
    va_end(ap);
}

static bool
guid_like(const char *s)
{
    unsigned char g[16];
    return sim_guid_parse(s, g);
}

/*
 * Fill ask from form fields (client_id, resource|scope).  false + f set
 * when something is missing or unknown.  Lock not needed.
 */
static bool
parse_ask(const struct sim_form *form, bool v2, struct ask *a, struct fail *f)
{
    const char *cid = sim_form_get(form, "client_id");
    const char *res = sim_form_get(form, "resource");
    const char *scope = sim_form_get(form, "scope");
    const char *ci = sim_form_get(form, "client_info");

    memset(a, 0, sizeof(*a));
    a->v2 = v2;
    if (cid == NULL || cid[0] == '\0') {
        set_fail(f, 400, "invalid_request", 900144, NULL,
                 "The request body must contain the following parameter: 'client_id'.");
        return false;
    }
    if (!guid_like(cid)) {
        set_fail(f, 400, "unauthorized_client", 700016, NULL,
                 "Application with identifier '%.64s' was not found in the directory.", cid);
        return false;
    }
    snprintf(a->client_id, sizeof(a->client_id), "%s", cid);
    a->client_info = ci != NULL && strcmp(ci, "1") == 0;
    if (!v2) {
        if (res == NULL || res[0] == '\0') {
            set_fail(f, 400, "invalid_request", 900144, NULL,
                     "The request body must contain the following parameter: 'resource'.");
            return false;
        }
        if (strlen(res) >= sizeof(a->aud))
            goto unknown;
        snprintf(a->aud, sizeof(a->aud), "%s", res);
        snprintf(a->scope, sizeof(a->scope), "user_impersonation");
        a->want_refresh = true;
        a->want_id = true;
    } else {
        char copy[512];
        char *save = NULL, *tok;
        if (scope == NULL || scope[0] == '\0') {
            set_fail(f, 400, "invalid_request", 900144, NULL,
                     "The request body must contain the following parameter: 'scope'.");
            return false;
        }
        if (strlen(scope) >= sizeof(copy)) {
            set_fail(f, 400, "invalid_scope", 70011, NULL,
                     "The provided value for the input parameter 'scope' is not valid.");
            return false;
        }
        snprintf(copy, sizeof(copy), "%s", scope);
        snprintf(a->scope, sizeof(a->scope), "%s", scope);
        for (tok = strtok_r(copy, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
            char *slash;
            if (strcmp(tok, "openid") == 0) {
                a->want_id = true;
                continue;
            }
            if (strcmp(tok, "offline_access") == 0) {
                a->want_refresh = true;
                continue;
            }
            if (strcmp(tok, "profile") == 0 || strcmp(tok, "email") == 0)
                continue;
            if (a->aud[0] != '\0')
                continue;
            slash = strrchr(tok, '/');
            if (slash == NULL || slash == tok) {
                set_fail(f, 400, "invalid_scope", 70011, NULL,
                         "The provided value for the input parameter 'scope' is not valid. "
                         "The scope %.200s is not valid.",
                         tok);
                return false;
            }
            *slash = '\0';
            snprintf(a->aud, sizeof(a->aud), "%s", tok);
        }
        if (a->aud[0] == '\0')
            snprintf(a->aud, sizeof(a->aud), "00000003-0000-0000-c000-000000000000");
    }
    for (size_t i = 0; known_resources[i] != NULL; i++)
        if (strcmp(known_resources[i], a->aud) == 0)
            return true;
unknown:
    set_fail(f, 400, "invalid_resource", 500011, NULL,
             "The resource principal named %.200s was not found in the tenant. This can "
             "happen if the application has not been installed by the administrator of the "
             "tenant or consented to by any user in the tenant. You might have sent your "
             "authentication request to the wrong tenant.",
             res != NULL ? res : a->aud);
    return false;
}

/* Check a user's password and account state (lock held). */
static struct sim_user *
authenticate(const char *username, const char *password, struct fail *f)
{
    struct sim_user *u = tenant_user_by_upn(g_sim.t, username);
    size_t a, b;

    if (u == NULL) {
        set_fail(f, 400, "invalid_grant", 50034, NULL,
                 "The user account {EUII Hidden} does not exist in the %s directory. To "
                 "sign into this application, the account must be added to the directory.",
                 g_sim.t->id);
        return NULL;
    }
    if (!u->enabled) {
        set_fail(f, 400, "invalid_grant", 50057, NULL, "The user account is disabled.");
        return NULL;
    }
    if (u->locked) {
        set_fail(f, 400, "invalid_grant", 50053, NULL,
                 "Your account is locked because you've tried to sign in too many times "
                 "with an incorrect user ID or password.");
        return NULL;
    }
    a = password != NULL ? strlen(password) : 0;
    b = strlen(u->password);
    if (password == NULL || a != b || !lj_secure_equal(password, u->password, a)) {
        set_fail(f, 400, "invalid_grant", 50126, NULL,
                 "Error validating credentials due to invalid username or password.");
        return NULL;
    }
    if (u->password_expired) {
        set_fail(f, 400, "invalid_grant", 50055, "password_expired", "The password is expired.");
        return NULL;
    }
    return u;
}

bool
oauth_ca_check(const char *aud, const char *ua, long *code, char *msg, size_t msgsz)
{
    const struct sim_tenant *t = g_sim.t;

    /* Conditional Access is evaluated when a token is issued, on the client
     * that redeems the grant (Gerenios/AADInternals #39). */
    if (t->ca_block_unknown_platforms && ua_platform(ua) == NULL) {
        *code = 50005;
        snprintf(msg, msgsz,
                 "User tried to log in to a device from a platform (Unknown) that's currently "
                 "not supported through Conditional Access policy. Supported device platforms "
                 "are: iOS, Android, Mac, and Windows flavors.");
        return false;
    }
    if (is_enrollment_aud(aud)) {
        /* The device is not compliant (nor hybrid joined) before Intune has
         * enrolled it, and no app of a device's setup is an approved client app. */
        switch (t->ca_enrollment) {
        case SIM_CAG_COMPLIANT:
            *code = 53000;
            snprintf(msg, msgsz,
                     "Device is not in required device state: compliant. Conditional Access "
                     "policy requires a compliant device, and the device is not compliant. The "
                     "user must enroll their device with an approved MDM provider like Intune.");
            return false;
        case SIM_CAG_HYBRID:
            *code = 53001;
            snprintf(msg, msgsz,
                     "Device is not in required device state: domain_joined. Conditional Access "
                     "policy requires a domain joined device, and the device is not domain "
                     "joined.");
            return false;
        case SIM_CAG_APPROVED_APP:
            *code = 53002;
            snprintf(msg, msgsz, "Application used is not an approved app for Conditional Access.");
            return false;
        case SIM_CAG_NONE: break;
        }
    }
    return true;
}

/*
 * Tenant policy for a token to aud with or without MFA (lock held).
 * Conditional access "register or join devices" and the device setting
 * "require MFA to join" apply to the DRS resource.
 */
static bool
policy_ok(const struct sim_user *u, const char *aud, bool mfa, const char *ua, struct fail *f)
{
    const struct sim_tenant *t = g_sim.t;
    bool need_mfa;

    if (!u->enabled) {
        set_fail(f, 400, "invalid_grant", 50057, NULL, "The user account is disabled.");
        return false;
    }
    {
        long code = 0;
        char msg[400];

        if (!oauth_ca_check(aud, ua, &code, msg, sizeof(msg))) {
            set_fail(f, 400, "invalid_grant", code, NULL, "%s", msg);
            return false;
        }
    }
    if (is_enrollment_aud(aud))
        return true;
    if (!is_drs_aud(aud))
        return true;
    if (t->ca_join == SIM_CA_BLOCK) {
        set_fail(f, 400, "invalid_grant", 53003, "message_only",
                 "Access has been blocked by Conditional Access policies. The access policy "
                 "does not allow token issuance.");
        return false;
    }
    need_mfa = t->ca_join == SIM_CA_REQUIRE_MFA || t->require_mfa_to_join;
    if (need_mfa && !mfa) {
        if (!u->mfa_registered)
            set_fail(f, 400, "invalid_grant", 50079, "basic_action",
                     "Due to a configuration change made by your administrator, or because "
                     "you moved to a new location, you must enroll in multi-factor "
                     "authentication to access '%s'.",
                     OAUTH_DRS_APPID);
        else
            set_fail(f, 400, "invalid_grant", 50076, "basic_action",
                     "Due to a configuration change made by your administrator, or because "
                     "you moved to a new location, you must use multi-factor authentication "
                     "to access '%s'.",
                     OAUTH_DRS_APPID);
        return false;
    }
    return true;
}

static void
copy_who(const struct sim_user *u, bool mfa, struct who *w)
{
    snprintf(w->oid, sizeof(w->oid), "%s", u->oid);
    snprintf(w->upn, sizeof(w->upn), "%s", u->upn);
    snprintf(w->name, sizeof(w->name), "%s", u->display_name);
    w->mfa = mfa;
}

static void
random_token(const char *prefix, size_t nbytes, char *out, size_t outsz)
{
    unsigned char raw[64];
    char *e;

    if (nbytes > sizeof(raw))
        nbytes = sizeof(raw);
    sim_random(raw, nbytes);
    e = lj_b64_encode(raw, nbytes, LJ_B64_URL, NULL);
    snprintf(out, outsz, "%s%s", prefix, e != NULL ? e : "");
    lj_secret_free(e);
    lj_secure_zero(raw, sizeof(raw));
}

/* Mint and answer the token response (no lock held). */
static enum MHD_Result
issue_tokens(struct sim_req *r, const struct ask *a, const struct who *w)
{
    struct jwt_claims c;
    char *at = NULL, *idt = NULL, *ci = NULL;
    char rt[128] = "";
    char num[32], tenant_id[40];
    long at_life, rt_life;
    time_t now = time(NULL);
    cJSON *o = NULL;
    bool mdm = false, mdm_at = false;
    struct sim_user *u;
    enum MHD_Result ret = MHD_NO;
    static const char *const nocache[] = {"Pragma", "no-cache", NULL};

    pthread_mutex_lock(&g_sim.lock);
    at_life = g_sim.t->at_lifetime;
    rt_life = g_sim.t->rt_lifetime;
    snprintf(tenant_id, sizeof(tenant_id), "%s", g_sim.t->id);
    u = tenant_user_by_oid(g_sim.t, w->oid);
    mdm = u != NULL && tenant_mdm_in_scope(g_sim.t, u);
    mdm_at = mdm && g_sim.t->intune.mdm_claims_in_at;
    if (a->want_refresh) {
        struct sim_refresh *ref = calloc(1, sizeof(*ref));
        random_token("0.AS", 48, rt, sizeof(rt));
        if (ref != NULL) {
            snprintf(ref->token, sizeof(ref->token), "%s", rt);
            snprintf(ref->user_oid, sizeof(ref->user_oid), "%s", w->oid);
            snprintf(ref->client_id, sizeof(ref->client_id), "%s", a->client_id);
            ref->mfa = w->mfa;
            ref->expires = now + rt_life;
            if (!state_add_refresh(ref)) {
                free(ref);
                rt[0] = '\0';
            }
        } else {
            rt[0] = '\0';
        }
    }
    pthread_mutex_unlock(&g_sim.lock);
    if (a->want_refresh && rt[0] == '\0')
        return srv_oauth_error(r, 503, "temporarily_unavailable", 90033, NULL,
                               "A transient error has occurred. Please try again.");

    memset(&c, 0, sizeof(c));
    c.aud = a->aud;
    c.tid = tenant_id;
    c.oid = w->oid;
    c.upn = w->upn;
    c.name = w->name;
    c.appid = a->client_id;
    c.scp = is_drs_aud(a->aud) ? "adrs_access" : "user_impersonation";
    c.mfa = w->mfa;
    c.v2 = a->v2;
    c.iat = now;
    c.nbf = now;
    c.exp = now + at_life;
    /* Users inside the MDM user scope get Entra's MDM URL claims in the sign-in's id_token
     * (Learn, "How it works: Device registration", phase D reads mdm_tou_url from the ID
     * token); DRS access tokens carry none unless intune.mdm_claims_in_access_token. */
    c.mdm = mdm_at && is_drs_aud(a->aud);
    at = jwt_mint(g_sim.token_key, g_sim.token_kid, &c, JWT_GOOD, NULL);
    if (a->want_id) {
        c.aud = a->client_id;
        c.id_token = true;
        c.mdm = mdm;
        c.scp = NULL;
        idt = jwt_mint(g_sim.token_key, g_sim.token_kid, &c, JWT_GOOD, NULL);
    }
    o = cJSON_CreateObject();
    if (at == NULL || o == NULL || (a->want_id && idt == NULL))
        goto out;
    cJSON_AddStringToObject(o, "token_type", "Bearer");
    if (a->v2) {
        cJSON_AddStringToObject(o, "scope", a->scope);
        cJSON_AddNumberToObject(o, "expires_in", (double)at_life);
        cJSON_AddNumberToObject(o, "ext_expires_in", (double)at_life);
    } else {
        cJSON_AddStringToObject(o, "scope", a->scope);
        snprintf(num, sizeof(num), "%ld", at_life);
        cJSON_AddStringToObject(o, "expires_in", num);
        cJSON_AddStringToObject(o, "ext_expires_in", num);
        snprintf(num, sizeof(num), "%lld", (long long)(now + at_life));
        cJSON_AddStringToObject(o, "expires_on", num);
        snprintf(num, sizeof(num), "%lld", (long long)now);
        cJSON_AddStringToObject(o, "not_before", num);
        cJSON_AddStringToObject(o, "resource", a->aud);
    }
    cJSON_AddStringToObject(o, "access_token", at);
    if (rt[0] != '\0') {
        cJSON_AddStringToObject(o, "refresh_token", rt);
        if (a->v2) {
            cJSON_AddNumberToObject(o, "refresh_token_expires_in", (double)rt_life);
        } else {
            snprintf(num, sizeof(num), "%ld", rt_life);
            cJSON_AddStringToObject(o, "refresh_token_expires_in", num);
        }
    }
    if (idt != NULL)
        cJSON_AddStringToObject(o, "id_token", idt);
    if (a->client_info) {
        char info[160];
        snprintf(info, sizeof(info), "{\"uid\":\"%s\",\"utid\":\"%s\"}", w->oid, tenant_id);
        ci = lj_b64_encode(info, strlen(info), LJ_B64_URL, NULL);
        if (ci != NULL)
            cJSON_AddStringToObject(o, "client_info", ci);
    }
    lj_log(LJ_LOG_INFO, MOD, "event=token_issued upn=%s aud=%s mfa=%d v2=%d refresh=%d", w->upn,
           a->aud, w->mfa, a->v2, rt[0] != '\0');
    ret = srv_reply_json(r, 200, o, nocache);
    o = NULL;
out:
    if (o != NULL)
        cJSON_Delete(o);
    lj_secret_free(at);
    lj_secret_free(idt);
    free(ci);
    lj_secure_zero(rt, sizeof(rt));
    if (ret == MHD_NO && at == NULL)
        return srv_oauth_error(r, 500, "server_error", 90033, NULL,
                               "A transient error has occurred. Please try again.");
    return ret;
}

/* ---- grants ---- */

static enum MHD_Result
grant_password(struct sim_req *r, const struct sim_form *form, const struct ask *a)
{
    const char *user = sim_form_get(form, "username");
    const char *pw = sim_form_get(form, "password");
    struct fail f;
    struct who w;
    struct sim_user *u;

    if (user == NULL || user[0] == '\0')
        return srv_oauth_error(r, 400, "invalid_request", 900144, NULL,
                               "The request body must contain the following parameter: "
                               "'username'.");
    if (pw == NULL || pw[0] == '\0')
        return srv_oauth_error(r, 400, "invalid_request", 900144, NULL,
                               "The request body must contain the following parameter: "
                               "'password'.");
    pthread_mutex_lock(&g_sim.lock);
    u = authenticate(user, pw, &f);
    if (u != NULL && !policy_ok(u, a->aud, false, r->user_agent, &f))
        u = NULL;
    if (u != NULL)
        copy_who(u, false, &w);
    pthread_mutex_unlock(&g_sim.lock);
    if (u == NULL)
        return reply_fail(r, &f);
    return issue_tokens(r, a, &w);
}

static enum MHD_Result
grant_device_code(struct sim_req *r, const struct sim_form *form, struct ask *a)
{
    const char *code = sim_form_get(form, "device_code");
    struct sim_devcode *c;
    struct sim_user *u;
    struct fail f;
    struct who w;
    bool ok = false;
    time_t now = time(NULL);

    if (code == NULL && !a->v2)
        code = sim_form_get(form, "code");
    if (code == NULL || code[0] == '\0')
        return srv_oauth_error(r, 400, "invalid_request", 900144, NULL,
                               "The request body must contain the following parameter: "
                               "'device_code'.");
    pthread_mutex_lock(&g_sim.lock);
    c = state_devcode_by_device_code(code);
    if (c == NULL || strcmp(c->client_id, a->client_id) != 0) {
        set_fail(&f, 400, "invalid_grant", 70000, NULL,
                 "The provided value for the input parameter 'device_code' is not valid.");
    } else if (c->state == SIM_DC_REDEEMED) {
        set_fail(&f, 400, "invalid_grant", 54005, NULL,
                 "OAuth2 Authorization code was already redeemed, please retry with a new "
                 "valid code or use an existing refresh token.");
    } else if (now >= c->expires) {
        set_fail(&f, 400, "expired_token", 70019, NULL, "Verification code expired.");
    } else if (c->state == SIM_DC_DECLINED) {
        set_fail(&f, 400, "authorization_declined", 70000, NULL,
                 "The user declined the authentication request.");
    } else if (c->state == SIM_DC_PENDING) {
        long long ms = sim_now_ms();
        if (c->interval > 0 && ms - c->last_poll_ms < c->interval * 1000LL)
            set_fail(&f, 400, "slow_down", 70016, NULL,
                     "OAuth 2.0 device flow error. Polling too fast; wait %ld seconds "
                     "between requests.",
                     c->interval);
        else
            set_fail(&f, 400, "authorization_pending", 70016, NULL,
                     "OAuth 2.0 device flow error. Authorization is pending. Continue "
                     "polling.");
        c->last_poll_ms = ms;
    } else {
        u = tenant_user_by_oid(g_sim.t, c->user_oid);
        if (u == NULL) {
            set_fail(&f, 400, "invalid_grant", 50034, NULL,
                     "The user account {EUII Hidden} does not exist in the %s directory.",
                     g_sim.t->id);
        } else if (policy_ok(u, c->resource, c->mfa, r->user_agent, &f)) {
            c->state = SIM_DC_REDEEMED;
            copy_who(u, c->mfa, &w);
            snprintf(a->aud, sizeof(a->aud), "%s", c->resource);
            snprintf(a->scope, sizeof(a->scope), "%s", c->scope);
            a->v2 = c->v2;
            if (c->v2) {
                a->want_refresh = strstr(c->scope, "offline_access") != NULL;
                a->want_id = strstr(c->scope, "openid") != NULL;
            }
            ok = true;
        } else {
            c->state = SIM_DC_REDEEMED;
        }
    }
    pthread_mutex_unlock(&g_sim.lock);
    if (!ok)
        return reply_fail(r, &f);
    return issue_tokens(r, a, &w);
}

static bool
pkce_ok(const char *verifier, const char *challenge)
{
    unsigned char h[32];
    char *e;
    bool ok;
    size_t n = verifier != NULL ? strlen(verifier) : 0;

    if (n < 43 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = verifier[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '.' || ch == '_' || ch == '~'))
            return false;
    }
    pki_sha256(verifier, n, h);
    e = lj_b64_encode(h, sizeof(h), LJ_B64_URL, NULL);
    ok = e != NULL && strcmp(e, challenge) == 0;
    free(e);
    return ok;
}

/* The AADSTS50011 text Entra shows (its error page; e.g. the captures in
 * microsoftgraph/microsoft-graph-explorer-v4 #540 and MicrosoftDocs issues). */
#define REDIRECT_MISMATCH_FMT                                                                      \
    "The redirect URI '%.300s' specified in the request does not match the redirect URIs "         \
    "configured for the application '%s'. Make sure the redirect URI sent in the request "         \
    "matches one added to your application in the Azure portal. Navigate to "                      \
    "https://aka.ms/redirectUriMismatchError to learn more about how to fix this."

static bool
redirect_allowed(const char *client_id, const char *u)
{
    bool ok;

    pthread_mutex_lock(&g_sim.lock);
    ok = tenant_redirect_allowed(g_sim.t, client_id, u);
    pthread_mutex_unlock(&g_sim.lock);
    return ok;
}

static enum MHD_Result
grant_auth_code(struct sim_req *r, const struct sim_form *form, struct ask *a)
{
    const char *code = sim_form_get(form, "code");
    const char *redir = sim_form_get(form, "redirect_uri");
    const char *verifier = sim_form_get(form, "code_verifier");
    struct sim_authcode *c;
    struct sim_user *u;
    struct fail f;
    struct who w;
    bool ok = false;

    if (code == NULL || code[0] == '\0')
        return srv_oauth_error(r, 400, "invalid_request", 900144, NULL,
                               "The request body must contain the following parameter: "
                               "'code'.");
    if (redir == NULL || redir[0] == '\0')
        return srv_oauth_error(r, 400, "invalid_request", 900144, NULL,
                               "The request body must contain the following parameter: "
                               "'redirect_uri'.");
    if (strlen(redir) >= 512 || !redirect_allowed(a->client_id, redir))
        return srv_oauth_error(r, 400, "invalid_request", 50011, NULL, REDIRECT_MISMATCH_FMT, redir,
                               a->client_id);
    pthread_mutex_lock(&g_sim.lock);
    c = state_authcode(code);
    if (c == NULL || strcmp(c->client_id, a->client_id) != 0) {
        set_fail(&f, 400, "invalid_grant", 9002313, NULL,
                 "Invalid request. Request is malformed or invalid.");
    } else if (c->used) {
        set_fail(&f, 400, "invalid_grant", 54005, NULL,
                 "OAuth2 Authorization code was already redeemed, please retry with a new "
                 "valid code or use an existing refresh token.");
    } else if (time(NULL) >= c->expires) {
        set_fail(&f, 400, "invalid_grant", 70008, NULL,
                 "The provided authorization code or refresh token has expired due to "
                 "inactivity. Send a new interactive authorization request for this user "
                 "and resource.");
    } else if (strcmp(c->redirect_uri, redir) != 0) {
        set_fail(&f, 400, "invalid_grant", 500112, NULL,
                 "The reply address '%.200s' does not match the reply address '%.200s' "
                 "provided when requesting Authorization code.",
                 redir, c->redirect_uri);
    } else if (c->challenge[0] != '\0' && !pkce_ok(verifier, c->challenge)) {
        set_fail(&f, 400, "invalid_grant", 501481, NULL,
                 "The Code_Verifier does not match the code_challenge supplied in the "
                 "authorization request.");
    } else if ((u = tenant_user_by_oid(g_sim.t, c->user_oid)) == NULL) {
        set_fail(&f, 400, "invalid_grant", 50034, NULL,
                 "The user account {EUII Hidden} does not exist in the %s directory.", g_sim.t->id);
    } else {
        c->used = true;
        if (policy_ok(u, c->resource, c->mfa, r->user_agent, &f)) {
            copy_who(u, c->mfa, &w);
            snprintf(a->aud, sizeof(a->aud), "%s", c->resource);
            snprintf(a->scope, sizeof(a->scope), "%s", c->scope);
            if (c->v2) {
                a->want_refresh = strstr(c->scope, "offline_access") != NULL;
                a->want_id = strstr(c->scope, "openid") != NULL;
            }
            ok = true;
        }
    }
    pthread_mutex_unlock(&g_sim.lock);
    if (!ok)
        return reply_fail(r, &f);
    return issue_tokens(r, a, &w);
}

static enum MHD_Result
grant_refresh(struct sim_req *r, const struct sim_form *form, struct ask *a)
{
    const char *tok = sim_form_get(form, "refresh_token");
    struct sim_refresh *ref;
    struct sim_user *u;
    struct fail f;
    struct who w;
    bool ok = false;

    if (tok == NULL || tok[0] == '\0')
        return srv_oauth_error(r, 400, "invalid_request", 900144, NULL,
                               "The request body must contain the following parameter: "
                               "'refresh_token'.");
    pthread_mutex_lock(&g_sim.lock);
    ref = state_refresh(tok);
    if (ref == NULL || strcmp(ref->client_id, a->client_id) != 0) {
        set_fail(&f, 400, "invalid_grant", 9002313, NULL,
                 "Invalid request. Request is malformed or invalid.");
    } else if (ref->revoked) {
        set_fail(&f, 400, "invalid_grant", 50173, NULL,
                 "The provided grant has expired due to it being revoked, a fresh auth "
                 "token is needed. The user might have changed or reset their password.");
    } else if (time(NULL) >= ref->expires) {
        set_fail(&f, 400, "invalid_grant", 700082, NULL,
                 "The refresh token has expired due to inactivity.");
    } else if ((u = tenant_user_by_oid(g_sim.t, ref->user_oid)) == NULL) {
        set_fail(&f, 400, "invalid_grant", 50034, NULL,
                 "The user account {EUII Hidden} does not exist in the %s directory.", g_sim.t->id);
    } else if (u->locked) {
        set_fail(&f, 400, "invalid_grant", 50053, NULL,
                 "Your account is locked because you've tried to sign in too many times "
                 "with an incorrect user ID or password.");
    } else if (policy_ok(u, a->aud, ref->mfa, r->user_agent, &f)) {
        copy_who(u, ref->mfa, &w);
        a->want_refresh = true; /* a refresh grant always returns a new one */
        ok = true;
    }
    pthread_mutex_unlock(&g_sim.lock);
    if (!ok)
        return reply_fail(r, &f);
    return issue_tokens(r, a, &w);
}

static bool
form_body(struct sim_req *r, struct sim_form *form)
{
    const char *ct = srv_header(r, "Content-Type");

    memset(form, 0, sizeof(*form));
    if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0)
        return r->body.len == 0;
    return sim_form_parse((const char *)r->body.p, r->body.len, form);
}

static enum MHD_Result
token_endpoint(struct sim_req *r, bool v2)
{
    struct sim_form form;
    struct ask a;
    struct fail f;
    const char *gt;
    enum MHD_Result ret;

    if (strcmp(r->method, "POST") != 0)
        return srv_oauth_error(r, 405, "invalid_request", 900561, NULL,
                               "The endpoint only accepts POST, OPTIONS requests. Received a "
                               "%s request.",
                               r->method);
    if (!form_body(r, &form))
        return srv_oauth_error(r, 400, "invalid_request", 900144, NULL,
                               "The request body must contain the following parameter: "
                               "'grant_type'.");
    gt = sim_form_get(&form, "grant_type");
    if (gt == NULL || gt[0] == '\0') {
        ret = srv_oauth_error(r, 400, "invalid_request", 900144, NULL,
                              "The request body must contain the following parameter: "
                              "'grant_type'.");
        goto out;
    }
    /* Device-authenticated grants of the v1 endpoint ([MS-OAPXBC] 3.1.5.1, 3.2.5.1): prt.c. */
    if (!v2 && strcmp(gt, "srv_challenge") == 0) {
        ret = prt_srv_challenge(r);
        goto out;
    }
    if (!v2 && strcmp(gt, PRT_GRANT_JWT_BEARER) == 0) {
        ret = prt_jwt_bearer(r, &form);
        goto out;
    }
    if (strcmp(gt, "password") != 0 && strcmp(gt, "refresh_token") != 0 &&
        strcmp(gt, "authorization_code") != 0 &&
        strcmp(gt, "urn:ietf:params:oauth:grant-type:device_code") != 0 &&
        strcmp(gt, "device_code") != 0) {
        ret = srv_oauth_error(r, 400, "unsupported_grant_type", 70003, NULL,
                              "The app requested an unsupported grant type '%.64s'.", gt);
        goto out;
    }
    /* Device-code and auth-code grants take the resource from the code. */
    if (strcmp(gt, "password") == 0 || strcmp(gt, "refresh_token") == 0) {
        if (!parse_ask(&form, v2, &a, &f)) {
            ret = reply_fail(r, &f);
            goto out;
        }
    } else {
        const char *cid = sim_form_get(&form, "client_id");
        memset(&a, 0, sizeof(a));
        a.v2 = v2;
        a.want_refresh = true;
        a.want_id = true;
        if (cid == NULL || cid[0] == '\0') {
            ret = srv_oauth_error(r, 400, "invalid_request", 900144, NULL,
                                  "The request body must contain the following parameter: "
                                  "'client_id'.");
            goto out;
        }
        snprintf(a.client_id, sizeof(a.client_id), "%.63s", cid);
        a.client_info = sim_streq_ci(sim_form_get(&form, "client_info"), "1");
    }
    if (strcmp(gt, "password") == 0)
        ret = grant_password(r, &form, &a);
    else if (strcmp(gt, "refresh_token") == 0)
        ret = grant_refresh(r, &form, &a);
    else if (strcmp(gt, "authorization_code") == 0)
        ret = grant_auth_code(r, &form, &a);
    else
        ret = grant_device_code(r, &form, &a);
out:
    sim_form_free(&form);
    return ret;
}

static enum MHD_Result
devicecode_endpoint(struct sim_req *r, bool v2)
{
    static const char alphabet[] = "BCDFGHJKLMNPQRSTVWXZ23456789";
    struct sim_form form;
    struct ask a;
    struct fail f;
    struct sim_devcode *c = NULL;
    char msg[512], num[32];
    unsigned char rnd[9];
    cJSON *o = NULL;
    enum MHD_Result ret;
    time_t now = time(NULL);

    if (strcmp(r->method, "POST") != 0)
        return srv_oauth_error(r, 405, "invalid_request", 900561, NULL,
                               "The endpoint only accepts POST, OPTIONS requests. Received a "
                               "%s request.",
                               r->method);
    if (!form_body(r, &form))
        return srv_oauth_error(r, 400, "invalid_request", 900144, NULL,
                               "The request body must contain the following parameter: "
                               "'client_id'.");
    if (!parse_ask(&form, v2, &a, &f)) {
        ret = reply_fail(r, &f);
        goto out;
    }
    c = calloc(1, sizeof(*c));
    o = cJSON_CreateObject();
    if (c == NULL || o == NULL) {
        ret = MHD_NO;
        goto out;
    }
    random_token("DAQABIQEAAAD", 60, c->device_code, sizeof(c->device_code));
    sim_random(rnd, sizeof(rnd));
    for (size_t i = 0; i < 9; i++)
        c->user_code[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
    c->user_code[9] = '\0';
    snprintf(c->client_id, sizeof(c->client_id), "%s", a.client_id);
    snprintf(c->resource, sizeof(c->resource), "%s", a.aud);
    snprintf(c->scope, sizeof(c->scope), "%s", a.scope);
    c->v2 = v2;
    c->created = now;
    c->state = SIM_DC_PENDING;
    pthread_mutex_lock(&g_sim.lock);
    c->expires = now + g_sim.t->dc_expires_in;
    c->interval = g_sim.t->dc_interval;
    c->last_poll_ms = sim_now_ms();
    snprintf(msg, sizeof(msg),
             "To sign in, use a web browser to open the page %s and enter the code %s to "
             "authenticate.",
             g_sim.t->verification_uri, c->user_code);
    cJSON_AddStringToObject(o, "user_code", c->user_code);
    cJSON_AddStringToObject(o, "device_code", c->device_code);
    cJSON_AddStringToObject(o, v2 ? "verification_uri" : "verification_url",
                            g_sim.t->verification_uri);
    if (v2) {
        cJSON_AddNumberToObject(o, "expires_in", (double)g_sim.t->dc_expires_in);
        cJSON_AddNumberToObject(o, "interval", (double)g_sim.t->dc_interval);
    } else {
        snprintf(num, sizeof(num), "%ld", g_sim.t->dc_expires_in);
        cJSON_AddStringToObject(o, "expires_in", num);
        snprintf(num, sizeof(num), "%ld", g_sim.t->dc_interval);
        cJSON_AddStringToObject(o, "interval", num);
    }
    cJSON_AddStringToObject(o, "message", msg);
    if (g_sim.t->verification_uri_complete) {
        /* RFC 8628 3.2 (OPTIONAL): the URI with the code in it, for a QR code */
        snprintf(msg, sizeof(msg), "%s?otc=%s", g_sim.t->verification_uri, c->user_code);
        cJSON_AddStringToObject(o, "verification_uri_complete", msg);
    }
    if (!state_add_devcode(c)) {
        pthread_mutex_unlock(&g_sim.lock);
        ret = srv_oauth_error(r, 503, "temporarily_unavailable", 90033, NULL,
                              "A transient error has occurred. Please try again.");
        goto out;
    }
    c = NULL;
    pthread_mutex_unlock(&g_sim.lock);
    ret = srv_reply_json(r, 200, o, NULL);
    o = NULL;
out:
    if (c != NULL)
        lj_secure_free(c, sizeof(*c));
    cJSON_Delete(o);
    sim_form_free(&form);
    return ret;
}

/* ---- HTML pages ---- */

static const char page_head[] =
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Sign in to your account"
    "</title></head><body><h1>entra-sim</h1>";

static enum MHD_Result
page(struct sim_req *r, unsigned status, struct sim_buf *b)
{
    sim_buf_adds(b, "</body></html>\n");
    if (b->err) {
        sim_buf_free(b, true);
        return MHD_NO;
    }
    return srv_reply(r, status, "text/html; charset=utf-8", sim_buf_take(b, NULL), NULL);
}

static void
page_error(struct sim_buf *b, struct sim_req *r, long code, const char *msg)
{
    char *t = srv_aadsts_text(r, code, msg);

    sim_buf_adds(b, "<p class=\"error\" id=\"error\">");
    sim_html_escape(b, t != NULL ? t : msg);
    sim_buf_adds(b, "</p>");
    free(t);
}

static const char *const authz_params[] = {
    "client_id",      "response_type",         "redirect_uri",  "resource", "scope", "state",
    "code_challenge", "code_challenge_method", "response_mode", "prompt",   "nonce", NULL};

static enum MHD_Result
redirect_to(struct sim_req *r, const char *uri, const char *const *kv)
{
    struct sim_buf b = {0};
    const char *hdrs[] = {"Location", NULL, NULL};
    enum MHD_Result ret;

    sim_buf_adds(&b, uri);
    sim_buf_adds(&b, strchr(uri, '?') != NULL ? "&" : "?");
    for (size_t i = 0; kv[i] != NULL; i += 2) {
        if (kv[i + 1] == NULL)
            continue;
        if (i > 0)
            sim_buf_adds(&b, "&");
        sim_buf_adds(&b, kv[i]);
        sim_buf_adds(&b, "=");
        sim_url_encode(&b, kv[i + 1]);
    }
    if (b.err) {
        sim_buf_free(&b, true);
        return MHD_NO;
    }
    hdrs[1] = (const char *)b.p;
    ret = srv_reply(r, 302, "text/html; charset=utf-8",
                    strdup("<html><body>Redirecting</body></html>"), hdrs);
    sim_buf_free(&b, true);
    return ret;
}

static void
signin_form(struct sim_buf *b, struct sim_req *r, const struct sim_form *params,
            const char *login_hint)
{
    sim_buf_adds(b, page_head);
    sim_buf_adds(b, "<form method=\"post\" action=\"");
    sim_html_escape(b, r->path);
    sim_buf_adds(b, "\">");
    for (size_t i = 0; authz_params[i] != NULL; i++) {
        const char *v = sim_form_get(params, authz_params[i]);
        if (v == NULL)
            continue;
        sim_buf_addf(b, "<input type=\"hidden\" name=\"%s\" value=\"", authz_params[i]);
        sim_html_escape(b, v);
        sim_buf_adds(b, "\">");
    }
    sim_buf_adds(b, "<label>Email <input name=\"login\" value=\"");
    sim_html_escape(b, login_hint != NULL ? login_hint : "");
    sim_buf_adds(b, "\"></label><label>Password <input type=\"password\" name=\"passwd\">"
                    "</label><label><input type=\"checkbox\" name=\"mfa\" value=\"1\"> I "
                    "approved the sign-in request in my authenticator app</label>"
                    "<button type=\"submit\">Sign in</button></form>");
}

static enum MHD_Result
authorize_endpoint(struct sim_req *r, bool v2)
{
    struct sim_form params;
    struct sim_buf b = {0};
    struct ask a;
    struct fail f;
    const char *redir, *rt, *ccm, *cc, *state;
    enum MHD_Result ret;
    bool post = strcmp(r->method, "POST") == 0;

    memset(&params, 0, sizeof(params));
    if (post) {
        if (!form_body(r, &params))
            return srv_reply(r, 400, "text/plain; charset=utf-8", strdup("malformed form body\n"),
                             NULL);
    } else if (strcmp(r->method, "GET") == 0) {
        for (size_t i = 0; authz_params[i] != NULL; i++) {
            const char *v = srv_query(r, authz_params[i]);
            if (v != NULL && params.n < SIM_FORM_MAX) {
                params.key[params.n] = strdup(authz_params[i]);
                params.val[params.n] = strdup(v);
                params.n++;
            }
        }
    } else {
        return srv_reply(r, 405, "text/plain; charset=utf-8", strdup("method not allowed\n"), NULL);
    }
    sim_buf_adds(&b, page_head);
    if (!parse_ask(&params, v2, &a, &f)) {
        page_error(&b, r, f.code, f.msg);
        ret = page(r, 400, &b);
        goto out;
    }
    redir = sim_form_get(&params, "redirect_uri");
    rt = sim_form_get(&params, "response_type");
    ccm = sim_form_get(&params, "code_challenge_method");
    cc = sim_form_get(&params, "code_challenge");
    state = sim_form_get(&params, "state");
    if (redir == NULL || strlen(redir) >= 512 || !redirect_allowed(a.client_id, redir)) {
        char msg[900];
        snprintf(msg, sizeof(msg), REDIRECT_MISMATCH_FMT, redir != NULL ? redir : "", a.client_id);
        page_error(&b, r, 50011, msg);
        ret = page(r, 400, &b);
        goto out;
    }
    if (rt == NULL || strcmp(rt, "code") != 0) {
        char *d = srv_aadsts_text(r, 700054, "response_type must be 'code'.");
        const char *kv[] = {
            "error", "unsupported_response_type", "error_description", d, "state", state, NULL};
        ret = redirect_to(r, redir, kv);
        free(d);
        goto out;
    }
    if ((ccm != NULL && strcmp(ccm, "S256") != 0) || (ccm != NULL && cc == NULL) ||
        (cc != NULL && (strlen(cc) != 43))) {
        char *d = srv_aadsts_text(r, 501491,
                                  "Invalid code_challenge_method or code_challenge: only "
                                  "S256 with a 43-character challenge is accepted.");
        const char *kv[] = {"error", "invalid_request", "error_description", d, "state", state,
                            NULL};
        ret = redirect_to(r, redir, kv);
        free(d);
        goto out;
    }
    if (!post) {
        sim_buf_free(&b, false);
        signin_form(&b, r, &params, srv_query(r, "login_hint"));
        ret = page(r, 200, &b);
        goto out;
    }
    {
        const char *login = sim_form_get(&params, "login");
        const char *pw = sim_form_get(&params, "passwd");
        bool mfa = sim_streq_ci(sim_form_get(&params, "mfa"), "1");
        struct sim_user *u;
        struct sim_authcode *c = calloc(1, sizeof(*c));
        char code[128];
        char sess[37];

        if (c == NULL) {
            ret = MHD_NO;
            goto out;
        }
        pthread_mutex_lock(&g_sim.lock);
        u = authenticate(login != NULL ? login : "", pw, &f);
        if (u != NULL && mfa && !u->mfa_registered)
            mfa = false;
        if (u != NULL && !policy_ok(u, a.aud, mfa, r->user_agent, &f)) {
            u = NULL;
        }
        if (u != NULL) {
            random_token("0.AQ", 48, code, sizeof(code));
            snprintf(c->code, sizeof(c->code), "%s", code);
            snprintf(c->client_id, sizeof(c->client_id), "%s", a.client_id);
            snprintf(c->redirect_uri, sizeof(c->redirect_uri), "%s", redir);
            snprintf(c->challenge, sizeof(c->challenge), "%s", cc != NULL ? cc : "");
            snprintf(c->resource, sizeof(c->resource), "%s", a.aud);
            snprintf(c->scope, sizeof(c->scope), "%s", a.scope);
            snprintf(c->user_oid, sizeof(c->user_oid), "%s", u->oid);
            c->v2 = v2;
            c->mfa = mfa;
            c->expires = time(NULL) + AUTHCODE_LIFETIME;
            if (!state_add_authcode(c)) {
                u = NULL;
                set_fail(&f, 503, "temporarily_unavailable", 90033, NULL,
                         "A transient error has occurred. Please try again.");
            } else {
                c = NULL;
            }
        }
        pthread_mutex_unlock(&g_sim.lock);
        if (c != NULL)
            lj_secure_free(c, sizeof(*c));
        if (u != NULL) {
            const char *kv[] = {"code", code, "state", state, "session_state", sess, NULL};
            sim_guid_new(sess);
            ret = redirect_to(r, redir, kv);
            lj_secure_zero(code, sizeof(code));
            goto out;
        }
        if (f.code == 53003) {
            char *d = srv_aadsts_text(r, f.code, f.msg);
            const char *kv[] = {"error", "access_denied", "error_description", d, "state", state,
                                NULL};
            ret = redirect_to(r, redir, kv);
            free(d);
            goto out;
        }
        sim_buf_free(&b, false);
        signin_form(&b, r, &params, login);
        page_error(&b, r, f.code, f.msg);
        ret = page(r, 200, &b);
    }
out:
    sim_buf_free(&b, false);
    sim_form_free(&params);
    return ret;
}

static enum MHD_Result
devicelogin_page(struct sim_req *r)
{
    struct sim_form form;
    struct sim_buf b = {0};
    const char *otc, *login, *pw, *action;
    bool mfa;
    struct sim_devcode *c;
    struct sim_user *u;
    struct fail f;
    enum MHD_Result ret;
    const char *result = NULL;

    memset(&form, 0, sizeof(form));
    sim_buf_adds(&b, page_head);
    if (strcmp(r->method, "GET") == 0) {
        sim_buf_adds(&b, "<h2>Enter code</h2><form method=\"post\" action=\"/devicelogin\">"
                         "<label>Code <input name=\"otc\"></label><label>Email <input "
                         "name=\"login\"></label><label>Password <input type=\"password\" "
                         "name=\"passwd\"></label><label><input type=\"checkbox\" name=\"mfa\" "
                         "value=\"1\"> I approved the sign-in request in my authenticator "
                         "app</label><button name=\"action\" value=\"approve\">Next</button>"
                         "<button name=\"action\" value=\"decline\">Cancel</button></form>");
        return page(r, 200, &b);
    }
    if (strcmp(r->method, "POST") != 0 || !form_body(r, &form)) {
        sim_buf_free(&b, false);
        return srv_reply(r, 400, "text/plain; charset=utf-8", strdup("bad request\n"), NULL);
    }
    otc = sim_form_get(&form, "otc");
    login = sim_form_get(&form, "login");
    pw = sim_form_get(&form, "passwd");
    action = sim_form_get(&form, "action");
    mfa = sim_streq_ci(sim_form_get(&form, "mfa"), "1");
    pthread_mutex_lock(&g_sim.lock);
    c = otc != NULL ? state_devcode_by_user_code(otc) : NULL;
    if (c == NULL || c->state != SIM_DC_PENDING) {
        page_error(&b, r, 70018, "That code didn't work. Check the code and try again.");
    } else if (time(NULL) >= c->expires) {
        page_error(&b, r, 70019,
                   "The code you entered has expired. Get a new code from "
                   "the device you're trying to sign in to and try again.");
    } else if (action != NULL && strcmp(action, "decline") == 0) {
        c->state = SIM_DC_DECLINED;
        result = "You have declined to sign in to the application on your device. You may "
                 "now close this window.";
    } else if ((u = authenticate(login != NULL ? login : "", pw, &f)) == NULL) {
        page_error(&b, r, f.code, f.msg);
    } else {
        /* Interactive sign-in asks for the second factor instead of failing later;
         * a conditional-access block shows up when the device polls (53003). */
        if (mfa && !u->mfa_registered)
            mfa = false;
        if (!policy_ok(u, c->resource, mfa, r->user_agent, &f) &&
            (f.code == 50076 || f.code == 50079)) {
            page_error(&b, r, f.code, f.msg);
        } else {
            c->state = SIM_DC_APPROVED;
            c->mfa = mfa;
            snprintf(c->user_oid, sizeof(c->user_oid), "%s", u->oid);
            result = "You have signed in to the application on your device. You may now "
                     "close this window.";
        }
    }
    pthread_mutex_unlock(&g_sim.lock);
    if (result != NULL) {
        sim_buf_adds(&b, "<p id=\"result\">");
        sim_buf_adds(&b, result);
        sim_buf_adds(&b, "</p>");
    }
    ret = page(r, 200, &b);
    sim_form_free(&form);
    return ret;
}

/* ---- metadata ---- */

static enum MHD_Result
openid_config(struct sim_req *r, const char *seg, bool v2)
{
    char base[160], v[256], issuer[200];
    const char *tid;
    cJSON *o = cJSON_CreateObject(), *a;
    bool named = strcmp(seg, "common") != 0 && strcmp(seg, "organizations") != 0;

    if (o == NULL)
        return MHD_NO;
    pthread_mutex_lock(&g_sim.lock);
    tid = named ? g_sim.t->id : "{tenantid}";
    snprintf(base, sizeof(base), "https://login.microsoftonline.com/%s", named ? tid : seg);
    if (v2)
        snprintf(issuer, sizeof(issuer), "https://login.microsoftonline.com/%s/v2.0", tid);
    else
        snprintf(issuer, sizeof(issuer), "https://sts.windows.net/%s/", tid);
    pthread_mutex_unlock(&g_sim.lock);
    cJSON_AddStringToObject(o, "issuer", issuer);
    snprintf(v, sizeof(v), "%s/oauth2/%sauthorize", base, v2 ? "v2.0/" : "");
    cJSON_AddStringToObject(o, "authorization_endpoint", v);
    snprintf(v, sizeof(v), "%s/oauth2/%stoken", base, v2 ? "v2.0/" : "");
    cJSON_AddStringToObject(o, "token_endpoint", v);
    snprintf(v, sizeof(v), "%s/oauth2/%sdevicecode", base, v2 ? "v2.0/" : "");
    cJSON_AddStringToObject(o, "device_authorization_endpoint", v);
    snprintf(v, sizeof(v), "%s/discovery/%skeys", base, v2 ? "v2.0/" : "");
    cJSON_AddStringToObject(o, "jwks_uri", v);
    snprintf(v, sizeof(v), "%s/oauth2/%slogout", base, v2 ? "v2.0/" : "");
    cJSON_AddStringToObject(o, "end_session_endpoint", v);
    a = cJSON_AddArrayToObject(o, "response_types_supported");
    cJSON_AddItemToArray(a, cJSON_CreateString("code"));
    a = cJSON_AddArrayToObject(o, "response_modes_supported");
    cJSON_AddItemToArray(a, cJSON_CreateString("query"));
    a = cJSON_AddArrayToObject(o, "subject_types_supported");
    cJSON_AddItemToArray(a, cJSON_CreateString("pairwise"));
    a = cJSON_AddArrayToObject(o, "id_token_signing_alg_values_supported");
    cJSON_AddItemToArray(a, cJSON_CreateString("RS256"));
    a = cJSON_AddArrayToObject(o, "code_challenge_methods_supported");
    cJSON_AddItemToArray(a, cJSON_CreateString("S256"));
    a = cJSON_AddArrayToObject(o, "scopes_supported");
    cJSON_AddItemToArray(a, cJSON_CreateString("openid"));
    cJSON_AddItemToArray(a, cJSON_CreateString("profile"));
    cJSON_AddItemToArray(a, cJSON_CreateString("email"));
    cJSON_AddItemToArray(a, cJSON_CreateString("offline_access"));
    a = cJSON_AddArrayToObject(o, "token_endpoint_auth_methods_supported");
    cJSON_AddItemToArray(a, cJSON_CreateString("client_secret_post"));
    cJSON_AddItemToArray(a, cJSON_CreateString("private_key_jwt"));
    cJSON_AddItemToArray(a, cJSON_CreateString("client_secret_basic"));
    cJSON_AddStringToObject(o, "tenant_region_scope", "NA");
    cJSON_AddStringToObject(o, "cloud_instance_name", "microsoftonline.com");
    cJSON_AddStringToObject(o, "cloud_graph_host_name", "graph.windows.net");
    cJSON_AddStringToObject(o, "msgraph_host", "graph.microsoft.com");
    return srv_reply_json(r, 200, o, NULL);
}

static enum MHD_Result
jwks(struct sim_req *r)
{
    unsigned char mod[1024], exp[16];
    size_t ml = 0, el = 0, spki_len;
    const unsigned char *spki = pki_key_spki(g_sim.token_key, &spki_len);
    char *n = NULL, *e = NULL;
    cJSON *o = cJSON_CreateObject(), *keys, *k;

    if (o == NULL || !pki_spki_rsa(spki, spki_len, mod, &ml, exp, &el)) {
        cJSON_Delete(o);
        return MHD_NO;
    }
    n = lj_b64_encode(mod, ml, LJ_B64_URL, NULL);
    e = lj_b64_encode(exp, el, LJ_B64_URL, NULL);
    keys = cJSON_AddArrayToObject(o, "keys");
    k = cJSON_CreateObject();
    if (keys != NULL && k != NULL && n != NULL && e != NULL) {
        cJSON_AddStringToObject(k, "kty", "RSA");
        cJSON_AddStringToObject(k, "use", "sig");
        cJSON_AddStringToObject(k, "kid", g_sim.token_kid);
        cJSON_AddStringToObject(k, "x5t", g_sim.token_kid);
        cJSON_AddStringToObject(k, "n", n);
        cJSON_AddStringToObject(k, "e", e);
        cJSON_AddItemToArray(keys, k);
        k = NULL;
    }
    cJSON_Delete(k);
    free(n);
    free(e);
    return srv_reply_json(r, 200, o, NULL);
}

static enum MHD_Result
userrealm(struct sim_req *r, const char *user)
{
    cJSON *o = cJSON_CreateObject();
    const char *at = strchr(user, '@');

    if (o == NULL)
        return MHD_NO;
    pthread_mutex_lock(&g_sim.lock);
    cJSON_AddStringToObject(o, "Login", user);
    if (at != NULL && tenant_has_domain(g_sim.t, at + 1)) {
        cJSON_AddStringToObject(o, "NameSpaceType", "Managed");
        cJSON_AddStringToObject(o, "DomainName", at + 1);
        cJSON_AddStringToObject(o, "FederationBrandName", g_sim.t->name);
        cJSON_AddStringToObject(o, "cloud_instance_name", "microsoftonline.com");
    } else {
        cJSON_AddStringToObject(o, "NameSpaceType", "Unknown");
    }
    pthread_mutex_unlock(&g_sim.lock);
    return srv_reply_json(r, 200, o, NULL);
}

/* Split path into at most max segments (copied into buf). */
static size_t
split_path(const char *path, char *buf, size_t bufsz, char **seg, size_t max)
{
    size_t n = 0;
    char *save = NULL, *tok;

    snprintf(buf, bufsz, "%s", path);
    for (tok = strtok_r(buf, "/", &save); tok != NULL && n < max; tok = strtok_r(NULL, "/", &save))
        seg[n++] = tok;
    return tok == NULL ? n : max + 1;
}

bool
oauth_route(struct sim_req *r, enum MHD_Result *res)
{
    char buf[1024];
    char *s[8];
    size_t n = split_path(r->path, buf, sizeof(buf), s, 6);
    bool tenant_ok;

    if (n == 1 && strcmp(s[0], "devicelogin") == 0) {
        *res = devicelogin_page(r);
        return true;
    }
    if (n == 3 && strcmp(s[0], "common") == 0 && strcmp(s[1], "userrealm") == 0) {
        *res = userrealm(r, s[2]);
        return true;
    }
    if (n < 2 || n > 4)
        return false;
    if (!(strcmp(s[1], "oauth2") == 0 || strcmp(s[1], "v2.0") == 0 ||
          strcmp(s[1], ".well-known") == 0 || strcmp(s[1], "discovery") == 0))
        return false;
    pthread_mutex_lock(&g_sim.lock);
    tenant_ok = tenant_matches_path(g_sim.t, s[0]);
    pthread_mutex_unlock(&g_sim.lock);
    if (!tenant_ok) {
        *res = srv_oauth_error(r, 400, "invalid_request", 90002, NULL,
                               "Tenant '%.100s' not found. Check to make sure you have the "
                               "correct tenant ID and are signing into the correct cloud. "
                               "Check with your subscription administrator, this may happen "
                               "if there are no active subscriptions for the tenant.",
                               s[0]);
        return true;
    }
    if (strcmp(s[1], "oauth2") == 0) {
        bool v2 = n == 4 && strcmp(s[2], "v2.0") == 0;
        const char *ep = n == 3 ? s[2] : (v2 ? s[3] : NULL);
        if (ep == NULL)
            return false;
        if (strcmp(ep, "token") == 0)
            *res = token_endpoint(r, v2);
        else if (strcmp(ep, "devicecode") == 0)
            *res = devicecode_endpoint(r, v2);
        else if (strcmp(ep, "authorize") == 0)
            *res = authorize_endpoint(r, v2);
        else
            return false;
        return true;
    }
    if (n == 4 && strcmp(s[1], "v2.0") == 0 && strcmp(s[2], ".well-known") == 0 &&
        strcmp(s[3], "openid-configuration") == 0) {
        *res = openid_config(r, s[0], true);
        return true;
    }
    if (n == 3 && strcmp(s[1], ".well-known") == 0 && strcmp(s[2], "openid-configuration") == 0) {
        *res = openid_config(r, s[0], false);
        return true;
    }
    if (strcmp(s[1], "discovery") == 0 &&
        ((n == 3 && strcmp(s[2], "keys") == 0) ||
         (n == 4 && strcmp(s[2], "v2.0") == 0 && strcmp(s[3], "keys") == 0))) {
        *res = jwks(r);
        return true;
    }
    return false;
}

/* ---- control helpers ---- */

bool
oauth_devcode_decide(const char *user_code, const char *action, const char *upn, bool mfa,
                     char *err, size_t errsz, unsigned *status)
{
    struct sim_devcode *c;
    struct sim_user *u;
    bool ok = false;

    pthread_mutex_lock(&g_sim.lock);
    c = state_devcode_by_user_code(user_code);
    *status = 404;
    if (c == NULL) {
        snprintf(err, errsz, "no device code with user_code '%.32s'", user_code);
        goto out;
    }
    *status = 409;
    if (strcmp(action, "expire") == 0) {
        c->expires = time(NULL) - 1;
        ok = true;
        goto out;
    }
    if (c->state != SIM_DC_PENDING) {
        snprintf(err, errsz, "device code is no longer pending");
        goto out;
    }
    if (time(NULL) >= c->expires) {
        snprintf(err, errsz, "device code has expired");
        goto out;
    }
    if (strcmp(action, "decline") == 0) {
        c->state = SIM_DC_DECLINED;
        ok = true;
        goto out;
    }
    u = tenant_user_by_upn(g_sim.t, upn);
    *status = 400;
    if (u == NULL) {
        snprintf(err, errsz, "unknown user '%.200s'", upn != NULL ? upn : "");
        goto out;
    }
    if (!u->enabled || u->locked) {
        snprintf(err, errsz, "user '%.200s' is %s", u->upn, !u->enabled ? "disabled" : "locked");
        goto out;
    }
    if (mfa && !u->mfa_registered) {
        snprintf(err, errsz, "user '%.200s' has no MFA method registered", u->upn);
        goto out;
    }
    c->state = SIM_DC_APPROVED;
    c->mfa = mfa;
    snprintf(c->user_oid, sizeof(c->user_oid), "%s", u->oid);
    ok = true;
out:
    pthread_mutex_unlock(&g_sim.lock);
    if (ok)
        *status = 200;
    return ok;
}

char *
oauth_mint_for_test(const char *upn, const char *aud, bool mfa, long expires_in, const char *tid,
                    const char *deviceid, enum jwt_forge forge, char *err, size_t errsz)
{
    struct jwt_claims c;
    struct sim_user *u;
    struct who w;
    char tenant_id[64];
    time_t now = time(NULL);
    bool mdm = false;

    pthread_mutex_lock(&g_sim.lock);
    u = tenant_user_by_upn(g_sim.t, upn);
    if (u != NULL) {
        copy_who(u, mfa, &w);
        mdm = tenant_mdm_in_scope(g_sim.t, u) && g_sim.t->intune.mdm_claims_in_at;
    }
    snprintf(tenant_id, sizeof(tenant_id), "%s", tid != NULL ? tid : g_sim.t->id);
    pthread_mutex_unlock(&g_sim.lock);
    if (u == NULL) {
        snprintf(err, errsz, "unknown user '%.200s'", upn != NULL ? upn : "");
        return NULL;
    }
    if (forge == JWT_OTHER_KEY && g_sim.wrong_key == NULL) {
        snprintf(err, errsz, "no second key");
        return NULL;
    }
    memset(&c, 0, sizeof(c));
    c.aud = aud != NULL ? aud : OAUTH_DRS_RESOURCE;
    c.tid = tenant_id;
    c.oid = w.oid;
    c.upn = w.upn;
    c.name = w.name;
    c.appid = "29d9ed98-a469-4536-ade2-f981bc1d605e";
    c.scp = "adrs_access";
    c.mfa = mfa;
    c.iat = now;
    c.nbf = expires_in < 0 ? now + expires_in - 60 : now;
    c.exp = now + expires_in;
    c.mdm = mdm && is_drs_aud(c.aud);
    c.deviceid = deviceid;
    return jwt_mint(g_sim.token_key, g_sim.token_kid, &c, forge, g_sim.wrong_key);
}
