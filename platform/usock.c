/*
 * usock.c — Unix stream sockets for the token broker (see usock.h).
 *
 * Design note: every wait is one poll(2) against a deadline on the
 * monotonic clock, so a client that connects and sends nothing, or sends
 * a byte a second, costs the server at most the caller's timeout.  EINTR
 * is not retried: the signal is the caller's way to stop.
 */
#include "platform/usock.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "platform/common/elapsed.h"
#include "platform/common/log.h"

#define MOD "usock"

bool
lj_usock_group_gid(const char *name, gid_t *gid)
{
    struct group gr, *res = NULL;
    char buf[4096];

    if (name == NULL || name[0] == '\0' || getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 ||
        res == NULL)
        return false;
    *gid = gr.gr_gid;
    return true;
}

static bool
fill_addr(const char *path, struct sockaddr_un *sa)
{
    size_t n = path != NULL ? strlen(path) : 0;

    memset(sa, 0, sizeof(*sa));
    if (n == 0 || n >= sizeof(sa->sun_path) || path[0] != '/')
        return false;
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, path, n + 1);
    return true;
}

enum lj_rc
lj_usock_listen(const char *path, const char *group, int backlog, int *fd)
{
    bool grouped = group != NULL && group[0] != '\0';
    gid_t gid = (gid_t)-1;
    struct sockaddr_un sa;
    struct stat st;
    int s;

    if (!fill_addr(path, &sa))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=listen_failed reason=bad_path");
    if (grouped && !lj_usock_group_gid(group, &gid))
        return lj_err_set(LJ_ERR_NOT_FOUND, MOD,
                          "event=listen_failed group=%s reason=no_such_group", group);
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return lj_err_set(LJ_ERR_IO, MOD, "event=listen_failed path=%s reason=not_a_socket",
                              path);
        unlink(path);
    }
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0)
        return lj_err_set(LJ_ERR_IO, MOD, "event=listen_failed errno=%s", strerror(errno));
    /* bind under umask 0177 so the socket is never wider than 0600 before chmod */
    {
        mode_t old = umask(0177);
        int b = bind(s, (struct sockaddr *)&sa, sizeof(sa));

        umask(old);
        if (b != 0 || (grouped && chown(path, (uid_t)-1, gid) != 0) ||
            chmod(path, grouped ? 0660 : 0600) != 0 || listen(s, backlog) != 0) {
            int e = errno;

            close(s);
            if (b == 0)
                unlink(path);
            return lj_err_set(LJ_ERR_IO, MOD, "event=listen_failed path=%s errno=%s", path,
                              strerror(e));
        }
    }
    lj_log(LJ_LOG_INFO, MOD, "event=listening path=%s mode=%s group=%s", path,
           grouped ? "0660" : "0600", grouped ? group : "-");
    *fd = s;
    return LJ_OK;
}

void
lj_usock_unlisten(int fd, const char *path)
{
    if (fd < 0)
        return;
    close(fd);
    if (path != NULL)
        unlink(path);
}

/* Milliseconds left to deadline (>= 0), or -1 for no deadline. */
static int
left_ms(long long deadline)
{
    long long now;

    if (deadline < 0)
        return -1;
    now = lj_mono_ms();
    return now >= deadline ? 0 : (int)(deadline - now > 0x7fffffff ? 0x7fffffff : deadline - now);
}

/* poll fd for ev until deadline: LJ_OK ready, LJ_ERR_TIMEOUT, LJ_ERR_CANCELLED, LJ_ERR_IO. */
static enum lj_rc
wait_fd(int fd, short ev, long long deadline)
{
    struct pollfd p = {.fd = fd, .events = ev, .revents = 0};
    int r = poll(&p, 1, left_ms(deadline));

    if (r < 0)
        return errno == EINTR ? LJ_ERR_CANCELLED : LJ_ERR_IO;
    return r == 0 ? LJ_ERR_TIMEOUT : LJ_OK;
}

static long long
deadline_of(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : lj_mono_ms() + timeout_ms;
}

enum lj_rc
lj_usock_accept(int lfd, int timeout_ms, int *cfd)
{
    long long deadline = deadline_of(timeout_ms);

    for (;;) {
        enum lj_rc rc = wait_fd(lfd, POLLIN, deadline);
        int c;

        if (rc != LJ_OK)
            return rc;
        c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0) {
            *cfd = c;
            return LJ_OK;
        }
        if (errno == EINTR)
            return LJ_ERR_CANCELLED;
        /* the client gave up between poll and accept: wait for the next */
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
            return lj_err_set(LJ_ERR_IO, MOD, "event=accept_failed errno=%s", strerror(errno));
    }
}

enum lj_rc
lj_usock_connect(const char *path, int *fd)
{
    struct sockaddr_un sa;
    int s, e;

    if (!fill_addr(path, &sa))
        return LJ_ERR_INVAL;
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return LJ_ERR_IO;
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        *fd = s;
        return LJ_OK;
    }
    e = errno;
    close(s);
    if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR)
        return LJ_ERR_NOT_FOUND;
    if (e == EACCES || e == EPERM)
        return LJ_ERR_AUTH;
    return LJ_ERR_IO;
}

enum lj_rc
lj_usock_peer(int fd, uid_t *uid, gid_t *gid)
{
    struct ucred cr;
    socklen_t l = sizeof(cr);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) != 0 || l != sizeof(cr))
        return lj_err_set(LJ_ERR_IO, MOD, "event=peercred_failed errno=%s", strerror(errno));
    *uid = cr.uid;
    *gid = cr.gid;
    return LJ_OK;
}

bool
lj_usock_user_in_group(uid_t uid, const char *group)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    gid_t gid, few[64], *groups = few;
    int n = 64;
    bool in = false;

    if (!lj_usock_group_gid(group, &gid))
        return false;
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
        return false;
    if (pw.pw_gid == gid)
        return true;
    if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0) {
        /* n is now the number needed */
        if (n <= 64 || n > 65536 || (groups = calloc((size_t)n, sizeof(*groups))) == NULL)
            return false;
        if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
            n = 0;
    }
    for (int i = 0; i < n && !in; i++)
        in = groups[i] == gid;
    if (groups != few)
        free(groups);
    return in;
}

enum lj_rc
lj_usock_read_line(int fd, int timeout_ms, char *buf, size_t cap, size_t *len)
{
    long long deadline = deadline_of(timeout_ms);
    size_t n = 0;
    enum lj_rc rc = LJ_ERR_TOO_BIG;

    if (cap < 2)
        return LJ_ERR_INVAL;
    while (n < cap - 1) {
        char *nl;
        ssize_t r;

        rc = wait_fd(fd, POLLIN, deadline);
        if (rc != LJ_OK)
            break;
        r = recv(fd, buf + n, cap - 1 - n, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            rc = errno == EINTR ? LJ_ERR_CANCELLED : LJ_ERR_IO;
            break;
        }
        if (r == 0) {
            rc = LJ_ERR_PROTOCOL;
            break;
        }
        nl = memchr(buf + n, '\n', (size_t)r);
        if (nl != NULL) {
            /* what came after the line is not ours: wipe it */
            size_t end = (size_t)(nl - buf);

            memset(buf + end, 0, n + (size_t)r - end);
            *len = end;
            return LJ_OK;
        }
        n += (size_t)r;
        rc = LJ_ERR_TOO_BIG;
    }
    buf[n] = '\0';
    *len = n;
    return rc;
}

enum lj_rc
lj_usock_write_all(int fd, const char *p, size_t n, int timeout_ms)
{
    long long deadline = deadline_of(timeout_ms);

    while (n > 0) {
        enum lj_rc rc = wait_fd(fd, POLLOUT, deadline);
        ssize_t w;

        if (rc != LJ_OK)
            return rc;
        w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return errno == EINTR ? LJ_ERR_CANCELLED : LJ_ERR_IO;
        }
        p += w;
        n -= (size_t)w;
    }
    return LJ_OK;
}
