/*
 * json.c — bounded cJSON parsing and typed member access.
 *
 * Design note: cJSON recurses per nesting level and has no size limit of
 * its own, so the text is pre-scanned once (outside strings) for depth and
 * NUL bytes before cJSON_ParseWithLengthOpts runs.  Problems are kept as a
 * per-thread text so callers can put "which field" into an error record
 * without this module deciding what is an error worth logging.
 */
#include "agent/core/json.h"

#include "platform/common/secmem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char problem[160];

static void set_problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
set_problem(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(problem, sizeof(problem), fmt, ap);
    va_end(ap);
}

const char *
lj_json_problem(void)
{
    return problem;
}

/* Depth of [ and { outside strings; -1 on a NUL byte. */
static int
max_nesting(const char *buf, size_t len, int limit)
{
    int depth = 0, deepest = 0;
    bool in_str = false, esc = false;

    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (c == '\0')
            return -1;
        if (in_str) {
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > deepest)
                deepest = depth;
            if (deepest > limit)
                return deepest; /* no need to look further */
        } else if (c == ']' || c == '}') {
            if (depth > 0)
                depth--;
        }
    }
    return deepest;
}

enum lj_rc
lj_json_parse(const char *buf, size_t len, int max_depth, cJSON **root)
{
    const char *end = NULL;
    cJSON *doc;
    int depth;

    problem[0] = '\0';
    if (max_depth <= 0)
        max_depth = LJ_JSON_DEFAULT_DEPTH;
    if (buf == NULL || len == 0) {
        set_problem("empty document");
        return LJ_ERR_PARSE;
    }
    if (len > LJ_JSON_MAX_BYTES) {
        set_problem("document of %zu bytes is over the %d byte limit", len, LJ_JSON_MAX_BYTES);
        return LJ_ERR_TOO_BIG;
    }
    depth = max_nesting(buf, len, max_depth);
    if (depth < 0) {
        set_problem("NUL byte in document");
        return LJ_ERR_PARSE;
    }
    if (depth > max_depth) {
        set_problem("nesting deeper than %d", max_depth);
        return LJ_ERR_TOO_BIG;
    }
    doc = cJSON_ParseWithLengthOpts(buf, len, &end, false);
    if (doc == NULL) {
        const char *at = cJSON_GetErrorPtr();
        if (at != NULL && at >= buf && at <= buf + len)
            set_problem("malformed JSON at byte %zu", (size_t)(at - buf));
        else
            set_problem("malformed JSON");
        return LJ_ERR_PARSE;
    }
    for (const char *p = end; p != NULL && p < buf + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            set_problem("trailing data at byte %zu", (size_t)(p - buf));
            cJSON_Delete(doc);
            return LJ_ERR_PARSE;
        }
    }
    *root = doc;
    return LJ_OK;
}

static enum lj_rc
member(const cJSON *obj, const char *name, const cJSON **item)
{
    const cJSON *it;

    if (!cJSON_IsObject(obj)) {
        set_problem("not an object (looking for '%s')", name);
        return LJ_ERR_NOT_FOUND;
    }
    it = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (it == NULL || cJSON_IsNull(it)) {
        set_problem("missing field '%s'", name);
        return LJ_ERR_NOT_FOUND;
    }
    *item = it;
    return LJ_OK;
}

enum lj_rc
lj_json_get_string(const cJSON *obj, const char *name, const char **out)
{
    const cJSON *it = NULL;
    enum lj_rc rc = member(obj, name, &it);

    if (rc != LJ_OK)
        return rc;
    if (!cJSON_IsString(it) || it->valuestring == NULL) {
        set_problem("field '%s' is not a string", name);
        return LJ_ERR_PARSE;
    }
    *out = it->valuestring;
    return LJ_OK;
}

enum lj_rc
lj_json_get_string_opt(const cJSON *obj, const char *name, const char **out)
{
    enum lj_rc rc = lj_json_get_string(obj, name, out);

    if (rc == LJ_ERR_NOT_FOUND && cJSON_IsObject(obj)) {
        *out = NULL;
        return LJ_OK;
    }
    return rc;
}

enum lj_rc
lj_json_copy_string(const cJSON *obj, const char *name, char *buf, size_t bufsz)
{
    const char *s = NULL;
    enum lj_rc rc = lj_json_get_string(obj, name, &s);
    size_t n;

    if (rc != LJ_OK)
        return rc;
    n = strlen(s);
    if (bufsz == 0 || n >= bufsz) {
        set_problem("field '%s' is longer than %zu bytes", name, bufsz ? bufsz - 1 : 0);
        return LJ_ERR_TOO_BIG;
    }
    memcpy(buf, s, n + 1);
    return LJ_OK;
}

enum lj_rc
lj_json_get_int(const cJSON *obj, const char *name, long long *out)
{
    const cJSON *it = NULL;
    enum lj_rc rc = member(obj, name, &it);
    double d;

    if (rc != LJ_OK)
        return rc;
    /* Range first, so the cast below is defined; no libm needed. */
    d = cJSON_IsNumber(it) ? it->valuedouble : 1e300;
    if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || d != (double)(long long)d) {
        set_problem("field '%s' is not an integer", name);
        return LJ_ERR_PARSE;
    }
    *out = (long long)d;
    return LJ_OK;
}

enum lj_rc
lj_json_get_bool(const cJSON *obj, const char *name, bool *out)
{
    const cJSON *it = NULL;
    enum lj_rc rc = member(obj, name, &it);

    if (rc != LJ_OK)
        return rc;
    if (!cJSON_IsBool(it)) {
        set_problem("field '%s' is not a boolean", name);
        return LJ_ERR_PARSE;
    }
    *out = cJSON_IsTrue(it);
    return LJ_OK;
}

enum lj_rc
lj_json_get_object(const cJSON *obj, const char *name, const cJSON **out)
{
    const cJSON *it = NULL;
    enum lj_rc rc = member(obj, name, &it);

    if (rc != LJ_OK)
        return rc;
    if (!cJSON_IsObject(it)) {
        set_problem("field '%s' is not an object", name);
        return LJ_ERR_PARSE;
    }
    *out = it;
    return LJ_OK;
}

enum lj_rc
lj_json_get_array(const cJSON *obj, const char *name, const cJSON **out)
{
    const cJSON *it = NULL;
    enum lj_rc rc = member(obj, name, &it);

    if (rc != LJ_OK)
        return rc;
    if (!cJSON_IsArray(it)) {
        set_problem("field '%s' is not an array", name);
        return LJ_ERR_PARSE;
    }
    *out = it;
    return LJ_OK;
}

char *
lj_json_print(const cJSON *item)
{
    return cJSON_PrintUnformatted(item);
}

static void
wipe_tree(cJSON *node, int depth)
{
    for (cJSON *it = node; it != NULL; it = it->next) {
        if (it->valuestring != NULL)
            lj_secure_zero(it->valuestring, strlen(it->valuestring));
        if (it->string != NULL)
            lj_secure_zero(it->string, strlen(it->string));
        if (it->child != NULL && depth < 64)
            wipe_tree(it->child, depth + 1);
    }
}

void
lj_json_wipe_delete(cJSON *tree)
{
    if (tree == NULL)
        return;
    wipe_tree(tree, 0);
    cJSON_Delete(tree);
}
