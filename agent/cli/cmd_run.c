/*
 * cmd_run.c — `linkjoin run [CONFIG FLAGS]`: the first-boot join flow
 * (agent/flow/flow.c) with the configuration from defaults, file and flags.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/cli/cmd.h"
#include "agent/core/config.h"
#include "agent/core/exitcodes.h"
#include "agent/flow/flow.h"
#include "platform/common/log.h"
#include "platform/common/fsutil.h"

static void
run_usage(FILE *f)
{
    fprintf(f, "usage: linkjoin run [configuration flags]\n"
               "Sign the user in, create the device keys in the TPM, join the device to\n"
               "the user's Entra tenant and report the result to the OOBE UI (--ui).\n"
               "Then enroll it in Intune (mdm = required | optional decides whether a\n"
               "refusal leaves setup incomplete).  On a joined device it only reports\n"
               "'already joined' (exit 10); a pending Intune enrollment is finished.\n"
               "With the default --ui socket, an OOBE UI connects to ui_socket; from a\n"
               "terminal use --ui tty to see the sign-in code here.\n\n"
               "  --no-early-keygen        create the TPM keys, sign the join request and\n"
               "                           find the registration service after sign-in\n"
               "                           instead of at start (the sequential baseline of\n"
               "                           make bench)\n\n");
    lj_config_usage(f);
}

int
cmd_run(int argc, char **argv)
{
    static const char *const opts[] = {"--no-early-keygen", NULL};
    struct lj_config cfg;
    enum lj_log_level lvl;
    bool seen[1] = {false};
    int lock = -1;
    int rc = lj_cmd_args("run", argc, argv, run_usage, opts, seen, &cfg);

    if (rc >= 0)
        return rc;
    cfg.no_early_keygen = seen[0];
    if (cfg.signin == LJ_SIGNIN_PASSWORD && cfg.ui == LJ_UI_TTY && cfg.password_file[0] == '\0') {
        fprintf(stderr, "linkjoin: password sign-in with --ui tty needs password_file "
                        "(the tty front end takes no input)\n");
        return LJ_EXIT_CONFIG;
    }
    if (cfg.signin == LJ_SIGNIN_AUTH_CODE && cfg.ui == LJ_UI_TTY) {
        fprintf(stderr, "linkjoin: auth_code sign-in needs a UI that can hand back the code "
                        "(--ui socket or stdio)\n");
        return LJ_EXIT_CONFIG;
    }
    if (lj_config_check_files(&cfg) != LJ_OK) {
        fprintf(stderr, "linkjoin run: %s\n", cfg.error);
        return LJ_EXIT_CONFIG;
    }
    if (lj_log_parse_level(cfg.log_level, &lvl))
        lj_log_set_level(lvl);
    rc = lj_cmd_lock_state("run", cfg.state_dir, true, &lock);
    if (rc >= 0)
        return rc;
    /*
     * From a terminal with the default socket UI the sign-in code goes to a
     * socket nobody may be reading: say where the screen is expected.
     */
    if (cfg.ui == LJ_UI_SOCKET && (isatty(STDIN_FILENO) || isatty(STDERR_FILENO)))
        fprintf(stderr,
                "linkjoin run: waiting for the setup screen (OOBE UI) on %s; to sign in on "
                "this terminal instead, run with --ui tty\n",
                cfg.ui_socket);
    rc = lj_flow_run(&cfg);
    lj_fs_unlock_dir(lock);
    return rc;
}
