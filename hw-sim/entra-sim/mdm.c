/*
 * mdm.c — the enrollment.manage.microsoft.com side of entra-sim: Intune
 * automatic MDM enrollment after an Entra join (MS-MDE2 discovery, MS-XCEP
 * GetPolicies, MS-WSTEP RequestSecurityToken), written from the specs
 * (MS-MDE2 3.1.4.1.3 discovery, 2.2.9.1 provisioning schema, 2.2.10 faults;
 * MS-XCEP; MS-WSTEP) and the public implementations that talk to Intune
 * (AADInternals MDM_utils.ps1, pytune device/windows.py, fleet's
 * microsoft_mdm.go), not from the agent.
 *
 * Routes (case-insensitive paths, any query):
 *   GET  /EnrollmentServer/Discovery.svc                   200, empty text/html
 *   POST /EnrollmentServer/Discovery.svc                   Discover (no auth)
 *   POST /StatelessEnrollmentService/EnrollmentPolicy.svc  GetPolicies (bearer JWT)
 *   POST /StatelessEnrollmentService/DeviceEnrollment.svc  RequestSecurityToken
 *
 * Requests are parsed with libxml2 behind hard limits: body <= 64 KiB
 * (server.c), any "<!DOCTYPE" or "<!ENTITY" refused before parsing, parser
 * options without entity substitution, DTD loading or network access
 * (XML_PARSE_NONET, no XML_PARSE_NOENT/DTDLOAD/HUGE), and element depth <= 32
 * checked on the tree.  Elements are found by namespace + local name.
 *
 * RST checks, in order: Content-Type, XML, SOAP 1.2 envelope, a:Action,
 * a:MessageID, a:To; header wsse:BinarySecurityToken (ValueType JWT,
 * base64 of a JWT signed by the simulator, aud = the enrollment resource or
 * an Intune app id, tid, exp); wst:TokenType, wst:RequestType Issue, the
 * PKCS#10 (DER, RSA 2048..4096, SHA-256 self-signature; any subject), the
 * AdditionalContext (DeviceID of a device joined in this simulator,
 * HWDevID, OSEdition, OSVersion, EnrollmentType Device; Manufacturer,
 * DeviceModel, SerialNumber captured); then the tenant's Intune policy:
 * MDM user scope, licences, Windows platform restriction, personally owned
 * block vs corporate identifiers, device limit (re-enrollment of the same
 * device does not count).  On success the device gets a client
 * certificate from the simulator's "Microsoft Intune MDM Device CA" in a
 * wap-provisioningdoc (Root, CA, My/System, APPLICATION w7, DMClient).
 *
 * Faults have Intune's observed shape (§6.1, §8): HTTP 500 (the real status
 * is a gap; 500 as go-microsoft-dm and Mattrax send), SOAP 1.2, no header,
 * s:Code/s:Value s:Receiver, s:Subcode/s:Value, s:Reason/s:Text
 * xml:lang="en-US", s:Detail/DeviceEnrollmentServiceError {ErrorType,
 * Message, TraceId = request id}.  The table is in the README.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "hw-sim/entra-sim/jwt.h"
#include "hw-sim/entra-sim/pki.h"
#include "hw-sim/entra-sim/server.h"
#include "hw-sim/entra-sim/tenant.h"
#include "hw-sim/entra-sim/util.h"
#include "platform/common/b64.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"

#define MOD "mdm"
#define MDM_HOST "enrollment.manage.microsoft.com"
#define MDM_BASE "https://" MDM_HOST
#define PATH_DISCOVERY "/EnrollmentServer/Discovery.svc"
#define PATH_POLICY "/StatelessEnrollmentService/EnrollmentPolicy.svc"
#define PATH_ENROLL "/StatelessEnrollmentService/DeviceEnrollment.svc"

#define NS_SOAP "http://www.w3.org/2003/05/soap-envelope"
#define NS_SOAP11 "http://schemas.xmlsoap.org/soap/envelope/"
#define NS_ADDR "http://www.w3.org/2005/08/addressing"
#define NS_DISC "http://schemas.microsoft.com/windows/management/2012/01/enrollment"
#define NS_WSSE "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define NS_WSU "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define NS_WST "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
#define NS_AC "http://schemas.xmlsoap.org/ws/2006/12/authorization"
#define NS_XCEP "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy"
#define NS_PKI "http://schemas.microsoft.com/windows/pki/2009/01/enrollment"
#define NS_DIAG "http://schemas.microsoft.com/2004/09/ServiceModel/Diagnostics"
#define NS_WCF "http://schemas.microsoft.com/net/2005/12/windowscommunicationfoundation/dispatcher"

#define ACT_DISCOVER NS_DISC "/IDiscoveryService/Discover"
#define ACT_POLICY NS_XCEP "/IPolicy/GetPolicies"
#define ACT_RST NS_PKI "/RST/wstep"
#define ACT_RSTRC NS_PKI "/RSTRC/wstep"
#define VT_JWT "urn:ietf:params:oauth:token-type:jwt"
#define VT_USER_TOKEN                                                                              \
    "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/"                        \
    "DeviceEnrollmentUserToken"
#define VT_PKCS10 NS_PKI "#PKCS10"
#define VT_PROVDOC                                                                                 \
    "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/"                        \
    "DeviceEnrollmentProvisionDoc"
#define ENC_B64 NS_WSSE "#base64binary"
#define TT_ENROLL                                                                                  \
    "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentToken"
#define RT_ISSUE NS_WST "/Issue"
#define RT_RENEW NS_WST "/Renew"

#define PROVIDER_ID "MS DM Server"
#define XML_DEPTH_MAX 32
#define TEXT_MAX 1024             /* any element text we read */
#define TOKEN_B64_MAX (24 * 1024) /* header BinarySecurityToken text */
#define CSR_B64_MAX (16 * 1024)
#define CTX_MAX 64 /* AdditionalContext items */
#define CTX_VALUE_MAX 512

/* ---- faults ---- */

/*
 * Queue a SOAP fault.  subcode is "s:Name" or "a:Name" (a = WCF dispatcher
 * namespace); error_type goes into DeviceEnrollmentServiceError.
 */
static enum MHD_Result fault(struct sim_req *r, unsigned status, const char *subcode,
                             const char *error_type, const char *const *hdrs, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static enum MHD_Result
fault(struct sim_req *r, unsigned status, const char *subcode, const char *error_type,
      const char *const *hdrs, const char *fmt, ...)
{
    struct sim_buf b = {0};
    char msg[1024];
    const char *detail;
    va_list ap;

    /* Intune names the detail element DeviceEnrollmentServiceError (pytune's
     * author's captures; windows-itpro-docs mobile-device-enrollment.md);
     * MS-DVRE 3.1.4.1.2.1 / 4.1.3 and MS-WSTEP name it
     * WindowsDeviceEnrollmentServiceError.  The tenant chooses. */
    pthread_mutex_lock(&g_sim.lock);
    detail = g_sim.t->intune.windows_fault_detail ? "WindowsDeviceEnrollmentServiceError"
                                                  : "DeviceEnrollmentServiceError";
    pthread_mutex_unlock(&g_sim.lock);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    lj_log(LJ_LOG_INFO, MOD, "event=fault request_id=%s status=%u subcode=%s error_type=%s",
           r->request_id, status, subcode, error_type);
    sim_buf_adds(&b, "<s:Envelope xmlns:s=\"" NS_SOAP "\" xmlns:a=\"" NS_ADDR "\"><s:Body>"
                     "<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value");
    if (strncmp(subcode, "a:", 2) == 0)
        sim_buf_adds(&b, " xmlns:a=\"" NS_WCF "\"");
    sim_buf_adds(&b, ">");
    sim_html_escape(&b, subcode);
    sim_buf_adds(&b, "</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang=\"en-US\">");
    sim_html_escape(&b, msg);
    sim_buf_adds(&b, "</s:Text></s:Reason><s:Detail><");
    sim_buf_adds(&b, detail);
    sim_buf_adds(&b, " xmlns=\"" NS_PKI "\"><ErrorType>");
    sim_html_escape(&b, error_type);
    sim_buf_adds(&b, "</ErrorType><Message>");
    sim_html_escape(&b, msg);
    sim_buf_adds(&b, "</Message><TraceId>");
    sim_buf_adds(&b, r->request_id);
    sim_buf_adds(&b, "</TraceId></");
    sim_buf_adds(&b, detail);
    sim_buf_adds(&b, "></s:Detail></s:Fault></s:Body></s:Envelope>");
    if (b.err) {
        sim_buf_free(&b, false);
        return MHD_NO;
    }
    return srv_reply(r, status, "application/soap+xml; charset=utf-8", sim_buf_take(&b, NULL),
                     hdrs);
}

/* A malformed request: s:MessageFormat, HTTP 500. */
#define BAD(r, ...) fault((r), 500, "s:MessageFormat", "MessageFormat", NULL, __VA_ARGS__)

enum MHD_Result
mdm_status_fault(struct sim_req *r, unsigned status, const char *const *hdrs)
{
    switch (status) {
    case 413:
        return fault(r, status, "s:MessageFormat", "MessageFormat", hdrs,
                     "The request body is too large.");
    case 429:
        return fault(r, status, "s:EnrollmentServer", "EnrollmentServer", hdrs,
                     "Your request is throttled temporarily. Please try after %ld seconds.",
                     r->fault.retry_after >= 0 ? r->fault.retry_after : 300L);
    case 503:
        return fault(r, status, "s:InMaintenance", "InMaintenance", hdrs,
                     "The service is temporarily unavailable for maintenance. Please try "
                     "again later.");
    case 401:
        return fault(r, status, "s:Authentication", "Authentication", hdrs,
                     "The user could not be authenticated.");
    case 403:
        return fault(r, status, "s:Authorization", "Authorization", hdrs,
                     "The user is not authorized to enroll.");
    default:
        if (status < 500)
            return fault(r, status, "s:MessageFormat", "MessageFormat", hdrs,
                         "The request could not be processed.");
        return fault(r, status, "a:InternalServiceFault", "InternalServiceFault", hdrs,
                     "The server was unable to process the request due to an internal "
                     "error.");
    }
}

/* ---- XML helpers ---- */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void
xml_init(void)
{
    xmlInitParser();
}

/* Element depth of the tree (iterative), stopping at the first element too deep. */
static bool
depth_ok(xmlNodePtr root)
{
    xmlNodePtr n = root;
    int depth = 1;

    for (;;) {
        if (n->type == XML_ELEMENT_NODE && depth > XML_DEPTH_MAX)
            return false;
        if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
            n = n->children;
            depth++;
            continue;
        }
        while (n != root && n->next == NULL) {
            n = n->parent;
            depth--;
        }
        if (n == root)
            return true;
        n = n->next;
    }
}

/*
 * Parse the request body.  NULL with *why set on any problem (never
 * entity expansion, DTD or network access).
 */
static xmlDocPtr
parse_xml(const struct sim_req *r, const char **why)
{
    const char *p = (const char *)r->body.p;
    size_t n = r->body.len;
    xmlDocPtr doc;

    pthread_once(&xml_once, xml_init);
    if (n == 0 || r->body.err) {
        *why = "The request body is empty.";
        return NULL;
    }
    if (memchr(p, '\0', n) != NULL) {
        *why = "The request body contains a NUL byte.";
        return NULL;
    }
    if (memmem(p, n, "<!DOCTYPE", 9) != NULL || memmem(p, n, "<!ENTITY", 8) != NULL) {
        *why = "DTDs and entity declarations are not allowed in SOAP messages.";
        return NULL;
    }
    doc = xmlReadMemory(p, (int)n, "request.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        *why = "The request body is not well-formed XML.";
        return NULL;
    }
    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        xmlFreeDoc(doc);
        *why = "DTDs and entity declarations are not allowed in SOAP messages.";
        return NULL;
    }
    if (xmlDocGetRootElement(doc) == NULL || !depth_ok(xmlDocGetRootElement(doc))) {
        xmlFreeDoc(doc);
        *why = "The XML elements are nested too deeply.";
        return NULL;
    }
    return doc;
}

static bool
ns_is(const xmlNode *n, const char *ns)
{
    return n->ns != NULL && n->ns->href != NULL && strcmp((const char *)n->ns->href, ns) == 0;
}

/* ns_a or ns_b (the discovery namespace is written with and without '/'). */
static bool
is_el(const xmlNode *n, const char *ns, const char *name)
{
    char alt[256];

    if (n == NULL || n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, name) != 0)
        return false;
    if (ns_is(n, ns))
        return true;
    snprintf(alt, sizeof(alt), "%s/", ns);
    return ns_is(n, alt);
}

/* First element child named ns:name, or NULL. */
static xmlNodePtr
child(const xmlNode *parent, const char *ns, const char *name)
{
    for (xmlNodePtr c = parent != NULL ? parent->children : NULL; c != NULL; c = c->next)
        if (is_el(c, ns, name))
            return c;
    return NULL;
}

static size_t
element_children(const xmlNode *parent)
{
    size_t k = 0;

    for (xmlNodePtr c = parent->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            k++;
    return k;
}

/*
 * The trimmed text of n into out (at most outsz-1 bytes).  false when n is
 * NULL or the text is empty or too long.
 */
static bool
text_of(const xmlNode *n, char *out, size_t outsz)
{
    xmlChar *t;
    const char *s;
    size_t len;
    bool ok = false;

    if (n == NULL)
        return false;
    t = xmlNodeGetContent(n);
    if (t == NULL)
        return false;
    s = (const char *)t;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    len = strlen(s);
    while (len > 0 &&
           (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' || s[len - 1] == '\n'))
        len--;
    if (len > 0 && len < outsz) {
        memcpy(out, s, len);
        out[len] = '\0';
        ok = true;
    }
    xmlFree(t);
    return ok;
}

/* Attribute name without namespace, or in ns (the doc sample's wsse:ValueType). */
static bool
attr_of(xmlNodePtr n, const char *name, const char *ns, char *out, size_t outsz)
{
    xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
    bool ok;

    if (v == NULL && ns != NULL)
        v = xmlGetNsProp(n, (const xmlChar *)name, (const xmlChar *)ns);
    if (v == NULL)
        return false;
    ok = strlen((const char *)v) < outsz;
    if (ok)
        memcpy(out, v, strlen((const char *)v) + 1);
    xmlFree(v);
    return ok;
}

/* base64 text of a node (XML whitespace dropped) decoded; max = text ceiling. */
static bool
b64_of(const xmlNode *n, size_t max, unsigned char **out, size_t *outlen)
{
    xmlChar *t;
    char *clean;
    size_t k = 0;
    bool ok = false;

    if (n == NULL || (t = xmlNodeGetContent(n)) == NULL)
        return false;
    if (strlen((const char *)t) > max) {
        xmlFree(t);
        return false;
    }
    clean = malloc(strlen((const char *)t) + 1);
    if (clean != NULL) {
        for (const char *s = (const char *)t; *s != '\0'; s++)
            if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
                clean[k++] = *s;
        clean[k] = '\0';
        ok = k > 0 && lj_b64_decode(clean, k, LJ_B64_STD, out, outlen);
        lj_secret_free(clean);
    }
    lj_secure_zero(t, strlen((const char *)t));
    xmlFree(t);
    return ok;
}

/* ---- SOAP envelope ---- */

struct soap {
    xmlDocPtr doc;
    xmlNodePtr header, body, op; /* op = the single element in Body */
    char message_id[128];
};

static void
soap_free(struct soap *s)
{
    if (s->doc != NULL)
        xmlFreeDoc(s->doc);
    memset(s, 0, sizeof(*s));
}

/* Does a:To name this endpoint (https, our host, optional :443, the path)? */
static bool
to_ok(const char *to, const char *path)
{
    const char *p;
    size_t pl = strlen(path);

    if (strncasecmp(to, MDM_BASE, strlen(MDM_BASE)) != 0)
        return false;
    p = to + strlen(MDM_BASE);
    if (strncmp(p, ":443", 4) == 0)
        p += 4;
    return strncasecmp(p, path, pl) == 0 && (p[pl] == '\0' || p[pl] == '?');
}

/*
 * Content type, XML, envelope, header (Action, MessageID, To) and the single
 * body element.  On failure the fault is queued in *res.
 */
static bool
soap_open(struct sim_req *r, const char *action, const char *path, struct soap *s,
          enum MHD_Result *res)
{
    const char *ct = srv_header(r, "Content-Type"), *why = NULL;
    xmlNodePtr root, a;
    char buf[TEXT_MAX];
    unsigned char g[16];

    memset(s, 0, sizeof(*s));
    if (ct == NULL || strncasecmp(ct, "application/soap+xml", 20) != 0 ||
        (ct[20] != '\0' && ct[20] != ';')) {
        *res = fault(r, 415, "s:MessageFormat", "MessageFormat", NULL,
                     "Cannot process the message because the content type '%.100s' was not "
                     "the expected type 'application/soap+xml; charset=utf-8'.",
                     ct != NULL ? ct : "");
        return false;
    }
    s->doc = parse_xml(r, &why);
    if (s->doc == NULL) {
        *res = BAD(r, "%s", why);
        return false;
    }
    root = xmlDocGetRootElement(s->doc);
    if (is_el(root, NS_SOAP11, "Envelope")) {
        *res = BAD(r, "SOAP 1.1 envelopes are not supported; use SOAP 1.2 (%s).", NS_SOAP);
        goto bad;
    }
    if (!is_el(root, NS_SOAP, "Envelope")) {
        *res = BAD(r, "The root element must be a SOAP 1.2 Envelope.");
        goto bad;
    }
    s->header = child(root, NS_SOAP, "Header");
    s->body = child(root, NS_SOAP, "Body");
    if (s->header == NULL || s->body == NULL) {
        *res = BAD(r, "The SOAP envelope needs a Header and a Body.");
        goto bad;
    }
    a = child(s->header, NS_ADDR, "Action");
    if (!text_of(a, buf, sizeof(buf))) {
        *res = BAD(r, "The WS-Addressing Action header is missing.");
        goto bad;
    }
    if (strcmp(buf, action) != 0) {
        *res = fault(r, 500, "a:ActionNotSupported", "MessageFormat", NULL,
                     "The message with Action '%.200s' cannot be processed at the receiver, "
                     "due to a ContractFilter mismatch at the EndpointDispatcher.",
                     buf);
        goto bad;
    }
    if (!text_of(child(s->header, NS_ADDR, "MessageID"), s->message_id, sizeof(s->message_id)) ||
        strncmp(s->message_id, "urn:uuid:", 9) != 0 || !sim_guid_parse(s->message_id + 9, g)) {
        *res = BAD(r, "The WS-Addressing MessageID header must be urn:uuid:<GUID>.");
        goto bad;
    }
    if (!text_of(child(s->header, NS_ADDR, "To"), buf, sizeof(buf)) || !to_ok(buf, path)) {
        *res = BAD(r, "The WS-Addressing To header must be %s%s.", MDM_BASE, path);
        goto bad;
    }
    if (element_children(s->body) != 1) {
        *res = BAD(r, "The SOAP Body must hold exactly one element.");
        goto bad;
    }
    for (s->op = s->body->children; s->op->type != XML_ELEMENT_NODE; s->op = s->op->next)
        ;
    return true;
bad:
    soap_free(s);
    return false;
}

/* Append the response header: Action, ActivityId, RelatesTo. */
static void
reply_head(struct sim_buf *b, struct sim_req *r, const char *action, const struct soap *s,
           const char *extra_ns)
{
    sim_buf_adds(b, "<s:Envelope xmlns:s=\"" NS_SOAP "\" xmlns:a=\"" NS_ADDR "\"");
    if (extra_ns != NULL)
        sim_buf_adds(b, extra_ns);
    sim_buf_adds(b, "><s:Header><a:Action s:mustUnderstand=\"1\">");
    sim_buf_adds(b, action);
    sim_buf_addf(b,
                 "</a:Action><ActivityId CorrelationId=\"%s\" xmlns=\"" NS_DIAG "\">%s"
                 "</ActivityId><a:RelatesTo>",
                 r->correlation_id, r->request_id);
    sim_html_escape(b, s->message_id);
    sim_buf_adds(b, "</a:RelatesTo>");
}

static enum MHD_Result
reply_xml(struct sim_req *r, struct sim_buf *b)
{
    if (b->err) {
        sim_buf_free(b, true);
        return fault(r, 500, "a:InternalServiceFault", "InternalServiceFault", NULL,
                     "The server was unable to process the request due to an internal error.");
    }
    return srv_reply(r, 200, "application/soap+xml; charset=utf-8", sim_buf_take(b, NULL), NULL);
}

/* ---- token ---- */

struct who {
    char oid[37];
    char upn[256];
    char deviceid[64]; /* the token's deviceid claim, "" when it has none */
};

/*
 * Header wsse:Security/wsse:BinarySecurityToken: base64 of a JWT for the
 * enrollment resource.  allow_user_token: the classic ValueType is also
 * accepted (GetPolicies; the reference leaves its JWT ValueType open).
 */
static bool
check_token(struct sim_req *r, const struct soap *s, bool allow_user_token, struct who *w,
            enum MHD_Result *res)
{
    static const char *const auds[] = {
        "https://enrollment.manage.microsoft.com/", "https://enrollment.manage.microsoft.com",
        "d4ebce55-015a-49b5-a083-c84d1797ae8c", /* Microsoft Intune Enrollment */
        "0000000a-0000-0000-c000-000000000000", /* Microsoft Intune */
        NULL};
    xmlNodePtr sec = child(s->header, NS_WSSE, "Security"), bst;
    char vt[256] = "", enc[256] = "", why[160] = "no token", tid[40];
    unsigned char *jwt = NULL;
    size_t jl = 0, spki_len;
    const unsigned char *spki = pki_key_spki(g_sim.token_key, &spki_len);
    struct jwt_info ji;
    struct sim_user *u;
    bool ok = false, user_ok = false;

    bst = child(sec, NS_WSSE, "BinarySecurityToken");
    if (bst == NULL) {
        *res = fault(r, 500, "s:Authentication", "Authentication", NULL,
                     "The security token is missing (wsse:Security/wsse:BinarySecurityToken).");
        return false;
    }
    attr_of(bst, "ValueType", NS_WSSE, vt, sizeof(vt));
    attr_of(bst, "EncodingType", NS_WSSE, enc, sizeof(enc));
    if (strcmp(vt, VT_JWT) != 0 && !(allow_user_token && strcmp(vt, VT_USER_TOKEN) == 0)) {
        *res = BAD(r, "The security token ValueType '%.200s' is not supported; expected %s.", vt,
                   VT_JWT);
        return false;
    }
    if (strcmp(enc, ENC_B64) != 0) {
        *res = BAD(r, "The security token EncodingType must be %s.", ENC_B64);
        return false;
    }
    if (!b64_of(bst, TOKEN_B64_MAX, &jwt, &jl) || jl == 0 || strlen((char *)jwt) != jl) {
        snprintf(why, sizeof(why), "token text is not base64 of a JWT");
        goto out;
    }
    pthread_mutex_lock(&g_sim.lock);
    snprintf(tid, sizeof(tid), "%s", g_sim.t->id);
    pthread_mutex_unlock(&g_sim.lock);
    if (!jwt_verify(spki, spki_len, g_sim.token_kid, (const char *)jwt, auds, tid, &ji, why,
                    sizeof(why)))
        goto out;
    pthread_mutex_lock(&g_sim.lock);
    u = tenant_user_by_oid(g_sim.t, ji.oid);
    user_ok = u != NULL && u->enabled;
    if (u != NULL) {
        snprintf(w->oid, sizeof(w->oid), "%.36s", u->oid);
        snprintf(w->upn, sizeof(w->upn), "%s", u->upn);
        snprintf(w->deviceid, sizeof(w->deviceid), "%s", ji.deviceid);
    }
    pthread_mutex_unlock(&g_sim.lock);
    if (!user_ok) {
        snprintf(why, sizeof(why), "user unknown or disabled");
        goto out;
    }
    ok = true;
out:
    lj_secret_free((char *)jwt);
    if (!ok) {
        lj_log(LJ_LOG_INFO, MOD, "event=token_rejected request_id=%s reason=\"%s\"", r->request_id,
               why);
        *res = fault(r, 500, "s:Authentication", "Authentication", NULL,
                     "The security token could not be validated. Sign in again to get a "
                     "token for https://enrollment.manage.microsoft.com/.");
    }
    return ok;
}

/* ---- discovery ---- */

static enum MHD_Result
discovery(struct sim_req *r)
{
    static const char *const required[] = {"EmailAddress",       "RequestVersion", "DeviceType",
                                           "ApplicationVersion", "OSEdition",      NULL};
    struct soap s;
    enum MHD_Result res = MHD_NO;
    struct sim_buf b = {0};
    xmlNodePtr req, pols;
    char v[TEXT_MAX];
    bool federated = false, policy, crid;
    char host[256];

    if (strcmp(r->method, "GET") == 0)
        return srv_reply(r, 200, "text/html", NULL, NULL);
    if (strcmp(r->method, "POST") != 0) {
        static const char *const allow[] = {"Allow", "GET, POST", NULL};
        return srv_reply(r, 405, "text/plain; charset=utf-8", strdup("Method Not Allowed\n"),
                         allow);
    }
    if (!soap_open(r, ACT_DISCOVER, PATH_DISCOVERY, &s, &res))
        return res;
    if (!is_el(s.op, NS_DISC, "Discover") || (req = child(s.op, NS_DISC, "request")) == NULL) {
        res = BAD(r, "The Body must be Discover/request in namespace %s.", NS_DISC);
        goto out;
    }
    for (size_t i = 0; required[i] != NULL; i++) {
        if (!text_of(child(req, NS_DISC, required[i]), v, 257)) {
            res = BAD(r, "Discover request element %s is missing, empty or too long.", required[i]);
            goto out;
        }
        if (i == 0 && (strchr(v, '@') == NULL || strchr(v, '<') != NULL)) {
            res = BAD(r, "EmailAddress must be an e-mail address.");
            goto out;
        }
        if (i == 1 && strspn(v, "0123456789.") != strlen(v)) {
            res = BAD(r, "%s must be a dotted version number.", required[i]);
            goto out;
        }
        /* [MS-MDE2] 3.1.4.1.3.1: ApplicationVersion is enroll:DottedQuadType. */
        if (i == 3 && !sim_dotted_quad(v)) {
            res = BAD(r, "ApplicationVersion must be a dotted quad (major.minor.build.revision).");
            goto out;
        }
        if (i == 4 && strspn(v, "0123456789") != strlen(v)) {
            res = BAD(r, "OSEdition must be an unsigned integer.");
            goto out;
        }
    }
    pols = child(req, NS_DISC, "AuthPolicies");
    for (xmlNodePtr c = pols != NULL ? pols->children : NULL; c != NULL; c = c->next)
        if (is_el(c, NS_DISC, "AuthPolicy") && text_of(c, v, sizeof(v)) &&
            strcmp(v, "Federated") == 0)
            federated = true;
    if (!federated) {
        res = BAD(r, "No supported AuthPolicy: this server accepts Federated only.");
        goto out;
    }
    pthread_mutex_lock(&g_sim.lock);
    policy = g_sim.t->intune.policy_service;
    crid = g_sim.t->intune.enroll_url_crid;
    snprintf(host, sizeof(host), "%s", g_sim.t->intune.enroll_host);
    pthread_mutex_unlock(&g_sim.lock);
    reply_head(&b, r, ACT_DISCOVER "Response", &s, NULL);
    sim_buf_adds(&b, "</s:Header><s:Body><DiscoverResponse xmlns=\"" NS_DISC "\"><DiscoverResult>"
                     "<AuthPolicy>Federated</AuthPolicy><EnrollmentVersion>4.0"
                     "</EnrollmentVersion>");
    if (policy)
        sim_buf_addf(&b,
                     "<EnrollmentPolicyServiceUrl>https://%s" PATH_POLICY
                     "</EnrollmentPolicyServiceUrl>",
                     host);
    /* Intune's URL carries ?client-request-id= (the OutOfTune capture,
     * AADInternals MDM_utils.ps1); intune.enrollment_url_request_id false
     * leaves it out, to exercise a client that adds one. */
    if (crid)
        sim_buf_addf(&b, "<EnrollmentServiceUrl>https://%s" PATH_ENROLL "?client-request-id=%s",
                     host, r->request_id);
    else
        sim_buf_addf(&b, "<EnrollmentServiceUrl>https://%s" PATH_ENROLL, host);
    sim_buf_adds(&b, "</EnrollmentServiceUrl></DiscoverResult></DiscoverResponse></s:Body>"
                     "</s:Envelope>");
    res = reply_xml(r, &b);
out:
    soap_free(&s);
    return res;
}

/* ---- policy (MS-XCEP) ---- */

static enum MHD_Result
policies(struct sim_req *r)
{
    struct soap s;
    enum MHD_Result res = MHD_NO;
    struct sim_buf b = {0};
    struct who w;

    if (strcmp(r->method, "POST") != 0) {
        static const char *const allow[] = {"Allow", "POST", NULL};
        return srv_reply(r, 405, "text/plain; charset=utf-8", strdup("Method Not Allowed\n"),
                         allow);
    }
    if (!soap_open(r, ACT_POLICY, PATH_POLICY, &s, &res))
        return res;
    if (!check_token(r, &s, true, &w, &res))
        goto out;
    if (!is_el(s.op, NS_XCEP, "GetPolicies") || child(s.op, NS_XCEP, "client") == NULL) {
        res = BAD(r, "The Body must be GetPolicies/client in namespace %s.", NS_XCEP);
        goto out;
    }
    reply_head(&b, r, ACT_POLICY "Response", &s, NULL);
    sim_buf_adds(
        &b, "</s:Header><s:Body xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
            "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><GetPoliciesResponse xmlns=\"" NS_XCEP
            "\"><response><policyID/><policyFriendlyName/><nextUpdateHours xsi:nil=\"true\"/>"
            "<policiesNotChanged xsi:nil=\"true\"/><policies><policy>"
            "<policyOIDReference>0</policyOIDReference><cAs xsi:nil=\"true\"/><attributes>"
            "<commonName>MDMDeviceEnrollment</commonName><policySchema>3</policySchema>"
            "<certificateValidity><validityPeriodSeconds>31536000</validityPeriodSeconds>"
            "<renewalPeriodSeconds>3628800</renewalPeriodSeconds></certificateValidity>"
            "<permission><enroll>true</enroll><autoEnroll>false</autoEnroll></permission>"
            "<privateKeyAttributes><minimalKeyLength>2048</minimalKeyLength>"
            "<keySpec xsi:nil=\"true\"/><keyUsageProperty xsi:nil=\"true\"/>"
            "<permissions xsi:nil=\"true\"/><algorithmOIDReference xsi:nil=\"true\"/>"
            "<cryptoProviders><provider>Microsoft Platform Crypto Provider</provider>"
            "<provider>Microsoft Software Key Storage Provider</provider></cryptoProviders>"
            "</privateKeyAttributes><revision><majorRevision>101</majorRevision>"
            "<minorRevision>0</minorRevision></revision><supersededPolicies xsi:nil=\"true\"/>"
            "<privateKeyFlags xsi:nil=\"true\"/><subjectNameFlags xsi:nil=\"true\"/>"
            "<enrollmentFlags xsi:nil=\"true\"/><generalFlags xsi:nil=\"true\"/>"
            "<hashAlgorithmOIDReference>0</hashAlgorithmOIDReference>"
            "<rARequirements xsi:nil=\"true\"/><keyArchivalAttributes xsi:nil=\"true\"/>"
            "<extensions xsi:nil=\"true\"/></attributes></policy></policies></response>"
            "<cAs xsi:nil=\"true\"/><oIDs><oID><value>2.16.840.1.101.3.4.2.1</value><group>1"
            "</group><oIDReferenceID>0</oIDReferenceID><defaultName>szOID_NIST_sha256"
            "</defaultName></oID><oID><value>1.2.840.113549.1.1.1</value><group>3</group>"
            "<oIDReferenceID>1</oIDReferenceID><defaultName>szOID_RSA_RSA</defaultName></oID>"
            "</oIDs></GetPoliciesResponse></s:Body></s:Envelope>");
    res = reply_xml(r, &b);
out:
    soap_free(&s);
    return res;
}

/* ---- enrollment (MS-WSTEP) ---- */

struct ctx {
    char device_id[37]; /* canonical lower-case GUID */
    char hw_dev_id[130];
    char os_edition[16];
    char os_version[64];
    char enrollment_type[32];
    char manufacturer[SIM_CORP_PART_MAX + 1];
    char model[SIM_CORP_PART_MAX + 1];
    char serial[SIM_CORP_PART_MAX + 1];
    char device_name[128];
};

static bool
all_of(const char *s, const char *set)
{
    return s[0] != '\0' && strspn(s, set) == strlen(s);
}

/* DeviceID as 32 hex digits or a GUID -> canonical lower-case GUID text. */
static bool
device_guid(const char *v, char out[37])
{
    char hex[33];
    size_t k = 0;
    unsigned char g[16];

    if (strlen(v) == 36 && sim_guid_parse(v, g)) {
        for (size_t i = 0; i < 36; i++)
            if (v[i] != '-')
                hex[k++] = v[i];
    } else if (strlen(v) == 32 && all_of(v, "0123456789abcdefABCDEF")) {
        memcpy(hex, v, 32);
        k = 32;
    } else {
        return false;
    }
    hex[k] = '\0';
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    for (char *c = out; *c != '\0'; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    return true;
}

/* Read AdditionalContext into c; on failure *res holds the fault. */
static bool
read_context(struct sim_req *r, xmlNodePtr rst, struct ctx *c, enum MHD_Result *res)
{
    struct {
        const char *name;
        char *dst;
        size_t sz;
        bool required;
    } items[] = {
        {"DeviceID", NULL, 0, true},
        {"HWDevID", c->hw_dev_id, sizeof(c->hw_dev_id), true},
        {"OSEdition", c->os_edition, sizeof(c->os_edition), true},
        {"OSVersion", c->os_version, sizeof(c->os_version), true},
        {"EnrollmentType", c->enrollment_type, sizeof(c->enrollment_type), true},
        {"Manufacturer", c->manufacturer, sizeof(c->manufacturer), false},
        {"DeviceModel", c->model, sizeof(c->model), false},
        {"SerialNumber", c->serial, sizeof(c->serial), false},
        {"DeviceName", c->device_name, sizeof(c->device_name), false},
    };
    enum { NITEMS = sizeof(items) / sizeof(items[0]) };
    bool seen[NITEMS] = {false};
    char device_id[CTX_VALUE_MAX + 1] = "";
    xmlNodePtr ac = child(rst, NS_AC, "AdditionalContext");
    size_t n = 0;

    if (ac == NULL) {
        *res = BAD(r, "ac:AdditionalContext is missing.");
        return false;
    }
    items[0].dst = device_id;
    items[0].sz = sizeof(device_id);
    for (xmlNodePtr it = ac->children; it != NULL; it = it->next) {
        char name[65], val[CTX_VALUE_MAX + 1] = "";
        xmlNodePtr vn;
        if (it->type != XML_ELEMENT_NODE)
            continue;
        if (!is_el(it, NS_AC, "ContextItem") || ++n > CTX_MAX) {
            *res =
                BAD(r, "AdditionalContext must hold at most %d ac:ContextItem elements.", CTX_MAX);
            return false;
        }
        if (!attr_of(it, "Name", NULL, name, sizeof(name)) || name[0] == '\0') {
            *res = BAD(r, "Every ContextItem needs a Name of at most 64 characters.");
            return false;
        }
        vn = child(it, NS_AC, "Value");
        if (vn == NULL) {
            *res = BAD(r, "ContextItem '%s' has no ac:Value.", name);
            return false;
        }
        {
            xmlChar *t = xmlNodeGetContent(vn);
            bool too_long = t != NULL && strlen((const char *)t) > CTX_VALUE_MAX;
            if (t != NULL)
                xmlFree(t);
            if (too_long) {
                *res =
                    BAD(r, "ContextItem '%s' is longer than %d characters.", name, CTX_VALUE_MAX);
                return false;
            }
        }
        text_of(vn, val, sizeof(val));
        for (size_t i = 0; i < NITEMS; i++) {
            if (strcmp(items[i].name, name) != 0 || seen[i])
                continue;
            seen[i] = true;
            if (strlen(val) >= items[i].sz) {
                *res = BAD(r, "ContextItem '%s' is too long.", name);
                return false;
            }
            memcpy(items[i].dst, val, strlen(val) + 1);
        }
    }
    for (size_t i = 0; i < NITEMS; i++) {
        if (items[i].required && (!seen[i] || items[i].dst[0] == '\0')) {
            *res = BAD(r, "AdditionalContext item '%s' is required.", items[i].name);
            return false;
        }
    }
    if (!device_guid(device_id, c->device_id)) {
        *res = BAD(r, "DeviceID must be the Entra device id (32 hex digits or a GUID).");
        return false;
    }
    if (!all_of(c->hw_dev_id, "0123456789abcdefABCDEF")) {
        *res = BAD(r, "HWDevID must be hexadecimal.");
        return false;
    }
    if (!all_of(c->os_edition, "0123456789") || !sim_dotted_quad(c->os_version)) {
        *res = BAD(r, "OSEdition must be an unsigned integer and OSVersion a dotted quad "
                      "(major.minor.build.revision).");
        return false;
    }
    if (strcmp(c->enrollment_type, "Device") != 0) {
        *res = BAD(r,
                   "EnrollmentType '%s' is not supported for an Entra-joined device; "
                   "use Device.",
                   c->enrollment_type);
        return false;
    }
    return true;
}

/* Upper-case SHA-1 thumbprint and base64 DER of a certificate into b. */
static void
cert_node(struct sim_buf *b, const unsigned char *der, size_t len, bool my)
{
    char thumb[41];
    char *e = lj_b64_encode(der, len, LJ_B64_STD, NULL);

    if (e == NULL) {
        b->err = true;
        return;
    }
    pki_thumbprint(der, len, thumb);
    sim_buf_addf(b,
                 "<characteristic type=\"%s\"><parm name=\"EncodedCertificate\" value=\"%s\"/>"
                 "</characteristic>",
                 thumb, e);
    if (my)
        sim_buf_adds(b, "<characteristic type=\"PrivateKeyContainer\"/>");
    free(e);
}

static void
nonce(char *out, size_t outsz)
{
    unsigned char raw[16];
    char *e;

    sim_random(raw, sizeof(raw));
    e = lj_b64_encode(raw, sizeof(raw), LJ_B64_STD, NULL);
    snprintf(out, outsz, "%s", e != NULL ? e : "AAAAAAAAAAAAAAAAAAAAAA==");
    free(e);
}

/* The wap-provisioningdoc (MS-MDE2 2.2.9.1 XML Provisioning Schema). */
static char *
provdoc(const unsigned char *cert, size_t cert_len, const char *intune_id, const char *upn,
        const char *mgmt_url, const char *device_name)
{
    struct sim_buf b = {0};
    char n1[32], n2[32];

    nonce(n1, sizeof(n1));
    nonce(n2, sizeof(n2));
    sim_buf_adds(&b,
                 "<wap-provisioningdoc version=\"1.1\"><characteristic type=\"CertificateStore\">"
                 "<characteristic type=\"Root\"><characteristic type=\"System\">");
    cert_node(&b, g_sim.mdm_root_der, g_sim.mdm_root_len, false);
    sim_buf_adds(&b, "</characteristic></characteristic><characteristic type=\"CA\">"
                     "<characteristic type=\"System\">");
    cert_node(&b, g_sim.mdm_ca_der, g_sim.mdm_ca_len, false);
    sim_buf_adds(&b, "</characteristic></characteristic><characteristic type=\"My\">"
                     "<characteristic type=\"System\">");
    cert_node(&b, cert, cert_len, true);
    sim_buf_adds(&b, "</characteristic><characteristic type=\"WSTEP\"><characteristic "
                     "type=\"Renew\"><parm name=\"ROBOSupport\" value=\"true\" "
                     "datatype=\"boolean\"/><parm name=\"RenewPeriod\" value=\"42\" "
                     "datatype=\"integer\"/><parm name=\"RetryInterval\" value=\"7\" "
                     "datatype=\"integer\"/></characteristic></characteristic>"
                     "</characteristic></characteristic>");
    sim_buf_adds(&b,
                 "<characteristic type=\"APPLICATION\"><parm name=\"APPID\" value=\"w7\"/>"
                 "<parm name=\"PROVIDER-ID\" value=\"" PROVIDER_ID "\"/>"
                 "<parm name=\"NAME\" value=\"Microsoft Intune\"/><parm name=\"ADDR\" value=\"");
    sim_html_escape(&b, mgmt_url);
    sim_buf_addf(&b,
                 "\"/><parm name=\"CONNRETRYFREQ\" value=\"6\"/>"
                 "<parm name=\"INITIALBACKOFFTIME\" value=\"30000\"/>"
                 "<parm name=\"MAXBACKOFFTIME\" value=\"120000\"/>"
                 "<parm name=\"BACKCOMPATRETRYDISABLED\"/>"
                 "<parm name=\"DEFAULTENCODING\" value=\"application/vnd.syncml.dm+xml\"/>"
                 "<parm name=\"SSLCLIENTCERTSEARCHCRITERIA\" value=\"Subject=CN%%3D%s&amp;"
                 "Stores=MY%%5CSystem\"/>"
                 "<characteristic type=\"APPAUTH\"><parm name=\"AAUTHLEVEL\" value=\"CLIENT\"/>"
                 "<parm name=\"AAUTHTYPE\" value=\"DIGEST\"/><parm name=\"AAUTHSECRET\" "
                 "value=\"dummy\"/><parm name=\"AAUTHDATA\" value=\"%s\"/></characteristic>"
                 "<characteristic type=\"APPAUTH\"><parm name=\"AAUTHLEVEL\" value=\"APPSRV\"/>"
                 "<parm name=\"AAUTHTYPE\" value=\"BASIC\"/><parm name=\"AAUTHNAME\" "
                 "value=\"dummy\"/><parm name=\"AAUTHSECRET\" value=\"dummy\"/>"
                 "<parm name=\"AAUTHDATA\" value=\"%s\"/></characteristic></characteristic>",
                 intune_id, n1, n2);
    sim_buf_adds(&b, "<characteristic type=\"DMClient\"><characteristic type=\"Provider\">"
                     "<characteristic type=\"" PROVIDER_ID "\"><parm name=\"UPN\" value=\"");
    sim_html_escape(&b, upn);
    sim_buf_adds(&b, "\" datatype=\"string\"/><parm name=\"EntDeviceName\" value=\"");
    sim_html_escape(&b, device_name);
    sim_buf_adds(&b,
                 "\" datatype=\"string\"/><parm name=\"AADResourceID\" "
                 "value=\"https://manage.microsoft.com/\" datatype=\"string\"/>"
                 "<characteristic type=\"Poll\">"
                 "<parm name=\"NumberOfFirstRetries\" value=\"8\" datatype=\"integer\"/>"
                 "<parm name=\"IntervalForFirstSetOfRetries\" value=\"3\" datatype=\"integer\"/>"
                 "<parm name=\"NumberOfSecondRetries\" value=\"5\" datatype=\"integer\"/>"
                 "<parm name=\"IntervalForSecondSetOfRetries\" value=\"15\" "
                 "datatype=\"integer\"/>"
                 "<parm name=\"NumberOfRemainingScheduledRetries\" value=\"0\" "
                 "datatype=\"integer\"/>"
                 "<parm name=\"IntervalForRemainingScheduledRetries\" value=\"480\" "
                 "datatype=\"integer\"/>"
                 "<parm name=\"PollOnLogin\" value=\"true\" datatype=\"boolean\"/>"
                 "</characteristic></characteristic></characteristic></characteristic>"
                 "</wap-provisioningdoc>");
    if (b.err) {
        sim_buf_free(&b, false);
        return NULL;
    }
    return sim_buf_take(&b, NULL);
}

static void
iso_time(char *buf, size_t n, time_t t)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

enum verdict {
    V_OK,
    V_NO_DEVICE_CLAIM,
    V_OTHER_DEVICE,
    V_NO_DEVICE,
    V_NOT_JOINED,
    V_USER,
    V_SCOPE,
    V_LICENSE,
    V_PLATFORM,
    V_OWNERSHIP,
    V_CAP,
    V_FULL
};

static enum MHD_Result
enroll(struct sim_req *r)
{
    struct soap s;
    struct ctx c;
    struct who w;
    enum MHD_Result res = MHD_NO;
    xmlNodePtr rst, bst;
    char v[TEXT_MAX], vt[256] = "", enc[256] = "", why[200], intune_id[37] = "";
    char mgmt[600] = "", tstamp[40], texp[40], thumb[41];
    unsigned char *csr = NULL, *cert = NULL;
    size_t csr_len = 0, cert_len = 0;
    struct der spki;
    const char *missing = NULL;
    unsigned long limit = 0;
    bool corporate = false, reenroll = false;
    enum verdict verdict = V_OK;
    char *doc = NULL, *doc64 = NULL;
    struct sim_buf b = {0};
    time_t now = time(NULL);

    memset(&c, 0, sizeof(c));
    if (strcmp(r->method, "POST") != 0) {
        static const char *const allow[] = {"Allow", "POST", NULL};
        return srv_reply(r, 405, "text/plain; charset=utf-8", strdup("Method Not Allowed\n"),
                         allow);
    }
    if (!soap_open(r, ACT_RST, PATH_ENROLL, &s, &res))
        return res;
    if (!check_token(r, &s, false, &w, &res))
        goto out;
    rst = s.op;
    if (!is_el(rst, NS_WST, "RequestSecurityToken")) {
        res = BAD(r, "The Body must be wst:RequestSecurityToken (%s).", NS_WST);
        goto out;
    }
    if (!text_of(child(rst, NS_WST, "TokenType"), v, sizeof(v)) || strcmp(v, TT_ENROLL) != 0) {
        res = BAD(r, "wst:TokenType must be %s.", TT_ENROLL);
        goto out;
    }
    if (!text_of(child(rst, NS_WST, "RequestType"), v, sizeof(v)) ||
        (strcmp(v, RT_ISSUE) != 0 && strcmp(v, RT_RENEW) != 0)) {
        res = BAD(r, "wst:RequestType must be %s.", RT_ISSUE);
        goto out;
    }
    if (strcmp(v, RT_RENEW) == 0) {
        res = BAD(r, "Certificate renewal (RequestType Renew) is not supported by this server.");
        goto out;
    }
    bst = child(rst, NS_WSSE, "BinarySecurityToken");
    if (bst != NULL) {
        attr_of(bst, "ValueType", NS_WSSE, vt, sizeof(vt));
        attr_of(bst, "EncodingType", NS_WSSE, enc, sizeof(enc));
    }
    if (bst == NULL || strcmp(vt, VT_PKCS10) != 0 || strcmp(enc, ENC_B64) != 0) {
        res = BAD(r,
                  "The certificate request must be a wsse:BinarySecurityToken with "
                  "ValueType %s and EncodingType %s.",
                  VT_PKCS10, ENC_B64);
        goto out;
    }
    if (!b64_of(bst, CSR_B64_MAX, &csr, &csr_len)) {
        res = BAD(r, "The certificate request is not base64 of a DER PKCS#10 request.");
        goto out;
    }
    if (!pki_csr_check(csr, csr_len, NULL, &spki, why, sizeof(why))) {
        res = BAD(r, "The certificate request is invalid: %s.", why);
        goto out;
    }
    if (!read_context(r, rst, &c, &res))
        goto out;

    pthread_mutex_lock(&g_sim.lock);
    {
        struct sim_tenant *t = g_sim.t;
        struct sim_user *u = tenant_user_by_oid(t, w.oid);
        struct sim_device *d = state_device_by_id(c.device_id);
        struct sim_enrollment *e = state_enrollment_by_device(c.device_id);
        limit = t->intune.device_limit;
        snprintf(mgmt, sizeof(mgmt), "%s", t->intune.mgmt_url);
        corporate = tenant_corp_id_match(t, c.manufacturer, c.model, c.serial);
        if (t->intune.require_device_claim && w.deviceid[0] == '\0')
            verdict = V_NO_DEVICE_CLAIM;
        else if (t->intune.require_device_claim && !sim_streq_ci(w.deviceid, c.device_id))
            verdict = V_OTHER_DEVICE;
        else if (d == NULL || !d->ready)
            verdict = V_NO_DEVICE;
        else if (d->join_type != 0)
            verdict = V_NOT_JOINED;
        else if (u == NULL || !u->enabled)
            verdict = V_USER;
        else if (!tenant_mdm_in_scope(t, u))
            verdict = V_SCOPE;
        else if (!tenant_mdm_licensed(u, &missing))
            verdict = V_LICENSE;
        else if (t->intune.windows_blocked)
            verdict = V_PLATFORM;
        else if (t->intune.block_personal && !corporate)
            verdict = V_OWNERSHIP;
        else if (e == NULL && state_user_enrollments(u->oid, c.device_id) >= limit)
            verdict = V_CAP;
        if (verdict == V_OK && e != NULL) {
            reenroll = true;
            snprintf(intune_id, sizeof(intune_id), "%s", e->id);
        }
    }
    pthread_mutex_unlock(&g_sim.lock);
    switch (verdict) {
    /*
     * The token must be device-authenticated: AADInternals Join-DeviceToIntune refuses to
     * enroll without a deviceid claim, and pytune gets its Intune token through the PRT.
     * What Intune answers to a token without one has no public capture; this is the
     * closest MS-MDE2 fault (Authentication, 0x80180002: the server failed to
     * authenticate the caller).
     */
    case V_NO_DEVICE_CLAIM:
        res = fault(r, 500, "s:Authentication", "Authentication", NULL,
                    "The security token is not device-authenticated: it has no deviceid claim. "
                    "Get the token for https://enrollment.manage.microsoft.com/ with the "
                    "device's Primary Refresh Token.");
        goto out;
    case V_OTHER_DEVICE:
        res = fault(r, 500, "s:Authentication", "Authentication", NULL,
                    "The security token was issued to device %s, not to the device %s named "
                    "in the request.",
                    w.deviceid, c.device_id);
        goto out;
    case V_NO_DEVICE:
        res = fault(r, 500, "s:Authorization", "Authorization", NULL,
                    "The device %s is not registered in Microsoft Entra ID for this tenant.",
                    c.device_id);
        goto out;
    case V_NOT_JOINED:
        res = fault(r, 500, "s:Authorization", "Authorization", NULL,
                    "The device %s is registered but not Microsoft Entra joined; "
                    "EnrollmentType Device needs a joined device.",
                    c.device_id);
        goto out;
    case V_USER:
        res = fault(r, 500, "s:Authentication", "Authentication", NULL,
                    "The user account is unknown or disabled.");
        goto out;
    case V_SCOPE:
        res = fault(r, 500, "s:Authorization", "Authorization", NULL,
                    "User %s is not in the MDM user scope (Microsoft Entra ID > Mobility (MDM "
                    "and WIP) > Microsoft Intune), so automatic MDM enrollment is not "
                    "configured for this user.",
                    w.upn);
        goto out;
    case V_LICENSE:
        res = fault(r, 500, "s:Authorization", "UserLicense", NULL,
                    "Failed to issue token: UserValidation. User %s has no %s license, which "
                    "automatic MDM enrollment requires.",
                    w.upn, missing);
        goto out;
    case V_PLATFORM:
        res = fault(r, 500, "s:Authorization", "DeviceNotSupported", NULL,
                    "Windows (MDM) platform is blocked by an enrollment restriction: your "
                    "organization does not support this version of Windows.");
        goto out;
    case V_OWNERSHIP:
        res = fault(r, 500, "s:Authorization", "DeviceNotSupported", NULL,
                    "Device Identifier not preregistered. Personally owned Windows devices "
                    "are blocked by an enrollment restriction and this device (ownership "
                    "Unknown) matches no corporate identifier: manufacturer '%s', model '%s', "
                    "serial '%s'.",
                    c.manufacturer, c.model, c.serial);
        goto out;
    case V_CAP:
        res = fault(r, 500, "s:DeviceCapReached", "DeviceCapReached", NULL,
                    "User %s has reached the maximum number of devices (%lu) allowed to "
                    "enroll in Microsoft Intune.",
                    w.upn, limit);
        goto out;
    case V_FULL:
    case V_OK: break;
    }
    if (intune_id[0] == '\0')
        sim_guid_new(intune_id);
    if (pki_issue_mdm_client(g_sim.mdm_ca_key, g_sim.mdm_ca_der, g_sim.mdm_ca_len, intune_id,
                             spki.p, spki.n, &cert, &cert_len) != LJ_OK) {
        res = fault(r, 500, "s:CertificateAuthority", "CertificateAuthority", NULL,
                    "The MDM certificate could not be issued.");
        goto out;
    }
    pki_thumbprint(cert, cert_len, thumb);
    /* Record (or refresh) the enrollment. */
    pthread_mutex_lock(&g_sim.lock);
    {
        struct sim_enrollment *e = state_enrollment_by_device(c.device_id);
        bool added = true;
        if (e == NULL) {
            e = calloc(1, sizeof(*e));
            if (e != NULL && !state_add_enrollment(e)) {
                free(e);
                e = NULL;
            }
        }
        if (e == NULL) {
            added = false;
        } else {
            snprintf(e->id, sizeof(e->id), "%s", intune_id);
            snprintf(e->device_id, sizeof(e->device_id), "%s", c.device_id);
            snprintf(e->user_oid, sizeof(e->user_oid), "%s", w.oid);
            snprintf(e->upn, sizeof(e->upn), "%s", w.upn);
            snprintf(e->manufacturer, sizeof(e->manufacturer), "%s", c.manufacturer);
            snprintf(e->model, sizeof(e->model), "%s", c.model);
            snprintf(e->serial, sizeof(e->serial), "%s", c.serial);
            snprintf(e->os_version, sizeof(e->os_version), "%s", c.os_version);
            snprintf(e->os_edition, sizeof(e->os_edition), "%s", c.os_edition);
            snprintf(e->device_name, sizeof(e->device_name), "%s", c.device_name);
            snprintf(e->hw_dev_id, sizeof(e->hw_dev_id), "%s", c.hw_dev_id);
            snprintf(e->thumbprint, sizeof(e->thumbprint), "%s", thumb);
            e->corporate = corporate;
            e->created = now;
            e->count++;
        }
        if (!added)
            verdict = V_FULL;
    }
    pthread_mutex_unlock(&g_sim.lock);
    if (verdict == V_FULL) {
        res = fault(r, 500, "a:InternalServiceFault", "InternalServiceFault", NULL,
                    "The server was unable to process the request due to an internal error.");
        goto out;
    }
    lj_log(LJ_LOG_INFO, MOD,
           "event=enrolled intune_id=%s device_id=%s upn=%s reenroll=%d "
           "corporate=%d",
           intune_id, c.device_id, w.upn, reenroll, corporate);
    doc = provdoc(cert, cert_len, intune_id, w.upn, mgmt,
                  c.device_name[0] != '\0' ? c.device_name : c.device_id);
    doc64 = doc != NULL ? lj_b64_encode(doc, strlen(doc), LJ_B64_STD, NULL) : NULL;
    if (doc64 == NULL) {
        res = fault(r, 500, "a:InternalServiceFault", "InternalServiceFault", NULL,
                    "The server was unable to process the request due to an internal error.");
        goto out;
    }
    iso_time(tstamp, sizeof(tstamp), now);
    iso_time(texp, sizeof(texp), now + 300);
    reply_head(&b, r, ACT_RSTRC, &s, " xmlns:u=\"" NS_WSU "\"");
    sim_buf_addf(&b,
                 "<o:Security s:mustUnderstand=\"1\" xmlns:o=\"" NS_WSSE "\">"
                 "<u:Timestamp u:Id=\"_0\"><u:Created>%s</u:Created><u:Expires>%s"
                 "</u:Expires></u:Timestamp></o:Security></s:Header><s:Body>"
                 "<RequestSecurityTokenResponseCollection xmlns=\"" NS_WST "\">"
                 "<RequestSecurityTokenResponse><TokenType>" TT_ENROLL "</TokenType>"
                 "<DispositionMessage xmlns=\"" NS_PKI "\"/><RequestedSecurityToken>"
                 "<BinarySecurityToken ValueType=\"" VT_PROVDOC "\" EncodingType=\"" ENC_B64
                 "\" xmlns=\"" NS_WSSE "\">",
                 tstamp, texp);
    sim_buf_adds(&b, doc64);
    sim_buf_adds(&b, "</BinarySecurityToken></RequestedSecurityToken><RequestID xmlns=\"" NS_PKI
                     "\">0</RequestID></RequestSecurityTokenResponse>"
                     "</RequestSecurityTokenResponseCollection></s:Body></s:Envelope>");
    res = reply_xml(r, &b);
out:
    soap_free(&s);
    free(csr);
    free(cert);
    free(doc);
    free(doc64);
    return res;
}

/* ---- routing ---- */

bool
mdm_is_path(const char *path)
{
    return strncasecmp(path, PATH_DISCOVERY, strlen(PATH_DISCOVERY)) == 0 ||
           strncasecmp(path, "/StatelessEnrollmentService/", 28) == 0;
}

bool
mdm_route(struct sim_req *r, enum MHD_Result *res)
{
    if (strcasecmp(r->path, PATH_DISCOVERY) == 0)
        *res = discovery(r);
    else if (strcasecmp(r->path, PATH_POLICY) == 0)
        *res = policies(r);
    else if (strcasecmp(r->path, PATH_ENROLL) == 0)
        *res = enroll(r);
    else
        return false;
    return true;
}
