/*
 * mdm_int.h — private to agent/proto/mdm_*.c: the namespaces and fixed URIs
 * of Intune enrollment (MS-MDE2 discovery, MS-XCEP GetPolicies, MS-WSTEP
 * RequestSecurityToken) and the helpers the message files share.  The
 * public API is mdm.h; nothing outside agent/proto/mdm_*.c includes this.
 *
 * Where each part lives:
 *   mdm_text.c      value checks, refusal names and their rc, message ids
 *   mdm_xml.c       hardened XML loading, tree access, the SOAP envelope
 *   mdm_discover.c  discovery answer (MS-MDE2) and policy answer (MS-XCEP)
 *   mdm_provdoc.c   enrollment answer (MS-WSTEP) and its verified
 *                   provisioning document (MS-MDE2)
 *   mdm_fault.c     SOAP faults and the Windows HRESULT they map to
 *   mdm_request.c   the three requests, written with xmlTextWriter
 */
#ifndef LJ_MDM_INT_H
#define LJ_MDM_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "agent/proto/mdm.h"

#define MOD "mdm"
#define MAX_FIELD 256u

/* ---- namespaces and fixed URIs (MS-MDE2, MS-XCEP, MS-WSTEP) ---- */

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

/* The token marker (requests): starts with '<', which escaped text never contains. */
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

/* ---- mdm_text.c: value checks ---- */

/* Valid UTF-8 (no overlongs, no surrogates) without control characters, 1..max bytes. */
bool mdm_ok_text(const char *s, size_t max);
/* min..max characters, each alphanumeric or in set. */
bool mdm_all_chars(const char *s, size_t min, size_t max, const char *set);
/* A dotted version number ("10.0.26100.1"). */
bool mdm_ok_version(const char *v);
/* An https URL we may call (drs_url_is_https, at most MDM_MAX_URL). */
bool mdm_ok_url(const char *u);
/* Copy at most dstsz-1 bytes of src into dst, control characters blanked. */
void mdm_copy_text(char *dst, size_t dstsz, const char *src);
/*
 * Log the refusal of what ("discovery", "policy", ...) and return its rc;
 * *why (may be NULL) gets r.  MDM_REJECT_NONE returns LJ_OK and logs nothing.
 */
enum lj_rc mdm_refuse(const char *what, enum mdm_reject r, enum mdm_reject *why);

/* ---- mdm_xml.c: loading and tree access ---- */

/*
 * Parse len bytes of buf (at most max) with the hardened loader into *out;
 * the caller frees *out with xmlFreeDoc.  Returns the refusal,
 * MDM_REJECT_NONE on success (only then is *out set).
 */
enum mdm_reject mdm_xml_load(const char *buf, size_t len, size_t max, xmlDocPtr *out);
/* n is an element named name (case-insensitive) in one of the namespaces ns;
 * ns_none (first entry NULL) means no namespace. */
bool mdm_is_el(xmlNodePtr n, const char *const *ns, const char *name);
/* n is an element named name, any namespace (faults only). */
bool mdm_is_named(xmlNodePtr n, const char *name);
/* The first element child of p matching ns/name; NULL when none (or p NULL). */
xmlNodePtr mdm_child(xmlNodePtr p, const char *const *ns, const char *name);
/* The first element child of p named name, any namespace. */
xmlNodePtr mdm_child_any_ns(xmlNodePtr p, const char *name);
/* The first element child of p (may be NULL). */
xmlNodePtr mdm_first_element(xmlNodePtr p);
/* The trimmed text of n into dst; false when n has element children or it does not fit. */
bool mdm_node_text(xmlNodePtr n, char *dst, size_t dstsz);
/* An attribute without namespace, or in ns; NULL when absent or not plain text.
 * The pointer is into the tree (not to be freed). */
const xmlChar *mdm_attr_raw(xmlNodePtr n, const char *name, const char *ns);
/*
 * Open a SOAP envelope: *payload gets the Body's first element (a pointer
 * into doc).  A Fault is MDM_REJECT_FAULT; RelatesTo must equal msgid when
 * both are present; activity (actsz bytes, may be NULL) gets the
 * diagnostics ActivityId or "".
 */
enum mdm_reject mdm_soap_open(xmlDocPtr doc, const char *msgid, xmlNodePtr *payload, char *activity,
                              size_t actsz);

#endif
