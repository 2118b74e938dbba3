/*
 * http.h — the bridge's HTTP front end (libmicrohttpd) on 127.0.0.1.
 *
 * Every request passes, in this order: Host is 127.0.0.1:PORT or
 * localhost:PORT; an Origin, when sent, is http:// of the same (required
 * on POST); the token, as ?t= on a GET (answered 303 with the cookie
 * lj_oobe), the cookie, or the header X-LJ-Token.  A refusal is 403 with
 * no detail.  Then:
 *   GET  /, /NAME.EXT, /DIR/NAME.EXT   files from the assets directory
 *   GET  /i18n/LOCALE.json              from the i18n directory when given
 *   GET  /events?locale=TAG             Server-Sent Events (link.h)
 *   GET  /qr.svg                        QR code of the open device-code prompt
 *   POST /send                          one message for the agent (msg.h)
 * Every answer carries the CSP, nosniff and no-store headers.
 */
#ifndef LJ_OOBE_HTTP_H
#define LJ_OOBE_HTTP_H

#include "platform/common/result.h"
#include "platform/oobe/bridge/link.h"

/* Connections at once (one event stream, the page's requests, a script). */
#define OOBE_HTTP_MAX_CONNECTIONS 16
/* An idle connection is closed after this many seconds. */
#define OOBE_HTTP_IDLE_SECONDS 30
/* An event stream sends a comment line when this long quiet. */
#define OOBE_HTTP_KEEPALIVE_MS 15000
/* Largest asset file served. */
#define OOBE_HTTP_MAX_ASSET (4 * 1024 * 1024)

struct oobe_http_cfg {
    unsigned port;      /* the port listen_fd is bound to */
    const char *assets; /* directory of index.html, app.js, ... */
    const char *i18n;   /* directory of LOCALE.json, NULL = assets/i18n */
    const char *token;  /* OOBE_TOKEN_HEX characters; borrowed until oobe_http_stop */
    struct oobe_link *link;
};

/*
 * Serve on listen_fd (bound to 127.0.0.1, listening; owned by the server
 * from now on, closed by oobe_http_stop).  cfg's strings are borrowed until
 * oobe_http_stop.  Threads: one per connection.
 */
enum lj_rc oobe_http_start(int listen_fd, const struct oobe_http_cfg *cfg);

/* Stop serving; call oobe_link_stop first so event streams end. */
void oobe_http_stop(void);

#endif
