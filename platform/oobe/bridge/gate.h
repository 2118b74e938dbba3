/*
 * gate.h — the bridge's request checks, as pure functions: Host and Origin
 * against the one address it serves (DNS rebinding, cross-site posts), the
 * access token, the page's locale, and which URL paths name an asset file.
 * No I/O; the HTTP front end (http.c) calls them for every request.
 */
#ifndef LJ_OOBE_GATE_H
#define LJ_OOBE_GATE_H

#include <stdbool.h>
#include <stddef.h>

/* The token: 32 random bytes as 64 lower-case hex digits. */
#define OOBE_TOKEN_BYTES 32
#define OOBE_TOKEN_HEX (2 * OOBE_TOKEN_BYTES)

/* Longest locale tag accepted ("de-DE", "zh-Hant-TW"). */
#define OOBE_LOCALE_MAX 35

/*
 * Is host (a Host header, NULL = missing) exactly "127.0.0.1:PORT" or
 * "localhost:PORT" ("localhost" in any case)?  Anything else, a missing
 * port included, is a name the page was not loaded from: a DNS-rebinding
 * page reaching the bridge through its own name.
 */
bool oobe_gate_host_ok(const char *host, unsigned port);

/* Is origin exactly "http://127.0.0.1:PORT" or "http://localhost:PORT"? */
bool oobe_gate_origin_ok(const char *origin, unsigned port);

/*
 * Does given (NULL = none) equal token (OOBE_TOKEN_HEX characters)?  The
 * comparison takes the same time whatever the contents (lj_secure_equal).
 */
bool oobe_gate_token_ok(const char *given, const char *token);

/*
 * Is locale a tag the bridge passes on: 1 to OOBE_LOCALE_MAX characters,
 * subtags of letters and digits separated by '-', the first 2 to 8 letters?
 */
bool oobe_gate_locale_ok(const char *locale);

/*
 * Map a request path to a file to serve.  "/" is "index.html"; otherwise
 * 1 to 3 segments of [A-Za-z0-9_.-] (each 1..64 characters, none starting
 * with '.', no empty segment), 128 characters at most, ending in a known
 * extension (.html .js .css .json .svg .png .ico .woff2 .txt).  On true,
 * rel (size relsz) holds the path without its leading '/' and *ctype the
 * Content-Type (static string).  false: not an asset (404).
 */
bool oobe_gate_asset(const char *path, char *rel, size_t relsz, const char **ctype);

#endif
