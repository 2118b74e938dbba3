/*
 * rsa1-tool.c — test helper: reads a BCRYPT RSA1 public blob (base64, as
 * `linkjoin csr --transport-key-blob` prints it) with its own strict
 * decoder, independent of tpm/bcrypt.c, and
 *   rsa1-tool info  B64          prints "bits=N e=HEX n=HEX"
 *   rsa1-tool pem   B64          prints the key as SPKI PEM (for openssl)
 *   rsa1-tool encrypt B64 HEX    prints base64 of RSA-OAEP(SHA-256,
 *                                MGF1-SHA-256, no label) of the bytes HEX
 * Exit 0 ok, 1 bad input, 2 usage.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/common/b64.h"

static uint32_t
le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
hex(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
}

static int
unhex(const char *s, unsigned char *out, size_t cap, size_t *n)
{
    size_t len = strlen(s);

    if (len % 2 != 0 || len / 2 > cap)
        return -1;
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = s[2 * i + (size_t)k];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= (unsigned)(c - 'A' + 10);
            else
                return -1;
        }
        out[i] = (unsigned char)v;
    }
    *n = len / 2;
    return 0;
}

int
main(int argc, char **argv)
{
    unsigned char *blob = NULL, der[1024], msg[256], ct[512];
    char pem[2048];
    size_t blen = 0, mlen = 0;
    uint32_t bits, elen, nlen;
    const unsigned char *e, *n;
    RsaKey key;
    WC_RNG rng;
    int rc = 1, w;

    if (argc < 3 || (strcmp(argv[1], "encrypt") == 0 && argc != 4)) {
        fprintf(stderr, "usage: rsa1-tool info|pem B64 | rsa1-tool encrypt B64 HEX\n");
        return 2;
    }
    if (!lj_b64_decode(argv[2], strlen(argv[2]), LJ_B64_STD, &blob, &blen) || blen < 24) {
        fprintf(stderr, "rsa1-tool: not base64 or too short\n");
        goto out;
    }
    bits = le32(blob + 4);
    elen = le32(blob + 8);
    nlen = le32(blob + 12);
    if (le32(blob) != 0x31415352u || le32(blob + 16) != 0 || le32(blob + 20) != 0 || elen == 0 ||
        elen > 8 || nlen == 0 || nlen > 512 || blen != 24u + elen + nlen) {
        fprintf(stderr, "rsa1-tool: not an RSA1 public blob\n");
        goto out;
    }
    e = blob + 24;
    n = e + elen;
    if (e[0] == 0 || n[0] == 0 || bits != nlen * 8) {
        fprintf(stderr, "rsa1-tool: non-minimal encoding or bad bit length\n");
        goto out;
    }
    if (strcmp(argv[1], "info") == 0) {
        printf("bits=%u e=", bits);
        hex(e, elen);
        printf(" n=");
        hex(n, nlen);
        printf("\n");
        rc = 0;
        goto out;
    }
    wolfCrypt_Init();
    if (wc_InitRsaKey(&key, NULL) != 0 || wc_RsaPublicKeyDecodeRaw(n, nlen, e, elen, &key) != 0)
        goto out;
    if (strcmp(argv[1], "pem") == 0) {
        w = wc_RsaKeyToPublicDer(&key, der, sizeof(der));
        if (w > 0)
            w = wc_DerToPem(der, (word32)w, (byte *)pem, sizeof(pem) - 1, PUBLICKEY_TYPE);
        if (w > 0) {
            pem[w] = '\0';
            fputs(pem, stdout);
            rc = 0;
        }
    } else if (strcmp(argv[1], "encrypt") == 0) {
        if (unhex(argv[3], msg, sizeof(msg), &mlen) != 0 || wc_InitRng(&rng) != 0)
            goto free_key;
        w = wc_RsaPublicEncrypt_ex(msg, (word32)mlen, ct, sizeof(ct), &key, &rng, WC_RSA_OAEP_PAD,
                                   WC_HASH_TYPE_SHA256, WC_MGF1SHA256, NULL, 0);
        wc_FreeRng(&rng);
        if (w > 0) {
            char *b = lj_b64_encode(ct, (size_t)w, LJ_B64_STD, NULL);
            if (b != NULL) {
                printf("%s\n", b);
                free(b);
                rc = 0;
            }
        }
    } else {
        fprintf(stderr, "rsa1-tool: unknown command %s\n", argv[1]);
        rc = 2;
    }
free_key:
    wc_FreeRsaKey(&key);
    wolfCrypt_Cleanup();
out:
    free(blob);
    return rc;
}
