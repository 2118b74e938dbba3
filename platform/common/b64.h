/*
 * b64.h — base64 (RFC 4648 §4, padded) and base64url (§5, unpadded) codecs.
 * Generic helper shared by the agent and the simulator.
 */
#ifndef LJ_PLATFORM_B64_H
#define LJ_PLATFORM_B64_H

#include <stdbool.h>
#include <stddef.h>

enum lj_b64_alphabet {
    LJ_B64_STD = 0, /* +/ with = padding */
    LJ_B64_URL = 1, /* -_ without padding */
};

/*
 * Encode len bytes.  Returns a NUL-terminated string the caller frees with
 * free(), or NULL when out of memory.  *out_len (optional) gets strlen.
 */
char *lj_b64_encode(const void *data, size_t len, enum lj_b64_alphabet alph, size_t *out_len);

/*
 * Decode len characters.  Strict: characters outside the alphabet, bad
 * padding, or (LJ_B64_STD) missing padding fail; LJ_B64_URL accepts input with
 * or without padding.  Returns true and a malloc'ed buffer (caller frees,
 * NUL-terminated for convenience, *out_len excludes the NUL) on success.
 */
bool lj_b64_decode(const char *s, size_t len, enum lj_b64_alphabet alph, unsigned char **out,
                   size_t *out_len);

#endif
