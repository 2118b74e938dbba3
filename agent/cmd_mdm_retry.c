/*
 * cmd_mdm_retry.c — `linkjoin mdm-retry [CONFIG FLAGS]`: finish a pending
 * Intune enrollment with the sign-in kept sealed by the TPM (agent/flow.c,
 * lj_flow_mdm_retry).  Run by linkjoin-mdm-retry.timer; never prompts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/exitcodes.h"
#include "agent/flow.h"

int
cmd_mdm_retry(int argc, char **argv)
{
    struct lj_config cfg;
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    int nrest = 0, rc = LJ_EXIT_OK;

    if (rest == NULL)
        return LJ_EXIT_FAILURE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: linkjoin mdm-retry [configuration flags]\n"
                   "Finish a pending Intune enrollment of this joined device with the sign-in\n"
                   "kept sealed by the TPM: at most %d attempts, %d seconds of waiting in all.\n"
                   "Never asks anyone to sign in.  Output is text (--ui stdio: JSON events).\n\n"
                   "exit: 0 enrolled or nothing pending, 11 still pending (try later),\n"
                   "      6 the kept sign-in expired or is missing ('linkjoin run' signs in\n"
                   "      again), 7 refused by an Intune policy, 8 bad service response,\n"
                   "      12 not joined, 1/3/4/13 as in 'linkjoin --help'.\n\n",
                   LJ_FLOW_MDM_MAX_ATTEMPTS, LJ_FLOW_MDM_RETRY_BUDGET_S);
            lj_config_usage(stdout);
            goto out;
        }
    }
    if (lj_config_from_args(&cfg, argc, argv, &nrest, rest) != LJ_OK) {
        fprintf(stderr, "linkjoin: %s\n", cfg.error);
        rc = LJ_EXIT_CONFIG;
        goto out;
    }
    if (nrest > 1) {
        fprintf(stderr, "linkjoin mdm-retry: unknown option '%s'\n", rest[1]);
        rc = LJ_EXIT_USAGE;
        goto out;
    }
    rc = lj_flow_mdm_retry(&cfg);
out:
    free(rest);
    return rc;
}
