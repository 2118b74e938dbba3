/*
 * marker.c — the joined / mdm-pending marker files (see marker.h).
 *
 * Design note: markers are derived data for systemd's unit conditions, so
 * they are written after the journal, and a crash between the two is
 * repaired by the next sync: `run` on a joined device syncs before it
 * exits "already joined".
 */
#include "agent/marker.h"

#include <limits.h>

#include "platform/fsutil.h"
#include "platform/log.h"

#define MOD "marker"

static enum lj_rc
marker_set(const char *state_dir, const char *name, bool on)
{
    char path[PATH_MAX];

    if (!lj_path_join(path, sizeof(path), state_dir, name))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=marker_failed reason=path_too_long");
    if (!on)
        return lj_fs_remove(path);
    if (lj_fs_exists(path))
        return LJ_OK;
    return lj_fs_write_atomic(path, "", 0, 0600);
}

enum lj_rc
lj_marker_sync(const char *state_dir, enum lj_journal_state state)
{
    bool joined =
        state == LJ_JS_JOINED || state == LJ_JS_MDM_PENDING || state == LJ_JS_MDM_ENROLLED;
    enum lj_rc rc, rc2;

    rc = marker_set(state_dir, LJ_MARKER_JOINED, joined);
    rc2 = marker_set(state_dir, LJ_MARKER_MDM_PENDING, state == LJ_JS_MDM_PENDING);
    return rc != LJ_OK ? rc : rc2;
}

enum lj_rc
lj_marker_clear(const char *state_dir)
{
    enum lj_rc rc, rc2;

    rc = marker_set(state_dir, LJ_MARKER_MDM_PENDING, false);
    rc2 = marker_set(state_dir, LJ_MARKER_JOINED, false);
    return rc != LJ_OK ? rc : rc2;
}
