/*
 * cmd_args.c — the common front of every command that reads the
 * configuration: --help first (so it works even with a broken config file),
 * then defaults + file + flags (agent/core/config.c), then the command's own
 * boolean options.  One place prints the config and usage errors, so every
 * command reports them the same way and with the same exit codes.
 */
#include "agent/cli/cmd.h"

#include <stdlib.h>
#include <string.h>

#include "agent/core/exitcodes.h"

int
lj_cmd_args(const char *name, int argc, char **argv, void (*usage)(FILE *f),
            const char *const *opts, bool *seen, struct lj_config *cfg)
{
    char **rest = NULL;
    int nrest = 0, ex = -1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return LJ_EXIT_OK;
        }
    }
    rest = calloc((size_t)argc + 1, sizeof(*rest));
    if (rest == NULL)
        return LJ_EXIT_FAILURE;
    if (lj_config_from_args(cfg, argc, argv, &nrest, rest) != LJ_OK) {
        fprintf(stderr, "linkjoin: %s\n", cfg->error);
        ex = LJ_EXIT_CONFIG;
        goto out;
    }
    for (int i = 1; i < nrest; i++) {
        size_t k = 0;

        while (opts != NULL && opts[k] != NULL && strcmp(rest[i], opts[k]) != 0)
            k++;
        if (opts == NULL || opts[k] == NULL) {
            fprintf(stderr, "linkjoin %s: unknown option '%s' (see 'linkjoin %s --help')\n",
                    name, rest[i], name);
            ex = LJ_EXIT_USAGE;
            goto out;
        }
        seen[k] = true;
    }
out:
    free(rest);
    return ex;
}
