/*
 * link.h — the bridge's side of the agent's UI socket, and the one page
 * that listens to it.
 *
 * One thread owns the connection to the agent (platform/ui_chan.c: a Unix
 * stream socket, one client at a time, JSON Lines).  It connects, sends
 * {"type":"hello","protocol":2,"locale":L,"features":[..]} and turns every
 * line the agent sends into a Server-Sent Events message ("data: LINE\n\n")
 * for the page attached at that moment.  When the agent goes away (exit,
 * restart, socket activation starting a new one) the page is told
 * {"type":"bridge","agent":"disconnected"} and the thread connects again
 * with a backoff of 250 ms doubling to 2 s; {"type":"bridge","agent":
 * "connected"} comes before the first line of each new connection.
 * Attaching a page reconnects at once, so the agent replays its state
 * (hello, open prompt, last progress, last result) in the page's locale.
 *
 * All functions are thread-safe.
 */
#ifndef LJ_OOBE_LINK_H
#define LJ_OOBE_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "platform/common/result.h"

/* Longest agent line relayed; a longer one is dropped (and logged). */
#define OOBE_LINK_MAX_LINE (256 * 1024)
/* Bytes queued for a page that does not read; over it the page is dropped. */
#define OOBE_LINK_MAX_QUEUED (1024 * 1024)
/* A write to the agent waits at most this long. */
#define OOBE_LINK_WRITE_TIMEOUT_MS 2000
/* Reconnect backoff. */
#define OOBE_LINK_BACKOFF_MIN_MS 250
#define OOBE_LINK_BACKOFF_MAX_MS 2000

struct oobe_link;

/*
 * Start the agent thread for the socket at path (absolute, shorter than
 * sun_path).  It starts connecting at once.  *out is stopped with
 * oobe_link_stop and freed with oobe_link_free.
 */
enum lj_rc oobe_link_start(const char *path, struct oobe_link **out);

/*
 * Stop: every page's oobe_link_next returns OOBE_NEXT_END from now on, the
 * thread ends and the agent connection is closed.  Blocks until the thread
 * has ended (at most one write timeout).  NULL is fine.
 */
void oobe_link_stop(struct oobe_link *l);

/* Free after oobe_link_stop and after every page has detached.  NULL is fine. */
void oobe_link_free(struct oobe_link *l);

/*
 * A page opens its event stream: it becomes the only one (the previous
 * one's stream ends), and the agent connection is made anew with hello in
 * locale (a tag oobe_gate_locale_ok accepts; copied).  Returns the page's
 * id for oobe_link_next / oobe_link_detach (never 0).
 */
uint64_t oobe_link_attach(struct oobe_link *l, const char *locale);

enum oobe_next {
    OOBE_NEXT_DATA = 0, /* *chunk holds one SSE message */
    OOBE_NEXT_IDLE = 1, /* nothing within the timeout (send a keep-alive) */
    OOBE_NEXT_END = 2,  /* stream over: another page attached, overrun, or stop */
};

/*
 * Wait up to timeout_ms for the next message of page id.  DATA: *chunk is
 * malloc'ed (caller frees with free()), *len bytes, not NUL-terminated.
 * Blocks (a page's own HTTP thread).
 */
enum oobe_next oobe_link_next(struct oobe_link *l, uint64_t id, int timeout_ms, char **chunk,
                              size_t *len);

/* Page id has gone (its stream closed).  Nothing happens if another replaced it. */
void oobe_link_detach(struct oobe_link *l, uint64_t id);

/*
 * Send one line (len bytes ending in '\n') to the agent.  LJ_OK: written
 * whole.  LJ_ERR_NOT_FOUND: no agent connected (or it has not spoken yet).
 * LJ_ERR_IO / LJ_ERR_TIMEOUT: the write failed or took over
 * OOBE_LINK_WRITE_TIMEOUT_MS; the connection is then dropped (a cut line
 * must not stay half-sent) and made again.  The line is not copied.
 */
enum lj_rc oobe_link_send(struct oobe_link *l, const char *line, size_t len);

/*
 * The URL of the open device-code prompt (verification_uri_complete when
 * the agent gave one, else verification_uri), malloc'ed (caller frees), or
 * NULL when no device-code prompt is open.
 */
char *oobe_link_qr_url(struct oobe_link *l);

#endif
