/*
 * fuzz_broker — the token broker's lines from another local user
 * (agent/proto/broker.c): broker_req_parse over one request line, and
 * broker_answer_parse over one answer line as the client reads it.  The
 * first byte picks which.  Success fills the fields within their
 * ceilings, by their rules; failure says why in one terminated sentence.
 */
#include "tests/fuzz/fuzz.h"

#include "agent/proto/broker.h"

static void
check_value(enum broker_field f, const char *v)
{
    if (v[0] != '\0')
        FUZZ_CHECK(broker_value_problem(f, v) == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data + 1;
    size_t len = size - 1;

    if (size == 0)
        return 0;
    lj_err_clear();
    if (data[0] & 1) {
        struct broker_answer a;

        if (broker_answer_parse(line, len, &a) != LJ_OK)
            return 0;
        if (!a.token) {
            FUZZ_TERMINATED(a.error);
            FUZZ_TERMINATED(a.message);
            FUZZ_CHECK(a.error[0] != '\0');
            FUZZ_CHECK(a.exit_code >= 1 && a.exit_code <= BROKER_EXIT_MAX);
            for (const char *p = a.message; *p != '\0'; p++)
                FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
        }
    } else {
        struct broker_req r;
        char problem[160];

        problem[0] = '\0';
        if (broker_req_parse(line, len, &r, problem, sizeof(problem)) != LJ_OK) {
            FUZZ_CHECK(problem[0] != '\0');
            FUZZ_TERMINATED(problem);
            return 0;
        }
        FUZZ_TERMINATED(r.resource);
        FUZZ_TERMINATED(r.scope);
        FUZZ_TERMINATED(r.client_id);
        FUZZ_TERMINATED(r.redirect_uri);
        FUZZ_CHECK((r.resource[0] == '\0') != (r.scope[0] == '\0'));
        check_value(BROKER_F_RESOURCE, r.resource);
        check_value(BROKER_F_SCOPE, r.scope);
        check_value(BROKER_F_CLIENT_ID, r.client_id);
        check_value(BROKER_F_REDIRECT_URI, r.redirect_uri);
    }
    return 0;
}
