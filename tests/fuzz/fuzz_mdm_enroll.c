/*
 * fuzz_mdm_enroll — mdm_enroll_parse (MS-WSTEP RequestSecurityTokenResponse
 * with its base64 wap-provisioningdoc, certificates, chain, EKU, key and
 * validity checks) verified against the tests/data/mdm client key at a time
 * inside its validity (mdm_key.h).  fuzz_mdm_provdoc fuzzes the decoded
 * provisioning document directly.
 */
#include "tests/fuzz/fuzz.h"

#include "agent/proto/mdm.h"
#include "tests/fuzz/mdm_key.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mdm_enroll_verify v;
    struct mdm_enrollment e;
    enum mdm_reject why = MDM_REJECT_COUNT__;

    lj_err_clear();
    memset(&v, 0, sizeof(v));
    v.key.spki_der = mdm_key_spki;
    v.key.spki_len = sizeof(mdm_key_spki);
    v.now = MDM_KEY_NOW;
    if (mdm_enroll_parse((const char *)data, size, &v, &e, &why) != LJ_OK) {
        FUZZ_CHECK(why > MDM_REJECT_NONE && why < MDM_REJECT_COUNT__);
        return 0;
    }
    FUZZ_CHECK(why == MDM_REJECT_NONE);
    FUZZ_CHECK(e.client.der != NULL && e.client.len > 0);
    FUZZ_CHECK(e.chain_len <= MDM_MAX_CERTS);
    for (size_t i = 0; i < e.chain_len; i++) {
        FUZZ_CHECK(e.chain[i].der != NULL && e.chain[i].len > 0);
        FUZZ_TERMINATED(e.chain[i].subject);
    }
    FUZZ_TERMINATED(e.client.thumbprint);
    FUZZ_TERMINATED(e.client_store);
    FUZZ_TERMINATED(e.provider_id);
    FUZZ_TERMINATED(e.server_name);
    FUZZ_CHECK(strncasecmp(e.mgmt_url, "https://", 8) == 0);
    FUZZ_CHECK(e.provdoc != NULL && e.provdoc_len <= MDM_MAX_PROVDOC);
    mdm_enrollment_free(&e);
    return 0;
}
