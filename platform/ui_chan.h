/*
 * ui_chan.h — the byte channel to the OOBE UI: a Unix stream socket (one client
 * at a time), or a pair of file descriptors (stdio; tty output).  Line
 * framing only; what the lines mean is agent/ui_proto.
 *
 * Lines are at most LJ_UI_MAX_LINE bytes without the '\n'.  A longer line
 * is discarded up to its '\n' and reported once as LJ_UI_IN_OVERSIZED; the
 * channel stays usable.  Input lines may carry secrets (passwords, codes):
 * the returned copy is freed with lj_secret_free, and the channel wipes its
 * own buffer as lines are consumed.
 *
 * Reads never block past the timeout given to lj_ui_chan_poll, so the join
 * flow can poll the UI (for cancel) while it waits for sign-in.  Writes
 * wait at most LJ_UI_WRITE_TIMEOUT_MS for a slow socket client and then
 * drop that client (the agent never hangs on a UI).
 */
#ifndef LJ_PLATFORM_UI_H
#define LJ_PLATFORM_UI_H

#include <stdbool.h>
#include <stddef.h>

#include "platform/common/result.h"

#define LJ_UI_MAX_LINE (64 * 1024)
#define LJ_UI_WRITE_TIMEOUT_MS 2000

enum lj_ui_input {
    LJ_UI_IN_NONE = 0,         /* nothing within the timeout */
    LJ_UI_IN_LINE = 1,         /* *line holds one line (no '\n') */
    LJ_UI_IN_OVERSIZED = 2,    /* a line over LJ_UI_MAX_LINE was discarded */
    LJ_UI_IN_CONNECTED = 3,    /* a socket client connected: (re)send current state */
    LJ_UI_IN_DISCONNECTED = 4, /* the socket client went away; listening again */
    LJ_UI_IN_EOF = 5,          /* stdio input closed (no more input will come) */
};

struct lj_ui_chan;

/*
 * Listen on a Unix stream socket at path (mode 0600, owner only; its
 * directory is created 0700 when missing).  A stale socket file at path is
 * replaced; any other kind of file there is an error (LJ_ERR_IO).  Clients
 * whose peer uid is neither ours nor root are refused.  *out is freed with
 * lj_ui_chan_close, which also unlinks the socket.
 */
enum lj_rc lj_ui_chan_listen(const char *path, struct lj_ui_chan **out);

/*
 * The same with a group (the ui_group key): group NULL or "" is
 * lj_ui_chan_listen.  Otherwise the socket is mode 0660 with that group, a
 * directory created for it 0750 with that group, and a client is also
 * accepted when its peer gid is the group or its user is a member of it.
 * LJ_ERR_NOT_FOUND when no such group exists (nothing is created).
 */
enum lj_rc lj_ui_chan_listen_group(const char *path, const char *group, struct lj_ui_chan **out);

/*
 * Use in_fd for input (-1 = none) and out_fd for output (stdio, tty).  The
 * fds stay owned by the caller (not closed by lj_ui_chan_close); in_fd is
 * switched to non-blocking.
 */
enum lj_rc lj_ui_chan_fds(int in_fd, int out_fd, struct lj_ui_chan **out);

/* Close (NULL is fine): drops the client, unlinks the socket, wipes buffers. */
void lj_ui_chan_close(struct lj_ui_chan *c);

/*
 * Wait up to timeout_ms (0 = just look) for input.  *what says what
 * happened; for LJ_UI_IN_LINE, *line is a malloc'ed NUL-terminated copy
 * (caller frees with lj_secret_free) of len bytes (a trailing '\r' is
 * removed).  Returns LJ_OK, or LJ_ERR_IO on a failing listener/fd.
 */
enum lj_rc lj_ui_chan_poll(struct lj_ui_chan *c, int timeout_ms, enum lj_ui_input *what,
                           char **line, size_t *len);

/*
 * Write len bytes plus '\n'.  With no socket client connected the line is
 * dropped (LJ_OK: the flow resends state on LJ_UI_IN_CONNECTED).  A client
 * that doesn't read within LJ_UI_WRITE_TIMEOUT_MS, or has gone, is dropped
 * (LJ_OK).  LJ_ERR_IO only when a stdio/tty output fd fails.
 */
enum lj_rc lj_ui_chan_write_line(struct lj_ui_chan *c, const char *text, size_t len);

/* Write raw text as is (tty rendering); same rules as write_line. */
enum lj_rc lj_ui_chan_write(struct lj_ui_chan *c, const char *text, size_t len);

/* True when a socket client is connected, or for fd channels always. */
bool lj_ui_chan_connected(const struct lj_ui_chan *c);

/*
 * Can input still come?  Sockets: always (a client may connect again);
 * fd channels: while the input fd is open and has not reached EOF.
 */
bool lj_ui_chan_can_read(const struct lj_ui_chan *c);

#endif
