/*
 * cmd.h — the subcommands.  Each lives in agent/cli/cmd_NAME.c (NAME with
 * '-' as '_': factory-test in cmd_factory_test.c), parses its own
 * options, and returns an enum lj_exit value.  main.c holds the table.
 */
#ifndef LJ_AGENT_CMD_H
#define LJ_AGENT_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "agent/core/config.h"

struct lj_cmd {
    const char *name;
    int (*fn)(int argc, char **argv); /* argv[0] is the command name */
    const char *summary;              /* one line for --help; NULL = hidden */
};

int cmd_csr(int argc, char **argv);
int cmd_errors(int argc, char **argv); /* hidden: errors --markdown */
int cmd_factory_test(int argc, char **argv);
int cmd_tpm(int argc, char **argv); /* hidden: tpm health, test-build seal tools */
int cmd_config(int argc, char **argv);
int cmd_leave(int argc, char **argv);
int cmd_factory_reset(int argc, char **argv);
int cmd_mdm_retry(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_status(int argc, char **argv);

/*
 * The common front of commands that take configuration flags.  On --help it
 * calls usage(stdout) and returns LJ_EXIT_OK.  Otherwise it fills *cfg
 * (defaults, file, flags; a bad one is printed with its FILE:LINE and gives
 * LJ_EXIT_CONFIG) and matches every remaining argument against opts, a
 * NULL-terminated list of the command's own boolean options, setting
 * seen[i] for each found (seen must have one entry per option, false on
 * entry); anything else is a usage error (LJ_EXIT_USAGE).  Returns -1 when
 * the command should go on, or the exit code to return.  Blocks only to read
 * the configuration file.
 */
int lj_cmd_args(const char *name, int argc, char **argv, void (*usage)(FILE *f),
                const char *const *opts, bool *seen, struct lj_config *cfg);

/* Print the usage text (commands, common options, exit codes) to f. */
void lj_usage(void *f);

#endif
