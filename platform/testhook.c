/*
 * testhook.c — see testhook.h.  Everything here exists only in test builds.
 */
#include "platform/testhook.h"

#if defined(LJ_TEST_HOOKS) && LJ_TEST_HOOKS

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "platform/common/log.h"

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

#else
typedef int lj_testhook_empty_unit; /* ISO C wants at least one declaration */
#endif
