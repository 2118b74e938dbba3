/*
 * testhook.c — see testhook.h.  Everything but lj_test_hooks_enabled() exists only
 * in test builds.
 */
#include "platform/testhook.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "platform/common/log.h"

bool
lj_test_hooks_enabled(void)
{
#if LJ_TEST_HOOKS_BUILT
    const char *env = getenv("LJ_TEST_HOOKS");
    return env != NULL && strcmp(env, "1") == 0;
#else
    return false;
#endif
}

#if LJ_TEST_HOOKS_BUILT

void
lj_test_crash_point(const char *point)
{
    const char *want = getenv("LJ_TEST_CRASH_AT");
    const char *sig = getenv("LJ_TEST_CRASH_SIGNAL");
    bool stop = sig != NULL && strcmp(sig, "stop") == 0;

    static bool fired; /* once per process: a stopped agent continues past later saves */

    if (fired || want == NULL || point == NULL || strcmp(want, point) != 0)
        return;
    fired = true;
    lj_log(LJ_LOG_WARN, "testhook", "event=test_crash point=%s signal=%s", point,
           stop ? "SIGSTOP" : "SIGKILL");
    raise(stop ? SIGSTOP : SIGKILL);
}

#endif
