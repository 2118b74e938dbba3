/*
 * esys_crypto.h — the crypto backend tpm2-tss ESAPI (4.x, built with
 * --with-crypto=none) uses, written on wolfCrypt (tpm/esys_crypto.c).
 * Private to tpm/esys*.c and their unit test; nothing else includes tss2.
 */
#ifndef LJ_TPM_ESYS_CRYPTO_H
#define LJ_TPM_ESYS_CRYPTO_H

#include <tss2/tss2_esys.h>

/*
 * The callback table for Esys_SetCryptoCallbacks (which copies it): hash
 * and HMAC (SHA-1/256/384/512), random, RSA encryption with a key's public
 * area (OAEP for RSA-salted sessions), ECDH on the key's curve (the KDFe
 * input of ECC-salted sessions), AES-CFB parameter encryption; SM4 answers
 * TSS2_ESYS_RC_NOT_IMPLEMENTED.  Return codes and buffer contracts are
 * those of tpm2-tss's own OpenSSL backend (esys_crypto_ossl.c).  Static
 * storage, never NULL; the callbacks are thread-safe (the random generator
 * they share is locked) and fork-safe (a child makes its own).
 */
const ESYS_CRYPTO_CALLBACKS *tpm_esys_crypto_callbacks(void);

#endif
