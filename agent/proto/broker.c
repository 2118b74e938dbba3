/*
 * broker.c — the token broker's request and answer lines (see broker.h):
 * the strict request parser, the rules the values share with `linkjoin
 * token`'s flags, and the client's reading of an answer.
 *
 * Design note: the request comes from another local user, so it is read
 * like any outside input: a size ceiling before parsing (pjson_parse: no
 * NUL byte, depth 1), every member named and typed, nothing unknown or
 * repeated accepted, each value checked against the rule the PRT-signed
 * request builder (prt_hs256_payload) enforces later anyway, so a bad value
 * is refused here with a sentence instead of failing deep in the flow.
 */
#include "agent/proto/broker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/proto/pjson.h"
#include "platform/common/text.h"

static const char *const field_names[BROKER_F_COUNT__] = {
    [BROKER_F_RESOURCE] = "resource",
    [BROKER_F_SCOPE] = "scope",
    [BROKER_F_CLIENT_ID] = "client_id",
    [BROKER_F_REDIRECT_URI] = "redirect_uri",
};

const char *
broker_field_name(enum broker_field f)
{
    return (unsigned)f < BROKER_F_COUNT__ ? field_names[f] : "?";
}

const char *
broker_value_problem(enum broker_field f, const char *v)
{
    size_t n;
    bool spaces = f == BROKER_F_SCOPE;

    if (v == NULL)
        return "missing";
    if (f == BROKER_F_CLIENT_ID)
        return lj_is_guid(v) ? NULL : "a GUID (8-4-4-4-12 hexadecimal digits)";
    n = strnlen(v, BROKER_VALUE_MAX + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];

        if (c > 0x7e || c < 0x20 || (c == ' ' && !spaces))
            n = 0; /* reported below with the rule */
    }
    if (n == 0 || n > BROKER_VALUE_MAX)
        return spaces ? "1 to 512 printable ASCII characters"
                      : "1 to 512 printable ASCII characters without spaces";
    return NULL;
}

static void __attribute__((format(printf, 3, 4)))
say(char *problem, size_t psz, const char *fmt, ...)
{
    va_list ap;

    if (problem == NULL || psz == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(problem, psz, fmt, ap);
    va_end(ap);
}

enum lj_rc
broker_req_parse(const char *line, size_t len, struct broker_req *req, char *problem, size_t psz)
{
    cJSON *root = NULL;
    const cJSON *m;
    const char *val[BROKER_F_COUNT__] = {NULL};
    struct broker_req r;
    char name[64];
    enum lj_rc rc;

    if (len > BROKER_LINE_MAX) {
        say(problem, psz, "the request is longer than %d bytes", BROKER_LINE_MAX);
        return LJ_ERR_TOO_BIG;
    }
    rc = pjson_parse(line, len, BROKER_LINE_MAX, 1, &root);
    if (rc != LJ_OK) {
        say(problem, psz, "the request is not one JSON object of strings");
        return LJ_ERR_PARSE;
    }
    rc = LJ_ERR_PARSE;
    for (m = root->child; m != NULL; m = m->next) {
        int f;

        /* a key as it came, made printable for the sentence */
        pjson_copy_text(name, sizeof(name), m->string);
        for (f = 0; f < BROKER_F_COUNT__; f++)
            if (m->string != NULL && strcmp(m->string, field_names[f]) == 0)
                break;
        if (f == BROKER_F_COUNT__) {
            say(problem, psz, "unknown field '%s'", name);
            goto out;
        }
        if (val[f] != NULL) {
            say(problem, psz, "field '%s' given twice", name);
            goto out;
        }
        if (!cJSON_IsString(m) || m->valuestring == NULL) {
            say(problem, psz, "field '%s' is not a string", name);
            goto out;
        }
        val[f] = m->valuestring;
    }
    if ((val[BROKER_F_RESOURCE] == NULL) == (val[BROKER_F_SCOPE] == NULL)) {
        say(problem, psz, "give exactly one of resource and scope");
        goto out;
    }
    memset(&r, 0, sizeof(r));
    for (int f = 0; f < BROKER_F_COUNT__; f++) {
        const char *why;

        if (val[f] == NULL)
            continue;
        why = broker_value_problem((enum broker_field)f, val[f]);
        if (why != NULL) {
            say(problem, psz, "field '%s': %s", field_names[f], why);
            goto out;
        }
    }
    if (val[BROKER_F_RESOURCE] != NULL)
        snprintf(r.resource, sizeof(r.resource), "%s", val[BROKER_F_RESOURCE]);
    if (val[BROKER_F_SCOPE] != NULL)
        snprintf(r.scope, sizeof(r.scope), "%s", val[BROKER_F_SCOPE]);
    if (val[BROKER_F_CLIENT_ID] != NULL)
        snprintf(r.client_id, sizeof(r.client_id), "%s", val[BROKER_F_CLIENT_ID]);
    if (val[BROKER_F_REDIRECT_URI] != NULL)
        snprintf(r.redirect_uri, sizeof(r.redirect_uri), "%s", val[BROKER_F_REDIRECT_URI]);
    *req = r;
    rc = LJ_OK;
out:
    cJSON_Delete(root);
    return rc;
}

/* Print o as one line into *out; frees o. */
static enum lj_rc
print_obj(cJSON *o, char **out)
{
    char *text = o != NULL ? cJSON_PrintUnformatted(o) : NULL;

    cJSON_Delete(o);
    if (text == NULL)
        return LJ_ERR_NOMEM;
    *out = text;
    return LJ_OK;
}

enum lj_rc
broker_req_json(const char *resource, const char *scope, const char *client_id,
                const char *redirect_uri, char **out)
{
    const char *v[BROKER_F_COUNT__] = {resource, scope, client_id, redirect_uri};
    cJSON *o = cJSON_CreateObject();

    for (int f = 0; o != NULL && f < BROKER_F_COUNT__; f++) {
        if (v[f] != NULL && cJSON_AddStringToObject(o, field_names[f], v[f]) == NULL) {
            cJSON_Delete(o);
            o = NULL;
        }
    }
    return print_obj(o, out);
}

enum lj_rc
broker_error_json(const char *slug, const char *message, int exit_code, char **out)
{
    cJSON *o = cJSON_CreateObject();

    if (o != NULL && (cJSON_AddStringToObject(o, "error", slug) == NULL ||
                      cJSON_AddStringToObject(o, "message", message) == NULL ||
                      cJSON_AddNumberToObject(o, "exit", exit_code) == NULL)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return print_obj(o, out);
}

static bool
slug_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= sizeof(((struct broker_answer *)0)->error))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
            return false;
    return true;
}

enum lj_rc
broker_answer_parse(const char *line, size_t len, struct broker_answer *a)
{
    cJSON *root = NULL;
    const char *s, *msg;
    long long ex;
    struct broker_answer r;
    enum lj_rc rc = LJ_ERR_PARSE;

    if (pjson_parse(line, len, BROKER_ANSWER_MAX, 2, &root) != LJ_OK)
        return LJ_ERR_PARSE;
    memset(&r, 0, sizeof(r));
    if (pjson_str(root, "access_token", false, BROKER_ANSWER_MAX, &s) == LJ_OK &&
        pjson_str(root, "token_type", false, 64, &s) == LJ_OK) {
        r.token = true;
    } else if (pjson_str(root, "error", false, 64, &s) == LJ_OK && slug_ok(s) &&
               pjson_str(root, "message", false, BROKER_ANSWER_MAX, &msg) == LJ_OK) {
        snprintf(r.error, sizeof(r.error), "%s", s);
        pjson_copy_text(r.message, sizeof(r.message), msg);
        r.exit_code =
            pjson_int(root, "exit", false, 1, BROKER_EXIT_MAX, &ex) == LJ_OK ? (int)ex : 1;
    } else {
        goto out;
    }
    *a = r;
    rc = LJ_OK;
out:
    pjson_wipe_delete(root);
    return rc;
}
