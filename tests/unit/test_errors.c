/* Unit tests for agent/core/errors.c: table completeness, classifiers, formatting, README sync. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/proto/classify.h"
#include "agent/core/exitcodes.h"
#include "platform/common/fsutil.h"
#include "tests/unit/testutil.h"

static bool
code_well_formed(const char *c)
{
    size_t n = strlen(c);

    if (n == 10 && strncmp(c, "0x", 2) == 0) {
        for (size_t i = 2; i < n; i++)
            if (!isxdigit((unsigned char)c[i]) || isupper((unsigned char)c[i]))
                return false;
        return true;
    }
    if (n > 6 && n <= 15 && strncmp(c, "AADSTS", 6) == 0) {
        for (size_t i = 6; i < n; i++)
            if (!isdigit((unsigned char)c[i]))
                return false;
        return true;
    }
    return false;
}

static const struct lj_error_params full = {"enterpriseregistration.windows.net",
                                            "the connection timed out",
                                            "contoso.example",
                                            "Contoso Devices",
                                            "Link 1",
                                            "SN-0001",
                                            "alice@contoso.example",
                                            "about 17 minutes",
                                            "http://proxy.example:3128",
                                            17};

static void
test_every_entry_complete(void **state)
{
    char buf[1024];

    (void)state;
    for (int i = 0; i < LJ_R_COUNT__; i++) {
        const struct lj_reason_info *r = lj_reason_get((enum lj_reason)i);

        assert_non_null(r);
        assert_int_equal(r->id, i);
        assert_non_null(r->slug);
        assert_true(strlen(r->slug) > 2);
        for (const char *s = r->slug; *s; s++)
            assert_true(islower((unsigned char)*s) || *s == '_');
        assert_non_null(r->variant);
        assert_true(r->phase >= 0 && r->phase < LJ_PHASE_COUNT__);
        assert_true(r->fix_by >= 0 && r->fix_by < LJ_FIX_COUNT__);
        assert_non_null(r->code);
        if (!code_well_formed(r->code))
            fail_msg("%s: code %s", r->slug, r->code);
        assert_true(r->exit_code >= LJ_EXIT_FAILURE && r->exit_code <= LJ_EXIT_STATE);
        assert_true(r->exit_code != LJ_EXIT_USAGE && r->exit_code != LJ_EXIT_OK);
        /* message: one plain sentence */
        assert_non_null(r->message);
        assert_true(strlen(r->message) > 20 && strlen(r->message) < 300);
        assert_true(isupper((unsigned char)r->message[0]));
        assert_int_equal(r->message[strlen(r->message) - 1], '.');
        if (strstr(r->message, ". ") != NULL)
            fail_msg("%s: more than one sentence", r->slug);
        assert_null(strstr(r->message, "something went wrong"));
        assert_null(strstr(r->message, "Something went wrong"));
        assert_null(strchr(r->message, '"'));
        assert_null(strchr(r->message, '|'));
        /* no internals on the person's screen: host names and low-level causes go to the admin */
        if (strstr(r->message, "{host}") || strstr(r->message, "{what}") ||
            strstr(r->message, "{serial}") || strstr(r->message, "JSON") || strstr(r->message, "_"))
            fail_msg("%s: internals in the message for the person", r->slug);
        /* every placeholder is known: nothing left after formatting */
        lj_error_format(r->message, &full, buf, sizeof(buf));
        if (strchr(buf, '{') || strchr(buf, '}'))
            fail_msg("%s: unknown placeholder in message", r->slug);
        assert_non_null(r->admin_action);
        assert_true(strlen(r->admin_action) > 10);
        /* fits the 1024-byte buffer flow/fail.c and flow/enroll.c format it into */
        if (lj_error_format(r->admin_action, &full, NULL, 0) >= 1024)
            fail_msg("%s: admin action too long", r->slug);
        assert_null(strchr(r->admin_action, '|'));
        lj_error_format(r->admin_action, &full, buf, sizeof(buf));
        if (strchr(buf, '{') || strchr(buf, '}'))
            fail_msg("%s: unknown placeholder in admin action", r->slug);
        /* retryable is consistent with fix_by retry */
        if (r->fix_by == LJ_FIX_RETRY)
            assert_true(r->retryable);
        assert_string_not_equal(lj_phase_name(r->phase), "unknown");
        assert_string_not_equal(lj_fix_by_name(r->fix_by), "unknown");
    }
    assert_null(lj_reason_get(LJ_R_COUNT__));
    assert_null(lj_reason_get((enum lj_reason) - 1));
}

static void
test_slugs_unique_and_required(void **state)
{
    static const char *const required[] = {
        "join_not_permitted",
        "device_quota_reached",
        "mfa_required",
        "blocked_by_conditional_access",
        "wrong_password",
        "unknown_user",
        "user_disabled",
        "account_locked",
        "password_expired",
        "tenant_not_found",
        "signin_expired",
        "signin_declined",
        "service_unavailable",
        "throttled",
        "auth_rejected",
        "bad_service_response",
        "tls_untrusted",
        "network_unreachable",
        "clock_wrong",
        "tpm_unavailable",
        "tpm_locked",
        "tpm_keys_lost",
        "mdm_not_in_scope",
        "mdm_platform_blocked",
        "mdm_ownership_blocked",
        "mdm_device_cap",
        "mdm_license_missing",
        "mdm_rejected",
        "joined_mdm_pending",
        "cancelled",
        "internal",
        "join_rejected",
        "signin_rejected",
        "network_intercepted",
        "proxy_unreachable",
        "proxy_auth_required",
        "device_key_outdated",
        "tls_signature_unsupported",
    };

    (void)state;
    for (int i = 0; i < LJ_R_COUNT__; i++) {
        const struct lj_reason_info *a = lj_reason_get((enum lj_reason)i);

        for (int j = 0; j < i; j++) {
            const struct lj_reason_info *b = lj_reason_get((enum lj_reason)j);

            /* the same slug only as a named variant of the same cause, with
             * its own admin action; the code may differ where Windows or
             * Entra code the variants apart (0x80072ee7 / 0x80072ee2 /
             * 0x80072efd, the Conditional Access AADSTS codes) */
            if (strcmp(a->slug, b->slug) == 0) {
                assert_true(a->variant[0] != '\0');
                assert_string_not_equal(a->admin_action, b->admin_action);
            }
        }
    }
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        const struct lj_reason_info *r = lj_reason_by_slug(required[i]);

        if (r == NULL)
            fail_msg("missing reason %s", required[i]);
        assert_string_equal(r->variant, "");
    }
    assert_null(lj_reason_by_slug("nope"));
    assert_null(lj_reason_by_slug(NULL));
    /* the codes */
    assert_string_equal(lj_reason_by_slug("join_not_permitted")->code, "0x801c0003");
    assert_string_equal(lj_reason_by_slug("device_quota_reached")->code, "0x801c000e");
    assert_string_equal(lj_reason_by_slug("mfa_required")->code, "AADSTS50076");
    assert_string_equal(lj_reason_by_slug("mdm_not_in_scope")->code, "0x8018002b");
    assert_string_equal(lj_reason_by_slug("mdm_platform_blocked")->code, "0x80180014");
    assert_string_equal(lj_reason_by_slug("mdm_ownership_blocked")->code, "0x80180014");
    assert_string_equal(lj_reason_by_slug("mdm_device_cap")->code, "0x80180013");
    assert_string_equal(lj_reason_by_slug("mdm_license_missing")->code, "0x80180018");
    /* joined but not enrolled: its own exit code, retryable, never a plain failure */
    assert_int_equal(lj_reason_by_slug("joined_mdm_pending")->exit_code, LJ_EXIT_MDM_PENDING);
    assert_true(lj_reason_by_slug("joined_mdm_pending")->retryable);
    assert_int_equal(lj_reason_by_slug("joined_mdm_pending")->fix_by, LJ_FIX_RETRY);
    /* an old-template device key: exit 13 like lost keys, TPM_20_E_SCHEME, the template named */
    assert_int_equal(lj_reason_by_slug("device_key_outdated")->exit_code, LJ_EXIT_STATE);
    assert_string_equal(lj_reason_by_slug("device_key_outdated")->code, "0x80280092");
    assert_non_null(
        strstr(lj_reason_by_slug("device_key_outdated")->admin_action, "RSASSA-only key template"));
    /* a server that asks for a signature the device key does not make: exit 5 like
       tls_untrusted, SEC_E_ALGORITHM_MISMATCH, what the key does sign named */
    assert_int_equal(lj_reason_by_slug("tls_signature_unsupported")->exit_code, LJ_EXIT_NETWORK);
    assert_string_equal(lj_reason_by_slug("tls_signature_unsupported")->code, "0x80090331");
    assert_int_equal(lj_reason_by_slug("tls_signature_unsupported")->fix_by, LJ_FIX_ADMIN);
    assert_non_null(strstr(lj_reason_by_slug("tls_signature_unsupported")->admin_action,
                           "rsa_pkcs1 and rsa_pss_rsae with SHA-256, SHA-384 or SHA-512"));
    assert_non_null(
        strstr(lj_reason_by_slug("join_not_permitted")->admin_action, "Users may join devices"));
    assert_non_null(strstr(lj_reason_get(LJ_R_JOIN_NOT_PERMITTED_GROUP)->admin_action, "group"));
    assert_non_null(strstr(lj_reason_by_slug("device_quota_reached")->admin_action,
                           "Maximum number of devices per user"));
}

static void
expect_oauth(enum oauth_err_class cls, unsigned long aadsts, const char *slug, const char *code)
{
    struct oauth_error e;
    struct lj_classified c;

    memset(&e, 0, sizeof(e));
    e.cls = cls;
    e.aadsts = aadsts;
    lj_classify_oauth(&e, &c);
    assert_string_equal(lj_reason_get(c.reason)->slug, slug);
    assert_string_equal(c.code, code);
}

static void
test_classify_oauth(void **state)
{
    (void)state;
    expect_oauth(OAUTH_ERRC_BAD_PASSWORD, 50126, "wrong_password", "AADSTS50126");
    expect_oauth(OAUTH_ERRC_UNKNOWN_USER, 50034, "unknown_user", "AADSTS50034");
    expect_oauth(OAUTH_ERRC_DISABLED, 50057, "user_disabled", "AADSTS50057");
    expect_oauth(OAUTH_ERRC_LOCKED, 50053, "account_locked", "AADSTS50053");
    expect_oauth(OAUTH_ERRC_PASSWORD_EXPIRED, 50144, "password_expired", "AADSTS50144");
    expect_oauth(OAUTH_ERRC_UNKNOWN_TENANT, 90002, "tenant_not_found", "AADSTS90002");
    expect_oauth(OAUTH_ERRC_MFA_REQUIRED, 50074, "mfa_required", "AADSTS50074");
    expect_oauth(OAUTH_ERRC_MFA_REGISTRATION, 50079, "mfa_registration_required", "AADSTS50079");
    expect_oauth(OAUTH_ERRC_MFA_REGISTRATION, 0, "mfa_registration_required", "AADSTS50079");
    assert_non_null(
        strstr(lj_reason_get(LJ_R_MFA_REGISTRATION_REQUIRED)->message, "https://aka.ms/mfasetup"));
    expect_oauth(OAUTH_ERRC_MFA_REQUIRED, 0, "mfa_required", "AADSTS50076");
    expect_oauth(OAUTH_ERRC_CA_BLOCKED, 53003, "blocked_by_conditional_access", "AADSTS53003");
    expect_oauth(OAUTH_ERRC_EXPIRED, 0, "signin_expired", "AADSTS70019");
    expect_oauth(OAUTH_ERRC_DECLINED, 0, "signin_declined", "AADSTS65004");
    expect_oauth(OAUTH_ERRC_REFRESH_INVALID, 70008, "signin_session_expired", "AADSTS70008");
    assert_string_equal(lj_reason_get(LJ_R_NETWORK_DNS)->code, "0x80072ee7");
    assert_string_equal(lj_reason_get(LJ_R_NETWORK_TIMEOUT)->code, "0x80072ee2");
    assert_string_equal(lj_reason_get(LJ_R_NETWORK_UNREACHABLE)->code, "0x80072efd");
    assert_string_equal(lj_reason_get(LJ_R_MDM_BAD_SERVICE_RESPONSE)->code, "0x80180001");
    /* proxies: WinINet's PROXY_SERVER_UNREACHABLE, winerror.h HTTP_E_STATUS_PROXY_AUTH_REQ */
    assert_string_equal(lj_reason_get(LJ_R_PROXY_UNREACHABLE)->code, "0x80072f85");
    assert_string_equal(lj_reason_get(LJ_R_PROXY_AUTH_REQUIRED)->code, "0x80190197");
    assert_non_null(strstr(lj_reason_get(LJ_R_NETWORK_INTERCEPTED_TLS)->admin_action, "{proxy}"));
    assert_non_null(strstr(lj_reason_get(LJ_R_PROXY_AUTH_REQUIRED)->admin_action, "{proxy}"));
    expect_oauth(OAUTH_ERRC_BAD_USER_CODE, 70018, "signin_code_wrong", "AADSTS70018");
    assert_true(lj_reason_get(LJ_R_SIGNIN_CODE_WRONG)->retryable);
    /* the Conditional Access family: one slug, admin fix, exit 7, the
     * policy's condition or grant in the admin action */
    {
        static const struct {
            enum oauth_err_class cls;
            unsigned long code;
            enum lj_reason want;
            const char *hint;
        } ca[] = {
            {OAUTH_ERRC_CA_PLATFORM, 50005, LJ_R_CA_PLATFORM, "Device platforms"},
            {OAUTH_ERRC_CA_COMPLIANT, 53000, LJ_R_CA_COMPLIANT, "Require device to be marked"},
            {OAUTH_ERRC_CA_DOMAIN_JOINED, 53001, LJ_R_CA_DOMAIN_JOINED, "hybrid joined"},
            {OAUTH_ERRC_CA_APPROVED_APP, 53002, LJ_R_CA_APPROVED_APP, "approved client app"},
            {OAUTH_ERRC_CA_BLOCKED, 53003, LJ_R_BLOCKED_BY_CA, "Sign-in logs"},
            {OAUTH_ERRC_CA_PROOFUP_RISK, 53004, LJ_R_CA_PROOFUP_RISK, "Risky users"},
            {OAUTH_ERRC_CA_SECURITY_POLICY, 530032, LJ_R_CA_SECURITY_POLICY, "security policy"},
            {OAUTH_ERRC_CA_DELEGATED_ADMIN, 530034, LJ_R_CA_DELEGATED_ADMIN, "partner"},
            {OAUTH_ERRC_SECURITY_DEFAULTS, 530035, LJ_R_CA_SECURITY_DEFAULTS, "security defaults"},
            {OAUTH_ERRC_CA_EXTERNAL, 50158, LJ_R_CA_EXTERNAL, "custom control"},
        };
        for (size_t i = 0; i < sizeof(ca) / sizeof(ca[0]); i++) {
            struct oauth_error e;
            struct lj_classified c;
            const struct lj_reason_info *ri;
            char want[24];

            memset(&e, 0, sizeof(e));
            e.cls = ca[i].cls;
            e.aadsts = ca[i].code;
            lj_classify_oauth(&e, &c);
            assert_int_equal(c.reason, ca[i].want);
            ri = lj_reason_get(c.reason);
            assert_string_equal(ri->slug, "blocked_by_conditional_access");
            snprintf(want, sizeof(want), "AADSTS%lu", ca[i].code);
            assert_string_equal(c.code, want);
            assert_string_equal(ri->code, want);
            assert_int_equal(ri->fix_by, LJ_FIX_ADMIN);
            assert_int_equal(ri->exit_code, LJ_EXIT_POLICY);
            if (strstr(ri->admin_action, ca[i].hint) == NULL)
                fail_msg("AADSTS%lu: admin action lacks '%s'", ca[i].code, ca[i].hint);
        }
    }
    expect_oauth(OAUTH_ERRC_OTHER, 700016, "signin_rejected", "AADSTS700016");
    /* AADSTS50011 (redirect URI not registered for the client): configuration */
    expect_oauth(OAUTH_ERRC_REDIRECT_MISMATCH, 50011, "redirect_uri_not_registered", "AADSTS50011");
    assert_int_equal(lj_reason_get(LJ_R_REDIRECT_NOT_REGISTERED)->exit_code, LJ_EXIT_CONFIG);
    expect_oauth(OAUTH_ERRC_OTHER, 0, "signin_rejected", "0x80004005");
}

static void
expect_drs(enum lj_phase ph, long status, enum drs_body_kind kind, const char *type,
           const char *msg, enum lj_reason want, const char *code)
{
    struct drs_error e;
    struct lj_classified c;

    memset(&e, 0, sizeof(e));
    e.http_status = status;
    e.kind = kind;
    snprintf(e.error_type, sizeof(e.error_type), "%s", type);
    snprintf(e.message, sizeof(e.message), "%s", msg);
    lj_classify_drs(ph, &e, &c);
    if (c.reason != want)
        fail_msg("'%s' -> %s, want %s", msg, lj_reason_get(c.reason)->slug,
                 lj_reason_get(want)->slug);
    assert_string_equal(c.code, code);
}

static void
test_classify_drs(void **state)
{
    const enum lj_phase J = LJ_PHASE_JOIN;

    (void)state;
    expect_drs(J, 400, DRS_BODY_JSON, "AuthorizationError",
               "Administrator policy does not allow user alice@contoso.example to device join",
               LJ_R_JOIN_NOT_PERMITTED, "0x801c0003");
    expect_drs(
        J, 403, DRS_BODY_JSON, "AuthorizationError",
        "User alice@contoso.example is not in a group allowed to join devices; not allowed to join",
        LJ_R_JOIN_NOT_PERMITTED_GROUP, "0x801c0003");
    expect_drs(J, 400, DRS_BODY_JSON, "AuthorizationError",
               "The user has reached the maximum number of devices allowed",
               LJ_R_DEVICE_QUOTA_REACHED, "0x801c000e");
    expect_drs(J, 400, DRS_BODY_JSON, "DeviceQuotaExceeded",
               "User is not allowed to join more devices", LJ_R_DEVICE_QUOTA_REACHED, "0x801c000e");
    expect_drs(J, 401, DRS_BODY_JSON, "AuthenticationError", "Invalid JWT token.",
               LJ_R_AUTH_REJECTED, "0x801c0002");
    expect_drs(J, 400, DRS_BODY_JSON, "DirectoryError",
               "Your request is throttled temporarily. Please try after 300 seconds.",
               LJ_R_THROTTLED, "0x801c03f2");
    expect_drs(J, 503, DRS_BODY_EMPTY, "", "", LJ_R_SERVICE_UNAVAILABLE, "0x801c0025");
    expect_drs(J, 429, DRS_BODY_JSON, "DirectoryError", "throttled", LJ_R_SERVICE_UNAVAILABLE,
               "0x801c0025");
    expect_drs(J, 200, DRS_BODY_HTML, "", "", LJ_R_NETWORK_INTERCEPTED, "0x8007000d");
    expect_drs(J, 400, DRS_BODY_OTHER, "", "", LJ_R_BAD_SERVICE_RESPONSE, "0x801c0001");
    expect_drs(J, 400, DRS_BODY_JSON, "DirectoryError",
               "The device object by the given id (x) is not found.", LJ_R_JOIN_REJECTED,
               "0x801c03f2");
    expect_drs(J, 400, DRS_BODY_JSON, "InvalidParameter",
               "An Attribute key or value specified is invalid or exceeds length limits (512).",
               LJ_R_JOIN_REJECTED, "0x801c0006");
    expect_drs(J, 400, DRS_BODY_JSON, "DirectoryError", "AADSTS90002: Tenant 'x' not found.",
               LJ_R_DRS_TENANT_NOT_FOUND, "0x801c003a");
    expect_drs(LJ_PHASE_DISCOVER, 404, DRS_BODY_OTHER, "", "", LJ_R_DRS_TENANT_NOT_FOUND,
               "0x801c003a");
    expect_drs(J, 400, DRS_BODY_JSON, "", "", LJ_R_JOIN_REJECTED, "0x801c0006");
    /* the HTTP status first: a 401 is the bearer token refused whatever the
     * body (RFC 6750 3.1) */
    expect_drs(J, 401, DRS_BODY_EMPTY, "", "", LJ_R_AUTH_REJECTED, "0x801c0002");
    expect_drs(J, 401, DRS_BODY_OTHER, "", "Unauthorized", LJ_R_AUTH_REJECTED, "0x801c0002");
    expect_drs(J, 401, DRS_BODY_JSON, "SomethingNew", "maximum number of devices",
               LJ_R_AUTH_REJECTED, "0x801c0002");
    expect_drs(J, 403, DRS_BODY_EMPTY, "", "", LJ_R_JOIN_NOT_PERMITTED, "0x801c0003");
    /* then ErrorType ([MS-DVRE] 3.1.4.1.4.1 values) */
    expect_drs(J, 403, DRS_BODY_JSON, "AuthorizationError", "User is not authorized.",
               LJ_R_JOIN_NOT_PERMITTED, "0x801c0003");
    expect_drs(J, 400, DRS_BODY_JSON, "AuthenticationError", "does not allow user x to device join",
               LJ_R_AUTH_REJECTED, "0x801c0002");
    expect_drs(J, 400, DRS_BODY_JSON, "AuthorizationError",
               "Administrator policy requires multi-factor authentication for user x to device "
               "join.",
               LJ_R_MFA_REQUIRED, lj_reason_get(LJ_R_MFA_REQUIRED)->code);
    /* then the text, as a hint, for an unknown ErrorType */
    expect_drs(J, 400, DRS_BODY_JSON, "DeviceRegistrationQuotaExceeded",
               "User x has reached the maximum number of devices (5) allowed",
               LJ_R_DEVICE_QUOTA_REACHED, "0x801c000e");
    expect_drs(J, 400, DRS_BODY_JSON, "SomethingNew", "Something no one has seen before.",
               LJ_R_JOIN_REJECTED, "0x801c0006");
    expect_drs(J, 403, DRS_BODY_JSON, "SomethingNew", "Something no one has seen before.",
               LJ_R_JOIN_NOT_PERMITTED, "0x801c0003");
}

static void
expect_mdm(long status, enum mdm_body_kind kind, const char *type, const char *sub,
           const char *reason, enum lj_reason want, const char *code)
{
    struct mdm_fault f;
    struct lj_classified c;

    memset(&f, 0, sizeof(f));
    f.http_status = status;
    f.kind = kind;
    snprintf(f.error_type, sizeof(f.error_type), "%s", type);
    snprintf(f.subcode, sizeof(f.subcode), "%s", sub);
    snprintf(f.reason, sizeof(f.reason), "%s", reason);
    lj_classify_mdm(&f, &c);
    if (c.reason != want)
        fail_msg("'%s/%s' -> %s, want %s", type, sub, lj_reason_get(c.reason)->slug,
                 lj_reason_get(want)->slug);
    assert_string_equal(c.code, code);
}

static void
test_classify_mdm(void **state)
{
    const enum mdm_body_kind F = MDM_BODY_FAULT;

    (void)state;
    /* Intune's observed personal-device block (as pytune's author published it: "Bypassing
     * Enrollment Restrictions") */
    expect_mdm(500, F, "DeviceNotSupported", "s:Authorization",
               "Device Identifier not preregistered", LJ_R_MDM_OWNERSHIP_BLOCKED, "0x80180014");
    expect_mdm(500, F, "DeviceNotSupported", "s:Authorization",
               "Windows (MDM) platform is blocked by an enrollment restriction",
               LJ_R_MDM_PLATFORM_BLOCKED, "0x80180014");
    expect_mdm(500, F, "DeviceCapReached", "s:Authorization", "", LJ_R_MDM_DEVICE_CAP,
               "0x80180013");
    expect_mdm(500, F, "UserLicense", "s:Authorization", "", LJ_R_MDM_LICENSE_MISSING,
               "0x80180018");
    expect_mdm(500, F, "", "s:Authorization", "Failed to issue token: UserValidation",
               LJ_R_MDM_LICENSE_MISSING, "0x80180018");
    expect_mdm(500, F, "", "s:MdmNotConfigured", "", LJ_R_MDM_NOT_IN_SCOPE, "0x8018002b");
    expect_mdm(503, F, "InMaintenance", "s:Receiver", "", LJ_R_JOINED_MDM_PENDING, "0x80180017");
    expect_mdm(500, F, "", "s:MessageFormat", "", LJ_R_MDM_REJECTED, "0x80180001");
    expect_mdm(503, MDM_BODY_EMPTY, "", "", "", LJ_R_JOINED_MDM_PENDING, "0x80180010");
    expect_mdm(200, MDM_BODY_EMPTY, "", "", "", LJ_R_MDM_BAD_SERVICE_RESPONSE, "0x80180029");
    expect_mdm(200, MDM_BODY_HTML, "", "", "", LJ_R_NETWORK_INTERCEPTED, "0x8007000d");
    /* MENROLL_E_DEVICE_MESSAGE_FORMAT_ERROR, not DRS's 0x801c0001 */
    expect_mdm(400, MDM_BODY_OTHER, "", "", "", LJ_R_MDM_BAD_SERVICE_RESPONSE, "0x80180001");
}

static void
test_classify_rc(void **state)
{
    static const struct {
        enum lj_rc rc;
        enum lj_reason want;
    } cases[] = {
        {LJ_ERR_NET_DNS, LJ_R_NETWORK_DNS},
        {LJ_ERR_NET_CONNECT, LJ_R_NETWORK_UNREACHABLE},
        {LJ_ERR_NET_TIMEOUT, LJ_R_NETWORK_TIMEOUT},
        {LJ_ERR_TIMEOUT, LJ_R_NETWORK_TIMEOUT},
        {LJ_ERR_TLS, LJ_R_NETWORK_UNREACHABLE},
        {LJ_ERR_PROXY, LJ_R_PROXY_UNREACHABLE},
        {LJ_ERR_PROXY_AUTH, LJ_R_PROXY_AUTH_REQUIRED},
        {LJ_ERR_TLS_UNTRUSTED, LJ_R_TLS_UNTRUSTED},
        {LJ_ERR_TPM_UNREACHABLE, LJ_R_TPM_UNAVAILABLE},
        {LJ_ERR_TPM_LOCKOUT, LJ_R_TPM_LOCKED},
        {LJ_ERR_TPM_KEYS_LOST, LJ_R_TPM_KEYS_LOST},
        {LJ_ERR_TPM_WRONG_TPM, LJ_R_TPM_KEYS_LOST},
        {LJ_ERR_STATE, LJ_R_TPM_KEYS_LOST},
        {LJ_ERR_KEY_SCHEME, LJ_R_DEVICE_KEY_OUTDATED},
        {LJ_ERR_SIG_UNSUPPORTED, LJ_R_TLS_SIGNATURE_UNSUPPORTED},
        {LJ_ERR_TPM, LJ_R_TPM_FAILED},
        {LJ_ERR_PROTOCOL, LJ_R_BAD_SERVICE_RESPONSE},
        {LJ_ERR_CANCELLED, LJ_R_CANCELLED},
        {LJ_ERR_NOMEM, LJ_R_INTERNAL},
    };
    struct lj_classified c;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lj_classify_rc(cases[i].rc, &c);
        assert_int_equal(c.reason, cases[i].want);
        assert_string_equal(c.code, lj_reason_get(cases[i].want)->code);
    }
    assert_string_equal(lj_error_net_what(LJ_ERR_NET_DNS), "its name did not resolve");
}

static void
test_format(void **state)
{
    const struct lj_reason_info *r = lj_reason_by_slug("mdm_ownership_blocked");
    struct lj_error_params p = full;
    char buf[512], tiny[8];
    size_t need;

    (void)state;
    lj_error_format(r->admin_action, &p, buf, sizeof(buf));
    /* Windows identifiers are uploaded as CSV only (Windows 365 Link page, "Configure
     * enrollment restrictions"): the exact line, and the personally-owned alternative */
    assert_non_null(strstr(buf, "with the line Contoso Devices,Link 1,SN-0001 in Intune admin "
                                "center > Devices > Enrollment > Corporate device identifiers > "
                                "Add > Upload CSV file"));
    assert_non_null(strstr(buf, "Manufacturer, model, and serial number (Windows only)"));
    assert_non_null(strstr(buf, "allow personally owned devices for the group of "
                                "alice@contoso.example"));
    lj_error_format(lj_reason_by_slug("join_not_permitted")->admin_action, &p, buf, sizeof(buf));
    assert_non_null(strstr(buf, "add alice@contoso.example to one of the selected groups"));
    lj_error_format(lj_reason_by_slug("join_not_permitted")->admin_action, NULL, buf, sizeof(buf));
    assert_non_null(strstr(buf, "add the user to one of the selected groups"));
    lj_error_format(lj_reason_by_slug("mdm_not_in_scope")->admin_action, &p, buf, sizeof(buf));
    assert_non_null(strstr(buf, "Intune admin center > Devices > Enrollment > Windows > "
                                "Automatic Enrollment > MDM user scope"));
    assert_non_null(strstr(buf, "unverified domain"));
    lj_error_format(lj_reason_by_slug("mfa_required")->admin_action, &p, buf, sizeof(buf));
    assert_non_null(strstr(buf, "Register or join devices"));
    assert_non_null(strstr(buf, "must be No"));
    lj_error_format(lj_reason_by_slug("blocked_by_conditional_access")->admin_action, &p, buf,
                    sizeof(buf));
    assert_non_null(strstr(buf, "Authentication flows > Device code flow"));
    assert_non_null(strstr(lj_reason_by_slug("mdm_device_cap")->message,
                           "https://portal.manage.microsoft.com"));
    /* TPM texts agree: a lockout is waited out, never "reset"; a fault says restart first */
    lj_error_format(lj_reason_by_slug("tpm_locked")->message, &p, buf, sizeof(buf));
    assert_string_equal(buf, "The device's security chip (TPM) has paused itself after too many "
                             "failed attempts; leave the device switched on and try again in "
                             "about 17 minutes.");
    assert_int_equal(lj_reason_by_slug("tpm_locked")->fix_by, LJ_FIX_RETRY);
    assert_null(strstr(lj_reason_by_slug("tpm_locked")->admin_action, "clear the TPM in"));
    assert_non_null(strstr(lj_reason_by_slug("tpm_unavailable")->message, "; restart the device, "
                                                                          "and if this message "
                                                                          "appears again"));
    assert_non_null(strstr(lj_reason_by_slug("tpm_failed")->message, "; restart the device, and "
                                                                     "if this message appears "
                                                                     "again"));
    /* the person at the device is not shown raw identifiers */
    assert_null(strstr(lj_reason_by_slug("mdm_ownership_blocked")->message, "{serial}"));
    lj_error_format(lj_reason_by_slug("network_unreachable")->admin_action, &p, buf, sizeof(buf));
    assert_non_null(strstr(buf, "The device could not reach enterpriseregistration.windows.net "
                                "because the connection timed out: allow HTTPS"));
    /* missing values get neutral words */
    lj_error_format("{host}/{what}/{serial}", NULL, buf, sizeof(buf));
    assert_string_equal(buf, "the Microsoft service/the connection failed/unknown");
    /* values cannot inject placeholders or control characters; unknown ones stay literal */
    p.host = "evil{serial}\n.example";
    lj_error_format("{host} {nope} {", &p, buf, sizeof(buf));
    assert_string_equal(buf, "evilserial.example {nope} {");
    /* truncation reports the full length */
    need = lj_error_format("{host}", &full, tiny, sizeof(tiny));
    assert_int_equal(need, strlen("enterpriseregistration.windows.net"));
    assert_string_equal(tiny, "enterpr");
}

static void
test_readme_matches(void **state)
{
    char path[512];
    unsigned char *readme = NULL;
    char *md = NULL;
    size_t n;

    (void)state;
    snprintf(path, sizeof(path), "%s/README.md", lj_test_top());
    assert_int_equal(lj_fs_read(path, 1 << 20, &readme, &n), LJ_OK);
    assert_int_equal(lj_errors_markdown(&md), LJ_OK);
    assert_non_null(strstr((char *)readme, "\n## Failure reasons\n"));
    if (strstr((char *)readme, md) == NULL)
        fail_msg("README.md's failure table differs from agent/core/errors.c; regenerate it with "
                 "'build/linkjoin errors --markdown'");
    /* one row per entry */
    for (int i = 0; i < LJ_R_COUNT__; i++) {
        char row[128];

        snprintf(row, sizeof(row), "\n| `%s`", lj_reason_get((enum lj_reason)i)->slug);
        assert_non_null(strstr(md, row));
    }
    free(md);
    free(readme);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_entry_complete),
        cmocka_unit_test(test_slugs_unique_and_required),
        cmocka_unit_test(test_classify_oauth),
        cmocka_unit_test(test_classify_drs),
        cmocka_unit_test(test_classify_mdm),
        cmocka_unit_test(test_classify_rc),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_readme_matches),
    };
    return cmocka_run_group_tests_name("errors", tests, NULL, NULL);
}
