/*
 * fuzz_oauth_error — oauth_error_parse (token/devicecode error bodies) for
 * the grant picked by the first input byte; the class must be in range and
 * have a name; every text field terminated, description without control
 * characters; then the flow's classification of it (lj_classify_oauth).
 */
#include "tests/fuzz/fuzz.h"

#include "agent/proto/classify.h"
#include "agent/proto/oauth.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oauth_error e;
    enum oauth_grant grant;

    if (size < 1)
        return 0;
    lj_err_clear();
    grant = (enum oauth_grant)(data[0] % 4);
    if (oauth_error_parse((const char *)data + 1, size - 1, grant, &e) != LJ_OK)
        return 0;
    FUZZ_TERMINATED(e.error);
    FUZZ_TERMINATED(e.description);
    FUZZ_TERMINATED(e.trace_id);
    FUZZ_TERMINATED(e.correlation_id);
    FUZZ_TERMINATED(e.timestamp);
    for (size_t i = 0; e.description[i] != '\0'; i++)
        FUZZ_CHECK((unsigned char)e.description[i] >= 0x20);
    FUZZ_CHECK(e.cls >= OAUTH_ERRC_OTHER && e.cls < OAUTH_ERRC_COUNT__);
    FUZZ_CHECK(oauth_err_class_name(e.cls) != NULL);
    FUZZ_CHECK(oauth_error_classify(e.error, e.aadsts, grant) == e.cls);
    {
        struct lj_classified c;

        lj_classify_oauth(&e, &c);
        FUZZ_CHECK(lj_reason_get(c.reason) != NULL);
        FUZZ_TERMINATED(c.code);
    }
    return 0;
}
