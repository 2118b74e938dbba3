/*
 * exitcodes.h — the process exit status contract.  Scripts, systemd units
 * and factory stations branch on these numbers: never renumber, add new
 * ones only at the end (before LJ_EXIT_COUNT__) with a row in
 * agent/core/exitcodes.c.  README.md's "Exit codes" table is generated from
 * that row list (`linkjoin errors --exit-codes`) and `linkjoin --help`
 * prints it; tests/integration/test_errors_cli.sh fails when the README
 * differs, test_install.sh when linkjoin.8's EXIT STATUS numbers do.
 */
#ifndef LJ_AGENT_EXITCODES_H
#define LJ_AGENT_EXITCODES_H

#include "platform/common/result.h"

enum lj_exit {
    LJ_EXIT_OK = 0,              /* done: joined (and enrolled), or command succeeded */
    LJ_EXIT_FAILURE = 1,         /* unexpected failure (see the log) */
    LJ_EXIT_USAGE = 2,           /* bad command line */
    LJ_EXIT_CONFIG = 3,          /* bad configuration file or value */
    LJ_EXIT_TPM = 4,             /* TPM missing, locked out or failing (hardware) */
    LJ_EXIT_NETWORK = 5,         /* network or service unavailable; retry later */
    LJ_EXIT_SIGNIN = 6,          /* sign-in failed (user can fix) */
    LJ_EXIT_POLICY = 7,          /* refused by tenant policy (admin can fix) */
    LJ_EXIT_SERVICE = 8,         /* the service answered something invalid (support) */
    LJ_EXIT_CANCELLED = 9,       /* cancelled by the user or a signal */
    LJ_EXIT_ALREADY_JOINED = 10, /* run: already joined, nothing done */
    LJ_EXIT_MDM_PENDING = 11,    /* joined, Intune enrollment still pending */
    LJ_EXIT_NOT_JOINED = 12,     /* status: device is not joined */
    LJ_EXIT_STATE = 13,          /* local state unusable (keys lost, another provider's or an
                                    older template's, journal) */
    /* factory-test: the first failing group of checks, in this order. */
    LJ_EXIT_FACTORY_TPM = 14,    /* factory: a TPM check failed (absent, family, self-test,
                                    lockout, random, ephemeral key) */
    LJ_EXIT_FACTORY_EK = 15,     /* factory: EK certificate missing, unparsable or wrong CA */
    LJ_EXIT_FACTORY_DEVICE = 16, /* factory: device identity or clock check failed */
    LJ_EXIT_BUSY = 17,           /* another command holds the state directory: nothing done */
    LJ_EXIT_COUNT__
};

/* One exit status: what README.md says and the short form --help prints. */
struct lj_exit_info {
    int code;
    const char *meaning; /* README "Exit codes" row (Markdown) */
    const char *brief;   /* linkjoin --help, at most 40 characters */
};

/* The row of code; NULL when code is not an enum lj_exit value.  Static storage. */
const struct lj_exit_info *lj_exit_get(int code);

/*
 * README.md's "Exit codes" table (header + one row per code, '\n' line
 * ends).  *out malloc'ed, caller frees.  LJ_ERR_NOMEM when out of memory.
 */
enum lj_rc lj_exit_markdown(char **out);

#endif
