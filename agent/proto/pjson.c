/*
 * pjson.c — bounded JSON parsing for protocol bodies.
 *
 * Design note: parsing is agent/core/json.c's lj_json_parse (size, NUL, depth
 * pre-scan, trailing data) plus a per-call size ceiling and an object check;
 * this file adds the protocol getters (case-insensitive lookup, length and
 * range ceilings, numbers sent as strings by Entra's v1 endpoints).  Getters
 * are deliberately few: string, integer, object.  Protocol modules copy what
 * they keep into their own (often fixed-size) fields.
 */
#include "agent/proto/pjson.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/core/json.h"
#include "platform/common/secmem.h"

enum lj_rc
pjson_parse(const char *body, size_t len, size_t max_len, int max_depth, cJSON **out)
{
    cJSON *tree = NULL;
    enum lj_rc rc;

    if (body == NULL || out == NULL)
        return LJ_ERR_INVAL;
    if (len > max_len)
        return LJ_ERR_TOO_BIG;
    /* Size, NUL bytes, nesting (pre-scanned) and trailing data: json.c. */
    rc = lj_json_parse(body, len, max_depth, &tree);
    if (rc != LJ_OK)
        return rc;
    if (!cJSON_IsObject(tree)) {
        pjson_wipe_delete(tree);
        return LJ_ERR_PARSE;
    }
    *out = tree;
    return LJ_OK;
}

static const cJSON *
member(const cJSON *obj, const char *key, bool nocase)
{
    if (obj == NULL || !cJSON_IsObject(obj))
        return NULL;
    return nocase ? cJSON_GetObjectItem(obj, key) : cJSON_GetObjectItemCaseSensitive(obj, key);
}

enum lj_rc
pjson_str(const cJSON *obj, const char *key, bool nocase, size_t max, const char **out)
{
    const cJSON *it = member(obj, key, nocase);

    if (it == NULL || cJSON_IsNull(it))
        return LJ_ERR_NOT_FOUND;
    if (!cJSON_IsString(it) || it->valuestring == NULL)
        return LJ_ERR_PARSE;
    if (strlen(it->valuestring) > max)
        return LJ_ERR_TOO_BIG;
    *out = it->valuestring;
    return LJ_OK;
}

enum lj_rc
pjson_int(const cJSON *obj, const char *key, bool nocase, long long min, long long max,
          long long *out)
{
    const cJSON *it = member(obj, key, nocase);
    long long v;

    if (it == NULL || cJSON_IsNull(it))
        return LJ_ERR_NOT_FOUND;
    if (cJSON_IsNumber(it)) {
        double d = it->valuedouble;

        if (!(d >= -9.0e15 && d <= 9.0e15) || d != (double)(long long)d)
            return LJ_ERR_PARSE;
        v = (long long)d;
    } else if (cJSON_IsString(it) && it->valuestring != NULL) {
        const char *s = it->valuestring;
        char *e = NULL;
        size_t n = strlen(s);

        if (n == 0 || n > 18 || s[0] < '0' || s[0] > '9')
            return LJ_ERR_PARSE;
        errno = 0;
        v = strtoll(s, &e, 10);
        if (errno != 0 || e == NULL || *e != '\0')
            return LJ_ERR_PARSE;
    } else {
        return LJ_ERR_PARSE;
    }
    if (v < min || v > max)
        return LJ_ERR_PARSE;
    *out = v;
    return LJ_OK;
}

const cJSON *
pjson_obj(const cJSON *obj, const char *key, bool nocase)
{
    const cJSON *it = member(obj, key, nocase);

    return it != NULL && cJSON_IsObject(it) ? it : NULL;
}

void
pjson_copy_text(char *dst, size_t dstsz, const char *src)
{
    size_t n = 0;

    if (dst == NULL || dstsz == 0)
        return;
    if (src != NULL) {
        size_t len = strlen(src);

        n = len < dstsz - 1 ? len : dstsz - 1;
        /* Do not cut a UTF-8 sequence in half. */
        if (n < len)
            while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
                n--;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)src[i];

            dst[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
        }
    }
    dst[n] = '\0';
}

void
pjson_wipe_delete(cJSON *tree)
{
    lj_json_wipe_delete(tree);
}
