/*
 * mdm.h — Intune automatic enrollment messages (MS-MDE2 discovery, MS-XCEP
 * GetPolicies, MS-WSTEP RequestSecurityToken) as pure functions: requests are
 * built with libxml2's writer, answers and SOAP faults parsed with libxml2's
 * parser behind hard limits.  No HTTP and no TPM here: the caller passes the
 * access token, the CSR DER and the expected public key as bytes, and sends
 * what this builds (POST, Content-Type MDM_CONTENT_TYPE, User-Agent
 * MDM_USER_AGENT).  Wire formats: MS-MDE2 (3.1.4.1.3
 * discovery, 3.4.4.1.1.1.1 RequestSecurityToken, 2.2.9.1 provisioning schema,
 * 2.2.10 faults), MS-XCEP, MS-WSTEP, and the sample messages on Microsoft
 * Learn's "Federated authentication device enrollment" page.
 *
 * How the flow uses it:
 *   1. mdm_message_id() for each request (the parsers check a:RelatesTo).
 *   2. POST mdm_discover_build() to MDM_DISCOVERY_URL (no authentication).
 *   3. For EVERY answer (any HTTP status) call mdm_fault_parse() first: kind
 *      MDM_BODY_FAULT (or a non-200 status) -> lj_classify_mdm() (classify.h).
 *      Otherwise parse the 200 body with the matching *_parse function; a
 *      failure there is bad_service_response (lj_classify_rc).
 *   4. When discovery named a policy service: mdm_policy_build() /
 *      mdm_policy_parse(); check the policy with mdm_policy_check().
 *   5. mdm_enroll_build() -> POST to EnrollmentServiceUrl (query kept) ->
 *      mdm_enroll_parse() verifies the wap-provisioningdoc and returns the
 *      client certificate, its chain and the management server.
 *   An out-of-scope user is decided before any SOAP: when Entra gave no MDM
 *   enrollment URL for the user (DRS discovery DeviceManagementService /
 *   token claims empty) the flow reports mdm_not_in_scope itself
 *   (Entra's restricted mdm_enrollment_url claim; dsregcmd shows an empty
 *   MdmUrl for such a user); the fault pattern below is only a safety net.
 *
 * Fault patterns classified (lj_classify_mdm in agent/proto/classify.c; the
 * simulator should emit Intune's observed shape, MS-MDE2 2.2.10 as the
 * faults pytune's author published show it:
 * SOAP 1.2, no header, s:Code/s:Value s:Receiver, s:Subcode/s:Value
 * "s:<Name>", s:Reason/s:Text, s:Detail/DeviceEnrollmentServiceError
 * {ErrorType, Message, TraceId} in the enrollment namespace; MS-DVRE
 * 3.1.4.1.2.1 and MS-WSTEP call the same element
 * WindowsDeviceEnrollmentServiceError, which is read too):
 *   The key is ErrorType when present, else the Subcode's local name; it is
 *   mapped to a Windows HRESULT by case-insensitive substring, first hit
 *   wins, in Windows' order (mdm_fault_hresult).  A generic ErrorType
 *   (0x80180001..0x80180008, e.g. MS-DVRE 4.1.3's AuthorizationError) yields
 *   to a Subcode naming a specific condition (s:DeviceCapReached):
 *     NotEligibleToRenew (also in the reason text) 0x80180016,
 *     MessageFormat 0x80180001, Authentication|FailedAuthentication
 *     0x80180002, Authorization 0x80180003, CertificateRequest|
 *     CertificateAuthority 0x80180004, EnrollmentServer 0x80180005,
 *     InternalServiceFault|InternalServerFault 0x80180006, InvalidSecurity
 *     0x80180007, DeviceCapReached 0x80180013, DeviceNotSupported 0x80180014,
 *     NotSupported 0x80180015, InMaintenance 0x80180017, UserLicense
 *     0x80180018, InvalidEnrollmentData 0x80180019, CustomServerError
 *     0x80180032, Server429|ServerBusy 0x80180033, MdmNotConfigured|
 *     NotInScope 0x8018002b, anything else 0x80180008.
 *   Reasons:
 *     0x8018002b, or any text (reason/message) containing "MDM user scope"
 *       or "not in scope"                        -> mdm_not_in_scope
 *     0x80180014 and reason/message containing "preregistered",
 *       "pre-registered", "corporate identifier", "personally owned",
 *       "personal" or "ownership"                -> mdm_ownership_blocked
 *       (Intune: s:Authorization + ErrorType DeviceNotSupported, text
 *       "Device Identifier not preregistered")
 *     0x80180014 otherwise                       -> mdm_platform_blocked
 *       (simulator text: "Windows (MDM) platform is blocked by an
 *       enrollment restriction")
 *     0x80180013                                 -> mdm_device_cap
 *     0x80180018, or 0x80180003 whose text contains "UserValidation" or
 *       "licen"                                  -> mdm_license_missing
 *     0x80180017, 0x80180006, 0x80180005, 0x80180033 -> joined_mdm_pending
 *     any other fault                            -> mdm_rejected (code =
 *                                                   the HRESULT above)
 *   Answers without a fault: 429 or 5xx -> joined_mdm_pending; an HTML page
 *   -> network_intercepted; empty 200 -> bad_service_response 0x80180029;
 *   anything else -> bad_service_response.
 */
#ifndef LJ_AGENT_MDM_H
#define LJ_AGENT_MDM_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/proto/drs.h"
#include "platform/common/result.h"

#define MDM_DISCOVERY_URL "https://enrollment.manage.microsoft.com/EnrollmentServer/Discovery.svc"
#define MDM_RESOURCE "https://enrollment.manage.microsoft.com/"
#define MDM_CONTENT_TYPE "application/soap+xml; charset=utf-8"
#define MDM_USER_AGENT "ENROLLClient"

/* Ceilings: ours, far above any answer Intune sends. */
#define MDM_MAX_BODY (256u * 1024u)    /* any SOAP answer */
#define MDM_MAX_PROVDOC (128u * 1024u) /* decoded wap-provisioningdoc */
#define MDM_MAX_DEPTH 32               /* element nesting, both documents */
#define MDM_MAX_CERTS 8                /* certificates in a provisioning document */
#define MDM_MAX_CERT (16u * 1024u)     /* one decoded EncodedCertificate */
#define MDM_MAX_URL 1024u              /* URLs taken from answers, with the NUL */
#define MDM_MAX_TOKEN (16u * 1024u)    /* access token text */
#define MDM_MAX_CSR (8u * 1024u)
#define MDM_CLOCK_SKEW 300 /* seconds allowed either side of a validity window */

/* "urn:uuid:" + 36 + NUL */
#define MDM_MSGID_LEN 46

/*
 * A fresh WS-Addressing MessageID "urn:uuid:<random v4 uuid>" (lower case)
 * from wolfSSL's RNG.  LJ_ERR_CRYPTO when the RNG fails.
 */
enum lj_rc mdm_message_id(char out[MDM_MSGID_LEN]);

/*
 * The URL the RST goes to (and its a:To): the EnrollmentServiceUrl from
 * discovery with "client-request-id=<request_id>" appended when its query
 * has no client-request-id parameter ('?' or '&' as the query needs; an
 * existing query is kept as it is).  The URL Intune gives Windows carries
 * one (Intune's DiscoverResponse in the OutOfTune capture) and
 * AADInternals MDM_utils.ps1 appends
 * ?client-request-id=<ActivityId> when it is missing, so Intune's logs can
 * be matched to the request.  request_id: the DiscoverResponse ActivityId,
 * as AADInternals uses it; when NULL, "" or not a GUID (8-4-4-4-12 hex) a
 * fresh random GUID is used.  url: https, no fragment.  out (osz bytes) is
 * written on success.  LJ_ERR_INVAL on a bad url or out, LJ_ERR_TOO_BIG
 * when it does not fit, LJ_ERR_CRYPTO when the RNG fails.
 */
enum lj_rc mdm_enroll_url(const char *url, const char *request_id, char *out, size_t osz);

/* ---- requests ---- */

/*
 * Every string input: valid UTF-8 without control characters, 1..256 bytes
 * unless noted; URLs https (drs_url_is_https), < MDM_MAX_URL.  message_id
 * is "urn:uuid:" + GUID.  Outputs are NUL-terminated, *len excludes the NUL.
 */
struct mdm_discover_request {
    const char *url;         /* a:To; NULL = MDM_DISCOVERY_URL */
    const char *message_id;  /* required */
    const char *upn;         /* EmailAddress; required, escaped by the writer */
    const char *os_version;  /* ApplicationVersion, a dotted quad ([MS-MDE2] DottedQuadType,
                              * lj_is_dotted_quad), e.g. "10.0.26100.1"; required */
    const char *os_edition;  /* OSEdition, decimal product type; NULL = "4" (Enterprise) */
    const char *device_type; /* NULL = "CIMClient_Windows" */
};

/*
 * The MS-MDE2 Discover envelope: header a:Action (mustUnderstand)
 * …/IDiscoveryService/Discover, a:MessageID, a:ReplyTo/a:Address anonymous,
 * a:To (mustUnderstand); body Discover/request {EmailAddress, RequestVersion
 * "4.0", DeviceType, ApplicationVersion, OSEdition, AuthPolicies/AuthPolicy
 * "OnPremise" and "Federated"}.  LJ_ERR_INVAL on a bad input.  *xml
 * malloc'ed, not secret, caller frees with free().
 */
enum lj_rc mdm_discover_build(const struct mdm_discover_request *r, char **xml, size_t *len);

struct mdm_policy_request {
    const char *url;          /* EnrollmentPolicyServiceUrl; required */
    const char *message_id;   /* required */
    const char *access_token; /* JWT text ([A-Za-z0-9._-], <= MDM_MAX_TOKEN); secret */
};

/*
 * The MS-XCEP GetPolicies envelope: WS-Addressing header as for Discover
 * with action …/enrollmentpolicy/IPolicy/GetPolicies, wsse:Security with the
 * token as for the RST (ValueType urn:ietf:params:oauth:token-type:jwt: the
 * reference leaves the JWT ValueType for GetPolicies open, §3.2, so we use
 * the one Intune accepts in the RST), body GetPolicies/client{lastUpdate,
 * preferredLanguage xsi:nil} requestFilter xsi:nil.
 * *xml holds the token: SECRET, free with lj_secret_free().
 */
enum lj_rc mdm_policy_build(const struct mdm_policy_request *r, char **xml, size_t *len);

struct mdm_enroll_request {
    const char *url;              /* EnrollmentServiceUrl (query kept) -> a:To; required */
    const char *message_id;       /* required */
    const char *access_token;     /* JWT text; secret; required */
    const unsigned char *csr_der; /* PKCS#10 DER, 16..MDM_MAX_CSR bytes; required */
    size_t csr_len;
    const char *device_id;    /* Entra device id GUID; required */
    const char *tenant_id;    /* tenant GUID; required when hw_dev_id is NULL */
    const char *hw_dev_id;    /* 64 hex; NULL = device id + tenant id without hyphens */
    const char *os_version;   /* OSVersion and ApplicationVersion, a dotted quad; required */
    const char *os_edition;   /* NULL = "4" */
    const char *device_type;  /* NULL = "CIMClient_Windows" */
    const char *device_name;  /* DeviceName; NULL = omitted */
    const char *locale;       /* NULL = "en-US" */
    const char *manufacturer; /* Manufacturer; NULL or "" = omitted */
    const char *model;        /* DeviceModel; NULL or "" = omitted */
    const char *serial;       /* SerialNumber; NULL or "" = omitted */
    const char *const *macs; /* MAC items "XX-XX-XX-XX-XX-XX"; NULL-terminated, <= 8; NULL = none */
    bool not_in_oobe;        /* NotInOobe: false in OOBE, true for a later retry */
};

/*
 * The MS-WSTEP RequestSecurityToken envelope (MS-MDE2 3.4.4.1.1.1.1):
 * header as for Discover with action …/pki/2009/01/enrollment/RST/wstep and
 * wsse:Security (mustUnderstand) / wsse:BinarySecurityToken ValueType
 * urn:ietf:params:oauth:token-type:jwt, EncodingType …#base64binary, text
 * base64(token); body wst:RequestSecurityToken {wst:TokenType
 * …/DeviceEnrollmentToken, wst:RequestType …/ws-trust/200512/Issue,
 * wsse:BinarySecurityToken ValueType …/enrollment#PKCS10 = base64(CSR DER),
 * ac:AdditionalContext with ac:ContextItem Name=… / ac:Value}.
 * Context items, in this order: UXInitiated "true", HWDevID, Locale,
 * TargetedUserLoggedIn "true", OSEdition, DeviceName (if given), MAC (one
 * per given address), DeviceID (device id without hyphens), EnrollmentType
 * "Device", DeviceType, OSVersion, ApplicationVersion (= OSVersion),
 * NotInOobe, then Manufacturer, DeviceModel, SerialNumber (if given).
 * The last three names are Mattrax's (MTX); no capture confirms how Windows
 * sends them (reference §4.5 gap): entra-sim reads these names.
 * The token is never passed through libxml2 (whose buffers are not wiped):
 * the writer emits a marker that is replaced in a single exact-size buffer.
 * *xml is SECRET: free with lj_secret_free().
 */
enum lj_rc mdm_enroll_build(const struct mdm_enroll_request *r, char **xml, size_t *len);

/* ---- answers ---- */

/* Why an answer was refused; each a distinct, stable name (mdm_reject_name). */
enum mdm_reject {
    MDM_REJECT_NONE = 0,
    MDM_REJECT_EMPTY,          /* no body */
    MDM_REJECT_TOO_BIG,        /* over MDM_MAX_BODY / MDM_MAX_PROVDOC */
    MDM_REJECT_DOCTYPE,        /* a DOCTYPE/ENTITY declaration (never in SOAP) */
    MDM_REJECT_XML,            /* not well-formed XML (truncated, bad bytes, NUL) */
    MDM_REJECT_TOO_DEEP,       /* element nesting over MDM_MAX_DEPTH */
    MDM_REJECT_NOT_SOAP,       /* root is not a SOAP 1.2/1.1 Envelope with a Body */
    MDM_REJECT_FAULT,          /* the Body is a Fault: use mdm_fault_parse */
    MDM_REJECT_RELATES_TO,     /* a:RelatesTo present and not our MessageID */
    MDM_REJECT_MISSING,        /* a required element is missing or in the wrong namespace */
    MDM_REJECT_BAD_VALUE,      /* an element's text is malformed or too long */
    MDM_REJECT_BAD_URL,        /* a URL is not https or malformed */
    MDM_REJECT_TOKEN_TYPE,     /* TokenType / ValueType not the expected URI */
    MDM_REJECT_BASE64,         /* token or certificate not base64 */
    MDM_REJECT_PROVDOC,        /* provisioning document malformed (root, structure) */
    MDM_REJECT_NO_CLIENT_CERT, /* no (or more than one) certificate under My */
    MDM_REJECT_TOO_MANY_CERTS, /* more than MDM_MAX_CERTS */
    MDM_REJECT_X509,           /* a certificate is not one DER X.509 certificate */
    MDM_REJECT_THUMBPRINT,     /* characteristic type is a SHA-1 hex that is not the cert's */
    MDM_REJECT_KEY_MISMATCH,   /* client certificate key is not the CSR key */
    MDM_REJECT_CHAIN,          /* client -> CA -> self-signed root does not verify */
    MDM_REJECT_VALIDITY,       /* a certificate outside its validity window (+- skew) */
    MDM_REJECT_EKU,            /* client certificate EKU lacks clientAuth */
    MDM_REJECT_PROVIDER,       /* PROVIDER-ID missing or DMClient provider differs */
    MDM_REJECT_POLICY,         /* policy answer unusable (key length, hash) */
    MDM_REJECT_COUNT__
};

/* "doctype", "key_mismatch", ...; never NULL. */
const char *mdm_reject_name(enum mdm_reject r);

struct mdm_discovery {
    char auth_policy[32];        /* "Federated" (OnPremise/Certificate accepted, reported) */
    char enrollment_version[16]; /* digits and dots; "" when absent */
    char enrollment_service_url[MDM_MAX_URL];        /* https, required */
    char enrollment_policy_service_url[MDM_MAX_URL]; /* https; "" when absent */
    char authentication_service_url[MDM_MAX_URL];    /* https; "" when absent */
    char activity_id[64];                            /* header ActivityId; "" when absent */
};

/*
 * Parse a DiscoverResponse.  message_id (optional) must equal a:RelatesTo
 * when that header is present.  Accepts the SOAP 1.2 and 1.1 envelope
 * namespaces and the enrollment namespace with or without a trailing '/';
 * elements are found by namespace + local name (local names compared
 * case-insensitively), never by prefix; child order is free.
 * Errors: LJ_ERR_TOO_BIG (size, depth), LJ_ERR_PARSE (XML, DOCTYPE),
 * LJ_ERR_PROTOCOL (everything else, incl. a Fault), LJ_ERR_INVAL (args);
 * *why (when given) names the reason.  *out written on success only.
 */
enum lj_rc mdm_discover_parse(const char *body, size_t len, const char *message_id,
                              struct mdm_discovery *out, enum mdm_reject *why);

enum mdm_hash {
    MDM_HASH_NONE = 0, /* policy names no hash (protocol default: SHA-1) */
    MDM_HASH_SHA1,
    MDM_HASH_SHA256,
    MDM_HASH_SHA384,
    MDM_HASH_SHA512,
    MDM_HASH_OTHER, /* an OID we do not know */
};

/*
 * What we honour from GetPoliciesResponse (the first policy): the minimum
 * key length, the hash algorithm (hashAlgorithmOIDReference resolved through
 * oIDs/oID/oIDReferenceID -> value), the validity and renewal periods (for
 * status only).  cAs, extensions, cryptoProviders and flags are ignored: the
 * key is a TPM RSA-2048 key either way.
 */
struct mdm_policy {
    unsigned min_key_bits; /* minimalKeyLength; 0 when absent */
    enum mdm_hash hash;
    char hash_oid[64];    /* dotted OID; "" when absent */
    long long validity_s; /* validityPeriodSeconds; 0 when absent */
    long long renewal_s;  /* renewalPeriodSeconds; 0 when absent */
};

/* Parse a GetPoliciesResponse; errors as mdm_discover_parse. */
enum lj_rc mdm_policy_parse(const char *body, size_t len, const char *message_id,
                            struct mdm_policy *out, enum mdm_reject *why);

/*
 * Can a key of key_bits with SHA-256 signatures satisfy policy p?  Yes when
 * min_key_bits <= key_bits (4096 max) and the hash is none, SHA-1 or SHA-256
 * (Intune accepts SHA-256 CSRs with or without a policy).  Otherwise
 * LJ_ERR_PROTOCOL with why MDM_REJECT_POLICY.
 */
enum lj_rc mdm_policy_check(const struct mdm_policy *p, unsigned key_bits, enum mdm_reject *why);

struct mdm_enroll_verify {
    struct drs_expected_key key; /* the CSR's public key */
    const char *message_id;      /* optional: a:RelatesTo check */
    long long now;               /* unix seconds for validity checks; 0 = time(NULL) */
};

struct mdm_cert {
    unsigned char *der; /* owned by the enclosing struct */
    size_t len;
    char thumbprint[41]; /* upper-case hex SHA-1 of the DER */
    char subject[256];   /* one-line names */
    char issuer[256];
};

struct mdm_enrollment {
    struct mdm_cert client;
    struct mdm_cert chain[MDM_MAX_CERTS]; /* issuer of client first, root last */
    size_t chain_len;
    char client_store[8];       /* "System" (device enrollment) or "User" */
    char mgmt_url[MDM_MAX_URL]; /* APPLICATION ADDR (https) */
    char provider_id[128];      /* APPLICATION PROVIDER-ID, e.g. "MS DM Server" */
    char server_name[256];      /* APPLICATION NAME; "" when absent */
    char activity_id[64];       /* header ActivityId; "" when absent */
    char *provdoc;              /* the decoded document (owned), for the state dir */
    size_t provdoc_len;
};

/*
 * Parse a RequestSecurityTokenResponseCollection and verify what it
 * delivers: TokenType DeviceEnrollmentToken, RequestedSecurityToken/
 * BinarySecurityToken ValueType …/DeviceEnrollmentProvisionDoc (with or
 * without "/5.0.0.0"), base64 (XML whitespace ignored) -> at most
 * MDM_MAX_PROVDOC -> parsed with the same hardening; root
 * wap-provisioningdoc; certificates under characteristic CertificateStore
 * (one or several) / Root|CA / <store> / <thumbprint> / parm
 * EncodedCertificate, and the client certificate under My/System or My/User
 * (exactly one); a characteristic type of 40 hex digits must equal the
 * certificate's SHA-1.  The client certificate must carry v->key, chain
 * client -> CA(s) -> self-signed Root by signature (names and signatures,
 * CA certificates with basicConstraints CA), every certificate inside its
 * validity window +- MDM_CLOCK_SKEW at v->now, and an EKU (if any) with
 * clientAuth.  APPLICATION (APPID w7): ADDR https, PROVIDER-ID present; a
 * DMClient/Provider/<name> must equal PROVIDER-ID.  LJ_OK: *out filled,
 * free with mdm_enrollment_free().  Errors as mdm_discover_parse (a
 * certificate problem is LJ_ERR_PROTOCOL).  Nothing is returned on failure.
 */
enum lj_rc mdm_enroll_parse(const char *body, size_t len, const struct mdm_enroll_verify *v,
                            struct mdm_enrollment *out, enum mdm_reject *why);
void mdm_enrollment_free(struct mdm_enrollment *e);

/* ---- faults ---- */

enum mdm_body_kind {
    MDM_BODY_FAULT = 0, /* a SOAP Fault (fields below filled as far as present) */
    MDM_BODY_EMPTY,     /* no body */
    MDM_BODY_HTML,      /* a web page: proxy, captive portal, load balancer */
    MDM_BODY_SOAP,      /* a SOAP envelope without a Fault (a normal answer) */
    MDM_BODY_OTHER,     /* anything else: not XML, a bomb, oversized, ... */
};

struct mdm_fault {
    long http_status;
    enum mdm_body_kind kind;
    char code[64];         /* s:Code/s:Value text, e.g. "s:Receiver" (1.1: faultcode) */
    char subcode[128];     /* s:Subcode/s:Value text, e.g. "s:Authorization" */
    char reason[512];      /* s:Reason/s:Text (1.1: faultstring) */
    char error_type[64];   /* Detail/DeviceEnrollmentServiceError/ErrorType */
    char message[512];     /* …/Message */
    char trace_id[128];    /* …/TraceId */
    char activity_id[64];  /* header ActivityId */
    unsigned long hresult; /* Windows' code for the fault (table above); 0 when not a fault */
};

/*
 * Read any answer (any HTTP status, any body) into *out.  Never fails on
 * hostile input: a body that is not a SOAP fault is classified by kind with
 * the same XML hardening as the parsers.  Text fields have control
 * characters blanked and are truncated to their size.  LJ_ERR_INVAL only
 * for a NULL out.
 */
enum lj_rc mdm_fault_parse(long http_status, const char *body, size_t len, struct mdm_fault *out);

/* Windows' HRESULT for a fault's ErrorType/Subcode/reason (see the table above). */
unsigned long mdm_fault_hresult(const char *error_type, const char *subcode, const char *reason);

#endif
