/*
 * elapsed.h — the one monotonic clock of the agent, its tools and the
 * simulator: deadlines and durations never follow the wall clock (which
 * the agent may be told to distrust, and which NTP may step).
 * Generic helper shared by the agent and the simulator (platform/common/).
 */
#ifndef LJ_PLATFORM_ELAPSED_H
#define LJ_PLATFORM_ELAPSED_H

#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC (an arbitrary origin; compare, never show). */
long long lj_mono_ms(void);

/* Milliseconds from *t0 (taken with clock_gettime(CLOCK_MONOTONIC)) to now. */
long lj_elapsed_ms(const struct timespec *t0);

/* Milliseconds from *a to *b (both CLOCK_MONOTONIC); negative if b is earlier. */
long lj_ms_between(const struct timespec *a, const struct timespec *b);

#endif
