/*
 * ui_proto.c — JSON Lines events to and from the OOBE UI, and their tty
 * rendering.
 *
 * Design note: every event is built once as JSON.  JSON channels write the
 * line; the tty front end renders that same line to text
 * (lj_ui_render_tty), so the two can never disagree about what an event
 * says, and golden tests of the renderer cover the tty UI.  The last
 * hello/progress/prompt/result lines are kept so that a UI connecting late
 * gets the current state.
 */
#include "agent/ui/ui_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/core/json.h"
#include "agent/core/version.h"
#include "platform/clock.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "platform/ui_chan.h"

#define MOD "ui"

enum kept { K_HELLO, K_PROGRESS, K_PROMPT, K_RESULT, K_COUNT };

struct lj_ui {
    enum lj_ui_kind kind;
    struct lj_ui_chan *chan;
    char *kept[K_COUNT];
    /* from hello: every result repeats it for the help desk */
    char manufacturer[LJ_IDENTITY_MAX], model[LJ_IDENTITY_MAX], serial[LJ_IDENTITY_MAX];
};

static const char *const status_names[] = {"joined", "joined_mdm_pending", "failed",
                                           "already_joined", "cancelled"};

const char *
lj_ui_status_name(enum lj_ui_status s)
{
    return (unsigned)s < 5 ? status_names[s] : "unknown";
}

/* ---- open/close ---- */

enum lj_rc
lj_ui_open_fds(enum lj_ui_kind kind, int in_fd, int out_fd, struct lj_ui **out)
{
    struct lj_ui *ui = calloc(1, sizeof(*ui));
    enum lj_rc rc;

    if (ui == NULL)
        return LJ_ERR_NOMEM;
    ui->kind = kind;
    rc = lj_ui_chan_fds(kind == LJ_UI_TTY ? -1 : in_fd, out_fd, &ui->chan);
    if (rc != LJ_OK) {
        free(ui);
        return rc;
    }
    *out = ui;
    return LJ_OK;
}

enum lj_rc
lj_ui_open(const struct lj_config *cfg, struct lj_ui **out)
{
    struct lj_ui *ui;
    enum lj_rc rc;

    if (cfg->ui != LJ_UI_SOCKET)
        return lj_ui_open_fds(cfg->ui, 0, 1, out);
    ui = calloc(1, sizeof(*ui));
    if (ui == NULL)
        return LJ_ERR_NOMEM;
    ui->kind = LJ_UI_SOCKET;
    rc = lj_ui_chan_listen_group(cfg->ui_socket, cfg->ui_group, &ui->chan);
    if (rc != LJ_OK) {
        free(ui);
        return rc;
    }
    *out = ui;
    return LJ_OK;
}

void
lj_ui_free(struct lj_ui *ui)
{
    if (ui == NULL)
        return;
    for (int i = 0; i < K_COUNT; i++)
        lj_secret_free(ui->kept[i]);
    lj_ui_chan_close(ui->chan);
    free(ui);
}

/* ---- sending ---- */

static enum lj_rc
send_line(struct lj_ui *ui, const char *line)
{
    enum lj_rc rc;
    char *text;

    if (ui->kind != LJ_UI_TTY)
        return lj_ui_chan_write_line(ui->chan, line, strlen(line));
    text = lj_ui_render_tty(line, strlen(line));
    if (text == NULL)
        return LJ_ERR_NOMEM;
    rc = lj_ui_chan_write(ui->chan, text, strlen(text));
    free(text);
    return rc;
}

/* Serialize ev, remember it under slot (K_COUNT = don't keep), send it. Frees ev. */
static enum lj_rc
emit(struct lj_ui *ui, cJSON *ev, int slot)
{
    char *line;
    enum lj_rc rc;

    if (ev == NULL)
        return LJ_ERR_NOMEM;
    if (ui == NULL) { /* a command without a UI (token, prt-renew): nothing to tell */
        cJSON_Delete(ev);
        return LJ_OK;
    }
    line = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    if (line == NULL)
        return LJ_ERR_NOMEM;
    rc = send_line(ui, line);
    if (slot < K_COUNT) {
        lj_secret_free(ui->kept[slot]);
        ui->kept[slot] = line;
    } else {
        free(line);
    }
    return rc;
}

static cJSON *
event(const char *type)
{
    cJSON *o = cJSON_CreateObject();

    if (o != NULL && cJSON_AddStringToObject(o, "type", type) == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Add a string member when v is non-empty; false only on ENOMEM. */
static bool
opt_str(cJSON *o, const char *name, const char *v)
{
    return v == NULL || v[0] == '\0' || cJSON_AddStringToObject(o, name, v) != NULL;
}

static cJSON *
fail_null(cJSON *o)
{
    cJSON_Delete(o);
    return NULL;
}

enum lj_rc
lj_ui_hello(struct lj_ui *ui, const struct lj_identity *id)
{
    cJSON *ev = event("hello"), *dev;

    if (ev == NULL || cJSON_AddNumberToObject(ev, "protocol", LJ_UI_PROTOCOL_VERSION) == NULL ||
        cJSON_AddStringToObject(ev, "agent", "linkjoin " LJ_VERSION) == NULL ||
        (dev = cJSON_AddObjectToObject(ev, "device")) == NULL ||
        cJSON_AddStringToObject(dev, "manufacturer", id->manufacturer) == NULL ||
        cJSON_AddStringToObject(dev, "model", id->model) == NULL ||
        cJSON_AddStringToObject(dev, "serial", id->serial) == NULL ||
        cJSON_AddStringToObject(dev, "os_name", id->os_name) == NULL ||
        cJSON_AddStringToObject(dev, "os_version", id->os_version) == NULL)
        ev = fail_null(ev);
    snprintf(ui->manufacturer, sizeof(ui->manufacturer), "%s", id->manufacturer);
    snprintf(ui->model, sizeof(ui->model), "%s", id->model);
    snprintf(ui->serial, sizeof(ui->serial), "%s", id->serial);
    return emit(ui, ev, K_HELLO);
}

enum lj_rc
lj_ui_progress(struct lj_ui *ui, const char *phase, const char *step, int percent)
{
    cJSON *ev = event("progress");

    if (percent < 0)
        percent = 0;
    if (percent > 100)
        percent = 100;
    if (ev == NULL || cJSON_AddStringToObject(ev, "phase", phase) == NULL ||
        !opt_str(ev, "step", step) || cJSON_AddNumberToObject(ev, "percent", percent) == NULL)
        ev = fail_null(ev);
    return emit(ui, ev, K_PROGRESS);
}

enum lj_rc
lj_ui_prompt_device_code(struct lj_ui *ui, const char *user_code, const char *verification_uri,
                         int64_t expires_at)
{
    cJSON *ev = event("prompt");
    char t[32];

    int64_t left = expires_at - lj_clock_now();

    lj_clock_format(expires_at, t, sizeof(t));
    /* expires_in: a countdown that does not depend on the UI's clock agreeing */
    if (ev == NULL || cJSON_AddStringToObject(ev, "kind", "device_code") == NULL ||
        cJSON_AddStringToObject(ev, "user_code", user_code) == NULL ||
        cJSON_AddStringToObject(ev, "verification_uri", verification_uri) == NULL ||
        cJSON_AddStringToObject(ev, "expires_at", t) == NULL ||
        cJSON_AddNumberToObject(ev, "expires_in", (double)(left > 0 ? left : 0)) == NULL)
        ev = fail_null(ev);
    return emit(ui, ev, K_PROMPT);
}

enum lj_rc
lj_ui_prompt_credentials(struct lj_ui *ui, const char *username, const char *message)
{
    cJSON *ev = event("prompt");

    if (ev == NULL || cJSON_AddStringToObject(ev, "kind", "credentials") == NULL ||
        !opt_str(ev, "username", username) || !opt_str(ev, "message", message))
        ev = fail_null(ev);
    return emit(ui, ev, K_PROMPT);
}

enum lj_rc
lj_ui_prompt_browser(struct lj_ui *ui, const char *authorize_url, const char *redirect_uri)
{
    cJSON *ev = event("prompt");

    if (ev == NULL || cJSON_AddStringToObject(ev, "kind", "browser") == NULL ||
        cJSON_AddStringToObject(ev, "authorize_url", authorize_url) == NULL ||
        !opt_str(ev, "redirect_uri", redirect_uri))
        ev = fail_null(ev);
    return emit(ui, ev, K_PROMPT);
}

enum lj_rc
lj_ui_result(struct lj_ui *ui, const struct lj_ui_result *res)
{
    cJSON *ev = event("result"), *srv;
    const struct lj_error_record *e = res->error;
    bool ok;

    char now[32], st[32];

    if (ev == NULL)
        return LJ_ERR_NOMEM;
    lj_clock_format(lj_clock_now(), now, sizeof(now));
    ok = cJSON_AddStringToObject(ev, "status", lj_ui_status_name(res->status)) != NULL &&
         opt_str(ev, "device_id", res->device_id) && opt_str(ev, "tenant_name", res->tenant_name) &&
         opt_str(ev, "upn", res->upn);
    /*
     * What a help desk asks first, on every result: which device (the
     * serial always, "" when the firmware has none), when (our clock, UTC).
     */
    if (ok) {
        cJSON *dev = cJSON_AddObjectToObject(ev, "device");

        ok = dev != NULL && cJSON_AddStringToObject(dev, "serial", ui->serial) != NULL &&
             opt_str(dev, "manufacturer", ui->manufacturer) && opt_str(dev, "model", ui->model) &&
             cJSON_AddStringToObject(ev, "time", now) != NULL;
    }
    if (ok && (res->status == LJ_UI_JOINED || res->status == LJ_UI_JOINED_MDM_PENDING))
        ok = cJSON_AddBoolToObject(ev, "setup_complete", res->setup_complete) != NULL;
    if (ok &&
        (res->status == LJ_UI_FAILED ||
         (e != NULL && (res->status == LJ_UI_JOINED || res->status == LJ_UI_JOINED_MDM_PENDING)))) {
        ok = opt_str(ev, "phase", e ? e->phase : NULL) &&
             opt_str(ev, "reason", e ? e->reason : NULL) &&
             opt_str(ev, "code", e ? e->code : NULL) && opt_str(ev, "fix_by", res->fix_by) &&
             opt_str(ev, "message", res->message) &&
             opt_str(ev, "admin_action", res->admin_action) &&
             cJSON_AddBoolToObject(ev, "retryable", res->retryable) != NULL;
        if (ok && e != NULL &&
            (e->http_status != 0 || e->request_id[0] || e->trace_id[0] || e->correlation_id[0] ||
             e->error_type[0])) {
            srv = cJSON_AddObjectToObject(ev, "server");
            ok = srv != NULL &&
                 cJSON_AddNumberToObject(srv, "http_status", (double)e->http_status) &&
                 opt_str(srv, "error_type", e->error_type) &&
                 opt_str(srv, "error_code", e->error_code) && opt_str(srv, "message", e->message) &&
                 opt_str(srv, "request_id", e->request_id) &&
                 opt_str(srv, "trace_id", e->trace_id) &&
                 opt_str(srv, "correlation_id", e->correlation_id);
            /* one time format: ISO 8601 UTC; the server's own text kept as time_raw */
            if (ok && e->server_time[0] != '\0') {
                if (lj_ui_time_iso(e->server_time, st, sizeof(st)))
                    ok = opt_str(srv, "time", st) && opt_str(srv, "time_raw", e->server_time);
                else
                    ok = opt_str(srv, "time_raw", e->server_time);
            }
        }
    } else if (ok) {
        ok = opt_str(ev, "message", res->message);
    }
    if (ok && res->mdm_state != NULL) {
        cJSON *mdm = cJSON_AddObjectToObject(ev, "mdm");

        ok = mdm != NULL && opt_str(mdm, "state", res->mdm_state) &&
             opt_str(mdm, "server_url", res->mdm_server_url) &&
             opt_str(mdm, "cert_thumbprint", res->mdm_cert_thumbprint);
    }
    if (!ok)
        ev = fail_null(ev);
    lj_secret_free(ui->kept[K_PROMPT]); /* the prompt is over */
    ui->kept[K_PROMPT] = NULL;
    return emit(ui, ev, K_RESULT);
}

enum lj_rc
lj_ui_error(struct lj_ui *ui, const char *error, const char *message)
{
    cJSON *ev = event("error");

    if (ev == NULL || cJSON_AddStringToObject(ev, "error", error) == NULL ||
        cJSON_AddStringToObject(ev, "message", message) == NULL)
        ev = fail_null(ev);
    return emit(ui, ev, K_COUNT);
}

/* ---- receiving ---- */

void
lj_ui_msg_clear(struct lj_ui_msg *msg)
{
    if (msg == NULL)
        return;
    free(msg->username);
    lj_secret_free(msg->password);
    lj_secret_free(msg->code);
    free(msg->state);
    memset(msg, 0, sizeof(*msg));
}

static void
wipe_tree(cJSON *item)
{
    for (; item != NULL; item = item->next) {
        if (item->valuestring != NULL)
            lj_secure_zero(item->valuestring, strlen(item->valuestring));
        if (item->child != NULL)
            wipe_tree(item->child);
    }
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
    if (root != NULL) {
        wipe_tree(root);
        cJSON_Delete(root);
    }
    return rc;
}

static enum lj_rc
resend_state(struct lj_ui *ui)
{
    enum lj_rc rc = LJ_OK;

    for (int i = 0; i < K_COUNT && rc == LJ_OK; i++) {
        if (ui->kept[i] != NULL)
            rc = send_line(ui, ui->kept[i]);
    }
    return rc;
}

void
lj_ui_new_attempt(struct lj_ui *ui)
{
    if (ui == NULL)
        return;
    lj_secret_free(ui->kept[K_PROMPT]);
    lj_secret_free(ui->kept[K_RESULT]);
    ui->kept[K_PROMPT] = NULL;
    ui->kept[K_RESULT] = NULL;
}

bool
lj_ui_can_receive(const struct lj_ui *ui)
{
    return ui != NULL && ui->kind != LJ_UI_TTY && lj_ui_chan_can_read(ui->chan);
}

enum lj_rc
lj_ui_poll(struct lj_ui *ui, int timeout_ms, struct lj_ui_msg *msg)
{
    struct timespec t0, now;
    enum lj_rc rc;
    int left = timeout_ms;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        enum lj_ui_input what = LJ_UI_IN_NONE;
        char *line = NULL;
        size_t len = 0;
        char err[32], problem[200];

        rc = lj_ui_chan_poll(ui->chan, left, &what, &line, &len);
        if (rc != LJ_OK)
            return rc;
        switch (what) {
        case LJ_UI_IN_LINE:
            rc = lj_ui_parse_msg(line, len, msg, err, sizeof(err), problem, sizeof(problem));
            lj_secure_zero(line, len);
            free(line);
            if (rc == LJ_OK) {
                lj_log(LJ_LOG_INFO, MOD, "event=message type=%d", (int)msg->type);
                return LJ_OK;
            }
            if (rc == LJ_ERR_NOMEM)
                return rc;
            lj_log(LJ_LOG_WARN, MOD, "event=bad_message error=%s", err);
            rc = lj_ui_error(ui, err, problem);
            break;
        case LJ_UI_IN_OVERSIZED:
            lj_log(LJ_LOG_WARN, MOD, "event=bad_message error=line_too_long");
            snprintf(problem, sizeof(problem), "line longer than %d bytes (discarded)",
                     LJ_UI_MAX_LINE);
            rc = lj_ui_error(ui, "line_too_long", problem);
            break;
        case LJ_UI_IN_CONNECTED: rc = resend_state(ui); break;
        default: break;
        }
        if (rc != LJ_OK)
            return rc;
        clock_gettime(CLOCK_MONOTONIC, &now);
        left = timeout_ms -
               (int)((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0 || what == LJ_UI_IN_NONE)
            return LJ_ERR_TIMEOUT;
    }
}

/* ---- times ---- */

/*
 * The server time forms seen: DRS ErrorResponse "Time" (MM-DD-YYYY
 * H:MM:SSZ, .NET invariant), Entra's "Timestamp: 2026-12-03 08:04:22Z"
 * and JSON "timestamp" (RFC 3339, fraction optional), and the HTTP Date
 * header (IMF-fixdate, RFC 9110 5.6.7) that fail.c keeps when a service
 * gave no better one.
 */
bool
lj_ui_time_iso(const char *raw, char *out, size_t osz)
{
    static const char *const forms[] = {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
                                        "%m-%d-%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S",
                                        "%a, %d %b %Y %H:%M:%S"};
    struct tm tm;
    const char *end;

    if (raw == NULL || out == NULL || osz < 21)
        return false;
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        memset(&tm, 0, sizeof(tm));
        end = strptime(raw, forms[i], &tm);
        if (end == NULL)
            continue;
        if (*end == '.' || *end == ',')
            for (end++; *end >= '0' && *end <= '9'; end++)
                ;
        if (strcmp(end, "Z") != 0 && strcmp(end, "z") != 0 && strcmp(end, " GMT") != 0 &&
            strcmp(end, " UTC") != 0 && strcmp(end, "") != 0 && strcmp(end, "+00:00") != 0)
            continue;
        lj_clock_format((int64_t)timegm(&tm), out, osz);
        return true;
    }
    return false;
}

/* "2026-12-03 09:04:04+01:00": t in the device's local time zone. */
static void
local_time(int64_t t, char *out, size_t osz)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char z[8];

    if (localtime_r(&tt, &tm) == NULL || strftime(out, osz, "%Y-%m-%d %H:%M:%S", &tm) == 0 ||
        strftime(z, sizeof(z), "%z", &tm) != 5) {
        snprintf(out, osz, "?");
        return;
    }
    snprintf(out + strlen(out), osz - strlen(out), "%.3s:%.2s", z, z + 3);
}

/* "2026-12-03T08:04:04Z (local time 2026-12-03 09:04:04+01:00)" from an ISO time. */
static void
put_time(FILE *f, const char *label, const char *iso)
{
    int64_t t;
    char loc[40];

    if (iso == NULL || iso[0] == '\0')
        return;
    fprintf(f, "  %-16s", label);
    if (!lj_clock_parse(iso, &t)) {
        for (; *iso != '\0'; iso++)
            fputc((*iso >= 0x20 && *iso < 0x7f) ? *iso : '?', f);
        fputc('\n', f);
        return;
    }
    local_time(t, loc, sizeof(loc));
    fprintf(f, "%s (local time %s)\n", iso, loc);
}

/* ---- tty rendering ---- */

static const char *
str_or(const cJSON *o, const char *name, const char *dflt)
{
    const char *v = NULL;

    if (lj_json_get_string(o, name, &v) != LJ_OK || v[0] == '\0')
        return dflt;
    return v;
}

static const char *
who_fixes(const char *fix_by)
{
    if (strcmp(fix_by, "user") == 0)
        return "you";
    if (strcmp(fix_by, "admin") == 0)
        return "your IT admin";
    if (strcmp(fix_by, "retry") == 0)
        return "nobody needs to change anything; start again";
    if (strcmp(fix_by, "hardware") == 0)
        return "restart the device first; if that does not help, a technician";
    if (strcmp(fix_by, "support") == 0)
        return "support (give your IT help desk the details below)";
    return fix_by;
}

/* Printable ASCII copy for the console (no escape sequences from servers). */
static void
put_clean(FILE *f, const char *s)
{
    for (; *s != '\0'; s++)
        fputc((*s >= 0x20 && *s < 0x7f) ? *s : '?', f);
}

static void
put_field(FILE *f, const char *label, const char *v)
{
    if (v == NULL || v[0] == '\0')
        return;
    fprintf(f, "  %-16s", label);
    put_clean(f, v);
    fputc('\n', f);
}

static void render_failure_details(FILE *f, const cJSON *ev);

static void
render_result(FILE *f, const cJSON *ev)
{
    const char *status = str_or(ev, "status", "");
    const char *tenant = str_or(ev, "tenant_name", NULL);
    const char *dev = str_or(ev, "device_id", NULL);
    const char *mdm_state = NULL;
    const cJSON *mdm = NULL;

    if (lj_json_get_object(ev, "mdm", &mdm) == LJ_OK)
        mdm_state = str_or(mdm, "state", NULL);
    if (strcmp(status, "joined") == 0 || strcmp(status, "joined_mdm_pending") == 0) {
        bool complete = true;

        /* joined but not managed is not "Done" (Intune is part of a Link's setup) */
        lj_json_get_bool(ev, "setup_complete", &complete);
        fputs(complete ? "\nDone: this device is joined" : "\nAlmost done: this device is joined",
              f);
        if (tenant != NULL) {
            fputs(" to ", f);
            put_clean(f, tenant);
        }
        if (complete)
            fputs(".\n", f);
        else if (strcmp(status, "joined_mdm_pending") == 0)
            fputs("; its device management (Intune) setup will finish by itself.\n", f);
        else
            fputs(", but your IT admin needs to finish setting it up.\n", f);
        put_field(f, "Signed in as:", str_or(ev, "upn", NULL));
        put_field(f, "Device ID:", dev);
        if (mdm_state != NULL && strcmp(mdm_state, "enrolled") == 0) {
            /* the server URL and certificate belong in `linkjoin status` */
            fputs("Device management (Intune): enrolled.\n", f);
        }
        if (strcmp(status, "joined_mdm_pending") == 0) {
            fputs("Device management (Intune) enrollment is not finished yet; it will be "
                  "retried automatically.\n",
                  f);
            if (str_or(ev, "reason", NULL) != NULL)
                render_failure_details(f, ev);
        } else if (str_or(ev, "reason", NULL) != NULL) {
            /*
             * Joined, but Intune refused (or answered nonsense).  The mdm_*
             * messages of the table already begin "The device joined, but".
             */
            fputs("\nDevice management (Intune) enrollment did not succeed.\n", f);
            put_clean(f, str_or(ev, "message", "no reason was given."));
            fputc('\n', f);
            render_failure_details(f, ev);
        }
        return;
    }
    if (strcmp(status, "already_joined") == 0) {
        fputs("\nThis device is already joined; nothing to do.\n", f);
        put_field(f, "Device ID:", dev);
        return;
    }
    if (strcmp(status, "cancelled") == 0) {
        fputs("\nCancelled. You can start again at any time.\n", f);
        return;
    }
    fputs("\nSetup could not finish: ", f);
    put_clean(f, str_or(ev, "message", "an unexpected error occurred."));
    fputc('\n', f);
    render_failure_details(f, ev);
}

/* Error code, who fixes it, retry, and the admin block of a result with a reason. */
static void
render_failure_details(FILE *f, const cJSON *ev)
{
    const cJSON *srv = NULL;
    bool retry = false;

    /* the one "Error code" line: the agent's code; the slug is for the admin */
    put_field(f, "Error code:", str_or(ev, "code", NULL));
    /* A pending enrollment is retried by the agent itself: nobody acts,
     * unless a policy holds it (a Conditional Access block on the Intune
     * token), which the admin changes and the next retry then passes. */
    if (strcmp(str_or(ev, "status", ""), "joined_mdm_pending") == 0) {
        const char *fb = str_or(ev, "fix_by", "retry");

        if (strcmp(fb, "retry") == 0)
            put_field(f, "Who can fix it:", "nobody needs to act; the device retries by itself");
        else if (strcmp(fb, "admin") == 0)
            put_field(f, "Who can fix it:",
                      "your IT admin; the device then finishes by itself when it retries");
        else
            put_field(f, "Who can fix it:", who_fixes(fb));
    } else {
        const char *fix_by = str_or(ev, "fix_by", "support");

        put_field(f, "Who can fix it:", who_fixes(fix_by));
        lj_json_get_bool(ev, "retryable", &retry);
        put_field(f, "Try again:",
                  retry                         ? "yes, trying again may help"
                  : strcmp(fix_by, "user") == 0 ? "yes, as soon as you have done what it says above"
                                                : "only after the cause above is fixed");
    }
    /* support facts: which device, who, when */
    {
        const cJSON *d = NULL;
        const char *sn = NULL;

        if (lj_json_get_object(ev, "device", &d) == LJ_OK)
            sn = str_or(d, "serial", "unknown (the firmware has none)");
        put_field(f, "Serial number:", sn);
        if (strcmp(str_or(ev, "status", ""), "failed") == 0) /* else shown above */
            put_field(f, "Signed in as:", str_or(ev, "upn", NULL));
        put_time(f, "Time:", str_or(ev, "time", NULL));
    }

    fputs("\nFor your IT admin:\n", f);
    put_field(f, "Action:", str_or(ev, "admin_action", NULL));
    put_field(f, "Reason:", str_or(ev, "reason", NULL));
    put_field(f, "Phase:", str_or(ev, "phase", NULL));
    if (lj_json_get_object(ev, "server", &srv) == LJ_OK) {
        long long st = 0;
        char num[24];
        if (lj_json_get_int(srv, "http_status", &st) == LJ_OK && st != 0) {
            snprintf(num, sizeof(num), "%lld", st);
            put_field(f, "HTTP status:", num);
        }
        put_field(f, "Server error:", str_or(srv, "error_type", NULL));
        put_field(f, "Server code:", str_or(srv, "error_code", NULL));
        put_field(f, "Server message:", str_or(srv, "message", NULL));
        put_field(f, "Request ID:", str_or(srv, "request_id", NULL));
        put_field(f, "Trace ID:", str_or(srv, "trace_id", NULL));
        put_field(f, "Correlation ID:", str_or(srv, "correlation_id", NULL));
        if (str_or(srv, "time", NULL) != NULL)
            put_time(f, "Server time:", str_or(srv, "time", NULL));
        else
            put_field(f, "Server time:", str_or(srv, "time_raw", NULL));
    }
}

char *
lj_ui_render_tty(const char *json_line, size_t len)
{
    cJSON *ev = NULL;
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = NULL;
    const char *type;
    bool ok = true;

    if (lj_json_parse(json_line, len, 3, &ev) != LJ_OK)
        return NULL;
    type = str_or(ev, "type", "");
    f = open_memstream(&text, &tlen);
    if (f == NULL) {
        cJSON_Delete(ev);
        return NULL;
    }
    if (strcmp(type, "hello") == 0) {
        const cJSON *d = NULL;
        const char *mo = NULL, *sn = NULL;

        /* the product as the device names itself, and the serial whenever it is known */
        if (lj_json_get_object(ev, "device", &d) == LJ_OK) {
            mo = str_or(d, "model", NULL);
            sn = str_or(d, "serial", NULL);
        }
        fputs("Setting up your ", f);
        put_clean(f, mo ? mo : "device");
        if (sn != NULL) {
            fputs(" (serial number ", f);
            put_clean(f, sn);
            fputc(')', f);
        }
        fputc('\n', f);
    } else if (strcmp(type, "progress") == 0) {
        long long pct = 0;
        lj_json_get_int(ev, "percent", &pct);
        fprintf(f, "[%3lld%%] ", pct);
        put_clean(f, str_or(ev, "step", str_or(ev, "phase", "")));
        fputc('\n', f);
    } else if (strcmp(type, "prompt") == 0) {
        const char *kind = str_or(ev, "kind", "");
        if (strcmp(kind, "device_code") == 0) {
            fputs("\nTo sign in: on your phone or computer, go to ", f);
            put_clean(f, str_or(ev, "verification_uri", "?"));
            fputs(" and enter the code ", f);
            put_clean(f, str_or(ev, "user_code", "?"));
            {
                long long in = -1;
                int64_t t;
                char loc[40];

                fputs("\n(The code ", f);
                if (lj_json_get_int(ev, "expires_in", &in) == LJ_OK && in >= 60)
                    fprintf(f, "is valid for %lld minutes, ", in / 60);
                if (lj_clock_parse(str_or(ev, "expires_at", ""), &t)) {
                    local_time(t, loc, sizeof(loc));
                    fprintf(f, "until %s local time.)\n\n", loc);
                } else {
                    fputs("expires soon.)\n\n", f);
                }
            }
        } else if (strcmp(kind, "credentials") == 0) {
            fputs("\nSign in with your work or school account", f);
            if (str_or(ev, "username", NULL) != NULL) {
                fputs(" (", f);
                put_clean(f, str_or(ev, "username", ""));
                fputc(')', f);
            }
            fputs(".\n", f);
            if (str_or(ev, "message", NULL) != NULL) {
                put_clean(f, str_or(ev, "message", ""));
                fputc('\n', f);
            }
        } else if (strcmp(kind, "browser") == 0) {
            fputs("\nTo sign in, open this address in a web browser:\n  ", f);
            put_clean(f, str_or(ev, "authorize_url", "?"));
            fputs("\n\n", f);
        } else {
            ok = false;
        }
    } else if (strcmp(type, "result") == 0) {
        render_result(f, ev);
    } else if (strcmp(type, "error") == 0) {
        fputs("(ignored a message from the setup screen: ", f);
        put_clean(f, str_or(ev, "message", "?"));
        fputs(")\n", f);
    } else {
        ok = false;
    }
    fclose(f);
    cJSON_Delete(ev);
    if (!ok) {
        free(text);
        return NULL;
    }
    return text;
}
