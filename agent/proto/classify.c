/*
 * classify.c — picks the failure-taxonomy row for a server's error answer
 * (OAuth 2.0 token/authorize errors as Entra sends them, DRS error bodies,
 * MS-MDE2 SOAP faults).  See classify.h; the rows are in agent/core/errors.c.
 */
#include "agent/proto/classify.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* out = row r with the row's own code. */
static void
set(struct lj_classified *out, enum lj_reason r)
{
    const struct lj_reason_info *ri = lj_reason_get(r);

    out->reason = r;
    snprintf(out->code, sizeof(out->code), "%s", ri != NULL ? ri->code : "");
}

void
lj_classify_oauth(const struct oauth_error *e, struct lj_classified *out)
{
    enum lj_reason r;

    if (out == NULL)
        return;
    if (e == NULL) {
        set(out, LJ_R_INTERNAL);
        return;
    }
    switch (e->cls) {
    case OAUTH_ERRC_OTHER:
        r = strcmp(e->error, "temporarily_unavailable") == 0 ||
                    strcmp(e->error, "server_error") == 0
                ? LJ_R_SERVICE_UNAVAILABLE
                : LJ_R_SIGNIN_REJECTED;
        break;
    /* AADSTS50011: the redirect_uri is not registered for the client
     * (Microsoft Learn entra reference-error-codes, InvalidReplyTo): the
     * device's configuration is wrong, not the user's sign-in. */
    case OAUTH_ERRC_REDIRECT_MISMATCH: r = LJ_R_REDIRECT_NOT_REGISTERED; break;
    case OAUTH_ERRC_CA_PLATFORM: r = LJ_R_CA_PLATFORM; break;
    case OAUTH_ERRC_CA_COMPLIANT: r = LJ_R_CA_COMPLIANT; break;
    case OAUTH_ERRC_CA_DOMAIN_JOINED: r = LJ_R_CA_DOMAIN_JOINED; break;
    case OAUTH_ERRC_CA_APPROVED_APP: r = LJ_R_CA_APPROVED_APP; break;
    case OAUTH_ERRC_CA_PROOFUP_RISK: r = LJ_R_CA_PROOFUP_RISK; break;
    case OAUTH_ERRC_CA_SECURITY_POLICY: r = LJ_R_CA_SECURITY_POLICY; break;
    case OAUTH_ERRC_CA_DELEGATED_ADMIN: r = LJ_R_CA_DELEGATED_ADMIN; break;
    case OAUTH_ERRC_SECURITY_DEFAULTS: r = LJ_R_CA_SECURITY_DEFAULTS; break;
    case OAUTH_ERRC_CA_EXTERNAL: r = LJ_R_CA_EXTERNAL; break;
    case OAUTH_ERRC_MFA_REGISTRATION: r = LJ_R_MFA_REGISTRATION_REQUIRED; break;
    /* 70018 BadVerificationCode: the code was mistyped; a new one fixes it. */
    case OAUTH_ERRC_BAD_USER_CODE: r = LJ_R_SIGNIN_CODE_WRONG; break;
    case OAUTH_ERRC_EXPIRED: r = LJ_R_SIGNIN_EXPIRED; break;
    case OAUTH_ERRC_DECLINED: r = LJ_R_SIGNIN_DECLINED; break;
    case OAUTH_ERRC_BAD_PASSWORD: r = LJ_R_WRONG_PASSWORD; break;
    case OAUTH_ERRC_UNKNOWN_USER: r = LJ_R_UNKNOWN_USER; break;
    case OAUTH_ERRC_DISABLED: r = LJ_R_USER_DISABLED; break;
    case OAUTH_ERRC_LOCKED: r = LJ_R_ACCOUNT_LOCKED; break;
    case OAUTH_ERRC_PASSWORD_EXPIRED: r = LJ_R_PASSWORD_EXPIRED; break;
    case OAUTH_ERRC_UNKNOWN_TENANT: r = LJ_R_TENANT_NOT_FOUND; break;
    case OAUTH_ERRC_MFA_REQUIRED: r = LJ_R_MFA_REQUIRED; break;
    case OAUTH_ERRC_CA_BLOCKED: r = LJ_R_BLOCKED_BY_CA; break;
    case OAUTH_ERRC_REFRESH_INVALID: r = LJ_R_SIGNIN_SESSION_EXPIRED; break;
    /* device authentication (PRT and PRT-signed requests, after the join) */
    case OAUTH_ERRC_DEVICE_AUTH_FAILED: r = LJ_R_DEVICE_AUTH_PENDING; break;
    case OAUTH_ERRC_DEVICE_DISABLED: r = LJ_R_DEVICE_DISABLED; break;
    case OAUTH_ERRC_DEVICE_NOT_FOUND: r = LJ_R_DEVICE_NOT_FOUND; break;
    /* pending/slow_down reaching here means the poll loop gave up: expiry. */
    case OAUTH_ERRC_PENDING:
    case OAUTH_ERRC_SLOW_DOWN: r = LJ_R_SIGNIN_EXPIRED; break;
    default:
        /* RFC 6749 5.2 / Entra: the service's own transient trouble (500/503/429). */
        r = strcmp(e->error, "temporarily_unavailable") == 0 ||
                    strcmp(e->error, "server_error") == 0
                ? LJ_R_SERVICE_UNAVAILABLE
                : LJ_R_SIGNIN_REJECTED;
        break;
    }
    set(out, r);
    if (e->aadsts > 0 && e->aadsts < 100000000UL)
        snprintf(out->code, sizeof(out->code), "AADSTS%lu", e->aadsts);
}

/* Case-insensitive substring search. */
static bool
has(const char *hay, const char *needle)
{
    return hay != NULL && strcasestr(hay, needle) != NULL;
}

static bool
any_has(const struct drs_error *e, const char *needle)
{
    return has(e->message, needle) || has(e->error_type, needle) || has(e->sub_code, needle);
}

/* The text hints: quota first (its messages can also say "not allowed"). */
static bool
text_quota(const struct drs_error *e)
{
    return any_has(e, "quota") || has(e->message, "maximum number of devices") ||
           has(e->message, "too many devices") || any_has(e, "device limit") ||
           any_has(e, "devicecap");
}

static bool
text_not_permitted(const struct drs_error *e)
{
    /* The one public server text: "Administrator policy does not allow user
     * <upn> to device join" (MicrosoftDocs/windows-itpro-docs #4737,
     * himmelblau-idm/himmelblau #1050). */
    return has(e->message, "does not allow user") || has(e->message, "not allowed to join") ||
           has(e->message, "not authorized to join") || has(e->message, "not permitted to join") ||
           has(e->message, "not allowed to device join");
}

static bool
text_tenant_not_found(const struct drs_error *e)
{
    return (has(e->message, "tenant") && has(e->message, "not found")) ||
           has(e->message, "AADSTS90002");
}

static enum lj_reason
not_permitted(const struct drs_error *e)
{
    return has(e->message, "group") ? LJ_R_JOIN_NOT_PERMITTED_GROUP : LJ_R_JOIN_NOT_PERMITTED;
}

/*
 * Order: the HTTP status, then ErrorType, then the Message text as a hint.
 * Windows maps the DRS ErrorType, not the text: DirectoryError -> 0x801c03f2,
 * AuthenticationError -> 0x801c0002 (MicrosoftDocs/entra-docs
 * troubleshoot-hybrid-join-windows-current.md); [MS-DVRE] 3.1.4.1.4.1 lists
 * the ErrorType values (AuthenticationError, AuthorizationError,
 * DirectoryAccountError, InvalidParameter, ...).  The bodies Azure DRS sends
 * are {ErrorType, Message, TraceId, Time} (Gerenios/AADInternals issues #40
 * and #119 quote them).  A 401 is the
 * bearer token refused whatever the body (RFC 6750 3.1), so it is
 * auth_rejected even when empty.
 */
void
lj_classify_drs(enum lj_phase phase, const struct drs_error *e, struct lj_classified *out)
{
    enum lj_reason r;

    if (out == NULL)
        return;
    if (e == NULL) {
        set(out, LJ_R_INTERNAL);
        return;
    }
    /* 1. the status */
    if (e->http_status == 429 || (e->http_status >= 500 && e->http_status <= 599)) {
        set(out, LJ_R_SERVICE_UNAVAILABLE);
        return;
    }
    if (e->kind == DRS_BODY_HTML) {
        set(out, LJ_R_NETWORK_INTERCEPTED);
        return;
    }
    if (e->http_status == 401) {
        set(out, LJ_R_AUTH_REJECTED);
        return;
    }
    if (e->kind != DRS_BODY_JSON) {
        if (phase == LJ_PHASE_DISCOVER && e->http_status == 404)
            set(out, LJ_R_DRS_TENANT_NOT_FOUND);
        else if (e->http_status == 403)
            set(out, LJ_R_JOIN_NOT_PERMITTED);
        else
            set(out, LJ_R_BAD_SERVICE_RESPONSE);
        return;
    }
    /* 2. ErrorType (quota text still refines an authorization refusal) */
    if (strcasecmp(e->error_type, "AuthenticationError") == 0) {
        set(out, LJ_R_AUTH_REJECTED);
        return;
    }
    if (strcasecmp(e->error_type, "AuthorizationError") == 0) {
        if (text_quota(e))
            r = LJ_R_DEVICE_QUOTA_REACHED;
        else if (has(e->message, "multi-factor"))
            r = LJ_R_MFA_REQUIRED;
        else
            r = not_permitted(e);
        set(out, r);
        return;
    }
    if (strcasecmp(e->error_type, "DirectoryError") == 0) {
        if (has(e->message, "throttled"))
            r = LJ_R_THROTTLED;
        else if (text_tenant_not_found(e) || (phase == LJ_PHASE_DISCOVER && e->http_status == 404))
            r = LJ_R_DRS_TENANT_NOT_FOUND;
        else if (text_quota(e))
            r = LJ_R_DEVICE_QUOTA_REACHED;
        else {
            set(out, LJ_R_JOIN_REJECTED);
            snprintf(out->code, sizeof(out->code), "0x801c03f2");
            return;
        }
        set(out, r);
        return;
    }
    /* 3. the text, as a hint (InvalidParameter, an unknown or no ErrorType) */
    if (text_quota(e))
        r = LJ_R_DEVICE_QUOTA_REACHED;
    else if (text_not_permitted(e))
        r = not_permitted(e);
    else if (has(e->message, "throttled"))
        r = LJ_R_THROTTLED;
    else if (text_tenant_not_found(e) || (phase == LJ_PHASE_DISCOVER && e->http_status == 404))
        r = LJ_R_DRS_TENANT_NOT_FOUND;
    else if (e->http_status == 403)
        r = LJ_R_JOIN_NOT_PERMITTED;
    else
        r = LJ_R_JOIN_REJECTED;
    set(out, r);
}

void
lj_classify_mdm(const struct mdm_fault *f, struct lj_classified *out)
{
    bool text_ownership;
    unsigned long hr;

    if (out == NULL)
        return;
    if (f == NULL) {
        set(out, LJ_R_INTERNAL);
        return;
    }
    if (f->kind != MDM_BODY_FAULT) {
        if (f->http_status == 429 || (f->http_status >= 500 && f->http_status <= 599))
            set(out, LJ_R_JOINED_MDM_PENDING);
        else if (f->kind == MDM_BODY_HTML)
            set(out, LJ_R_NETWORK_INTERCEPTED);
        else {
            set(out, LJ_R_MDM_BAD_SERVICE_RESPONSE);
            if (f->kind == MDM_BODY_EMPTY)
                snprintf(out->code, sizeof(out->code), "0x80180029");
        }
        return;
    }
    hr = f->hresult ? f->hresult : mdm_fault_hresult(f->error_type, f->subcode, f->reason);
#define TXT(s) (has(f->reason, s) || has(f->message, s))
    text_ownership = TXT("preregistered") || TXT("pre-registered") || TXT("corporate identifier") ||
                     TXT("personally owned") || TXT("personal") || TXT("ownership");
    if (hr == 0x8018002bUL || TXT("MDM user scope") || TXT("not in scope"))
        set(out, LJ_R_MDM_NOT_IN_SCOPE);
    else if (hr == 0x80180014UL)
        set(out, text_ownership ? LJ_R_MDM_OWNERSHIP_BLOCKED : LJ_R_MDM_PLATFORM_BLOCKED);
    else if (hr == 0x80180013UL)
        set(out, LJ_R_MDM_DEVICE_CAP);
    else if (hr == 0x80180018UL || (hr == 0x80180003UL && (TXT("UserValidation") || TXT("licen"))))
        set(out, LJ_R_MDM_LICENSE_MISSING);
    else if (hr == 0x80180017UL || hr == 0x80180006UL || hr == 0x80180005UL || hr == 0x80180033UL)
        set(out, LJ_R_JOINED_MDM_PENDING);
    else
        set(out, LJ_R_MDM_REJECTED);
#undef TXT
    /* the server's code, unless the reason came from the text alone */
    if ((out->reason != LJ_R_MDM_LICENSE_MISSING && out->reason != LJ_R_MDM_NOT_IN_SCOPE) ||
        hr == 0x80180018UL || hr == 0x8018002bUL)
        snprintf(out->code, sizeof(out->code), "0x%08lx", hr);
}
