/*
 * cmd_config.c — `linkjoin config [--check] [CONFIG FLAGS]`: read the
 * configuration exactly as `run` would (defaults, file, flags) and print
 * the result as an INI file, or the first error with FILE:LINE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli/cmd.h"
#include "agent/core/config.h"
#include "agent/core/exitcodes.h"

static void
config_usage(FILE *f)
{
    fprintf(f, "usage: linkjoin config [--check] [configuration flags]\n"
               "Print the effective configuration (defaults, file, flags) as an INI file;\n"
               "--check prints nothing on success.  Exit 3 on a bad file, key or value.\n\n");
    lj_config_usage(f);
}

int
cmd_config(int argc, char **argv)
{
    static const char *const opts[] = {"--check", NULL};
    struct lj_config cfg;
    bool seen[1] = {false};
    int ex = lj_cmd_args("config", argc, argv, config_usage, opts, seen, &cfg);

    if (ex >= 0)
        return ex;
    if (seen[0] && lj_config_check_files(&cfg) != LJ_OK) {
        fprintf(stderr, "linkjoin config: %s\n", cfg.error);
        return LJ_EXIT_CONFIG;
    }
    if (!seen[0])
        lj_config_dump(&cfg, stdout);
    return LJ_EXIT_OK;
}
