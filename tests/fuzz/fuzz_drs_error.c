/*
 * fuzz_drs_error — drs_error_parse, which must accept ANY body for any
 * status (first two input bytes: the HTTP status) and classify it; text
 * fields terminated, message without control characters; then the
 * classification the flow makes of it (lj_classify_drs) for both phases.
 */
#include "tests/fuzz/fuzz.h"

#include "agent/proto/drs.h"
#include "agent/proto/classify.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct drs_error e;
    long status;

    if (size < 2)
        return 0;
    lj_err_clear();
    status = (long)(data[0] | (data[1] << 8)) % 1000;
    FUZZ_CHECK(drs_error_parse(status, (const char *)data + 2, size - 2, &e) == LJ_OK);
    FUZZ_CHECK(e.http_status == status);
    FUZZ_CHECK(e.kind >= DRS_BODY_JSON && e.kind <= DRS_BODY_OTHER);
    FUZZ_TERMINATED(e.error_type);
    FUZZ_TERMINATED(e.sub_code);
    FUZZ_TERMINATED(e.message);
    FUZZ_TERMINATED(e.trace_id);
    FUZZ_TERMINATED(e.time);
    for (size_t i = 0; e.message[i] != '\0'; i++)
        FUZZ_CHECK((unsigned char)e.message[i] >= 0x20);
    for (int ph = LJ_PHASE_DISCOVER; ph <= LJ_PHASE_JOIN; ph++) {
        struct lj_classified c;

        lj_classify_drs((enum lj_phase)ph, &e, &c);
        FUZZ_CHECK(lj_reason_get(c.reason) != NULL);
        FUZZ_TERMINATED(c.code);
    }
    return 0;
}
