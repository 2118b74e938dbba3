/*
 * drs.c — DRS discovery, join request and join answer, without I/O.
 *
 * Design note: the join answer is the one message that decides what the
 * device stores forever, so it is checked hard: strict base64, exactly one
 * DER certificate (no trailing bytes), the certificate's RSA key compared as
 * (modulus, exponent) with the device key we asked to certify, CN a GUID that
 * equals the device-id extension, Thumbprint equal to SHA-1 of the DER, and
 * the Microsoft extensions well formed.  Each refusal has its own enum
 * value, logged by name, so a support case can tell "wrong key" from
 * "wrong thumbprint".  X.509 parsing uses wolfSSL's compatibility layer
 * (wolfssl/options.h must come first); cJSON only through agent/pjson.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/openssl/objects.h>
#include <wolfssl/openssl/x509v3.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include "agent/proto/drs.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "agent/proto/pjson.h"
#include "platform/common/b64.h"
#include "platform/common/log.h"
#include "platform/common/text.h"

#define MOD "drs"
#define MAX_CSR (8u * 1024u)
#define MAX_BLOB (2u * 1024u)
#define MAX_CERT (16u * 1024u)
#define MAX_ATTR 256u

#define OID_DEVICE_ID "1.2.840.113556.1.5.284.2"
#define OID_USER_OID "1.2.840.113556.1.5.284.3"
#define OID_TENANT_ID "1.2.840.113556.1.5.284.5"
#define OID_JOIN_TYPE "1.2.840.113556.1.5.284.7"

/* ---- small helpers ---- */

static bool
printable_str(const char *s, size_t max)
{
    size_t n;

    if (s == NULL || (n = strlen(s)) == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

static bool
valid_domain(const char *d)
{
    size_t n;

    if (d == NULL || (n = strlen(d)) == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)d[i];

        if (!isalnum(c) && c != '.' && c != '-' && c != '_')
            return false;
    }
    return true;
}

/* The host[:port] of an https URL, lower-cased, into out; false if not https. */
static bool
https_host(const char *url, char *out, size_t outsz)
{
    const char *h, *e;
    size_t n;

    if (url == NULL || strncasecmp(url, "https://", 8) != 0)
        return false;
    h = url + 8;
    e = h + strcspn(h, "/?#");
    n = (size_t)(e - h);
    if (n == 0 || n >= outsz)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];

        if (!isalnum(c) && c != '.' && c != '-' && c != ':')
            return false;
        out[i] = (char)tolower(c);
    }
    out[n] = '\0';
    return true;
}

/* An endpoint URL we may call: https, sane host, no spaces/control chars. */
static bool
valid_endpoint(const char *url, size_t max)
{
    return drs_url_is_https(url, max);
}

bool
drs_url_is_https(const char *url, size_t max)
{
    char host[256];

    if (!printable_str(url, max - 1) || strchr(url, ' ') != NULL || strchr(url, '#') != NULL)
        return false;
    return https_host(url, host, sizeof(host));
}

static bool
valid_version(const char *v)
{
    size_t n = strlen(v);

    if (n == 0 || n > 15 || !isdigit((unsigned char)v[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)v[i]) && v[i] != '.')
            return false;
    return true;
}

void
drs_guid_from_windows_bytes(const unsigned char b[16], char out[37])
{
    /* Data1 (4 bytes), Data2 and Data3 (2 each) are little-endian; Data4 as is. */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[3],
             b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static void
lower_copy(char *dst, const char *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[n] = '\0';
}

/* ---- discovery ---- */

enum lj_rc
drs_discover_url(const char *drs_base, const char *domain, bool authenticated, char **out)
{
    const char *base = drs_base ? drs_base : DRS_DEFAULT_BASE;
    /* dsreg spells the path and query as DSRegTool.ps1 does; libhimmelblau
     * (src/discovery.rs) as Services::new does. */
    const char *tail = authenticated ? "Discover?api-version=" DRS_DISCOVERY_API_VERSION_AUTH
                                       "&managed=True"
                                     : "discover?api-version=" DRS_DISCOVERY_API_VERSION_ANON;
    char host[256];
    size_t blen, need;
    char *u;

    if (out == NULL || !valid_domain(domain) || !https_host(base, host, sizeof(host)) ||
        strlen(base) > 256 || strchr(base + 8, '?') != NULL)
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_discover_args");
    blen = strlen(base);
    if (base[blen - 1] == '/')
        blen--;
    need = blen + 1 + strlen(domain) + 1 + strlen(tail) + 1;
    u = malloc(need);
    if (u == NULL)
        return LJ_ERR_NOMEM;
    snprintf(u, need, "%.*s/%s/%s", (int)blen, base, domain, tail);
    *out = u;
    return LJ_OK;
}

/*
 * Copy an optional endpoint member: absent -> "" and LJ_OK; present and
 * bad -> LJ_ERR_PROTOCOL.
 */
static enum lj_rc
opt_endpoint(const cJSON *o, const char *key, char *dst, size_t dstsz)
{
    const char *s = NULL;
    enum lj_rc rc = pjson_str(o, key, true, dstsz - 1, &s);

    if (rc == LJ_ERR_NOT_FOUND || (rc == LJ_OK && s[0] == '\0'))
        return LJ_OK;
    if (rc != LJ_OK || !valid_endpoint(s, dstsz))
        return lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=discovery_bad_endpoint field=%s", key);
    snprintf(dst, dstsz, "%s", s);
    return LJ_OK;
}

static enum lj_rc
opt_text(const cJSON *o, const char *key, char *dst, size_t dstsz)
{
    const char *s = NULL;
    enum lj_rc rc = pjson_str(o, key, true, dstsz - 1, &s);

    if (rc == LJ_ERR_NOT_FOUND)
        return LJ_OK;
    if (rc != LJ_OK || (s[0] != '\0' && !printable_str(s, dstsz - 1)))
        return lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=discovery_bad_field field=%s", key);
    snprintf(dst, dstsz, "%s", s);
    return LJ_OK;
}

static enum lj_rc
opt_version(const cJSON *o, const char *key, char *dst, size_t dstsz)
{
    const char *s = NULL;
    enum lj_rc rc = pjson_str(o, key, true, dstsz - 1, &s);

    if (rc == LJ_ERR_NOT_FOUND || (rc == LJ_OK && s[0] == '\0'))
        return LJ_OK;
    if (rc != LJ_OK || !valid_version(s))
        return lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=discovery_bad_version field=%s", key);
    snprintf(dst, dstsz, "%s", s);
    return LJ_OK;
}

enum lj_rc
drs_discovery_parse(const char *body, size_t len, const char *drs_base, struct drs_discovery *out)
{
    const char *base = drs_base ? drs_base : DRS_DEFAULT_BASE;
    struct drs_discovery d;
    cJSON *tree = NULL;
    const cJSON *js, *ti, *dm, *as;
    char bhost[256], jhost[256];
    enum lj_rc rc;

    memset(&d, 0, sizeof(d));
    if (body == NULL || out == NULL || !https_host(base, bhost, sizeof(bhost)))
        return LJ_ERR_INVAL;
    rc = pjson_parse(body, len, DRS_MAX_BODY, 8, &tree);
    if (rc != LJ_OK) {
        rc = lj_err_set(rc, MOD, "event=discovery_unparsable rc=%s", lj_rc_name(rc));
        goto out;
    }
    js = pjson_obj(tree, "DeviceJoinService", true);
    if (cJSON_GetObjectItem(tree, "DeviceJoinService") != NULL && js == NULL) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=discovery_bad_field field=DeviceJoinService");
        goto out;
    }
    if ((rc = opt_endpoint(js, "JoinEndpoint", d.join_endpoint, sizeof(d.join_endpoint))) !=
            LJ_OK ||
        (rc = opt_text(js, "JoinResourceId", d.join_resource_id, sizeof(d.join_resource_id))) !=
            LJ_OK ||
        (rc = opt_version(js, "ServiceVersion", d.join_service_version,
                          sizeof(d.join_service_version))) != LJ_OK)
        goto out;
    if (strchr(d.join_endpoint, '?') != NULL) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=discovery_bad_endpoint field=JoinEndpoint");
        goto out;
    }
    /* Fallbacks as himmelblau applies them (libhimmelblau src/discovery.rs). */
    if (d.join_endpoint[0] == '\0') {
        size_t blen = strlen(base);

        if (base[blen - 1] == '/')
            blen--;
        snprintf(d.join_endpoint, sizeof(d.join_endpoint), "%.*s/EnrollmentServer/device/",
                 (int)blen, base);
        d.join_fallback = true;
    }
    if (d.join_service_version[0] == '\0') {
        snprintf(d.join_service_version, sizeof(d.join_service_version), "2.0");
        d.join_fallback = true;
    }
    if (d.join_resource_id[0] == '\0') {
        snprintf(d.join_resource_id, sizeof(d.join_resource_id),
                 "urn:ms-drs:enterpriseregistration.windows.net");
        d.join_fallback = true;
    }
    /* The token goes where discovery says: only to the host we asked. */
    if (!https_host(d.join_endpoint, jhost, sizeof(jhost)) || strcmp(jhost, bhost) != 0) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=discovery_redirect_not_trusted");
        goto out;
    }
    ti = pjson_obj(tree, "TenantInfo", true);
    if ((rc = opt_text(ti, "TenantId", d.tenant_id, sizeof(d.tenant_id))) != LJ_OK ||
        (rc = opt_text(ti, "TenantName", d.tenant_name, sizeof(d.tenant_name))) != LJ_OK ||
        (rc = opt_text(ti, "DisplayName", d.tenant_display_name, sizeof(d.tenant_display_name))) !=
            LJ_OK)
        goto out;
    if (d.tenant_id[0] != '\0' && !lj_is_guid(d.tenant_id)) {
        rc = lj_err_set(LJ_ERR_PROTOCOL, MOD, "event=discovery_bad_field field=TenantId");
        goto out;
    }
    dm = pjson_obj(tree, "DeviceManagementService", true);
    if ((rc = opt_endpoint(dm, "DeviceManagementEndpoint", d.mdm_endpoint,
                           sizeof(d.mdm_endpoint))) != LJ_OK ||
        (rc = opt_text(dm, "DeviceManagementResourceId", d.mdm_resource_id,
                       sizeof(d.mdm_resource_id))) != LJ_OK ||
        (rc = opt_version(dm, "ServiceVersion", d.mdm_service_version,
                          sizeof(d.mdm_service_version))) != LJ_OK)
        goto out;
    as = pjson_obj(pjson_obj(tree, "AuthenticationService", true), "OAuth2", true);
    if ((rc = opt_endpoint(as, "AuthCodeEndpoint", d.auth_code_endpoint,
                           sizeof(d.auth_code_endpoint))) != LJ_OK ||
        (rc = opt_endpoint(as, "TokenEndpoint", d.token_endpoint, sizeof(d.token_endpoint))) !=
            LJ_OK)
        goto out;
    if (d.join_fallback)
        lj_log(LJ_LOG_WARN, MOD, "event=discovery_fallback join_endpoint=%s version=%s",
               d.join_endpoint, d.join_service_version);
    *out = d;
    rc = LJ_OK;
out:
    cJSON_Delete(tree);
    return rc;
}

enum lj_rc
drs_join_url(const struct drs_discovery *d, char **out)
{
    size_t need;
    char *u;

    if (d == NULL || out == NULL || !valid_endpoint(d->join_endpoint, sizeof(d->join_endpoint)) ||
        strchr(d->join_endpoint, '?') != NULL || !valid_version(d->join_service_version))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_join_url_args");
    need = strlen(d->join_endpoint) + sizeof("?api-version=") + strlen(d->join_service_version);
    u = malloc(need);
    if (u == NULL)
        return LJ_ERR_NOMEM;
    snprintf(u, need, "%s?api-version=%s", d->join_endpoint, d->join_service_version);
    *out = u;
    return LJ_OK;
}

/* ---- join request ---- */

enum lj_rc
drs_join_body(const struct drs_join_request *r, char **out)
{
    cJSON *root = NULL, *cr, *attrs;
    char *csr64 = NULL, *tk64 = NULL, *text = NULL;
    const char *dtype;
    enum lj_rc rc;

    if (r == NULL || out == NULL)
        return LJ_ERR_INVAL;
    dtype = r->device_type ? r->device_type : "Windows";
    if (r->csr_der == NULL || r->csr_len < 16 || r->csr_len > MAX_CSR || r->csr_der[0] != 0x30 ||
        r->tk_blob == NULL || r->tk_len < 24 || r->tk_len > MAX_BLOB ||
        memcmp(r->tk_blob, "RSA1", 4) != 0 || !printable_str(r->target_domain, MAX_ATTR) ||
        !lj_is_dotted_quad(r->os_version) || !printable_str(r->display_name, MAX_ATTR) ||
        !printable_str(dtype, MAX_ATTR)) {
        rc = lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_join_request");
        goto out;
    }
    csr64 = lj_b64_encode(r->csr_der, r->csr_len, LJ_B64_STD, NULL);
    tk64 = lj_b64_encode(r->tk_blob, r->tk_len, LJ_B64_STD, NULL);
    root = cJSON_CreateObject();
    if (csr64 == NULL || tk64 == NULL || root == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    cr = cJSON_AddObjectToObject(root, "CertificateRequest");
    if (cr == NULL || cJSON_AddStringToObject(cr, "Type", "pkcs10") == NULL ||
        cJSON_AddStringToObject(cr, "Data", csr64) == NULL ||
        cJSON_AddStringToObject(root, "TransportKey", tk64) == NULL ||
        cJSON_AddStringToObject(root, "TargetDomain", r->target_domain) == NULL ||
        cJSON_AddStringToObject(root, "DeviceType", dtype) == NULL ||
        cJSON_AddStringToObject(root, "OSVersion", r->os_version) == NULL ||
        cJSON_AddStringToObject(root, "DeviceDisplayName", r->display_name) == NULL ||
        cJSON_AddNumberToObject(root, "JoinType", 0) == NULL ||
        (attrs = cJSON_AddObjectToObject(root, "Attributes")) == NULL ||
        cJSON_AddStringToObject(attrs, "ReuseDevice", "true") == NULL ||
        cJSON_AddStringToObject(attrs, "ReturnClientSid", "true") == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    text = cJSON_PrintUnformatted(root);
    if (text == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    *out = text;
    rc = LJ_OK;
out:
    cJSON_Delete(root);
    free(csr64);
    free(tk64);
    return rc;
}

/* ---- join answer ---- */

const char *
drs_reject_name(enum drs_reject r)
{
    switch (r) {
    case DRS_REJECT_NONE: return "none";
    case DRS_REJECT_JSON: return "not_json";
    case DRS_REJECT_NO_CERTIFICATE: return "no_certificate";
    case DRS_REJECT_BASE64: return "bad_base64";
    case DRS_REJECT_X509: return "bad_x509";
    case DRS_REJECT_KEY_MISMATCH: return "key_mismatch";
    case DRS_REJECT_CN_NOT_GUID: return "cn_not_guid";
    case DRS_REJECT_DEVICE_ID_MISMATCH: return "device_id_mismatch";
    case DRS_REJECT_THUMBPRINT: return "thumbprint_mismatch";
    case DRS_REJECT_TENANT: return "tenant_mismatch";
    case DRS_REJECT_ISSUER: return "issuer_mismatch";
    case DRS_REJECT_VALIDITY: return "bad_validity";
    case DRS_REJECT_EXTENSION: return "bad_extension";
    case DRS_REJECT_COUNT__: break;
    }
    return "unknown";
}

const char *
drs_reject_text(enum drs_reject r)
{
    switch (r) {
    case DRS_REJECT_JSON: return "it was cut off or is not valid JSON";
    case DRS_REJECT_NO_CERTIFICATE: return "it holds no device certificate";
    case DRS_REJECT_BASE64:
    case DRS_REJECT_X509: return "the device certificate in it cannot be read";
    case DRS_REJECT_KEY_MISMATCH:
        return "the certificate in it is for a key that is not this device's";
    case DRS_REJECT_CN_NOT_GUID:
    case DRS_REJECT_DEVICE_ID_MISMATCH: return "the certificate in it has no valid device id";
    case DRS_REJECT_THUMBPRINT:
        return "the certificate thumbprint in it does not match the certificate";
    case DRS_REJECT_TENANT: return "the certificate in it is for a different organization";
    case DRS_REJECT_ISSUER:
        return "the certificate in it was not issued by the MS-Organization-Access authority";
    case DRS_REJECT_VALIDITY: return "the certificate in it has unreadable validity dates";
    case DRS_REJECT_EXTENSION: return "the certificate in it has a malformed device extension";
    case DRS_REJECT_NONE:
    case DRS_REJECT_COUNT__: break;
    }
    return "it is not in the expected form";
}

void
drs_join_result_free(struct drs_join_result *r)
{
    if (r == NULL)
        return;
    free(r->cert_der);
    memset(r, 0, sizeof(*r));
}

/* Strip leading zero bytes. */
static void
strip0(const unsigned char **p, size_t *n)
{
    while (*n > 1 && (*p)[0] == 0) {
        (*p)++;
        (*n)--;
    }
}

/* Decode a DER SubjectPublicKeyInfo (RSA) into n and e (each buffer 1 KiB). */
static bool
spki_rsa(const unsigned char *spki, size_t len, unsigned char *n, unsigned int *nl,
         unsigned char *e, unsigned int *el)
{
    RsaKey key;
    word32 idx = 0;
    bool ok = false;

    if (spki == NULL || len == 0 || len > 4096 || wc_InitRsaKey(&key, NULL) != 0)
        return false;
    if (wc_RsaPublicKeyDecode(spki, &idx, &key, (word32)len) == 0 && idx == len &&
        wc_RsaFlattenPublicKey(&key, e, el, n, nl) == 0)
        ok = true;
    wc_FreeRsaKey(&key);
    return ok;
}

bool
drs_key_matches(const struct drs_expected_key *want, const unsigned char *cert_spki,
                size_t cert_len)
{
    unsigned char cn[1024], ce[1024], wn[1024], we[1024];
    unsigned int cnl = sizeof(cn), cel = sizeof(ce), wnl = sizeof(wn), wel = sizeof(we);
    const unsigned char *a, *b, *x, *y;
    size_t al, bl, xl, yl;

    if (!spki_rsa(cert_spki, cert_len, cn, &cnl, ce, &cel))
        return false;
    if (want->spki_der != NULL) {
        if (!spki_rsa(want->spki_der, want->spki_len, wn, &wnl, we, &wel))
            return false;
        a = wn;
        al = wnl;
        x = we;
        xl = wel;
    } else {
        if (want->modulus == NULL || want->exponent == NULL || want->modulus_len == 0 ||
            want->exponent_len == 0 || want->modulus_len > sizeof(wn) ||
            want->exponent_len > sizeof(we))
            return false;
        a = want->modulus;
        al = want->modulus_len;
        x = want->exponent;
        xl = want->exponent_len;
    }
    b = cn;
    bl = cnl;
    y = ce;
    yl = cel;
    strip0(&a, &al);
    strip0(&b, &bl);
    strip0(&x, &xl);
    strip0(&y, &yl);
    return al == bl && memcmp(a, b, al) == 0 && xl == yl && memcmp(x, y, xl) == 0;
}

/* ASN1_TIME (UTCTime or GeneralizedTime, Z form) to unix seconds. */
static bool
asn1_time(const WOLFSSL_ASN1_TIME *t, long long *out)
{
    const unsigned char *d;
    int n, i = 0, year;
    struct tm tm;
    time_t v;

    if (t == NULL)
        return false;
    d = t->data;
    n = t->length;
    if (!((t->type == V_ASN1_UTCTIME && n == 13) ||
          (t->type == V_ASN1_GENERALIZEDTIME && n == 15)) ||
        d[n - 1] != 'Z')
        return false;
    for (int k = 0; k < n - 1; k++)
        if (!isdigit(d[k]))
            return false;
#define D2(p) ((d[(p)] - '0') * 10 + (d[(p) + 1] - '0'))
    if (t->type == V_ASN1_UTCTIME) {
        year = D2(0);
        year += year < 50 ? 2000 : 1900; /* RFC 5280 §4.1.2.5.1 */
        i = 2;
    } else {
        year = D2(0) * 100 + D2(2);
        i = 4;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = D2(i) - 1;
    tm.tm_mday = D2(i + 2);
    tm.tm_hour = D2(i + 4);
    tm.tm_min = D2(i + 6);
    tm.tm_sec = D2(i + 8);
#undef D2
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return false;
    v = timegm(&tm);
    if (v == (time_t)-1)
        return false;
    *out = (long long)v;
    return true;
}

/*
 * A bounded DER reader for the certificate's extensions.  wolfSSL's
 * X509_get_ext (5.5.4) double-frees on some malformed extension lists
 * (found by fuzz_drs_cert and fuzz_drs_join), and the certificate comes
 * from the network, so the extensions are walked here instead.
 */
struct der_it {
    const unsigned char *p;
    size_t n;
};

/* Take the next TLV; its tag (0 = any) must match.  Content into *c. */
static bool
der_take(struct der_it *it, unsigned char tag, struct der_it *c)
{
    size_t len, hl = 2;

    if (it->n < 2 || (tag != 0 && it->p[0] != tag))
        return false;
    len = it->p[1];
    if (len & 0x80) {
        size_t k = len & 0x7f;

        if (k == 0 || k > 3 || it->n < 2 + k)
            return false;
        len = 0;
        for (size_t i = 0; i < k; i++)
            len = (len << 8) | it->p[2 + i];
        hl += k;
    }
    if (len > it->n - hl)
        return false;
    c->p = it->p + hl;
    c->n = len;
    it->p += hl + len;
    it->n -= hl + len;
    return true;
}

/* OID content bytes to dotted text; false when malformed or too long. */
static bool
oid_text(const struct der_it *o, char *out, size_t osz)
{
    size_t used = 0;
    unsigned long v = 0;
    bool first = true;

    if (o->n == 0 || osz == 0)
        return false;
    for (size_t i = 0; i < o->n; i++) {
        int w;

        if (v > (ULONG_MAX >> 8))
            return false;
        v = (v << 7) | (o->p[i] & 0x7f);
        if (o->p[i] & 0x80)
            continue;
        if (first)
            w = snprintf(out + used, osz - used, "%lu.%lu", v < 80 ? v / 40 : 2,
                         v < 80 ? v % 40 : v - 80);
        else
            w = snprintf(out + used, osz - used, ".%lu", v);
        if (w < 0 || (size_t)w >= osz - used)
            return false;
        used += (size_t)w;
        first = false;
        v = 0;
    }
    return (o->p[o->n - 1] & 0x80) == 0;
}

/*
 * Find extension oid in the certificate der; *payload points at the value
 * inside the extnValue's OCTET STRING wrapper (RFC 5280 4.1; the
 * 1.2.840.113556.1.5.284.x extensions as AADInternals CommonUtils.ps1 reads them).
 * 0 = absent, 1 = found, -1 = present but malformed or duplicated, or the
 * certificate's structure is not readable.
 */
static int
ms_ext(const unsigned char *der, size_t derlen, const char *oid, const unsigned char **payload,
       int *plen)
{
    struct der_it all = {der, derlen}, cert, tbs, f, exts;
    int found = 0;

    if (!der_take(&all, 0x30, &cert) || !der_take(&cert, 0x30, &tbs))
        return -1;
    if (tbs.n > 0 && tbs.p[0] == 0xa0 && !der_take(&tbs, 0xa0, &f))
        return -1;
    /* serial, signature, issuer, validity, subject, subjectPublicKeyInfo */
    if (!der_take(&tbs, 0x02, &f))
        return -1;
    for (int i = 0; i < 5; i++) {
        if (!der_take(&tbs, 0x30, &f))
            return -1;
    }
    exts.n = 0;
    while (tbs.n > 0) {
        unsigned char tag = tbs.p[0];

        if (!der_take(&tbs, 0, &f))
            return -1;
        if (tag == 0xa3) {
            if (!der_take(&f, 0x30, &exts) || f.n != 0)
                return -1;
            break;
        }
        if (tag != 0x81 && tag != 0x82 && tag != 0xa1 && tag != 0xa2)
            return -1; /* only the unique ids may come before the extensions */
    }
    for (int i = 0; exts.n > 0 && i < 64; i++) {
        struct der_it e, o, val;
        char txt[64];

        if (!der_take(&exts, 0x30, &e) || !der_take(&e, 0x06, &o))
            return -1;
        if (e.n > 0 && e.p[0] == 0x01 && !der_take(&e, 0x01, &val))
            return -1;
        if (!der_take(&e, 0x04, &val) || e.n != 0)
            return -1;
        if (!oid_text(&o, txt, sizeof(txt)) || strcmp(txt, oid) != 0)
            continue;
        if (found++)
            return -1;
        if (val.n < 2 || val.n > 130 || val.p[0] != 0x04 || val.p[1] != val.n - 2)
            return -1;
        *payload = val.p + 2;
        *plen = (int)val.n - 2;
    }
    return found ? 1 : 0;
}

static bool
hex_eq_nocase(const char *a, const char *b)
{
    return strlen(a) == strlen(b) && strcasecmp(a, b) == 0;
}

enum lj_rc
drs_join_response_parse(const char *body, size_t len, const struct drs_join_verify *v,
                        struct drs_join_result *out, enum drs_reject *why)
{
    struct drs_join_result r;
    enum drs_reject rej = DRS_REJECT_NONE;
    cJSON *tree = NULL;
    const cJSON *cert;
    const char *raw = NULL, *thumb = NULL, *upn = NULL;
    unsigned char *der = NULL, sha1[WC_SHA_DIGEST_SIZE], spki[4096];
    size_t derlen = 0;
    int spkilen = sizeof(spki), dl = 0, plen = 0, e;
    WOLFSSL_X509 *x = NULL;
    const unsigned char *payload = NULL, *der2;
    char cn[256], icn[256];
    enum lj_rc rc = LJ_ERR_PROTOCOL;

    memset(&r, 0, sizeof(r));
    if (body == NULL || v == NULL || out == NULL)
        return LJ_ERR_INVAL;
    rc = pjson_parse(body, len, DRS_MAX_BODY, 8, &tree);
    if (rc != LJ_OK) {
        rej = DRS_REJECT_JSON;
        goto out;
    }
    rc = LJ_ERR_PROTOCOL;
    cert = pjson_obj(tree, "Certificate", true);
    if (pjson_str(cert, "RawBody", true, MAX_CERT * 2, &raw) != LJ_OK ||
        pjson_str(cert, "Thumbprint", true, 64, &thumb) != LJ_OK) {
        rej = DRS_REJECT_NO_CERTIFICATE;
        goto out;
    }
    if (!lj_b64_decode(raw, strlen(raw), LJ_B64_STD, &der, &derlen) || derlen == 0 ||
        derlen > MAX_CERT) {
        rej = DRS_REJECT_BASE64;
        goto out;
    }
    x = wolfSSL_X509_load_certificate_buffer(der, (int)derlen, WOLFSSL_FILETYPE_ASN1);
    der2 = x ? wolfSSL_X509_get_der(x, &dl) : NULL;
    if (x == NULL || der2 == NULL || (size_t)dl != derlen) {
        rej = DRS_REJECT_X509; /* includes trailing bytes after the certificate */
        goto out;
    }
    if (wolfSSL_X509_get_pubkey_buffer(x, spki, &spkilen) != WOLFSSL_SUCCESS ||
        !drs_key_matches(&v->key, spki, (size_t)spkilen)) {
        rej = DRS_REJECT_KEY_MISMATCH;
        goto out;
    }
    memset(cn, 0, sizeof(cn));
    if (wolfSSL_X509_NAME_get_text_by_NID(wolfSSL_X509_get_subject_name(x), NID_commonName, cn,
                                          sizeof(cn)) != 36 ||
        !lj_is_guid(cn)) {
        rej = DRS_REJECT_CN_NOT_GUID;
        goto out;
    }
    lower_copy(r.device_id, cn, 36);
    e = ms_ext(der, derlen, OID_DEVICE_ID, &payload, &plen);
    if (e < 0 || (e == 1 && plen != 16)) {
        rej = DRS_REJECT_EXTENSION;
        goto out;
    }
    if (e == 1) {
        char g[37];

        drs_guid_from_windows_bytes(payload, g);
        if (strcmp(g, r.device_id) != 0) {
            rej = DRS_REJECT_DEVICE_ID_MISMATCH;
            goto out;
        }
    }
    if (wc_ShaHash(der, (word32)derlen, sha1) != 0) {
        rc = LJ_ERR_CRYPTO;
        rej = DRS_REJECT_X509;
        goto out;
    }
    for (size_t i = 0; i < sizeof(sha1); i++)
        snprintf(r.thumbprint + 2 * i, 3, "%02X", sha1[i]);
    if (!hex_eq_nocase(thumb, r.thumbprint)) {
        rej = DRS_REJECT_THUMBPRINT;
        goto out;
    }
    e = ms_ext(der, derlen, OID_TENANT_ID, &payload, &plen);
    if (e < 0 || (e == 1 && plen != 16)) {
        rej = DRS_REJECT_TENANT;
        goto out;
    }
    if (e == 1)
        drs_guid_from_windows_bytes(payload, r.tenant_id);
    if (v->tenant_id != NULL && v->tenant_id[0] != '\0' &&
        (r.tenant_id[0] == '\0' || strcasecmp(v->tenant_id, r.tenant_id) != 0)) {
        rej = DRS_REJECT_TENANT;
        goto out;
    }
    e = ms_ext(der, derlen, OID_USER_OID, &payload, &plen);
    if (e < 0 || (e == 1 && plen != 16)) {
        rej = DRS_REJECT_EXTENSION;
        goto out;
    }
    if (e == 1)
        drs_guid_from_windows_bytes(payload, r.user_oid);
    r.join_type = -1;
    e = ms_ext(der, derlen, OID_JOIN_TYPE, &payload, &plen);
    if (e < 0 || (e == 1 && (plen != 1 || !isdigit(payload[0])))) {
        rej = DRS_REJECT_EXTENSION;
        goto out;
    }
    if (e == 1)
        r.join_type = payload[0] - '0';
    if (wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_issuer_name(x), r.issuer, sizeof(r.issuer)) ==
        NULL) {
        rej = DRS_REJECT_ISSUER;
        goto out;
    }
    if (v->issuer_cn != NULL) {
        memset(icn, 0, sizeof(icn));
        if (wolfSSL_X509_NAME_get_text_by_NID(wolfSSL_X509_get_issuer_name(x), NID_commonName, icn,
                                              sizeof(icn)) <= 0 ||
            strcmp(icn, v->issuer_cn) != 0) {
            rej = DRS_REJECT_ISSUER;
            goto out;
        }
    }
    if (!asn1_time(wolfSSL_X509_get_notBefore(x), &r.not_before) ||
        !asn1_time(wolfSSL_X509_get_notAfter(x), &r.not_after) || r.not_after <= r.not_before) {
        rej = DRS_REJECT_VALIDITY;
        goto out;
    }
    if (pjson_str(pjson_obj(tree, "User", true), "Upn", true, 255, &upn) == LJ_OK)
        pjson_copy_text(r.upn, sizeof(r.upn), upn);
    r.cert_der = der;
    r.cert_len = derlen;
    der = NULL;
    *out = r;
    rc = LJ_OK;
out:
    if (rej != DRS_REJECT_NONE) {
        if (rc == LJ_OK || rc == LJ_ERR_PARSE)
            rc = LJ_ERR_PROTOCOL;
        lj_err_set(rc, MOD, "event=join_response_rejected why=%s", drs_reject_name(rej));
    }
    if (why != NULL)
        *why = rej;
    wolfSSL_X509_free(x);
    free(der);
    cJSON_Delete(tree);
    return rc;
}

/* ---- error bodies ---- */

static void
err_copy(const cJSON *tree, const char *key, char *dst, size_t dstsz)
{
    const char *s = NULL;

    if (pjson_str(tree, key, true, 8192, &s) == LJ_OK)
        pjson_copy_text(dst, dstsz, s);
}

/* dst = the first bytes of body, each outside printable ASCII as '?', runs
 * of white space as one space, trimmed; "..." marks a cut. */
static void
err_verbatim(const char *body, size_t len, char *dst, size_t dstsz)
{
    size_t o = 0, i;

    if (dstsz < 4)
        return;
    for (i = 0; i < len && o + 4 < dstsz; i++) {
        unsigned char c = (unsigned char)body[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            if (o > 0 && dst[o - 1] != ' ')
                dst[o++] = ' ';
            continue;
        }
        dst[o++] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
    }
    while (o > 0 && dst[o - 1] == ' ')
        o--;
    if (i < len) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

enum lj_rc
drs_error_parse(long http_status, const char *body, size_t len, struct drs_error *out)
{
    struct drs_error e;
    cJSON *tree = NULL;

    if (out == NULL)
        return LJ_ERR_INVAL;
    memset(&e, 0, sizeof(e));
    e.http_status = http_status;
    if (body == NULL || len == 0) {
        e.kind = DRS_BODY_EMPTY;
    } else if (pjson_parse(body, len, DRS_MAX_BODY, 8, &tree) == LJ_OK) {
        e.kind = DRS_BODY_JSON;
        err_copy(tree, "ErrorType", e.error_type, sizeof(e.error_type));
        err_copy(tree, "Message", e.message, sizeof(e.message));
        err_copy(tree, "TraceId", e.trace_id, sizeof(e.trace_id));
        err_copy(tree, "Time", e.time, sizeof(e.time));
        /* Sub-code member names are a documented gap (§5.1): take any of these. */
        err_copy(tree, "ErrorSubCode", e.sub_code, sizeof(e.sub_code));
        if (e.sub_code[0] == '\0')
            err_copy(tree, "SubErrorCode", e.sub_code, sizeof(e.sub_code));
        if (e.sub_code[0] == '\0')
            err_copy(tree, "code", e.sub_code, sizeof(e.sub_code));
    } else if (lj_body_is_html(body, len)) {
        e.kind = DRS_BODY_HTML;
    } else {
        e.kind = DRS_BODY_OTHER;
    }
    /* A body of no known shape (not JSON, or JSON without ErrorType and
     * Message) is kept verbatim for the admin: its first bytes, printable
     * ASCII only. */
    if (e.kind == DRS_BODY_OTHER ||
        (e.kind == DRS_BODY_JSON && e.error_type[0] == '\0' && e.message[0] == '\0'))
        err_verbatim(body, len, e.message, sizeof(e.message));
    cJSON_Delete(tree);
    *out = e;
    return LJ_OK;
}

bool
drs_device_not_found(const struct drs_error *e, const char *device_id)
{
    static const char pre[] = "The device object by the given id (";
    static const char post[] = ") is not found";
    const char *m;
    size_t n;

    if (e == NULL || device_id == NULL || device_id[0] == '\0')
        return false;
    if ((e->http_status != 400 && e->http_status != 404) || e->kind != DRS_BODY_JSON ||
        strcmp(e->error_type, "DirectoryError") != 0)
        return false;
    m = e->message;
    if (strncmp(m, pre, sizeof(pre) - 1) != 0)
        return false;
    m += sizeof(pre) - 1;
    n = strlen(device_id);
    if (strncasecmp(m, device_id, n) != 0)
        return false;
    m += n;
    return strncmp(m, post, sizeof(post) - 1) == 0;
}

enum lj_rc
drs_cert_validity(const unsigned char *der, size_t len, long long *not_before, long long *not_after)
{
    WOLFSSL_X509 *x;
    long long nb = 0, na = 0;
    enum lj_rc rc = LJ_ERR_PARSE;

    if (der == NULL || len == 0 || len > MAX_CERT)
        return LJ_ERR_PARSE;
    x = wolfSSL_X509_load_certificate_buffer(der, (int)len, WOLFSSL_FILETYPE_ASN1);
    if (x == NULL)
        return LJ_ERR_PARSE;
    if (asn1_time(wolfSSL_X509_get_notBefore(x), &nb) &&
        asn1_time(wolfSSL_X509_get_notAfter(x), &na)) {
        *not_before = nb;
        *not_after = na;
        rc = LJ_OK;
    }
    wolfSSL_X509_free(x);
    return rc;
}
