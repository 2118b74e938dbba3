/*
 * pjson.h — the small, strict cJSON front end of the protocol modules
 * (oauth.c, drs.c).
 *
 * Every body from the network goes through pjson_parse(), which checks the
 * size ceiling, rejects NUL bytes and measures nesting depth with a plain
 * byte scan BEFORE cJSON sees the text, so a nesting bomb never reaches the
 * recursive parser.  Field getters check the JSON type and a length or
 * range ceiling; nothing is converted silently.  cJSON types stay inside
 * agent/proto/pjson.c, agent/proto/oauth_*.c, agent/proto/prt*.c and
 * agent/proto/drs.c
 * (core/json.c, state/journal.c and ui/ui_proto.c use cJSON on their own).
 */
#ifndef LJ_AGENT_PJSON_H
#define LJ_AGENT_PJSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "platform/common/result.h"

/*
 * Parse len bytes of body as one JSON value whose top level is an object.
 * Fails with LJ_ERR_TOO_BIG when len > max_len or nesting is deeper than
 * max_depth, LJ_ERR_PARSE on malformed text, a NUL byte, or a non-object.
 * On success *out is a tree the caller frees with cJSON_Delete() or, when it
 * holds secrets, pjson_wipe_delete().  body need not be NUL-terminated.
 */
enum lj_rc pjson_parse(const char *body, size_t len, size_t max_len, int max_depth, cJSON **out);

/*
 * The string member key of obj (exact, case-sensitive unless nocase).
 * Missing or null: LJ_ERR_NOT_FOUND (*out untouched).  Wrong type: LJ_ERR_PARSE.
 * Longer than max bytes: LJ_ERR_TOO_BIG.  *out is borrowed from obj.
 */
enum lj_rc pjson_str(const cJSON *obj, const char *key, bool nocase, size_t max, const char **out);

/*
 * The integer member key: a JSON number with no fraction, or a decimal
 * string (Entra's v1 endpoints send "expires_in":"3599").  Outside
 * [min, max]: LJ_ERR_PARSE.  Missing: LJ_ERR_NOT_FOUND.
 */
enum lj_rc pjson_int(const cJSON *obj, const char *key, bool nocase, long long min, long long max,
                     long long *out);

/* The object member key, or NULL when missing or not an object. */
const cJSON *pjson_obj(const cJSON *obj, const char *key, bool nocase);

/*
 * Copy src into dst (size dstsz, always NUL-terminated, truncated at a
 * UTF-8 boundary) replacing control characters with a space, so server text
 * can go into logs and UI events safely.  NULL src gives "".
 */
void pjson_copy_text(char *dst, size_t dstsz, const char *src);

/* Wipe every string (keys and values) in tree, then cJSON_Delete it.  NULL ok. */
void pjson_wipe_delete(cJSON *tree);

#endif
