/*
 * marker.c — the joined / mdm-pending marker files (see marker.h).
 *
 * Design note: markers are derived data for systemd's unit conditions, so
 * they are written after the journal, and a crash between the two is
 * repaired by the next sync: `run` on a joined device syncs before it
 * exits "already joined".
 * - Durability follows from that.  A `joined` marker lost to a power cut
 *   only makes linkjoin.service start once more, and that `run` finds the
 *   journal joined and syncs the markers (resuming Intune when it is
 *   owed): so `joined` is created without fsync (an empty file: creating
 *   the name is all there is to write), which keeps two fsyncs out of the
 *   person's wait at the end of the join (tests/bench/breakdown.py,
 *   "marker").  A lost `mdm-pending` would NOT repair itself (nothing
 *   would start linkjoin-mdm-retry.service), so it is written atomically
 *   and fsynced, file and directory, which also makes an earlier `joined`
 *   in the same directory durable.
 */
#include "agent/state/marker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/common/fsutil.h"
#include "platform/common/log.h"

#define MOD "marker"

/* Create the empty file path (0600) without fsync; see the design note. */
static enum lj_rc
marker_touch(const char *path)
{
    enum lj_rc rc = LJ_OK;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

    if (fd < 0 || fchmod(fd, 0600) != 0)
        rc = lj_err_set(LJ_ERR_IO, MOD, "event=marker_failed path=%s errno=%s", path,
                        strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

static enum lj_rc
marker_set(const char *state_dir, const char *name, bool on, bool durable)
{
    char path[PATH_MAX];

    if (!lj_path_join(path, sizeof(path), state_dir, name))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=marker_failed reason=path_too_long");
    if (!on)
        return lj_fs_remove(path);
    if (lj_fs_exists(path))
        return LJ_OK;
    return durable ? lj_fs_write_atomic(path, "", 0, 0600) : marker_touch(path);
}

enum lj_rc
lj_marker_sync(const char *state_dir, enum lj_journal_state state)
{
    bool joined =
        state == LJ_JS_JOINED || state == LJ_JS_MDM_PENDING || state == LJ_JS_MDM_ENROLLED;
    enum lj_rc rc, rc2;

    rc = marker_set(state_dir, LJ_MARKER_JOINED, joined, false);
    rc2 = marker_set(state_dir, LJ_MARKER_MDM_PENDING, state == LJ_JS_MDM_PENDING, true);
    return rc != LJ_OK ? rc : rc2;
}

enum lj_rc
lj_marker_clear(const char *state_dir)
{
    enum lj_rc rc, rc2;

    rc = marker_set(state_dir, LJ_MARKER_MDM_PENDING, false, true);
    rc2 = marker_set(state_dir, LJ_MARKER_JOINED, false, false);
    return rc != LJ_OK ? rc : rc2;
}
