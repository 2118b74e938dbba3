/*
 * fuzz_prt_nonce — prt_nonce_parse (the srv_challenge answer): on success
 * the nonce is terminated inside the buffer, non-empty and printable ASCII
 * without space; then it must be accepted as the nonce of an HS256 payload.
 */
#include "tests/fuzz/fuzz.h"

#include "agent/proto/prt.h"
#include "platform/common/secmem.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char nonce[PRT_NONCE_MAX + 1];
    struct prt_hs256_req r = {PRT_HS256_RENEW, "0.PRT", nonce, NULL, NULL, NULL, NULL, NULL};
    char *payload = NULL;
    size_t n;

    lj_err_clear();
    /* A small buffer first: a long nonce must be refused, never truncated. */
    if (prt_nonce_parse((const char *)data, size, nonce, 8) == LJ_OK)
        FUZZ_CHECK(strlen(nonce) < 8);
    if (prt_nonce_parse((const char *)data, size, nonce, sizeof(nonce)) != LJ_OK)
        return 0;
    FUZZ_TERMINATED(nonce);
    n = strlen(nonce);
    FUZZ_CHECK(n > 0 && n <= PRT_NONCE_MAX);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(nonce[i] > 0x20 && nonce[i] < 0x7f);
    FUZZ_CHECK(prt_hs256_payload(&r, &payload) == LJ_OK);
    lj_secret_free(payload);
    return 0;
}
