/*
 * mdm_xml.c — loading untrusted XML and walking the tree, for every Intune
 * enrollment answer (MS-MDE2, MS-XCEP, MS-WSTEP, SOAP 1.2 and 1.1 faults).
 *
 * Every answer is untrusted XML from the network, so it goes through one
 * loader (mdm_xml_load) that refuses before libxml2 sees it what a SOAP
 * message never needs: a body over its ceiling, NUL bytes, and any DOCTYPE
 * or ENTITY declaration (the simplest complete defence against entity bombs
 * and external entities on libxml2 2.9.14, which has no XML_PARSE_NO_XXE).
 * The parser then runs with network access off, entity substitution off (no
 * XML_PARSE_NOENT), no DTD loading, no HUGE, the encoding forced to UTF-8, a
 * SAX hook that stops the parse should a DOCTYPE slip past the scan, and the
 * element depth is checked after the parse (libxml2's own limit of 256
 * bounds the recursion before that).  Elements are found by namespace URI +
 * local name, never by prefix.
 */
#include "agent/proto/mdm_int.h"

#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

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
enum mdm_reject
mdm_xml_load(const char *buf, size_t len, size_t max, xmlDocPtr *out)
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
bool
mdm_is_el(xmlNodePtr n, const char *const *ns, const char *name)
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
bool
mdm_is_named(xmlNodePtr n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE &&
           xmlStrcasecmp(n->name, (const xmlChar *)name) == 0;
}

xmlNodePtr
mdm_child(xmlNodePtr p, const char *const *ns, const char *name)
{
    if (p == NULL)
        return NULL;
    for (xmlNodePtr c = p->children; c != NULL; c = c->next)
        if (mdm_is_el(c, ns, name))
            return c;
    return NULL;
}

xmlNodePtr
mdm_child_any_ns(xmlNodePtr p, const char *name)
{
    if (p == NULL)
        return NULL;
    for (xmlNodePtr c = p->children; c != NULL; c = c->next)
        if (mdm_is_named(c, name))
            return c;
    return NULL;
}

xmlNodePtr
mdm_first_element(xmlNodePtr p)
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
bool
mdm_node_text(xmlNodePtr n, char *dst, size_t dstsz)
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
const xmlChar *
mdm_attr_raw(xmlNodePtr n, const char *name, const char *ns)
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
enum mdm_reject
mdm_soap_open(xmlDocPtr doc, const char *msgid, xmlNodePtr *payload, char *activity, size_t actsz)
{
    xmlNodePtr env = xmlDocGetRootElement(doc), hdr, body, p, n;
    char buf[256];

    if (!mdm_is_el(env, ns_soap, "Envelope"))
        return MDM_REJECT_NOT_SOAP;
    body = mdm_child(env, ns_soap, "Body");
    if (body == NULL)
        return MDM_REJECT_NOT_SOAP;
    p = mdm_first_element(body);
    if (p == NULL)
        return MDM_REJECT_MISSING;
    if (mdm_is_el(p, ns_soap, "Fault"))
        return MDM_REJECT_FAULT;
    hdr = mdm_child(env, ns_soap, "Header");
    if ((n = mdm_child(hdr, ns_addr, "RelatesTo")) != NULL && msgid != NULL) {
        if (!mdm_node_text(n, buf, sizeof(buf)) || strcasecmp(buf, msgid) != 0)
            return MDM_REJECT_RELATES_TO;
    }
    if (activity != NULL) {
        activity[0] = '\0';
        n = mdm_child(hdr, ns_diag, "ActivityId");
        if (n != NULL && mdm_node_text(n, buf, sizeof(buf)) && mdm_ok_text(buf, actsz - 1))
            mdm_copy_text(activity, actsz, buf);
    }
    *payload = p;
    return MDM_REJECT_NONE;
}
