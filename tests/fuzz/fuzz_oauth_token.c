/*
 * fuzz_oauth_token — oauth_token_parse (a token endpoint success answer),
 * then the JWT claims of the access and id tokens it carried (as the flow
 * reads them), then oauth_token_free.
 */
#include "tests/fuzz/fuzz.h"

#include "agent/proto/oauth.h"

static void
claims(const char *jwt)
{
    struct oauth_jwt_claims c;

    if (jwt == NULL || oauth_jwt_claims_parse(jwt, &c) != LJ_OK)
        return;
    FUZZ_TERMINATED(c.aud);
    FUZZ_TERMINATED(c.tid);
    FUZZ_TERMINATED(c.oid);
    FUZZ_TERMINATED(c.upn);
    FUZZ_TERMINATED(c.amr);
    (void)oauth_jwt_has_amr(&c, "mfa");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oauth_token t;

    lj_err_clear();
    memset(&t, 0, sizeof(t));
    if (oauth_token_parse((const char *)data, size, &t) != LJ_OK)
        return 0;
    FUZZ_CHECK(t.access_token != NULL);
    FUZZ_CHECK(strlen(t.access_token) <= OAUTH_MAX_TOKEN);
    claims(t.access_token);
    claims(t.id_token);
    if (t.refresh_token != NULL)
        (void)strlen(t.refresh_token);
    oauth_token_free(&t);
    return 0;
}
