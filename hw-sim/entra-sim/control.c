/*
 * control.c — the test-only control API (plain HTTP on its own loopback
 * port; the public daemon never routes here).  Every route is under
 * /control/; bodies are JSON; errors are {"error": "..."} with 400, 404,
 * 405 or 409.  See hw-sim/entra-sim/README.md for the route list.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hw-sim/entra-sim/jwt.h"
#include "hw-sim/entra-sim/oauth.h"
#include "hw-sim/entra-sim/prt.h"
#include "hw-sim/entra-sim/server.h"
#include "hw-sim/entra-sim/tenant.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"

#define MOD "control"

static enum MHD_Result
cerr(struct sim_req *r, unsigned status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL)
        return MHD_NO;
    cJSON_AddStringToObject(o, "error", msg);
    return srv_reply_json(r, status, o, NULL);
}

static enum MHD_Result
ok_json(struct sim_req *r, cJSON *o)
{
    if (o == NULL)
        return cerr(r, 500, "out of memory");
    return srv_reply_json(r, 200, o, NULL);
}

static enum MHD_Result
ok_empty(struct sim_req *r)
{
    cJSON *o = cJSON_CreateObject();

    if (o != NULL)
        cJSON_AddBoolToObject(o, "ok", 1);
    return ok_json(r, o);
}

static bool
is_loopback_peer(struct sim_req *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return false;
}

static enum MHD_Result
reset_all(struct sim_req *r)
{
    struct sim_tenant *t = NULL;
    char err[512];

    if (tenant_parse(g_sim.tenant_text, g_sim.tenant_len, &t, err, sizeof(err)) != LJ_OK)
        return cerr(r, 500, err);
    pthread_mutex_lock(&g_sim.lock);
    state_clear_registry();
    tenant_free(g_sim.t);
    g_sim.t = t;
    pthread_mutex_unlock(&g_sim.lock);
    srv_faults_clear();
    srv_log_clear();
    lj_log(LJ_LOG_INFO, MOD, "event=reset");
    return ok_empty(r);
}

/* Apply a settings object with one of the tenant_apply_* functions. */
static enum MHD_Result
settings(struct sim_req *r, cJSON *body,
         bool (*apply)(struct sim_tenant *, const cJSON *, const char *, char *, size_t),
         const char *path, const char *member)
{
    char err[512] = "";
    bool ok = true;
    cJSON *all, *part;

    if (strcmp(r->method, "PUT") == 0 || strcmp(r->method, "PATCH") == 0 ||
        strcmp(r->method, "POST") == 0) {
        if (!cJSON_IsObject(body))
            return cerr(r, 400, "body must be a JSON object");
        pthread_mutex_lock(&g_sim.lock);
        ok = apply(g_sim.t, body, path, err, sizeof(err));
        if (ok && g_sim.t->join == SIM_JOIN_SELECTED && g_sim.t->njoin_groups == 0) {
            snprintf(err, sizeof(err),
                     "field 'device_settings.users_may_join_groups': required when "
                     "users_may_join is \"selected\"");
            g_sim.t->join = SIM_JOIN_ALL;
            ok = false;
        }
        pthread_mutex_unlock(&g_sim.lock);
        if (!ok)
            return cerr(r, 400, err);
        lj_log(LJ_LOG_INFO, MOD, "event=settings_changed part=%s", member);
    } else if (strcmp(r->method, "GET") != 0) {
        return cerr(r, 405, "use GET or PUT");
    }
    pthread_mutex_lock(&g_sim.lock);
    all = tenant_settings_json(g_sim.t);
    pthread_mutex_unlock(&g_sim.lock);
    part = all != NULL ? cJSON_DetachItemFromObjectCaseSensitive(all, member) : NULL;
    cJSON_Delete(all);
    return ok_json(r, part);
}

static enum MHD_Result
users(struct sim_req *r, cJSON *body, const char *upn)
{
    char err[512] = "";
    cJSON *out = NULL;
    struct sim_user *u;
    bool ok;

    if (upn == NULL) {
        if (strcmp(r->method, "GET") == 0) {
            out = cJSON_CreateArray();
            pthread_mutex_lock(&g_sim.lock);
            for (size_t i = 0; out != NULL && i < g_sim.t->nusers; i++)
                cJSON_AddItemToArray(out, tenant_user_json(&g_sim.t->users[i]));
            pthread_mutex_unlock(&g_sim.lock);
            return ok_json(r, out);
        }
        if (strcmp(r->method, "POST") != 0)
            return cerr(r, 405, "use GET or POST");
        if (!cJSON_IsObject(body))
            return cerr(r, 400, "body must be a JSON user object");
        pthread_mutex_lock(&g_sim.lock);
        ok = tenant_add_user(g_sim.t, body, err, sizeof(err));
        if (ok)
            out = tenant_user_json(&g_sim.t->users[g_sim.t->nusers - 1]);
        pthread_mutex_unlock(&g_sim.lock);
        if (!ok)
            return cerr(r, strstr(err, "duplicate") != NULL ? 409 : 400, err);
        return ok_json(r, out);
    }
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "PATCH") != 0 &&
        strcmp(r->method, "PUT") != 0)
        return cerr(r, 405, "use GET or PATCH");
    if (strcmp(r->method, "GET") != 0 && !cJSON_IsObject(body))
        return cerr(r, 400, "body must be a JSON object");
    pthread_mutex_lock(&g_sim.lock);
    u = tenant_user_by_upn(g_sim.t, upn);
    ok = u != NULL;
    if (ok && strcmp(r->method, "GET") != 0)
        ok = tenant_patch_user(g_sim.t, u, body, err, sizeof(err));
    if (ok)
        out = tenant_user_json(u);
    pthread_mutex_unlock(&g_sim.lock);
    if (u == NULL)
        return cerr(r, 404, "no such user");
    if (!ok)
        return cerr(r, 400, err);
    return ok_json(r, out);
}

/* GET /control/prt/secrets: the keys the simulator made or derived lately (tests). */
static enum MHD_Result
prt_secrets(struct sim_req *r)
{
    cJSON *o;

    if (strcmp(r->method, "GET") != 0)
        return cerr(r, 405, "use GET");
    pthread_mutex_lock(&g_sim.lock);
    o = prt_secrets_json();
    pthread_mutex_unlock(&g_sim.lock);
    return ok_json(r, o);
}

static enum MHD_Result
devices(struct sim_req *r, cJSON *body, const char *id)
{
    cJSON *out = NULL;
    bool ok;

    if (id == NULL) {
        if (strcmp(r->method, "GET") == 0) {
            out = cJSON_CreateArray();
            pthread_mutex_lock(&g_sim.lock);
            for (size_t i = 0; out != NULL && i < g_sim.ndev; i++)
                if (g_sim.dev[i]->ready)
                    cJSON_AddItemToArray(out, state_device_json(g_sim.dev[i]));
            pthread_mutex_unlock(&g_sim.lock);
            return ok_json(r, out);
        }
        if (strcmp(r->method, "DELETE") != 0)
            return cerr(r, 405, "use GET or DELETE");
        pthread_mutex_lock(&g_sim.lock);
        while (g_sim.ndev > 0)
            state_delete_device(g_sim.dev[0]->id);
        pthread_mutex_unlock(&g_sim.lock);
        return ok_empty(r);
    }
    if (strcmp(r->method, "GET") == 0) {
        struct sim_device *d;
        pthread_mutex_lock(&g_sim.lock);
        d = state_device_by_id(id);
        out = d != NULL ? state_device_json(d) : NULL;
        pthread_mutex_unlock(&g_sim.lock);
        if (d == NULL)
            return cerr(r, 404, "no such device");
        return ok_json(r, out);
    }
    if (strcmp(r->method, "PATCH") == 0 || strcmp(r->method, "PUT") == 0) {
        struct sim_device *d;
        char err[256] = "";
        if (!cJSON_IsObject(body))
            return cerr(r, 400, "body must be {\"enabled\": ..., \"auth_not_ready\": ...}");
        pthread_mutex_lock(&g_sim.lock);
        d = state_device_by_id(id);
        ok = d != NULL && state_patch_device(d, body, err, sizeof(err));
        out = ok ? state_device_json(d) : NULL;
        pthread_mutex_unlock(&g_sim.lock);
        if (!ok)
            return err[0] != '\0' ? cerr(r, 400, err) : cerr(r, 404, "no such device");
        lj_log(LJ_LOG_INFO, MOD, "event=device_changed device_id=%.40s", id);
        return ok_json(r, out);
    }
    if (strcmp(r->method, "DELETE") != 0)
        return cerr(r, 405, "use GET, PATCH or DELETE");
    pthread_mutex_lock(&g_sim.lock);
    ok = state_delete_device(id);
    pthread_mutex_unlock(&g_sim.lock);
    return ok ? ok_empty(r) : cerr(r, 404, "no such device");
}

static const char *
str_member(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static enum MHD_Result
devicecode(struct sim_req *r, cJSON *body, const char *action)
{
    char err[256];
    unsigned status = 400;
    const cJSON *mfa;

    if (strcmp(r->method, "POST") != 0)
        return cerr(r, 405, "use POST");
    if (!cJSON_IsObject(body) || str_member(body, "user_code") == NULL)
        return cerr(r, 400, "body must be {\"user_code\": ...}");
    if (strcmp(action, "approve") != 0 && strcmp(action, "decline") != 0 &&
        strcmp(action, "expire") != 0)
        return cerr(r, 404, "no such action (approve, decline, expire)");
    mfa = cJSON_GetObjectItemCaseSensitive(body, "mfa");
    if (mfa != NULL && !cJSON_IsBool(mfa))
        return cerr(r, 400, "mfa must be true or false");
    if (strcmp(action, "approve") == 0 && str_member(body, "upn") == NULL)
        return cerr(r, 400, "approve needs \"upn\"");
    if (!oauth_devcode_decide(str_member(body, "user_code"), action, str_member(body, "upn"),
                              cJSON_IsTrue(mfa), err, sizeof(err), &status))
        return cerr(r, status, err);
    return ok_empty(r);
}

static enum MHD_Result
devicecodes_list(struct sim_req *r)
{
    static const char *const states[] = {"pending", "approved", "declined", "redeemed"};
    cJSON *a = cJSON_CreateArray();
    time_t now = time(NULL);

    pthread_mutex_lock(&g_sim.lock);
    for (size_t i = 0; a != NULL && i < g_sim.ndc; i++) {
        const struct sim_devcode *c = g_sim.dc[i];
        cJSON *o = cJSON_CreateObject();
        if (o == NULL)
            break;
        cJSON_AddStringToObject(o, "user_code", c->user_code);
        cJSON_AddStringToObject(o, "client_id", c->client_id);
        cJSON_AddStringToObject(o, "resource", c->resource);
        cJSON_AddStringToObject(o, "state",
                                now >= c->expires && c->state == SIM_DC_PENDING ? "expired"
                                                                                : states[c->state]);
        cJSON_AddNumberToObject(o, "expires_in", (double)(c->expires - now));
        cJSON_AddItemToArray(a, o);
    }
    pthread_mutex_unlock(&g_sim.lock);
    return ok_json(r, a);
}

static enum MHD_Result
tokens(struct sim_req *r, cJSON *body)
{
    static const char *const forges[] = {"none", "bad_signature", "other_key", "alg_none"};
    const cJSON *v;
    const char *upn, *forge;
    enum jwt_forge f = JWT_GOOD;
    long expires_in = 3599;
    char err[256];
    char *tok;
    cJSON *o;
    bool found = false;

    if (strcmp(r->method, "POST") != 0)
        return cerr(r, 405, "use POST");
    if (!cJSON_IsObject(body) || (upn = str_member(body, "upn")) == NULL)
        return cerr(r, 400,
                    "body must be {\"upn\": ..., \"aud\", \"mfa\", \"expires_in\", "
                    "\"tid\", \"deviceid\", \"forge\"}");
    v = cJSON_GetObjectItemCaseSensitive(body, "expires_in");
    if (v != NULL) {
        if (!cJSON_IsNumber(v) || v->valuedouble < -86400 || v->valuedouble > 86400)
            return cerr(r, 400, "expires_in must be -86400..86400");
        expires_in = (long)v->valuedouble;
    }
    forge = str_member(body, "forge");
    for (size_t i = 0; forge != NULL && i < 4; i++) {
        if (strcmp(forge, forges[i]) == 0) {
            f = (enum jwt_forge)i;
            found = true;
        }
    }
    if (forge != NULL && !found)
        return cerr(r, 400, "forge must be none, bad_signature, other_key or alg_none");
    tok = oauth_mint_for_test(
        upn, str_member(body, "aud"), cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "mfa")),
        expires_in, str_member(body, "tid"), str_member(body, "deviceid"), f, err, sizeof(err));
    if (tok == NULL)
        return cerr(r, 400, err);
    o = cJSON_CreateObject();
    if (o != NULL)
        cJSON_AddStringToObject(o, "access_token", tok);
    lj_secret_free(tok);
    return ok_json(r, o);
}

static enum MHD_Result
refresh_tokens(struct sim_req *r, cJSON *body, const char *action)
{
    const char *upn = cJSON_IsObject(body) ? str_member(body, "upn") : NULL;
    char oid[40] = "";
    size_t n;
    struct sim_user *u;
    cJSON *o;

    if (strcmp(r->method, "POST") != 0)
        return cerr(r, 405, "use POST");
    if (strcmp(action, "revoke") != 0 && strcmp(action, "expire") != 0)
        return cerr(r, 404, "no such action (revoke, expire)");
    pthread_mutex_lock(&g_sim.lock);
    u = upn != NULL ? tenant_user_by_upn(g_sim.t, upn) : NULL;
    if (u != NULL)
        snprintf(oid, sizeof(oid), "%s", u->oid);
    n = (upn != NULL && u == NULL)
            ? 0
            : state_revoke_refresh(upn != NULL ? oid : NULL, strcmp(action, "expire") == 0);
    /* revoking a user's sessions also revokes their PRTs (Graph user-revokesigninsessions) */
    if (strcmp(action, "revoke") == 0 && (upn == NULL || u != NULL))
        prt_revoke_user(upn != NULL ? oid : NULL);
    pthread_mutex_unlock(&g_sim.lock);
    if (upn != NULL && u == NULL)
        return cerr(r, 404, "no such user");
    o = cJSON_CreateObject();
    if (o != NULL)
        cJSON_AddNumberToObject(o, "count", (double)n);
    return ok_json(r, o);
}

static enum MHD_Result
faults(struct sim_req *r, cJSON *body)
{
    char id[16], err[256];
    cJSON *o;

    if (strcmp(r->method, "GET") == 0)
        return ok_json(r, srv_faults_json());
    if (strcmp(r->method, "DELETE") == 0) {
        srv_faults_clear();
        return ok_empty(r);
    }
    if (strcmp(r->method, "POST") != 0)
        return cerr(r, 405, "use GET, POST or DELETE");
    if (!srv_fault_add(body, id, sizeof(id), err, sizeof(err)))
        return cerr(r, 400, err);
    o = cJSON_CreateObject();
    if (o != NULL)
        cJSON_AddStringToObject(o, "id", id);
    return ok_json(r, o);
}

static enum MHD_Result
enrollments(struct sim_req *r, const char *id)
{
    cJSON *out = NULL;
    bool ok = false;

    if (strcmp(r->method, "GET") == 0) {
        pthread_mutex_lock(&g_sim.lock);
        if (id == NULL) {
            out = cJSON_CreateArray();
            for (size_t i = 0; out != NULL && i < g_sim.nenr; i++)
                cJSON_AddItemToArray(out, state_enrollment_json(g_sim.enr[i]));
            ok = true;
        } else {
            for (size_t i = 0; i < g_sim.nenr && !ok; i++) {
                if (sim_streq_ci(g_sim.enr[i]->id, id) ||
                    sim_streq_ci(g_sim.enr[i]->device_id, id)) {
                    out = state_enrollment_json(g_sim.enr[i]);
                    ok = true;
                }
            }
        }
        pthread_mutex_unlock(&g_sim.lock);
        return ok ? ok_json(r, out) : cerr(r, 404, "no such enrollment");
    }
    if (strcmp(r->method, "DELETE") != 0)
        return cerr(r, 405, "use GET or DELETE");
    pthread_mutex_lock(&g_sim.lock);
    if (id == NULL) {
        state_clear_enrollments();
        ok = true;
    } else {
        ok = state_delete_enrollment(id);
    }
    pthread_mutex_unlock(&g_sim.lock);
    if (ok)
        lj_log(LJ_LOG_INFO, MOD, "event=enrollment_deleted id=%s", id != NULL ? id : "all");
    return ok ? ok_empty(r) : cerr(r, 404, "no such enrollment");
}

static enum MHD_Result
state(struct sim_req *r)
{
    cJSON *o;

    pthread_mutex_lock(&g_sim.lock);
    o = tenant_settings_json(g_sim.t);
    if (o != NULL) {
        cJSON_AddNumberToObject(o, "users", (double)g_sim.t->nusers);
        cJSON_AddNumberToObject(o, "devices", (double)g_sim.ndev);
        cJSON_AddNumberToObject(o, "device_codes", (double)g_sim.ndc);
        cJSON_AddNumberToObject(o, "refresh_tokens", (double)g_sim.nrt);
        cJSON_AddNumberToObject(o, "prts", (double)prt_count());
        cJSON_AddNumberToObject(o, "enrollments", (double)g_sim.nenr);
    }
    pthread_mutex_unlock(&g_sim.lock);
    return ok_json(r, o);
}

enum MHD_Result
control_handle(struct sim_req *r)
{
    char buf[1024];
    char *seg[6];
    size_t n = 0;
    char *save = NULL, *tok;
    cJSON *body = NULL;
    enum MHD_Result res;

    if (!is_loopback_peer(r))
        return cerr(r, 403, "control API is loopback only");
    snprintf(buf, sizeof(buf), "%s", r->path);
    for (tok = strtok_r(buf, "/", &save); tok != NULL && n < 5; tok = strtok_r(NULL, "/", &save))
        seg[n++] = tok;
    if (tok != NULL || n < 2 || strcmp(seg[0], "control") != 0)
        return cerr(r, 404, "unknown control route");
    if (r->body.len > 0) {
        body = srv_body_json(r);
        if (body == NULL)
            return cerr(r, 400, "body is not valid JSON");
    }
    if (n == 2 && strcmp(seg[1], "health") == 0)
        res = ok_empty(r);
    else if (n == 2 && strcmp(seg[1], "state") == 0)
        res = state(r);
    else if (n == 2 && strcmp(seg[1], "reset") == 0)
        res = strcmp(r->method, "POST") == 0 ? reset_all(r) : cerr(r, 405, "use POST");
    else if (n == 2 && strcmp(seg[1], "device-settings") == 0)
        res = settings(r, body, tenant_apply_device_settings, "device_settings", "device_settings");
    else if (n == 2 && strcmp(seg[1], "conditional-access") == 0)
        res = settings(r, body, tenant_apply_ca, "conditional_access", "conditional_access");
    else if (n == 2 && strcmp(seg[1], "login") == 0)
        res = settings(r, body, tenant_apply_login, "login", "login");
    else if (n == 2 && strcmp(seg[1], "intune") == 0)
        res = settings(r, body, tenant_apply_intune, "intune", "intune");
    else if (n == 3 && strcmp(seg[1], "prt") == 0 && strcmp(seg[2], "secrets") == 0)
        res = prt_secrets(r);
    else if (n == 2 && strcmp(seg[1], "prt") == 0)
        res = settings(r, body, tenant_apply_prt, "prt", "prt");
    else if (strcmp(seg[1], "enrollments") == 0 && n <= 3)
        res = enrollments(r, n == 3 ? seg[2] : NULL);
    else if (strcmp(seg[1], "users") == 0 && n <= 3)
        res = users(r, body, n == 3 ? seg[2] : NULL);
    else if (strcmp(seg[1], "devices") == 0 && n <= 3)
        res = devices(r, body, n == 3 ? seg[2] : NULL);
    else if (n == 2 && strcmp(seg[1], "devicecodes") == 0)
        res = devicecodes_list(r);
    else if (n == 3 && strcmp(seg[1], "devicecode") == 0)
        res = devicecode(r, body, seg[2]);
    else if (n == 2 && strcmp(seg[1], "faults") == 0)
        res = faults(r, body);
    else if (n == 2 && strcmp(seg[1], "requests") == 0) {
        if (strcmp(r->method, "DELETE") == 0) {
            srv_log_clear();
            res = ok_empty(r);
        } else {
            res = ok_json(r, srv_log_json(srv_query(r, "path_prefix")));
        }
    } else if (n == 2 && strcmp(seg[1], "tokens") == 0)
        res = tokens(r, body);
    else if (n == 3 && strcmp(seg[1], "refresh-tokens") == 0)
        res = refresh_tokens(r, body, seg[2]);
    else
        res = cerr(r, 404, "unknown control route");
    cJSON_Delete(body);
    return res;
}
