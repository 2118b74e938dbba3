/*
 * prt.c — the Primary Refresh Token grants of login.microsoftonline.com (see prt.h).
 *
 * Wire shapes follow [MS-OAPXBC] 3.1.5.1.2/3.1.5.1.3 (nonce, PRT request and
 * answer), 3.2.5.1.2 (session-key-signed requests), ROADtools roadlib
 * deviceauth.py (get_prt_with_refresh_token, get_prt_with_password,
 * decrypt_jwe_with_transport_key, renew_prt, aad_brokerplugin_prt_auth,
 * decrypt_auth_response) and AADInternals PRT.ps1 / PRT_Utils.ps1
 * (Get-AADIntUserPRTToken, New-AADIntUserPRTToken, Decrypt-JWE).
 *
 * Checks, in order, for an RS256 (device key) request: windows_api_version
 * 2.0/2.2, the JWT's shape, x5c a certificate signed by the DRS device CA,
 * the signature by that certificate's key, the nonce, the device (deleted
 * 700003, disabled 135011, authentication not ready 50155), then the
 * refresh token or password.  For an HS256 (session key) request: the PRT,
 * the kdf_ver 2 (or 1) signature, the nonce, the device, the user.
 *
 * Error codes and texts: Learn "Microsoft Entra authentication and
 * authorization error codes" (140000 InvalidRequestNonce, 140001
 * InvalidSessionKey, 50155 DeviceAuthenticationFailed, 135011 "Device used
 * during the authentication is disabled.", 700003 "Device object was not
 * found in the tenant '…' directory."), as himmelblau's aadsts_err_gen.rs
 * lists them.
 */
#include "hw-sim/entra-sim/prt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hw-sim/entra-sim/jwt.h"
#include "hw-sim/entra-sim/oauth.h"
#include "hw-sim/entra-sim/pki.h"
#include "hw-sim/entra-sim/tenant.h"
#include "platform/common/b64.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"

#define MOD "prt"
#define NONCE_RING 4096
#define PRT_MAX 100000
#define REQUEST_MAX (16 * 1024)
#define CTX_LEN 24
#define CLIENT_BROKER "29d9ed98-a469-4536-ade2-f981bc1d605e"
#define CLIENT_PRT_PASSWORD "38aa3b87-a06d-4817-b275-7a316988d93b"
#define INTUNE_RESOURCE "https://enrollment.manage.microsoft.com/"

struct nonce {
    char v[64];
    time_t issued;
};

struct prt_entry {
    char token[128];
    char device_id[37];
    char user_oid[37];
    unsigned char skey[32];
    bool mfa;
    bool revoked; /* the user's sign-in sessions were revoked */
    time_t expires;
};

/*
 * The keys this simulator made or derived lately (session keys, kdf keys),
 * for tests that prove the agent never lets one out (GET
 * /control/prt/secrets).  A simulator of the cloud side may show its own
 * keys; the device never could.
 */
#define SEEN_RING 64
static unsigned char g_seen[SEEN_RING][32];
static bool g_seen_session[SEEN_RING];
static size_t g_seen_next, g_seen_n;

/* All guarded by g_sim.lock. */
static struct nonce g_nonces[NONCE_RING];
static size_t g_nonce_next;
static struct prt_entry **g_prt;
static size_t g_nprt, g_capprt;

size_t
prt_count(void)
{
    size_t n = 0;
    time_t now = time(NULL);

    for (size_t i = 0; i < g_nprt; i++)
        n += g_prt[i]->expires > now;
    return n;
}

void
prt_clear(void)
{
    for (size_t i = 0; i < g_nprt; i++)
        lj_secure_free(g_prt[i], sizeof(*g_prt[i]));
    free(g_prt);
    g_prt = NULL;
    g_nprt = g_capprt = 0;
    lj_secure_zero(g_nonces, sizeof(g_nonces));
    g_nonce_next = 0;
    lj_secure_zero(g_seen, sizeof(g_seen));
    g_seen_next = g_seen_n = 0;
}

/* Remember key (32 bytes) for /control/prt/secrets (g_sim.lock held). */
static void
seen_add(const unsigned char key[32], bool session)
{
    memcpy(g_seen[g_seen_next], key, 32);
    g_seen_session[g_seen_next] = session;
    g_seen_next = (g_seen_next + 1) % SEEN_RING;
    if (g_seen_n < SEEN_RING)
        g_seen_n++;
}

cJSON *
prt_secrets_json(void)
{
    cJSON *o = cJSON_CreateObject(), *sk, *dk;
    char hex[65];

    if (o == NULL)
        return NULL;
    sk = cJSON_AddArrayToObject(o, "session_keys");
    dk = cJSON_AddArrayToObject(o, "derived_keys");
    for (size_t i = 0; sk != NULL && dk != NULL && i < g_seen_n; i++) {
        for (size_t k = 0; k < 32; k++)
            snprintf(hex + 2 * k, 3, "%02x", g_seen[i][k]);
        cJSON_AddItemToArray(g_seen_session[i] ? sk : dk, cJSON_CreateString(hex));
    }
    lj_secure_zero(hex, sizeof(hex));
    return o;
}

size_t
prt_revoke_user(const char *oid)
{
    size_t n = 0;

    for (size_t i = 0; i < g_nprt; i++) {
        if (oid != NULL && !sim_streq_ci(g_prt[i]->user_oid, oid))
            continue;
        g_prt[i]->revoked = true;
        n++;
    }
    return n;
}

static char *
b64u(const void *p, size_t n)
{
    return lj_b64_encode(p, n, LJ_B64_URL, NULL);
}

/* ---- nonces and PRTs (g_sim.lock held) ---- */

static bool
nonce_valid(const char *n, long lifetime)
{
    time_t now = time(NULL);

    if (n == NULL || n[0] == '\0' || strlen(n) >= sizeof(g_nonces[0].v))
        return false;
    for (size_t i = 0; i < NONCE_RING; i++)
        if (g_nonces[i].v[0] != '\0' && strcmp(g_nonces[i].v, n) == 0)
            return now >= g_nonces[i].issued && now - g_nonces[i].issued < lifetime;
    return false;
}

static struct prt_entry *
prt_find(const char *tok)
{
    size_t n = tok != NULL ? strlen(tok) : 0;

    for (size_t i = 0; n > 0 && i < g_nprt; i++)
        if (strlen(g_prt[i]->token) == n && lj_secure_equal(g_prt[i]->token, tok, n))
            return g_prt[i];
    return NULL;
}

/* Drop expired PRTs, then store a new one (copied); false when full. */
static bool
prt_store(const struct prt_entry *e)
{
    time_t now = time(NULL);
    struct prt_entry *c;

    for (size_t i = 0; i < g_nprt;) {
        if (g_prt[i]->expires <= now) {
            lj_secure_free(g_prt[i], sizeof(*g_prt[i]));
            g_prt[i] = g_prt[--g_nprt];
        } else {
            i++;
        }
    }
    if (g_nprt >= PRT_MAX)
        return false;
    if (g_nprt == g_capprt) {
        size_t nc = g_capprt != 0 ? g_capprt * 2 : 64;
        struct prt_entry **na = realloc(g_prt, nc * sizeof(*na));
        if (na == NULL)
            return false;
        g_prt = na;
        g_capprt = nc;
    }
    if ((c = malloc(sizeof(*c))) == NULL)
        return false;
    *c = *e;
    g_prt[g_nprt++] = c;
    return true;
}

/* ---- answers ---- */

struct verdict {
    const char *error;
    long code;
    char msg[400];
};

static void set_v(struct verdict *v, const char *error, long code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
set_v(struct verdict *v, const char *error, long code, const char *fmt, ...)
{
    va_list ap;

    v->error = error;
    v->code = code;
    va_start(ap, fmt);
    vsnprintf(v->msg, sizeof(v->msg), fmt, ap);
    va_end(ap);
}

static enum MHD_Result
deny(struct sim_req *r, const struct verdict *v)
{
    lj_log(LJ_LOG_INFO, MOD, "event=prt_refused request_id=%s code=%ld", r->request_id, v->code);
    return srv_oauth_error(r, 400, v->error, v->code, NULL, "%s", v->msg);
}

enum MHD_Result
prt_srv_challenge(struct sim_req *r)
{
    unsigned char raw[32];
    char *e;
    cJSON *o;

    sim_random(raw, sizeof(raw));
    e = b64u(raw, sizeof(raw));
    o = cJSON_CreateObject();
    if (e == NULL || o == NULL) {
        free(e);
        cJSON_Delete(o);
        return srv_oauth_error(r, 500, "server_error", 90033, NULL,
                               "A transient error has occurred. Please try again.");
    }
    pthread_mutex_lock(&g_sim.lock);
    snprintf(g_nonces[g_nonce_next].v, sizeof(g_nonces[0].v), "AwABAAAA%s", e);
    g_nonces[g_nonce_next].issued = time(NULL);
    cJSON_AddStringToObject(o, "Nonce", g_nonces[g_nonce_next].v);
    g_nonce_next = (g_nonce_next + 1) % NONCE_RING;
    pthread_mutex_unlock(&g_sim.lock);
    free(e);
    return srv_reply_json(r, 200, o, NULL);
}

/*
 * The device gate of every device-authenticated request (lock held): the device object
 * exists (else 700003), is enabled (else 135011), and device authentication is ready
 * (the control API's / tenant's "not ready" countdown, else 50155).
 */
static bool
device_gate(struct sim_device *d, struct verdict *v)
{
    if (d == NULL) {
        set_v(v, "invalid_grant", 700003,
              "Device object was not found in the tenant '%s' directory.", g_sim.t->id);
        return false;
    }
    if (d->disabled) {
        set_v(v, "invalid_grant", 135011, "Device used during the authentication is disabled.");
        return false;
    }
    if (d->auth_pending > 0) {
        d->auth_pending--;
        set_v(v, "invalid_grant", 50155, "Device authentication failed for this user.");
        return false;
    }
    return true;
}

/* A decoded compact JWS. */
struct jws {
    cJSON *h, *p;
    unsigned char *pbytes, *sig;
    size_t plen, slen;
    size_t signed_len; /* length of "header.payload" */
};

static void
jws_free(struct jws *j)
{
    cJSON_Delete(j->h);
    cJSON_Delete(j->p);
    if (j->pbytes != NULL)
        lj_secure_free(j->pbytes, j->plen);
    free(j->sig);
    memset(j, 0, sizeof(*j));
}

static bool
jws_parse(const char *tok, struct jws *j)
{
    const char *d1, *d2;
    unsigned char *hb = NULL;
    size_t hl = 0, len = strlen(tok);

    memset(j, 0, sizeof(*j));
    if (len == 0 || len > REQUEST_MAX)
        return false;
    d1 = strchr(tok, '.');
    d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
    if (d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') != NULL)
        return false;
    if (!lj_b64_decode(tok, (size_t)(d1 - tok), LJ_B64_URL, &hb, &hl) ||
        !lj_b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), LJ_B64_URL, &j->pbytes, &j->plen) ||
        !lj_b64_decode(d2 + 1, strlen(d2 + 1), LJ_B64_URL, &j->sig, &j->slen) || j->slen == 0) {
        free(hb);
        return false;
    }
    j->h = cJSON_ParseWithLength((const char *)hb, hl);
    free(hb);
    j->p = cJSON_ParseWithLength((const char *)j->pbytes, j->plen);
    j->signed_len = (size_t)(d2 - tok);
    return cJSON_IsObject(j->h) && cJSON_IsObject(j->p);
}

static const char *
jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The user behind a PRT request's refresh token or password (lock held). */
static struct sim_user *
prt_user(const cJSON *p, bool *mfa, struct verdict *v)
{
    const char *gt = jstr(p, "grant_type");
    struct sim_user *u = NULL;

    *mfa = false;
    if (gt != NULL && strcmp(gt, "refresh_token") == 0) {
        const char *rt = jstr(p, "refresh_token");
        struct sim_refresh *ref = rt != NULL ? state_refresh(rt) : NULL;
        if (ref == NULL) {
            set_v(v, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.");
        } else if (ref->revoked) {
            set_v(v, "invalid_grant", 50173,
                  "The provided grant has expired due to it being revoked, a fresh auth token is "
                  "needed. The user might have changed or reset their password.");
        } else if (time(NULL) >= ref->expires) {
            set_v(v, "invalid_grant", 700082, "The refresh token has expired due to inactivity.");
        } else if ((u = tenant_user_by_oid(g_sim.t, ref->user_oid)) == NULL) {
            set_v(v, "invalid_grant", 50034,
                  "The user account {EUII Hidden} does not exist in the %s directory.",
                  g_sim.t->id);
        } else {
            *mfa = ref->mfa;
        }
    } else if (gt != NULL && strcmp(gt, "password") == 0) {
        const char *un = jstr(p, "username"), *pw = jstr(p, "password");
        size_t a = pw != NULL ? strlen(pw) : 0;
        u = un != NULL ? tenant_user_by_upn(g_sim.t, un) : NULL;
        if (u == NULL) {
            set_v(v, "invalid_grant", 50034,
                  "The user account {EUII Hidden} does not exist in the %s directory. To sign "
                  "into this application, the account must be added to the directory.",
                  g_sim.t->id);
        } else if (pw == NULL || a != strlen(u->password) || !lj_secure_equal(pw, u->password, a)) {
            set_v(v, "invalid_grant", 50126,
                  "Error validating credentials due to invalid username or password.");
            u = NULL;
        }
    } else {
        set_v(v, "unsupported_grant_type", 70003,
              "The app requested an unsupported grant type '%.64s'.", gt != NULL ? gt : "");
    }
    if (u != NULL && !u->enabled) {
        set_v(v, "invalid_grant", 50057, "The user account is disabled.");
        u = NULL;
    } else if (u != NULL && u->locked) {
        set_v(v, "invalid_grant", 50053,
              "Your account is locked because you've tried to sign in too many times with an "
              "incorrect user ID or password.");
        u = NULL;
    }
    return u;
}

/* The user data an answer needs, copied out under the lock. */
struct who {
    char oid[37], upn[256], name[256], tid[40], device_id[37];
    bool mfa, mdm;
    long at_life, prt_life;
};

static void
copy_who(const struct sim_user *u, bool mfa, const char *device_id, struct who *w)
{
    snprintf(w->oid, sizeof(w->oid), "%s", u->oid);
    snprintf(w->upn, sizeof(w->upn), "%s", u->upn);
    snprintf(w->name, sizeof(w->name), "%s", u->display_name);
    snprintf(w->tid, sizeof(w->tid), "%s", g_sim.t->id);
    snprintf(w->device_id, sizeof(w->device_id), "%s", device_id);
    w->mfa = mfa;
    w->mdm = tenant_mdm_in_scope(g_sim.t, u);
    w->at_life = g_sim.t->at_lifetime;
    w->prt_life = g_sim.t->prt.lifetime;
}

static char *
mint(const struct who *w, const char *aud, const char *client_id, bool id_token, bool deviceid)
{
    struct jwt_claims c;
    time_t now = time(NULL);

    memset(&c, 0, sizeof(c));
    c.aud = id_token ? client_id : aud;
    c.tid = w->tid;
    c.oid = w->oid;
    c.upn = w->upn;
    c.name = w->name;
    c.appid = client_id;
    c.scp = id_token ? NULL : "user_impersonation";
    c.mfa = w->mfa;
    c.id_token = id_token;
    c.mdm = id_token && w->mdm;
    c.deviceid = deviceid ? w->device_id : NULL;
    c.iat = now;
    c.nbf = now;
    c.exp = now + w->at_life;
    return jwt_mint(g_sim.token_key, g_sim.token_kid, &c, JWT_GOOD, NULL);
}

static void
add_client_info(cJSON *o, const struct who *w)
{
    char info[160], *ci;

    snprintf(info, sizeof(info), "{\"uid\":\"%s\",\"utid\":\"%s\"}", w->oid, w->tid);
    ci = b64u(info, strlen(info));
    if (ci != NULL)
        cJSON_AddStringToObject(o, "client_info", ci);
    free(ci);
}

static void
add_num_str(cJSON *o, const char *k, long long v)
{
    char num[32];

    snprintf(num, sizeof(num), "%lld", v);
    cJSON_AddStringToObject(o, k, num);
}

/* A new PRT for w bound to skey (lock not held).  tok gets it; false when the store is full. */
static bool
new_prt(const struct who *w, const unsigned char skey[32], char tok[128])
{
    struct prt_entry e;
    unsigned char raw[48];
    char *b;
    bool ok;

    memset(&e, 0, sizeof(e));
    sim_random(raw, sizeof(raw));
    b = b64u(raw, sizeof(raw));
    lj_secure_zero(raw, sizeof(raw));
    if (b == NULL)
        return false;
    snprintf(e.token, sizeof(e.token), "0.AS.PRT%s", b);
    lj_secret_free(b);
    snprintf(e.device_id, sizeof(e.device_id), "%s", w->device_id);
    snprintf(e.user_oid, sizeof(e.user_oid), "%s", w->oid);
    memcpy(e.skey, skey, 32);
    e.mfa = w->mfa;
    e.expires = time(NULL) + w->prt_life;
    pthread_mutex_lock(&g_sim.lock);
    ok = prt_store(&e);
    seen_add(skey, true);
    pthread_mutex_unlock(&g_sim.lock);
    memcpy(tok, e.token, sizeof(e.token));
    lj_secure_zero(&e, sizeof(e));
    return ok;
}

/* The answer to a device-key request: ROADtools get_prt_with_refresh_token reads
 * refresh_token and session_key_jwe; AADInternals Get-AADIntUserPRTToken the same. */
static enum MHD_Result
answer_prt(struct sim_req *r, const struct who *w, const char *client_id, const unsigned char *tkey,
           size_t tkey_len)
{
    unsigned char skey[32], ek[512];
    size_t eklen = 0;
    char prt[128] = "", *jwe = NULL, *idt = NULL;
    cJSON *o = NULL;
    enum MHD_Result ret;
    time_t now = time(NULL);
    static const char *const nocache[] = {"Pragma", "no-cache", NULL};

    sim_random(skey, sizeof(skey));
    if (!prt_oaep_to_rsa1(tkey, tkey_len, skey, sizeof(skey), ek, &eklen) ||
        (jwe = prt_jwe_gcm("{\"enc\":\"A256GCM\",\"alg\":\"RSA-OAEP\"}", ek, eklen, skey, "{}")) ==
            NULL ||
        (idt = mint(w, NULL, client_id, true, false)) == NULL || !new_prt(w, skey, prt) ||
        (o = cJSON_CreateObject()) == NULL) {
        lj_secure_zero(skey, sizeof(skey));
        lj_secret_free(jwe);
        lj_secret_free(idt);
        lj_secure_zero(prt, sizeof(prt));
        return srv_oauth_error(r, 500, "server_error", 90033, NULL,
                               "A transient error has occurred. Please try again.");
    }
    lj_secure_zero(skey, sizeof(skey));
    cJSON_AddStringToObject(o, "token_type", "pop");
    add_num_str(o, "expires_in", w->prt_life - 1);
    add_num_str(o, "ext_expires_in", w->prt_life - 1);
    add_num_str(o, "expires_on", (long long)now + w->prt_life - 1);
    cJSON_AddStringToObject(o, "refresh_token", prt);
    cJSON_AddNumberToObject(o, "refresh_token_expires_in", (double)(w->prt_life - 1));
    cJSON_AddStringToObject(o, "session_key_jwe", jwe);
    cJSON_AddStringToObject(o, "id_token", idt);
    add_client_info(o, w);
    lj_log(LJ_LOG_INFO, MOD, "event=prt_issued device_id=%s upn=%s", w->device_id, w->upn);
    ret = srv_reply_json(r, 200, o, nocache);
    lj_secret_free(jwe);
    lj_secret_free(idt);
    lj_secure_zero(prt, sizeof(prt));
    return ret;
}

static enum MHD_Result
device_key_request(struct sim_req *r, struct jws *j, const char *tok)
{
    const cJSON *x5c = cJSON_GetObjectItemCaseSensitive(j->h, "x5c");
    const char *cert_b64 = NULL, *client_id = jstr(j->p, "client_id");
    unsigned char *der = NULL, *tkey = NULL;
    size_t der_len = 0, tkey_len = 0;
    struct der subject, spki;
    size_t ca_spki_len;
    const unsigned char *ca_spki = pki_key_spki(g_sim.drs_ca_key, &ca_spki_len);
    struct verdict v = {0};
    struct sim_device *d = NULL;
    struct sim_user *u;
    struct who w;
    bool ok = false, mfa = false;
    enum MHD_Result ret;

    /* x5c: an array (RFC 7515 4.1.6, [MS-OAPXBC] example, himmelblau) or a plain string
     * (ROADtools, AADInternals) of standard base64 DER. */
    if (cJSON_IsArray(x5c) && cJSON_IsString(cJSON_GetArrayItem(x5c, 0)))
        cert_b64 = cJSON_GetArrayItem(x5c, 0)->valuestring;
    else if (cJSON_IsString(x5c))
        cert_b64 = x5c->valuestring;
    if (cert_b64 == NULL ||
        !lj_b64_decode(cert_b64, strlen(cert_b64), LJ_B64_STD, &der, &der_len)) {
        set_v(&v, "invalid_request", 9002313, "Invalid request. Request is malformed or invalid.");
        goto fail;
    }
    if (!prt_cert_issued_by(der, der_len, ca_spki, ca_spki_len) ||
        !pki_cert_parts(der, der_len, &subject, &spki)) {
        lj_log(LJ_LOG_INFO, MOD, "event=prt_device_auth reason=\"x5c not issued by the DRS CA\"");
        set_v(&v, "invalid_grant", 50155, "Device authentication failed for this user.");
        goto fail;
    }
    if (!pki_rs256_verify(spki.p, spki.n, tok, j->signed_len, j->sig, j->slen)) {
        lj_log(LJ_LOG_INFO, MOD, "event=prt_device_auth reason=\"signature invalid\"");
        set_v(&v, "invalid_grant", 50155, "Device authentication failed for this user.");
        goto fail;
    }
    if (client_id == NULL || client_id[0] == '\0') {
        set_v(&v, "invalid_request", 900144,
              "The request body must contain the following parameter: 'client_id'.");
        goto fail;
    }
    pthread_mutex_lock(&g_sim.lock);
    if (jstr(j->p, "request_nonce") == NULL) {
        set_v(&v, "invalid_request", 140000, "InvalidRequestNonce - Request nonce isn't provided.");
    } else if (!nonce_valid(jstr(j->p, "request_nonce"), g_sim.t->prt.nonce_lifetime)) {
        set_v(&v, "invalid_grant", 140000,
              "InvalidRequestNonce - Request nonce is not valid or has expired. Get a new "
              "nonce with grant_type=srv_challenge.");
    } else {
        /* The certificate is ours; the device that holds exactly it, if it still exists. */
        for (size_t i = 0; d == NULL && i < g_sim.ndev; i++)
            if (g_sim.dev[i]->ready && g_sim.dev[i]->cert_len == der_len &&
                memcmp(g_sim.dev[i]->cert, der, der_len) == 0)
                d = g_sim.dev[i];
        if (device_gate(d, &v) && (u = prt_user(j->p, &mfa, &v)) != NULL) {
            copy_who(u, mfa, d->id, &w);
            if (d->tkey != NULL && (tkey = malloc(d->tkey_len)) != NULL) {
                memcpy(tkey, d->tkey, d->tkey_len);
                tkey_len = d->tkey_len;
            }
            ok = true;
        }
    }
    pthread_mutex_unlock(&g_sim.lock);
    if (!ok)
        goto fail;
    if (tkey == NULL) {
        set_v(&v, "invalid_grant", 50155, "Device authentication failed for this user.");
        goto fail;
    }
    ret = answer_prt(r, &w, client_id, tkey, tkey_len);
    free(der);
    free(tkey);
    return ret;
fail:
    free(der);
    free(tkey);
    return deny(r, &v);
}

/* The audience a session-key request asks for: resource, or the resource part of scope. */
static bool
pick_audience(const cJSON *p, char *aud, size_t audsz)
{
    static const char *const known[] = {
        INTUNE_RESOURCE,
        "https://enrollment.manage.microsoft.com",
        "urn:ms-drs:enterpriseregistration.windows.net",
        "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9",
        "d4ebce55-015a-49b5-a083-c84d1797ae8c", /* Microsoft Intune Enrollment */
        "0000000a-0000-0000-c000-000000000000", /* Microsoft Intune */
        "00000003-0000-0000-c000-000000000000", /* Microsoft Graph */
        "https://graph.microsoft.com",
        "00000002-0000-0000-c000-000000000000", /* Azure AD Graph */
        "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", /* Azure Portal */
        NULL};
    const char *res = jstr(p, "resource"), *scope = jstr(p, "scope");

    aud[0] = '\0';
    if (res != NULL) {
        snprintf(aud, audsz, "%s", res);
    } else if (scope != NULL) {
        char copy[512], *save = NULL, *t, *slash;
        snprintf(copy, sizeof(copy), "%s", scope);
        for (t = strtok_r(copy, " ", &save); t != NULL && aud[0] == '\0';
             t = strtok_r(NULL, " ", &save)) {
            slash = strrchr(t, '/');
            if (slash != NULL && slash != t) {
                *slash = '\0';
                snprintf(aud, audsz, "%s", t);
            }
        }
    }
    for (size_t i = 0; known[i] != NULL; i++)
        if (strcmp(known[i], aud) == 0)
            return true;
    return false;
}

/* Is word one of the space-separated scopes? */
static bool
scope_has(const char *scope, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = scope; p != NULL && *p != '\0';) {
        const char *e = strchr(p, ' ');
        size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, word, n) == 0)
            return true;
        p = e != NULL ? e + 1 : NULL;
    }
    return false;
}

/* prt_derive for a request, the key remembered for /control/prt/secrets (lock held). */
static bool
derive_seen(const unsigned char skey[32], const unsigned char *ctx, size_t ctxlen,
            const struct jws *j, int kdf, unsigned char key[32])
{
    if (!prt_derive(skey, 32, ctx, ctxlen, j->pbytes, j->plen, kdf, key))
        return false;
    seen_add(key, false);
    return true;
}

/* Encrypt the JSON answer for a session-key request (ROADtools decrypt_auth_response). */
static enum MHD_Result
reply_jwe(struct sim_req *r, const unsigned char skey[32], cJSON *o)
{
    unsigned char ctx[CTX_LEN], key[32];
    char hdr[160], *ctx64, *pt, *jwe = NULL;
    static const char *const nocache[] = {"Pragma", "no-cache", NULL};

    sim_random(ctx, sizeof(ctx));
    ctx64 = lj_b64_encode(ctx, sizeof(ctx), LJ_B64_STD, NULL);
    pt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (ctx64 != NULL && pt != NULL) {
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"dir\",\"enc\":\"A256GCM\",\"ctx\":\"%s\"}", ctx64);
        prt_kdf(skey, 32, ctx, sizeof(ctx), key);
        pthread_mutex_lock(&g_sim.lock);
        seen_add(key, false);
        pthread_mutex_unlock(&g_sim.lock);
        jwe = prt_jwe_gcm(hdr, NULL, 0, key, pt);
        lj_secure_zero(key, sizeof(key));
    }
    free(ctx64);
    lj_secret_free(pt);
    if (jwe == NULL)
        return srv_oauth_error(r, 500, "server_error", 90033, NULL,
                               "A transient error has occurred. Please try again.");
    return srv_reply(r, 200, "application/jose", jwe, nocache);
}

static enum MHD_Result
session_key_request(struct sim_req *r, struct jws *j, const char *tok)
{
    const char *ctx64 = jstr(j->h, "ctx"), *client_id = jstr(j->p, "client_id");
    const char *scope = jstr(j->p, "scope");
    const cJSON *kv = cJSON_GetObjectItemCaseSensitive(j->h, "kdf_ver");
    unsigned char *ctx = NULL, skey[32], key[32], mac[32];
    size_t ctxlen = 0;
    int kdf = 1;
    struct verdict v = {0};
    struct prt_entry *e;
    struct sim_user *u;
    struct who w;
    char aud[256] = "", prt[128] = "", rt[128] = "", ca_msg[400];
    long ca_code = 0;
    bool ok = false, renew, have_aud;
    cJSON *o;
    char *at = NULL, *idt = NULL;

    memset(skey, 0, sizeof(skey));
    /* A new PRT is asked for by previous_refresh_token (ROADtools renew_prt) or by the "aza"
     * scope (ROADtools aad_brokerplugin_prt_auth with renew_prt: scope "openid aza"). */
    renew = jstr(j->p, "previous_refresh_token") != NULL || scope_has(scope, "aza");
    have_aud = pick_audience(j->p, aud, sizeof(aud));
    if (ctx64 == NULL || !lj_b64_decode(ctx64, strlen(ctx64), LJ_B64_STD, &ctx, &ctxlen) ||
        ctxlen != CTX_LEN) {
        set_v(&v, "invalid_request", 9002313, "Invalid request. Request is malformed or invalid.");
        goto fail;
    }
    if (kv != NULL) {
        if (!cJSON_IsNumber(kv) || (kv->valuedouble != 1 && kv->valuedouble != 2)) {
            set_v(&v, "invalid_request", 9002313,
                  "Invalid request. Request is malformed or invalid.");
            goto fail;
        }
        kdf = (int)kv->valuedouble;
    }
    if (client_id == NULL || client_id[0] == '\0') {
        set_v(&v, "invalid_request", 900144,
              "The request body must contain the following parameter: 'client_id'.");
        goto fail;
    }
    if (!renew && !have_aud) {
        set_v(&v, "invalid_resource", 500011,
              "The resource principal named %.200s was not found in the tenant. This can happen "
              "if the application has not been installed by the administrator of the tenant or "
              "consented to by any user in the tenant. You might have sent your authentication "
              "request to the wrong tenant.",
              aud);
        goto fail;
    }
    pthread_mutex_lock(&g_sim.lock);
    e = prt_find(jstr(j->p, "refresh_token"));
    if (e == NULL) {
        set_v(&v, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.");
    } else if (time(NULL) >= e->expires) {
        set_v(&v, "invalid_grant", 700082, "The refresh token has expired due to inactivity.");
    } else if (e->revoked) {
        /* Graph user-revokesigninsessions: every refresh token of the user, the PRT too */
        set_v(&v, "invalid_grant", 50173,
              "The provided grant has expired due to it being revoked, a fresh auth token is "
              "needed. The user might have changed or reset their password.");
    } else if (!derive_seen(e->skey, ctx, ctxlen, j, kdf, key) ||
               !prt_hmac256(key, 32, tok, j->signed_len, NULL, 0, mac) || j->slen != 32 ||
               !lj_secure_equal(mac, j->sig, 32)) {
        set_v(&v, "invalid_grant", 140001, "InvalidSessionKey - The session key isn't valid.");
    } else if (jstr(j->p, "request_nonce") == NULL) {
        set_v(&v, "invalid_request", 140000, "InvalidRequestNonce - Request nonce isn't provided.");
    } else if (!nonce_valid(jstr(j->p, "request_nonce"), g_sim.t->prt.nonce_lifetime)) {
        set_v(&v, "invalid_grant", 140000,
              "InvalidRequestNonce - Request nonce is not valid or has expired. Get a new "
              "nonce with grant_type=srv_challenge.");
    } else if (device_gate(state_device_by_id(e->device_id), &v)) {
        u = tenant_user_by_oid(g_sim.t, e->user_oid);
        if (u == NULL) {
            set_v(&v, "invalid_grant", 50034,
                  "The user account {EUII Hidden} does not exist in the %s directory.",
                  g_sim.t->id);
        } else if (!u->enabled) {
            set_v(&v, "invalid_grant", 50057, "The user account is disabled.");
        } else if (have_aud &&
                   !oauth_ca_check(aud, r->user_agent, &ca_code, ca_msg, sizeof(ca_msg))) {
            /* Conditional Access applies to PRT-signed token requests as to any grant */
            set_v(&v, "invalid_grant", ca_code, "%s", ca_msg);
        } else {
            copy_who(u, e->mfa, e->device_id, &w);
            memcpy(skey, e->skey, 32);
            ok = true;
        }
    }
    pthread_mutex_unlock(&g_sim.lock);
    lj_secure_zero(key, sizeof(key));
    free(ctx);
    ctx = NULL;
    if (!ok)
        goto fail;
    o = cJSON_CreateObject();
    idt = mint(&w, NULL, client_id, true, false);
    if (o == NULL || idt == NULL)
        goto oom;
    cJSON_AddStringToObject(o, "token_type", "Bearer");
    if (have_aud) {
        at = mint(&w, aud, client_id, false, true);
        if (at == NULL)
            goto oom;
        add_num_str(o, "expires_in", w.at_life);
        add_num_str(o, "ext_expires_in", w.at_life);
        add_num_str(o, "expires_on", (long long)time(NULL) + w.at_life);
        cJSON_AddStringToObject(o, "resource", aud);
        cJSON_AddStringToObject(o, "access_token", at);
        lj_log(LJ_LOG_INFO, MOD, "event=prt_token_issued device_id=%s upn=%s aud=%s", w.device_id,
               w.upn, aud);
    } else {
        add_num_str(o, "expires_in", w.at_life);
    }
    if (renew) {
        /* ROADtools renew_prt: the new PRT in refresh_token; the session key stays. */
        if (!new_prt(&w, skey, prt))
            goto oom;
        if (scope != NULL)
            cJSON_AddStringToObject(o, "scope", scope);
        cJSON_AddStringToObject(o, "refresh_token", prt);
        add_num_str(o, "refresh_token_expires_in", w.prt_life - 1);
        lj_log(LJ_LOG_INFO, MOD, "event=prt_renewed device_id=%s upn=%s", w.device_id, w.upn);
    } else {
        struct sim_refresh *ref = calloc(1, sizeof(*ref));
        unsigned char raw[48];
        char *b;
        sim_random(raw, sizeof(raw));
        b = b64u(raw, sizeof(raw));
        if (ref == NULL || b == NULL) {
            free(ref);
            lj_secret_free(b);
            goto oom;
        }
        snprintf(rt, sizeof(rt), "0.AS%s", b);
        lj_secret_free(b);
        snprintf(ref->token, sizeof(ref->token), "%s", rt);
        snprintf(ref->user_oid, sizeof(ref->user_oid), "%s", w.oid);
        snprintf(ref->client_id, sizeof(ref->client_id), "%s", client_id);
        ref->mfa = w.mfa;
        pthread_mutex_lock(&g_sim.lock);
        ref->expires = time(NULL) + g_sim.t->rt_lifetime;
        if (!state_add_refresh(ref)) {
            free(ref);
            rt[0] = '\0';
        }
        pthread_mutex_unlock(&g_sim.lock);
        if (rt[0] != '\0')
            cJSON_AddStringToObject(o, "refresh_token", rt);
    }
    cJSON_AddStringToObject(o, "id_token", idt);
    add_client_info(o, &w);
    lj_secret_free(at);
    lj_secret_free(idt);
    lj_secure_zero(prt, sizeof(prt));
    lj_secure_zero(rt, sizeof(rt));
    {
        enum MHD_Result ret = reply_jwe(r, skey, o);
        lj_secure_zero(skey, sizeof(skey));
        return ret;
    }
oom:
    cJSON_Delete(o);
    lj_secret_free(at);
    lj_secret_free(idt);
    lj_secure_zero(skey, sizeof(skey));
    lj_secure_zero(prt, sizeof(prt));
    lj_secure_zero(rt, sizeof(rt));
    return srv_oauth_error(r, 500, "server_error", 90033, NULL,
                           "A transient error has occurred. Please try again.");
fail:
    free(ctx);
    lj_secure_zero(skey, sizeof(skey));
    return deny(r, &v);
}

enum MHD_Result
prt_jwt_bearer(struct sim_req *r, const struct sim_form *form)
{
    const char *wav = sim_form_get(form, "windows_api_version");
    const char *req = sim_form_get(form, "request");
    const char *alg;
    struct jws j;
    struct verdict v = {0};
    enum MHD_Result ret;

    if (wav == NULL || wav[0] == '\0')
        return srv_oauth_error(r, 400, "invalid_request", 900144, NULL,
                               "The request body must contain the following parameter: "
                               "'windows_api_version'.");
    if (strcmp(wav, "2.0") != 0 && strcmp(wav, "2.2") != 0)
        return srv_oauth_error(r, 400, "invalid_request", 9002313, NULL,
                               "Invalid request. Request is malformed or invalid.");
    if (req == NULL || req[0] == '\0')
        return srv_oauth_error(r, 400, "invalid_request", 900144, NULL,
                               "The request body must contain the following parameter: "
                               "'request'.");
    if (!jws_parse(req, &j)) {
        jws_free(&j);
        set_v(&v, "invalid_request", 9002313, "Invalid request. Request is malformed or invalid.");
        return deny(r, &v);
    }
    alg = jstr(j.h, "alg");
    if (alg != NULL && strcmp(alg, "RS256") == 0) {
        ret = device_key_request(r, &j, req);
    } else if (alg != NULL && strcmp(alg, "HS256") == 0) {
        ret = session_key_request(r, &j, req);
    } else {
        set_v(&v, "invalid_request", 9002313, "Invalid request. Request is malformed or invalid.");
        ret = deny(r, &v);
    }
    jws_free(&j);
    return ret;
}
