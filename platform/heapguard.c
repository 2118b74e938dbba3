/*
 * heapguard.c — re-execute once with glibc's malloc tunables that wipe
 * freed memory (see heapguard.h).
 */
#include "platform/heapguard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform/common/log.h"

#define MOD "heapguard"
#define MARK "LJ_HEAP_GUARD"

/* Every tunable of LJ_HEAP_TUNABLES is in t (t's later ones win in glibc). */
static int
has_tunables(const char *t)
{
    return t != NULL && strstr(t, "glibc.malloc.perturb=165") != NULL &&
           strstr(t, "glibc.malloc.tcache_count=0") != NULL;
}

void
lj_heap_guard(char **argv)
{
    const char *cur = getenv("GLIBC_TUNABLES"), *pre = getenv("LD_PRELOAD");
    char exe[4096], *val;
    size_t n;
    ssize_t len;

    if (has_tunables(cur)) {
        unsetenv(MARK);
        return;
    }
    if (getenv(MARK) != NULL) { /* re-executed, still without: do not loop */
        lj_log(LJ_LOG_WARN, MOD, "event=heap_guard_missing reason=tunables_not_kept");
        unsetenv(MARK);
        return;
    }
    if (pre != NULL && strstr(pre, "vgpreload") != NULL) {
        lj_log(LJ_LOG_DEBUG, MOD, "event=heap_guard_skipped reason=valgrind");
        return;
    }
    len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len <= 0 || (size_t)len >= sizeof(exe) - 1) {
        lj_log(LJ_LOG_WARN, MOD, "event=heap_guard_missing reason=no_exe errno=%s",
               strerror(errno));
        return;
    }
    exe[len] = '\0';
    n = (cur != NULL ? strlen(cur) + 1 : 0) + sizeof(LJ_HEAP_TUNABLES);
    val = malloc(n);
    if (val == NULL)
        return;
    /* ours last: for a tunable set twice glibc keeps the later value */
    snprintf(val, n, "%s%s%s", cur != NULL ? cur : "", cur != NULL ? ":" : "", LJ_HEAP_TUNABLES);
    if (setenv("GLIBC_TUNABLES", val, 1) == 0 && setenv(MARK, "1", 1) == 0)
        execv(exe, argv);
    lj_log(LJ_LOG_WARN, MOD, "event=heap_guard_missing reason=exec_failed errno=%s",
           strerror(errno));
    free(val);
    unsetenv(MARK);
}
