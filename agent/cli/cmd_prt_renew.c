/*
 * cmd_prt_renew.c — `linkjoin prt-renew [--force] [CONFIG FLAGS]`: renew
 * the device's Primary Refresh Token when it is due (agent/flow/sso.c;
 * linkjoin-prt-renew.timer runs it hourly), or get one from the kept
 * sign-in when the device has none.  Never prompts.
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
prt_renew_usage(FILE *f)
{
    fprintf(f,
            "usage: linkjoin prt-renew [--force] [configuration flags]\n"
            "Renew this device's Primary Refresh Token (single sign-on) when it is due:\n"
            "%d hours old, or a third of its life or less left (--force: now).  A device\n"
            "without one gets one from the sign-in kept while Intune enrollment is pending.\n"
            "Never asks anyone to sign in.\n\n"
            "exit: 0 renewed or not due, 5 no network, 6 nothing to renew with ('linkjoin\n"
            "      run' signs in again), 7 the device is disabled or deleted in Entra,\n"
            "      8 bad service answer, 11 the cloud does not recognize the device yet,\n"
            "      12 not joined, 17 another linkjoin command is using the state\n"
            "      directory (nothing done), 1/3/4/13 as in 'linkjoin --help'.\n\n",
            LJ_FLOW_PRT_RENEW_S / 3600);
    lj_config_usage(f);
}

int
cmd_prt_renew(int argc, char **argv)
{
    static const char *const opts[] = {"--force", NULL};
    bool seen[1] = {false};
    struct lj_config cfg;
    int lock = -1;
    int ex = lj_cmd_args("prt-renew", argc, argv, prt_renew_usage, opts, seen, &cfg);

    if (ex >= 0)
        return ex;
    ex = lj_cmd_lock_state("prt-renew", cfg.state_dir, false, &lock);
    if (ex >= 0)
        return ex;
    ex = lj_flow_prt_renew(&cfg, seen[0], stdout);
    lj_fs_unlock_dir(lock);
    return ex;
}
