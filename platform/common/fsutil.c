/*
 * fsutil.c — the only place that writes state files.  Writes go to a
 * temporary name in the same directory, are fsync'ed, renamed and the
 * directory fsync'ed, so power loss never leaves a half-written file
 * (lj_fs_write_volatile: the same without the fsyncs, for records that
 * need not outlive a power loss; lj_fs_write_ordered: without the
 * directory's fsync, for a file the next atomic write in the same
 * directory makes durable).
 */
#include "platform/common/fsutil.h"
#include "platform/common/secmem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MOD "fs"

bool
lj_path_join(char *buf, size_t bufsz, const char *dir, const char *name)
{
    int n = snprintf(buf, bufsz, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < bufsz;
}

enum lj_rc
lj_fs_mkdir_private(const char *dir)
{
    char tmp[PATH_MAX];
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof(tmp))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=mkdir_failed path_len=%zu", len);
    memcpy(tmp, dir, len + 1);
    for (char *p = tmp + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return lj_err_set(LJ_ERR_IO, MOD, "event=mkdir_failed path=%s errno=%s", tmp,
                              strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return lj_err_set(LJ_ERR_IO, MOD, "event=mkdir_failed path=%s errno=%s", tmp,
                          strerror(errno));
    if (chmod(tmp, 0700) != 0)
        return lj_err_set(LJ_ERR_IO, MOD, "event=chmod_failed path=%s errno=%s", tmp,
                          strerror(errno));
    return LJ_OK;
}

static enum lj_rc
fsync_dir_of(const char *path)
{
    char copy[PATH_MAX];
    int fd;

    if (strlen(path) >= sizeof(copy))
        return LJ_ERR_INVAL;
    memcpy(copy, path, strlen(path) + 1);
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return LJ_ERR_IO;
    if (fsync(fd) != 0) {
        close(fd);
        return LJ_ERR_IO;
    }
    close(fd);
    return LJ_OK;
}

/* What write_replace fsyncs. */
#define SYNC_FILE 1u
#define SYNC_DIR 2u

/* The temporary file, rename over path; sync: SYNC_FILE and/or SYNC_DIR. */
static enum lj_rc
write_replace(const char *path, const void *data, size_t len, mode_t mode, unsigned sync)
{
    char tmp[PATH_MAX];
    const unsigned char *p = data;
    size_t off = 0;
    int fd = -1;
    bool made = false;
    enum lj_rc rc = LJ_ERR_IO;

    /* A name of its own (O_EXCL): two writers never share a temporary file. */
    if (snprintf(tmp, sizeof(tmp), "%s" LJ_FS_TMP_MARK "XXXXXX", path) >= (int)sizeof(tmp))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=write_failed reason=path_too_long");
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        lj_err_set(LJ_ERR_IO, MOD, "event=write_failed path=%s errno=%s", path, strerror(errno));
        goto out;
    }
    made = true;
    if (fchmod(fd, mode) != 0) {
        lj_err_set(LJ_ERR_IO, MOD, "event=chmod_failed path=%s errno=%s", tmp, strerror(errno));
        goto out;
    }
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            lj_err_set(LJ_ERR_IO, MOD, "event=write_failed path=%s errno=%s", tmp, strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if ((sync & SYNC_FILE) && fsync(fd) != 0) {
        lj_err_set(LJ_ERR_IO, MOD, "event=fsync_failed path=%s errno=%s", tmp, strerror(errno));
        goto out;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) != 0) {
        lj_err_set(LJ_ERR_IO, MOD, "event=rename_failed path=%s errno=%s", path, strerror(errno));
        goto out;
    }
    if ((sync & SYNC_DIR) && fsync_dir_of(path) != LJ_OK) {
        lj_err_set(LJ_ERR_IO, MOD, "event=fsync_dir_failed path=%s", path);
        goto out;
    }
    rc = LJ_OK;
out:
    if (fd >= 0)
        close(fd);
    if (rc != LJ_OK && made)
        unlink(tmp);
    return rc;
}

enum lj_rc
lj_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    return write_replace(path, data, len, mode, SYNC_FILE | SYNC_DIR);
}

enum lj_rc
lj_fs_write_ordered(const char *path, const void *data, size_t len, mode_t mode)
{
    return write_replace(path, data, len, mode, SYNC_FILE);
}

enum lj_rc
lj_fs_write_volatile(const char *path, const void *data, size_t len, mode_t mode)
{
    return write_replace(path, data, len, mode, 0);
}

/* Open path without following a symlink and check it is private (fsutil.h). */
static enum lj_rc
open_private(const char *path, struct lj_fs_private *found, int *fd_out, struct stat *st)
{
    struct lj_fs_private f;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

    memset(&f, 0, sizeof(f));
    if (fd < 0) {
        if (errno == ENOENT)
            return LJ_ERR_NOT_FOUND;
        if (errno == ELOOP) {
            f.not_regular = true;
            if (found != NULL)
                *found = f;
            return lj_err_set(LJ_ERR_INVAL, MOD,
                              "event=private_file_refused path=%s reason=symlink", path);
        }
        return lj_err_set(LJ_ERR_IO, MOD, "event=read_failed path=%s errno=%s", path,
                          strerror(errno));
    }
    if (fstat(fd, st) != 0) {
        close(fd);
        return lj_err_set(LJ_ERR_IO, MOD, "event=read_failed path=%s errno=%s", path,
                          strerror(errno));
    }
    f.mode = (unsigned)(st->st_mode & 07777);
    f.uid = (unsigned long)st->st_uid;
    f.not_regular = !S_ISREG(st->st_mode);
    if (f.not_regular || st->st_uid != geteuid() || (st->st_mode & 077) != 0) {
        close(fd);
        if (found != NULL)
            *found = f;
        return lj_err_set(LJ_ERR_INVAL, MOD,
                          "event=private_file_refused path=%s mode=%04o uid=%lu regular=%d", path,
                          f.mode, f.uid, !f.not_regular);
    }
    *fd_out = fd;
    return LJ_OK;
}

enum lj_rc
lj_fs_check_private(const char *path, struct lj_fs_private *found)
{
    struct stat st;
    int fd = -1;
    enum lj_rc rc = open_private(path, found, &fd, &st);

    if (rc == LJ_OK)
        close(fd);
    return rc;
}

enum lj_rc
lj_fs_read_private(const char *path, size_t max, unsigned char **out, size_t *out_len,
                   struct lj_fs_private *found)
{
    unsigned char *buf = NULL;
    struct stat st;
    size_t off = 0, cap = 0;
    int fd = -1;
    enum lj_rc rc = open_private(path, found, &fd, &st);

    if (rc != LJ_OK)
        return rc;
    rc = LJ_ERR_IO;
    if ((size_t)st.st_size > max) {
        rc = lj_err_set(LJ_ERR_TOO_BIG, MOD, "event=read_failed path=%s size=%lld max=%zu", path,
                        (long long)st.st_size, max);
        goto out;
    }
    cap = (size_t)st.st_size;
    buf = malloc(cap + 1);
    if (buf == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    while (off < cap) {
        ssize_t r = read(fd, buf + off, cap - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            lj_err_set(LJ_ERR_IO, MOD, "event=read_failed path=%s errno=%s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        off += (size_t)r;
    }
    buf[off] = '\0';
    *out = buf;
    *out_len = off;
    buf = NULL;
    rc = LJ_OK;
out:
    if (buf != NULL) {
        lj_secure_zero(buf, cap + 1);
        free(buf);
    }
    close(fd);
    return rc;
}

enum lj_rc
lj_fs_read(const char *path, size_t max, unsigned char **out, size_t *out_len)
{
    unsigned char *buf = NULL;
    struct stat st;
    size_t off = 0;
    int fd;
    enum lj_rc rc = LJ_ERR_IO;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return LJ_ERR_NOT_FOUND;
        return lj_err_set(LJ_ERR_IO, MOD, "event=read_failed path=%s errno=%s", path,
                          strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        lj_err_set(LJ_ERR_IO, MOD, "event=read_failed path=%s reason=not_a_file", path);
        goto out;
    }
    if ((size_t)st.st_size > max) {
        rc = lj_err_set(LJ_ERR_TOO_BIG, MOD, "event=read_failed path=%s size=%lld max=%zu", path,
                        (long long)st.st_size, max);
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    while (off < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + off, (size_t)st.st_size - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            lj_err_set(LJ_ERR_IO, MOD, "event=read_failed path=%s errno=%s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        off += (size_t)r;
    }
    buf[off] = '\0';
    *out = buf;
    *out_len = off;
    buf = NULL;
    rc = LJ_OK;
out:
    free(buf);
    close(fd);
    return rc;
}

enum lj_rc
lj_fs_dir_access(const char *dir)
{
    struct stat st;

    if (stat(dir, &st) != 0)
        return errno == ENOENT || errno == ENOTDIR ? LJ_ERR_NOT_FOUND
               : errno == EACCES || errno == EPERM ? LJ_ERR_AUTH
                                                   : LJ_ERR_IO;
    if (!S_ISDIR(st.st_mode))
        return LJ_ERR_INVAL;
    if (access(dir, R_OK | X_OK) != 0)
        return errno == EACCES || errno == EPERM ? LJ_ERR_AUTH : LJ_ERR_IO;
    return LJ_OK;
}

bool
lj_fs_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

enum lj_rc
lj_fs_move_aside(const char *path, char *aside, size_t asz)
{
    char dst[PATH_MAX];
    long now = (long)time(NULL);

    for (int n = 0; n < 100; n++) {
        int w = n == 0 ? snprintf(dst, sizeof(dst), "%s.bad-%ld", path, now)
                       : snprintf(dst, sizeof(dst), "%s.bad-%ld-%d", path, now, n);
        if (w < 0 || (size_t)w >= sizeof(dst))
            return LJ_ERR_INVAL;
        if (lj_fs_exists(dst))
            continue;
        if (rename(path, dst) != 0)
            return lj_err_set(LJ_ERR_IO, MOD, "event=move_aside_failed path=%s errno=%s", path,
                              strerror(errno));
        fsync_dir_of(path);
        if (aside != NULL && asz > 0)
            snprintf(aside, asz, "%s", dst);
        return LJ_OK;
    }
    return lj_err_set(LJ_ERR_IO, MOD, "event=move_aside_failed path=%s reason=too_many", path);
}

enum lj_rc
lj_fs_remove(const char *path)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return lj_err_set(LJ_ERR_IO, MOD, "event=remove_failed path=%s errno=%s", path,
                          strerror(errno));
    return LJ_OK;
}

enum lj_rc
lj_fs_move_files_aside(const char *dir, const char *prefix, char *aside, size_t asz)
{
    char sub[PATH_MAX], src[PATH_MAX], dst[PATH_MAX];
    long now = (long)time(NULL);
    DIR *d = NULL;
    struct dirent *e;
    enum lj_rc rc = LJ_ERR_IO;
    int n;

    for (n = 0; n < 100; n++) {
        int w = n == 0 ? snprintf(sub, sizeof(sub), "%s/%s-%ld", dir, prefix, now)
                       : snprintf(sub, sizeof(sub), "%s/%s-%ld-%d", dir, prefix, now, n);
        if (w < 0 || (size_t)w >= sizeof(sub))
            return lj_err_set(LJ_ERR_INVAL, MOD,
                              "event=move_files_aside_failed reason=path_too_long");
        if (mkdir(sub, 0700) == 0)
            break;
        if (errno != EEXIST)
            return lj_err_set(LJ_ERR_IO, MOD, "event=move_files_aside_failed path=%s errno=%s", sub,
                              strerror(errno));
    }
    if (n == 100)
        return lj_err_set(LJ_ERR_IO, MOD, "event=move_files_aside_failed reason=too_many");
    d = opendir(dir);
    if (d == NULL) {
        lj_err_set(LJ_ERR_IO, MOD, "event=move_files_aside_failed path=%s errno=%s", dir,
                   strerror(errno));
        goto out;
    }
    while ((e = readdir(d)) != NULL) {
        struct stat st;

        if (!lj_path_join(src, sizeof(src), dir, e->d_name) ||
            !lj_path_join(dst, sizeof(dst), sub, e->d_name)) {
            lj_err_set(LJ_ERR_INVAL, MOD, "event=move_files_aside_failed reason=path_too_long");
            goto out;
        }
        if (lstat(src, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (rename(src, dst) != 0) {
            lj_err_set(LJ_ERR_IO, MOD, "event=move_files_aside_failed path=%s errno=%s", src,
                       strerror(errno));
            goto out;
        }
    }
    /* fsync_dir_of syncs a path's directory: name any entry in each. */
    if (!lj_path_join(dst, sizeof(dst), sub, ".") || !lj_path_join(src, sizeof(src), dir, ".") ||
        fsync_dir_of(dst) != LJ_OK || fsync_dir_of(src) != LJ_OK) {
        lj_err_set(LJ_ERR_IO, MOD, "event=fsync_dir_failed path=%s", dir);
        goto out;
    }
    if (aside != NULL && asz > 0)
        snprintf(aside, asz, "%s", sub);
    rc = LJ_OK;
out:
    if (d != NULL)
        closedir(d);
    return rc;
}

enum lj_rc
lj_fs_lock_dir(const char *dir, int *fd_out, bool *busy)
{
    int fd;

    *fd_out = -1;
    *busy = false;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return lj_err_set(errno == ENOENT ? LJ_ERR_NOT_FOUND : LJ_ERR_IO, MOD,
                          "event=lock_open_failed path=%s errno=%s", dir, strerror(errno));
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;

        if (e == EINTR)
            continue;
        close(fd);
        if (e == EWOULDBLOCK) {
            *busy = true;
            return lj_err_set(LJ_ERR_IO, MOD, "event=lock_busy path=%s", dir);
        }
        return lj_err_set(LJ_ERR_IO, MOD, "event=lock_failed path=%s errno=%s", dir, strerror(e));
    }
    *fd_out = fd;
    return LJ_OK;
}

void
lj_fs_unlock_dir(int fd)
{
    if (fd >= 0)
        close(fd);
}
