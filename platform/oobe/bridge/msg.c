/*
 * msg.c — validation of the page's /send bodies and the line the agent gets.
 *
 * Design note: the body is parsed with cJSON only to find the members;
 * the line for the agent is written here from the checked strings, into
 * one buffer sized exactly beforehand (no realloc leaving an unwiped copy
 * of a password behind), and the parse tree's strings are wiped before
 * cJSON frees them.  The rules match the agent's own parser
 * (agent/ui/ui_proto.c lj_ui_parse_msg), stricter where a page can be:
 * no unknown or repeated member, valid UTF-8 only.
 */
#include "platform/oobe/bridge/msg.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/common/secmem.h"
#include "platform/common/text.h"

#define MAX_FIELDS 3

struct spec {
    const char *type;
    const char *fields[MAX_FIELDS];
    size_t max[MAX_FIELDS];
};

static const struct spec specs[] = {
    {"credentials",
     {"username", "password", NULL},
     {OOBE_MSG_MAX_USERNAME, OOBE_MSG_MAX_PASSWORD, 0}},
    {"auth_code", {"code", "state", NULL}, {OOBE_MSG_MAX_CODE, OOBE_MSG_MAX_STATE, 0}},
    {"cancel", {NULL}, {0}},
    {"retry", {NULL}, {0}},
};

/* Wipe every string value of the tree (the password, the code). */
static void
wipe_tree(cJSON *j)
{
    for (; j != NULL; j = j->next) {
        if (j->valuestring != NULL)
            lj_secure_zero(j->valuestring, strlen(j->valuestring));
        if (j->child != NULL)
            wipe_tree(j->child);
    }
}

static bool
utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0, k; i < n; i += k) {
        unsigned cp;
        if ((k = lj_utf8_next(s + i, n - i, &cp)) == 0)
            return false;
    }
    return true;
}

/* Bytes s takes as a JSON string body (without quotes). */
static size_t
escaped_len(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f')
            n += 2;
        else if (c < 0x20 || c == 0x7f)
            n += 6;
        else
            n++;
    }
    return n;
}

static char *
put_escaped(char *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    *o++ = '"';
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char e = 0;
        switch (c) {
        case '"': e = '"'; break;
        case '\\': e = '\\'; break;
        case '\n': e = 'n'; break;
        case '\r': e = 'r'; break;
        case '\t': e = 't'; break;
        case '\b': e = 'b'; break;
        case '\f': e = 'f'; break;
        default: break;
        }
        if (e != 0) {
            *o++ = '\\';
            *o++ = e;
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(o, "\\u00", 4);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 15];
            o += 6;
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    return o;
}

static char *
put_raw(char *o, const char *s)
{
    size_t n = strlen(s);

    memcpy(o, s, n);
    return o + n;
}

/* The line {"type":T,"f1":v1,...}\n from the checked values. */
static enum lj_rc
build_line(const struct spec *sp, const char *const *vals, char **line, size_t *line_len)
{
    size_t n = strlen("{\"type\":\"\"}\n") + strlen(sp->type), i;
    char *buf, *o;

    for (i = 0; i < MAX_FIELDS && sp->fields[i] != NULL; i++)
        n += strlen(",\"\":") + strlen(sp->fields[i]) + 2 + escaped_len(vals[i]);
    buf = malloc(n + 1);
    if (buf == NULL)
        return LJ_ERR_NOMEM;
    o = put_raw(buf, "{\"type\":");
    o = put_escaped(o, sp->type);
    for (i = 0; i < MAX_FIELDS && sp->fields[i] != NULL; i++) {
        *o++ = ',';
        o = put_escaped(o, sp->fields[i]);
        *o++ = ':';
        o = put_escaped(o, vals[i]);
    }
    o = put_raw(o, "}\n");
    *o = '\0';
    *line = buf;
    *line_len = (size_t)(o - buf);
    return LJ_OK;
}

static enum lj_rc bad(const char *s, char *slug, size_t ssz, char *problem, size_t psz,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static enum lj_rc
bad(const char *s, char *slug, size_t ssz, char *problem, size_t psz, const char *fmt, ...)
{
    va_list ap;

    snprintf(slug, ssz, "%s", s);
    va_start(ap, fmt);
    vsnprintf(problem, psz, fmt, ap);
    va_end(ap);
    return strcmp(s, "too_large") == 0 ? LJ_ERR_TOO_BIG : LJ_ERR_PARSE;
}

/* A member name fit to show in a message: printable ASCII, at most 32 bytes. */
static void
shown_name(char *out, size_t osz, const char *name)
{
    size_t i, n = 0;

    for (i = 0; name[i] != '\0' && n + 1 < osz && i < 32; i++) {
        unsigned char c = (unsigned char)name[i];
        /* no quote or backslash: the sentence goes into a JSON string as is */
        out[n++] = (c >= 0x20 && c < 0x7f && c != '\'' && c != '"' && c != '\\') ? (char)c : '?';
    }
    out[n] = '\0';
}

enum lj_rc
oobe_msg_check(const char *body, size_t len, char **line, size_t *line_len, const char **type,
               char *slug, size_t ssz, char *problem, size_t psz)
{
    cJSON *root = NULL;
    const cJSON *m, *t;
    const struct spec *sp = NULL;
    const char *vals[MAX_FIELDS] = {NULL, NULL, NULL};
    const char *end = NULL;
    char name[40];
    enum lj_rc rc;
    size_t i;

    if (len > OOBE_MSG_MAX_BODY)
        return bad("too_large", slug, ssz, problem, psz, "body over %d bytes", OOBE_MSG_MAX_BODY);
    if (body == NULL || len == 0 || memchr(body, '\0', len) != NULL ||
        !utf8_ok((const unsigned char *)body, len))
        return bad("bad_json", slug, ssz, problem, psz, "body is not one JSON object in UTF-8");
    root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (root != NULL && end != NULL) {
        for (; end < body + len; end++)
            if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n')
                break;
    }
    if (root == NULL || end == NULL || end != body + len) {
        rc = bad("bad_json", slug, ssz, problem, psz, "body is not one JSON object");
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        rc = bad("not_object", slug, ssz, problem, psz, "body is not a JSON object");
        goto out;
    }
    t = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (t == NULL) {
        rc = bad("missing_type", slug, ssz, problem, psz, "missing field 'type'");
        goto out;
    }
    if (!cJSON_IsString(t) || t->valuestring == NULL) {
        rc = bad("bad_field", slug, ssz, problem, psz, "field 'type' must be a string");
        goto out;
    }
    for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        if (strcmp(t->valuestring, specs[i].type) == 0)
            sp = &specs[i];
    if (sp == NULL) {
        shown_name(name, sizeof(name), t->valuestring);
        rc = bad("unknown_type", slug, ssz, problem, psz,
                 "unknown type '%s' (credentials, auth_code, cancel or retry)", name);
        goto out;
    }
    for (m = root->child; m != NULL; m = m->next) {
        const cJSON *o;
        size_t k;
        bool known = strcmp(m->string, "type") == 0;
        shown_name(name, sizeof(name), m->string);
        for (o = root->child; o != m; o = o->next) {
            if (strcmp(o->string, m->string) == 0) {
                rc = bad("duplicate_field", slug, ssz, problem, psz, "%s: field '%s' given twice",
                         sp->type, name);
                goto out;
            }
        }
        for (k = 0; k < MAX_FIELDS && sp->fields[k] != NULL; k++) {
            if (strcmp(m->string, sp->fields[k]) != 0)
                continue;
            known = true;
            if (!cJSON_IsString(m) || m->valuestring == NULL) {
                rc = bad("bad_field", slug, ssz, problem, psz, "%s: field '%s' must be a string",
                         sp->type, name);
                goto out;
            }
            if (m->valuestring[0] == '\0' || strlen(m->valuestring) > sp->max[k]) {
                rc = bad("bad_field", slug, ssz, problem, psz,
                         "%s: field '%s' must be 1 to %zu bytes", sp->type, name, sp->max[k]);
                goto out;
            }
            vals[k] = m->valuestring;
        }
        if (!known) {
            rc = bad("unknown_field", slug, ssz, problem, psz, "%s: unknown field '%s'", sp->type,
                     name);
            goto out;
        }
    }
    for (i = 0; i < MAX_FIELDS && sp->fields[i] != NULL; i++) {
        if (vals[i] == NULL) {
            rc = bad("missing_field", slug, ssz, problem, psz, "%s: missing field '%s'", sp->type,
                     sp->fields[i]);
            goto out;
        }
    }
    rc = build_line(sp, vals, line, line_len);
    if (rc == LJ_OK)
        *type = sp->type;
out:
    if (root != NULL) {
        wipe_tree(root);
        cJSON_Delete(root);
    }
    return rc;
}
