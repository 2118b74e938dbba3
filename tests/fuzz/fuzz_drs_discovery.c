/*
 * fuzz_drs_discovery — drs_discovery_parse (the DRS Discover answer) against
 * the default DRS base or a local one (first input byte), then
 * drs_join_url on the result.  Every field must be terminated; the join
 * endpoint must be https.
 */
#include "tests/fuzz/fuzz.h"

#include "agent/proto/drs.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const bases[] = {NULL, "https://127.0.0.1:8443",
                                        "https://enterpriseregistration.windows.net"};
    struct drs_discovery d;
    char *url = NULL;

    if (size < 1)
        return 0;
    lj_err_clear();
    if (drs_discovery_parse((const char *)data + 1, size - 1, bases[data[0] % 3], &d) != LJ_OK)
        return 0;
    FUZZ_TERMINATED(d.join_endpoint);
    FUZZ_TERMINATED(d.join_resource_id);
    FUZZ_TERMINATED(d.join_service_version);
    FUZZ_TERMINATED(d.tenant_id);
    FUZZ_TERMINATED(d.tenant_name);
    FUZZ_TERMINATED(d.tenant_display_name);
    FUZZ_TERMINATED(d.mdm_endpoint);
    FUZZ_TERMINATED(d.mdm_resource_id);
    FUZZ_TERMINATED(d.mdm_service_version);
    FUZZ_TERMINATED(d.auth_code_endpoint);
    FUZZ_TERMINATED(d.token_endpoint);
    FUZZ_CHECK(strncasecmp(d.join_endpoint, "https://", 8) == 0);
    if (drs_join_url(&d, &url) == LJ_OK)
        FUZZ_CHECK(url != NULL && strncmp(url, d.join_endpoint, strlen(d.join_endpoint)) == 0);
    free(url);
    return 0;
}
