/*
 * fuzz_mdm_discovery — mdm_discover_parse (MS-MDE2 DiscoverResponse, SOAP
 * via libxml2 behind size/depth/DOCTYPE limits), without and with the
 * RelatesTo check against the sample's MessageID.  Accepted answers must
 * carry an https enrollment URL; refusals must name a reason.
 */
#include "tests/fuzz/fuzz.h"

#include "agent/proto/mdm.h"

static void
one(const uint8_t *data, size_t size, const char *msgid)
{
    struct mdm_discovery d;
    enum mdm_reject why = MDM_REJECT_COUNT__;

    lj_err_clear();
    if (mdm_discover_parse((const char *)data, size, msgid, &d, &why) != LJ_OK) {
        FUZZ_CHECK(why > MDM_REJECT_NONE && why < MDM_REJECT_COUNT__);
        FUZZ_CHECK(mdm_reject_name(why) != NULL);
        return;
    }
    FUZZ_CHECK(why == MDM_REJECT_NONE);
    FUZZ_TERMINATED(d.auth_policy);
    FUZZ_TERMINATED(d.enrollment_version);
    FUZZ_TERMINATED(d.enrollment_service_url);
    FUZZ_TERMINATED(d.enrollment_policy_service_url);
    FUZZ_TERMINATED(d.authentication_service_url);
    FUZZ_TERMINATED(d.activity_id);
    FUZZ_CHECK(strncasecmp(d.enrollment_service_url, "https://", 8) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, NULL);
    one(data, size, "urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478");
    return 0;
}
