/*
 * fuzz_mdm_fault — mdm_fault_parse, which must read ANY answer (first two
 * input bytes: the HTTP status) without failing; text fields terminated
 * and free of control characters; the HRESULT consistent with
 * mdm_fault_hresult; then the flow's classification (lj_classify_mdm).
 */
#include "tests/fuzz/fuzz.h"

#include "agent/proto/classify.h"
#include "agent/proto/mdm.h"

static void
clean(const char *s, size_t sz)
{
    FUZZ_CHECK(memchr(s, '\0', sz) != NULL);
    for (size_t i = 0; s[i] != '\0'; i++)
        FUZZ_CHECK((unsigned char)s[i] >= 0x20);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mdm_fault f;
    struct lj_classified c;
    long status;

    if (size < 2)
        return 0;
    lj_err_clear();
    status = (long)(data[0] | (data[1] << 8)) % 1000;
    FUZZ_CHECK(mdm_fault_parse(status, (const char *)data + 2, size - 2, &f) == LJ_OK);
    FUZZ_CHECK(f.http_status == status);
    FUZZ_CHECK(f.kind >= MDM_BODY_FAULT && f.kind <= MDM_BODY_OTHER);
    clean(f.code, sizeof(f.code));
    clean(f.subcode, sizeof(f.subcode));
    clean(f.reason, sizeof(f.reason));
    clean(f.error_type, sizeof(f.error_type));
    clean(f.message, sizeof(f.message));
    clean(f.trace_id, sizeof(f.trace_id));
    clean(f.activity_id, sizeof(f.activity_id));
    if (f.kind == MDM_BODY_FAULT)
        FUZZ_CHECK(f.hresult == mdm_fault_hresult(f.error_type, f.subcode, f.reason));
    else
        FUZZ_CHECK(f.hresult == 0);
    lj_classify_mdm(&f, &c);
    FUZZ_CHECK(lj_reason_get(c.reason) != NULL);
    FUZZ_TERMINATED(c.code);
    return 0;
}
