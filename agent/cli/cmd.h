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
int cmd_errors(int argc, char **argv);   /* hidden: errors --markdown */
int cmd_messages(int argc, char **argv); /* hidden: messages --locale L --json */
int cmd_factory_test(int argc, char **argv);
int cmd_tpm(int argc, char **argv); /* hidden: tpm health, test-build seal tools */
int cmd_config(int argc, char **argv);
int cmd_leave(int argc, char **argv);
int cmd_factory_reset(int argc, char **argv);
int cmd_mdm_retry(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_prt_renew(int argc, char **argv);

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

/*
 * The flags of csr, tpm and factory-test that name configuration keys.
 * NULL / false = not given on the command line.  Strings borrowed.
 */
struct lj_cmd_tpm_flags {
    const char *config;    /* --config FILE */
    const char *tcti;      /* --tcti */
    const char *state_dir; /* --state-dir */
    bool provider_set;     /* --key-provider given: provider */
    enum lj_key_provider provider;
    const char *log_level; /* --log-level, already checked */
};

/*
 * The configuration front of the commands with their own option parser
 * that open a TPM (csr, tpm, factory-test), so they read linkjoin.conf like
 * run: *cfg = defaults, then the file (fl->config, else
 * LJ_CONFIG_DEFAULT_PATH, where a missing file is fine), then the flags of
 * fl, which win.  The log level is the file's log_level, then --log-level.
 * The caller maps *cfg with lj_cfg_tpm_opts (agent/net/cfgmap.h), so
 * tcti, key_provider, state_dir and tpm_timeout come from one place.
 * Returns -1 to go on, or the exit code after printing why to stderr:
 * LJ_EXIT_CONFIG for the file, LJ_EXIT_USAGE for a flag too long to keep.
 * Blocks only to read the file.
 */
int lj_cmd_tpm_config(const char *name, const struct lj_cmd_tpm_flags *fl, struct lj_config *cfg);

/* Print the usage text (commands, common options, exit codes) to f. */
void lj_usage(void *f);

/*
 * Take the state directory's lock (lj_fs_lock_dir) for command name, which
 * writes state_dir.  create: make the directory first (0700) when it is
 * missing; else a missing directory needs no lock (*fd = -1, go on).
 * Returns -1 to go on, holding the lock in *fd (release with
 * lj_fs_unlock_dir, or let the process end), or the exit code after saying
 * why on stderr: LJ_EXIT_BUSY when another command holds it, LJ_EXIT_FAILURE
 * when the directory cannot be made or opened.  Never waits.
 */
int lj_cmd_lock_state(const char *name, const char *state_dir, bool create, int *fd);

struct lj_wipe_report;
/*
 * Print, one line each on stdout, the device objects of earlier joins a
 * wipe found in lost-* (rep->orphans), but not current_id (NULL: none),
 * which the caller names itself.  Defined in cmd_factory_reset.c.
 */
void lj_cmd_print_orphans(const struct lj_wipe_report *rep, const char *current_id);

#endif
