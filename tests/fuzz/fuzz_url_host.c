/*
 * fuzz_url_host — lj_http_url_host, which splits https URLs that come from
 * the configuration and from the discovery answer (join/MDM endpoints).
 * Accepted: host terminated and non-empty, port in 0..65535 (curl takes
 * ":0" as a port; the function only feeds "HOST:PORT" into error texts).
 */
#include "tests/fuzz/fuzz.h"

#include "agent/net/http.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = fuzz_cstr(data, size), host[256];
    long port = -1;

    lj_err_clear();
    if (lj_http_url_host(url, host, sizeof(host), &port) == LJ_OK) {
        FUZZ_TERMINATED(host);
        FUZZ_CHECK(host[0] != '\0');
        FUZZ_CHECK(port >= 0 && port <= 65535); /* curl accepts :0; only error text uses it */
    }
    free(url);
    return 0;
}
