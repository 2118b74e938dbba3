/*
 * cmd.h — the subcommands.  Each lives in agent/cmd_NAME.c, parses its own
 * options, and returns an enum lj_exit value.  main.c holds the table.
 */
#ifndef LJ_AGENT_CMD_H
#define LJ_AGENT_CMD_H

struct lj_cmd {
    const char *name;
    int (*fn)(int argc, char **argv); /* argv[0] is the command name */
    const char *summary;              /* one line for --help; NULL = hidden */
};

int cmd_csr(int argc, char **argv);
int cmd_errors(int argc, char **argv); /* hidden: errors --markdown */
int cmd_factory(int argc, char **argv);
int cmd_tpm(int argc, char **argv); /* hidden: tpm health, test-build seal tools */
int cmd_config(int argc, char **argv);

/* Print the usage text (commands, common options, exit codes) to f. */
void lj_usage(void *f);

#endif
