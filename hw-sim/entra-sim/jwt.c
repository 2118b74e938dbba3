/*
 * jwt.c — see jwt.h.
 */
#include "hw-sim/entra-sim/jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha.h>

#include "hw-sim/entra-sim/pki.h"
#include "hw-sim/entra-sim/util.h"
#include "platform/common/b64.h"
#include "platform/common/secmem.h"

#define TOKEN_MAX (16 * 1024)

void
jwt_kid(const unsigned char *spki, size_t spki_len, char *out, size_t outsz)
{
    unsigned char h[WC_SHA_DIGEST_SIZE];
    char *e;

    wc_ShaHash(spki, (word32)spki_len, h);
    e = lj_b64_encode(h, sizeof(h), LJ_B64_URL, NULL);
    snprintf(out, outsz, "%s", e != NULL ? e : "sim");
    free(e);
}

static char *
b64url_json(cJSON *o)
{
    char *txt = cJSON_PrintUnformatted(o);
    char *e;

    if (txt == NULL)
        return NULL;
    e = lj_b64_encode(txt, strlen(txt), LJ_B64_URL, NULL);
    lj_secret_free(txt);
    return e;
}

char *
jwt_mint(struct pki_key *key, const char *kid, const struct jwt_claims *c, enum jwt_forge forge,
         struct pki_key *other_key)
{
    cJSON *h = NULL, *p = NULL, *amr;
    char *hb = NULL, *pb = NULL, *sb = NULL, *out = NULL;
    char iss[128];
    struct sim_buf signing = {0}, tok = {0};
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);

    h = cJSON_CreateObject();
    p = cJSON_CreateObject();
    if (h == NULL || p == NULL)
        goto out;
    cJSON_AddStringToObject(h, "typ", "JWT");
    cJSON_AddStringToObject(h, "alg", forge == JWT_ALG_NONE ? "none" : "RS256");
    cJSON_AddStringToObject(h, "x5t", kid);
    cJSON_AddStringToObject(h, "kid", kid);
    cJSON_AddStringToObject(p, "aud", c->aud);
    if (c->v2)
        snprintf(iss, sizeof(iss), "https://login.microsoftonline.com/%s/v2.0", c->tid);
    else
        snprintf(iss, sizeof(iss), "https://sts.windows.net/%s/", c->tid);
    cJSON_AddStringToObject(p, "iss", iss);
    cJSON_AddNumberToObject(p, "iat", (double)c->iat);
    cJSON_AddNumberToObject(p, "nbf", (double)c->nbf);
    cJSON_AddNumberToObject(p, "exp", (double)c->exp);
    amr = cJSON_AddArrayToObject(p, "amr");
    if (amr != NULL) {
        cJSON_AddItemToArray(amr, cJSON_CreateString("pwd"));
        if (c->mfa)
            cJSON_AddItemToArray(amr, cJSON_CreateString("mfa"));
    }
    if (!c->id_token) {
        cJSON_AddStringToObject(p, c->v2 ? "azp" : "appid", c->appid);
        cJSON_AddStringToObject(p, "idtyp", "user");
    }
    if (c->name != NULL)
        cJSON_AddStringToObject(p, "name", c->name);
    cJSON_AddStringToObject(p, "oid", c->oid);
    if (c->scp != NULL)
        cJSON_AddStringToObject(p, "scp", c->scp);
    cJSON_AddStringToObject(p, "sub", c->oid);
    cJSON_AddStringToObject(p, "tid", c->tid);
    cJSON_AddStringToObject(p, c->v2 ? "preferred_username" : "unique_name", c->upn);
    cJSON_AddStringToObject(p, "upn", c->upn);
    cJSON_AddStringToObject(p, "ver", c->v2 ? "2.0" : "1.0");
    if (c->deviceid != NULL)
        cJSON_AddStringToObject(p, "deviceid", c->deviceid);
    if (c->mdm) {
        cJSON_AddStringToObject(p, "mdm_enrollment_url", JWT_MDM_ENROLLMENT_URL);
        cJSON_AddStringToObject(p, "mdm_terms_of_use_url", JWT_MDM_TOU_URL);
        cJSON_AddStringToObject(p, "mdm_compliance_url", JWT_MDM_COMPLIANCE_URL);
    }
    hb = b64url_json(h);
    pb = b64url_json(p);
    if (hb == NULL || pb == NULL)
        goto out;
    sim_buf_adds(&signing, hb);
    sim_buf_adds(&signing, ".");
    sim_buf_adds(&signing, pb);
    if (signing.err)
        goto out;
    if (forge != JWT_ALG_NONE) {
        struct pki_key *k = forge == JWT_OTHER_KEY && other_key != NULL ? other_key : key;
        if (pki_key_sign(k, signing.p, signing.len, sig, &siglen) != LJ_OK)
            goto out;
        if (forge == JWT_BAD_SIGNATURE)
            sig[siglen / 2] ^= 0x01;
        sb = lj_b64_encode(sig, siglen, LJ_B64_URL, NULL);
        if (sb == NULL)
            goto out;
    }
    sim_buf_add(&tok, signing.p, signing.len);
    sim_buf_adds(&tok, ".");
    if (sb != NULL)
        sim_buf_adds(&tok, sb);
    if (tok.err)
        goto out;
    out = sim_buf_take(&tok, NULL);
out:
    cJSON_Delete(h);
    cJSON_Delete(p);
    free(hb);
    lj_secret_free(pb);
    free(sb);
    sim_buf_free(&signing, true);
    sim_buf_free(&tok, true);
    return out;
}

#define WHY(...)                                                                                   \
    do {                                                                                           \
        snprintf(why, whysz, __VA_ARGS__);                                                         \
        goto out;                                                                                  \
    } while (0)

static bool
copy_str(const cJSON *o, const char *key, char *dst, size_t dsz)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!cJSON_IsString(v) || strlen(v->valuestring) >= dsz)
        return false;
    memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
    return true;
}

bool
jwt_verify(const unsigned char *spki, size_t spki_len, const char *kid, const char *tok,
           const char *const *accept_aud, const char *tid, struct jwt_info *out, char *why,
           size_t whysz)
{
    const char *d1, *d2;
    size_t len;
    unsigned char *hj = NULL, *pj = NULL, *sig = NULL;
    size_t hl = 0, pl = 0, sl = 0;
    cJSON *h = NULL, *p = NULL;
    const cJSON *v, *e;
    struct jwt_info info;
    time_t now = time(NULL);
    bool ok = false, aud_ok = false;

    memset(&info, 0, sizeof(info));
    if (tok == NULL || (len = strlen(tok)) == 0)
        WHY("no token");
    if (len > TOKEN_MAX)
        WHY("token too long");
    d1 = strchr(tok, '.');
    d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
    if (d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') != NULL)
        WHY("not three dot-separated parts");
    if (!lj_b64_decode(tok, (size_t)(d1 - tok), LJ_B64_URL, &hj, &hl) ||
        !lj_b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), LJ_B64_URL, &pj, &pl))
        WHY("header or payload not base64url");
    if (!lj_b64_decode(d2 + 1, strlen(d2 + 1), LJ_B64_URL, &sig, &sl) || sl == 0)
        WHY("signature missing or not base64url");
    h = cJSON_ParseWithLength((const char *)hj, hl);
    p = cJSON_ParseWithLength((const char *)pj, pl);
    if (!cJSON_IsObject(h) || !cJSON_IsObject(p))
        WHY("header or payload not a JSON object");
    v = cJSON_GetObjectItemCaseSensitive(h, "alg");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, "RS256") != 0)
        WHY("alg is not RS256");
    v = cJSON_GetObjectItemCaseSensitive(h, "kid");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, kid) != 0)
        WHY("unknown kid");
    if (!pki_rs256_verify(spki, spki_len, tok, (size_t)(d2 - tok), sig, sl))
        WHY("signature invalid");
    if (!copy_str(p, "aud", info.aud, sizeof(info.aud)))
        WHY("aud missing");
    for (size_t i = 0; accept_aud[i] != NULL; i++)
        aud_ok = aud_ok || strcmp(accept_aud[i], info.aud) == 0;
    if (!aud_ok)
        WHY("audience %s not accepted", info.aud);
    if (!copy_str(p, "tid", info.tid, sizeof(info.tid)) || !sim_streq_ci(info.tid, tid))
        WHY("tid missing or another tenant");
    if (!copy_str(p, "oid", info.oid, sizeof(info.oid)) ||
        !copy_str(p, "upn", info.upn, sizeof(info.upn)))
        WHY("oid/upn missing");
    v = cJSON_GetObjectItemCaseSensitive(p, "deviceid");
    if (v != NULL && !copy_str(p, "deviceid", info.deviceid, sizeof(info.deviceid)))
        WHY("deviceid not a string");
    v = cJSON_GetObjectItemCaseSensitive(p, "exp");
    if (!cJSON_IsNumber(v))
        WHY("exp missing");
    info.exp = (time_t)v->valuedouble;
    if (info.exp <= now)
        WHY("expired");
    v = cJSON_GetObjectItemCaseSensitive(p, "nbf");
    if (!cJSON_IsNumber(v) || (time_t)v->valuedouble > now + 300)
        WHY("nbf missing or in the future");
    v = cJSON_GetObjectItemCaseSensitive(p, "amr");
    cJSON_ArrayForEach(e, v)
    {
        if (cJSON_IsString(e) && strcmp(e->valuestring, "mfa") == 0)
            info.mfa = true;
    }
    *out = info;
    ok = true;
out:
    cJSON_Delete(h);
    cJSON_Delete(p);
    lj_secret_free((char *)hj);
    lj_secret_free((char *)pj);
    free(sig);
    return ok;
}
