/*
 * wipe.c — removal of a join's local state (see wipe.h for the order and
 * why).  Each module removes its own files through its own call (journal,
 * markers, tpm/); this file only orders them and sweeps the leftovers
 * that no module owns any more (moved-aside files, temp files, MDM state,
 * earlier joins kept aside in lost-* directories).
 */
#include "agent/state/wipe.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/state/journal.h"
#include "agent/state/marker.h"
#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "tpm/tpm.h"

#define MOD "wipe"
#define SWEEP_MAX 4096      /* directory entries looked at: a ceiling, not a limit we expect */
#define LOST_PREFIX "lost-" /* lj_fs_move_files_aside(dir, "lost", ...) in recover.c */

static bool
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Files nobody owns any more, and MDM state (wipe.h step 4 and 6). */
static bool
sweep_name(const char *name)
{
    return strncmp(name, "mdm", 3) == 0 || strstr(name, ".bad-") != NULL ||
           strstr(name, LJ_FS_TMP_MARK) != NULL || ends_with(name, ".tmp");
}

/* Files of a join: what lj_wipe_anything looks for. */
static bool
join_name(const char *name)
{
    static const char *const exact[] = {LJ_JOURNAL_FILE, LJ_JOURNAL_CERT_FILE, LJ_MARKER_JOINED,
                                        LJ_MARKER_MDM_PENDING};

    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strcmp(name, exact[i]) == 0)
            return true;
    return sweep_name(name) || ends_with(name, ".sealed");
}

static bool
is_regular(const char *dir, const char *name)
{
    char path[512];
    struct stat st;

    return lj_path_join(path, sizeof(path), dir, name) && lstat(path, &st) == 0 &&
           S_ISREG(st.st_mode);
}

/* A directory (not a symlink to one) of an earlier join, lost-TIME[-N]. */
static bool
is_lost_dir(const char *dir, const char *name)
{
    char path[512];
    struct stat st;

    return strncmp(name, LOST_PREFIX, strlen(LOST_PREFIX)) == 0 &&
           lj_path_join(path, sizeof(path), dir, name) && lstat(path, &st) == 0 &&
           S_ISDIR(st.st_mode);
}

/* Count regular files in dir and its lost-* directories (for the report). */
static unsigned
count_files(const char *dir, bool lost_too)
{
    char sub[512];
    DIR *d = opendir(dir);
    struct dirent *de;
    unsigned n = 0, seen = 0;

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL && seen++ < SWEEP_MAX) {
        if (is_regular(dir, de->d_name))
            n++;
        else if (lost_too && is_lost_dir(dir, de->d_name) &&
                 lj_path_join(sub, sizeof(sub), dir, de->d_name))
            n += count_files(sub, false);
    }
    closedir(d);
    return n;
}

/* Note the device id the journal in lost directory sub names, once. */
static void
note_orphan(const char *sub, struct lj_wipe_report *rep)
{
    struct lj_journal j;
    char path[512];
    unsigned char *buf = NULL;
    size_t len = 0;

    lj_journal_init(&j);
    if (!is_regular(sub, LJ_JOURNAL_FILE) ||
        !lj_path_join(path, sizeof(path), sub, LJ_JOURNAL_FILE) ||
        lj_fs_read(path, LJ_JOURNAL_MAX_BYTES, &buf, &len) != LJ_OK ||
        lj_journal_from_json((const char *)buf, len, &j, NULL, 0) != LJ_OK ||
        j.device_id[0] == '\0')
        goto out;
    for (unsigned i = 0; i < rep->n_orphans; i++)
        if (strcmp(rep->orphans[i].device_id, j.device_id) == 0)
            goto out;
    lj_log(LJ_LOG_INFO, MOD, "event=orphaned_device device_id=%s dir=%s", j.device_id, sub);
    if (rep->n_orphans < LJ_WIPE_ORPHANS_MAX) {
        struct lj_wipe_orphan *o = &rep->orphans[rep->n_orphans++];

        snprintf(o->device_id, sizeof(o->device_id), "%s", j.device_id);
        snprintf(o->tenant_id, sizeof(o->tenant_id), "%s", j.tenant_id);
    } else {
        rep->more_orphans++;
    }
out:
    free(buf);
}

/*
 * Remove lost directory sub: every entry but directories is unlinked
 * (a symlink goes, its target stays), journal.json last so that a wipe
 * cut short still finds the device id next time; then the directory.
 */
static enum lj_rc
remove_lost_dir(const char *sub)
{
    char path[512];
    DIR *d = opendir(sub);
    struct dirent *de;
    unsigned seen = 0;
    enum lj_rc rc = LJ_OK, r;

    if (d == NULL)
        return lj_err_set(LJ_ERR_IO, MOD, "event=opendir_failed path=%s errno=%s", sub,
                          strerror(errno));
    while ((de = readdir(d)) != NULL && seen++ < SWEEP_MAX) {
        struct stat st;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strcmp(de->d_name, LJ_JOURNAL_FILE) == 0 ||
            !lj_path_join(path, sizeof(path), sub, de->d_name) || lstat(path, &st) != 0 ||
            S_ISDIR(st.st_mode))
            continue;
        r = lj_fs_remove(path);
        if (rc == LJ_OK)
            rc = r;
    }
    closedir(d);
    if (rc == LJ_OK && lj_path_join(path, sizeof(path), sub, LJ_JOURNAL_FILE))
        rc = lj_fs_remove(path);
    if (rc == LJ_OK && rmdir(sub) != 0)
        rc =
            lj_err_set(LJ_ERR_IO, MOD, "event=rmdir_failed path=%s errno=%s", sub, strerror(errno));
    return rc;
}

/* Step 6: the lost-* directories; their device ids into rep first. */
static enum lj_rc
remove_lost(const char *dir, struct lj_wipe_report *rep)
{
    char sub[512];
    DIR *d = opendir(dir);
    struct dirent *de;
    unsigned seen = 0;
    enum lj_rc rc = LJ_OK, r;

    if (d == NULL)
        return LJ_OK;
    while ((de = readdir(d)) != NULL && seen++ < SWEEP_MAX) {
        if (!is_lost_dir(dir, de->d_name) || !lj_path_join(sub, sizeof(sub), dir, de->d_name))
            continue;
        note_orphan(sub, rep);
        r = remove_lost_dir(sub);
        if (rc == LJ_OK)
            rc = r;
    }
    closedir(d);
    return rc;
}

static void
note(struct lj_wipe_report *rep, enum lj_rc *first, enum lj_rc rc, const char *what)
{
    if (rc == LJ_OK)
        return;
    if (*first == LJ_OK) {
        *first = rc;
        snprintf(rep->failed, sizeof(rep->failed), "%s (%s)", what, lj_err_detail());
    }
    lj_log(LJ_LOG_WARN, MOD, "event=wipe_step_failed step=\"%s\" rc=%s", what, lj_rc_name(rc));
}

static enum lj_rc
sweep(const char *dir)
{
    char path[512];
    DIR *d = opendir(dir);
    struct dirent *de;
    unsigned seen = 0;
    enum lj_rc rc = LJ_OK, r;

    if (d == NULL)
        return LJ_OK;
    while ((de = readdir(d)) != NULL && seen++ < SWEEP_MAX) {
        if (!sweep_name(de->d_name) || !is_regular(dir, de->d_name))
            continue;
        if (!lj_path_join(path, sizeof(path), dir, de->d_name))
            continue;
        r = lj_fs_remove(path);
        if (rc == LJ_OK)
            rc = r;
    }
    closedir(d);
    return rc;
}

enum lj_rc
lj_wipe_state(const char *state_dir, struct lj_wipe_report *rep)
{
    struct lj_wipe_report local;
    struct stat st;
    unsigned before;
    enum lj_rc first = LJ_OK;

    if (rep == NULL)
        rep = &local;
    memset(rep, 0, sizeof(*rep));
    if (stat(state_dir, &st) != 0 && errno == ENOENT)
        return LJ_OK;
    before = count_files(state_dir, true);
    note(rep, &first, lj_marker_clear(state_dir), "markers");
    note(rep, &first, lj_journal_remove(state_dir), "journal and device certificate");
    note(rep, &first, tpm_sealed_remove_all(state_dir, NULL), "sealed secrets");
    note(rep, &first, tpm_keys_remove(state_dir), "device keys");
    note(rep, &first, sweep(state_dir), "MDM state and leftovers");
    note(rep, &first, remove_lost(state_dir, rep), "earlier joins kept aside (lost-*)");
    {
        unsigned after = count_files(state_dir, true);
        rep->removed = before > after ? before - after : 0;
    }
    lj_log(first == LJ_OK ? LJ_LOG_INFO : LJ_LOG_WARN, MOD,
           "event=state_wiped dir=%s removed=%u rc=%s", state_dir, rep->removed, lj_rc_name(first));
    return first;
}

bool
lj_wipe_anything(const char *state_dir)
{
    DIR *d;
    struct dirent *de;
    unsigned seen = 0;
    bool any = false;

    if (tpm_files_present(state_dir))
        return true;
    d = opendir(state_dir);
    if (d == NULL)
        return false;
    while (!any && (de = readdir(d)) != NULL && seen++ < SWEEP_MAX)
        any = (join_name(de->d_name) && is_regular(state_dir, de->d_name)) ||
              is_lost_dir(state_dir, de->d_name);
    closedir(d);
    return any;
}
