/*
 * clock.h — wall-clock time for the agent, with a test override and a
 * plausibility check (TLS, tokens and certificates all fail on a device
 * whose clock is far off; preflight says so before any sign-in).
 */
#ifndef LJ_PLATFORM_CLOCK_H
#define LJ_PLATFORM_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/common/result.h"

/* How far past the build date a clock may be and still be believed. */
#define LJ_CLOCK_MAX_YEARS_AFTER_BUILD 30

/*
 * Current time, Unix seconds (UTC).  In builds with LJ_TEST_HOOKS the
 * environment variable LJ_TEST_NOW overrides it (Unix seconds, or
 * RFC 3339 "2030-01-02T03:04:05Z"); other builds ignore it.  Never blocks.
 */
int64_t lj_clock_now(void);

/* True when this call used LJ_TEST_NOW (tests assert on it). */
bool lj_clock_overridden(void);

/* The build date (from __DATE__, midnight UTC), Unix seconds. */
int64_t lj_clock_build_time(void);

/*
 * Is now plausible?  LJ_OK when build date - 1 day <= now <= build date +
 * LJ_CLOCK_MAX_YEARS_AFTER_BUILD years; otherwise LJ_ERR_STATE and why
 * (optional) names the device's time and the limit: "the clock says
 * 2001-01-01T00:00:00Z, before this software's build date (2026-11-26)" or
 * "the clock says ..., more than 30 years after ...".  Does not log.
 */
enum lj_rc lj_clock_check(int64_t now, char *why, size_t wsz);

/* RFC 3339 UTC ("2026-11-26T17:30:00Z") into buf (>= 21 bytes). */
void lj_clock_format(int64_t t, char *buf, size_t sz);

/* Parse Unix seconds or RFC 3339 UTC ("...Z"); false on anything else. */
bool lj_clock_parse(const char *s, int64_t *out);

#endif
