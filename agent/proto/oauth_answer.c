/*
 * oauth_answer.c — what the Entra authority answers: the device
 * authorization and token answers (RFC 8628, RFC 6749 §5.1), error answers
 * (RFC 6749 §5.2 plus Entra's AADSTS codes) and their classification, the
 * device-code polling decision (RFC 8628 §3.5), and the claims of a JWT
 * (RFC 7519) read without verifying it.
 *
 * Responses are parsed through agent/proto/pjson (size and depth checked
 * first); token strings are copied out and the cJSON tree is wiped before
 * it is freed.  Classification turns Entra's error + AADSTS codes into a
 * small enum the error taxonomy maps to reasons.
 */
#include "agent/proto/oauth_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/proto/pjson.h"
#include "platform/common/b64.h"
#include "platform/common/secmem.h"

/* ---- responses ---- */

static enum lj_rc
dup_field(const cJSON *obj, const char *key, size_t max, bool required, char **out)
{
    const char *s = NULL;
    enum lj_rc rc = pjson_str(obj, key, false, max, &s);

    if (rc == LJ_ERR_NOT_FOUND && !required)
        return LJ_OK;
    if (rc != LJ_OK)
        return lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=bad_field field=%s rc=%s", key,
                          lj_rc_name(rc));
    if (required && s[0] == '\0')
        return lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=empty_field field=%s", key);
    *out = strdup(s);
    return *out ? LJ_OK : LJ_ERR_NOMEM;
}

void
oauth_device_code_free(struct oauth_device_code *dc)
{
    if (dc == NULL)
        return;
    lj_secret_free(dc->device_code);
    free(dc->user_code);
    free(dc->verification_uri);
    free(dc->verification_uri_complete);
    free(dc->message);
    memset(dc, 0, sizeof(*dc));
}

enum lj_rc
oauth_device_code_parse(const char *body, size_t len, struct oauth_device_code *out)
{
    struct oauth_device_code dc;
    cJSON *tree = NULL;
    long long v;
    enum lj_rc rc;

    memset(&dc, 0, sizeof(dc));
    if (body == NULL || out == NULL)
        return LJ_ERR_INVAL;
    rc = pjson_parse(body, len, OAUTH_MAX_BODY, 4, &tree);
    if (rc != LJ_OK) {
        rc = lj_err_set(rc, MOD, "event=devicecode_unparsable rc=%s", lj_rc_name(rc));
        goto out;
    }
    if ((rc = dup_field(tree, "device_code", OAUTH_MAX_TOKEN, true, &dc.device_code)) != LJ_OK ||
        (rc = dup_field(tree, "user_code", 64, true, &dc.user_code)) != LJ_OK ||
        (rc = dup_field(tree, "message", 1024, false, &dc.message)) != LJ_OK)
        goto out;
    /* v2 says verification_uri, v1 verification_url. */
    rc = dup_field(tree, "verification_uri", 512, false, &dc.verification_uri);
    if (rc == LJ_OK && dc.verification_uri == NULL)
        rc = dup_field(tree, "verification_url", 512, true, &dc.verification_uri);
    if (rc != LJ_OK)
        goto out;
    if (strncmp(dc.verification_uri, "https://", 8) != 0 || !oauth_code_chars_ok(dc.user_code) ||
        !oauth_code_chars_ok(dc.verification_uri)) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=devicecode_bad_uri_or_code");
        goto out;
    }
    /*
     * RFC 8628 3.2: verification_uri_complete is OPTIONAL, "a verification
     * URI that includes the user_code", for a QR code (3.3.1).  Entra's v2.0
     * endpoint does not send it today; one that is not an https string of
     * plain characters is dropped, not fatal (the URI and code still work).
     */
    {
        const char *uc = NULL;

        if (pjson_str(tree, "verification_uri_complete", false, 1024, &uc) == LJ_OK &&
            strncmp(uc, "https://", 8) == 0 && oauth_code_chars_ok(uc) &&
            (dc.verification_uri_complete = strdup(uc)) == NULL) {
            rc = LJ_ERR_NOMEM;
            goto out;
        }
    }
    rc = pjson_int(tree, "expires_in", false, 1, 86400, &v);
    if (rc != LJ_OK) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=bad_field field=expires_in");
        goto out;
    }
    dc.expires_in = (long)v;
    rc = pjson_int(tree, "interval", false, 0, 3600, &v);
    if (rc == LJ_ERR_NOT_FOUND) {
        v = 5; /* RFC 8628 §3.2 default */
    } else if (rc != LJ_OK) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=bad_field field=interval");
        goto out;
    }
    dc.interval = v < 1 ? 1 : v > 60 ? 60 : (long)v;
    rc = LJ_OK;
    *out = dc;
    memset(&dc, 0, sizeof(dc));
out:
    oauth_device_code_free(&dc);
    pjson_wipe_delete(tree);
    return rc;
}

void
oauth_token_free(struct oauth_token *t)
{
    if (t == NULL)
        return;
    lj_secret_free(t->access_token);
    lj_secret_free(t->refresh_token);
    lj_secret_free(t->id_token);
    memset(t, 0, sizeof(*t));
}

enum lj_rc
oauth_token_parse(const char *body, size_t len, struct oauth_token *out)
{
    struct oauth_token t;
    cJSON *tree = NULL;
    const char *tt = NULL;
    long long v;
    enum lj_rc rc;

    memset(&t, 0, sizeof(t));
    if (body == NULL || out == NULL)
        return LJ_ERR_INVAL;
    rc = pjson_parse(body, len, OAUTH_MAX_BODY, 4, &tree);
    if (rc != LJ_OK) {
        rc = lj_err_set(rc, MOD, "event=token_unparsable rc=%s", lj_rc_name(rc));
        goto out;
    }
    rc = pjson_str(tree, "token_type", false, 32, &tt);
    if (rc == LJ_OK && strcasecmp(tt, "Bearer") != 0) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=token_type_not_bearer");
        goto out;
    }
    if (rc != LJ_OK && rc != LJ_ERR_NOT_FOUND) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=bad_field field=token_type");
        goto out;
    }
    if ((rc = dup_field(tree, "access_token", OAUTH_MAX_TOKEN, true, &t.access_token)) != LJ_OK ||
        (rc = dup_field(tree, "refresh_token", OAUTH_MAX_TOKEN, false, &t.refresh_token)) !=
            LJ_OK ||
        (rc = dup_field(tree, "id_token", OAUTH_MAX_TOKEN, false, &t.id_token)) != LJ_OK)
        goto out;
    if (!oauth_code_chars_ok(t.access_token) ||
        (t.refresh_token && !oauth_code_chars_ok(t.refresh_token))) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=token_bad_chars");
        goto out;
    }
    rc = pjson_int(tree, "expires_in", false, 0, 0x7fffffff, &v);
    if (rc == LJ_ERR_NOT_FOUND) {
        v = 0;
    } else if (rc != LJ_OK) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=bad_field field=expires_in");
        goto out;
    }
    t.expires_in = (long)v;
    rc = LJ_OK;
    *out = t;
    memset(&t, 0, sizeof(t));
out:
    oauth_token_free(&t);
    pjson_wipe_delete(tree);
    return rc;
}

/* ---- errors ---- */

static bool
code_in(unsigned long c, const unsigned long *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == c)
            return true;
    return false;
}

#define IN(c, ...)                                                                                 \
    code_in((c), (const unsigned long[]){__VA_ARGS__},                                             \
            sizeof((const unsigned long[]){__VA_ARGS__}) / sizeof(unsigned long))

enum oauth_err_class
oauth_error_classify(const char *error, unsigned long c, enum oauth_grant grant)
{
    const char *e = error ? error : "";

    /* RFC 8628 §3.5 strings first: they drive the polling loop. */
    if (strcmp(e, "authorization_pending") == 0 || c == 70016)
        return OAUTH_ERRC_PENDING;
    if (strcmp(e, "slow_down") == 0)
        return OAUTH_ERRC_SLOW_DOWN;
    if (strcmp(e, "expired_token") == 0 || strcmp(e, "code_expired") == 0 || c == 70019)
        return OAUTH_ERRC_EXPIRED;
    if (c == 65004)
        return OAUTH_ERRC_DECLINED;
    if (c == 50126)
        return OAUTH_ERRC_BAD_PASSWORD;
    if (c == 50034)
        return OAUTH_ERRC_UNKNOWN_USER;
    if (c == 50057)
        return OAUTH_ERRC_DISABLED;
    if (c == 50053)
        return OAUTH_ERRC_LOCKED;
    if (IN(c, 50055, 50144))
        return OAUTH_ERRC_PASSWORD_EXPIRED;
    if (IN(c, 90002, 50128, 50059, 90019))
        return OAUTH_ERRC_UNKNOWN_TENANT;
    /* UserStrongAuthEnrollmentRequired(Interrupt): no method registered yet
     * (aka.ms/mfasetup), unlike 50076/50074 where the second factor is owed. */
    if (IN(c, 50079, 50072))
        return OAUTH_ERRC_MFA_REGISTRATION;
    if (IN(c, 50076, 50074))
        return OAUTH_ERRC_MFA_REQUIRED;
    if (c == 53003)
        return OAUTH_ERRC_CA_BLOCKED;
    /* Device authentication (Microsoft Learn reference-error-codes: 50155
     * DeviceAuthenticationFailed, 50097 DeviceAuthenticationRequired, 135011
     * device disabled, 700003 DeviceNotFound).  PRT grants answer
     * invalid_grant with these, so they come before the generic branch below;
     * 50155 right after a join is usually transient (the new device object). */
    if (IN(c, 50155, 50097))
        return OAUTH_ERRC_DEVICE_AUTH_FAILED;
    if (c == 135011)
        return OAUTH_ERRC_DEVICE_DISABLED;
    if (c == 700003)
        return OAUTH_ERRC_DEVICE_NOT_FOUND;
    /* Policy codes come as invalid_grant on any grant; they must win over the
     * refresh grant's "session expired" below (a compliance block on the
     * Intune token is not an expired sign-in). */
    if (c == 50005)
        return OAUTH_ERRC_CA_PLATFORM;
    if (c == 53000)
        return OAUTH_ERRC_CA_COMPLIANT;
    if (c == 53001)
        return OAUTH_ERRC_CA_DOMAIN_JOINED;
    if (c == 53002)
        return OAUTH_ERRC_CA_APPROVED_APP;
    if (c == 53004)
        return OAUTH_ERRC_CA_PROOFUP_RISK;
    if (c == 530032)
        return OAUTH_ERRC_CA_SECURITY_POLICY;
    if (c == 530034)
        return OAUTH_ERRC_CA_DELEGATED_ADMIN;
    if (c == 530035)
        return OAUTH_ERRC_SECURITY_DEFAULTS;
    if (c == 50158)
        return OAUTH_ERRC_CA_EXTERNAL;
    if (c == 50011)
        return OAUTH_ERRC_REDIRECT_MISMATCH;
    if (c == 70018)
        return OAUTH_ERRC_BAD_USER_CODE;
    if (IN(c, 70008, 700082, 700084, 50173, 70043, 50133) ||
        (grant == OAUTH_GRANT_REFRESH && strcmp(e, "invalid_grant") == 0))
        return OAUTH_ERRC_REFRESH_INVALID;
    /* After the codes: an authorize redirect says access_denied for a CA block too. */
    if (strcmp(e, "authorization_declined") == 0 || strcmp(e, "access_denied") == 0)
        return OAUTH_ERRC_DECLINED;
    return OAUTH_ERRC_OTHER;
}

const char *
oauth_err_class_name(enum oauth_err_class cls)
{
    switch (cls) {
    case OAUTH_ERRC_OTHER: return "other";
    case OAUTH_ERRC_PENDING: return "pending";
    case OAUTH_ERRC_SLOW_DOWN: return "slow_down";
    case OAUTH_ERRC_EXPIRED: return "expired";
    case OAUTH_ERRC_DECLINED: return "declined";
    case OAUTH_ERRC_BAD_PASSWORD: return "bad_password";
    case OAUTH_ERRC_UNKNOWN_USER: return "unknown_user";
    case OAUTH_ERRC_DISABLED: return "disabled";
    case OAUTH_ERRC_LOCKED: return "locked";
    case OAUTH_ERRC_PASSWORD_EXPIRED: return "password_expired";
    case OAUTH_ERRC_UNKNOWN_TENANT: return "unknown_tenant";
    case OAUTH_ERRC_MFA_REQUIRED: return "mfa_required";
    case OAUTH_ERRC_CA_BLOCKED: return "ca_blocked";
    case OAUTH_ERRC_REFRESH_INVALID: return "refresh_invalid";
    case OAUTH_ERRC_DEVICE_AUTH_FAILED: return "device_auth_failed";
    case OAUTH_ERRC_DEVICE_DISABLED: return "device_disabled";
    case OAUTH_ERRC_DEVICE_NOT_FOUND: return "device_not_found";
    case OAUTH_ERRC_CA_PLATFORM: return "ca_platform";
    case OAUTH_ERRC_CA_COMPLIANT: return "ca_compliant_device";
    case OAUTH_ERRC_CA_DOMAIN_JOINED: return "ca_domain_joined_device";
    case OAUTH_ERRC_CA_APPROVED_APP: return "ca_approved_app";
    case OAUTH_ERRC_CA_PROOFUP_RISK: return "ca_proofup_risk";
    case OAUTH_ERRC_CA_SECURITY_POLICY: return "ca_security_policy";
    case OAUTH_ERRC_CA_DELEGATED_ADMIN: return "ca_delegated_admin";
    case OAUTH_ERRC_SECURITY_DEFAULTS: return "security_defaults";
    case OAUTH_ERRC_CA_EXTERNAL: return "ca_external_challenge";
    case OAUTH_ERRC_MFA_REGISTRATION: return "mfa_registration";
    case OAUTH_ERRC_REDIRECT_MISMATCH: return "redirect_mismatch";
    case OAUTH_ERRC_BAD_USER_CODE: return "bad_user_code";
    case OAUTH_ERRC_COUNT__: break;
    }
    return "unknown";
}

/* Copy the id after "label" in an error_description ("Trace ID: 75c1...") into dst. */
static void
desc_id(const char *desc, const char *label, char *dst, size_t dstsz)
{
    const char *p = strstr(desc, label);
    size_t n = 0;

    if (p == NULL || dst[0] != '\0')
        return;
    p += strlen(label);
    while (*p == ' ')
        p++;
    while (n + 1 < dstsz && (isxdigit((unsigned char)p[n]) || p[n] == '-'))
        n++;
    memcpy(dst, p, n);
    dst[n] = '\0';
}

static void
copy_opt(const cJSON *tree, const char *key, size_t max, char *dst, size_t dstsz)
{
    const char *s = NULL;

    if (pjson_str(tree, key, false, max, &s) == LJ_OK)
        pjson_copy_text(dst, dstsz, s);
}

enum lj_rc
oauth_error_parse(const char *body, size_t len, enum oauth_grant grant, struct oauth_error *out)
{
    struct oauth_error e;
    cJSON *tree = NULL;
    const cJSON *codes;
    const char *s = NULL;
    enum lj_rc rc;

    memset(&e, 0, sizeof(e));
    if (body == NULL || out == NULL)
        return LJ_ERR_INVAL;
    rc = pjson_parse(body, len, OAUTH_MAX_BODY, 4, &tree);
    if (rc != LJ_OK)
        goto out;
    rc = pjson_str(tree, "error", false, 128, &s);
    if (rc != LJ_OK || s[0] == '\0') {
        rc = LJ_ERR_PARSE;
        goto out;
    }
    pjson_copy_text(e.error, sizeof(e.error), s);
    copy_opt(tree, "error_description", 8192, e.description, sizeof(e.description));
    copy_opt(tree, "trace_id", 128, e.trace_id, sizeof(e.trace_id));
    copy_opt(tree, "correlation_id", 128, e.correlation_id, sizeof(e.correlation_id));
    copy_opt(tree, "timestamp", 128, e.timestamp, sizeof(e.timestamp));
    codes = cJSON_GetObjectItemCaseSensitive(tree, "error_codes");
    if (cJSON_IsArray(codes) && cJSON_GetArraySize(codes) > 0) {
        const cJSON *first = cJSON_GetArrayItem(codes, 0);

        if (cJSON_IsNumber(first) && first->valuedouble >= 1 && first->valuedouble < 1e9)
            e.aadsts = (unsigned long)first->valuedouble;
    }
    if (e.aadsts == 0) {
        const char *a = strstr(e.description, "AADSTS");

        if (a != NULL && isdigit((unsigned char)a[6])) {
            unsigned long v = 0;

            for (a += 6; isdigit((unsigned char)*a) && v < 100000000UL; a++)
                v = v * 10 + (unsigned long)(*a - '0');
            e.aadsts = v;
        }
    }
    desc_id(e.description, "Trace ID:", e.trace_id, sizeof(e.trace_id));
    desc_id(e.description, "Correlation ID:", e.correlation_id, sizeof(e.correlation_id));
    e.cls = oauth_error_classify(e.error, e.aadsts, grant);
    *out = e;
    rc = LJ_OK;
out:
    pjson_wipe_delete(tree);
    return rc;
}

/* ---- polling ---- */

enum oauth_poll_action
oauth_poll_next(enum oauth_err_class cls, long long now, long long expires_at, long *interval,
                long *wait_s)
{
    long iv;

    if (interval == NULL || wait_s == NULL)
        return OAUTH_POLL_STOP;
    iv = *interval < 1 ? 1 : *interval > 60 ? 60 : *interval;
    switch (cls) {
    case OAUTH_ERRC_SLOW_DOWN:
        /* RFC 8628 §3.5: add 5 seconds to this and all later polls. */
        iv = iv + 5 > 60 ? 60 : iv + 5;
        /* fall through */
    case OAUTH_ERRC_PENDING:
        *interval = iv;
        if (now >= expires_at)
            return OAUTH_POLL_EXPIRED;
        *wait_s = expires_at - now < iv ? (long)(expires_at - now) : iv;
        return OAUTH_POLL_WAIT;
    case OAUTH_ERRC_EXPIRED: return OAUTH_POLL_EXPIRED;
    default: return OAUTH_POLL_STOP;
    }
}

/* ---- JWT ---- */

enum lj_rc
oauth_jwt_claims_parse(const char *jwt, struct oauth_jwt_claims *out)
{
    struct oauth_jwt_claims c;
    const char *d1, *d2, *s = NULL;
    unsigned char *payload = NULL;
    size_t plen = 0, n;
    cJSON *tree = NULL;
    const cJSON *it;
    long long v;
    enum lj_rc rc;

    memset(&c, 0, sizeof(c));
    if (jwt == NULL || out == NULL)
        return LJ_ERR_INVAL;
    n = strnlen(jwt, OAUTH_MAX_TOKEN + 1);
    d1 = memchr(jwt, '.', n);
    d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - jwt)) : NULL;
    if (n > OAUTH_MAX_TOKEN || d1 == NULL || d2 == NULL ||
        memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - jwt)) != NULL || d2 == d1 + 1) {
        rc = LJ_ERR_PARSE;
        goto out;
    }
    if (!lj_b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), LJ_B64_URL, &payload, &plen)) {
        rc = LJ_ERR_PARSE;
        goto out;
    }
    rc = pjson_parse((const char *)payload, plen, OAUTH_MAX_TOKEN, 4, &tree);
    if (rc != LJ_OK)
        goto out;
    it = cJSON_GetObjectItemCaseSensitive(tree, "aud");
    if (cJSON_IsArray(it))
        it = cJSON_GetArrayItem(it, 0);
    if (cJSON_IsString(it))
        pjson_copy_text(c.aud, sizeof(c.aud), it->valuestring);
    copy_opt(tree, "tid", 64, c.tid, sizeof(c.tid));
    copy_opt(tree, "oid", 64, c.oid, sizeof(c.oid));
    if (pjson_str(tree, "upn", false, 255, &s) == LJ_OK ||
        pjson_str(tree, "preferred_username", false, 255, &s) == LJ_OK ||
        pjson_str(tree, "unique_name", false, 255, &s) == LJ_OK)
        pjson_copy_text(c.upn, sizeof(c.upn), s);
    it = cJSON_GetObjectItemCaseSensitive(tree, "amr");
    if (cJSON_IsArray(it)) {
        size_t used = 0;
        const cJSON *m;

        cJSON_ArrayForEach(m, it)
        {
            size_t ml;

            if (!cJSON_IsString(m) || !oauth_valid_token_chars(m->valuestring, 32, "_-"))
                continue;
            ml = strlen(m->valuestring);
            if (used + ml + 2 > sizeof(c.amr))
                break;
            if (used > 0)
                c.amr[used++] = ' ';
            memcpy(c.amr + used, m->valuestring, ml + 1);
            used += ml;
        }
    }
    if (pjson_int(tree, "exp", false, 0, 253402300799LL, &v) == LJ_OK)
        c.exp = v;
    if (pjson_str(tree, "mdm_enrollment_url", false, sizeof(c.mdm_enrollment_url) - 1, &s) == LJ_OK)
        pjson_copy_text(c.mdm_enrollment_url, sizeof(c.mdm_enrollment_url), s);
    copy_opt(tree, "deviceid", 64, c.deviceid, sizeof(c.deviceid));
    *out = c;
    rc = LJ_OK;
out:
    pjson_wipe_delete(tree);
    lj_secure_free(payload, plen);
    return rc;
}

bool
oauth_jwt_has_amr(const struct oauth_jwt_claims *c, const char *method)
{
    size_t ml;
    const char *p;

    if (c == NULL || method == NULL || (ml = strlen(method)) == 0)
        return false;
    for (p = c->amr; (p = strstr(p, method)) != NULL; p += ml) {
        if ((p == c->amr || p[-1] == ' ') && (p[ml] == '\0' || p[ml] == ' '))
            return true;
    }
    return false;
}
