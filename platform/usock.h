/*
 * usock.h — Unix stream sockets of the token broker: listen at a path with
 * a mode and group, accept and read with a deadline, connect, who the peer
 * is (SO_PEERCRED) and whether a user belongs to a group.
 *
 * Every wait is bounded by the caller's timeout and ends early with
 * LJ_ERR_CANCELLED when a signal interrupts it (the caller's handler set
 * a flag; see lj_flow_signals_install).  Lines read may hold a token: the
 * buffer is the caller's, who wipes it.  Writes never raise SIGPIPE.
 */
#ifndef LJ_PLATFORM_USOCK_H
#define LJ_PLATFORM_USOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "platform/common/result.h"

/*
 * Listen at path (absolute, fits sun_path).  group NULL or "": mode 0600
 * (owner only); else mode 0660 with that group (LJ_ERR_NOT_FOUND when
 * there is no such group; nothing is created then).  The directory must
 * exist.  A stale socket at path is replaced; any other file there is
 * LJ_ERR_IO.  backlog: listen(2)'s.  *fd is close-on-exec and
 * non-blocking; lj_usock_unlisten closes it and removes path.
 */
enum lj_rc lj_usock_listen(const char *path, const char *group, int backlog, int *fd);
void lj_usock_unlisten(int fd, const char *path);

/*
 * Wait up to timeout_ms (< 0: no limit) for a client on lfd.  *cfd is a
 * blocking, close-on-exec connection the caller closes.  LJ_ERR_TIMEOUT,
 * LJ_ERR_CANCELLED (a signal), LJ_ERR_IO.
 */
enum lj_rc lj_usock_accept(int lfd, int timeout_ms, int *cfd);

/*
 * Connect to the socket at path.  LJ_ERR_NOT_FOUND: no socket there or
 * nobody listening; LJ_ERR_AUTH: not allowed to open it (EACCES, EPERM);
 * LJ_ERR_INVAL: a bad path; LJ_ERR_IO otherwise.  *fd close-on-exec.
 */
enum lj_rc lj_usock_connect(const char *path, int *fd);

/* The uid and gid of the process at the other end of fd (SO_PEERCRED).  LJ_ERR_IO. */
enum lj_rc lj_usock_peer(int fd, uid_t *uid, gid_t *gid);

/*
 * Is uid's user (its passwd entry) in the group named group, as its
 * primary group or a supplementary one (getgrouplist)?  false when there
 * is no such user or group.  Blocks on NSS.
 */
bool lj_usock_user_in_group(uid_t uid, const char *group);

/* The gid of the group named name into *gid; false when there is none. */
bool lj_usock_group_gid(const char *name, gid_t *gid);

/*
 * Read one line from fd into buf (capacity cap, NUL-terminated, the '\n'
 * not kept, *len its length) within timeout_ms in all.  Bytes after the
 * '\n' are dropped.  LJ_ERR_TOO_BIG when cap - 1 bytes came without a
 * '\n'; LJ_ERR_TIMEOUT; LJ_ERR_PROTOCOL when the peer closed before a
 * '\n' (*len = what came); LJ_ERR_CANCELLED; LJ_ERR_IO.
 */
enum lj_rc lj_usock_read_line(int fd, int timeout_ms, char *buf, size_t cap, size_t *len);

/*
 * Write n bytes of p to fd within timeout_ms in all.  LJ_ERR_TIMEOUT,
 * LJ_ERR_CANCELLED, LJ_ERR_IO (the peer went away).
 */
enum lj_rc lj_usock_write_all(int fd, const char *p, size_t n, int timeout_ms);

#endif
