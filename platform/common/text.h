/*
 * text.h — small text predicates every layer needs the same answer from.
 * Generic helper shared by the agent and the simulator (platform/common/).
 */
#ifndef LJ_PLATFORM_TEXT_H
#define LJ_PLATFORM_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * True when body (len bytes, not NUL-terminated, may be NULL) is an HTML page:
 * after leading white space it starts, case-insensitively, with
 * "<!doctype html", "<html", "<head", "<body", "<title" or "<!--".  A JSON or
 * SOAP service never answers with one, so it means a captive portal, a proxy's
 * block page or a sign-in page is in the way.  One list for OAuth, DRS and
 * Intune: a portal page that starts with a comment is interception for all.
 */
bool lj_body_is_html(const char *body, size_t len);

/* True for a GUID in the 8-4-4-4-12 hex form (either case), no braces. */
bool lj_is_guid(const char *s);

/*
 * True for a Windows version as a dotted quad, "major.minor.build.revision":
 * four decimal parts of 1 to 5 digits, each 0..65535, no sign, no spaces
 * ("10.0.26100.1").  [MS-MDE2] 3.1.4.1.3.1 types ApplicationVersion as
 * DottedQuadType; Windows' version parts are 16-bit.
 */
bool lj_is_dotted_quad(const char *s);

/*
 * The code point that starts s (n bytes available, n >= 1) into *cp; returns
 * how many bytes it takes, or 0 when s does not start with a well-formed
 * UTF-8 sequence (RFC 3629: shortest form, no surrogates, at most U+10FFFF,
 * not cut off by n).  One decoder for the UI's input, the tty renderer, the
 * bridge and the Intune text checks.
 */
size_t lj_utf8_next(const unsigned char *s, size_t n, unsigned *cp);

#endif
