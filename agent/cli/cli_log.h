/*
 * cli_log.h — the global `--log-target stderr|syslog|auto` option.
 *
 * It may stand anywhere before a `--` on any command line
 * (`linkjoin --log-target syslog csr`, `linkjoin run --log-target=stderr`);
 * main() takes it out of argv before the command parses its own options,
 * so every command, present and future, accepts it.  Without it the target
 * is auto: syslog (journald) when stderr is the journal stream systemd gave
 * the service, stderr otherwise (platform/common/log.h).
 */
#ifndef LJ_AGENT_CLI_LOG_H
#define LJ_AGENT_CLI_LOG_H

#include <stdio.h>

/*
 * Remove every `--log-target VALUE` / `--log-target=VALUE` from argv (up to
 * a `--`), compacting argv in place and updating *argc (argv[*argc] stays
 * NULL); the last one wins.  Applies the target with lj_log_set_target.
 * Returns 0, or LJ_EXIT_USAGE after printing a message to err when the value
 * is missing or not one of auto, stderr, syslog.  Does not block.
 */
int lj_cli_log_setup(int *argc, char **argv, FILE *err);

#endif
