/*
 * heapguard.h — freed heap memory wiped for the commands that handle
 * secrets (run, mdm-retry, token).
 *
 * Our own buffers are wiped before free (secmem.h), but libcurl and the TLS
 * library copy requests (the password form, Authorization headers) and
 * responses (tokens) into buffers they free without wiping.  glibc's malloc
 * does that wiping when started with
 *   GLIBC_TUNABLES=glibc.malloc.perturb=165:glibc.malloc.tcache_count=0
 * (perturb fills every freed chunk; the tcache skips perturb, so it is
 * turned off).  Tunables are read once at process start, so a process that
 * lacks them re-executes itself once with them set.  Works for any TLS
 * library under libcurl.  The systemd units set the variable themselves, so
 * there the re-exec does not happen.
 */
#ifndef LJ_PLATFORM_HEAPGUARD_H
#define LJ_PLATFORM_HEAPGUARD_H

/* The tunables the agent runs with (also in the systemd units). */
#define LJ_HEAP_TUNABLES "glibc.malloc.perturb=165:glibc.malloc.tcache_count=0"

/*
 * When GLIBC_TUNABLES lacks LJ_HEAP_TUNABLES: add them and execv
 * /proc/self/exe with argv (the process's original, NULL-terminated
 * arguments), once (LJ_HEAP_GUARD=1 marks the re-executed process).
 * Returns only when no re-exec was needed or possible: under valgrind
 * (LD_PRELOAD vgpreload: it has its own allocator and would lose the child),
 * or when execv failed (logged, the process goes on without the tunables).
 * Call first thing in main, before any thread or secret exists.
 */
void lj_heap_guard(char **argv);

#endif
