/*
 * log.c — line-oriented logging.  Every line is formatted into one buffer and
 * written with a single write(2), so concurrent threads never interleave.
 */
#include "platform/common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum lj_log_level log_level = LJ_LOG_WARN;
static bool log_syslog;
static int log_tee = -1;
static bool log_quiet;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

bool
lj_log_set_quiet(bool quiet)
{
    bool was = log_quiet;

    log_quiet = quiet;
    return was;
}

void
lj_log_set_level(enum lj_log_level level)
{
    log_level = level;
}

enum lj_log_level
lj_log_get_level(void)
{
    return log_level;
}

bool
lj_log_parse_level(const char *s, enum lj_log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (s != NULL && strcmp(s, level_names[i]) == 0) {
            *out = (enum lj_log_level)i;
            return true;
        }
    }
    return false;
}

void
lj_log_use_syslog(bool on, const char *ident)
{
    if (on && !log_syslog)
        openlog(ident, LOG_PID, LOG_DAEMON);
    else if (!on && log_syslog)
        closelog();
    log_syslog = on;
}

bool
lj_log_parse_target(const char *s, enum lj_log_target *out)
{
    static const char *const names[] = {"auto", "stderr", "syslog"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (s != NULL && strcmp(s, names[i]) == 0) {
            *out = (enum lj_log_target)i;
            return true;
        }
    }
    return false;
}

/* "DEV:INODE", both decimal, as systemd.exec(5) documents JOURNAL_STREAM. */
static bool
journal_stream_parse(const char *s, unsigned long long *dev, unsigned long long *ino)
{
    char *end = NULL;

    if (s == NULL || strlen(s) > 64 || *s < '0' || *s > '9')
        return false;
    errno = 0;
    *dev = strtoull(s, &end, 10);
    if (errno != 0 || *end != ':' || end[1] < '0' || end[1] > '9')
        return false;
    *ino = strtoull(end + 1, &end, 10);
    return errno == 0 && *end == '\0';
}

enum lj_log_target
lj_log_resolve_target(enum lj_log_target t, const char *journal_stream, int fd)
{
    unsigned long long dev, ino;
    struct stat st;

    if (t != LJ_LOG_TARGET_AUTO)
        return t;
    if (!journal_stream_parse(journal_stream, &dev, &ino) || fstat(fd, &st) != 0)
        return LJ_LOG_TARGET_STDERR;
    if ((unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
        return LJ_LOG_TARGET_SYSLOG;
    return LJ_LOG_TARGET_STDERR;
}

enum lj_log_target
lj_log_set_target(enum lj_log_target t, const char *ident)
{
    enum lj_log_target r = lj_log_resolve_target(t, getenv("JOURNAL_STREAM"), STDERR_FILENO);

    lj_log_use_syslog(r == LJ_LOG_TARGET_SYSLOG, ident);
    return r;
}

void
lj_log_tee_fd(int fd)
{
    log_tee = fd;
}

void
lj_log(enum lj_log_level level, const char *module, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t n;
    int r;
    va_list ap;

    if (log_quiet || (level > log_level && log_tee < 0))
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    r = snprintf(line + n, sizeof(line) - n, ".%03ldZ linkjoin[%ld] level=%s mod=%s ",
                 ts.tv_nsec / 1000000L, (long)getpid(), level_names[level],
                 module != NULL ? module : "-");
    if (r < 0)
        return;
    n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
    va_start(ap, fmt);
    r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (r < 0)
        return;
    n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
    /* Control characters from outside input never split a line. */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20)
            line[i] = ' ';
    if (n >= sizeof(line) - 1)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    if (log_tee >= 0 && write(log_tee, line, n) < 0) {
        /* best effort */
    }
    if (level > log_level)
        return;
    if (log_syslog) {
        static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
        /* syslog gets the text after the timestamp and pid prefix. */
        const char *body = strstr(line, "level=");
        line[n - 1] = '\0';
        syslog(prio[level], "%s", body != NULL ? body : line);
        return;
    }
    if (write(STDERR_FILENO, line, n) < 0) {
        /* nothing sensible to do */
    }
}
