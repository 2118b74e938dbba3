/*
 * secmem.c — wiping and dump protection for secrets (tokens, passwords,
 * device codes).  explicit_bzero is glibc >= 2.25; Debian 12 has it.
 */
#include "platform/common/secmem.h"

#include "platform/common/log.h"

#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <stdatomic.h>

static atomic_int holders;

void
lj_secure_zero(void *p, size_t n)
{
    if (p != NULL && n > 0)
        explicit_bzero(p, n);
}

void
lj_secret_free(char *s)
{
    if (s == NULL)
        return;
    lj_secure_zero(s, strlen(s));
    free(s);
}

void
lj_secure_free(void *p, size_t n)
{
    if (p == NULL)
        return;
    lj_secure_zero(p, n);
    free(p);
}

void
lj_secrets_held(bool held)
{
    if (held) {
        if (atomic_fetch_add(&holders, 1) == 0) {
            prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
            /* read back, so the log (and the secrets test) shows the kernel's view */
            lj_log(LJ_LOG_DEBUG, "secmem", "event=dumpable value=%d",
                   prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
        }
    } else if (atomic_load(&holders) > 0 && atomic_fetch_sub(&holders, 1) == 1) {
        /*
         * Never dumpable again: copies of the secrets may outlive our
         * holders (freed library buffers, until heapguard's perturb or a
         * reuse overwrites them), and a later crash or a ptrace by the same
         * uid would read them.
         */
        lj_log(LJ_LOG_DEBUG, "secmem", "event=dumpable value=%d kept=yes",
               prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    }
}

bool
lj_secure_equal(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    unsigned char d = 0;

    for (size_t i = 0; i < n; i++)
        d |= x[i] ^ y[i];
    return d == 0;
}
