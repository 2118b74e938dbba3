/*
 * mdm_fault.c — SOAP faults of the Intune enrollment services (MS-MDE2
 * faults; SOAP 1.2 and 1.1 shapes) and the Windows HRESULT each maps to.
 * Any answer is looked at here first, whatever its HTTP status; the body
 * kind (empty, HTML, SOAP, fault) lets the caller tell a portal page from
 * the service.
 */
#include "agent/proto/mdm_int.h"

#include <string.h>

#include <libxml/tree.h>

#include "platform/common/log.h"
#include "platform/common/text.h"

/* ---- faults ---- */

unsigned long
mdm_fault_hresult(const char *error_type, const char *subcode, const char *reason)
{
    static const struct {
        const char *sub;
        unsigned long hr;
    } map[] = {
        /* Windows' order (its client's fault-to-HRESULT conversion, as publicly
         * reverse-engineered; codes from MDMRegistration.h): the first hit wins. */
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
    unsigned long hr, sub_hr;

    /* MS-DVRE 4.1.3 (its WindowsDeviceEnrollmentServiceError example) pairs
     * the class-wide ErrorType AuthorizationError with the specific Subcode
     * s:DeviceCapReached; Intune's captures (pytune's author's blog,
     * windows-itpro-docs mobile-device-enrollment.md) pair s:Authorization with
     * the specific ErrorType DeviceNotSupported.  The specific name wins: a
     * generic ErrorType (one of the 0x80180001-0x80180008 classes) yields to a
     * Subcode that names a specific condition. */
    if (key != subcode && subcode != NULL && subcode[0] != '\0') {
        hr = mdm_fault_hresult(error_type, NULL, reason);
        sub_hr = mdm_fault_hresult(NULL, subcode, reason);
        if (hr <= 0x80180008UL && sub_hr > 0x80180008UL)
            return sub_hr;
        return hr;
    }

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
        mdm_copy_text(dst, dstsz, s);
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
    if (mdm_xml_load(body, len, MDM_MAX_BODY, &doc) != MDM_REJECT_NONE)
        goto out;
    env = xmlDocGetRootElement(doc);
    if (mdm_is_named(env, "html")) {
        f.kind = MDM_BODY_HTML;
        goto out;
    }
    if (!mdm_is_el(env, ns_soap, "Envelope") || (bodyel = mdm_child(env, ns_soap, "Body")) == NULL)
        goto out;
    hdr = mdm_child(env, ns_soap, "Header");
    fault_text(mdm_child(hdr, ns_diag, "ActivityId"), f.activity_id, sizeof(f.activity_id));
    fault = mdm_child(bodyel, ns_soap, "Fault");
    if (fault == NULL) {
        f.kind = MDM_BODY_SOAP;
        goto out;
    }
    f.kind = MDM_BODY_FAULT;
    if ((code = mdm_child(fault, ns_soap, "Code")) != NULL) {
        /* SOAP 1.2 */
        fault_text(mdm_child(code, ns_soap, "Value"), f.code, sizeof(f.code));
        fault_text(mdm_child(mdm_child(code, ns_soap, "Subcode"), ns_soap, "Value"), f.subcode,
                   sizeof(f.subcode));
        fault_text(mdm_child(mdm_child(fault, ns_soap, "Reason"), ns_soap, "Text"), f.reason,
                   sizeof(f.reason));
        det = mdm_child(fault, ns_soap, "Detail");
    } else {
        /* SOAP 1.1: unqualified faultcode / faultstring / detail */
        fault_text(mdm_child_any_ns(fault, "faultcode"), f.subcode, sizeof(f.subcode));
        fault_text(mdm_child_any_ns(fault, "faultstring"), f.reason, sizeof(f.reason));
        det = mdm_child_any_ns(fault, "detail");
    }
    /* Intune names the detail DeviceEnrollmentServiceError (pytune's author's
     * fault captures; windows-itpro-docs mobile-device-enrollment.md); MS-WSTEP
     * and MS-DVRE 3.1.4.1.2.1 / 4.1.3 define WindowsDeviceEnrollmentServiceError
     * with the same ErrorType / Message / TraceId children.  Either is read. */
    n = mdm_child_any_ns(det, "DeviceEnrollmentServiceError");
    if (n == NULL)
        n = mdm_child_any_ns(det, "WindowsDeviceEnrollmentServiceError");
    fault_text(mdm_child_any_ns(n, "ErrorType"), f.error_type, sizeof(f.error_type));
    fault_text(mdm_child_any_ns(n, "Message"), f.message, sizeof(f.message));
    fault_text(mdm_child_any_ns(n, "TraceId"), f.trace_id, sizeof(f.trace_id));
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
