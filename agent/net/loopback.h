/*
 * loopback.h — the agent's own receiver for a loopback redirect URI
 * (auth_code sign-in, RFC 8252 §7.3).
 *
 * When redirect_uri is http://127.0.0.1[:PORT]/PATH, http://localhost[:PORT]/PATH
 * or http://[::1][:PORT]/PATH the browser (or web view) ends the sign-in
 * with a GET to that address.  The agent listens there itself, beside the
 * UI's `auth_code` hand-back, and takes whichever comes first.
 *
 * - No port (or port 0): the kernel picks a free one and the redirect URI
 *   sent to Entra names it (Entra allows any port for loopback redirects).
 * - localhost is both 127.0.0.1 and [::1], on the same port (RFC 8252 §7.3):
 *   the port taken on either one is an error, so nobody else can hold the
 *   address a browser tries first.  A host without IPv6 loopback listens on
 *   127.0.0.1 alone.
 * - Up to 8 connections read side by side without blocking, each bounded
 *   (head at most 8 KiB, 3 s to send it); more: the oldest is dropped.  A
 *   GET on the redirect path with a query and the Host the listener was
 *   bound as (host:port of the redirect URI) is handed to the caller; any
 *   other Host gets 400, another path 404, anything else 400 or 405, and
 *   is not.  Connections still reading stay open across lj_loopback_poll
 *   calls.
 * - The query holds the authorization code: it is returned as a secret and
 *   never logged; the page sent back never echoes it.
 */
#ifndef LJ_AGENT_LOOPBACK_H
#define LJ_AGENT_LOOPBACK_H

#include <stdbool.h>

#include "platform/common/result.h"

#define LJ_LOOPBACK_HEAD_MAX 8192
#define LJ_LOOPBACK_READ_MS 3000

struct lj_loopback;

/* Is uri an http:// loopback URI (127.0.0.1, localhost, [::1])? */
bool lj_loopback_uri(const char *uri);

/*
 * Listen where redirect_uri says.  *effective (malloc'ed, caller frees)
 * is the redirect URI to send: redirect_uri itself, or with the chosen
 * port filled in.  LJ_ERR_INVAL: not a loopback URI or a bad port/path;
 * LJ_ERR_IO: the address cannot be bound, for localhost either of the two
 * (detail names it and errno).
 * *out is freed with lj_loopback_close.
 */
enum lj_rc lj_loopback_open(const char *redirect_uri, struct lj_loopback **out, char **effective);

/* The listening fd (127.0.0.1's for localhost), or -1. */
int lj_loopback_fd(const struct lj_loopback *lb);

/*
 * Wait up to timeout_ms for a redirect.  LJ_OK: *url (secret: caller frees
 * with lj_secret_free) is the effective redirect URI + "?" + the query, and
 * the connection is held until lj_loopback_reply.  LJ_ERR_TIMEOUT: none in
 * time (requests that were not a redirect were answered and dropped).
 * LJ_ERR_IO: the listener failed.
 */
enum lj_rc lj_loopback_poll(struct lj_loopback *lb, int timeout_ms, char **url);

/*
 * Answer the held request: ok -> 200 with a page telling the person to go
 * back to the device; else 400 with text (plain, ours; HTML-escaped).
 * Then closes the connection.  No held request: nothing happens.
 */
void lj_loopback_reply(struct lj_loopback *lb, bool ok, const char *text);

/* Close the listener and any held connection (NULL is fine). */
void lj_loopback_close(struct lj_loopback *lb);

#endif
