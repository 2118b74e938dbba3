/*
 * json.h — cJSON with ceilings, and typed getters that say what was wrong.
 *
 * Every JSON text from outside (HTTP bodies, UI lines, the journal) goes
 * through lj_json_parse(): a size cap, a nesting-depth cap checked by a
 * pre-scan before cJSON sees the text, no NUL bytes, nothing but whitespace
 * after the value.  The getters look a member up by exact (case-sensitive)
 * name and check its type; on failure they record a short problem text
 * ("missing field 'DeviceId'", "field 'Interval' is not an integer") that
 * lj_json_problem() returns, for error records and logs.
 *
 * Only this module, the protocol modules (oauth, drs, mdm) and the journal
 * and UI protocol include cJSON; other code sees opaque results.
 */
#ifndef LJ_AGENT_JSON_H
#define LJ_AGENT_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "platform/common/result.h"

#define LJ_JSON_MAX_BYTES (1024 * 1024) /* the HTTP body cap */
#define LJ_JSON_DEFAULT_DEPTH 16

/*
 * Parse len bytes of buf (need not be NUL-terminated).  max_depth bounds
 * the nesting of arrays and objects (1 = a flat object; <= 0 means
 * LJ_JSON_DEFAULT_DEPTH).  Returns LJ_OK and *root (caller frees with
 * cJSON_Delete), LJ_ERR_TOO_BIG (over LJ_JSON_MAX_BYTES or too deep) or
 * LJ_ERR_PARSE (malformed, NUL byte, trailing data); *root is untouched
 * then and lj_json_problem() says why.  Does not log (callers decide
 * whether a bad text is an error).
 */
enum lj_rc lj_json_parse(const char *buf, size_t len, int max_depth, cJSON **root);

/*
 * Typed getters on a JSON object.  Return LJ_OK with the value,
 * LJ_ERR_NOT_FOUND when the member is absent (or obj is not an object),
 * LJ_ERR_PARSE when it has the wrong type (JSON null counts as absent).
 * Out values are written only on LJ_OK.  Strings are borrowed from obj
 * (valid until cJSON_Delete of its root).  They do not log.
 */
enum lj_rc lj_json_get_string(const cJSON *obj, const char *name, const char **out);
enum lj_rc lj_json_get_int(const cJSON *obj, const char *name,
                           long long *out); /* integral, |v| <= 2^53 */
enum lj_rc lj_json_get_bool(const cJSON *obj, const char *name, bool *out);
enum lj_rc lj_json_get_object(const cJSON *obj, const char *name, const cJSON **out);
enum lj_rc lj_json_get_array(const cJSON *obj, const char *name, const cJSON **out);

/*
 * Like lj_json_get_string but an absent member is LJ_OK with *out = NULL;
 * a present member of another type is still LJ_ERR_PARSE.
 */
enum lj_rc lj_json_get_string_opt(const cJSON *obj, const char *name, const char **out);

/*
 * String member bounded to max_len bytes and copied into buf (size bufsz >
 * max_len); longer is LJ_ERR_TOO_BIG.  Other results as lj_json_get_string.
 */
enum lj_rc lj_json_copy_string(const cJSON *obj, const char *name, char *buf, size_t bufsz);

/* The last problem text of this thread ("" when none); borrowed. */
const char *lj_json_problem(void);

/*
 * One-line (unformatted) serialization.  Returns a malloc'ed string the
 * caller frees with free() (lj_secret_free when it may hold a secret), or
 * NULL when out of memory.
 */
char *lj_json_print(const cJSON *item);

/*
 * Wipe every string in the tree (values and member names: passwords, codes,
 * tokens) and delete it.  NULL is fine.  Nesting below 64 levels is not
 * visited (trees from lj_json_parse are depth-checked far below that).
 */
void lj_json_wipe_delete(cJSON *tree);

#endif
