/*
 * ui_chan.c — line channel to the OOBE UI over a Unix socket or file descriptors.
 *
 * Design note: one fixed input buffer of LJ_UI_MAX_LINE+1 bytes per channel
 * (a line plus its '\n'); when it fills without a newline the bytes are
 * wiped and dropped up to the next newline, so an endless line costs no
 * memory and no crash.  Everything is poll(2)-driven with the caller's
 * timeout; the socket accepts one client and closes any second one at once.
 */
#include "platform/ui_chan.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "platform/usock.h"

#define MOD "ui"
#define BUFCAP (LJ_UI_MAX_LINE + 1)

struct lj_ui_chan {
    int listen_fd; /* -1 for fd channels */
    int client_fd; /* socket client, -1 when none */
    int in_fd;     /* fd channels: input (-1 none) */
    int out_fd;    /* fd channels: output */
    bool in_eof;
    bool discarding; /* dropping the rest of an oversized line */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    gid_t gid;      /* ui_group, (gid_t)-1 = none */
    char group[64]; /* its name */
    size_t len;
    char buf[BUFCAP];
};

static void
chan_reset_input(struct lj_ui_chan *c)
{
    lj_secure_zero(c->buf, c->len);
    c->len = 0;
    c->discarding = false;
}

static void
drop_client(struct lj_ui_chan *c)
{
    if (c->client_fd >= 0) {
        close(c->client_fd);
        c->client_fd = -1;
        lj_log(LJ_LOG_INFO, MOD, "event=client_dropped");
    }
    chan_reset_input(c);
}

static struct lj_ui_chan *
chan_alloc(void)
{
    struct lj_ui_chan *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->listen_fd = c->client_fd = c->in_fd = c->out_fd = -1;
    c->gid = (gid_t)-1;
    return c;
}

enum lj_rc
lj_ui_chan_listen(const char *path, struct lj_ui_chan **out)
{
    return lj_ui_chan_listen_group(path, NULL, out);
}

enum lj_rc
lj_ui_chan_listen_group(const char *path, const char *group, struct lj_ui_chan **out)
{
    bool grouped = group != NULL && group[0] != '\0';
    gid_t gid = (gid_t)-1;
    struct lj_ui_chan *c = NULL;
    struct sockaddr_un sa;
    struct stat st;
    char dir[sizeof(sa.sun_path)];
    char *slash;
    enum lj_rc rc = LJ_ERR_IO;

    if (strlen(path) >= sizeof(sa.sun_path) || path[0] != '/')
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=listen_failed path=%s reason=bad_path", path);
    if (grouped && !lj_usock_group_gid(group, &gid))
        return lj_err_set(LJ_ERR_NOT_FOUND, MOD,
                          "event=listen_failed ui_group=%s reason=no_such_group", group);
    c = chan_alloc();
    if (c == NULL)
        return LJ_ERR_NOMEM;
    c->gid = gid;
    if (grouped)
        snprintf(c->group, sizeof(c->group), "%s", group);
    snprintf(c->path, sizeof(c->path), "%s", path);
    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, grouped ? 0750 : 0700) == 0) {
            if (grouped && chown(dir, (uid_t)-1, gid) != 0) {
                lj_err_set(LJ_ERR_IO, MOD, "event=listen_failed dir=%s errno=%s", dir,
                           strerror(errno));
                goto out;
            }
        } else if (errno != EEXIST) {
            lj_err_set(LJ_ERR_IO, MOD, "event=listen_failed dir=%s errno=%s", dir, strerror(errno));
            goto out;
        }
    }
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            lj_err_set(LJ_ERR_IO, MOD, "event=listen_failed path=%s reason=not_a_socket", path);
            goto out;
        }
        unlink(path);
    }
    c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->listen_fd < 0) {
        lj_err_set(LJ_ERR_IO, MOD, "event=listen_failed errno=%s", strerror(errno));
        goto out;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        (grouped && chown(path, (uid_t)-1, gid) != 0) || chmod(path, grouped ? 0660 : 0600) != 0 ||
        listen(c->listen_fd, 4) != 0) {
        lj_err_set(LJ_ERR_IO, MOD, "event=listen_failed path=%s errno=%s", path, strerror(errno));
        goto out;
    }
    lj_log(LJ_LOG_INFO, MOD, "event=listening path=%s mode=%s group=%s", path,
           grouped ? "0660" : "0600", grouped ? group : "-");
    *out = c;
    c = NULL;
    rc = LJ_OK;
out:
    if (c != NULL) {
        if (c->listen_fd >= 0) {
            close(c->listen_fd);
            c->listen_fd = -1;
            unlink(path);
        }
        free(c);
    }
    return rc;
}

enum lj_rc
lj_ui_chan_fds(int in_fd, int out_fd, struct lj_ui_chan **out)
{
    struct lj_ui_chan *c = chan_alloc();

    if (c == NULL)
        return LJ_ERR_NOMEM;
    c->in_fd = in_fd;
    c->out_fd = out_fd;
    if (in_fd >= 0) {
        int fl = fcntl(in_fd, F_GETFL);
        if (fl >= 0)
            fcntl(in_fd, F_SETFL, fl | O_NONBLOCK);
    }
    *out = c;
    return LJ_OK;
}

void
lj_ui_chan_close(struct lj_ui_chan *c)
{
    if (c == NULL)
        return;
    drop_client(c);
    if (c->listen_fd >= 0) {
        close(c->listen_fd);
        unlink(c->path);
    }
    lj_secure_zero(c->buf, sizeof(c->buf));
    free(c);
}

bool
lj_ui_chan_connected(const struct lj_ui_chan *c)
{
    return c->listen_fd < 0 || c->client_fd >= 0;
}

bool
lj_ui_chan_can_read(const struct lj_ui_chan *c)
{
    return c != NULL && (c->listen_fd >= 0 || (c->in_fd >= 0 && !c->in_eof));
}

/* Has the peer of a connected socket hung up (EOF with nothing left to read)? */
static bool
client_gone(int fd)
{
    char b;
    ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static bool
peer_allowed(const struct lj_ui_chan *c, int fd)
{
    struct ucred cr;
    socklen_t l = sizeof(cr);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) != 0)
        return false;
    if (cr.uid == 0 || cr.uid == geteuid())
        return true;
    return c->gid != (gid_t)-1 && (cr.gid == c->gid || lj_usock_user_in_group(cr.uid, c->group));
}

/* One complete line out of the buffer, if there is one. */
static bool
take_line(struct lj_ui_chan *c, char **line, size_t *len, enum lj_rc *rc)
{
    char *nl = memchr(c->buf, '\n', c->len);
    size_t n, used;
    char *copy;

    if (nl == NULL)
        return false;
    n = (size_t)(nl - c->buf);
    used = n + 1;
    copy = malloc(n + 1);
    if (copy == NULL) {
        *rc = LJ_ERR_NOMEM;
    } else {
        memcpy(copy, c->buf, n);
        if (n > 0 && copy[n - 1] == '\r')
            n--;
        copy[n] = '\0';
        *line = copy;
        *len = n;
        *rc = LJ_OK;
    }
    memmove(c->buf, c->buf + used, c->len - used);
    lj_secure_zero(c->buf + c->len - used, used);
    c->len -= used;
    return true;
}

static int
ms_left(const struct timespec *deadline)
{
    struct timespec now;
    long ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
    return ms < 0 ? 0 : (int)ms;
}

enum lj_rc
lj_ui_chan_poll(struct lj_ui_chan *c, int timeout_ms, enum lj_ui_input *what, char **line,
                size_t *len)
{
    struct timespec deadline;
    enum lj_rc rc = LJ_OK;

    *what = LJ_UI_IN_NONE;
    if (!c->discarding && take_line(c, line, len, &rc)) {
        *what = rc == LJ_OK ? LJ_UI_IN_LINE : LJ_UI_IN_NONE;
        return rc;
    }
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    for (;;) {
        struct pollfd p[2];
        int n = 0, li = -1, ii = -1, in = c->listen_fd >= 0 ? c->client_fd : c->in_fd;
        int r;

        if (c->listen_fd >= 0) {
            p[n].fd = c->listen_fd;
            p[n].events = POLLIN;
            li = n++;
        }
        if (in >= 0 && !(c->listen_fd < 0 && c->in_eof)) {
            p[n].fd = in;
            p[n].events = POLLIN;
            ii = n++;
        }
        r = poll(p, (nfds_t)n, ms_left(&deadline));
        if (r < 0 && errno == EINTR)
            return LJ_OK; /* a signal: let the caller look at it */
        if (r < 0)
            return lj_err_set(LJ_ERR_IO, MOD, "event=poll_failed errno=%s", strerror(errno));
        if (r == 0)
            return LJ_OK;
        if (li >= 0 && (p[li].revents & POLLIN)) {
            int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd >= 0 && c->client_fd >= 0 && client_gone(c->client_fd)) {
                /* a restarted UI: its old connection ended, unread by us so far */
                drop_client(c);
            }
            if (fd >= 0) {
                if (c->client_fd >= 0 || !peer_allowed(c, fd)) {
                    lj_log(LJ_LOG_WARN, MOD, "event=client_refused reason=%s",
                           c->client_fd >= 0 ? "busy" : "peer_uid");
                    close(fd);
                } else {
                    c->client_fd = fd;
                    chan_reset_input(c);
                    lj_log(LJ_LOG_INFO, MOD, "event=client_connected");
                    *what = LJ_UI_IN_CONNECTED;
                    return LJ_OK;
                }
            }
        }
        if (ii >= 0 && (p[ii].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t got = read(in, c->buf + c->len, BUFCAP - c->len);
            if (got < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (got <= 0) {
                if (c->listen_fd >= 0) {
                    drop_client(c);
                    *what = LJ_UI_IN_DISCONNECTED;
                } else {
                    c->in_eof = true;
                    chan_reset_input(c);
                    *what = LJ_UI_IN_EOF;
                }
                return LJ_OK;
            }
            c->len += (size_t)got;
            if (c->discarding) {
                char *nl = memchr(c->buf, '\n', c->len);
                size_t drop = nl ? (size_t)(nl - c->buf) + 1 : c->len;
                memmove(c->buf, c->buf + drop, c->len - drop);
                lj_secure_zero(c->buf + c->len - drop, drop);
                c->len -= drop;
                if (nl != NULL)
                    c->discarding = false;
            }
            if (!c->discarding && take_line(c, line, len, &rc)) {
                *what = rc == LJ_OK ? LJ_UI_IN_LINE : LJ_UI_IN_NONE;
                return rc;
            }
            if (c->len == BUFCAP) {
                chan_reset_input(c);
                c->discarding = true;
                *what = LJ_UI_IN_OVERSIZED;
                return LJ_OK;
            }
        }
        if (ms_left(&deadline) == 0)
            return LJ_OK;
    }
}

static enum lj_rc
write_all(struct lj_ui_chan *c, const char *p, size_t n)
{
    bool sock = c->listen_fd >= 0;
    int fd = sock ? c->client_fd : c->out_fd;
    struct timespec deadline;

    if (fd < 0)
        return LJ_OK; /* nobody to tell: dropped */
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += LJ_UI_WRITE_TIMEOUT_MS / 1000;
    while (n > 0) {
        ssize_t w = sock ? send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT) : write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            int left = ms_left(&deadline);
            if (left > 0 && poll(&pf, 1, left) > 0)
                continue;
        }
        if (sock) {
            lj_log(LJ_LOG_WARN, MOD, "event=write_failed action=drop_client errno=%s",
                   w < 0 ? strerror(errno) : "timeout");
            drop_client(c);
            return LJ_OK;
        }
        return lj_err_set(LJ_ERR_IO, MOD, "event=write_failed errno=%s",
                          w < 0 ? strerror(errno) : "short write");
    }
    return LJ_OK;
}

enum lj_rc
lj_ui_chan_write(struct lj_ui_chan *c, const char *text, size_t len)
{
    return write_all(c, text, len);
}

enum lj_rc
lj_ui_chan_write_line(struct lj_ui_chan *c, const char *text, size_t len)
{
    enum lj_rc rc = write_all(c, text, len);

    if (rc == LJ_OK)
        rc = write_all(c, "\n", 1);
    return rc;
}
