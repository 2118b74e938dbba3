/*
 * wipe.h — removing a join's local state: `linkjoin leave` (after the cloud
 * object is gone, or with --local-only) and `linkjoin factory-reset`.
 *
 * What goes, in this order, so a wipe cut short by power loss is finished
 * by running the command again and never leaves a half-joined device that
 * the boot service skips:
 *   1. the systemd markers (joined, mdm-pending; lj_marker_clear): the
 *      first-boot join service runs again from the next boot on;
 *   2. journal.json and device-cert.der (lj_journal_remove);
 *   3. sealed secrets, NAME.sealed (tpm_sealed_remove_all);
 *   4. the device and transport keys, then the keyed-hash keys such as
 *      the PRT session key, NAME.hkey (tpm_keys_remove: record first);
 *   5. MDM state: every regular file whose name starts with "mdm" (the
 *      Intune code must name its files so), and leftovers that still name
 *      the old join: files moved aside (NAME.bad-TIME: old journals,
 *      orphaned key blobs) and interrupted atomic writes
 *      (NAME.tmp-XXXXXX; NAME.tmp of older versions);
 *   6. earlier joins kept aside when their keys were lost (lost-TIME/: old
 *      journal, certificates, key blobs, sealed tokens): each such
 *      directory's files (symlinks removed, never followed; its
 *      journal.json last, so a wipe cut short still names its device
 *      next time), then the directory.  The device ids those journals name
 *      are reported first: they are objects still registered in the cloud.
 * Anything else in the directory (files linkjoin does not own) is left.
 * Nothing here talks to the network or the TPM: keys in the TPM are
 * never persistent, so deleting their blobs deletes the keys.
 */
#ifndef LJ_AGENT_WIPE_H
#define LJ_AGENT_WIPE_H

#include <stdbool.h>

#include "platform/common/result.h"

#define LJ_WIPE_ORPHANS_MAX 16

/* A device object of an earlier join (from a lost-* journal). */
struct lj_wipe_orphan {
    char device_id[40];
    char tenant_id[40]; /* "" when the journal has none */
};

struct lj_wipe_report {
    unsigned removed; /* files deleted */
    char failed[320]; /* "" or the first file that could not be deleted (and why) */
    /* distinct device ids of earlier joins found in lost-TIME/journal.json (in
     * no promised order): n_orphans at most LJ_WIPE_ORPHANS_MAX,
     * more_orphans counts those that did not fit */
    unsigned n_orphans, more_orphans;
    struct lj_wipe_orphan orphans[LJ_WIPE_ORPHANS_MAX];
};

/*
 * Remove everything listed above from state_dir (a missing directory is
 * fine: nothing to do).  Every step is tried even after a failure; the
 * result is the first failure (LJ_ERR_IO) with rep->failed naming it.
 * rep (optional) is always written.  Blocks on the file system.
 */
enum lj_rc lj_wipe_state(const char *state_dir, struct lj_wipe_report *rep);

/*
 * True when state_dir holds anything lj_wipe_state would remove (keys,
 * journal, certificate, sealed files, MDM files, markers, leftovers,
 * lost-* directories).
 */
bool lj_wipe_anything(const char *state_dir);

#endif
