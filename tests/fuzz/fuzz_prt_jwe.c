/*
 * fuzz_prt_jwe — the encrypted answer to a session-key signed request:
 * prt_jwe_header_ctx, then prt_jwe_decrypt with the key of the seed
 * fixtures (tests/data/prt: the kdf v1 key of the first KDF vector), then
 * the plaintext through oauth_token_parse and prt_renew_answer_parse as
 * the flow reads it.  Also the bytes as a session_key_jwe.  A successful
 * decryption implies a readable header ctx; the plaintext is terminated
 * and within PRT_MAX_BODY.
 */
#include "tests/fuzz/fuzz.h"

#include <stdbool.h>

#include "agent/proto/oauth.h"
#include "agent/proto/prt.h"
#include "platform/common/secmem.h"

/* derived_v1 of the first vector of tests/data/prt/kdf-vectors.json. */
static const unsigned char key[32] = {
    0x87, 0xed, 0x6c, 0xf2, 0xf2, 0x21, 0xe8, 0xea, 0xb8, 0xa9, 0x7d, 0xde, 0x4d, 0x86, 0x9b, 0xea,
    0x7e, 0x6a, 0x11, 0x77, 0x47, 0xe9, 0x71, 0x86, 0x93, 0xf3, 0x43, 0x67, 0x89, 0x0d, 0x15, 0xc4};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char ctx[PRT_CTX_LEN], ek[PRT_EK_LEN];
    char *plain = NULL, *s;
    size_t n = 0;
    bool have_ctx;
    struct oauth_token t;
    struct prt_answer a;

    lj_err_clear();
    have_ctx = prt_jwe_header_ctx((const char *)data, size, ctx) == LJ_OK;
    if (prt_jwe_decrypt((const char *)data, size, key, &plain, &n) == LJ_OK) {
        FUZZ_CHECK(have_ctx);
        FUZZ_CHECK(n <= PRT_MAX_BODY && plain[n] == '\0');
        if (oauth_token_parse(plain, n, &t) == LJ_OK)
            oauth_token_free(&t);
        if (prt_renew_answer_parse(plain, n, &a) == LJ_OK)
            prt_answer_free(&a);
        lj_secret_free(plain);
    }
    s = fuzz_cstr(data, size);
    if (prt_session_key_jwe_parse(s, ek, &n) == LJ_OK)
        FUZZ_CHECK(n == PRT_EK_LEN);
    free(s);
    return 0;
}
