/*
 * fuzz_oauth_redirect — oauth_redirect_parse: the URL a web view or the
 * loopback listener caught, checked against our redirect URI and a fixed
 * PKCE state ("AAAAAAAAAAAAAAAAAAAAAA"; the seeds carry it).  Also the log
 * redaction of the same URL (oauth_redact), which must never let a code
 * value through, and oauth_code_check on the code found.
 */
#include "tests/fuzz/fuzz.h"

#include "agent/proto/oauth.h"
#include "platform/common/secmem.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oauth_pkce pk;
    struct oauth_error err;
    char *url = fuzz_cstr(data, size), *code = NULL, red[256];
    enum lj_rc rc;

    lj_err_clear();
    memset(&pk, 0, sizeof(pk));
    memset(pk.state, 'A', 22);
    memset(pk.verifier, 'v', 43);
    memset(pk.challenge, 'c', 43);
    rc = oauth_redirect_parse(&pk, OAUTH_DEFAULT_REDIRECT, url, &code, &err);
    if (rc == LJ_OK) {
        FUZZ_CHECK(code != NULL && code[0] != '\0');
        /* A code we accepted from the redirect is also a valid auth_code message. */
        FUZZ_CHECK(oauth_code_check(&pk, code, pk.state) == LJ_OK);
        lj_secret_free(code);
    } else if (rc == LJ_ERR_AUTH) {
        FUZZ_TERMINATED(err.error);
        FUZZ_TERMINATED(err.description);
        FUZZ_CHECK(err.cls >= OAUTH_ERRC_OTHER && err.cls < OAUTH_ERRC_COUNT__);
    }
    FUZZ_CHECK(oauth_redact(url, red, sizeof(red)) == red);
    FUZZ_TERMINATED(red);
    free(url);
    return 0;
}
