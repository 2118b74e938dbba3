/*
 * bcrypt.c — BCRYPT RSA1 public blob encoder (see bcrypt.h).
 */
#include "tpm/bcrypt.h"

#include <stdint.h>
#include <string.h>

static void
put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
    p[2] = (unsigned char)((v >> 16) & 0xff);
    p[3] = (unsigned char)((v >> 24) & 0xff);
}

static void
strip_zeros(const unsigned char **p, size_t *len)
{
    while (*len > 0 && (*p)[0] == 0) {
        (*p)++;
        (*len)--;
    }
}

enum lj_rc
tpm_bcrypt_rsa1_encode(const unsigned char *n, size_t n_len, const unsigned char *e, size_t e_len,
                       unsigned char *out, size_t outsz, size_t *out_len)
{
    uint32_t bits;
    size_t total;
    unsigned char top;

    if (n == NULL || e == NULL || out == NULL || out_len == NULL)
        return LJ_ERR_INVAL;
    strip_zeros(&n, &n_len);
    strip_zeros(&e, &e_len);
    if (n_len == 0 || e_len == 0 || n_len > 2048 || e_len > 8)
        return LJ_ERR_INVAL;
    total = TPM_BCRYPT_HDR_LEN + e_len + n_len;
    if (total > outsz)
        return LJ_ERR_TOO_BIG;
    /* BitLength is the modulus length in bits (2048 for RSA-2048). */
    bits = (uint32_t)(n_len - 1) * 8;
    for (top = n[0]; top != 0; top >>= 1)
        bits++;
    put_le32(out + 0, TPM_BCRYPT_RSA1_MAGIC);
    put_le32(out + 4, bits);
    put_le32(out + 8, (uint32_t)e_len);
    put_le32(out + 12, (uint32_t)n_len);
    put_le32(out + 16, 0);
    put_le32(out + 20, 0);
    memcpy(out + TPM_BCRYPT_HDR_LEN, e, e_len);
    memcpy(out + TPM_BCRYPT_HDR_LEN + e_len, n, n_len);
    *out_len = total;
    return LJ_OK;
}
