/*
 * fuzz_oauth_devicecode — oauth_device_code_parse (the /devicecode answer)
 * and the ranges it promises, then oauth_device_code_free.
 */
#include "tests/fuzz/fuzz.h"

#include "agent/proto/oauth.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oauth_device_code dc;

    lj_err_clear();
    memset(&dc, 0, sizeof(dc));
    if (oauth_device_code_parse((const char *)data, size, &dc) != LJ_OK)
        return 0;
    FUZZ_CHECK(dc.device_code != NULL && dc.user_code != NULL && dc.verification_uri != NULL);
    FUZZ_CHECK(strncasecmp(dc.verification_uri, "https://", 8) == 0);
    FUZZ_CHECK(dc.expires_in >= 1 && dc.expires_in <= 86400);
    FUZZ_CHECK(dc.interval >= 1 && dc.interval <= 60);
    (void)strlen(dc.device_code);
    (void)strlen(dc.user_code);
    if (dc.message != NULL)
        (void)strlen(dc.message);
    oauth_device_code_free(&dc);
    return 0;
}
