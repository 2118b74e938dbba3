/*
 * clock.c — time source with a test-only override.
 *
 * Design note: the override exists so integration tests can play a device
 * whose RTC is wrong (the clock_wrong failure) without touching the host
 * clock.  It is compiled in only with LJ_TEST_HOOKS (TEST_HOOKS=0 release
 * builds ignore the variable entirely).
 */
#include "platform/clock.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform/testhook.h"

static _Thread_local bool last_overridden;

bool
lj_clock_parse(const char *s, int64_t *out)
{
    struct tm tm;
    char *end = NULL;
    long long v;

    if (s == NULL || s[0] == '\0')
        return false;
    if (isdigit((unsigned char)s[0]) && strchr(s, '-') == NULL) {
        v = strtoll(s, &end, 10);
        if (*end != '\0' || v < 0)
            return false;
        *out = (int64_t)v;
        return true;
    }
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL || strcmp(end, "Z") != 0)
        return false;
    *out = (int64_t)timegm(&tm);
    return true;
}

int64_t
lj_clock_now(void)
{
#if LJ_TEST_HOOKS_BUILT
    const char *o = getenv("LJ_TEST_NOW");
    int64_t t;

    if (o != NULL && lj_clock_parse(o, &t)) {
        last_overridden = true;
        return t;
    }
#endif
    last_overridden = false;
    return (int64_t)time(NULL);
}

bool
lj_clock_overridden(void)
{
    return last_overridden;
}

int64_t
lj_clock_build_time(void)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *d = __DATE__; /* "Nov 26 2026" */
    struct tm tm;
    const char *m = strstr(months, (char[4]){d[0], d[1], d[2], '\0'});

    memset(&tm, 0, sizeof(tm));
    tm.tm_mon = m ? (int)(m - months) / 3 : 0;
    tm.tm_mday = (d[4] == ' ' ? 0 : d[4] - '0') * 10 + (d[5] - '0');
    tm.tm_year =
        (d[7] - '0') * 1000 + (d[8] - '0') * 100 + (d[9] - '0') * 10 + (d[10] - '0') - 1900;
    return (int64_t)timegm(&tm);
}

void
lj_clock_format(int64_t t, char *buf, size_t sz)
{
    struct tm tm;
    time_t tt = (time_t)t;

    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, sz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        if (sz > 0)
            buf[0] = '\0';
    }
}

enum lj_rc
lj_clock_check(int64_t now, char *why, size_t wsz)
{
    int64_t build = lj_clock_build_time();
    int64_t max = build + (int64_t)LJ_CLOCK_MAX_YEARS_AFTER_BUILD * 366 * 86400;
    char b[32], n[32];

    lj_clock_format(build, b, sizeof(b));
    b[10] = '\0'; /* the date part */
    lj_clock_format(now, n, sizeof(n));
    if (now < build - 86400) {
        if (why != NULL && wsz > 0)
            snprintf(why, wsz, "the clock says %s, before this software's build date (%s)", n, b);
        return LJ_ERR_STATE;
    }
    if (now > max) {
        if (why != NULL && wsz > 0)
            snprintf(why, wsz,
                     "the clock says %s, more than %d years after this software's build date (%s)",
                     n, LJ_CLOCK_MAX_YEARS_AFTER_BUILD, b);
        return LJ_ERR_STATE;
    }
    return LJ_OK;
}
