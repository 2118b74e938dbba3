/*
 * ui_proto.c — JSON Lines events to and from the OOBE UI (protocol 1 and 2).
 *
 * Design note: every event is built once as JSON, in English, with the
 * catalog ids of its texts (message_id + args, agent/ui/messages.h).  What
 * is sent depends on the one connected client: a client that said hello
 * with protocol 2 gets its texts re-rendered in its locale and the v2-only
 * event types (notice, prompt_closed, leaving); a v1 client gets the
 * English events; the tty renders the same JSON as text in the configured
 * locale (ui_tty.c, lj_ui_render_tty), so the channels cannot disagree
 * about what an event says.  The hello, the open prompt, the last progress
 * and the last result are kept (as JSON trees) and replayed in that order
 * to a client that connects or says hello.
 */
#include "agent/ui/ui_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/core/json.h"
#include "agent/core/version.h"
#include "agent/ui/messages.h"
#include "platform/clock.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "platform/ui_chan.h"

#define MOD "ui"

/* Replay order on (re)connect and hello. */
enum kept { K_HELLO, K_PROMPT, K_PROGRESS, K_RESULT, K_COUNT };

struct lj_ui {
    enum lj_ui_kind kind;
    struct lj_ui_chan *chan;
    cJSON *kept[K_COUNT];
    int proto;              /* the connected client's protocol (1 until its hello) */
    char locale[8];         /* its catalog locale */
    char default_locale[8]; /* the tty's (config locale); en for JSON clients */
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

static void
client_reset(struct lj_ui *ui)
{
    ui->proto = LJ_UI_PROTOCOL_VERSION;
    snprintf(ui->locale, sizeof(ui->locale), "%s", ui->default_locale);
}

static struct lj_ui *
ui_new(enum lj_ui_kind kind)
{
    struct lj_ui *ui = calloc(1, sizeof(*ui));

    if (ui == NULL)
        return NULL;
    ui->kind = kind;
    snprintf(ui->default_locale, sizeof(ui->default_locale), "en");
    client_reset(ui);
    return ui;
}

enum lj_rc
lj_ui_open_fds(enum lj_ui_kind kind, int in_fd, int out_fd, struct lj_ui **out)
{
    struct lj_ui *ui = ui_new(kind);
    enum lj_rc rc;

    if (ui == NULL)
        return LJ_ERR_NOMEM;
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

    if (cfg->ui != LJ_UI_SOCKET) {
        rc = lj_ui_open_fds(cfg->ui, 0, 1, out);
        if (rc == LJ_OK)
            lj_ui_set_locale(*out, cfg->locale);
        return rc;
    }
    ui = ui_new(LJ_UI_SOCKET);
    if (ui == NULL)
        return LJ_ERR_NOMEM;
    rc = lj_ui_chan_listen_group(cfg->ui_socket, cfg->ui_group, &ui->chan);
    if (rc != LJ_OK) {
        free(ui);
        return rc;
    }
    lj_ui_set_locale(ui, cfg->locale);
    *out = ui;
    return LJ_OK;
}

void
lj_ui_set_locale(struct lj_ui *ui, const char *tag)
{
    /* a JSON client (protocol 1 or before its hello) always gets English */
    if (ui == NULL || ui->kind != LJ_UI_TTY)
        return;
    snprintf(ui->default_locale, sizeof(ui->default_locale), "%s", lj_msg_locale(tag));
    if (ui->proto < 2)
        snprintf(ui->locale, sizeof(ui->locale), "%s", ui->default_locale);
}

/* Free a parse or event tree, wiping its strings (passwords, codes). */
static void
tree_free(cJSON *t)
{
    lj_json_wipe_delete(t);
}

static void
kept_drop(struct lj_ui *ui, int slot)
{
    tree_free(ui->kept[slot]);
    ui->kept[slot] = NULL;
}

void
lj_ui_free(struct lj_ui *ui)
{
    if (ui == NULL)
        return;
    for (int i = 0; i < K_COUNT; i++)
        kept_drop(ui, i);
    lj_ui_chan_close(ui->chan);
    free(ui);
}

/* ---- sending ---- */

/* The member that carries the rendered text of message_id. */
static const char *
text_member(const cJSON *ev)
{
    static const char *const names[] = {"step", "text", "message"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (cJSON_HasObjectItem(ev, names[i]))
            return names[i];
    return NULL;
}

/* Replace ev's text_name with id (from id_name) + args rendered in locale. */
static void
relabel(cJSON *ev, const char *id_name, const char *args_name, const char *text_name,
        const char *locale)
{
    const char *id = NULL, *t;
    char *s;
    cJSON *v;

    if (text_name == NULL || lj_json_get_string(ev, id_name, &id) != LJ_OK)
        return;
    t = lj_msg_translated(locale, id);
    if (t == NULL)
        return; /* English stays as the agent wrote it */
    s = lj_msg_format_in(locale, t, cJSON_GetObjectItemCaseSensitive(ev, args_name));
    if (s == NULL)
        return;
    v = cJSON_CreateString(s);
    free(s);
    if (v != NULL)
        cJSON_ReplaceItemInObjectCaseSensitive(ev, text_name, v);
}

/* ev as this client should get it: protocol and locale of a v2 hello, texts translated. */
static char *
client_line(const struct lj_ui *ui, const cJSON *ev)
{
    const char *type = NULL;
    cJSON *c;
    char *line;

    lj_json_get_string(ev, "type", &type);
    if (ui->proto < 2 && strcmp(ui->locale, "en") == 0)
        return cJSON_PrintUnformatted(ev);
    c = cJSON_Duplicate(ev, 1);
    if (c == NULL)
        return NULL;
    if (type != NULL && strcmp(type, "hello") == 0 && ui->proto >= 2) {
        cJSON_ReplaceItemInObjectCaseSensitive(c, "protocol", cJSON_CreateNumber(ui->proto));
        cJSON_AddStringToObject(c, "locale", ui->locale);
    }
    if (strcmp(ui->locale, "en") != 0) {
        relabel(c, "message_id", "args", text_member(c), ui->locale);
        relabel(c, "admin_action_id", "admin_args", "admin_action", ui->locale);
    }
    line = cJSON_PrintUnformatted(c);
    tree_free(c);
    return line;
}

/* Send one event to the connected client (JSON) or the console (tty text). */
static enum lj_rc
deliver(struct lj_ui *ui, const cJSON *ev)
{
    enum lj_rc rc;
    char *line, *text;

    if (ui->kind != LJ_UI_TTY) {
        line = client_line(ui, ev);
        if (line == NULL)
            return LJ_ERR_NOMEM;
        rc = lj_ui_chan_write_line(ui->chan, line, strlen(line));
        lj_secret_free(line);
        return rc;
    }
    line = cJSON_PrintUnformatted(ev);
    if (line == NULL)
        return LJ_ERR_NOMEM;
    text = lj_ui_render_tty(line, strlen(line), ui->locale);
    lj_secret_free(line);
    if (text == NULL)
        return LJ_ERR_NOMEM;
    rc = lj_ui_chan_write(ui->chan, text, strlen(text));
    free(text);
    return rc;
}

/* Send ev, remember it under slot (K_COUNT = don't keep).  Takes ev. */
static enum lj_rc
emit(struct lj_ui *ui, cJSON *ev, int slot)
{
    enum lj_rc rc;

    if (ev == NULL)
        return LJ_ERR_NOMEM;
    if (ui == NULL) { /* a command without a UI (token, prt-renew): nothing to tell */
        cJSON_Delete(ev);
        return LJ_OK;
    }
    rc = deliver(ui, ev);
    if (slot < K_COUNT) {
        kept_drop(ui, slot);
        ui->kept[slot] = ev;
    } else {
        tree_free(ev);
    }
    return rc;
}

/* A v2-only event: to a client that said hello 2 (and, with tty_too, the tty).  Takes ev. */
static enum lj_rc
emit_v2(struct lj_ui *ui, cJSON *ev, bool tty_too)
{
    if (ev == NULL)
        return LJ_ERR_NOMEM;
    if (ui == NULL || (ui->kind == LJ_UI_TTY ? !tty_too : ui->proto < 2)) {
        cJSON_Delete(ev);
        return LJ_OK;
    }
    return emit(ui, ev, K_COUNT);
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

/*
 * message_id, args (a copy of args, or {}) and the English text of id under
 * text_name (NULL: the caller wrote the text itself).
 */
static bool
add_text(cJSON *ev, const char *text_name, const char *id, const cJSON *args)
{
    cJSON *a = args != NULL ? cJSON_Duplicate(args, 1) : cJSON_CreateObject();
    char *text = NULL;
    bool ok;

    if (a == NULL)
        return false;
    if (text_name != NULL && (text = lj_msg_render("en", id, a)) == NULL) {
        cJSON_Delete(a);
        return false;
    }
    ok = (text_name == NULL || cJSON_AddStringToObject(ev, text_name, text) != NULL) &&
         cJSON_AddStringToObject(ev, "message_id", id) != NULL;
    free(text);
    if (!ok || !cJSON_AddItemToObject(ev, "args", a)) {
        cJSON_Delete(a);
        return false;
    }
    return true;
}

enum lj_rc
lj_ui_hello(struct lj_ui *ui, const struct lj_identity *id)
{
    cJSON *ev = event("hello"), *dev;

    if (ui == NULL) {
        cJSON_Delete(ev);
        return LJ_OK;
    }
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
lj_ui_progress(struct lj_ui *ui, const char *step_id, int percent)
{
    const struct lj_step_info *st = lj_step_get(step_id);
    cJSON *ev;

    if (st == NULL) {
        lj_log(LJ_LOG_ERROR, MOD, "event=unknown_step id=%s", step_id ? step_id : "(null)");
        return LJ_ERR_INVAL;
    }
    percent = percent < 0 ? 0 : percent > 100 ? 100 : percent;
    ev = event("progress");
    /* v1's members first: phase, step, percent */
    if (ev == NULL || cJSON_AddStringToObject(ev, "phase", st->phase) == NULL ||
        cJSON_AddStringToObject(ev, "step", lj_msg_en(st->id)) == NULL ||
        cJSON_AddNumberToObject(ev, "percent", percent) == NULL ||
        cJSON_AddStringToObject(ev, "step_id", st->id + strlen("step.")) == NULL ||
        !add_text(ev, NULL, st->id, NULL) ||
        cJSON_AddNumberToObject(ev, "index", st->index) == NULL ||
        cJSON_AddNumberToObject(ev, "count", lj_step_count()) == NULL ||
        cJSON_AddStringToObject(ev, "waiting_for", st->waiting_for) == NULL)
        ev = fail_null(ev);
    return emit(ui, ev, K_PROGRESS);
}

enum lj_rc
lj_ui_prompt_device_code(struct lj_ui *ui, const struct lj_ui_device_code *dc)
{
    cJSON *ev = event("prompt"), *args = cJSON_CreateObject();
    int64_t left = dc->expires_at - lj_clock_now();
    char t[32];

    lj_clock_format(dc->expires_at, t, sizeof(t));
    /*
     * expires_in: a countdown that does not depend on the UI's clock
     * agreeing; interval, verification_uri_complete and the server's own
     * message as RFC 8628 3.2 names them.
     */
    if (ev == NULL || args == NULL || cJSON_AddStringToObject(ev, "kind", "device_code") == NULL ||
        cJSON_AddStringToObject(ev, "user_code", dc->user_code) == NULL ||
        cJSON_AddStringToObject(ev, "verification_uri", dc->verification_uri) == NULL ||
        cJSON_AddStringToObject(ev, "expires_at", t) == NULL ||
        cJSON_AddNumberToObject(ev, "expires_in", (double)(left > 0 ? left : 0)) == NULL ||
        cJSON_AddNumberToObject(ev, "interval", (double)dc->interval) == NULL ||
        !opt_str(ev, "verification_uri_complete", dc->verification_uri_complete) ||
        !opt_str(ev, "server_message", dc->server_message) ||
        cJSON_AddStringToObject(args, "url", dc->verification_uri) == NULL ||
        cJSON_AddStringToObject(args, "code", dc->user_code) == NULL ||
        !add_text(ev, "text", "prompt.device_code.instructions", args))
        ev = fail_null(ev);
    cJSON_Delete(args);
    return emit(ui, ev, K_PROMPT);
}

enum lj_rc
lj_ui_prompt_credentials(struct lj_ui *ui, const char *username, const char *message_id)
{
    cJSON *ev = event("prompt");

    if (ev == NULL || cJSON_AddStringToObject(ev, "kind", "credentials") == NULL ||
        !opt_str(ev, "username", username) ||
        (message_id != NULL && !add_text(ev, "message", message_id, NULL)))
        ev = fail_null(ev);
    return emit(ui, ev, K_PROMPT);
}

enum lj_rc
lj_ui_prompt_browser(struct lj_ui *ui, const char *authorize_url, const char *redirect_uri)
{
    cJSON *ev = event("prompt");

    if (ev == NULL || cJSON_AddStringToObject(ev, "kind", "browser") == NULL ||
        cJSON_AddStringToObject(ev, "authorize_url", authorize_url) == NULL ||
        !opt_str(ev, "redirect_uri", redirect_uri) ||
        !add_text(ev, "text", "prompt.browser.instructions", NULL))
        ev = fail_null(ev);
    return emit(ui, ev, K_PROMPT);
}

enum lj_rc
lj_ui_prompt_closed(struct lj_ui *ui, const char *why)
{
    const char *kind = NULL;
    cJSON *ev;

    if (ui == NULL || ui->kept[K_PROMPT] == NULL)
        return LJ_OK;
    ev = event("prompt_closed");
    lj_json_get_string(ui->kept[K_PROMPT], "kind", &kind);
    if (ev == NULL || cJSON_AddStringToObject(ev, "kind", kind != NULL ? kind : "") == NULL ||
        cJSON_AddStringToObject(ev, "why", why) == NULL)
        ev = fail_null(ev);
    /* dropped first: a client that reconnects from now on never sees it */
    kept_drop(ui, K_PROMPT);
    return emit_v2(ui, ev, false);
}

/* Placeholder values of tmpl from p, as the agent's own English expands them; NULL on ENOMEM. */
static cJSON *
params_args(const char *tmpl, const struct lj_error_params *p)
{
    cJSON *a = cJSON_CreateObject();
    char names[256], name[64], ph[68], val[512];
    const char *n = names;

    if (a == NULL || tmpl == NULL || p == NULL || !lj_msg_placeholders(tmpl, names, sizeof(names)))
        return a;
    while (*n != '\0') {
        size_t len = strcspn(n, ",");

        snprintf(name, sizeof(name), "%.*s", (int)len, n);
        snprintf(ph, sizeof(ph), "{%s}", name);
        lj_error_format(ph, p, val, sizeof(val));
        if (cJSON_AddStringToObject(a, name, val) == NULL ||
            (strcmp(name, "wait") == 0 &&
             cJSON_AddNumberToObject(a, "wait_minutes", (double)p->wait_minutes) == NULL)) {
            cJSON_Delete(a);
            return NULL;
        }
        n += len;
        if (*n == ',')
            n++;
    }
    return a;
}

/* "message" with its id and args; "admin_action" likewise (when given). */
static bool
add_msg(cJSON *ev, const char *name, const char *text, const char *id_name, const char *args_name,
        const char *id, const struct lj_error_params *p)
{
    cJSON *a;

    if (!opt_str(ev, name, text))
        return false;
    if (text == NULL || text[0] == '\0' || id == NULL)
        return true;
    a = params_args(lj_msg_en(id), p);
    if (a == NULL || cJSON_AddStringToObject(ev, id_name, id) == NULL ||
        !cJSON_AddItemToObject(ev, args_name, a)) {
        cJSON_Delete(a);
        return false;
    }
    return true;
}

/*
 * What the person can do next.  retry_now only while the agent waits for
 * `retry`; otherwise a run starts again only with the device (restart).
 */
static bool
add_next_action(cJSON *ev, const struct lj_ui_result *res, bool retry_offered)
{
    const char *fb = res->fix_by != NULL ? res->fix_by : "support";
    const char *action;
    cJSON *na;
    long seconds = -1;

    if (res->status == LJ_UI_ALREADY_JOINED ||
        (res->status == LJ_UI_JOINED && (res->error == NULL || res->setup_complete)))
        action = "none";
    else if (res->status == LJ_UI_CANCELLED)
        action = "restart_device";
    else if (res->status == LJ_UI_JOINED_MDM_PENDING && strcmp(fb, "admin") != 0) {
        action = "retry_later"; /* the mdm-retry timer */
        seconds = LJ_UI_MDM_RETRY_S;
    } else if (strcmp(fb, "admin") == 0 || strcmp(fb, "support") == 0)
        action = "contact_admin";
    else if (strcmp(fb, "hardware") == 0)
        action = "restart_device";
    else
        action = retry_offered ? "retry_now" : "restart_device";
    na = cJSON_AddObjectToObject(ev, "next_action");
    return na != NULL && cJSON_AddStringToObject(na, "action", action) != NULL &&
           (seconds < 0 || cJSON_AddNumberToObject(na, "seconds", (double)seconds) != NULL);
}

/* The facts a help desk asks for, each only when known. */
static bool
add_support(cJSON *ev, const struct lj_ui *ui, const struct lj_ui_result *res, const char *now)
{
    const struct lj_error_record *e = res->error;
    cJSON *s = cJSON_AddObjectToObject(ev, "support");

    return s != NULL && opt_str(s, "serial", ui->serial) && opt_str(s, "upn", res->upn) &&
           opt_str(s, "time", now) && opt_str(s, "code", e ? e->code : NULL) &&
           opt_str(s, "server_code", e ? e->error_code : NULL) &&
           opt_str(s, "request_id", e ? e->request_id : NULL) &&
           opt_str(s, "correlation_id", e ? e->correlation_id : NULL) &&
           opt_str(s, "device_id", res->device_id);
}

enum lj_rc
lj_ui_result(struct lj_ui *ui, const struct lj_ui_result *res)
{
    cJSON *ev = event("result"), *srv;
    const struct lj_error_record *e = res->error;
    bool ok, failure, retry_offered;
    char now[32], st[32], until[32];

    if (ev == NULL)
        return LJ_ERR_NOMEM;
    if (ui == NULL) {
        cJSON_Delete(ev);
        return LJ_OK;
    }
    lj_clock_format(lj_clock_now(), now, sizeof(now));
    failure =
        res->status == LJ_UI_FAILED ||
        (e != NULL && (res->status == LJ_UI_JOINED || res->status == LJ_UI_JOINED_MDM_PENDING));
    retry_offered = failure && res->retry_window > 0 && lj_ui_can_receive(ui);
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
    if (ok && failure) {
        ok = opt_str(ev, "phase", e ? e->phase : NULL) &&
             opt_str(ev, "reason", e ? e->reason : NULL) &&
             opt_str(ev, "code", e ? e->code : NULL) && opt_str(ev, "fix_by", res->fix_by) &&
             add_msg(ev, "message", res->message, "message_id", "args", res->message_id,
                     res->params) &&
             add_msg(ev, "admin_action", res->admin_action, "admin_action_id", "admin_args",
                     res->admin_action_id, res->params) &&
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
        ok = add_msg(ev, "message", res->message, "message_id", "args", res->message_id,
                     res->params);
    }
    if (ok && res->mdm_state != NULL) {
        cJSON *mdm = cJSON_AddObjectToObject(ev, "mdm");

        ok = mdm != NULL && opt_str(mdm, "state", res->mdm_state) &&
             opt_str(mdm, "server_url", res->mdm_server_url) &&
             opt_str(mdm, "cert_thumbprint", res->mdm_cert_thumbprint);
    }
    ok = ok && add_next_action(ev, res, retry_offered);
    if (ok && retry_offered) {
        lj_clock_format(lj_clock_now() + res->retry_window, until, sizeof(until));
        ok = cJSON_AddStringToObject(ev, "retry_until", until) != NULL;
    }
    ok = ok && add_support(ev, ui, res, now);
    if (!ok)
        ev = fail_null(ev);
    /* the prompt is over (normally closed already, when it was answered) */
    lj_ui_prompt_closed(ui, "cancelled");
    return emit(ui, ev, K_RESULT);
}

enum lj_rc
lj_ui_notice(struct lj_ui *ui, const char *name, long seconds, const char *v1_phase, int v1_percent)
{
    cJSON *ev, *args = cJSON_CreateObject();
    char id[64];
    bool v1 = ui != NULL && (ui->kind == LJ_UI_TTY || ui->proto < 2);
    enum lj_rc rc;

    snprintf(id, sizeof(id), "notice.%s", name);
    if (args == NULL ||
        (seconds >= 0 && cJSON_AddNumberToObject(args, "seconds", (double)seconds) == NULL)) {
        cJSON_Delete(args);
        return LJ_ERR_NOMEM;
    }
    if (v1) {
        /* as v1 always had it: a progress event with the text as its step */
        if (v1_phase == NULL) {
            cJSON_Delete(args);
            return LJ_OK;
        }
        ev = event("progress");
        if (ev == NULL || cJSON_AddStringToObject(ev, "phase", v1_phase) == NULL ||
            !add_text(ev, "step", id, args) ||
            cJSON_AddNumberToObject(ev, "percent", v1_percent) == NULL)
            ev = fail_null(ev);
        rc = emit(ui, ev, K_COUNT);
    } else {
        ev = event("notice");
        if (ev == NULL || cJSON_AddStringToObject(ev, "notice_id", name) == NULL ||
            !add_text(ev, "text", id, args) ||
            (seconds >= 0 && cJSON_AddNumberToObject(ev, "retry_in", (double)seconds) == NULL))
            ev = fail_null(ev);
        rc = emit_v2(ui, ev, false);
    }
    cJSON_Delete(args);
    return rc;
}

enum lj_rc
lj_ui_leaving(struct lj_ui *ui, const char *why, int exit_code)
{
    cJSON *ev = event("leaving");
    char id[48];

    snprintf(id, sizeof(id), "leaving.%s", why);
    if (ev == NULL || cJSON_AddStringToObject(ev, "why", why) == NULL ||
        cJSON_AddNumberToObject(ev, "exit_code", exit_code) == NULL ||
        !add_text(ev, "text", id, NULL))
        ev = fail_null(ev);
    return emit_v2(ui, ev, true);
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

/* ---- receiving (parsing: ui_msg.c) ---- */

/* Replay the kept state: hello, the open prompt, the last progress, the last result. */
static enum lj_rc
resend_state(struct lj_ui *ui)
{
    enum lj_rc rc = LJ_OK;

    for (int i = 0; i < K_COUNT && rc == LJ_OK; i++) {
        if (ui->kept[i] != NULL)
            rc = deliver(ui, ui->kept[i]);
    }
    return rc;
}

/* A client's hello: it speaks m->protocol in m->locale from now on; it gets the state again. */
static enum lj_rc
client_hello(struct lj_ui *ui, const struct lj_ui_msg *m)
{
    ui->proto = m->protocol;
    if (m->locale != NULL)
        snprintf(ui->locale, sizeof(ui->locale), "%s", lj_msg_locale(m->locale));
    lj_log(LJ_LOG_INFO, MOD, "event=client_hello protocol=%d locale=%s", ui->proto, ui->locale);
    return resend_state(ui);
}

void
lj_ui_new_attempt(struct lj_ui *ui)
{
    if (ui == NULL)
        return;
    kept_drop(ui, K_PROMPT);
    kept_drop(ui, K_RESULT);
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
            if (rc == LJ_OK && msg->type == LJ_UI_MSG_HELLO) {
                rc = client_hello(ui, msg);
                lj_ui_msg_clear(msg);
                break;
            }
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
        case LJ_UI_IN_CONNECTED:
            client_reset(ui); /* a new client is v1 until it says hello */
            rc = resend_state(ui);
            break;
        case LJ_UI_IN_DISCONNECTED: client_reset(ui); break;
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
