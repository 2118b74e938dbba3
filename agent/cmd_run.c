/*
 * cmd_run.c — `linkjoin run [CONFIG FLAGS]`: the first-boot join flow
 * (agent/flow.c) with the configuration from defaults, file and flags.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/exitcodes.h"
#include "agent/flow.h"
#include "platform/log.h"

int
cmd_run(int argc, char **argv)
{
    struct lj_config cfg;
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    enum lj_log_level lvl;
    int nrest = 0, kept = 1, rc = LJ_EXIT_OK;

    if (rest == NULL)
        return LJ_EXIT_FAILURE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: linkjoin run [configuration flags]\n"
                   "Sign the user in, create the device keys in the TPM, join the device to\n"
                   "the user's Entra tenant and report the result to the OOBE UI (--ui).\n"
                   "On a joined device it only reports 'already joined' (exit 10).\n\n"
                   "  --no-early-keygen        create the TPM keys after sign-in instead of at\n"
                   "                           start (the sequential baseline of make bench)\n\n");
            lj_config_usage(stdout);
            goto out;
        }
    }
    if (lj_config_from_args(&cfg, argc, argv, &nrest, rest) != LJ_OK) {
        fprintf(stderr, "linkjoin: %s\n", cfg.error);
        rc = LJ_EXIT_CONFIG;
        goto out;
    }
    /* The run's own option; the rest (after argv[0]) are unknown. */
    for (int i = 1; i < nrest; i++) {
        if (strcmp(rest[i], "--no-early-keygen") == 0)
            cfg.no_early_keygen = true;
        else
            rest[kept++] = rest[i];
    }
    nrest = kept;
    if (nrest > 1) {
        fprintf(stderr, "linkjoin run: unknown option '%s'\n", rest[1]);
        rc = LJ_EXIT_USAGE;
        goto out;
    }
    if (cfg.signin == LJ_SIGNIN_PASSWORD && cfg.ui == LJ_UI_TTY && cfg.password_file[0] == '\0') {
        fprintf(stderr, "linkjoin: password sign-in with --ui tty needs password_file "
                        "(the tty front end takes no input)\n");
        rc = LJ_EXIT_CONFIG;
        goto out;
    }
    if (cfg.signin == LJ_SIGNIN_AUTH_CODE && cfg.ui == LJ_UI_TTY) {
        fprintf(stderr, "linkjoin: auth_code sign-in needs a UI that can hand back the code "
                        "(--ui socket or stdio)\n");
        rc = LJ_EXIT_CONFIG;
        goto out;
    }
    if (lj_log_parse_level(cfg.log_level, &lvl))
        lj_log_set_level(lvl);
    rc = lj_flow_run(&cfg);
out:
    free(rest);
    return rc;
}
