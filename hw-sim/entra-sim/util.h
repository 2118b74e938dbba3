/*
 * util.h — small helpers of entra-sim: growable buffers, GUIDs, random
 * values, the time formats of Entra and DRS, form/query decoding and HTML
 * escaping.  Nothing here knows the protocols.
 */
#ifndef LJ_SIM_UTIL_H
#define LJ_SIM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/*
 * A growable byte buffer with a ceiling.  Appends past max (or a failed
 * allocation) set err and are dropped; callers check err once at the end.
 * The buffer is always NUL-terminated when len > 0.  Free with sim_buf_free.
 */
struct sim_buf {
    unsigned char *p;
    size_t len;
    size_t cap;
    size_t max; /* 0 = 16 MiB */
    bool err;
};

void sim_buf_add(struct sim_buf *b, const void *data, size_t n);
void sim_buf_adds(struct sim_buf *b, const char *s);
void sim_buf_addf(struct sim_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Release the memory (wiped first when wipe is true); b is reusable. */
void sim_buf_free(struct sim_buf *b, bool wipe);
/* Hand the bytes to the caller (caller frees with free()); b is emptied. */
char *sim_buf_take(struct sim_buf *b, size_t *len);

/* n random bytes from getrandom(2); aborts the process if the kernel fails. */
void sim_random(void *buf, size_t n);

/* A new random (version 4) GUID in lower-case canonical text. */
void sim_guid_new(char out[37]);
/* Parse canonical GUID text (either case) into its 16 bytes in text order. */
bool sim_guid_parse(const char *s, unsigned char out[16]);
/* Windows (.NET Guid.ToByteArray) order: first three fields little-endian. */
void sim_guid_windows_bytes(const unsigned char in[16], unsigned char out[16]);
/* A GUID derived from a name (SHA-256 based, stable across runs). */
void sim_guid_from_name(const char *name, char out[37]);
/* The Entra object SID S-1-12-1-a-b-c-d of a GUID. */
void sim_guid_sid(const char *guid, char *out, size_t outsz);

/* Entra error time "2026-11-26 16:50:56Z". */
void sim_time_entra(char *buf, size_t n, time_t t);
/* DRS error time "11-26-2026 16:50:56Z". */
void sim_time_drs(char *buf, size_t n, time_t t);

/* Upper-case hex of n bytes into out (2n+1 bytes). */
void sim_hex_upper(const unsigned char *in, size_t n, char *out);

/* Case-insensitive ASCII equality. */
bool sim_streq_ci(const char *a, const char *b);

/*
 * A Windows version "major.minor.build.revision": four decimal parts, each
 * 0..65535 ([MS-MDE2] DottedQuadType; every Windows client sends one).
 */
bool sim_dotted_quad(const char *s);

/*
 * application/x-www-form-urlencoded pairs (also used for query strings).
 * sim_form_parse decodes at most SIM_FORM_MAX pairs of at most 8 KiB each;
 * returns false on malformed escapes or too many/too long pairs.  Values
 * may be secrets: sim_form_free wipes them.
 */
#define SIM_FORM_MAX 48
struct sim_form {
    size_t n;
    char *key[SIM_FORM_MAX];
    char *val[SIM_FORM_MAX];
};
bool sim_form_parse(const char *s, size_t len, struct sim_form *f);
/* The first value of key (borrowed from f) or NULL. */
const char *sim_form_get(const struct sim_form *f, const char *key);
void sim_form_free(struct sim_form *f);

/* Append s to b with &<>"' escaped for HTML text and attributes. */
void sim_html_escape(struct sim_buf *b, const char *s);
/* Append s to b percent-encoded for a URL query value. */
void sim_url_encode(struct sim_buf *b, const char *s);

/* Milliseconds on the monotonic clock. */
long long sim_now_ms(void);

/* Sleep ms milliseconds in slices, returning early when *stop becomes true. */
void sim_sleep_ms(long ms, const volatile int *stop);

#endif
