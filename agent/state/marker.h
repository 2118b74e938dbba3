/*
 * marker.h — empty marker files in the state directory that systemd units
 * test with ConditionPathExists= (systemd cannot read the journal):
 *
 *   STATE_DIR/joined       exists once the device is joined (journal state
 *                          joined, mdm_pending or mdm_enrolled).
 *                          linkjoin.service runs only while it is ABSENT.
 *   STATE_DIR/mdm-pending  exists while Intune enrollment is pending
 *                          (journal state mdm_pending).
 *                          linkjoin-mdm-retry.service runs only while it
 *                          is PRESENT.
 *
 * The journal stays the truth; markers follow it.  The flow calls
 * lj_marker_sync after every journal write that changes the state; leave
 * and factory-reset call lj_marker_clear with the rest of the state.
 */
#ifndef LJ_AGENT_MARKER_H
#define LJ_AGENT_MARKER_H

#include "agent/state/journal.h"
#include "platform/common/result.h"

#define LJ_MARKER_JOINED "joined"
#define LJ_MARKER_MDM_PENDING "mdm-pending"

/*
 * Make the markers in state_dir match state: create (0600, empty; only
 * mdm-pending is fsynced, see marker.c) or remove each one.  Idempotent.  Returns LJ_OK,
 * LJ_ERR_INVAL (path too long) or LJ_ERR_IO (first failure kept; the other marker is still tried).
 * Blocks on the file system.
 */
enum lj_rc lj_marker_sync(const char *state_dir, enum lj_journal_state state);

/* Remove both markers (a missing one is fine).  Blocks on the file system. */
enum lj_rc lj_marker_clear(const char *state_dir);

#endif
