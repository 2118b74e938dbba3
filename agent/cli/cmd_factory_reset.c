/*
 * cmd_factory_reset.c — `linkjoin factory-reset [--clear-tpm --yes] [CONFIG FLAGS]`:
 * wipe the local join state (agent/state/wipe.h) so the next boot starts a fresh
 * OOBE; with --clear-tpm also TPM2_Clear the owner hierarchy (tpm_clear).
 *
 * Design note: a reset never talks to the cloud (that is `leave`): a
 * joined device's object stays in Entra and its id is printed, as are
 * those of earlier joins kept aside in lost-* when the TPM lost their keys.  The TPM is
 * cleared after the files are gone, so an interrupted reset is finished by
 * running it again; clearing first would leave blobs that no longer load.
 * --clear-tpm destroys every key under the owner hierarchy, also those of
 * other software, so scripts must say --yes; without it the command
 * refuses (usage error) before touching anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/net/cfgmap.h"
#include "agent/cli/cmd.h"
#include "agent/core/config.h"
#include "agent/core/exitcodes.h"
#include "agent/state/journal.h"
#include "agent/state/wipe.h"
#include "platform/common/fsutil.h"
#include "tpm/tpm.h"

#define P "linkjoin factory-reset: "

static void
reset_usage(FILE *f)
{
    fprintf(f,
            "usage: linkjoin factory-reset [--clear-tpm --yes] [--config FILE] [--state-dir DIR]\n"
            "                              [--tcti TCTI] [CONFIG FLAGS]\n"
            "\n"
            "Wipes the local join: device keys, certificates, journal, sealed tokens, MDM state,\n"
            "the boot markers and earlier joins kept aside after a TPM clear (lost-*), so the\n"
            "next boot starts a fresh setup (OOBE). The device objects in the cloud are not\n"
            "touched (use `linkjoin leave` first for that); their ids are printed.\n"
            "\n"
            "  --clear-tpm    also clear the TPM's owner hierarchy (TPM2_Clear with the empty\n"
            "                 lockout authorization): every TPM key of every program is gone\n"
            "  --yes          confirm --clear-tpm (required; there is no prompt)\n"
            "  -h, --help     this text\n"
            "\n"
            "exit codes: 0 reset, 1 files could not be removed, 2 usage (--clear-tpm without\n"
            "--yes), 3 configuration, 4 TPM unreachable or the clear refused, 17 another\n"
            "linkjoin command is using the state directory (nothing done).\n");
}

void
lj_cmd_print_orphans(const struct lj_wipe_report *rep, const char *current_id)
{
    for (unsigned i = 0; i < rep->n_orphans; i++) {
        const struct lj_wipe_orphan *o = &rep->orphans[i];

        if (current_id != NULL && strcmp(o->device_id, current_id) == 0)
            continue;
        printf("An earlier join of this device left device object %s in the cloud (tenant %s): "
               "an administrator can delete it in Entra.\n",
               o->device_id, o->tenant_id[0] ? o->tenant_id : "unknown");
    }
    if (rep->more_orphans > 0)
        printf("%u more device objects of earlier joins remain in the cloud (see the log).\n",
               rep->more_orphans);
}

static int
clear_tpm(const struct lj_config *cfg)
{
    struct tpm_open_opts to;
    struct tpm_ctx *t = NULL;
    enum lj_rc rc;
    int ex = LJ_EXIT_OK;

    lj_cfg_tpm_opts(cfg, false, &to);
    rc = tpm_open(&to, &t);
    if (rc == LJ_OK)
        rc = tpm_clear(t);
    tpm_close(t);
    switch (rc) {
    case LJ_OK:
        printf("TPM owner hierarchy cleared (new storage seed; old TPM keys are gone).\n");
        break;
    case LJ_ERR_TPM_UNREACHABLE:
        fprintf(stderr,
                P "the TPM is unreachable at '%s'; files were removed, the TPM was "
                  "not cleared\n",
                to.tcti ? to.tcti : TPM_DEFAULT_TCTI);
        ex = LJ_EXIT_TPM;
        break;
    case LJ_ERR_AUTH:
        fprintf(stderr, P "the TPM refused TPM2_Clear: its lockout authorization is set. "
                          "Clear the TPM from the firmware setup. Files were removed.\n");
        ex = LJ_EXIT_TPM;
        break;
    case LJ_ERR_UNSUPPORTED:
        fprintf(stderr, P "--clear-tpm needs the TPM key provider. Files were removed.\n");
        ex = LJ_EXIT_USAGE;
        break;
    default:
        fprintf(stderr, P "TPM2_Clear failed (%s: %s). Files were removed.\n", lj_rc_name(rc),
                lj_err_detail());
        ex = LJ_EXIT_TPM;
        break;
    }
    return ex;
}

int
cmd_factory_reset(int argc, char **argv)
{
    struct lj_config cfg;
    struct lj_journal j;
    struct lj_wipe_report rep;
    static const char *const opts[] = {"--clear-tpm", "--yes", NULL};
    bool seen[2] = {false, false};
    int ex, lock = -1;
    bool clear, yes, had;

    ex = lj_cmd_args("factory-reset", argc, argv, reset_usage, opts, seen, &cfg);
    if (ex >= 0)
        return ex;
    clear = seen[0];
    yes = seen[1];
    if (clear && !yes) {
        fprintf(stderr, P "--clear-tpm destroys every key in the TPM's owner hierarchy, also\n"
                          "  those of other software; add --yes to confirm. Nothing was done.\n"
                          "usage: linkjoin factory-reset [--clear-tpm --yes] [CONFIG FLAGS]\n");
        ex = LJ_EXIT_USAGE;
        goto out;
    }
    if (yes && !clear) {
        fprintf(stderr, P "--yes only confirms --clear-tpm. Nothing was done.\n");
        ex = LJ_EXIT_USAGE;
        goto out;
    }
    ex = lj_cmd_lock_state("factory-reset", cfg.state_dir, false, &lock);
    if (ex >= 0)
        goto out;
    /* The device id, to say what remains in the cloud (read-only load). */
    lj_journal_init(&j);
    had = lj_wipe_anything(cfg.state_dir);
    {
        char path[512];
        unsigned char *buf = NULL;
        size_t len = 0;
        if (lj_path_join(path, sizeof(path), cfg.state_dir, LJ_JOURNAL_FILE) &&
            lj_fs_read(path, LJ_JOURNAL_MAX_BYTES, &buf, &len) == LJ_OK &&
            lj_journal_from_json((const char *)buf, len, &j, NULL, 0) != LJ_OK)
            lj_journal_init(&j);
        free(buf);
    }
    if (lj_wipe_state(cfg.state_dir, &rep) != LJ_OK) {
        fprintf(stderr, P "removing local state failed: %s\n", rep.failed);
        ex = LJ_EXIT_FAILURE;
        goto out;
    }
    if (had)
        printf("Local join state removed from %s (%u files).\n", cfg.state_dir, rep.removed);
    else
        printf("No local join state in %s.\n", cfg.state_dir);
    if (j.state >= LJ_JS_JOINED && j.device_id[0] != '\0')
        printf("The device object %s remains in the cloud (tenant %s): an administrator can "
               "delete it in Entra.\n",
               j.device_id, j.tenant_id[0] ? j.tenant_id : "unknown");
    lj_cmd_print_orphans(&rep, j.device_id[0] != '\0' ? j.device_id : NULL);
    ex = clear ? clear_tpm(&cfg) : LJ_EXIT_OK;
    if (ex == LJ_EXIT_OK)
        printf("The next boot starts a fresh setup.\n");
out:
    lj_fs_unlock_dir(lock);
    if (ex == LJ_EXIT_OK && fflush(stdout) != 0)
        ex = LJ_EXIT_FAILURE;
    return ex;
}
