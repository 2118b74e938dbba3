/*
 * pem.h — PEM armour (RFC 7468): "-----BEGIN LABEL-----", standard base64
 * in lines of 64 characters, "-----END LABEL-----", each line ending "\n".
 * Pure function over platform/b64.
 */
#ifndef LJ_TPM_PEM_H
#define LJ_TPM_PEM_H

#include <stddef.h>

/*
 * Armour len bytes of DER under label (e.g. "CERTIFICATE REQUEST").
 * Returns a malloc'ed NUL-terminated string (caller frees) or NULL when out
 * of memory or label is empty/over 64 characters.
 */
char *tpm_pem_encode(const char *label, const unsigned char *der, size_t len);

#endif
