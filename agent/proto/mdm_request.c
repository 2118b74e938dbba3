/*
 * mdm_request.c — the three requests of Intune enrollment: the MS-MDE2
 * Discover, the MS-XCEP GetPolicies and the MS-WSTEP RequestSecurityToken
 * with its AdditionalContext.  Every field is checked before use.  Requests
 * are written with xmlTextWriter, so every value is escaped by libxml2; the
 * access token alone never enters libxml2 (its buffers are freed without
 * wiping): the writer emits a comment marker that cannot come from escaped
 * text, and the base64 token is spliced into one exact-size buffer the
 * caller wipes.
 */
#include "agent/proto/mdm_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlwriter.h>

#include "platform/common/b64.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "platform/common/text.h"

/* ---- request-only value checks ---- */

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
ok_jwt(const char *t)
{
    return mdm_all_chars(t, 16, MDM_MAX_TOKEN, "._-");
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
    if (!mdm_ok_url(url) || !ok_msgid(r->message_id) || !mdm_ok_text(r->upn, MAX_FIELD) ||
        !lj_is_dotted_quad(r->os_version) || !ok_digits(edition) ||
        !mdm_all_chars(dtype, 1, 64, "_-"))
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
    if (!mdm_ok_url(r->url) || !ok_msgid(r->message_id) || !ok_jwt(r->access_token))
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
    return s == NULL || s[0] == '\0' || mdm_ok_text(s, MAX_FIELD);
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
    if (!mdm_ok_url(r->url) || !ok_msgid(r->message_id) || !ok_jwt(r->access_token) ||
        r->csr_der == NULL || r->csr_len < 16 || r->csr_len > MDM_MAX_CSR ||
        r->csr_der[0] != 0x30 || !lj_is_guid(r->device_id) || !lj_is_dotted_quad(r->os_version) ||
        !ok_digits(edition) || !mdm_all_chars(dtype, 1, 64, "_-") ||
        !mdm_all_chars(locale, 2, 16, "-") ||
        (r->device_name != NULL && !mdm_ok_text(r->device_name, MAX_FIELD)) ||
        !opt_ok(r->manufacturer) || !opt_ok(r->model) || !opt_ok(r->serial))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_enroll_request");
    guid_hex(r->device_id, devid);
    if (r->hw_dev_id != NULL) {
        if (strlen(r->hw_dev_id) != 64 || !mdm_all_chars(r->hw_dev_id, 64, 64, ""))
            return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_enroll_request field=HWDevID");
        for (int i = 0; i < 64; i++)
            if (!isxdigit((unsigned char)r->hw_dev_id[i]))
                return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_enroll_request field=HWDevID");
        snprintf(hwid, sizeof(hwid), "%s", r->hw_dev_id);
    } else {
        /* AADInternals' derivation (MDM_utils.ps1): device id + tenant id */
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
