/*
 * fuzz_drs_cert — certificate handling in drs_join_response_parse: the
 * input is the certificate DER itself.  The harness wraps it the way DRS
 * does ({"Certificate":{"Thumbprint":SHA-1,"RawBody":base64}}) and expects
 * the key the certificate itself carries (SPKI as wolfSSL reads it; the
 * vectors' key when there is none), so the fuzzer gets past the key and
 * thumbprint checks and reaches the CN, extension, issuer and validity
 * parsing.  Run once without and once with tenant/issuer expectations.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/hash.h>

#include "tests/fuzz/fuzz.h"

#include "agent/proto/drs.h"
#include "platform/common/b64.h"
#include "tests/fuzz/vector_key.h"
#include "platform/common/text.h"

static void
check(const char *body, const struct drs_join_verify *v)
{
    struct drs_join_result r;
    enum drs_reject why = DRS_REJECT_COUNT__;

    lj_err_clear();
    if (drs_join_response_parse(body, strlen(body), v, &r, &why) != LJ_OK) {
        FUZZ_CHECK(why > DRS_REJECT_NONE && why < DRS_REJECT_COUNT__);
        return;
    }
    FUZZ_CHECK(why == DRS_REJECT_NONE);
    FUZZ_CHECK(lj_is_guid(r.device_id));
    FUZZ_TERMINATED(r.issuer);
    FUZZ_CHECK(r.not_after > r.not_before);
    drs_join_result_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char sha1[WC_SHA_DIGEST_SIZE], spki[4096];
    int spkilen = sizeof(spki);
    char thumb[2 * WC_SHA_DIGEST_SIZE + 1], *b64 = NULL, *body = NULL;
    size_t blen;
    WOLFSSL_X509 *x = NULL;
    struct drs_join_verify v;

    if (size == 0 || size > 16 * 1024)
        return 0;
    memset(&v, 0, sizeof(v));
    x = wolfSSL_X509_load_certificate_buffer(data, (int)size, WOLFSSL_FILETYPE_ASN1);
    if (x != NULL && wolfSSL_X509_get_pubkey_buffer(x, spki, &spkilen) == WOLFSSL_SUCCESS) {
        v.key.spki_der = spki;
        v.key.spki_len = (size_t)spkilen;
    } else {
        v.key.modulus = vector_key_modulus;
        v.key.modulus_len = sizeof(vector_key_modulus);
        v.key.exponent = vector_key_exponent;
        v.key.exponent_len = sizeof(vector_key_exponent);
    }
    wolfSSL_X509_free(x);
    FUZZ_CHECK(wc_ShaHash(data, (word32)size, sha1) == 0);
    for (size_t i = 0; i < sizeof(sha1); i++)
        snprintf(thumb + 2 * i, 3, "%02X", sha1[i]);
    b64 = lj_b64_encode(data, size, LJ_B64_STD, NULL);
    FUZZ_CHECK(b64 != NULL);
    blen = strlen(b64) + 128;
    body = malloc(blen);
    FUZZ_CHECK(body != NULL);
    snprintf(body, blen, "{\"Certificate\":{\"Thumbprint\":\"%s\",\"RawBody\":\"%s\"}}", thumb,
             b64);
    check(body, &v);
    v.tenant_id = "6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d";
    v.issuer_cn = "MS-Organization-Access";
    check(body, &v);
    free(body);
    free(b64);
    return 0;
}
