/*
 * fuzz_drs_join — drs_join_response_parse, the join answer as JSON text,
 * verified against the vectors' device key (vector_key.h) given as
 * modulus/exponent, optionally (first input byte) with the expected tenant
 * and issuer CN.  A refusal must name a reason; an acceptance must fill the
 * result consistently.  fuzz_drs_cert fuzzes the certificate bytes under a
 * JSON wrapper that always passes the key and thumbprint checks.
 */
#include "tests/fuzz/fuzz.h"

#include "agent/proto/drs.h"
#include "tests/fuzz/vector_key.h"
#include "platform/common/text.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct drs_join_verify v;
    struct drs_join_result r;
    enum drs_reject why = DRS_REJECT_COUNT__;
    enum lj_rc rc;

    if (size < 1)
        return 0;
    lj_err_clear();
    memset(&v, 0, sizeof(v));
    v.key.modulus = vector_key_modulus;
    v.key.modulus_len = sizeof(vector_key_modulus);
    v.key.exponent = vector_key_exponent;
    v.key.exponent_len = sizeof(vector_key_exponent);
    if (data[0] & 1)
        v.tenant_id = "6B1C2A3E-0F4D-4C55-9A77-1E2F3A4B5C6D";
    if (data[0] & 2)
        v.issuer_cn = "MS-Organization-Access";
    rc = drs_join_response_parse((const char *)data + 1, size - 1, &v, &r, &why);
    FUZZ_CHECK(why >= DRS_REJECT_NONE && why < DRS_REJECT_COUNT__);
    FUZZ_CHECK(drs_reject_name(why) != NULL);
    if (rc != LJ_OK) {
        FUZZ_CHECK(why != DRS_REJECT_NONE);
        return 0;
    }
    FUZZ_CHECK(why == DRS_REJECT_NONE);
    FUZZ_CHECK(r.cert_der != NULL && r.cert_len > 0);
    FUZZ_CHECK(lj_is_guid(r.device_id));
    FUZZ_TERMINATED(r.tenant_id);
    FUZZ_TERMINATED(r.user_oid);
    FUZZ_TERMINATED(r.thumbprint);
    FUZZ_TERMINATED(r.issuer);
    FUZZ_TERMINATED(r.upn);
    FUZZ_CHECK(strlen(r.thumbprint) == 40);
    FUZZ_CHECK(r.not_after > r.not_before);
    FUZZ_CHECK(r.join_type >= -1 && r.join_type <= 9);
    drs_join_result_free(&r);
    return 0;
}
