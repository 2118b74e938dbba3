/*
 * fuzz_mdm_policy — mdm_policy_parse (MS-XCEP GetPoliciesResponse), without
 * and with the RelatesTo check, then mdm_policy_check for our RSA-2048 key.
 */
#include "tests/fuzz/fuzz.h"

#include "agent/proto/mdm.h"

static void
one(const uint8_t *data, size_t size, const char *msgid)
{
    struct mdm_policy p;
    enum mdm_reject why = MDM_REJECT_COUNT__;

    lj_err_clear();
    if (mdm_policy_parse((const char *)data, size, msgid, &p, &why) != LJ_OK) {
        FUZZ_CHECK(why > MDM_REJECT_NONE && why < MDM_REJECT_COUNT__);
        return;
    }
    FUZZ_CHECK(why == MDM_REJECT_NONE);
    FUZZ_TERMINATED(p.hash_oid);
    FUZZ_CHECK(p.hash >= MDM_HASH_NONE && p.hash <= MDM_HASH_OTHER);
    why = MDM_REJECT_COUNT__;
    if (mdm_policy_check(&p, 2048, &why) != LJ_OK)
        FUZZ_CHECK(why == MDM_REJECT_POLICY);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, NULL);
    one(data, size, "urn:uuid:72048B64-0F19-448F-8C2E-B4C661860AA0");
    return 0;
}
