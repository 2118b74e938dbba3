/*
 * fuzz_proxy — the proxy settings of agent/core/proxy.c, which read the
 * configuration and the environment (https_proxy, no_proxy): input is
 * "URL\nNO_PROXY\nHOST".  lj_proxy_url_check and lj_no_proxy_check must not
 * crash; an accepted URL is http:// without user info; lj_no_proxy_match
 * never matches an empty list and always matches "*".
 */
#include "tests/fuzz/fuzz.h"

#include "agent/core/proxy.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), *url = s, *list = NULL, *host = NULL, *nl;

    nl = strchr(url, '\n');
    if (nl != NULL) {
        *nl = '\0';
        list = nl + 1;
        nl = strchr(list, '\n');
        if (nl != NULL) {
            *nl = '\0';
            host = nl + 1;
        }
    }
    if (lj_proxy_url_check(url) == NULL) {
        FUZZ_CHECK(strncasecmp(url, "http://", 7) == 0);
        FUZZ_CHECK(strchr(url, '@') == NULL);
        FUZZ_CHECK(strlen(url) < LJ_PROXY_URL_MAX);
    }
    if (list != NULL) {
        (void)lj_no_proxy_check(list);
        if (host != NULL) {
            bool m = lj_no_proxy_match(list, host);
            if (list[0] == '\0')
                FUZZ_CHECK(!m);
            if (strcmp(list, "*") == 0 && host[0] != '\0')
                FUZZ_CHECK(m);
        }
    }
    free(s);
    return 0;
}
