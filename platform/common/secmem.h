/*
 * secmem.h — secret hygiene: wipe before free, no core dumps while held.
 */
#ifndef LJ_PLATFORM_SECMEM_H
#define LJ_PLATFORM_SECMEM_H

#include <stdbool.h>
#include <stddef.h>

/* Overwrite n bytes at p with zeros in a way the compiler cannot elide. */
void lj_secure_zero(void *p, size_t n);

/* Wipe and free a NUL-terminated secret string; NULL is fine. */
void lj_secret_free(char *s);

/* Wipe n bytes and free; NULL is fine. */
void lj_secure_free(void *p, size_t n);

/*
 * Mark the process non-dumpable (no core file, no ptrace by other users)
 * from the first secret on; it stays so until the process exits
 * (lj_secrets_held(false) only counts the holder down: copies in freed
 * library buffers may outlive the holders).
 */
void lj_secrets_held(bool held);

/* Constant-time comparison of n bytes; true when equal. */
bool lj_secure_equal(const void *a, const void *b, size_t n);

#endif
