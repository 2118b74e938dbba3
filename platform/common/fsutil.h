/*
 * fsutil.h — state files: private directories, atomic writes, capped reads.
 */
#ifndef LJ_PLATFORM_FSUTIL_H
#define LJ_PLATFORM_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "platform/common/result.h"

/*
 * Create dir (and missing parents) with mode 0700; an existing directory is
 * tightened to 0700.  Blocks on the file system.
 */
enum lj_rc lj_fs_mkdir_private(const char *dir);

/* Temporary files of lj_fs_write_atomic are named PATH LJ_FS_TMP_MARK XXXXXX. */
#define LJ_FS_TMP_MARK ".tmp-"

/*
 * Write len bytes to path atomically: write a new temporary file of its
 * own (path.tmp-XXXXXX, created exclusively, mode), fsync, rename over
 * path, fsync the directory.  After a crash the file holds either the old
 * or the new content, never a mix; two writers never share the temporary.
 */
enum lj_rc lj_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/*
 * lj_fs_write_atomic without the directory's fsync: the content is on
 * disk before the rename, but the rename itself becomes durable only with
 * the next lj_fs_write_atomic in the same directory (its directory fsync
 * carries every entry changed before it).  For a file that a record
 * written next in the same directory depends on (the device certificate,
 * then the journal that says joined): a power loss before that record
 * leaves the old name or the new file, never a file the record names
 * without its content.  Blocks (one fsync).
 */
enum lj_rc lj_fs_write_ordered(const char *path, const void *data, size_t len, mode_t mode);

/*
 * lj_fs_write_atomic without the two fsyncs: for a record that only has
 * to outlive the process, not a power loss (the kernel keeps a dead
 * process's writes; a power loss is older content or none, never a mix of
 * two).  A reader sees the old or the new content.  Blocks on the file
 * system (no disk wait).
 */
enum lj_rc lj_fs_write_volatile(const char *path, const void *data, size_t len, mode_t mode);

/*
 * Read a whole file of at most max bytes.  On success *out is malloc'ed
 * (caller frees; NUL-terminated, *out_len excludes it).  A missing file is
 * LJ_ERR_NOT_FOUND, a larger one LJ_ERR_TOO_BIG.
 */
enum lj_rc lj_fs_read(const char *path, size_t max, unsigned char **out, size_t *out_len);

/* What lj_fs_check_private / lj_fs_read_private found on a refused file. */
struct lj_fs_private {
    unsigned mode;     /* permission bits (07777) */
    unsigned long uid; /* owner */
    bool not_regular;  /* a symbolic link (never followed), directory, device... */
};

/*
 * A file that holds a secret (password_file) must be private: a regular
 * file, not a symbolic link, owned by the effective uid, with no group or
 * other permission bits (0600 or 0400).  LJ_OK when it is; LJ_ERR_INVAL with
 * *found filled when it is not; LJ_ERR_NOT_FOUND when missing; LJ_ERR_IO
 * otherwise.  Opens the file (O_NOFOLLOW) and checks the descriptor.
 */
enum lj_rc lj_fs_check_private(const char *path, struct lj_fs_private *found);

/*
 * lj_fs_read of a file that must pass lj_fs_check_private, checked on the
 * same descriptor it reads (no race with a swap of the path).  *out is a
 * secret: the caller frees it with lj_secret_free.  Errors as
 * lj_fs_check_private, plus LJ_ERR_TOO_BIG and LJ_ERR_NOMEM.
 */
enum lj_rc lj_fs_read_private(const char *path, size_t max, unsigned char **out, size_t *out_len,
                              struct lj_fs_private *found);

/* true when path exists (any type). */
bool lj_fs_exists(const char *path);

/*
 * Can this process read the directory dir?  LJ_OK yes; LJ_ERR_NOT_FOUND it
 * does not exist; LJ_ERR_AUTH permission denied (EACCES/EPERM);
 * LJ_ERR_INVAL not a directory; LJ_ERR_IO anything else.  Never logs.
 */
enum lj_rc lj_fs_dir_access(const char *dir);

/*
 * Move path aside to path.bad-<unix time>[-n] (never deletes); the new name
 * is written to aside (size asz) when given.
 */
enum lj_rc lj_fs_move_aside(const char *path, char *aside, size_t asz);

/*
 * Move every regular file directly in dir into a new subdirectory
 * dir/<prefix>-<unix time>[-n] (0700), never deleting anything; both
 * directories are fsynced.  Subdirectories and other file types stay.
 * The subdirectory's path goes to aside (size asz) when given.  Used when
 * a whole saved state is proven unusable (TPM cleared).  Blocks on the fs.
 */
enum lj_rc lj_fs_move_files_aside(const char *dir, const char *prefix, char *aside, size_t asz);

/* Remove a file; a missing file is not an error. */
enum lj_rc lj_fs_remove(const char *path);

/*
 * Take the exclusive lock of directory dir itself (flock(2) on an O_CLOEXEC
 * descriptor of the directory, without waiting): the lock every command that
 * writes a state directory holds, so two never write it at once.  A
 * directory, not a lock file in it, so nothing is left behind by a wipe and
 * nothing is moved aside with the files.  The kernel drops the lock when the
 * process ends however it ends.  LJ_OK: *fd_out holds the lock until
 * lj_fs_unlock_dir.  Held by another process: LJ_ERR_IO with *busy true.
 * A missing dir: LJ_ERR_NOT_FOUND.  Never blocks.
 */
enum lj_rc lj_fs_lock_dir(const char *dir, int *fd_out, bool *busy);

/* Release a lock of lj_fs_lock_dir (-1: nothing). */
void lj_fs_unlock_dir(int fd);

/* snprintf into buf that fails (false) instead of truncating. */
bool lj_path_join(char *buf, size_t bufsz, const char *dir, const char *name);

#endif
