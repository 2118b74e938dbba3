/*
 * ui_msg.c — parsing the OOBE UI's messages (UI -> agent): one JSON line
 * into a struct lj_ui_msg, every malformed case named for the error event.
 *
 * Design note: pure functions (lj_ui_poll in ui_proto.c reads the channel
 * and calls them); passwords and codes are wiped from the parse tree and
 * from the message when it is cleared.
 */
#include "agent/ui/ui_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/core/json.h"
#include "platform/common/secmem.h"
#include "platform/ui_chan.h"

void
lj_ui_msg_clear(struct lj_ui_msg *msg)
{
    if (msg == NULL)
        return;
    free(msg->username);
    lj_secret_free(msg->password);
    lj_secret_free(msg->code);
    free(msg->state);
    free(msg->locale);
    memset(msg, 0, sizeof(*msg));
}

/* Required string field with a length cap; dup'ed into *out. */
static enum lj_rc
req_field(const cJSON *root, const char *type, const char *name, size_t max, char **out, char *err,
          size_t esz, char *problem, size_t psz)
{
    const char *v = NULL;
    enum lj_rc rc = lj_json_get_string(root, name, &v);

    if (rc == LJ_ERR_NOT_FOUND) {
        snprintf(err, esz, "missing_field");
        snprintf(problem, psz, "%s: missing field '%s'", type, name);
        return LJ_ERR_PARSE;
    }
    if (rc != LJ_OK) {
        snprintf(err, esz, "bad_field");
        snprintf(problem, psz, "%s: field '%s' must be a string", type, name);
        return LJ_ERR_PARSE;
    }
    if (v[0] == '\0' || strlen(v) > max) {
        snprintf(err, esz, "bad_field");
        snprintf(problem, psz, "%s: field '%s' must be 1 to %zu bytes", type, name, max);
        return LJ_ERR_PARSE;
    }
    *out = strdup(v);
    return *out != NULL ? LJ_OK : LJ_ERR_NOMEM;
}

/*
 * hello: protocol (an integer >= 1; newer than ours is answered with ours),
 * locale (a BCP 47 tag, optional), features (strings, optional; the agent
 * sends every v2 event type to a protocol-2 client either way).
 */
static enum lj_rc
parse_hello(const cJSON *root, struct lj_ui_msg *m, char *err, size_t esz, char *problem,
            size_t psz)
{
    const cJSON *feat = cJSON_GetObjectItemCaseSensitive(root, "features"), *it;
    const char *loc = NULL;
    long long proto = 0;
    enum lj_rc rc = lj_json_get_int(root, "protocol", &proto);

    if (rc == LJ_ERR_NOT_FOUND) {
        snprintf(err, esz, "missing_field");
        snprintf(problem, psz, "hello: missing field 'protocol'");
        return LJ_ERR_PARSE;
    }
    if (rc != LJ_OK || proto < 1) {
        snprintf(err, esz, "bad_field");
        snprintf(problem, psz, "hello: field 'protocol' must be an integer >= 1");
        return LJ_ERR_PARSE;
    }
    m->protocol = proto > LJ_UI_PROTOCOL_MAX ? LJ_UI_PROTOCOL_MAX : (int)proto;
    rc = lj_json_get_string(root, "locale", &loc);
    if (rc == LJ_OK) {
        size_t n = strspn(loc, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");

        if (loc[0] == '\0' || loc[n] != '\0' || n > LJ_UI_MAX_LOCALE) {
            snprintf(err, esz, "bad_field");
            snprintf(problem, psz, "hello: field 'locale' must be a language tag (de-DE)");
            return LJ_ERR_PARSE;
        }
        m->locale = strdup(loc);
        if (m->locale == NULL)
            return LJ_ERR_NOMEM;
    } else if (rc != LJ_ERR_NOT_FOUND) {
        snprintf(err, esz, "bad_field");
        snprintf(problem, psz, "hello: field 'locale' must be a string");
        return LJ_ERR_PARSE;
    }
    if (feat != NULL && !cJSON_IsNull(feat)) {
        bool ok = cJSON_IsArray(feat);

        cJSON_ArrayForEach(it, feat) ok = ok && cJSON_IsString(it);
        if (!ok) {
            snprintf(err, esz, "bad_field");
            snprintf(problem, psz, "hello: field 'features' must be an array of strings");
            return LJ_ERR_PARSE;
        }
    }
    return LJ_OK;
}

enum lj_rc
lj_ui_parse_msg(const char *line, size_t len, struct lj_ui_msg *msg, char *err, size_t esz,
                char *problem, size_t psz)
{
    cJSON *root = NULL;
    const char *type = NULL;
    struct lj_ui_msg m;
    enum lj_rc rc = LJ_ERR_PARSE;

    memset(&m, 0, sizeof(m));
    if (len > LJ_UI_MAX_LINE) {
        snprintf(err, esz, "line_too_long");
        snprintf(problem, psz, "line longer than %d bytes", LJ_UI_MAX_LINE);
        return LJ_ERR_PARSE;
    }
    if (lj_json_parse(line, len, 2, &root) != LJ_OK) {
        snprintf(err, esz, "bad_json");
        snprintf(problem, psz, "not valid JSON: %s", lj_json_problem());
        return LJ_ERR_PARSE;
    }
    if (!cJSON_IsObject(root)) {
        snprintf(err, esz, "bad_json");
        snprintf(problem, psz, "a message must be a JSON object");
        goto out;
    }
    if (lj_json_get_string(root, "type", &type) != LJ_OK) {
        snprintf(err, esz, "missing_field");
        snprintf(problem, psz, "message without a string 'type'");
        goto out;
    }
    if (strcmp(type, "credentials") == 0) {
        m.type = LJ_UI_MSG_CREDENTIALS;
        rc = req_field(root, type, "username", LJ_UI_MAX_USERNAME, &m.username, err, esz, problem,
                       psz);
        if (rc == LJ_OK)
            rc = req_field(root, type, "password", LJ_UI_MAX_PASSWORD, &m.password, err, esz,
                           problem, psz);
    } else if (strcmp(type, "auth_code") == 0) {
        m.type = LJ_UI_MSG_AUTH_CODE;
        rc = req_field(root, type, "code", LJ_UI_MAX_CODE, &m.code, err, esz, problem, psz);
        if (rc == LJ_OK)
            rc = req_field(root, type, "state", LJ_UI_MAX_STATE, &m.state, err, esz, problem, psz);
    } else if (strcmp(type, "hello") == 0) {
        m.type = LJ_UI_MSG_HELLO;
        rc = parse_hello(root, &m, err, esz, problem, psz);
    } else if (strcmp(type, "cancel") == 0) {
        m.type = LJ_UI_MSG_CANCEL;
        rc = LJ_OK;
    } else if (strcmp(type, "retry") == 0) {
        m.type = LJ_UI_MSG_RETRY;
        rc = LJ_OK;
    } else {
        char shown[48];
        lj_identity_sanitize(shown, sizeof(shown), type, strlen(type));
        snprintf(err, esz, "unknown_type");
        snprintf(problem, psz, "unknown message type '%s'", shown);
        rc = LJ_ERR_PARSE;
    }
    if (rc == LJ_OK) {
        *msg = m;
        memset(&m, 0, sizeof(m));
    }
out:
    lj_ui_msg_clear(&m);
    lj_json_wipe_delete(root);
    return rc;
}
