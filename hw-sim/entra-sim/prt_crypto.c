/*
 * prt_crypto.c — the PRT protocol's cryptography for entra-sim (see prt.h):
 * the SP 800-108 session-key derivation of [MS-OAPXBC] 3.1.5.2.1.3 (kdf v1
 * and v2, as ROADtools calculate_derived_key / calculate_derived_key_v2),
 * HMAC-SHA256, AES-256-GCM compact JWEs (RFC 7516), RSA-OAEP (SHA-1) to a
 * BCRYPT_RSAPUBLIC_BLOB transport key, and the device certificate's
 * signature check.  wolfCrypt underneath.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include "hw-sim/entra-sim/der.h"
#include "hw-sim/entra-sim/pki.h"
#include "hw-sim/entra-sim/prt.h"
#include "hw-sim/entra-sim/util.h"
#include "platform/common/b64.h"
#include "platform/common/secmem.h"

bool
prt_hmac256(const unsigned char *key, size_t keylen, const void *a, size_t an, const void *b,
            size_t bn, unsigned char out[32])
{
    Hmac h;
    bool ok;

    if (wc_HmacInit(&h, NULL, INVALID_DEVID) != 0)
        return false;
    ok = wc_HmacSetKey(&h, WC_SHA256, key, (word32)keylen) == 0 &&
         wc_HmacUpdate(&h, a, (word32)an) == 0 &&
         (bn == 0 || wc_HmacUpdate(&h, b, (word32)bn) == 0) && wc_HmacFinal(&h, out) == 0;
    wc_HmacFree(&h);
    return ok;
}

void
prt_kdf(const unsigned char *key, size_t keylen, const unsigned char *context, size_t clen,
        unsigned char out[32])
{
    static const char label[] = "AzureAD-SecureConversation";
    struct sim_buf in = {0};
    static const unsigned char one[4] = {0, 0, 0, 1}, zero = 0, bits[4] = {0, 0, 1, 0};

    sim_buf_add(&in, one, 4);
    sim_buf_add(&in, label, sizeof(label) - 1);
    sim_buf_add(&in, &zero, 1);
    sim_buf_add(&in, context, clen);
    sim_buf_add(&in, bits, 4);
    if (in.err || !prt_hmac256(key, keylen, in.p, in.len, NULL, 0, out))
        sim_random(out, 32); /* never a predictable key */
    sim_buf_free(&in, true);
}

bool
prt_derive(const unsigned char *session_key, size_t sklen, const unsigned char *ctx, size_t ctxlen,
           const unsigned char *payload, size_t plen, int kdf_ver, unsigned char out[32])
{
    unsigned char h[32];
    struct sim_buf b = {0};

    if (kdf_ver == 1) {
        prt_kdf(session_key, sklen, ctx, ctxlen, out);
        return true;
    }
    if (kdf_ver != 2)
        return false;
    sim_buf_add(&b, ctx, ctxlen);
    sim_buf_add(&b, payload, plen);
    if (b.err) {
        sim_buf_free(&b, true);
        return false;
    }
    pki_sha256(b.p, b.len, h);
    sim_buf_free(&b, true);
    prt_kdf(session_key, sklen, h, sizeof(h), out);
    return true;
}

/*
 * Compact JWE with AES-256-GCM content encryption: b64u(hdr).b64u(ek).b64u(iv).b64u(ct).b64u(tag),
 * AAD = the ASCII of the first segment (RFC 7516 5.1).  ek may be empty (alg dir).
 */
char *
prt_jwe_gcm(const char *hdr, const unsigned char *ek, size_t eklen, const unsigned char key[32],
            const char *pt)
{
    size_t ptlen = strlen(pt);
    unsigned char iv[12], tag[16], *ct = malloc(ptlen + 1);
    char *h = lj_b64_encode(hdr, strlen(hdr), LJ_B64_URL, NULL), *e = NULL, *i = NULL, *c = NULL,
         *t = NULL, *out = NULL;
    struct sim_buf b = {0};
    Aes aes;

    sim_random(iv, sizeof(iv));
    if (ct == NULL || h == NULL || wc_AesInit(&aes, NULL, INVALID_DEVID) != 0)
        goto done;
    if (wc_AesGcmSetKey(&aes, key, 32) != 0 ||
        wc_AesGcmEncrypt(&aes, ct, (const byte *)pt, (word32)ptlen, iv, sizeof(iv), tag,
                         sizeof(tag), (const byte *)h, (word32)strlen(h)) != 0) {
        wc_AesFree(&aes);
        goto done;
    }
    wc_AesFree(&aes);
    e = eklen > 0 ? lj_b64_encode(ek, eklen, LJ_B64_URL, NULL) : strdup("");
    i = lj_b64_encode(iv, sizeof(iv), LJ_B64_URL, NULL);
    c = lj_b64_encode(ct, ptlen, LJ_B64_URL, NULL);
    t = lj_b64_encode(tag, sizeof(tag), LJ_B64_URL, NULL);
    if (e == NULL || i == NULL || c == NULL || t == NULL)
        goto done;
    sim_buf_addf(&b, "%s.%s.%s.%s.%s", h, e, i, c, t);
    if (!b.err)
        out = sim_buf_take(&b, NULL);
done:
    sim_buf_free(&b, true);
    if (ct != NULL)
        lj_secure_free(ct, ptlen + 1);
    free(h);
    free(e);
    free(i);
    lj_secret_free(c);
    free(t);
    return out;
}

/*
 * RSA-OAEP with SHA-1 and MGF1-SHA-1, empty label (JWE "RSA-OAEP", RFC 7518 4.3), of data
 * under the RSA key of a BCRYPT_RSAPUBLIC_BLOB (checked at join: RSA1, exponent then
 * modulus, big-endian).  out must hold 512 bytes.
 */
bool
prt_oaep_to_rsa1(const unsigned char *blob, size_t bl, const unsigned char *data, size_t n,
                 unsigned char *out, size_t *outlen)
{
    RsaKey k;
    WC_RNG rng;
    size_t ce, cm;
    int ret = -1;

    if (blob == NULL || bl < 24)
        return false;
    ce = (size_t)blob[8] | (size_t)blob[9] << 8 | (size_t)blob[10] << 16 | (size_t)blob[11] << 24;
    cm = (size_t)blob[12] | (size_t)blob[13] << 8 | (size_t)blob[14] << 16 | (size_t)blob[15] << 24;
    if (ce > 8 || cm > 512 || 24 + ce + cm != bl)
        return false;
    if (wc_InitRsaKey(&k, NULL) != 0)
        return false;
    if (wc_InitRng(&rng) != 0) {
        wc_FreeRsaKey(&k);
        return false;
    }
    if (wc_RsaPublicKeyDecodeRaw(blob + 24 + ce, (word32)cm, blob + 24, (word32)ce, &k) == 0)
        ret = wc_RsaPublicEncrypt_ex(data, (word32)n, out, 512, &k, &rng, WC_RSA_OAEP_PAD,
                                     WC_HASH_TYPE_SHA, WC_MGF1SHA1, NULL, 0);
    wc_FreeRng(&rng);
    wc_FreeRsaKey(&k);
    if (ret <= 0)
        return false;
    *outlen = (size_t)ret;
    return true;
}

/* Is der a certificate signed (sha256WithRSAEncryption) by the DRS device CA? */
bool
prt_cert_issued_by(const unsigned char *der, size_t len, const unsigned char *ca_spki,
                   size_t ca_spki_len)
{
    struct der all = {der, len}, cert, tbs, tbs_whole, alg, oid, sig;

    if (!der_get(&all, DER_SEQ, &cert, NULL) || all.n != 0 ||
        !der_get(&cert, DER_SEQ, &tbs, &tbs_whole) || !der_get(&cert, DER_SEQ, &alg, NULL) ||
        !der_get(&cert, DER_BITSTRING, &sig, NULL) || cert.n != 0)
        return false;
    if (!der_get(&alg, DER_OID, &oid, NULL) || !der_oid_is(&oid, "1.2.840.113549.1.1.11"))
        return false;
    if (sig.n < 2 || sig.p[0] != 0)
        return false;
    return pki_rs256_verify(ca_spki, ca_spki_len, tbs_whole.p, tbs_whole.n, sig.p + 1, sig.n - 1);
}
