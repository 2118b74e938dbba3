/*
 * exit.h — the one map from a local result (enum lj_rc) to the process
 * exit status and to the sentence a command prints, for the commands that
 * end on an lj_rc (csr, tpm, leave).  `run` and `mdm-retry` end on a
 * classified result and read the same table (agent/core/errors.c).
 */
#ifndef LJ_AGENT_CLI_EXIT_H
#define LJ_AGENT_CLI_EXIT_H

#include <stdio.h>

#include "agent/core/errors.h"
#include "platform/common/result.h"

/*
 * The exit status for rc: 0 for LJ_OK, else lj_classify_rc(rc) -> reason ->
 * that row's exit_code (enum lj_exit).  Never fails; an rc the taxonomy does
 * not know is `internal`, exit 1.
 */
int lj_cli_exit_for(enum lj_rc rc);

/*
 * Print to f one line "linkjoin CMD: <the reason's sentence> (reason SLUG,
 * code CODE)" and one "linkjoin CMD: admin action: <the row's action>"
 * (host names and causes live there), placeholders filled from p (may be
 * NULL), and, only at log
 * level debug, a second line with the first error's detail (the log text,
 * never shown otherwise: conventions rule 1).  Nothing for LJ_OK.
 */
void lj_cli_say(FILE *f, const char *cmd, enum lj_rc rc, const struct lj_error_params *p);

#endif
