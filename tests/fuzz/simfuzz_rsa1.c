/*
 * simfuzz_rsa1 — entra-sim's BCRYPT_RSAPUBLIC_BLOB check (pki_rsa1_check),
 * what the join endpoint applies to TransportKey (after base64).
 */
#include "tests/fuzz/fuzz.h"

#include "hw-sim/entra-sim/pki.h"
#include "platform/common/result.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[128];

    lj_err_clear();
    why[0] = '\0';
    if (!pki_rsa1_check(data, size, why, sizeof(why))) {
        FUZZ_TERMINATED(why);
        FUZZ_CHECK(why[0] != '\0');
    }
    return 0;
}
