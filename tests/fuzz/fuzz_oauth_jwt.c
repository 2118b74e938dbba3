/*
 * fuzz_oauth_jwt — oauth_jwt_claims_parse on any string (header.payload.sig,
 * base64url JSON), oauth_jwt_has_amr on the result.
 */
#include "tests/fuzz/fuzz.h"

#include "agent/proto/oauth.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oauth_jwt_claims c;
    char *jwt = fuzz_cstr(data, size);

    lj_err_clear();
    if (oauth_jwt_claims_parse(jwt, &c) == LJ_OK) {
        FUZZ_TERMINATED(c.aud);
        FUZZ_TERMINATED(c.tid);
        FUZZ_TERMINATED(c.oid);
        FUZZ_TERMINATED(c.upn);
        FUZZ_TERMINATED(c.amr);
        (void)oauth_jwt_has_amr(&c, "mfa");
        (void)oauth_jwt_has_amr(&c, "pwd");
        (void)oauth_jwt_has_amr(&c, "");
    }
    free(jwt);
    return 0;
}
