/*
 * simfuzz_csr — entra-sim's PKCS#10 check (pki_csr_check), what the join
 * endpoint applies to CertificateRequest.Data (after base64): DER layout,
 * subject CN, RSA key size, algorithm and self-signature.  On success the
 * returned SPKI span must lie inside the input.
 */
#include "tests/fuzz/fuzz.h"

#include "hw-sim/entra-sim/der.h"
#include "hw-sim/entra-sim/pki.h"
#include "platform/common/result.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct der spki;
    char why[128];
    unsigned char *copy = malloc(size ? size : 1);

    FUZZ_CHECK(copy != NULL);
    memcpy(copy, data, size);
    lj_err_clear();
    why[0] = '\0';
    if (pki_csr_check(copy, size, PKI_JOIN_CSR_CN, &spki, why, sizeof(why))) {
        FUZZ_CHECK(spki.p >= copy && spki.p + spki.n <= copy + size);
    } else {
        FUZZ_TERMINATED(why);
        FUZZ_CHECK(why[0] != '\0');
    }
    free(copy);
    return 0;
}
