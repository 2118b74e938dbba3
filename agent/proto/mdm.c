/*
 * mdm.c — Intune enrollment messages (MS-MDE2 / MS-XCEP / MS-WSTEP) without I/O.
 *
 * Design note: every answer is untrusted XML from the network, so it goes
 * through one loader (xml_load) that refuses before libxml2 sees it what a
 * SOAP message never needs: a body over its ceiling, NUL bytes, and any
 * DOCTYPE or ENTITY declaration (the simplest complete defence against
 * entity bombs and external entities on libxml2 2.9.14, which has no
 * XML_PARSE_NO_XXE).  The parser then runs with network access off, entity
 * substitution off (no XML_PARSE_NOENT), no DTD loading, no HUGE, the
 * encoding forced to UTF-8, a SAX hook that stops the parse should a
 * DOCTYPE slip past the scan, and the element depth is checked after the
 * parse (libxml2's own limit of 256 bounds the recursion before that).
 * Elements are found by namespace URI + local name, never by prefix.
 * The provisioning document inside the enrollment answer is base64-decoded
 * and loaded the same way.  What it delivers is stored forever and used for
 * TLS client authentication, so it is verified hard (key, chain, validity,
 * EKU, thumbprints, provider) and each refusal has its own mdm_reject name.
 * Requests are written with xmlTextWriter, so every value is escaped by
 * libxml2; the access token alone never enters libxml2 (its buffers are
 * freed without wiping): the writer emits a comment marker that cannot come
 * from escaped text, and the base64 token is spliced into one exact-size
 * buffer the caller wipes.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/openssl/x509v3.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>

#include "agent/proto/mdm.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>

#include "platform/common/b64.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "platform/common/text.h"

#define MOD "mdm"
#define MAX_FIELD 256u

/* ---- namespaces and fixed URIs (mdm-enrollment.md §2-§6) ---- */

#define NS_S12 "http://www.w3.org/2003/05/soap-envelope"
#define NS_S11 "http://schemas.xmlsoap.org/soap/envelope/"
#define NS_A "http://www.w3.org/2005/08/addressing"
#define NS_U "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define NS_WSSE "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define NS_WST "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
#define NS_AC "http://schemas.xmlsoap.org/ws/2006/12/authorization"
#define NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define NS_XSD "http://www.w3.org/2001/XMLSchema"
#define NS_DISCO "http://schemas.microsoft.com/windows/management/2012/01/enrollment"
#define NS_PKIENR "http://schemas.microsoft.com/windows/pki/2009/01/enrollment"
#define NS_POLICY "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy"
#define NS_DIAG "http://schemas.microsoft.com/2004/09/ServiceModel/Diagnostics"

#define ACT_DISCOVER NS_DISCO "/IDiscoveryService/Discover"
#define ACT_POLICY NS_POLICY "/IPolicy/GetPolicies"
#define ACT_RST NS_PKIENR "/RST/wstep"
#define ADDR_ANON "http://www.w3.org/2005/08/addressing/anonymous"
#define VT_JWT "urn:ietf:params:oauth:token-type:jwt"
#define VT_PKCS10 NS_PKIENR "#PKCS10"
#define ENC_B64 NS_WSSE "#base64binary"
#define TT_ENROLL                                                                                  \
    "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentToken"
#define VT_PROVDOC                                                                                 \
    "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/"                        \
    "DeviceEnrollmentProvisionDoc"
#define VT_PROVDOC_OLD                                                                             \
    "http://schemas.microsoft.com/ConfigurationManager/Enrollment/DeviceEnrollmentProvisionDoc"
#define RT_ISSUE NS_WST "/Issue"

/* The token marker: starts with '<', which escaped text never contains. */
#define TOKEN_MARK "<!--lj:token-->"

static const char *const ns_soap[] = {NS_S12, NS_S11, NULL};
static const char *const ns_addr[] = {NS_A, NULL};
static const char *const ns_disco[] = {NS_DISCO, NS_DISCO "/", NULL};
static const char *const ns_policy[] = {NS_POLICY, NS_POLICY "/", NULL};
static const char *const ns_wst[] = {NS_WST, NULL};
static const char *const ns_wsse[] = {NS_WSSE, NULL};
static const char *const ns_diag[] = {NS_DIAG, NULL};
/* the provisioning document has no namespace */
static const char *const ns_none[] = {NULL};

/* ---- small helpers ---- */

/* Valid UTF-8 (no overlongs, no surrogates) without control characters. */
static bool
ok_text(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n;

    if (s == NULL || (n = strlen(s)) == 0 || n > max)
        return false;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t k;
        unsigned long cp;

        if (c < 0x20 || c == 0x7f)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (p[i + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
            return false;
        i += k + 1;
    }
    return true;
}

static bool
all_chars(const char *s, size_t min, size_t max, const char *set)
{
    size_t n;

    if (s == NULL || (n = strlen(s)) < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && strchr(set, s[i]) == NULL)
            return false;
    return true;
}

static bool
ok_version(const char *v)
{
    return all_chars(v, 1, 32, ".") && isdigit((unsigned char)v[0]) &&
           strspn(v, "0123456789.") == strlen(v);
}

static bool
ok_digits(const char *v)
{
    return v != NULL && strlen(v) >= 1 && strlen(v) <= 10 && strspn(v, "0123456789") == strlen(v);
}

static bool
ok_msgid(const char *m)
{
    return m != NULL && strncmp(m, "urn:uuid:", 9) == 0 && lj_is_guid(m + 9);
}

static bool
ok_url(const char *u)
{
    return drs_url_is_https(u, MDM_MAX_URL);
}

static bool
ok_jwt(const char *t)
{
    return all_chars(t, 16, MDM_MAX_TOKEN, "._-");
}

static bool
ok_mac(const char *m)
{
    if (m == NULL || strlen(m) != 17)
        return false;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2) {
            if (m[i] != '-' && m[i] != ':')
                return false;
        } else if (!isxdigit((unsigned char)m[i])) {
            return false;
        }
    }
    return true;
}

/* Copy at most dstsz-1 bytes, control characters blanked. */
static void
copy_text(char *dst, size_t dstsz, const char *src)
{
    size_t i = 0;

    if (dstsz == 0)
        return;
    for (; src != NULL && src[i] != '\0' && i + 1 < dstsz; i++) {
        unsigned char c = (unsigned char)src[i];

        dst[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    dst[i] = '\0';
}

const char *
mdm_reject_name(enum mdm_reject r)
{
    switch (r) {
    case MDM_REJECT_NONE:
        return "none";
    case MDM_REJECT_EMPTY:
        return "empty";
    case MDM_REJECT_TOO_BIG:
        return "too_big";
    case MDM_REJECT_DOCTYPE:
        return "doctype";
    case MDM_REJECT_XML:
        return "bad_xml";
    case MDM_REJECT_TOO_DEEP:
        return "too_deep";
    case MDM_REJECT_NOT_SOAP:
        return "not_soap";
    case MDM_REJECT_FAULT:
        return "fault";
    case MDM_REJECT_RELATES_TO:
        return "relates_to_mismatch";
    case MDM_REJECT_MISSING:
        return "missing_element";
    case MDM_REJECT_BAD_VALUE:
        return "bad_value";
    case MDM_REJECT_BAD_URL:
        return "bad_url";
    case MDM_REJECT_TOKEN_TYPE:
        return "bad_token_type";
    case MDM_REJECT_BASE64:
        return "bad_base64";
    case MDM_REJECT_PROVDOC:
        return "bad_provisioning_doc";
    case MDM_REJECT_NO_CLIENT_CERT:
        return "no_client_cert";
    case MDM_REJECT_TOO_MANY_CERTS:
        return "too_many_certs";
    case MDM_REJECT_X509:
        return "bad_x509";
    case MDM_REJECT_THUMBPRINT:
        return "thumbprint_mismatch";
    case MDM_REJECT_KEY_MISMATCH:
        return "key_mismatch";
    case MDM_REJECT_CHAIN:
        return "bad_chain";
    case MDM_REJECT_VALIDITY:
        return "bad_validity";
    case MDM_REJECT_EKU:
        return "no_client_auth_eku";
    case MDM_REJECT_PROVIDER:
        return "bad_provider";
    case MDM_REJECT_POLICY:
        return "policy_unusable";
    case MDM_REJECT_COUNT__:
        break;
    }
    return "unknown";
}

/* The rc a reject maps to. */
static enum lj_rc
reject_rc(enum mdm_reject r)
{
    switch (r) {
    case MDM_REJECT_NONE:
        return LJ_OK;
    case MDM_REJECT_TOO_BIG:
    case MDM_REJECT_TOO_DEEP:
        return LJ_ERR_TOO_BIG;
    case MDM_REJECT_XML:
    case MDM_REJECT_DOCTYPE:
    case MDM_REJECT_EMPTY:
        return LJ_ERR_PARSE;
    default:
        return LJ_ERR_PROTOCOL;
    }
}

/* Log and return the rc for a refusal; *why gets r. */
static enum lj_rc
refuse(const char *what, enum mdm_reject r, enum mdm_reject *why)
{
    if (why != NULL)
        *why = r;
    if (r == MDM_REJECT_NONE)
        return LJ_OK;
    return lj_err_set(reject_rc(r), MOD, "event=%s_rejected why=%s", what, mdm_reject_name(r));
}

enum lj_rc
mdm_message_id(char out[MDM_MSGID_LEN])
{
    WC_RNG rng;
    unsigned char b[16];
    int e;

    if (out == NULL)
        return LJ_ERR_INVAL;
    if (wc_InitRng(&rng) != 0)
        return lj_err_set(LJ_ERR_CRYPTO, MOD, "event=rng_init_failed");
    e = wc_RNG_GenerateBlock(&rng, b, sizeof(b));
    wc_FreeRng(&rng);
    if (e != 0)
        return lj_err_set(LJ_ERR_CRYPTO, MOD, "event=rng_failed");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* RFC 4122 version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, MDM_MSGID_LEN,
             "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return LJ_OK;
}

/* ---- hardened XML loading ---- */

static bool
contains_nocase(const char *buf, size_t len, const char *needle)
{
    size_t nl = strlen(needle);

    for (size_t i = 0; i + nl <= len; i++)
        if (buf[i] == needle[0] && strncasecmp(buf + i, needle, nl) == 0)
            return true;
    return false;
}

/* SAX hooks: a DOCTYPE or entity declaration stops the parse. */
static void
sax_doctype(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
    xmlParserCtxtPtr c = ctx;

    (void)name;
    (void)ext;
    (void)sys;
    if (c->_private != NULL)
        *(bool *)c->_private = true;
    xmlStopParser(c);
}

static void
sax_entity(void *ctx, const xmlChar *name, int type, const xmlChar *pub, const xmlChar *sys,
           xmlChar *content)
{
    (void)name;
    (void)type;
    (void)pub;
    (void)sys;
    (void)content;
    sax_doctype(ctx, NULL, NULL, NULL);
}

static bool
too_deep(xmlNodePtr n, int depth)
{
    if (depth > MDM_MAX_DEPTH)
        return true;
    for (xmlNodePtr c = n->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE && too_deep(c, depth + 1))
            return true;
    return false;
}

/*
 * Parse len bytes (at most max) into *out (free with xmlFreeDoc).  Returns
 * the refusal; MDM_REJECT_NONE on success.
 */
static enum mdm_reject
xml_load(const char *buf, size_t len, size_t max, xmlDocPtr *out)
{
    const int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                     XML_PARSE_IGNORE_ENC | XML_PARSE_NOCDATA;
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    bool saw_dtd = false;
    enum mdm_reject r;

    *out = NULL;
    if (buf == NULL || len == 0)
        return MDM_REJECT_EMPTY;
    if (len > max)
        return MDM_REJECT_TOO_BIG;
    if (memchr(buf, '\0', len) != NULL)
        return MDM_REJECT_XML;
    if (contains_nocase(buf, len, "<!DOCTYPE") || contains_nocase(buf, len, "<!ENTITY"))
        return MDM_REJECT_DOCTYPE;
    xmlInitParser();
    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL) {
        r = MDM_REJECT_XML;
        goto out;
    }
    ctxt->sax->internalSubset = sax_doctype;
    ctxt->sax->externalSubset = sax_doctype;
    ctxt->sax->entityDecl = sax_entity;
    ctxt->_private = &saw_dtd;
    doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, "UTF-8", opts);
    if (saw_dtd || (doc != NULL && (doc->intSubset != NULL || doc->extSubset != NULL))) {
        r = MDM_REJECT_DOCTYPE;
        goto out;
    }
    if (doc == NULL || !ctxt->wellFormed || xmlDocGetRootElement(doc) == NULL) {
        r = MDM_REJECT_XML;
        goto out;
    }
    if (too_deep(xmlDocGetRootElement(doc), 1)) {
        r = MDM_REJECT_TOO_DEEP;
        goto out;
    }
    *out = doc;
    doc = NULL;
    r = MDM_REJECT_NONE;
out:
    xmlFreeDoc(doc);
    if (ctxt != NULL) {
        ctxt->_private = NULL;
        xmlFreeParserCtxt(ctxt);
    }
    return r;
}

/* ---- tree access ---- */

/* ns: list of accepted namespace URIs; ns_none (first entry NULL) = no namespace. */
static bool
is_el(xmlNodePtr n, const char *const *ns, const char *name)
{
    if (n == NULL || n->type != XML_ELEMENT_NODE ||
        xmlStrcasecmp(n->name, (const xmlChar *)name) != 0)
        return false;
    if (ns[0] == NULL)
        return n->ns == NULL || n->ns->href == NULL || n->ns->href[0] == '\0';
    if (n->ns == NULL || n->ns->href == NULL)
        return false;
    for (size_t i = 0; ns[i] != NULL; i++)
        if (xmlStrEqual(n->ns->href, (const xmlChar *)ns[i]))
            return true;
    return false;
}

/* Element children with any namespace, by local name (faults only). */
static bool
is_named(xmlNodePtr n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE &&
           xmlStrcasecmp(n->name, (const xmlChar *)name) == 0;
}

static xmlNodePtr
child(xmlNodePtr p, const char *const *ns, const char *name)
{
    if (p == NULL)
        return NULL;
    for (xmlNodePtr c = p->children; c != NULL; c = c->next)
        if (is_el(c, ns, name))
            return c;
    return NULL;
}

static xmlNodePtr
child_any_ns(xmlNodePtr p, const char *name)
{
    if (p == NULL)
        return NULL;
    for (xmlNodePtr c = p->children; c != NULL; c = c->next)
        if (is_named(c, name))
            return c;
    return NULL;
}

static xmlNodePtr
first_element(xmlNodePtr p)
{
    for (xmlNodePtr c = p ? p->children : NULL; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return c;
    return NULL;
}

/*
 * The text of n (text children only, leading/trailing XML whitespace
 * trimmed) into dst.  false when n has element children or the text does
 * not fit.
 */
static bool
node_text(xmlNodePtr n, char *dst, size_t dstsz)
{
    size_t len = 0, start, end;

    if (n == NULL || dstsz == 0)
        return false;
    for (xmlNodePtr c = n->children; c != NULL; c = c->next) {
        size_t l;

        if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) {
            if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE)
                continue;
            return false;
        }
        l = c->content ? strlen((const char *)c->content) : 0;
        if (len + l + 1 > dstsz)
            return false;
        memcpy(dst + len, c->content, l);
        len += l;
    }
    dst[len] = '\0';
    for (start = 0; start < len && strchr(" \t\r\n", dst[start]) != NULL; start++)
        ;
    for (end = len; end > start && strchr(" \t\r\n", dst[end - 1]) != NULL; end--)
        ;
    memmove(dst, dst + start, end - start);
    dst[end - start] = '\0';
    return true;
}

/* An attribute without namespace, or (doc sample variant) in ns. */
static const xmlChar *
attr_raw(xmlNodePtr n, const char *name, const char *ns)
{
    for (xmlAttrPtr a = n ? n->properties : NULL; a != NULL; a = a->next) {
        if (!xmlStrEqual(a->name, (const xmlChar *)name))
            continue;
        if (a->ns == NULL || (ns != NULL && xmlStrEqual(a->ns->href, (const xmlChar *)ns))) {
            if (a->children == NULL)
                return (const xmlChar *)"";
            if (a->children->type == XML_TEXT_NODE && a->children->next == NULL)
                return a->children->content ? a->children->content : (const xmlChar *)"";
            return NULL;
        }
    }
    return NULL;
}

/*
 * Open a SOAP envelope: root Envelope (1.2 or 1.1) with a Body.  The
 * Body's first element into *payload; a Fault there is MDM_REJECT_FAULT.
 * RelatesTo is checked when msgid is given and the header carries one.
 */
static enum mdm_reject
soap_open(xmlDocPtr doc, const char *msgid, xmlNodePtr *payload, char *activity, size_t actsz)
{
    xmlNodePtr env = xmlDocGetRootElement(doc), hdr, body, p, n;
    char buf[256];

    if (!is_el(env, ns_soap, "Envelope"))
        return MDM_REJECT_NOT_SOAP;
    body = child(env, ns_soap, "Body");
    if (body == NULL)
        return MDM_REJECT_NOT_SOAP;
    p = first_element(body);
    if (p == NULL)
        return MDM_REJECT_MISSING;
    if (is_el(p, ns_soap, "Fault"))
        return MDM_REJECT_FAULT;
    hdr = child(env, ns_soap, "Header");
    if ((n = child(hdr, ns_addr, "RelatesTo")) != NULL && msgid != NULL) {
        if (!node_text(n, buf, sizeof(buf)) || strcasecmp(buf, msgid) != 0)
            return MDM_REJECT_RELATES_TO;
    }
    if (activity != NULL) {
        activity[0] = '\0';
        n = child(hdr, ns_diag, "ActivityId");
        if (n != NULL && node_text(n, buf, sizeof(buf)) && ok_text(buf, actsz - 1))
            copy_text(activity, actsz, buf);
    }
    *payload = p;
    return MDM_REJECT_NONE;
}

/* ---- discovery ---- */

/* An optional https URL element: absent or empty -> "", present and bad -> BAD_URL. */
static enum mdm_reject
opt_url(xmlNodePtr parent, const char *name, char *dst, size_t dstsz)
{
    xmlNodePtr n = child(parent, ns_disco, name);

    dst[0] = '\0';
    if (n == NULL)
        return MDM_REJECT_NONE;
    if (!node_text(n, dst, dstsz)) {
        dst[0] = '\0';
        return MDM_REJECT_BAD_URL;
    }
    if (dst[0] != '\0' && !ok_url(dst)) {
        dst[0] = '\0';
        return MDM_REJECT_BAD_URL;
    }
    return MDM_REJECT_NONE;
}

enum lj_rc
mdm_discover_parse(const char *body, size_t len, const char *message_id, struct mdm_discovery *out,
                   enum mdm_reject *why)
{
    struct mdm_discovery *d = NULL;
    xmlDocPtr doc = NULL;
    xmlNodePtr resp = NULL, res, n;
    enum mdm_reject r;

    if (out == NULL)
        return LJ_ERR_INVAL;
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return LJ_ERR_NOMEM;
    if ((r = xml_load(body, len, MDM_MAX_BODY, &doc)) != MDM_REJECT_NONE ||
        (r = soap_open(doc, message_id, &resp, d->activity_id, sizeof(d->activity_id))) !=
            MDM_REJECT_NONE)
        goto out;
    if (!is_el(resp, ns_disco, "DiscoverResponse") ||
        (res = child(resp, ns_disco, "DiscoverResult")) == NULL) {
        r = MDM_REJECT_MISSING;
        goto out;
    }
    n = child(res, ns_disco, "AuthPolicy");
    if (n == NULL) {
        r = MDM_REJECT_MISSING;
        goto out;
    }
    if (!node_text(n, d->auth_policy, sizeof(d->auth_policy)) ||
        (strcmp(d->auth_policy, "Federated") != 0 && strcmp(d->auth_policy, "OnPremise") != 0 &&
         strcmp(d->auth_policy, "Certificate") != 0)) {
        r = MDM_REJECT_BAD_VALUE;
        goto out;
    }
    n = child(res, ns_disco, "EnrollmentVersion");
    if (n != NULL && (!node_text(n, d->enrollment_version, sizeof(d->enrollment_version)) ||
                      (d->enrollment_version[0] != '\0' && !ok_version(d->enrollment_version)))) {
        r = MDM_REJECT_BAD_VALUE;
        goto out;
    }
    if (child(res, ns_disco, "EnrollmentServiceUrl") == NULL) {
        r = MDM_REJECT_MISSING;
        goto out;
    }
    if ((r = opt_url(res, "EnrollmentServiceUrl", d->enrollment_service_url,
                     sizeof(d->enrollment_service_url))) != MDM_REJECT_NONE ||
        (r = opt_url(res, "EnrollmentPolicyServiceUrl", d->enrollment_policy_service_url,
                     sizeof(d->enrollment_policy_service_url))) != MDM_REJECT_NONE ||
        (r = opt_url(res, "AuthenticationServiceUrl", d->authentication_service_url,
                     sizeof(d->authentication_service_url))) != MDM_REJECT_NONE)
        goto out;
    if (d->enrollment_service_url[0] == '\0') {
        r = MDM_REJECT_MISSING;
        goto out;
    }
    lj_log(LJ_LOG_INFO, MOD, "event=discovered auth_policy=%s enrollment=%s policy=%s",
           d->auth_policy, d->enrollment_service_url,
           d->enrollment_policy_service_url[0] ? d->enrollment_policy_service_url : "-");
    *out = *d;
    r = MDM_REJECT_NONE;
out:
    xmlFreeDoc(doc);
    free(d);
    return refuse("discovery", r, why);
}

/* ---- policy ---- */

static bool
num_text(xmlNodePtr n, long long min, long long max, long long *out)
{
    char buf[32];
    char *end;
    long long v;

    if (!node_text(n, buf, sizeof(buf)) || buf[0] == '\0' ||
        strspn(buf, "0123456789") != strlen(buf) || strlen(buf) > 18)
        return false;
    v = strtoll(buf, &end, 10);
    if (*end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* An element that is absent or xsi:nil="true". */
static bool
nil_or_absent(xmlNodePtr n)
{
    const xmlChar *v;

    if (n == NULL)
        return true;
    v = attr_raw(n, "nil", NS_XSI);
    return v != NULL && xmlStrEqual(v, (const xmlChar *)"true") && first_element(n) == NULL;
}

static enum mdm_hash
hash_of(const char *oid)
{
    static const struct {
        const char *oid;
        enum mdm_hash h;
    } map[] = {
        {"1.3.14.3.2.26", MDM_HASH_SHA1},           {"1.3.14.3.2.29", MDM_HASH_SHA1},
        {"1.2.840.113549.1.1.5", MDM_HASH_SHA1},    {"2.16.840.1.101.3.4.2.1", MDM_HASH_SHA256},
        {"1.2.840.113549.1.1.11", MDM_HASH_SHA256}, {"2.16.840.1.101.3.4.2.2", MDM_HASH_SHA384},
        {"1.2.840.113549.1.1.12", MDM_HASH_SHA384}, {"2.16.840.1.101.3.4.2.3", MDM_HASH_SHA512},
        {"1.2.840.113549.1.1.13", MDM_HASH_SHA512},
    };

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].oid, oid) == 0)
            return map[i].h;
    return MDM_HASH_OTHER;
}

enum lj_rc
mdm_policy_parse(const char *body, size_t len, const char *message_id, struct mdm_policy *out,
                 enum mdm_reject *why)
{
    struct mdm_policy p;
    xmlDocPtr doc = NULL;
    xmlNodePtr resp = NULL, response, policies, policy, attrs, n;
    long long v, ref = -1;
    enum mdm_reject r;

    if (out == NULL)
        return LJ_ERR_INVAL;
    memset(&p, 0, sizeof(p));
    if ((r = xml_load(body, len, MDM_MAX_BODY, &doc)) != MDM_REJECT_NONE ||
        (r = soap_open(doc, message_id, &resp, NULL, 0)) != MDM_REJECT_NONE)
        goto out;
    if (!is_el(resp, ns_policy, "GetPoliciesResponse") ||
        (response = child(resp, ns_policy, "response")) == NULL ||
        (policies = child(response, ns_policy, "policies")) == NULL ||
        (policy = child(policies, ns_policy, "policy")) == NULL ||
        (attrs = child(policy, ns_policy, "attributes")) == NULL) {
        r = MDM_REJECT_MISSING;
        goto out;
    }
    n = child(child(attrs, ns_policy, "privateKeyAttributes"), ns_policy, "minimalKeyLength");
    if (!nil_or_absent(n)) {
        if (!num_text(n, 0, 16384, &v)) {
            r = MDM_REJECT_BAD_VALUE;
            goto out;
        }
        p.min_key_bits = (unsigned)v;
    }
    n = child(attrs, ns_policy, "certificateValidity");
    if (n != NULL) {
        xmlNodePtr vs = child(n, ns_policy, "validityPeriodSeconds");
        xmlNodePtr rs = child(n, ns_policy, "renewalPeriodSeconds");

        if ((!nil_or_absent(vs) && !num_text(vs, 0, 1LL << 40, &p.validity_s)) ||
            (!nil_or_absent(rs) && !num_text(rs, 0, 1LL << 40, &p.renewal_s))) {
            r = MDM_REJECT_BAD_VALUE;
            goto out;
        }
    }
    n = child(attrs, ns_policy, "hashAlgorithmOIDReference");
    if (!nil_or_absent(n) && !num_text(n, 0, 1000000, &ref)) {
        r = MDM_REJECT_BAD_VALUE;
        goto out;
    }
    p.hash = MDM_HASH_NONE;
    if (ref >= 0) {
        xmlNodePtr oids = child(resp, ns_policy, "oIDs");
        bool found = false;

        for (xmlNodePtr o = oids ? oids->children : NULL; o != NULL && !found; o = o->next) {
            long long id;

            if (!is_el(o, ns_policy, "oID"))
                continue;
            if (!num_text(child(o, ns_policy, "oIDReferenceID"), 0, 1000000, &id) || id != ref)
                continue;
            if (!node_text(child(o, ns_policy, "value"), p.hash_oid, sizeof(p.hash_oid)) ||
                !all_chars(p.hash_oid, 3, 63, ".") ||
                strspn(p.hash_oid, "0123456789.") != strlen(p.hash_oid)) {
                r = MDM_REJECT_BAD_VALUE;
                goto out;
            }
            found = true;
        }
        if (!found) {
            r = MDM_REJECT_MISSING; /* a reference to an OID the answer does not carry */
            goto out;
        }
        p.hash = hash_of(p.hash_oid);
    }
    *out = p;
    r = MDM_REJECT_NONE;
out:
    xmlFreeDoc(doc);
    return refuse("policy", r, why);
}

enum lj_rc
mdm_policy_check(const struct mdm_policy *p, unsigned key_bits, enum mdm_reject *why)
{
    if (p == NULL)
        return LJ_ERR_INVAL;
    if (p->min_key_bits > key_bits || p->min_key_bits > 4096 ||
        (p->hash != MDM_HASH_NONE && p->hash != MDM_HASH_SHA1 && p->hash != MDM_HASH_SHA256))
        return refuse("policy", MDM_REJECT_POLICY, why);
    if (why != NULL)
        *why = MDM_REJECT_NONE;
    return LJ_OK;
}

/* ---- enrollment answer: the provisioning document ---- */

enum cert_role { ROLE_ROOT, ROLE_CA, ROLE_CLIENT };

struct pcert {
    enum cert_role role;
    unsigned char *der;
    size_t len;
    char type[64]; /* the characteristic type (thumbprint) */
    WOLFSSL_X509 *x;
};

struct pdoc {
    struct pcert certs[MDM_MAX_CERTS];
    size_t n;
    size_t clients;
    char client_store[8];
    char addr[MDM_MAX_URL];
    char provider[128];
    char name[256];
    char dm_provider[128];
    bool have_w7;
};

static void
pdoc_free(struct pdoc *d)
{
    for (size_t i = 0; i < d->n; i++) {
        wolfSSL_X509_free(d->certs[i].x);
        free(d->certs[i].der);
    }
    memset(d, 0, sizeof(*d));
}

static bool
char_type(xmlNodePtr n, const char *type)
{
    const xmlChar *t;

    if (!is_el(n, ns_none, "characteristic"))
        return false;
    t = attr_raw(n, "type", NULL);
    return t != NULL && xmlStrEqual(t, (const xmlChar *)type);
}

/* parm name=... value=... of a characteristic; NULL when absent. */
static const xmlChar *
parm_value(xmlNodePtr c, const char *name)
{
    for (xmlNodePtr n = c->children; n != NULL; n = n->next) {
        const xmlChar *nm;

        if (!is_el(n, ns_none, "parm"))
            continue;
        nm = attr_raw(n, "name", NULL);
        if (nm != NULL && xmlStrEqual(nm, (const xmlChar *)name))
            return attr_raw(n, "value", NULL);
    }
    return NULL;
}

/* Strict base64 with XML whitespace removed. */
static bool
b64_ws(const char *s, size_t max_out, unsigned char **out, size_t *outlen)
{
    size_t n = strlen(s), k = 0;
    char *t = malloc(n + 1);
    bool ok;

    if (t == NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strchr(" \t\r\n", s[i]) == NULL)
            t[k++] = s[i];
    t[k] = '\0';
    /* decoded size is at most 3/4 of the text: refuse early */
    ok = k > 0 && k / 4 * 3 <= max_out + 3 && lj_b64_decode(t, k, LJ_B64_STD, out, outlen);
    free(t);
    if (ok && *outlen > max_out) {
        free(*out);
        *out = NULL;
        ok = false;
    }
    return ok;
}

/* Certificates of one store (Root, CA or My) under a CertificateStore. */
static enum mdm_reject
pdoc_store(struct pdoc *d, xmlNodePtr store, enum cert_role role)
{
    for (xmlNodePtr loc = store->children; loc != NULL; loc = loc->next) {
        const xmlChar *lt;

        if (!is_el(loc, ns_none, "characteristic"))
            continue;
        lt = attr_raw(loc, "type", NULL);
        if (lt == NULL)
            return MDM_REJECT_PROVDOC;
        /* My/WSTEP (renewal settings) and the like carry no certificates. */
        if (role == ROLE_CLIENT && !xmlStrEqual(lt, (const xmlChar *)"System") &&
            !xmlStrEqual(lt, (const xmlChar *)"User"))
            continue;
        for (xmlNodePtr c = loc->children; c != NULL; c = c->next) {
            const xmlChar *ct, *val;
            struct pcert *pc;

            if (!is_el(c, ns_none, "characteristic"))
                continue;
            ct = attr_raw(c, "type", NULL);
            val = parm_value(c, "EncodedCertificate");
            if (val == NULL)
                continue; /* PrivateKeyContainer and other settings */
            if (ct == NULL || xmlStrlen(ct) == 0 || xmlStrlen(ct) >= 64)
                return MDM_REJECT_PROVDOC;
            if (d->n >= MDM_MAX_CERTS)
                return MDM_REJECT_TOO_MANY_CERTS;
            pc = &d->certs[d->n];
            memset(pc, 0, sizeof(*pc));
            if (!b64_ws((const char *)val, MDM_MAX_CERT, &pc->der, &pc->len) || pc->len == 0)
                return MDM_REJECT_BASE64;
            d->n++;
            pc->role = role;
            snprintf(pc->type, sizeof(pc->type), "%s", (const char *)ct);
            if (role == ROLE_CLIENT) {
                d->clients++;
                snprintf(d->client_store, sizeof(d->client_store), "%s", (const char *)lt);
            }
        }
    }
    return MDM_REJECT_NONE;
}

static enum mdm_reject
pdoc_walk(xmlDocPtr doc, struct pdoc *d)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    enum mdm_reject r;
    const xmlChar *v;

    if (!is_el(root, ns_none, "wap-provisioningdoc"))
        return MDM_REJECT_PROVDOC;
    for (xmlNodePtr top = root->children; top != NULL; top = top->next) {
        if (char_type(top, "CertificateStore")) {
            for (xmlNodePtr s = top->children; s != NULL; s = s->next) {
                enum cert_role role;

                if (char_type(s, "Root"))
                    role = ROLE_ROOT;
                else if (char_type(s, "CA"))
                    role = ROLE_CA;
                else if (char_type(s, "My"))
                    role = ROLE_CLIENT;
                else
                    continue;
                if ((r = pdoc_store(d, s, role)) != MDM_REJECT_NONE)
                    return r;
            }
        } else if (char_type(top, "APPLICATION")) {
            v = parm_value(top, "APPID");
            if (v == NULL || !xmlStrEqual(v, (const xmlChar *)"w7"))
                continue;
            if (d->have_w7)
                return MDM_REJECT_PROVDOC; /* two DM server accounts */
            d->have_w7 = true;
            if ((v = parm_value(top, "ADDR")) == NULL)
                return MDM_REJECT_MISSING;
            if (xmlStrlen(v) >= (int)sizeof(d->addr) || !ok_url((const char *)v))
                return MDM_REJECT_BAD_URL;
            snprintf(d->addr, sizeof(d->addr), "%s", (const char *)v);
            v = parm_value(top, "PROVIDER-ID");
            if (v == NULL || xmlStrlen(v) >= (int)sizeof(d->provider) ||
                !ok_text((const char *)v, sizeof(d->provider) - 1))
                return MDM_REJECT_PROVIDER;
            snprintf(d->provider, sizeof(d->provider), "%s", (const char *)v);
            v = parm_value(top, "NAME");
            if (v != NULL && v[0] != '\0') {
                if (!ok_text((const char *)v, sizeof(d->name) - 1))
                    return MDM_REJECT_BAD_VALUE;
                snprintf(d->name, sizeof(d->name), "%s", (const char *)v);
            }
        } else if (char_type(top, "DMClient")) {
            for (xmlNodePtr p = top->children; p != NULL; p = p->next) {
                if (!char_type(p, "Provider"))
                    continue;
                for (xmlNodePtr q = p->children; q != NULL; q = q->next) {
                    if (!is_el(q, ns_none, "characteristic") ||
                        (v = attr_raw(q, "type", NULL)) == NULL)
                        continue;
                    if (d->dm_provider[0] != '\0' || xmlStrlen(v) >= (int)sizeof(d->dm_provider))
                        return MDM_REJECT_PROVIDER;
                    snprintf(d->dm_provider, sizeof(d->dm_provider), "%s", (const char *)v);
                }
            }
        }
    }
    if (!d->have_w7)
        return MDM_REJECT_MISSING;
    if (d->dm_provider[0] != '\0' && strcmp(d->dm_provider, d->provider) != 0)
        return MDM_REJECT_PROVIDER;
    if (d->clients != 1)
        return MDM_REJECT_NO_CLIENT_CERT;
    return MDM_REJECT_NONE;
}

static bool
is_hex40(const char *s)
{
    if (strlen(s) != 40)
        return false;
    for (int i = 0; i < 40; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

static bool
sha1_hex(const unsigned char *der, size_t len, char out[41])
{
    unsigned char h[WC_SHA_DIGEST_SIZE];

    if (wc_ShaHash(der, (word32)len, h) != 0)
        return false;
    for (size_t i = 0; i < sizeof(h); i++)
        snprintf(out + 2 * i, 3, "%02X", h[i]);
    return true;
}

/* notBefore <= now + skew and notAfter > now - skew. */
static bool
in_window(WOLFSSL_X509 *x, long long now)
{
    time_t lo = (time_t)(now - MDM_CLOCK_SKEW), hi = (time_t)(now + MDM_CLOCK_SKEW);
    const WOLFSSL_ASN1_TIME *nb = wolfSSL_X509_get_notBefore(x);
    const WOLFSSL_ASN1_TIME *na = wolfSSL_X509_get_notAfter(x);

    return nb != NULL && na != NULL && wolfSSL_X509_cmp_time(nb, &hi) == -1 &&
           wolfSSL_X509_cmp_time(na, &lo) == 1;
}

/* issuer signed x (names chain and the signature verifies). */
static bool
signed_by(WOLFSSL_X509 *x, WOLFSSL_X509 *issuer)
{
    WOLFSSL_EVP_PKEY *k;
    bool ok;

    if (wolfSSL_X509_NAME_cmp(wolfSSL_X509_get_issuer_name(x),
                              wolfSSL_X509_get_subject_name(issuer)) != 0)
        return false;
    k = wolfSSL_X509_get_pubkey(issuer);
    if (k == NULL)
        return false;
    ok = wolfSSL_X509_verify(x, k) == WOLFSSL_SUCCESS;
    wolfSSL_EVP_PKEY_free(k);
    return ok;
}

static bool
fill_cert(struct mdm_cert *c, const struct pcert *p)
{
    memset(c, 0, sizeof(*c));
    c->der = malloc(p->len);
    if (c->der == NULL)
        return false;
    memcpy(c->der, p->der, p->len);
    c->len = p->len;
    if (!sha1_hex(p->der, p->len, c->thumbprint))
        return false;
    wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_subject_name(p->x), c->subject, sizeof(c->subject));
    wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_issuer_name(p->x), c->issuer, sizeof(c->issuer));
    return true;
}

/* Verify the parsed document's certificates; fill the result's certificates. */
static enum mdm_reject
pdoc_verify(struct pdoc *d, const struct mdm_enroll_verify *v, struct mdm_enrollment *e)
{
    long long now = v->now ? v->now : (long long)time(NULL);
    struct pcert *client = NULL;
    size_t used[MDM_MAX_CERTS];
    size_t nused = 0;
    unsigned char spki[4096];
    int spkilen = sizeof(spki);
    unsigned int eku;

    for (size_t i = 0; i < d->n; i++) {
        struct pcert *p = &d->certs[i];
        const unsigned char *der2;
        char thumb[41];
        int dl = 0;

        p->x = wolfSSL_X509_load_certificate_buffer(p->der, (int)p->len, WOLFSSL_FILETYPE_ASN1);
        der2 = p->x ? wolfSSL_X509_get_der(p->x, &dl) : NULL;
        if (p->x == NULL || der2 == NULL || (size_t)dl != p->len)
            return MDM_REJECT_X509; /* includes trailing bytes after the certificate */
        if (!sha1_hex(p->der, p->len, thumb))
            return MDM_REJECT_X509;
        if (is_hex40(p->type) && strcasecmp(p->type, thumb) != 0)
            return MDM_REJECT_THUMBPRINT;
        if (!in_window(p->x, now))
            return MDM_REJECT_VALIDITY;
        if (p->role == ROLE_CLIENT)
            client = p;
    }
    if (client == NULL)
        return MDM_REJECT_NO_CLIENT_CERT;
    if (wolfSSL_X509_get_pubkey_buffer(client->x, spki, &spkilen) != WOLFSSL_SUCCESS ||
        !drs_key_matches(&v->key, spki, (size_t)spkilen))
        return MDM_REJECT_KEY_MISMATCH;
    eku = wolfSSL_X509_get_extended_key_usage(client->x); /* XKU_* bits; 0 = no EKU */
    if (eku != 0 && (eku & (XKU_SSL_CLIENT | XKU_ANYEKU)) == 0)
        return MDM_REJECT_EKU;
    /* client -> issuers -> a self-signed certificate from the Root store */
    for (struct pcert *cur = client;;) {
        struct pcert *next = NULL;

        if (cur != client && signed_by(cur->x, cur->x)) {
            if (cur->role != ROLE_ROOT)
                return MDM_REJECT_CHAIN;
            break;
        }
        for (size_t i = 0; i < d->n && next == NULL; i++) {
            struct pcert *c = &d->certs[i];
            bool seen = false;

            if (c->role == ROLE_CLIENT)
                continue;
            for (size_t k = 0; k < nused; k++)
                seen = seen || used[k] == i;
            if (!seen && wolfSSL_X509_get_isCA(c->x) == 1 && signed_by(cur->x, c->x))
                next = c;
        }
        if (next == NULL || nused >= MDM_MAX_CERTS)
            return MDM_REJECT_CHAIN;
        used[nused++] = (size_t)(next - d->certs);
        cur = next;
    }
    if (!fill_cert(&e->client, client))
        return MDM_REJECT_X509;
    for (size_t i = 0; i < nused; i++) {
        if (!fill_cert(&e->chain[i], &d->certs[used[i]]))
            return MDM_REJECT_X509;
        e->chain_len = i + 1;
    }
    return MDM_REJECT_NONE;
}

void
mdm_enrollment_free(struct mdm_enrollment *e)
{
    if (e == NULL)
        return;
    free(e->client.der);
    for (size_t i = 0; i < e->chain_len && i < MDM_MAX_CERTS; i++)
        free(e->chain[i].der);
    free(e->provdoc);
    memset(e, 0, sizeof(*e));
}

enum lj_rc
mdm_enroll_parse(const char *body, size_t len, const struct mdm_enroll_verify *v,
                 struct mdm_enrollment *out, enum mdm_reject *why)
{
    struct mdm_enrollment *e = NULL;
    struct pdoc *d = NULL;
    xmlDocPtr doc = NULL, pdoc = NULL;
    xmlNodePtr coll = NULL, rstr, n, bst;
    char tt[256];
    const xmlChar *vt;
    unsigned char *decoded = NULL;
    size_t declen = 0;
    xmlChar *b64 = NULL;
    enum mdm_reject r;

    if (out == NULL || v == NULL)
        return LJ_ERR_INVAL;
    e = calloc(1, sizeof(*e));
    d = calloc(1, sizeof(*d));
    if (e == NULL || d == NULL) {
        free(e);
        free(d);
        return LJ_ERR_NOMEM;
    }
    if ((r = xml_load(body, len, MDM_MAX_BODY, &doc)) != MDM_REJECT_NONE ||
        (r = soap_open(doc, v->message_id, &coll, e->activity_id, sizeof(e->activity_id))) !=
            MDM_REJECT_NONE)
        goto out;
    if (!is_el(coll, ns_wst, "RequestSecurityTokenResponseCollection") ||
        (rstr = child(coll, ns_wst, "RequestSecurityTokenResponse")) == NULL) {
        r = MDM_REJECT_MISSING;
        goto out;
    }
    n = child(rstr, ns_wst, "TokenType");
    if (n == NULL) {
        r = MDM_REJECT_MISSING;
        goto out;
    }
    if (!node_text(n, tt, sizeof(tt)) || strcmp(tt, TT_ENROLL) != 0) {
        r = MDM_REJECT_TOKEN_TYPE;
        goto out;
    }
    bst = child(child(rstr, ns_wst, "RequestedSecurityToken"), ns_wsse, "BinarySecurityToken");
    if (bst == NULL) {
        r = MDM_REJECT_MISSING;
        goto out;
    }
    vt = attr_raw(bst, "ValueType", NS_WSSE);
    if (vt == NULL || (!xmlStrEqual(vt, (const xmlChar *)VT_PROVDOC) &&
                       !xmlStrEqual(vt, (const xmlChar *)VT_PROVDOC_OLD))) {
        r = MDM_REJECT_TOKEN_TYPE;
        goto out;
    }
    if (first_element(bst) != NULL || (b64 = xmlNodeGetContent(bst)) == NULL) {
        r = MDM_REJECT_BAD_VALUE;
        goto out;
    }
    if (!b64_ws((const char *)b64, MDM_MAX_PROVDOC, &decoded, &declen)) {
        /* a document over the ceiling is TOO_BIG, not bad base64 */
        size_t k = 0;

        for (const xmlChar *p = b64; *p != '\0'; p++)
            k += strchr(" \t\r\n", *p) == NULL;
        r = k / 4 * 3 > MDM_MAX_PROVDOC + 3 ? MDM_REJECT_TOO_BIG : MDM_REJECT_BASE64;
        goto out;
    }
    r = xml_load((const char *)decoded, declen, MDM_MAX_PROVDOC, &pdoc);
    if (r == MDM_REJECT_EMPTY)
        r = MDM_REJECT_PROVDOC;
    if (r != MDM_REJECT_NONE)
        goto out;
    if ((r = pdoc_walk(pdoc, d)) != MDM_REJECT_NONE ||
        (r = pdoc_verify(d, v, e)) != MDM_REJECT_NONE)
        goto out;
    snprintf(e->client_store, sizeof(e->client_store), "%s", d->client_store);
    snprintf(e->mgmt_url, sizeof(e->mgmt_url), "%s", d->addr);
    snprintf(e->provider_id, sizeof(e->provider_id), "%s", d->provider);
    snprintf(e->server_name, sizeof(e->server_name), "%s", d->name);
    e->provdoc = (char *)decoded;
    e->provdoc_len = declen;
    decoded = NULL;
    lj_log(LJ_LOG_INFO, MOD, "event=enrolled thumbprint=%s chain=%zu server=%s provider=%s",
           e->client.thumbprint, e->chain_len, e->mgmt_url, e->provider_id);
    *out = *e;
    memset(e, 0, sizeof(*e)); /* ownership moved to *out */
    r = MDM_REJECT_NONE;
out:
    xmlFree(b64);
    free(decoded);
    xmlFreeDoc(pdoc);
    xmlFreeDoc(doc);
    pdoc_free(d);
    free(d);
    mdm_enrollment_free(e);
    free(e);
    return refuse("enrollment", r, why);
}

/* ---- faults ---- */

unsigned long
mdm_fault_hresult(const char *error_type, const char *subcode, const char *reason)
{
    static const struct {
        const char *sub;
        unsigned long hr;
    } map[] = {
        /* Windows' order (mdm-enrollment.md §6.2): the first hit wins. */
        {"MessageFormat", 0x80180001UL},
        {"FailedAuthentication", 0x80180002UL},
        {"Authentication", 0x80180002UL},
        {"Authorization", 0x80180003UL},
        {"CertificateRequest", 0x80180004UL},
        {"CertificateAuthority", 0x80180004UL},
        {"EnrollmentServer", 0x80180005UL},
        {"InternalServiceFault", 0x80180006UL},
        {"InternalServerFault", 0x80180006UL},
        {"InvalidSecurity", 0x80180007UL},
        {"DeviceCapReached", 0x80180013UL},
        {"DeviceNotSupported", 0x80180014UL},
        {"NotSupported", 0x80180015UL},
        {"InMaintenance", 0x80180017UL},
        {"UserLicense", 0x80180018UL},
        {"InvalidEnrollmentData", 0x80180019UL},
        {"CustomServerError", 0x80180032UL},
        /* ours: codes Windows sets on the client side, for the simulator */
        {"Server429", 0x80180033UL},
        {"ServerBusy", 0x80180033UL},
        {"MdmNotConfigured", 0x8018002bUL},
        {"NotInScope", 0x8018002bUL},
    };
    const char *key = (error_type != NULL && error_type[0] != '\0') ? error_type : subcode;
    const char *colon;

    if (key != NULL && (colon = strrchr(key, ':')) != NULL)
        key = colon + 1; /* the Subcode's prefix (s:, a:) is not part of the name */
    if ((key != NULL && strcasestr(key, "NotEligibleToRenew") != NULL) ||
        (reason != NULL && strcasestr(reason, "NotEligibleToRenew") != NULL))
        return 0x80180016UL;
    if (key == NULL || key[0] == '\0')
        return 0x80180008UL;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcasestr(key, map[i].sub) != NULL)
            return map[i].hr;
    return 0x80180008UL;
}


static void
fault_text(xmlNodePtr n, char *dst, size_t dstsz)
{
    xmlChar *t;

    if (n == NULL)
        return;
    t = xmlNodeGetContent(n);
    if (t == NULL)
        return;
    /* trim, then copy with control characters blanked */
    {
        const char *s = (const char *)t;
        size_t l;

        while (*s != '\0' && strchr(" \t\r\n", *s) != NULL)
            s++;
        copy_text(dst, dstsz, s);
        l = strlen(dst);
        while (l > 0 && dst[l - 1] == ' ')
            dst[--l] = '\0';
    }
    xmlFree(t);
}

enum lj_rc
mdm_fault_parse(long http_status, const char *body, size_t len, struct mdm_fault *out)
{
    struct mdm_fault f;
    xmlDocPtr doc = NULL;
    xmlNodePtr env, hdr, bodyel, fault, n, code, det;

    if (out == NULL)
        return LJ_ERR_INVAL;
    memset(&f, 0, sizeof(f));
    f.http_status = http_status;
    f.kind = MDM_BODY_OTHER;
    if (body == NULL || len == 0) {
        f.kind = MDM_BODY_EMPTY;
        goto out;
    }
    if (lj_body_is_html(body, len)) {
        f.kind = MDM_BODY_HTML;
        goto out;
    }
    if (xml_load(body, len, MDM_MAX_BODY, &doc) != MDM_REJECT_NONE)
        goto out;
    env = xmlDocGetRootElement(doc);
    if (is_named(env, "html")) {
        f.kind = MDM_BODY_HTML;
        goto out;
    }
    if (!is_el(env, ns_soap, "Envelope") || (bodyel = child(env, ns_soap, "Body")) == NULL)
        goto out;
    hdr = child(env, ns_soap, "Header");
    fault_text(child(hdr, ns_diag, "ActivityId"), f.activity_id, sizeof(f.activity_id));
    fault = child(bodyel, ns_soap, "Fault");
    if (fault == NULL) {
        f.kind = MDM_BODY_SOAP;
        goto out;
    }
    f.kind = MDM_BODY_FAULT;
    if ((code = child(fault, ns_soap, "Code")) != NULL) {
        /* SOAP 1.2 */
        fault_text(child(code, ns_soap, "Value"), f.code, sizeof(f.code));
        fault_text(child(child(code, ns_soap, "Subcode"), ns_soap, "Value"), f.subcode,
                   sizeof(f.subcode));
        fault_text(child(child(fault, ns_soap, "Reason"), ns_soap, "Text"), f.reason,
                   sizeof(f.reason));
        det = child(fault, ns_soap, "Detail");
    } else {
        /* SOAP 1.1: unqualified faultcode / faultstring / detail */
        fault_text(child_any_ns(fault, "faultcode"), f.subcode, sizeof(f.subcode));
        fault_text(child_any_ns(fault, "faultstring"), f.reason, sizeof(f.reason));
        det = child_any_ns(fault, "detail");
    }
    n = child_any_ns(det, "DeviceEnrollmentServiceError");
    fault_text(child_any_ns(n, "ErrorType"), f.error_type, sizeof(f.error_type));
    fault_text(child_any_ns(n, "Message"), f.message, sizeof(f.message));
    fault_text(child_any_ns(n, "TraceId"), f.trace_id, sizeof(f.trace_id));
    f.hresult = mdm_fault_hresult(f.error_type, f.subcode, f.reason);
    lj_log(LJ_LOG_WARN, MOD,
           "event=fault http=%ld subcode=%s error_type=%s hresult=0x%08lx trace_id=%s "
           "activity_id=%s",
           http_status, f.subcode[0] ? f.subcode : "-", f.error_type[0] ? f.error_type : "-",
           f.hresult, f.trace_id[0] ? f.trace_id : "-", f.activity_id[0] ? f.activity_id : "-");
out:
    xmlFreeDoc(doc);
    *out = f;
    return LJ_OK;
}

/* ---- request writing ---- */

struct xw {
    xmlBufferPtr buf;
    xmlTextWriterPtr w;
    bool fail;
};

#define XW(x, call)                                                                                \
    do {                                                                                           \
        if (!(x)->fail && (call) < 0)                                                              \
            (x)->fail = true;                                                                      \
    } while (0)
#define U(s) ((const xmlChar *)(s))

static bool
xw_open(struct xw *x)
{
    memset(x, 0, sizeof(*x));
    xmlInitParser();
    x->buf = xmlBufferCreate();
    if (x->buf == NULL)
        return false;
    x->w = xmlNewTextWriterMemory(x->buf, 0);
    if (x->w == NULL)
        return false;
    XW(x, xmlTextWriterStartDocument(x->w, "1.0", "UTF-8", NULL));
    return !x->fail;
}

static void
xw_close(struct xw *x)
{
    if (x->w != NULL)
        xmlFreeTextWriter(x->w);
    if (x->buf != NULL)
        xmlBufferFree(x->buf);
    memset(x, 0, sizeof(*x));
}

static void
xw_el(struct xw *x, const char *name, const char *text)
{
    XW(x, xmlTextWriterStartElement(x->w, U(name)));
    if (text != NULL)
        XW(x, xmlTextWriterWriteString(x->w, U(text)));
    XW(x, xmlTextWriterEndElement(x->w));
}

static void
xw_attr(struct xw *x, const char *name, const char *value)
{
    XW(x, xmlTextWriterWriteAttribute(x->w, U(name), U(value)));
}

/* <s:Envelope xmlns:s xmlns:a [xmlns:u]><s:Header> + the WS-Addressing headers. */
static void
xw_envelope(struct xw *x, bool with_u, const char *action, const char *msgid, const char *to)
{
    XW(x, xmlTextWriterStartElement(x->w, U("s:Envelope")));
    xw_attr(x, "xmlns:s", NS_S12);
    xw_attr(x, "xmlns:a", NS_A);
    if (with_u)
        xw_attr(x, "xmlns:u", NS_U);
    XW(x, xmlTextWriterStartElement(x->w, U("s:Header")));
    XW(x, xmlTextWriterStartElement(x->w, U("a:Action")));
    xw_attr(x, "s:mustUnderstand", "1");
    XW(x, xmlTextWriterWriteString(x->w, U(action)));
    XW(x, xmlTextWriterEndElement(x->w));
    xw_el(x, "a:MessageID", msgid);
    XW(x, xmlTextWriterStartElement(x->w, U("a:ReplyTo")));
    xw_el(x, "a:Address", ADDR_ANON);
    XW(x, xmlTextWriterEndElement(x->w));
    XW(x, xmlTextWriterStartElement(x->w, U("a:To")));
    xw_attr(x, "s:mustUnderstand", "1");
    XW(x, xmlTextWriterWriteString(x->w, U(to)));
    XW(x, xmlTextWriterEndElement(x->w));
}

/* wsse:Security with the token marker (the header stays open). */
static void
xw_security(struct xw *x)
{
    XW(x, xmlTextWriterStartElement(x->w, U("wsse:Security")));
    xw_attr(x, "xmlns:wsse", NS_WSSE);
    xw_attr(x, "s:mustUnderstand", "1");
    XW(x, xmlTextWriterStartElement(x->w, U("wsse:BinarySecurityToken")));
    xw_attr(x, "ValueType", VT_JWT);
    xw_attr(x, "EncodingType", ENC_B64);
    XW(x, xmlTextWriterWriteRaw(x->w, U(TOKEN_MARK)));
    XW(x, xmlTextWriterEndElement(x->w));
    XW(x, xmlTextWriterEndElement(x->w));
}

/*
 * Finish the document and copy it out.  With a token, the one marker is
 * replaced by base64(token) in a single exact-size allocation.
 */
static enum lj_rc
xw_finish(struct xw *x, const char *token, char **xml, size_t *len)
{
    const char *doc, *mark;
    size_t dlen, tlen = 0, need;
    char *tok64 = NULL, *res;
    enum lj_rc rc;

    XW(x, xmlTextWriterEndDocument(x->w));
    XW(x, xmlTextWriterFlush(x->w));
    if (x->fail)
        return lj_err_set(LJ_ERR_INTERNAL, MOD, "event=xml_write_failed");
    doc = (const char *)xmlBufferContent(x->buf);
    dlen = (size_t)xmlBufferLength(x->buf);
    mark = strstr(doc, TOKEN_MARK);
    if ((token != NULL) != (mark != NULL) || (mark != NULL && strstr(mark + 1, TOKEN_MARK) != NULL))
        return lj_err_set(LJ_ERR_INTERNAL, MOD, "event=token_marker_mismatch");
    if (token != NULL) {
        tok64 = lj_b64_encode(token, strlen(token), LJ_B64_STD, &tlen);
        if (tok64 == NULL)
            return LJ_ERR_NOMEM;
    }
    need = dlen + 1 + (token ? tlen - strlen(TOKEN_MARK) : 0);
    res = malloc(need);
    if (res == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    if (token != NULL) {
        size_t pre = (size_t)(mark - doc), post = dlen - pre - strlen(TOKEN_MARK);

        memcpy(res, doc, pre);
        memcpy(res + pre, tok64, tlen);
        memcpy(res + pre + tlen, mark + strlen(TOKEN_MARK), post);
    } else {
        memcpy(res, doc, dlen);
    }
    res[need - 1] = '\0';
    *xml = res;
    if (len != NULL)
        *len = need - 1;
    rc = LJ_OK;
out:
    if (tok64 != NULL)
        lj_secure_free(tok64, tlen);
    return rc;
}

enum lj_rc
mdm_discover_build(const struct mdm_discover_request *r, char **xml, size_t *len)
{
    struct xw x;
    const char *url, *edition, *dtype;
    enum lj_rc rc;

    if (r == NULL || xml == NULL)
        return LJ_ERR_INVAL;
    url = r->url ? r->url : MDM_DISCOVERY_URL;
    edition = r->os_edition ? r->os_edition : "4";
    dtype = r->device_type ? r->device_type : "CIMClient_Windows";
    if (!ok_url(url) || !ok_msgid(r->message_id) || !ok_text(r->upn, MAX_FIELD) ||
        !ok_version(r->os_version) || !ok_digits(edition) || !all_chars(dtype, 1, 64, "_-"))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_discover_request");
    if (!xw_open(&x)) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    xw_envelope(&x, false, ACT_DISCOVER, r->message_id, url);
    XW(&x, xmlTextWriterEndElement(x.w)); /* s:Header */
    XW(&x, xmlTextWriterStartElement(x.w, U("s:Body")));
    XW(&x, xmlTextWriterStartElement(x.w, U("Discover")));
    xw_attr(&x, "xmlns", NS_DISCO);
    XW(&x, xmlTextWriterStartElement(x.w, U("request")));
    xw_attr(&x, "xmlns:i", NS_XSI);
    xw_el(&x, "EmailAddress", r->upn);
    xw_el(&x, "RequestVersion", "4.0");
    xw_el(&x, "DeviceType", dtype);
    xw_el(&x, "ApplicationVersion", r->os_version);
    xw_el(&x, "OSEdition", edition);
    XW(&x, xmlTextWriterStartElement(x.w, U("AuthPolicies")));
    xw_el(&x, "AuthPolicy", "OnPremise");
    xw_el(&x, "AuthPolicy", "Federated");
    rc = xw_finish(&x, NULL, xml, len); /* EndDocument closes the open elements */
out:
    xw_close(&x);
    return rc;
}

enum lj_rc
mdm_policy_build(const struct mdm_policy_request *r, char **xml, size_t *len)
{
    struct xw x;
    enum lj_rc rc;

    if (r == NULL || xml == NULL)
        return LJ_ERR_INVAL;
    if (!ok_url(r->url) || !ok_msgid(r->message_id) || !ok_jwt(r->access_token))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_policy_request");
    if (!xw_open(&x)) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    xw_envelope(&x, true, ACT_POLICY, r->message_id, r->url);
    xw_security(&x);
    XW(&x, xmlTextWriterEndElement(x.w)); /* s:Header */
    XW(&x, xmlTextWriterStartElement(x.w, U("s:Body")));
    xw_attr(&x, "xmlns:xsi", NS_XSI);
    xw_attr(&x, "xmlns:xsd", NS_XSD);
    XW(&x, xmlTextWriterStartElement(x.w, U("GetPolicies")));
    xw_attr(&x, "xmlns", NS_POLICY);
    XW(&x, xmlTextWriterStartElement(x.w, U("client")));
    XW(&x, xmlTextWriterStartElement(x.w, U("lastUpdate")));
    xw_attr(&x, "xsi:nil", "true");
    XW(&x, xmlTextWriterEndElement(x.w));
    XW(&x, xmlTextWriterStartElement(x.w, U("preferredLanguage")));
    xw_attr(&x, "xsi:nil", "true");
    XW(&x, xmlTextWriterEndElement(x.w));
    XW(&x, xmlTextWriterEndElement(x.w)); /* client */
    XW(&x, xmlTextWriterStartElement(x.w, U("requestFilter")));
    xw_attr(&x, "xsi:nil", "true");
    rc = xw_finish(&x, r->access_token, xml, len);
out:
    xw_close(&x);
    return rc;
}

static void
xw_item(struct xw *x, const char *name, const char *value)
{
    XW(x, xmlTextWriterStartElement(x->w, U("ac:ContextItem")));
    xw_attr(x, "Name", name);
    xw_el(x, "ac:Value", value);
    XW(x, xmlTextWriterEndElement(x->w));
}

/* A GUID's 32 hex digits, lower case, into out[33]. */
static void
guid_hex(const char *g, char *out)
{
    size_t k = 0;

    for (size_t i = 0; g[i] != '\0' && k < 32; i++)
        if (g[i] != '-')
            out[k++] = (char)tolower((unsigned char)g[i]);
    out[k] = '\0';
}

static bool
opt_ok(const char *s)
{
    return s == NULL || s[0] == '\0' || ok_text(s, MAX_FIELD);
}

enum lj_rc
mdm_enroll_build(const struct mdm_enroll_request *r, char **xml, size_t *len)
{
    struct xw x;
    const char *edition, *dtype, *locale;
    char devid[33], hwid[65], tid[33];
    char *csr64 = NULL;
    size_t nmac = 0;
    enum lj_rc rc;

    if (r == NULL || xml == NULL)
        return LJ_ERR_INVAL;
    memset(&x, 0, sizeof(x));
    edition = r->os_edition ? r->os_edition : "4";
    dtype = r->device_type ? r->device_type : "CIMClient_Windows";
    locale = r->locale ? r->locale : "en-US";
    for (; r->macs != NULL && r->macs[nmac] != NULL; nmac++)
        if (nmac >= 8 || !ok_mac(r->macs[nmac]))
            return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_enroll_request field=MAC");
    if (!ok_url(r->url) || !ok_msgid(r->message_id) || !ok_jwt(r->access_token) ||
        r->csr_der == NULL || r->csr_len < 16 || r->csr_len > MDM_MAX_CSR ||
        r->csr_der[0] != 0x30 || !lj_is_guid(r->device_id) || !ok_version(r->os_version) ||
        !ok_digits(edition) || !all_chars(dtype, 1, 64, "_-") || !all_chars(locale, 2, 16, "-") ||
        (r->device_name != NULL && !ok_text(r->device_name, MAX_FIELD)) ||
        !opt_ok(r->manufacturer) || !opt_ok(r->model) || !opt_ok(r->serial))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_enroll_request");
    guid_hex(r->device_id, devid);
    if (r->hw_dev_id != NULL) {
        if (strlen(r->hw_dev_id) != 64 || !all_chars(r->hw_dev_id, 64, 64, ""))
            return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_enroll_request field=HWDevID");
        for (int i = 0; i < 64; i++)
            if (!isxdigit((unsigned char)r->hw_dev_id[i]))
                return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_enroll_request field=HWDevID");
        snprintf(hwid, sizeof(hwid), "%s", r->hw_dev_id);
    } else {
        /* AADInternals' derivation (mdm-enrollment.md §4.5): device id + tenant id */
        if (!lj_is_guid(r->tenant_id))
            return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_enroll_request field=tenant_id");
        guid_hex(r->tenant_id, tid);
        snprintf(hwid, sizeof(hwid), "%s%s", devid, tid);
    }
    csr64 = lj_b64_encode(r->csr_der, r->csr_len, LJ_B64_STD, NULL);
    if (csr64 == NULL || !xw_open(&x)) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    xw_envelope(&x, true, ACT_RST, r->message_id, r->url);
    xw_security(&x);
    XW(&x, xmlTextWriterEndElement(x.w)); /* s:Header */
    XW(&x, xmlTextWriterStartElement(x.w, U("s:Body")));
    XW(&x, xmlTextWriterStartElement(x.w, U("wst:RequestSecurityToken")));
    xw_attr(&x, "xmlns:wst", NS_WST);
    xw_el(&x, "wst:TokenType", TT_ENROLL);
    xw_el(&x, "wst:RequestType", RT_ISSUE);
    XW(&x, xmlTextWriterStartElement(x.w, U("wsse:BinarySecurityToken")));
    xw_attr(&x, "xmlns:wsse", NS_WSSE);
    xw_attr(&x, "ValueType", VT_PKCS10);
    xw_attr(&x, "EncodingType", ENC_B64);
    XW(&x, xmlTextWriterWriteString(x.w, U(csr64)));
    XW(&x, xmlTextWriterEndElement(x.w));
    XW(&x, xmlTextWriterStartElement(x.w, U("ac:AdditionalContext")));
    xw_attr(&x, "xmlns", NS_AC);
    xw_attr(&x, "xmlns:ac", NS_AC);
    xw_item(&x, "UXInitiated", "true");
    xw_item(&x, "HWDevID", hwid);
    xw_item(&x, "Locale", locale);
    xw_item(&x, "TargetedUserLoggedIn", "true");
    xw_item(&x, "OSEdition", edition);
    if (r->device_name != NULL)
        xw_item(&x, "DeviceName", r->device_name);
    for (size_t i = 0; i < nmac; i++)
        xw_item(&x, "MAC", r->macs[i]);
    xw_item(&x, "DeviceID", devid);
    xw_item(&x, "EnrollmentType", "Device");
    xw_item(&x, "DeviceType", dtype);
    xw_item(&x, "OSVersion", r->os_version);
    xw_item(&x, "ApplicationVersion", r->os_version);
    xw_item(&x, "NotInOobe", r->not_in_oobe ? "true" : "false");
    if (r->manufacturer != NULL && r->manufacturer[0] != '\0')
        xw_item(&x, "Manufacturer", r->manufacturer);
    if (r->model != NULL && r->model[0] != '\0')
        xw_item(&x, "DeviceModel", r->model);
    if (r->serial != NULL && r->serial[0] != '\0')
        xw_item(&x, "SerialNumber", r->serial);
    rc = xw_finish(&x, r->access_token, xml, len);
out:
    xw_close(&x);
    free(csr64);
    return rc;
}
