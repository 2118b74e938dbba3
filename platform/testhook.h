/*
 * testhook.h — crash points for the crash-resume tests (tests/integration/test_crash.sh).
 *
 * LJ_TEST_CRASH_POINT("name") marks a point where a test may kill the agent
 * the way a power cut would: right after each journal save (the point is
 * the saved state's name: "keys_ready", "join_sent", "joined", ...), after
 * the device certificate is saved ("cert_saved"), after the join answer
 * arrived but before it is saved ("join_response"), and after the
 * background keygen was queued ("keys_started").
 *
 * Only builds with LJ_TEST_HOOKS (TEST_HOOKS=1, the default for
 * development) contain the hook; release builds (TEST_HOOKS=0) compile the
 * macro to nothing, so neither the code nor the variable names exist there.
 * In a test build it acts only when the environment says so:
 *   LJ_TEST_CRASH_AT=POINT      raise SIGKILL at POINT (no cleanup at all)
 *   LJ_TEST_CRASH_SIGNAL=stop   raise SIGSTOP instead, so a test can kill
 *                               the agent and swtpm together, or kill
 *                               swtpm and let the agent continue (SIGCONT);
 *                               a point acts once per process
 *
 * LJ_TEST_HOOKS_BUILT is the one answer to "are test hooks compiled in":
 * every test-only feature (crash points, the LJ_TEST_NOW clock,
 * `tpm seal|unseal|sealed-remove`, `csr --test-decrypt`, the soft key
 * provider, the TPM simulator TCTIs and LJ_TEST_DEVICE_KEY=rsassa, which
 * makes new device keys with the RSASSA-only template of earlier
 * versions, tpm/esys.c) is conditioned on it, at compile
 * time (#if) or at run time (lj_test_hooks_built(), lj_test_hooks_enabled()).
 * `make install` installs a build-rel/ binary built without it.
 */
#ifndef LJ_PLATFORM_TESTHOOK_H
#define LJ_PLATFORM_TESTHOOK_H

#include <stdbool.h>

#if defined(LJ_TEST_HOOKS) && LJ_TEST_HOOKS
#define LJ_TEST_HOOKS_BUILT 1
#else
#define LJ_TEST_HOOKS_BUILT 0
#endif

/* True in a test build (TEST_HOOKS=1), false in a release build (TEST_HOOKS=0). */
static inline bool
lj_test_hooks_built(void)
{
    return LJ_TEST_HOOKS_BUILT;
}

/*
 * True when the hidden test commands may act: a test build with
 * LJ_TEST_HOOKS=1 in the environment.  Always false (and the environment is
 * not read) in a release build.
 */
bool lj_test_hooks_enabled(void);

#if LJ_TEST_HOOKS_BUILT
/* Kill (or stop) this process when LJ_TEST_CRASH_AT names point.  Never returns on kill. */
void lj_test_crash_point(const char *point);
#define LJ_TEST_CRASH_POINT(p) lj_test_crash_point(p)
#else
#define LJ_TEST_CRASH_POINT(p) ((void)0)
#endif

#endif
