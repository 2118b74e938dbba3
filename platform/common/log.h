/*
 * log.h — one line per event, key=value fields, to stderr or syslog.
 *
 * Lines look like `2026-11-26T17:30:00.123Z linkjoin[42] level=info mod=tpm
 * event=key_created ...`.  Callers pass key=value text; secrets are never
 * passed (print "***").  Thread-safe: each line is written with one call.
 */
#ifndef LJ_PLATFORM_LOG_H
#define LJ_PLATFORM_LOG_H

#include <stdbool.h>

enum lj_log_level {
    LJ_LOG_ERROR = 0,
    LJ_LOG_WARN = 1,
    LJ_LOG_INFO = 2,
    LJ_LOG_DEBUG = 3,
};

/* Set the threshold; lines above it are dropped.  Default: warn. */
void lj_log_set_level(enum lj_log_level level);
enum lj_log_level lj_log_get_level(void);

/*
 * While quiet, every line is dropped (errors too): for a probe whose
 * outcome the caller reports itself (status's TPM key check).  Returns the
 * previous setting.  Not for use while other threads log.
 */
bool lj_log_set_quiet(bool quiet);

/* Parse "error"/"warn"/"info"/"debug"; returns false on anything else. */
bool lj_log_parse_level(const char *s, enum lj_log_level *out);

/* Send lines to syslog (journald) instead of stderr when on is true. */
void lj_log_use_syslog(bool on, const char *ident);

/*
 * Where lines go.  AUTO picks SYSLOG when stderr is connected to the
 * journal (systemd sets JOURNAL_STREAM="DEV:INODE" of the stream it gives
 * the service; it is compared with fstat of fd 2, so a child whose stderr
 * was redirected elsewhere keeps writing to stderr), else STDERR.
 * Syslog lines drop the timestamp and pid (journald adds both) and carry
 * the level as syslog priority.
 */
enum lj_log_target {
    LJ_LOG_TARGET_AUTO = 0,
    LJ_LOG_TARGET_STDERR = 1,
    LJ_LOG_TARGET_SYSLOG = 2,
};

/* Parse "auto"/"stderr"/"syslog"; returns false on anything else. */
bool lj_log_parse_target(const char *s, enum lj_log_target *out);

/*
 * Resolve AUTO to STDERR or SYSLOG given the JOURNAL_STREAM value (NULL =
 * unset) and the fd that would carry stderr lines.  Pure apart from
 * fstat(fd); never returns AUTO.
 */
enum lj_log_target lj_log_resolve_target(enum lj_log_target t, const char *journal_stream, int fd);

/*
 * Resolve t against the environment and fd 2 and apply it (ident names the
 * program in syslog).  Returns the target in effect.
 */
enum lj_log_target lj_log_set_target(enum lj_log_target t, const char *ident);

/* Also append every line to the open fd (tests; -1 turns it off). */
void lj_log_tee_fd(int fd);

void lj_log(enum lj_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
