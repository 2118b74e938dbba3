/*
 * cmd_mdm_retry.c — `linkjoin mdm-retry [CONFIG FLAGS]`: finish a pending
 * Intune enrollment with the sign-in kept sealed by the TPM (agent/flow/,
 * lj_flow_mdm_retry).  Run by linkjoin-mdm-retry.timer; never prompts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli/cmd.h"
#include "agent/core/config.h"
#include "agent/core/exitcodes.h"
#include "agent/flow/flow.h"
#include "platform/common/fsutil.h"

static void
mdm_retry_usage(FILE *f)
{
    fprintf(f,
            "usage: linkjoin mdm-retry [configuration flags]\n"
            "Finish a pending Intune enrollment of this joined device with the sign-in\n"
            "kept sealed by the TPM: at most %d attempts, %d seconds of waiting in all.\n"
            "Never asks anyone to sign in.  Output is text (--ui stdio: JSON events).\n\n"
            "exit: 0 enrolled or nothing pending, 11 still pending (try later),\n"
            "      6 the kept sign-in expired or is missing ('linkjoin run' signs in\n"
            "      again), 7 refused by an Intune policy, 8 bad service response,\n"
            "      12 not joined, 17 another linkjoin command is using the state\n"
            "      directory (nothing done), 1/3/4/13 as in 'linkjoin --help'.\n\n",
            LJ_FLOW_MDM_MAX_ATTEMPTS, LJ_FLOW_MDM_RETRY_BUDGET_S);
    lj_config_usage(f);
}

int
cmd_mdm_retry(int argc, char **argv)
{
    struct lj_config cfg;
    int lock = -1;
    int ex = lj_cmd_args("mdm-retry", argc, argv, mdm_retry_usage, NULL, NULL, &cfg);

    if (ex >= 0)
        return ex;
    ex = lj_cmd_lock_state("mdm-retry", cfg.state_dir, true, &lock);
    if (ex >= 0)
        return ex;
    ex = lj_flow_mdm_retry(&cfg);
    lj_fs_unlock_dir(lock);
    return ex;
}
