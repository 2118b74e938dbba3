/*
 * bcrypt.h — BCRYPT_RSAPUBLIC_BLOB ("RSA1") encoding of an RSA public key,
 * as DRS wants the TransportKey (MS-DVRJ 3.1.5.1.1.1 TransportKey; layout
 * from BCRYPT_RSAKEY_BLOB in the Windows SDK bcrypt.h): six little-endian
 * ULONGs (magic, bit length, cbPublicExp, cbModulus, cbPrime1 = 0,
 * cbPrime2 = 0), then the exponent and modulus big-endian, minimal length.
 * Pure function: no TPM, no allocation.
 */
#ifndef LJ_TPM_BCRYPT_H
#define LJ_TPM_BCRYPT_H

#include <stddef.h>

#include "platform/common/result.h"

#define TPM_BCRYPT_RSA1_MAGIC 0x31415352u
#define TPM_BCRYPT_HDR_LEN 24

/*
 * Encode (n, e) (big-endian, leading zero bytes allowed and stripped) into
 * out (outsz bytes, caller-owned).  *out_len gets the blob length.
 * LJ_ERR_INVAL for a zero modulus or exponent, LJ_ERR_TOO_BIG when out is
 * too small.
 */
enum lj_rc tpm_bcrypt_rsa1_encode(const unsigned char *n, size_t n_len, const unsigned char *e,
                                  size_t e_len, unsigned char *out, size_t outsz, size_t *out_len);

#endif
