/*
 * drs.h — Device Registration Service messages as pure functions:
 * discovery URL and answer, join URL and body, join answer verification
 * (the issued certificate must be for OUR key), and DRS error bodies.
 * No HTTP and no TPM here: the caller passes the CSR DER, the transport key
 * blob and the device public key as bytes, and sends what this builds.
 * Wire formats: MS-DVRD (discovery schema), MS-DVRJ 3.1.5.1.1 (join request,
 * answer, ErrorDetails), and the public clients that join real tenants
 * (roadtx deviceauth.py, AADInternals PRT_Utils.ps1, libhimmelblau).
 */
#ifndef LJ_AGENT_DRS_H
#define LJ_AGENT_DRS_H

#include <stdbool.h>
#include <stddef.h>

#include "platform/common/result.h"

#define DRS_DEFAULT_BASE "https://enterpriseregistration.windows.net"
/*
 * Discovery API versions.  Before sign-in Windows' dsreg asks anonymously
 * with 1.7 (Azure-Samples/DSRegTool DSRegTool.ps1, its enterpriseregistration
 * probe); with a DRS access token libhimmelblau asks with 1.9 and
 * managed=True (himmelblau-idm/libhimmelblau src/discovery.rs Services::new).
 */
#define DRS_DISCOVERY_API_VERSION_ANON "1.7"
#define DRS_DISCOVERY_API_VERSION_AUTH "1.9"
/*
 * The fixed subject CN of the join CSR, and the CN of the issuer every
 * device certificate DRS issues must carry (MS-DVRJ).
 */
#define DRS_CSR_CN "7E980AD9-B86D-4306-9425-9AC066FB014A"
#define DRS_ISSUER_CN "MS-Organization-Access"
/* Ceiling for discovery and join bodies (both are a few KiB). */
#define DRS_MAX_BODY (256u * 1024u)

/*
 * The discovery URL.  authenticated false (no token yet, sent without
 * Authorization): {drs_base}/{domain}/discover?api-version=1.7, as dsreg;
 * true (sent with the DRS access token as bearer):
 * {drs_base}/{domain}/Discover?api-version=1.9&managed=True, as
 * libhimmelblau.  Either is sent with Accept: application/json
 * (DRS_DISCOVERY_ACCEPT).  drs_base NULL = default; it must be
 * https://host[:port].  domain: [A-Za-z0-9.-_], 1..253 chars.  *out
 * malloc'ed, caller frees.  LJ_ERR_INVAL on bad arguments.
 */
enum lj_rc drs_discover_url(const char *drs_base, const char *domain, bool authenticated,
                            char **out);
/* The Accept header of the discovery request (DSRegTool, libhimmelblau). */
#define DRS_DISCOVERY_ACCEPT "Accept: application/json"

struct drs_discovery {
    char join_endpoint[512]; /* https, same host as drs_base */
    char join_resource_id[256];
    char join_service_version[16]; /* digits and dots */
    char tenant_id[64];            /* TenantInfo; "" when absent */
    char tenant_name[256];
    char tenant_display_name[256];
    char mdm_endpoint[512]; /* DeviceManagementService; "" when absent */
    char mdm_resource_id[256];
    char mdm_service_version[16];
    char auth_code_endpoint[512]; /* AuthenticationService.OAuth2; "" when absent */
    char token_endpoint[512];
    bool join_fallback; /* DeviceJoinService fields were missing: defaults used */
};

/*
 * Parse a discovery answer fetched from drs_base (NULL = default).
 * Fallbacks (libhimmelblau src/discovery.rs): a missing DeviceJoinService
 * or JoinEndpoint gives {drs_base}/EnrollmentServer/device/; a missing
 * ServiceVersion gives "2.0"; a missing JoinResourceId gives
 * urn:ms-drs:enterpriseregistration.windows.net; join_fallback is set.
 * A field that is PRESENT but wrong is never replaced by a default: a
 * non-https endpoint, a join endpoint on another host than drs_base (Windows'
 * DSREG_E_DISCOVERY_REDIRECTION_NOT_TRUSTED), a non-string, an oversized or
 * malformed version are LJ_ERR_PROTOCOL.  Not JSON: LJ_ERR_PARSE.  Over
 * DRS_MAX_BODY or deeper than 8: LJ_ERR_TOO_BIG.  *out written on success only.
 */
enum lj_rc drs_discovery_parse(const char *body, size_t len, const char *drs_base,
                               struct drs_discovery *out);

/* JoinEndpoint + "?api-version=" + ServiceVersion.  *out malloc'ed, caller frees. */
enum lj_rc drs_join_url(const struct drs_discovery *d, char **out);

/* Inputs of the join body; all borrowed. */
struct drs_join_request {
    const unsigned char *csr_der; /* PKCS#10 DER, at most 8 KiB */
    size_t csr_len;
    const unsigned char *tk_blob; /* BCRYPT_RSAPUBLIC_BLOB ("RSA1"), at most 2 KiB */
    size_t tk_len;
    const char *target_domain; /* required */
    const char *os_version;    /* required dotted quad (lj_is_dotted_quad), "10.0.26100.1" */
    const char *display_name;  /* required */
    const char *device_type;   /* NULL = "Windows" */
};

/*
 * The join JSON: CertificateRequest {Type "pkcs10", Data b64(CSR)},
 * TransportKey b64(blob), TargetDomain, DeviceType, OSVersion,
 * DeviceDisplayName, JoinType 0, Attributes {ReuseDevice "true",
 * ReturnClientSid "true"}.  Strings must be 1..256 bytes without control
 * characters (DRS rejects attribute values over 512).  LJ_ERR_INVAL on bad
 * input.  *out malloc'ed (not secret), caller frees.
 */
enum lj_rc drs_join_body(const struct drs_join_request *r, char **out);

/*
 * The key the issued certificate must carry: either a DER
 * SubjectPublicKeyInfo (a bare PKCS#1 RSAPublicKey is accepted too), or an
 * RSA modulus and public exponent (big-endian, leading zeros ignored).  When
 * spki_der is set the modulus/exponent fields are ignored.
 */
struct drs_expected_key {
    const unsigned char *spki_der;
    size_t spki_len;
    const unsigned char *modulus;
    size_t modulus_len;
    const unsigned char *exponent;
    size_t exponent_len;
};

struct drs_join_verify {
    struct drs_expected_key key;
    const char *tenant_id; /* optional: must equal extension .284.5 */
    const char *issuer_cn; /* optional: issuer CN must equal (e.g. "MS-Organization-Access") */
};

/* Why a join answer was refused; each a distinct, stable name. */
enum drs_reject {
    DRS_REJECT_NONE = 0,
    DRS_REJECT_JSON,               /* not JSON / too big / too deep */
    DRS_REJECT_NO_CERTIFICATE,     /* Certificate.RawBody or Thumbprint missing or not strings */
    DRS_REJECT_BASE64,             /* RawBody is not strict base64 */
    DRS_REJECT_X509,               /* not one DER X.509 certificate */
    DRS_REJECT_KEY_MISMATCH,       /* public key is not the device key */
    DRS_REJECT_CN_NOT_GUID,        /* subject CN missing or not a GUID */
    DRS_REJECT_DEVICE_ID_MISMATCH, /* extension .284.2 differs from the CN */
    DRS_REJECT_THUMBPRINT,         /* Thumbprint != SHA-1(DER) */
    DRS_REJECT_TENANT,             /* .284.5 malformed or not the expected tenant */
    DRS_REJECT_ISSUER,             /* issuer CN not the expected one */
    DRS_REJECT_VALIDITY,           /* notBefore/notAfter unreadable or not ordered */
    DRS_REJECT_EXTENSION,          /* a Microsoft extension is malformed */
    DRS_REJECT_COUNT__
};

/* "key_mismatch", "thumbprint_mismatch", ...; never NULL. */
const char *drs_reject_name(enum drs_reject r);
/*
 * The same as a plain clause for people ("the certificate in it is for a key
 * that is not this device's"); fits "...could not be used because %s".
 * Static storage, never NULL.
 */
const char *drs_reject_text(enum drs_reject r);

struct drs_join_result {
    unsigned char *cert_der; /* owned: free with drs_join_result_free */
    size_t cert_len;
    char device_id[37];   /* lower-case GUID from the CN */
    char tenant_id[37];   /* from .284.5 (Windows GUID byte order); "" when absent */
    char user_oid[37];    /* from .284.3; "" when absent */
    int join_type;        /* .284.7: 0 registered, 1 joined; -1 when absent */
    char thumbprint[41];  /* upper-case hex SHA-1 of the DER */
    char issuer[256];     /* one-line issuer name */
    char upn[256];        /* User.Upn; "" when absent */
    long long not_before; /* unix seconds */
    long long not_after;
};

/*
 * Parse and verify a join answer.  LJ_OK: *out filled (free with
 * drs_join_result_free).  Otherwise LJ_ERR_PROTOCOL (LJ_ERR_TOO_BIG for an
 * oversized body, LJ_ERR_INVAL for bad arguments) and *why (when given) names
 * the reason; nothing is returned.
 */
enum lj_rc drs_join_response_parse(const char *body, size_t len, const struct drs_join_verify *v,
                                   struct drs_join_result *out, enum drs_reject *why);
void drs_join_result_free(struct drs_join_result *r);

/* What kind of body a DRS error answer had. */
enum drs_body_kind {
    DRS_BODY_JSON = 0, /* a JSON object (ErrorType etc. may still be missing) */
    DRS_BODY_EMPTY,    /* no body */
    DRS_BODY_HTML,     /* a web page: proxy, captive portal, load balancer */
    DRS_BODY_OTHER,    /* anything else (text, broken JSON, binary) */
};

struct drs_error {
    long http_status;
    enum drs_body_kind kind;
    char error_type[64]; /* ErrorType */
    char sub_code[64];   /* ErrorSubCode / SubErrorCode / code, when present */
    char message[512];   /* Message, control characters blanked */
    char trace_id[64];   /* TraceId */
    char time[64];       /* Time */
};

/*
 * Read an error answer (any HTTP status, any body) into *out; unknown fields
 * are ignored.  Never fails on hostile input: a body that is not the DRS JSON
 * shape is classified by kind.  LJ_ERR_INVAL only for NULL out.
 */
enum lj_rc drs_error_parse(long http_status, const char *body, size_t len, struct drs_error *out);

/*
 * True only when *e is DRS's own answer that device_id does not exist: HTTP
 * 400 or 404 with the MS-DVRJ ErrorDetails JSON (2.2.3.1), ErrorType
 * "DirectoryError" and Message "The device object by the given id (ID) is
 * not found." naming device_id (GUID compared case-insensitively).  The
 * message is the one Entra documents for a deleted device (entra-docs,
 * troubleshoot-hybrid-join-windows-current); AADInternals (PRT.ps1,
 * Remove-AADIntDeviceFromAzureAD) and ROADtools (deviceauth.py
 * delete_device) read the same ErrorDetails JSON from the DELETE.  Any other
 * answer (a 404 page, another ErrorType, another id) is false.  Pure.
 */
bool drs_device_not_found(const struct drs_error *e, const char *device_id);

/*
 * Validity of a DER certificate (e.g. the stored device certificate) as
 * unix seconds.  LJ_ERR_PARSE when it is not one certificate or its times
 * are unreadable.  Does not verify anything else.
 */
enum lj_rc drs_cert_validity(const unsigned char *der, size_t len, long long *not_before,
                             long long *not_after);

/*
 * Shared with agent/proto/mdm_provdoc.c: true when the RSA key in cert_spki (DER
 * SubjectPublicKeyInfo as wolfSSL_X509_get_pubkey_buffer gives it) equals
 * *want (compared as modulus and exponent, leading zeros ignored).
 */
bool drs_key_matches(const struct drs_expected_key *want, const unsigned char *cert_spki,
                     size_t cert_len);

/*
 * Shared with agent/proto/mdm_provdoc.c: true when url is an endpoint we may call:
 * "https://" + host[:port] of [A-Za-z0-9.-], at most max-1 bytes, no
 * control characters, spaces or fragment.  A path and query are allowed.
 */
bool drs_url_is_https(const char *url, size_t max);

/* Format 16 bytes in Windows GUID order (Data1-3 little-endian) into out[37]. */
void drs_guid_from_windows_bytes(const unsigned char b[16], char out[37]);

/* lj_is_guid() (platform/common/text.h) checks a GUID's form. */

#endif
