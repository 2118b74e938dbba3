/*
 * errors.c — the failure table, and the classifier of local results
 * (lj_classify_rc); server answers are classified in agent/proto/classify.c.
 *
 * Design note: the table is the single source of what a person and an admin
 * are told; UI events, `linkjoin status`, the tty renderer and README.md all
 * read it.  Rows are indexed by enum lj_reason and checked at start-up by the
 * unit test (every field present and well formed, README identical).  A
 * classifier only chooses a row (and, where the server was specific, its own
 * code); they never invent text.  Windows codes (0x801c.... dsreg,
 * 0x8018.... MDM enrollment) are the ones Microsoft's troubleshooting pages
 * list: Entra's "Troubleshoot hybrid join" and "dsregcmd" articles, and
 * Windows' "MDM enrollment error codes" table.
 */
#include "agent/core/errors.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/core/exitcodes.h"

/*
 * Portal paths as Microsoft Learn names them today (checked 2026-12):
 * Device settings and Conditional Access moved under "Entra ID" in the
 * Entra admin center (entra-docs manage-device-identities.md,
 * how-to-policy-mfa-device-register-join.md); the corporate identifier CSV
 * upload and the personally-owned alternative are from the Windows 365 Link
 * page "Configure enrollment restrictions"
 * (learn.microsoft.com/windows-365/link/enrollment-restrictions).
 */
#define ENTRA_DEVSET "Entra admin center > Entra ID > Devices > Overview > Device settings"
#define ENTRA_CA "Entra admin center > Entra ID > Conditional Access > Policies"
#define ENTRA_SIGNINS "Entra admin center > Entra ID > Monitoring & health > Sign-in logs"
#define ENTRA_AUDIT "Entra admin center > Entra ID > Monitoring & health > Audit logs"
#define ENTRA_DEVICES "Entra admin center > Entra ID > Devices > All devices"
#define ENTRA_USER "Entra admin center > Entra ID > Users > All users > (the user)"
#define MS_HOSTS                                                                                   \
    "login.microsoftonline.com, enterpriseregistration.windows.net and "                           \
    "enrollment.manage.microsoft.com"

static const struct lj_reason_info table[LJ_R_COUNT__] = {
    /* 0x80072f8f (WinINet ERROR_INTERNET_SECURE_FAILURE) is the code Windows
     * shows when a wrong clock breaks certificate checks; searches for it
     * lead to "check the date and time" first (Windows Update and activation
     * troubleshooting).  {what} carries the device's own time. */
    [LJ_R_CLOCK_WRONG] =
        {LJ_R_CLOCK_WRONG, "clock_wrong", "", LJ_PHASE_PREFLIGHT, "0x80072f8f", LJ_FIX_ADMIN, false,
         LJ_EXIT_NETWORK,
         "The date and time on this device are wrong, so it cannot connect securely to "
         "Microsoft; give your IT admin the details below.",
         "The device clock is wrong ({what}): let the device reach its time server (NTP, UDP "
         "port 123) or correct the time source in the device configuration"},
    /* Network failures split as Windows (WinINet) codes them:
     * ERROR_INTERNET_CANNOT_CONNECT 12029, ERROR_INTERNET_NAME_NOT_RESOLVED
     * 12007, ERROR_INTERNET_TIMEOUT 12002, as HRESULTs 0x8007xxxx. */
    [LJ_R_NETWORK_UNREACHABLE] =
        {LJ_R_NETWORK_UNREACHABLE, "network_unreachable", "", LJ_PHASE_PREFLIGHT, "0x80072efd",
         LJ_FIX_USER, true, LJ_EXIT_NETWORK,
         "The device could not connect to Microsoft's services; check the network cable or "
         "Wi-Fi connection, then try again.",
         "The device could not reach {host} because {what}: allow HTTPS (TCP 443) from the "
         "device to " MS_HOSTS " and make sure DNS resolves them"},
    [LJ_R_NETWORK_DNS] =
        {LJ_R_NETWORK_DNS, "network_unreachable", "name not resolved", LJ_PHASE_PREFLIGHT,
         "0x80072ee7", LJ_FIX_USER, true, LJ_EXIT_NETWORK,
         "The device could not connect to Microsoft's services; check the network cable or "
         "Wi-Fi connection, then try again.",
         "The device could not reach {host} because {what}: make sure the DNS server the device "
         "gets (DHCP or its configuration) resolves " MS_HOSTS},
    [LJ_R_NETWORK_TIMEOUT] =
        {LJ_R_NETWORK_TIMEOUT, "network_unreachable", "timed out", LJ_PHASE_PREFLIGHT, "0x80072ee2",
         LJ_FIX_USER, true, LJ_EXIT_NETWORK,
         "The device could not connect to Microsoft's services; check the network cable or "
         "Wi-Fi connection, then try again.",
         "The device could not reach {host} because {what}: allow HTTPS (TCP 443) from the "
         "device to " MS_HOSTS "; a firewall that drops the connection instead of refusing it "
         "makes it time out"},
    [LJ_R_TLS_UNTRUSTED] =
        {LJ_R_TLS_UNTRUSTED, "tls_untrusted", "", LJ_PHASE_PREFLIGHT, "0x800b0109", LJ_FIX_ADMIN,
         false, LJ_EXIT_NETWORK,
         "The device could not connect securely to Microsoft's services, which usually means "
         "the network inspects encrypted traffic; give your IT admin the details below.",
         "The certificate of {host} was not trusted ({what}): exclude " MS_HOSTS " from TLS "
         "inspection on the proxy or firewall"},
    [LJ_R_NETWORK_INTERCEPTED] =
        {LJ_R_NETWORK_INTERCEPTED, "network_intercepted", "", LJ_PHASE_PREFLIGHT, "0x8007000d",
         LJ_FIX_ADMIN, false, LJ_EXIT_NETWORK,
         "The network showed a web page instead of connecting to Microsoft, which usually "
         "means it wants you to sign in to the network or accept its terms first; "
         "give your IT admin the details below.",
         "{host} answered with a web page (a captive portal or proxy sign-in): let the device "
         "reach " MS_HOSTS " directly, without a captive portal or proxy authentication"},
    /* Through a proxy (agent/core/proxy.h): a certificate from an unknown
     * CA is the proxy inspecting TLS (CERT_E_UNTRUSTEDROOT, the code Windows
     * shows for it), a web page is the proxy's block or sign-in page. */
    [LJ_R_NETWORK_INTERCEPTED_TLS] =
        {LJ_R_NETWORK_INTERCEPTED_TLS, "network_intercepted", "TLS inspection at the proxy",
         LJ_PHASE_PREFLIGHT, "0x800b0109", LJ_FIX_ADMIN, false, LJ_EXIT_NETWORK,
         "The device could not connect securely to Microsoft's services because the network's "
         "proxy inspects encrypted traffic; give your IT admin the details below.",
         "The proxy {proxy} inspects TLS on the connection to {host}: exclude " MS_HOSTS
         " from TLS inspection on the proxy {proxy}"},
    [LJ_R_NETWORK_INTERCEPTED_PROXY] =
        {LJ_R_NETWORK_INTERCEPTED_PROXY, "network_intercepted", "web page from the proxy",
         LJ_PHASE_PREFLIGHT, "0x8007000d", LJ_FIX_ADMIN, false, LJ_EXIT_NETWORK,
         "The network's proxy showed a web page instead of connecting to Microsoft, which "
         "usually means it blocks the site or wants a sign-in first; "
         "give your IT admin the details below.",
         "The proxy {proxy} answered for {host} with a web page: let the device reach " MS_HOSTS
         " through the proxy {proxy} without a block page or a sign-in page"},
    /* WinINet ERROR_INTERNET_PROXY_SERVER_UNREACHABLE (12165); for a 407,
     * HTTP_E_STATUS_PROXY_AUTH_REQ (winerror.h, 0x80190000 + 407). */
    [LJ_R_PROXY_UNREACHABLE] =
        {LJ_R_PROXY_UNREACHABLE, "proxy_unreachable", "", LJ_PHASE_PREFLIGHT, "0x80072f85",
         LJ_FIX_ADMIN, true, LJ_EXIT_NETWORK,
         "The device could not reach the network proxy it is set up to use; check the network "
         "connection and try again.",
         "The device could not reach its proxy {proxy} because {what}: check that the proxy "
         "runs and is reachable from the device, or correct proxy = in the device configuration"},
    [LJ_R_PROXY_AUTH_REQUIRED] =
        {LJ_R_PROXY_AUTH_REQUIRED, "proxy_auth_required", "", LJ_PHASE_PREFLIGHT, "0x80190197",
         LJ_FIX_ADMIN, false, LJ_EXIT_CONFIG,
         "The network proxy asks for a user name and password that this device does not have, "
         "or refused the ones it has; give your IT admin the details below.",
         "The proxy {proxy} did not let the device through ({what}): put USER:PASSWORD of an "
         "account it accepts in the file named by proxy_credentials_file (mode 0600), or let "
         "the device reach " MS_HOSTS " through the proxy without authentication"},
    [LJ_R_TPM_UNAVAILABLE] =
        {LJ_R_TPM_UNAVAILABLE, "tpm_unavailable", "", LJ_PHASE_PREFLIGHT, "0x8028400f",
         LJ_FIX_HARDWARE, false, LJ_EXIT_TPM,
         "The device's security chip (TPM) did not respond; restart the device, and if this "
         "message appears again, contact your IT admin.",
         "Check that the TPM is enabled in the device firmware settings; if it is and the "
         "error comes back after a restart, run linkjoin factory-test and send the device for "
         "repair if its TPM checks fail"},
    [LJ_R_TPM_LOCKED] =
        {LJ_R_TPM_LOCKED, "tpm_locked", "", LJ_PHASE_PREFLIGHT, "0x80090031", LJ_FIX_RETRY, true,
         LJ_EXIT_TPM,
         "The device's security chip (TPM) has paused itself after too many failed attempts; "
         "leave the device switched on and try again in {wait}.",
         "No change is needed: the TPM's dictionary-attack lockout ends by itself ({wait}), as "
         "Microsoft's Entra join troubleshooting says for 0x80090031 (wait for the cooldown "
         "period); do not clear the TPM for this.  If it keeps coming back, something is "
         "trying wrong TPM authorizations: run linkjoin factory-test"},
    [LJ_R_TPM_FAILED] =
        {LJ_R_TPM_FAILED, "tpm_failed", "", LJ_PHASE_KEYS, "0x80290407", LJ_FIX_HARDWARE, false,
         LJ_EXIT_TPM,
         "The device's security chip (TPM) failed while creating the device keys; restart the "
         "device, and if this message appears again, contact your IT admin.",
         "A restart usually clears it; if the same code appears after a restart, run linkjoin "
         "factory-test and send the device for repair if its TPM checks fail"},
    [LJ_R_TPM_KEYS_LOST] =
        {LJ_R_TPM_KEYS_LOST, "tpm_keys_lost", "", LJ_PHASE_KEYS, "0x80090016", LJ_FIX_SUPPORT,
         false, LJ_EXIT_STATE,
         "The security keys saved by an earlier setup no longer work on this device (its "
         "security chip was probably reset), so it must be reset before it can be set up again; "
         "give your IT admin the details below.",
         "Reset the device to factory settings so setup creates new keys, and delete its old "
         "device object in Entra admin center > Entra ID > Devices > All devices"},
    /* A device key made with the template of earlier versions (TPM scheme
     * RSASSA-SHA256 instead of NULL, tpm/esys.c) cannot make the RSA-PSS
     * (or SHA-384/512) signature a TLS server asks for (TLS 1.3 CertificateVerify, RFC 8446
     * 4.4.3; TLS 1.2 servers that offer rsa_pss_rsae_sha256 first): tpm/
     * refuses before TPM2_Sign would answer TPM_RC_SCHEME, whose Windows
     * form is TPM_20_E_SCHEME (winerror.h, 0x80280092).  Only a new key
     * helps, and the device object of the old one can only be deleted by
     * an admin: the same way out as lost keys. */
    [LJ_R_DEVICE_KEY_OUTDATED] =
        {LJ_R_DEVICE_KEY_OUTDATED, "device_key_outdated", "", LJ_PHASE_KEYS, "0x80280092",
         LJ_FIX_ADMIN, false, LJ_EXIT_STATE,
         "This device's security key was made by an older version of the setup program and "
         "cannot prove the device's identity the way Microsoft's service now asks, so the device "
         "cannot remove itself; reset the device and set it up again, or ask your IT admin to "
         "remove it.",
         "The device key was made with the RSASSA-only key template of earlier linkjoin versions "
         "(TPM key scheme RSASSA-SHA256, not NULL), and {host} asks in the TLS handshake for a "
         "signature that key cannot make (RSA-PSS, or a hash other than SHA-256): run linkjoin "
         "leave --local-only (or "
         "reset the device to factory settings), delete the device object in " ENTRA_DEVICES
         ", then join the device again; the new key has the current template (scheme NULL: "
         "RSA-PSS or PKCS#1)"},
    /* A TLS server (or a TLS-inspecting proxy in its place) whose
     * CertificateRequest offers only signature algorithms the device key
     * does not make (it makes rsa_pkcs1_* and rsa_pss_rsae_* with SHA-256,
     * -384 and -512, RFC 8446 4.2.3; SHA-1 or ECDSA say, are not):
     * the same for a TPM that refuses the hash asked for or makes RSA-PSS
     * with another salt than TLS accepts (tpm/ tpm_sign).
     * SEC_E_ALGORITHM_MISMATCH (winerror.h, 0x80090331), what Schannel
     * answers when client and server share no algorithm.  Like
     * tls_untrusted, the network or the server's TLS settings are the
     * cause; nothing local changes it. */
    [LJ_R_TLS_SIGNATURE_UNSUPPORTED] =
        {LJ_R_TLS_SIGNATURE_UNSUPPORTED, "tls_signature_unsupported", "", LJ_PHASE_PREFLIGHT,
         "0x80090331", LJ_FIX_ADMIN, false, LJ_EXIT_NETWORK,
         "The device could not prove its identity to Microsoft's service because the connection "
         "asked for a kind of signature its security key does not make, which usually means the "
         "network inspects encrypted traffic; give your IT admin the details below.",
         "{host} asked the device for a TLS client signature algorithm its key does not make "
         "(it signs rsa_pkcs1 and rsa_pss_rsae with SHA-256, SHA-384 or SHA-512): exclude " MS_HOSTS
         " from TLS inspection on the proxy or firewall, or let the server offer one of those "
         "algorithms"},
    [LJ_R_WRONG_PASSWORD] =
        {LJ_R_WRONG_PASSWORD, "wrong_password", "", LJ_PHASE_SIGNIN, "AADSTS50126", LJ_FIX_USER,
         false, LJ_EXIT_SIGNIN,
         "The user name or password is not correct; check both and sign in again.",
         "If the user has forgotten the password, reset it in " ENTRA_USER " > Reset password"},
    [LJ_R_UNKNOWN_USER] =
        {LJ_R_UNKNOWN_USER, "unknown_user", "", LJ_PHASE_SIGNIN, "AADSTS50034", LJ_FIX_USER, false,
         LJ_EXIT_SIGNIN,
         "There is no account with this user name in the organization; check the spelling of "
         "the user name, then sign in again.",
         "Check that the account exists in Entra admin center > Entra ID > Users > All users"},
    [LJ_R_USER_DISABLED] =
        {LJ_R_USER_DISABLED, "user_disabled", "", LJ_PHASE_SIGNIN, "AADSTS50057", LJ_FIX_ADMIN,
         false, LJ_EXIT_SIGNIN,
         "This account is disabled, so it cannot be used to set up the device; "
         "sign in with another account, or give your IT admin the details below.",
         ENTRA_USER " > Properties > Settings > Account enabled: turn it on"},
    [LJ_R_ACCOUNT_LOCKED] =
        {LJ_R_ACCOUNT_LOCKED, "account_locked", "", LJ_PHASE_SIGNIN, "AADSTS50053", LJ_FIX_USER,
         false, LJ_EXIT_SIGNIN,
         "This account is locked for a while after too many sign-in attempts; wait a few "
         "minutes, then sign in again.",
         "Review the attempts in " ENTRA_SIGNINS "; the lockout threshold is under Entra admin "
         "center > Entra ID > Authentication methods > Password protection"},
    [LJ_R_PASSWORD_EXPIRED] =
        {LJ_R_PASSWORD_EXPIRED, "password_expired", "", LJ_PHASE_SIGNIN, "AADSTS50055", LJ_FIX_USER,
         false, LJ_EXIT_SIGNIN,
         "The password of this account has expired; change it at https://myaccount.microsoft.com "
         "on another device, then sign in again.",
         "Reset the password in " ENTRA_USER " > Reset password"},
    [LJ_R_TENANT_NOT_FOUND] =
        {LJ_R_TENANT_NOT_FOUND, "tenant_not_found", "", LJ_PHASE_DISCOVER, "AADSTS90002",
         LJ_FIX_ADMIN, false, LJ_EXIT_SIGNIN,
         "This device is set up for the organization {domain}, which Microsoft's sign-in "
         "service does not know, so nobody can sign in on it yet; "
         "give your IT admin the details below.",
         "Correct tenant = in the device configuration: use the tenant ID or a domain listed in "
         "Entra admin center > Entra ID > Domain names"},
    [LJ_R_MFA_REQUIRED] =
        {LJ_R_MFA_REQUIRED, "mfa_required", "", LJ_PHASE_SIGNIN, "AADSTS50076", LJ_FIX_ADMIN, false,
         LJ_EXIT_POLICY,
         "Your organization requires multi-factor authentication to join devices, and the "
         "password sign-in set up on this device cannot do that; "
         "give your IT admin the details below.",
         "Set signin = device_code (or auth_code) in the device configuration so the user can "
         "complete multifactor authentication.  Microsoft recommends requiring it with a "
         "Conditional Access policy on the user action Register or join devices (" ENTRA_CA
         "); with such a policy, " ENTRA_DEVSET " > Require Multifactor Authentication to "
         "register or join devices with Microsoft Entra must be No.  The request id "
         "in " ENTRA_SIGNINS " shows which policy asked for it"},
    [LJ_R_BLOCKED_BY_CA] =
        {LJ_R_BLOCKED_BY_CA, "blocked_by_conditional_access", "", LJ_PHASE_SIGNIN, "AADSTS53003",
         LJ_FIX_ADMIN, false, LJ_EXIT_POLICY,
         "A Conditional Access policy of your organization blocked this sign-in; "
         "give your IT admin the details below.",
         "Find the policy that blocked it in " ENTRA_SIGNINS " (search for the request id), then "
         "change it in " ENTRA_CA ".  If the sign-in used a device code (signin = device_code, "
         "the default) and the policy blocks Conditions > Authentication flows > Device code "
         "flow, exclude this sign-in from it or set signin = auth_code"},
    /* Conditional Access by AADSTS code (Microsoft Learn reference-error-codes
     * and the Conditional Access troubleshooting page's error table). */
    [LJ_R_CA_PLATFORM] =
        {LJ_R_CA_PLATFORM, "blocked_by_conditional_access", "device platform", LJ_PHASE_SIGNIN,
         "AADSTS50005", LJ_FIX_ADMIN, false, LJ_EXIT_POLICY,
         "A Conditional Access policy of your organization does not allow sign-in from this "
         "kind of device; give your IT admin the details below.",
         "A policy's Device platforms condition refused the platform this device presents "
         "(Windows: its User-Agent names Windows NT 10.0); find the policy in " ENTRA_SIGNINS
         " > (the request id) > Conditional Access and include Windows in it, or exclude the "
         "Device Registration Service and Microsoft Intune Enrollment apps, in " ENTRA_CA},
    [LJ_R_CA_COMPLIANT] =
        {LJ_R_CA_COMPLIANT, "blocked_by_conditional_access", "compliant device", LJ_PHASE_SIGNIN,
         "AADSTS53000", LJ_FIX_ADMIN, false, LJ_EXIT_POLICY,
         "A Conditional Access policy of your organization requires a compliant device, which "
         "this device can only become after its setup has finished; "
         "give your IT admin the details below.",
         "A policy with Grant > Require device to be marked as compliant covers this sign-in: "
         "exclude the Microsoft Intune Enrollment app and the Register or join devices user "
         "action from it in " ENTRA_CA " (the policy is named in " ENTRA_SIGNINS
         " > (the request id) > Conditional Access)"},
    [LJ_R_CA_DOMAIN_JOINED] =
        {LJ_R_CA_DOMAIN_JOINED, "blocked_by_conditional_access", "hybrid joined device",
         LJ_PHASE_SIGNIN, "AADSTS53001", LJ_FIX_ADMIN, false, LJ_EXIT_POLICY,
         "A Conditional Access policy of your organization requires a device joined to the "
         "on-premises domain, which this device cannot be; give your IT admin the details below.",
         "A policy with Grant > Require Microsoft Entra hybrid joined device covers this "
         "sign-in: exclude the Device Registration Service and Microsoft Intune Enrollment apps "
         "from it, or let a compliant device satisfy it, in " ENTRA_CA},
    [LJ_R_CA_APPROVED_APP] =
        {LJ_R_CA_APPROVED_APP, "blocked_by_conditional_access", "approved client app",
         LJ_PHASE_SIGNIN, "AADSTS53002", LJ_FIX_ADMIN, false, LJ_EXIT_POLICY,
         "A Conditional Access policy of your organization allows only approved mobile apps, "
         "and the setup program of this device is not one of them; "
         "give your IT admin the details below.",
         "A policy with Grant > Require approved client app or app protection policy covers "
         "this sign-in: limit it to the iOS and Android platforms in " ENTRA_CA},
    [LJ_R_CA_PROOFUP_RISK] =
        {LJ_R_CA_PROOFUP_RISK, "blocked_by_conditional_access", "MFA registration blocked by risk",
         LJ_PHASE_SIGNIN, "AADSTS53004", LJ_FIX_ADMIN, false, LJ_EXIT_POLICY,
         "Your account must register multi-factor authentication before it can sign in, but "
         "the registration is blocked because of a risk detected on the account; "
         "give your IT admin the details below.",
         "Remediate the user's risk in Entra admin center > ID Protection > "
         "Risky users (confirm the user safe or reset the password), then have the user "
         "register at https://aka.ms/mfasetup"},
    [LJ_R_CA_SECURITY_POLICY] =
        {LJ_R_CA_SECURITY_POLICY, "blocked_by_conditional_access", "security policy",
         LJ_PHASE_SIGNIN, "AADSTS530032", LJ_FIX_ADMIN, false, LJ_EXIT_POLICY,
         "A security policy of your organization blocked this sign-in; "
         "give your IT admin the details below.",
         "A tenant-level security policy blocked the request: find it in " ENTRA_SIGNINS
         " > (the request id) > Conditional Access and change it in " ENTRA_CA},
    [LJ_R_CA_DELEGATED_ADMIN] =
        {LJ_R_CA_DELEGATED_ADMIN, "blocked_by_conditional_access", "delegated admin",
         LJ_PHASE_SIGNIN, "AADSTS530034", LJ_FIX_ADMIN, false, LJ_EXIT_POLICY,
         "This account belongs to a partner organization that blocked it for suspicious "
         "activity, so it cannot set up this device; sign in with another account, or "
         "give your IT admin the details below.",
         "Sign in with an account of this organization, or have the partner remediate the "
         "account's risk in its own tenant"},
    [LJ_R_CA_SECURITY_DEFAULTS] =
        {LJ_R_CA_SECURITY_DEFAULTS, "blocked_by_conditional_access", "security defaults",
         LJ_PHASE_SIGNIN, "AADSTS530035", LJ_FIX_ADMIN, false, LJ_EXIT_POLICY,
         "The security defaults of your organization blocked this sign-in as unsafe; "
         "give your IT admin the details below.",
         "Set signin = device_code in the device configuration, or replace security defaults "
         "(Entra admin center > Entra ID > Overview > Properties > Manage security defaults) "
         "with Conditional Access policies"},
    [LJ_R_CA_EXTERNAL] =
        {LJ_R_CA_EXTERNAL, "blocked_by_conditional_access",
         "external security challenge", LJ_PHASE_SIGNIN, "AADSTS50158", LJ_FIX_ADMIN, false,
         LJ_EXIT_POLICY,
         "A security check of your organization that runs outside Microsoft was not completed, "
         "so the sign-in was refused; give your IT admin the details below.",
         "A policy requires a custom control or an external authentication method, which a "
         "password sign-in cannot complete: set signin = device_code in the device "
         "configuration, or exclude the Device Registration Service from that policy in " ENTRA_CA},
    [LJ_R_MFA_REGISTRATION_REQUIRED] =
        {LJ_R_MFA_REGISTRATION_REQUIRED, "mfa_registration_required", "", LJ_PHASE_SIGNIN,
         "AADSTS50079", LJ_FIX_USER, false, LJ_EXIT_SIGNIN,
         "Your account must set up multi-factor authentication before it can join devices; "
         "set it up at https://aka.ms/mfasetup on another device, then start again.",
         "Have the user register a method at https://aka.ms/mfasetup (Entra admin center > "
         "Entra ID > Authentication methods > Registration campaign can prompt for it); a "
         "password sign-in cannot do the second factor, so set signin = device_code"},
    [LJ_R_SIGNIN_EXPIRED] =
        {LJ_R_SIGNIN_EXPIRED, "signin_expired", "", LJ_PHASE_SIGNIN, "AADSTS70019", LJ_FIX_RETRY,
         true, LJ_EXIT_SIGNIN,
         "The sign-in code expired before sign-in was finished; start again to get a new code.",
         "No admin action is needed: the code must be used within 15 minutes of appearing"},
    [LJ_R_SIGNIN_DECLINED] =
        {LJ_R_SIGNIN_DECLINED, "signin_declined", "", LJ_PHASE_SIGNIN, "AADSTS65004", LJ_FIX_RETRY,
         true, LJ_EXIT_SIGNIN,
         "The sign-in was declined on the other device; start again and approve it there.",
         "No admin action is needed unless the user did not start this sign-in; then "
         "review " ENTRA_SIGNINS},
    [LJ_R_SIGNIN_CODE_WRONG] =
        {LJ_R_SIGNIN_CODE_WRONG, "signin_code_wrong", "", LJ_PHASE_SIGNIN, "AADSTS70018",
         LJ_FIX_RETRY, true, LJ_EXIT_SIGNIN,
         "The sign-in code was not entered correctly on the other device; start again and type "
         "the new code exactly as shown.",
         "No admin action is needed"},
    [LJ_R_SIGNIN_SESSION_EXPIRED] =
        {LJ_R_SIGNIN_SESSION_EXPIRED, "signin_session_expired", "", LJ_PHASE_MDM, "AADSTS70008",
         LJ_FIX_USER, false, LJ_EXIT_SIGNIN,
         "The saved sign-in has expired; sign in again to finish setting up the device.",
         "No admin action is needed; sign-in lifetime follows Entra admin center > Entra ID > "
         "Conditional Access > Session > Sign-in frequency"},
    [LJ_R_SIGNIN_REJECTED] =
        {LJ_R_SIGNIN_REJECTED, "signin_rejected", "", LJ_PHASE_SIGNIN, "0x80004005", LJ_FIX_ADMIN,
         false, LJ_EXIT_SIGNIN,
         "Microsoft's sign-in service refused the sign-in for a reason this device does not "
         "recognize; give your IT admin the details below.",
         "Look up the request id in " ENTRA_SIGNINS " to see why the sign-in was refused"},
    /* AADSTS50011 (Microsoft Learn entra reference-error-codes, InvalidReplyTo;
     * the "does not match the reply URLs configured for the application" page,
     * e.g. microsoftgraph/microsoft-graph-explorer-v4 #540): the redirect_uri is
     * not one the app named by client_id registered.  A configuration error. */
    [LJ_R_REDIRECT_NOT_REGISTERED] =
        {LJ_R_REDIRECT_NOT_REGISTERED, "redirect_uri_not_registered", "",
         LJ_PHASE_SIGNIN, "AADSTS50011", LJ_FIX_ADMIN, false, LJ_EXIT_CONFIG,
         "This device is set up to finish sign-in at an address its sign-in app does not "
         "allow, so Microsoft's sign-in service refused the sign-in; "
         "give your IT admin the details below.",
         "Set redirect_uri = ms-aadj-redir://auth/drs in the device configuration, or add the "
         "configured redirect_uri to the app named by client_id in Entra admin center > Entra ID "
         "> App registrations > (the app) > Authentication (the default client_id "
         "29d9ed98-a469-4536-ade2-f981bc1d605e, Microsoft Authentication Broker, has no loopback "
         "redirect)"},
    [LJ_R_CANCELLED] =
        {LJ_R_CANCELLED, "cancelled", "", LJ_PHASE_SIGNIN, "0x800704c7", LJ_FIX_USER, true,
         LJ_EXIT_CANCELLED,
         "Setup was cancelled before the device joined; start again when you are ready.",
         "No admin action is needed"},
    [LJ_R_DRS_TENANT_NOT_FOUND] =
        {LJ_R_DRS_TENANT_NOT_FOUND, "drs_tenant_not_found", "", LJ_PHASE_DISCOVER, "0x801c003a",
         LJ_FIX_ADMIN, false, LJ_EXIT_POLICY,
         "Microsoft's device registration service found no organization for {domain}; "
         "give your IT admin the details below.",
         "Check that the domain is verified in Entra admin center > Entra ID > Domain "
         "names and that the tenant has an active subscription"},
    [LJ_R_SERVICE_UNAVAILABLE] =
        {LJ_R_SERVICE_UNAVAILABLE, "service_unavailable", "", LJ_PHASE_JOIN, "0x801c0025",
         LJ_FIX_RETRY, true, LJ_EXIT_NETWORK,
         "Microsoft's service is busy or unavailable right now; try again in a few minutes.",
         "No change is needed on your side ({host} answered that it is busy); if it lasts, "
         "check Microsoft 365 admin center > Health > Service health"},
    [LJ_R_THROTTLED] =
        {LJ_R_THROTTLED, "throttled", "", LJ_PHASE_JOIN, "0x801c03f2", LJ_FIX_RETRY, true,
         LJ_EXIT_NETWORK,
         "Microsoft's device registration service asked this device to wait, so try again in a "
         "few minutes.",
         "No change is needed on your side; if many devices join at once, spread the joins out "
         "over time"},
    [LJ_R_BAD_SERVICE_RESPONSE] =
        {LJ_R_BAD_SERVICE_RESPONSE, "bad_service_response", "", LJ_PHASE_JOIN, "0x801c0001",
         LJ_FIX_SUPPORT, false, LJ_EXIT_SERVICE,
         "The device received an answer from Microsoft that it could not use, so nothing was "
         "saved and the device was not joined; give your IT admin the details below.",
         "The answer from {host} could not be used because {what}: contact support with the "
         "code, request id and time; if a proxy sits between the device and Microsoft, check "
         "that it does not alter responses"},
    [LJ_R_JOIN_NOT_PERMITTED] =
        {LJ_R_JOIN_NOT_PERMITTED, "join_not_permitted", "", LJ_PHASE_JOIN, "0x801c0003",
         LJ_FIX_ADMIN, false, LJ_EXIT_POLICY,
         "Your account is not allowed to join devices to your organization; sign in with "
         "another account, or give your IT admin the details below.",
         ENTRA_DEVSET " > Users may join devices to Microsoft Entra: set it to All, or, when it "
                      "is Selected, add {upn} to one of the selected groups"},
    [LJ_R_JOIN_NOT_PERMITTED_GROUP] =
        {LJ_R_JOIN_NOT_PERMITTED_GROUP, "join_not_permitted", "selected groups", LJ_PHASE_JOIN,
         "0x801c0003", LJ_FIX_ADMIN, false, LJ_EXIT_POLICY,
         "Your account is not in a group that is allowed to join devices to your organization; "
         "sign in with another account, or give your IT admin the details below.",
         "Add {upn} to one of the groups selected under " ENTRA_DEVSET
         " > Users may join devices to Microsoft Entra"},
    [LJ_R_DEVICE_QUOTA_REACHED] =
        {LJ_R_DEVICE_QUOTA_REACHED, "device_quota_reached", "", LJ_PHASE_JOIN, "0x801c000e",
         LJ_FIX_USER, false, LJ_EXIT_POLICY,
         "Your account already has as many devices as your organization allows; remove one you "
         "no longer use at https://myaccount.microsoft.com/device-list, then try again.",
         "Delete the stale devices of {upn} in Entra admin center > Entra ID > Devices > All "
         "devices, or raise " ENTRA_DEVSET " > Maximum number of devices per user"},
    [LJ_R_AUTH_REJECTED] =
        {LJ_R_AUTH_REJECTED, "auth_rejected", "", LJ_PHASE_JOIN, "0x801c0002", LJ_FIX_RETRY, true,
         LJ_EXIT_SIGNIN,
         "Microsoft's device registration service did not accept the sign-in; start again and "
         "sign in once more.",
         "If it repeats, look up the trace id in " ENTRA_AUDIT
         " (service: Device Registration Service) and contact Microsoft support"},
    [LJ_R_JOIN_REJECTED] =
        {LJ_R_JOIN_REJECTED, "join_rejected", "", LJ_PHASE_JOIN, "0x801c0006", LJ_FIX_SUPPORT,
         false, LJ_EXIT_SERVICE,
         "Microsoft's device registration service refused this device for a reason this device "
         "does not recognize; give your IT admin the details below.",
         "Look up the trace id in " ENTRA_AUDIT " (service: Device Registration Service) and read "
         "the server message shown with this result"},
    [LJ_R_MDM_NOT_IN_SCOPE] =
        {LJ_R_MDM_NOT_IN_SCOPE, "mdm_not_in_scope", "", LJ_PHASE_MDM, "0x8018002b", LJ_FIX_ADMIN,
         false, LJ_EXIT_POLICY,
         "The device joined your organization, but your account is not set up for automatic "
         "device management (Intune); give your IT admin the details below.",
         "Intune admin center > Devices > Enrollment > Windows > Automatic Enrollment > MDM user "
         "scope: set it to All, or to Some with a group that includes {upn}.  If the scope "
         "already includes the user, check that the user name's domain is verified in Entra "
         "admin center > Entra ID > Domain names (a .local or other unverified domain cannot "
         "enroll)"},
    [LJ_R_MDM_PLATFORM_BLOCKED] =
        {LJ_R_MDM_PLATFORM_BLOCKED, "mdm_platform_blocked", "", LJ_PHASE_MDM, "0x80180014",
         LJ_FIX_ADMIN, false, LJ_EXIT_POLICY,
         "The device joined your organization, but your organization's Intune settings do not "
         "allow Windows devices to be managed yet; give your IT admin the details below.",
         "Intune admin center > Devices > Enrollment > Device platform restriction > Windows "
         "restrictions > (the restriction that applies to {upn}) > Platform settings > MDM: "
         "Allow"},
    [LJ_R_MDM_OWNERSHIP_BLOCKED] =
        {LJ_R_MDM_OWNERSHIP_BLOCKED, "mdm_ownership_blocked", "", LJ_PHASE_MDM, "0x80180014",
         LJ_FIX_ADMIN, false, LJ_EXIT_POLICY,
         "The device joined your organization, but Intune does not yet know it as a company "
         "device, so it cannot be managed; give your IT admin the details below.",
         "Corporate identifiers for Windows are only added by uploading a CSV file: one with the "
         "line "
         "{manufacturer},{model},{serial} in Intune admin center > Devices > Enrollment > "
         "Corporate device identifiers > Add > Upload CSV file (identifier type: Manufacturer, "
         "model, and serial number (Windows only)).  Or allow personally owned devices for the "
         "group of {upn} in Intune admin center > Devices > Enrollment > Device platform "
         "restriction > Windows "
         "restrictions: an Entra join during setup enrolls as Unknown ownership, which that "
         "restriction treats as personally owned"},
    [LJ_R_MDM_DEVICE_CAP] =
        {LJ_R_MDM_DEVICE_CAP, "mdm_device_cap", "", LJ_PHASE_MDM, "0x80180013", LJ_FIX_USER, false,
         LJ_EXIT_POLICY,
         "The device joined, but your account already has as many managed devices as Intune "
         "allows; remove one you no longer use at https://portal.manage.microsoft.com "
         "(Devices), then try again.",
         "Remove old devices of {upn} in Intune admin center > Devices > All devices, or raise "
         "the limit in Intune admin center > Devices > Enrollment > Device limit restrictions"},
    [LJ_R_MDM_LICENSE_MISSING] =
        {LJ_R_MDM_LICENSE_MISSING, "mdm_license_missing", "", LJ_PHASE_MDM, "0x80180018",
         LJ_FIX_ADMIN, false, LJ_EXIT_POLICY,
         "The device joined, but your account has no license for device management (Intune); "
         "give your IT admin the details below.",
         "Microsoft 365 admin center > Users > Active users > {upn} > Licenses and apps: "
         "assign a license that includes Microsoft Intune and Microsoft Entra ID P1"},
    [LJ_R_MDM_REJECTED] =
        {LJ_R_MDM_REJECTED, "mdm_rejected", "", LJ_PHASE_MDM, "0x80180008", LJ_FIX_SUPPORT, false,
         LJ_EXIT_POLICY,
         "The device joined your organization, but Intune refused to enroll it for a reason this "
         "device does not recognize; give your IT admin the details below.",
         "Read the server message and trace id shown with this result, then check Intune admin "
         "center > Troubleshooting + support > Troubleshoot for this user"},
    /* 0x80180001 MENROLL_E_DEVICE_MESSAGE_FORMAT_ERROR (MS-MDE2 2.2.10 and
     * Windows' MDM enrollment error table): the enrollment client's own
     * code for a message it cannot use, not DRS's 0x801c0001. */
    [LJ_R_MDM_BAD_SERVICE_RESPONSE] =
        {LJ_R_MDM_BAD_SERVICE_RESPONSE, "bad_service_response", "device management",
         LJ_PHASE_MDM, "0x80180001", LJ_FIX_SUPPORT, false, LJ_EXIT_SERVICE,
         "The device joined your organization, but the answer to its device management "
         "(Intune) enrollment could not be used, so nothing was saved; "
         "give your IT admin the details below.",
         "The answer from {host} could not be used because {what}: contact support with the "
         "code, trace id and time; if a proxy sits between the device and Microsoft, check "
         "that it does not alter responses from enrollment.manage.microsoft.com"},
    [LJ_R_JOINED_MDM_PENDING] =
        {LJ_R_JOINED_MDM_PENDING, "joined_mdm_pending", "", LJ_PHASE_MDM, "0x80180010",
         LJ_FIX_RETRY, true, LJ_EXIT_MDM_PENDING,
         "The device joined your organization, and its management (Intune) setup will finish "
         "automatically when the service can be reached; leave the device switched on and "
         "connected to the network.",
         "No action is needed if it clears; if it lasts, allow HTTPS to "
         "enrollment.manage.microsoft.com and check Intune admin center > Tenant administration "
         "> Tenant status > Service health"},
    [LJ_R_DEVICE_AUTH_PENDING] =
        {LJ_R_DEVICE_AUTH_PENDING, "device_auth_pending", "", LJ_PHASE_MDM, "AADSTS50155",
         LJ_FIX_RETRY, true, LJ_EXIT_MDM_PENDING,
         "The device joined your organization, and its management (Intune) setup will finish "
         "automatically once Microsoft's sign-in service recognizes it; leave the device "
         "switched on and connected to the network.",
         "No action is needed if it clears within an hour: a new device takes a while to reach "
         "every Entra region. If it lasts, check that the device is listed and enabled "
         "in " ENTRA_DEVICES},
    [LJ_R_DEVICE_DISABLED] =
        {LJ_R_DEVICE_DISABLED, "device_disabled", "", LJ_PHASE_MDM, "AADSTS135011", LJ_FIX_ADMIN,
         false, LJ_EXIT_POLICY,
         "The device joined your organization, but it has been disabled there, so it cannot "
         "sign in or be managed until an administrator enables it, after which setup finishes by "
         "itself; give your IT admin the details below.",
         ENTRA_DEVICES
         " > (search for the device id "
         "below) > Enable; device management setup then finishes by itself within 30 minutes"},
    [LJ_R_DEVICE_NOT_FOUND] =
        {LJ_R_DEVICE_NOT_FOUND, "device_not_found", "", LJ_PHASE_MDM, "AADSTS700003", LJ_FIX_ADMIN,
         false, LJ_EXIT_POLICY,
         "This device was removed from your organization, so it cannot sign in or be managed "
         "and must be reset and set up again; give your IT admin the details below.",
         "Check " ENTRA_AUDIT " (activity: "
         "Delete device) for who removed it; reset the device to factory settings to join it "
         "again"},
    [LJ_R_PRT_REFUSED] =
        {LJ_R_PRT_REFUSED, "prt_refused", "", LJ_PHASE_MDM, "0xc000006d", LJ_FIX_SUPPORT, false,
         LJ_EXIT_SERVICE,
         "The device joined your organization, but Microsoft's sign-in service refused the "
         "device's own sign-in, so single sign-on and device management cannot start; "
         "give your IT admin the details below.",
         "Look up the request id in " ENTRA_SIGNINS " (filter: the device id below); if the "
         "device is listed and enabled, contact Microsoft support with the trace id"},
    [LJ_R_INTERNAL] =
        {LJ_R_INTERNAL, "internal", "", LJ_PHASE_PREFLIGHT, "0x8000ffff", LJ_FIX_SUPPORT, false,
         LJ_EXIT_FAILURE,
         "The setup program on this device hit an unexpected error; restart the device, and if "
         "this message appears again, contact your IT admin.",
         "Contact support with the code, the time and the device log (journalctl -u linkjoin)"},
};

/*
 * The message-catalog key of each row: the enum name without LJ_R_, lower
 * case.  Unlike the slug it is unique per row, so every variant has its
 * own translated sentence (ids reason.<key> and admin.<key>, agent/ui/
 * messages.h).  Keys are a contract like slugs: never rename one.
 */
static const char *const keys[LJ_R_COUNT__] = {
    [LJ_R_CLOCK_WRONG] = "clock_wrong",
    [LJ_R_NETWORK_UNREACHABLE] = "network_unreachable",
    [LJ_R_NETWORK_DNS] = "network_dns",
    [LJ_R_NETWORK_TIMEOUT] = "network_timeout",
    [LJ_R_TLS_UNTRUSTED] = "tls_untrusted",
    [LJ_R_NETWORK_INTERCEPTED] = "network_intercepted",
    [LJ_R_NETWORK_INTERCEPTED_TLS] = "network_intercepted_tls",
    [LJ_R_NETWORK_INTERCEPTED_PROXY] = "network_intercepted_proxy",
    [LJ_R_PROXY_UNREACHABLE] = "proxy_unreachable",
    [LJ_R_PROXY_AUTH_REQUIRED] = "proxy_auth_required",
    [LJ_R_TPM_UNAVAILABLE] = "tpm_unavailable",
    [LJ_R_TPM_LOCKED] = "tpm_locked",
    [LJ_R_TPM_FAILED] = "tpm_failed",
    [LJ_R_TPM_KEYS_LOST] = "tpm_keys_lost",
    [LJ_R_DEVICE_KEY_OUTDATED] = "device_key_outdated",
    [LJ_R_TLS_SIGNATURE_UNSUPPORTED] = "tls_signature_unsupported",
    [LJ_R_WRONG_PASSWORD] = "wrong_password",
    [LJ_R_UNKNOWN_USER] = "unknown_user",
    [LJ_R_USER_DISABLED] = "user_disabled",
    [LJ_R_ACCOUNT_LOCKED] = "account_locked",
    [LJ_R_PASSWORD_EXPIRED] = "password_expired",
    [LJ_R_TENANT_NOT_FOUND] = "tenant_not_found",
    [LJ_R_MFA_REQUIRED] = "mfa_required",
    [LJ_R_BLOCKED_BY_CA] = "blocked_by_ca",
    [LJ_R_CA_PLATFORM] = "ca_platform",
    [LJ_R_CA_COMPLIANT] = "ca_compliant",
    [LJ_R_CA_DOMAIN_JOINED] = "ca_domain_joined",
    [LJ_R_CA_APPROVED_APP] = "ca_approved_app",
    [LJ_R_CA_PROOFUP_RISK] = "ca_proofup_risk",
    [LJ_R_CA_SECURITY_POLICY] = "ca_security_policy",
    [LJ_R_CA_DELEGATED_ADMIN] = "ca_delegated_admin",
    [LJ_R_CA_SECURITY_DEFAULTS] = "ca_security_defaults",
    [LJ_R_CA_EXTERNAL] = "ca_external",
    [LJ_R_MFA_REGISTRATION_REQUIRED] = "mfa_registration_required",
    [LJ_R_SIGNIN_EXPIRED] = "signin_expired",
    [LJ_R_SIGNIN_DECLINED] = "signin_declined",
    [LJ_R_SIGNIN_CODE_WRONG] = "signin_code_wrong",
    [LJ_R_SIGNIN_SESSION_EXPIRED] = "signin_session_expired",
    [LJ_R_SIGNIN_REJECTED] = "signin_rejected",
    [LJ_R_REDIRECT_NOT_REGISTERED] = "redirect_not_registered",
    [LJ_R_CANCELLED] = "cancelled",
    [LJ_R_DRS_TENANT_NOT_FOUND] = "drs_tenant_not_found",
    [LJ_R_SERVICE_UNAVAILABLE] = "service_unavailable",
    [LJ_R_THROTTLED] = "throttled",
    [LJ_R_BAD_SERVICE_RESPONSE] = "bad_service_response",
    [LJ_R_JOIN_NOT_PERMITTED] = "join_not_permitted",
    [LJ_R_JOIN_NOT_PERMITTED_GROUP] = "join_not_permitted_group",
    [LJ_R_DEVICE_QUOTA_REACHED] = "device_quota_reached",
    [LJ_R_AUTH_REJECTED] = "auth_rejected",
    [LJ_R_JOIN_REJECTED] = "join_rejected",
    [LJ_R_MDM_NOT_IN_SCOPE] = "mdm_not_in_scope",
    [LJ_R_MDM_PLATFORM_BLOCKED] = "mdm_platform_blocked",
    [LJ_R_MDM_OWNERSHIP_BLOCKED] = "mdm_ownership_blocked",
    [LJ_R_MDM_DEVICE_CAP] = "mdm_device_cap",
    [LJ_R_MDM_LICENSE_MISSING] = "mdm_license_missing",
    [LJ_R_MDM_REJECTED] = "mdm_rejected",
    [LJ_R_MDM_BAD_SERVICE_RESPONSE] = "mdm_bad_service_response",
    [LJ_R_JOINED_MDM_PENDING] = "joined_mdm_pending",
    [LJ_R_DEVICE_AUTH_PENDING] = "device_auth_pending",
    [LJ_R_DEVICE_DISABLED] = "device_disabled",
    [LJ_R_DEVICE_NOT_FOUND] = "device_not_found",
    [LJ_R_PRT_REFUSED] = "prt_refused",
    [LJ_R_INTERNAL] = "internal",
};

const char *
lj_reason_key(enum lj_reason r)
{
    if ((int)r < 0 || r >= LJ_R_COUNT__ || keys[r] == NULL)
        return NULL;
    return keys[r];
}

const struct lj_reason_info *
lj_reason_get(enum lj_reason r)
{
    if ((int)r < 0 || r >= LJ_R_COUNT__)
        return NULL;
    return &table[r];
}

const struct lj_reason_info *
lj_reason_by_slug(const char *slug)
{
    if (slug == NULL)
        return NULL;
    for (size_t i = 0; i < LJ_R_COUNT__; i++)
        if (strcmp(table[i].slug, slug) == 0)
            return &table[i];
    return NULL;
}

const char *
lj_phase_name(enum lj_phase p)
{
    switch (p) {
    case LJ_PHASE_PREFLIGHT: return "preflight";
    case LJ_PHASE_SIGNIN: return "signin";
    case LJ_PHASE_KEYS: return "keys";
    case LJ_PHASE_DISCOVER: return "discover";
    case LJ_PHASE_JOIN: return "join";
    case LJ_PHASE_MDM: return "mdm";
    case LJ_PHASE_COUNT__: break;
    }
    return "unknown";
}

const char *
lj_fix_by_name(enum lj_fix_by f)
{
    switch (f) {
    case LJ_FIX_USER: return "user";
    case LJ_FIX_ADMIN: return "admin";
    case LJ_FIX_RETRY: return "retry";
    case LJ_FIX_HARDWARE: return "hardware";
    case LJ_FIX_SUPPORT: return "support";
    case LJ_FIX_COUNT__: break;
    }
    return "unknown";
}

/* ---- formatting ---- */

struct fmt {
    char *out;
    size_t outsz, need;
};

static void
fmt_put(struct fmt *f, const char *s, size_t n, bool clean)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (clean && (c < 0x20 || c == 0x7f || c == '{' || c == '}'))
            continue;
        if (f->outsz > 0 && f->need + 1 < f->outsz)
            f->out[f->need] = (char)c;
        f->need++;
    }
}

size_t
lj_error_format(const char *tmpl, const struct lj_error_params *p, char *out, size_t outsz)
{
    static const struct lj_error_params none;
    struct fmt f = {out, outsz, 0};
    const char *s;

    if (p == NULL)
        p = &none;
    for (s = tmpl ? tmpl : ""; *s != '\0';) {
        const char *close = *s == '{' ? strchr(s, '}') : NULL;
        const char *val = NULL, *dflt = NULL;
        size_t kl;

        if (close == NULL) {
            fmt_put(&f, s, 1, false);
            s++;
            continue;
        }
        kl = (size_t)(close - s - 1);
#define KEY(k) (kl == sizeof(k) - 1 && memcmp(s + 1, k, kl) == 0)
        if (KEY("host")) {
            val = p->host;
            dflt = "the Microsoft service";
        } else if (KEY("what")) {
            val = p->what;
            dflt = "the connection failed";
        } else if (KEY("domain")) {
            val = p->domain;
            dflt = "this domain";
        } else if (KEY("manufacturer")) {
            val = p->manufacturer;
            dflt = "unknown";
        } else if (KEY("model")) {
            val = p->model;
            dflt = "unknown";
        } else if (KEY("serial")) {
            val = p->serial;
            dflt = "unknown";
        } else if (KEY("upn")) {
            val = p->upn;
            dflt = "the user";
        } else if (KEY("wait")) {
            val = p->wait;
            dflt = "a few minutes";
        } else if (KEY("proxy")) {
            val = p->proxy;
            dflt = "the proxy";
        }
#undef KEY
        if (dflt == NULL) {
            fmt_put(&f, s, 1, false);
            s++;
            continue;
        }
        if (val != NULL && val[0] != '\0')
            fmt_put(&f, val, strnlen(val, 256), true);
        else
            fmt_put(&f, dflt, strlen(dflt), false);
        s = close + 1;
    }
    if (outsz > 0)
        out[f.need < outsz ? f.need : outsz - 1] = '\0';
    return f.need;
}

const char *
lj_error_net_what(enum lj_rc rc)
{
    switch (rc) {
    case LJ_ERR_NET_DNS: return "its name did not resolve";
    case LJ_ERR_NET_CONNECT: return "the connection was refused or the network is unreachable";
    case LJ_ERR_NET_TIMEOUT:
    case LJ_ERR_TIMEOUT: return "the connection timed out";
    case LJ_ERR_TLS: return "the secure connection could not be set up";
    case LJ_ERR_TLS_HOSTNAME: return "its certificate is for a different name";
    case LJ_ERR_PROXY: return "the connection was refused or it did not answer";
    case LJ_ERR_PROXY_AUTH: return "the proxy asks for a user name and password";
    case LJ_ERR_SIG_UNSUPPORTED:
        return "it asked for a TLS client signature the device key does not make";
    default: return "the connection failed";
    }
}

/* ---- classification ---- */

static void
set(struct lj_classified *out, enum lj_reason r)
{
    out->reason = r;
    snprintf(out->code, sizeof(out->code), "%s", table[r].code);
}

void
lj_classify_rc(enum lj_rc rc, struct lj_classified *out)
{
    enum lj_reason r;

    if (out == NULL)
        return;
    switch (rc) {
    case LJ_ERR_NET_DNS: r = LJ_R_NETWORK_DNS; break;
    case LJ_ERR_NET_TIMEOUT:
    case LJ_ERR_TIMEOUT: r = LJ_R_NETWORK_TIMEOUT; break;
    case LJ_ERR_NET_CONNECT:
    case LJ_ERR_TLS: r = LJ_R_NETWORK_UNREACHABLE; break;
    case LJ_ERR_TLS_UNTRUSTED:
    case LJ_ERR_TLS_HOSTNAME: r = LJ_R_TLS_UNTRUSTED; break;
    case LJ_ERR_PROXY: r = LJ_R_PROXY_UNREACHABLE; break;
    case LJ_ERR_PROXY_AUTH: r = LJ_R_PROXY_AUTH_REQUIRED; break;
    case LJ_ERR_TPM_UNREACHABLE: r = LJ_R_TPM_UNAVAILABLE; break;
    case LJ_ERR_TPM_LOCKOUT: r = LJ_R_TPM_LOCKED; break;
    case LJ_ERR_TPM_WRONG_TPM:
    case LJ_ERR_TPM_KEYS_LOST:
    case LJ_ERR_KEYS_CORRUPT:
    /*
     * Local state that does not fit this device: keys or sealed data made
     * by the other key provider, a certificate not for the device key.
     * Like lost keys, nothing but a factory reset makes it usable, so the
     * same row (exit 13), never `internal`.
     */
    case LJ_ERR_STATE: r = LJ_R_TPM_KEYS_LOST; break;
    case LJ_ERR_KEY_SCHEME: r = LJ_R_DEVICE_KEY_OUTDATED; break;
    case LJ_ERR_SIG_UNSUPPORTED: r = LJ_R_TLS_SIGNATURE_UNSUPPORTED; break;
    case LJ_ERR_TPM:
    case LJ_ERR_TPM_OBJECT_MEMORY: r = LJ_R_TPM_FAILED; break;
    case LJ_ERR_PARSE:
    case LJ_ERR_PROTOCOL:
    case LJ_ERR_HTTP:
    case LJ_ERR_TOO_BIG: r = LJ_R_BAD_SERVICE_RESPONSE; break;
    case LJ_ERR_CANCELLED: r = LJ_R_CANCELLED; break;
    default: r = LJ_R_INTERNAL; break;
    }
    set(out, r);
}

/* ---- README table ---- */

static void
md_cell(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else
            fputc(*s, f);
    }
}

enum lj_rc
lj_errors_markdown(char **out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    if (out == NULL)
        return LJ_ERR_INVAL;
    f = open_memstream(&buf, &len);
    if (f == NULL)
        return LJ_ERR_NOMEM;
    fputs("| reason | phase | code | fix by | retryable | exit | message for the person | "
          "admin action |\n|---|---|---|---|---|---|---|---|\n",
          f);
    for (size_t i = 0; i < LJ_R_COUNT__; i++) {
        const struct lj_reason_info *r = &table[i];

        fprintf(f, "| `%s`", r->slug);
        if (r->variant[0] != '\0')
            fprintf(f, " (%s)", r->variant);
        fprintf(f, " | %s | `%s` | %s | %s | %d | ", lj_phase_name(r->phase), r->code,
                lj_fix_by_name(r->fix_by), r->retryable ? "yes" : "no", r->exit_code);
        md_cell(f, r->message);
        fputs(" | ", f);
        md_cell(f, r->admin_action);
        fputs(" |\n", f);
    }
    if (fclose(f) != 0 || buf == NULL) {
        free(buf);
        return LJ_ERR_NOMEM;
    }
    *out = buf;
    return LJ_OK;
}
