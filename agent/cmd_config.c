/*
 * cmd_config.c — `linkjoin config [--check] [CONFIG FLAGS]`: read the
 * configuration exactly as `run` would (defaults, file, flags) and print
 * the result as an INI file, or the first error with FILE:LINE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/exitcodes.h"

int
cmd_config(int argc, char **argv)
{
    struct lj_config cfg;
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    int nrest = 0, rc = LJ_EXIT_OK;
    bool check = false;

    if (rest == NULL)
        return LJ_EXIT_FAILURE;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: linkjoin config [--check] [configuration flags]\n"
                   "Print the effective configuration (defaults, file, flags) as an INI file;\n"
                   "--check prints nothing on success.  Exit 3 on a bad file, key or value.\n\n");
            lj_config_usage(stdout);
            goto out;
        }
    }
    if (lj_config_from_args(&cfg, argc, argv, &nrest, rest) != LJ_OK) {
        fprintf(stderr, "linkjoin: %s\n", cfg.error);
        rc = LJ_EXIT_CONFIG;
        goto out;
    }
    for (int i = 1; i < nrest; i++) {
        if (strcmp(rest[i], "--check") == 0) {
            check = true;
        } else {
            fprintf(stderr, "linkjoin config: unknown option '%s'\n", rest[i]);
            rc = LJ_EXIT_USAGE;
            goto out;
        }
    }
    if (!check)
        lj_config_dump(&cfg, stdout);
out:
    free(rest);
    return rc;
}
