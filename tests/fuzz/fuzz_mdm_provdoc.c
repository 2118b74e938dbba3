/*
 * fuzz_mdm_provdoc — the wap-provisioningdoc part of mdm_enroll_parse: the
 * input is the decoded document; the harness base64-encodes it into a
 * fixed, valid RSTR envelope (as Intune sends it) so every input reaches
 * the provisioning-document parser and the certificate checks.  Verified
 * against the tests/data/mdm client key (mdm_key.h).
 */
#include "tests/fuzz/fuzz.h"

#include "agent/proto/mdm.h"
#include "platform/common/b64.h"
#include "tests/fuzz/mdm_key.h"

static const char head[] =
    "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
    "xmlns:a=\"http://www.w3.org/2005/08/addressing\"><s:Header><a:Action "
    "s:mustUnderstand=\"1\">http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RSTRC/"
    "wstep</a:Action></s:Header><s:Body><RequestSecurityTokenResponseCollection "
    "xmlns=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512\"><RequestSecurityTokenResponse>"
    "<TokenType>http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/"
    "DeviceEnrollmentToken</TokenType><RequestedSecurityToken><BinarySecurityToken "
    "ValueType=\"http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/"
    "DeviceEnrollmentProvisionDoc\" EncodingType=\"http://docs.oasis-open.org/wss/2004/01/"
    "oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary\" "
    "xmlns=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\">";
static const char tail[] =
    "</BinarySecurityToken></RequestedSecurityToken>"
    "</RequestSecurityTokenResponse></RequestSecurityTokenResponseCollection>"
    "</s:Body></s:Envelope>";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mdm_enroll_verify v;
    struct mdm_enrollment e;
    enum mdm_reject why = MDM_REJECT_COUNT__;
    char *b64, *body;
    size_t blen, n;

    if (size > MDM_MAX_PROVDOC + 16)
        return 0;
    lj_err_clear();
    b64 = lj_b64_encode(data, size, LJ_B64_STD, &blen);
    FUZZ_CHECK(b64 != NULL);
    n = sizeof(head) - 1 + blen + sizeof(tail) - 1;
    body = malloc(n + 1);
    FUZZ_CHECK(body != NULL);
    memcpy(body, head, sizeof(head) - 1);
    memcpy(body + sizeof(head) - 1, b64, blen);
    memcpy(body + sizeof(head) - 1 + blen, tail, sizeof(tail));
    memset(&v, 0, sizeof(v));
    v.key.spki_der = mdm_key_spki;
    v.key.spki_len = sizeof(mdm_key_spki);
    v.now = MDM_KEY_NOW;
    if (mdm_enroll_parse(body, n, &v, &e, &why) == LJ_OK) {
        FUZZ_CHECK(why == MDM_REJECT_NONE);
        FUZZ_CHECK(e.provdoc_len == size && memcmp(e.provdoc, data, size) == 0);
        FUZZ_CHECK(strncasecmp(e.mgmt_url, "https://", 8) == 0);
        mdm_enrollment_free(&e);
    } else {
        FUZZ_CHECK(why > MDM_REJECT_NONE && why < MDM_REJECT_COUNT__);
    }
    free(body);
    free(b64);
    return 0;
}
