/*
 * simfuzz_form — entra-sim's application/x-www-form-urlencoded decoder
 * (sim_form_parse: every /token, /devicecode and login form body, and
 * query strings), sim_form_get on every key, sim_form_free.
 */
#include "tests/fuzz/fuzz.h"

#include "hw-sim/entra-sim/util.h"
#include "platform/common/result.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sim_form f;

    lj_err_clear();
    memset(&f, 0, sizeof(f));
    if (!sim_form_parse((const char *)data, size, &f)) {
        sim_form_free(&f);
        return 0;
    }
    FUZZ_CHECK(f.n <= SIM_FORM_MAX);
    for (size_t i = 0; i < f.n; i++) {
        FUZZ_CHECK(f.key[i] != NULL && f.val[i] != NULL);
        FUZZ_CHECK(sim_form_get(&f, f.key[i]) != NULL);
    }
    (void)sim_form_get(&f, "grant_type");
    sim_form_free(&f);
    return 0;
}
