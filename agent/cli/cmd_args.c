/*
 * cmd_args.c — the common front of every command that reads the
 * configuration: --help first (so it works even with a broken config file),
 * then defaults + file + flags (agent/core/config.c), then the command's own
 * boolean options.  One place prints the config and usage errors, so every
 * command reports them the same way and with the same exit codes.  Also the
 * configuration front of the TPM commands with their own getopt parser
 * (csr, tpm, factory-test): the file first, then their flags.
 */
#include "agent/cli/cmd.h"

#include <stdlib.h>
#include <string.h>

#include "agent/core/exitcodes.h"
#include "platform/common/fsutil.h"
#include "platform/common/log.h"

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
            fprintf(stderr, "linkjoin %s: unknown option '%s' (see 'linkjoin %s --help')\n", name,
                    rest[i], name);
            ex = LJ_EXIT_USAGE;
            goto out;
        }
        seen[k] = true;
    }
out:
    free(rest);
    return ex;
}

int
lj_cmd_tpm_config(const char *name, const struct lj_cmd_tpm_flags *fl, struct lj_config *cfg)
{
    enum lj_log_level lvl;
    const char *path = fl->config != NULL ? fl->config : LJ_CONFIG_DEFAULT_PATH;

    lj_config_defaults(cfg);
    if (lj_config_load_file(cfg, path, fl->config != NULL) != LJ_OK) {
        fprintf(stderr, "linkjoin %s: %s\n", name, cfg->error);
        return LJ_EXIT_CONFIG;
    }
    if (lj_log_parse_level(cfg->log_level, &lvl))
        lj_log_set_level(lvl);
    if (fl->log_level != NULL && lj_log_parse_level(fl->log_level, &lvl))
        lj_log_set_level(lvl);
    if (fl->tcti != NULL &&
        (size_t)snprintf(cfg->tcti, sizeof(cfg->tcti), "%s", fl->tcti) >= sizeof(cfg->tcti)) {
        fprintf(stderr, "linkjoin %s: --tcti is too long\n", name);
        return LJ_EXIT_USAGE;
    }
    if (fl->state_dir != NULL && (size_t)snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s",
                                                  fl->state_dir) >= sizeof(cfg->state_dir)) {
        fprintf(stderr, "linkjoin %s: --state-dir is too long\n", name);
        return LJ_EXIT_USAGE;
    }
    if (fl->provider_set)
        cfg->key_provider = fl->provider;
    if (lj_config_validate_build(cfg) != LJ_OK) {
        fprintf(stderr, "linkjoin %s: %s\n", name, cfg->error);
        return LJ_EXIT_CONFIG;
    }
    return -1;
}

int
lj_cmd_lock_state(const char *name, const char *state_dir, bool create, int *fd)
{
    bool busy = false;
    enum lj_rc rc;

    *fd = -1;
    if (create && lj_fs_mkdir_private(state_dir) != LJ_OK) {
        fprintf(stderr, "linkjoin %s: cannot create the state directory %s (%s)\n", name, state_dir,
                lj_err_detail());
        return LJ_EXIT_FAILURE;
    }
    rc = lj_fs_lock_dir(state_dir, fd, &busy);
    if (rc == LJ_OK || (rc == LJ_ERR_NOT_FOUND && !create))
        return -1;
    if (busy) {
        fprintf(stderr,
                "linkjoin %s: another linkjoin command is using the state directory %s "
                "(run, mdm-retry, leave, factory-reset, csr or tpm seal); nothing was done. "
                "Try again when it has finished.\n",
                name, state_dir);
        return LJ_EXIT_BUSY;
    }
    fprintf(stderr, "linkjoin %s: cannot lock the state directory %s (%s)\n", name, state_dir,
            lj_err_detail());
    return LJ_EXIT_FAILURE;
}
