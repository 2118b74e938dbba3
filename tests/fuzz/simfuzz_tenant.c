/*
 * simfuzz_tenant — entra-sim's tenant file parser (tenant_parse, the
 * --tenant JSON), then the JSON views the control API serves of what it
 * parsed (settings, every user), then tenant_free.  A refusal must say why.
 */
#include "tests/fuzz/fuzz.h"

#include "hw-sim/entra-sim/tenant.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sim_tenant *t = NULL;
    char err[256];
    cJSON *j;

    lj_err_clear();
    err[0] = '\0';
    if (tenant_parse((const char *)data, size, &t, err, sizeof(err)) != LJ_OK) {
        FUZZ_TERMINATED(err);
        FUZZ_CHECK(err[0] != '\0');
        FUZZ_CHECK(t == NULL);
        return 0;
    }
    FUZZ_CHECK(t != NULL);
    j = tenant_settings_json(t);
    cJSON_Delete(j);
    for (size_t i = 0; i < t->nusers; i++) {
        j = tenant_user_json(&t->users[i]);
        cJSON_Delete(j);
        FUZZ_CHECK(tenant_user_by_upn(t, t->users[i].upn) != NULL);
    }
    tenant_free(t);
    return 0;
}
