/*
 * recover.h — what a run can prove before it continues.
 *
 * The journal says how far the last run got, but after a power cut, a
 * damaged journal or a cleared TPM it is not the whole truth.  Before the
 * flow acts on the journal it asks lj_recover(), which looks at what can be
 * proven independently of it:
 *   - the key record and whether the TPM still loads the keys;
 *   - a device certificate on disk, and whether it carries the device key
 *     (checked by the same code that checked it when DRS sent it).
 * Decisions (README "Crash and power loss"):
 *   - keys load, certificate matches, journal below `joined` (crash between
 *     saving the certificate and the journal, or a journal lost/moved aside
 *     after the join): the journal is rebuilt as `joined` from the
 *     certificate (device id = CN, tenant = extension .284.5, thumbprint).
 *   - certificate present but not for this key: moved aside (.bad-TIME).
 *   - the TPM cannot load the keys any more (LJ_ERR_TPM_WRONG_TPM /
 *     LJ_ERR_TPM_KEYS_LOST: cleared or replaced TPM), the key record is of
 *     an older version (older key templates: LJ_ERR_TPM_KEYS_LOST too), or
 *     the journal says
 *     keys exist but the key record is gone: every file of the state
 *     directory is moved into STATE_DIR/lost-TIME/ (nothing deleted) and
 *     the run starts again as a new device.  The old device object stays
 *     in Entra until an admin deletes it; the notice says so.
 *   - journal at keys_ready..join_sent: resume (keys reused; a join whose
 *     answer was lost is sent again with the same key and ReuseDevice).
 *   - anything it cannot decide (TPM unreachable, locked out, key files
 *     corrupt) is left to the flow, which reports it with its exact reason.
 */
#ifndef LJ_AGENT_RECOVER_H
#define LJ_AGENT_RECOVER_H

#include <stddef.h>

#include "agent/core/config.h"
#include "agent/state/journal.h"
#include "platform/common/result.h"

enum lj_recover_action {
    LJ_RECOVER_NONE = 0,             /* nothing to say */
    LJ_RECOVER_RESUME = 1,           /* journal mid-join: resuming with the same keys */
    LJ_RECOVER_RETRY = 2,            /* the last run failed (journal has last_error) */
    LJ_RECOVER_JOINED_FROM_CERT = 3, /* journal rebuilt as joined from the certificate */
    LJ_RECOVER_KEYS_LOST = 4,        /* state moved aside; starting as a new device */
};

struct lj_recover_report {
    enum lj_recover_action action;
    char aside_dir[512]; /* KEYS_LOST: where the old files went */
    char notice[768];    /* one sentence for the UI; "" = nothing to say */
};

/* "none", "resume", "retry", "joined_from_cert", "keys_lost"; never NULL. */
const char *lj_recover_action_name(enum lj_recover_action a);

/*
 * Reconcile *j (as loaded by lj_journal_load) with the keys and the
 * certificate in cfg->state_dir, as described above; *j may be rebuilt
 * (and saved) or reset.  *rep is always written.  Opens (and closes) its
 * own TPM context only when a key record exists.  Errors: LJ_ERR_IO when
 * files cannot be moved aside or the rebuilt journal cannot be saved;
 * everything else is LJ_OK.  Blocks (file system, a few TPM commands).
 */
enum lj_rc lj_recover(const struct lj_config *cfg, struct lj_journal *j,
                      struct lj_recover_report *rep);

/*
 * Do the saved keys still work with this TPM?  LJ_OK yes; LJ_ERR_NOT_FOUND
 * there is no key record; LJ_ERR_TPM_KEYS_LOST the TPM cannot load them
 * (cleared or replaced) or the record is of an older version; any other rc: could not tell (TPM
 * unreachable, locked out, key files corrupt; detail logged).  With spki non-NULL and LJ_OK, *spki
 * (DER SubjectPublicKeyInfo of the device key) is malloc'ed for the caller (free()).  Opens and
 * closes its own TPM context.  Blocks.
 */
enum lj_rc lj_recover_keys_check(const struct lj_config *cfg, unsigned char **spki,
                                 size_t *spki_len);

#endif
