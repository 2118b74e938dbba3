/*
 * fuzz_b64 — platform/b64 decoding (the RawBody certificate, JWT parts):
 * strict lj_b64_decode in both alphabets (first input byte), and a decoded
 * value must encode back to a string that decodes to the same bytes.
 */
#include "tests/fuzz/fuzz.h"

#include "platform/common/b64.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum lj_b64_alphabet alph;
    unsigned char *out = NULL, *back = NULL;
    size_t n = 0, bn = 0, elen = 0;
    char *enc;

    if (size < 1)
        return 0;
    alph = (data[0] & 1) ? LJ_B64_URL : LJ_B64_STD;
    if (!lj_b64_decode((const char *)data + 1, size - 1, alph, &out, &n))
        return 0;
    FUZZ_CHECK(out != NULL && out[n] == '\0');
    FUZZ_CHECK(n <= (size - 1) / 4 * 3 + 3);
    enc = lj_b64_encode(out, n, alph, &elen);
    FUZZ_CHECK(enc != NULL && strlen(enc) == elen);
    FUZZ_CHECK(lj_b64_decode(enc, elen, alph, &back, &bn));
    FUZZ_CHECK(bn == n && memcmp(back, out, n) == 0);
    free(back);
    free(enc);
    free(out);
    return 0;
}
