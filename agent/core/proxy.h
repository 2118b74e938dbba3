/*
 * proxy.h — the corporate HTTP proxy settings: what a proxy URL and a
 * no_proxy list may look like, which hosts go direct, and the credentials
 * file.  Pure functions (the credentials reader reads one file); the
 * configuration (core/config.c), the environment mapping (net/cfgmap.c) and
 * the HTTP client (net/http.c) share them so the three agree.
 *
 * HTTPS always goes through the proxy in a CONNECT tunnel (RFC 9110 9.3.6):
 * TLS stays end to end between the device and Microsoft, so the proxy sees
 * only host names and ports.  Only http:// proxies: the tunnel already
 * protects the traffic, and a proxy's own TLS would need a second trust
 * store.
 */
#ifndef LJ_AGENT_PROXY_H
#define LJ_AGENT_PROXY_H

#include <stdbool.h>
#include <stddef.h>

#include "platform/common/result.h"

#define LJ_PROXY_URL_MAX 256
#define LJ_NO_PROXY_MAX 512
#define LJ_PROXY_CRED_MAX 512 /* the credentials file, bytes */

/*
 * NULL when v is "http://HOST:PORT" with an optional trailing "/" (HOST a
 * name, an IPv4 address or a [bracketed] IPv6 address; PORT 1..65535, always
 * given); else a phrase saying what is wrong ("must not hold a user name or
 * password ...").  Static storage.
 */
const char *lj_proxy_url_check(const char *v);

/*
 * NULL when v is a no_proxy list: "*" or comma-separated entries (spaces
 * around them allowed), each a host name, a domain (".contoso.com" or
 * "contoso.com": the domain and every name under it), an IPv4 address or an
 * IPv6 address (bare or bracketed); else a phrase.  "" is an empty list.
 */
const char *lj_no_proxy_check(const char *v);

/*
 * true when host (a name or address; an IPv6 address with or without
 * brackets) must be reached directly under list (as lj_no_proxy_check
 * accepts it): list is "*", or an entry equals host, or host ends with
 * "." + entry (a leading "." of the entry ignored).  Case-insensitive, like
 * curl's NOPROXY.  list NULL or "" matches nothing.
 */
bool lj_no_proxy_match(const char *list, const char *host);

/*
 * Read the proxy credentials file: its first line, "USER:PASSWORD" (the
 * password may hold ':'; a trailing CR/LF ends the line).  *user and
 * *password are malloc'ed; the caller frees both with lj_secret_free (they
 * are secrets: never logged, never on argv).  LJ_ERR_CONFIG (with why, a
 * phrase, filled) for a file that cannot be read, is over LJ_PROXY_CRED_MAX,
 * is readable by group or others, or has no "USER:" part; LJ_ERR_NOMEM.
 * Blocks on the file system.
 */
enum lj_rc lj_proxy_credentials_read(const char *path, char **user, char **password, char *why,
                                     size_t wsz);

#endif
