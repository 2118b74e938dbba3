/*
 * ui_tty.c — the tty front end of the OOBE UI protocol: one agent event
 * (JSON) rendered as text for a serial console or terminal, in a catalog
 * locale; and the server time forms turned into RFC 3339.
 *
 * Design note: the renderer reads only the event, as any UI would: texts
 * come from message_id + args through the catalog (agent/ui/messages.h),
 * falling back to the event's own English text, and its own words are
 * tty.* ids.  Values from servers and people (tenant names, UPNs, server
 * messages) are printed as UTF-8 with every C0/C1 control, DEL and bidi
 * override or isolate character (U+202A-U+202E, U+2066-U+2069) removed, so
 * an answer cannot move the cursor, change colours or reorder a line.
 */
#include "agent/ui/ui_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/core/json.h"
#include "agent/ui/messages.h"
#include "platform/clock.h"
#include "platform/common/text.h"

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

/* ---- text ---- */

struct tty {
    FILE *f;
    const char *loc; /* catalog locale */
};

/* Characters that must not reach a terminal from outside input. */
static bool
stripped(unsigned cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Columns a code point takes (East Asian wide and fullwidth: 2). */
static int
cp_width(unsigned cp)
{
    return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
                   (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
                   (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
                   (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x20000 && cp <= 0x3fffd)
               ? 2
               : 1;
}

/*
 * Print s cleaned (see the design note): tab, newline and the like become a
 * space, invalid UTF-8 bytes '?'.  Returns the columns printed.
 */
static int
put_clean(const struct tty *t, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    int cols = 0;

    while (left > 0) {
        unsigned cp;
        size_t n = lj_utf8_next(p, left, &cp);

        if (n == 0) {
            fputc('?', t->f);
            cols++;
            p++;
            left--;
            continue;
        }
        if (cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f') {
            fputc(' ', t->f); /* "line1\nline2" stays two words on one line */
            cols++;
        } else if (!stripped(cp)) {
            fwrite(p, 1, n, t->f);
            cols += cp_width(cp);
        }
        p += n;
        left -= n;
    }
    return cols;
}

/* The catalog text of a tty.* id in the locale. */
static const char *
L(const struct tty *t, const char *id)
{
    const char *s = lj_msg(t->loc, id);

    return s != NULL ? s : id;
}

/* The catalog text of id with args, cleaned. */
static void
put_msg(const struct tty *t, const char *id, const cJSON *args)
{
    char *s = lj_msg_format(L(t, id), args);

    put_clean(t, s != NULL ? s : id);
    free(s);
}

/* put_msg with one string argument. */
static void
put_msg1(const struct tty *t, const char *id, const char *name, const char *value)
{
    cJSON *a = cJSON_CreateObject();

    if (a != NULL)
        cJSON_AddStringToObject(a, name, value);
    put_msg(t, id, a);
    cJSON_Delete(a);
}

static const char *
str_or(const cJSON *o, const char *name, const char *dflt)
{
    const char *v = NULL;

    if (lj_json_get_string(o, name, &v) != LJ_OK || v[0] == '\0')
        return dflt;
    return v;
}

/*
 * An event's text in the locale: message_id (id_name) + args (args_name)
 * through the catalog when the locale has it, else the event's own text
 * (member text_name), else dflt.  Caller frees.
 */
static char *
ev_text(const struct tty *t, const cJSON *ev, const char *text_name, const char *id_name,
        const char *args_name, const char *dflt)
{
    const char *id = str_or(ev, id_name, NULL), *own = str_or(ev, text_name, dflt);
    const char *tr = id != NULL ? lj_msg_translated(t->loc, id) : NULL;

    if (tr != NULL)
        return lj_msg_format_in(t->loc, tr, cJSON_GetObjectItemCaseSensitive(ev, args_name));
    return own != NULL ? strdup(own) : NULL;
}

/* "  Label:          value": the label padded to 16 columns. */
static void
put_field(const struct tty *t, const char *label_id, const char *v)
{
    int cols;

    if (v == NULL || v[0] == '\0')
        return;
    fputs("  ", t->f);
    cols = put_clean(t, L(t, label_id));
    fprintf(t->f, "%*s", cols < 16 ? 16 - cols : 1, "");
    put_clean(t, v);
    fputc('\n', t->f);
}

/* "2026-12-03T08:04:04Z (local time 2026-12-03 09:04:04+01:00)" from an ISO time. */
static void
put_time(const struct tty *t, const char *label_id, const char *iso)
{
    int64_t when;
    char loc[40];
    cJSON *a;
    char *s;

    if (iso == NULL || iso[0] == '\0')
        return;
    if (!lj_clock_parse(iso, &when)) {
        put_field(t, label_id, iso);
        return;
    }
    local_time(when, loc, sizeof(loc));
    a = cJSON_CreateObject();
    if (a != NULL) {
        cJSON_AddStringToObject(a, "time", iso);
        cJSON_AddStringToObject(a, "local", loc);
    }
    s = lj_msg_format(L(t, "tty.local_time"), a);
    put_field(t, label_id, s != NULL ? s : iso);
    free(s);
    cJSON_Delete(a);
}

/* ---- events ---- */

static void render_failure_details(const struct tty *t, const cJSON *ev);

static void
put_line_text(const struct tty *t, const cJSON *ev, const char *dflt_id)
{
    char *msg = ev_text(t, ev, "message", "message_id", "args", L(t, dflt_id));

    put_clean(t, msg != NULL ? msg : "");
    fputc('\n', t->f);
    free(msg);
}

static void
render_result(const struct tty *t, const cJSON *ev)
{
    const char *status = str_or(ev, "status", "");
    const char *tenant = str_or(ev, "tenant_name", NULL);
    const char *dev = str_or(ev, "device_id", NULL);
    const char *mdm_state = NULL;
    const cJSON *mdm = NULL;
    FILE *f = t->f;

    if (lj_json_get_object(ev, "mdm", &mdm) == LJ_OK)
        mdm_state = str_or(mdm, "state", NULL);
    if (strcmp(status, "joined") == 0 || strcmp(status, "joined_mdm_pending") == 0) {
        bool complete = true;
        const char *id;

        /* joined but not managed is not "Done" (Intune is part of a Link's setup) */
        lj_json_get_bool(ev, "setup_complete", &complete);
        if (complete)
            id = tenant != NULL ? "tty.done_tenant" : "tty.done";
        else if (strcmp(status, "joined_mdm_pending") == 0)
            id = tenant != NULL ? "tty.pending_tenant" : "tty.pending";
        else
            id = tenant != NULL ? "tty.incomplete_tenant" : "tty.incomplete";
        fputc('\n', f);
        put_msg1(t, id, "tenant", tenant != NULL ? tenant : "");
        fputc('\n', f);
        put_field(t, "tty.signed_in_as", str_or(ev, "upn", NULL));
        put_field(t, "tty.device_id", dev);
        if (mdm_state != NULL && strcmp(mdm_state, "enrolled") == 0) {
            /* the server URL and certificate belong in `linkjoin status` */
            put_msg(t, "tty.mdm_enrolled", NULL);
            fputc('\n', f);
        }
        if (strcmp(status, "joined_mdm_pending") == 0) {
            put_msg(t, "tty.mdm_pending", NULL);
            fputc('\n', f);
            if (str_or(ev, "reason", NULL) != NULL)
                render_failure_details(t, ev);
        } else if (str_or(ev, "reason", NULL) != NULL) {
            /*
             * Joined, but Intune refused (or answered nonsense).  The mdm_*
             * messages of the table already begin "The device joined, but".
             */
            fputc('\n', f);
            put_msg(t, "tty.mdm_failed", NULL);
            fputc('\n', f);
            put_line_text(t, ev, "tty.no_reason");
            render_failure_details(t, ev);
        }
        return;
    }
    if (strcmp(status, "already_joined") == 0) {
        fputc('\n', f);
        put_msg(t, "tty.already_joined", NULL);
        fputc('\n', f);
        put_field(t, "tty.device_id", dev);
        return;
    }
    if (strcmp(status, "cancelled") == 0) {
        fputc('\n', f);
        put_msg(t, "tty.cancelled", NULL);
        fputc('\n', f);
        return;
    }
    {
        char *msg = ev_text(t, ev, "message", "message_id", "args", L(t, "tty.unexpected"));

        fputc('\n', f);
        put_msg1(t, "tty.failed", "message", msg != NULL ? msg : "");
        fputc('\n', f);
        free(msg);
    }
    render_failure_details(t, ev);
}

/* Error code, who fixes it, retry, and the admin block of a result with a reason. */
static void
render_failure_details(const struct tty *t, const cJSON *ev)
{
    const cJSON *srv = NULL;
    bool retry = false;
    char fixid[32];

    /* the one "Error code" line: the agent's code; the slug is for the admin */
    put_field(t, "tty.error_code", str_or(ev, "code", NULL));
    /* A pending enrollment is retried by the agent itself: nobody acts,
     * unless a policy holds it (a Conditional Access block on the Intune
     * token), which the admin changes and the next retry then passes. */
    if (strcmp(str_or(ev, "status", ""), "joined_mdm_pending") == 0) {
        const char *fb = str_or(ev, "fix_by", "retry");

        snprintf(fixid, sizeof(fixid), "tty.fix_by.%s", fb);
        put_field(t, "tty.who_fixes",
                  strcmp(fb, "retry") == 0   ? L(t, "tty.pending_nobody")
                  : strcmp(fb, "admin") == 0 ? L(t, "tty.pending_admin")
                  : lj_msg_en(fixid) != NULL ? L(t, fixid)
                                             : fb);
    } else {
        const char *fix_by = str_or(ev, "fix_by", "support");

        snprintf(fixid, sizeof(fixid), "tty.fix_by.%s", fix_by);
        put_field(t, "tty.who_fixes", lj_msg_en(fixid) != NULL ? L(t, fixid) : fix_by);
        lj_json_get_bool(ev, "retryable", &retry);
        put_field(t, "tty.try_again",
                  L(t, retry                         ? "tty.try_again_yes"
                       : strcmp(fix_by, "user") == 0 ? "tty.try_again_user"
                                                     : "tty.try_again_after_fix"));
    }
    /* support facts: which device, who, when */
    {
        const cJSON *d = NULL;
        const char *sn = NULL;

        if (lj_json_get_object(ev, "device", &d) == LJ_OK)
            sn = str_or(d, "serial", L(t, "tty.serial_unknown"));
        put_field(t, "tty.serial", sn);
        if (strcmp(str_or(ev, "status", ""), "failed") == 0) /* else shown above */
            put_field(t, "tty.signed_in_as", str_or(ev, "upn", NULL));
        put_time(t, "tty.time", str_or(ev, "time", NULL));
    }

    fputc('\n', t->f);
    put_msg(t, "tty.for_admin", NULL);
    fputc('\n', t->f);
    {
        char *action = ev_text(t, ev, "admin_action", "admin_action_id", "admin_args", NULL);

        put_field(t, "tty.action", action);
        free(action);
    }
    put_field(t, "tty.reason", str_or(ev, "reason", NULL));
    put_field(t, "tty.phase", str_or(ev, "phase", NULL));
    if (lj_json_get_object(ev, "server", &srv) == LJ_OK) {
        long long st = 0;
        char num[24];

        if (lj_json_get_int(srv, "http_status", &st) == LJ_OK && st != 0) {
            snprintf(num, sizeof(num), "%lld", st);
            put_field(t, "tty.http_status", num);
        }
        put_field(t, "tty.server_error", str_or(srv, "error_type", NULL));
        put_field(t, "tty.server_code", str_or(srv, "error_code", NULL));
        put_field(t, "tty.server_message", str_or(srv, "message", NULL));
        put_field(t, "tty.request_id", str_or(srv, "request_id", NULL));
        put_field(t, "tty.trace_id", str_or(srv, "trace_id", NULL));
        put_field(t, "tty.correlation_id", str_or(srv, "correlation_id", NULL));
        if (str_or(srv, "time", NULL) != NULL)
            put_time(t, "tty.server_time", str_or(srv, "time", NULL));
        else
            put_field(t, "tty.server_time", str_or(srv, "time_raw", NULL));
    }
}

static void
render_hello(const struct tty *t, const cJSON *ev)
{
    const cJSON *d = NULL;
    const char *mo = NULL, *sn = NULL;
    cJSON *a = cJSON_CreateObject();

    /* the product as the device names itself, and the serial whenever it is known */
    if (lj_json_get_object(ev, "device", &d) == LJ_OK) {
        mo = str_or(d, "model", NULL);
        sn = str_or(d, "serial", NULL);
    }
    if (a != NULL) {
        cJSON_AddStringToObject(a, "model", mo != NULL ? mo : L(t, "tty.device"));
        cJSON_AddStringToObject(a, "serial", sn != NULL ? sn : "");
    }
    put_msg(t, sn != NULL ? "tty.hello_serial" : "tty.hello", a);
    fputc('\n', t->f);
    cJSON_Delete(a);
}

static void
render_device_code(const struct tty *t, const cJSON *ev)
{
    long long in = -1;
    int64_t when;
    char loc[40], mins[24];
    cJSON *a = cJSON_CreateObject();

    if (a != NULL) {
        cJSON_AddStringToObject(a, "url", str_or(ev, "verification_uri", "?"));
        cJSON_AddStringToObject(a, "code", str_or(ev, "user_code", "?"));
    }
    fputc('\n', t->f);
    put_msg(t, "tty.device_code", a);
    fputc('\n', t->f);
    cJSON_Delete(a);
    a = cJSON_CreateObject();
    if (lj_clock_parse(str_or(ev, "expires_at", ""), &when)) {
        local_time(when, loc, sizeof(loc));
        if (a != NULL)
            cJSON_AddStringToObject(a, "time", loc);
        if (lj_json_get_int(ev, "expires_in", &in) == LJ_OK && in >= 60) {
            snprintf(mins, sizeof(mins), "%lld", in / 60);
            if (a != NULL)
                cJSON_AddStringToObject(a, "minutes", mins);
            put_msg(t, "tty.code_valid", a);
        } else {
            put_msg(t, "tty.code_until", a);
        }
    } else {
        put_msg(t, "tty.code_soon", NULL);
    }
    fputs("\n\n", t->f);
    cJSON_Delete(a);
}

/* false: not a prompt kind this renderer knows. */
static bool
render_prompt(const struct tty *t, const cJSON *ev)
{
    const char *kind = str_or(ev, "kind", "");
    char *msg;

    if (strcmp(kind, "device_code") == 0) {
        render_device_code(t, ev);
    } else if (strcmp(kind, "credentials") == 0) {
        const char *user = str_or(ev, "username", NULL);

        fputc('\n', t->f);
        if (user != NULL)
            put_msg1(t, "tty.credentials_user", "username", user);
        else
            put_msg(t, "tty.credentials", NULL);
        fputc('\n', t->f);
        msg = ev_text(t, ev, "message", "message_id", "args", NULL);
        if (msg != NULL && msg[0] != '\0') {
            put_clean(t, msg);
            fputc('\n', t->f);
        }
        free(msg);
    } else if (strcmp(kind, "browser") == 0) {
        fputc('\n', t->f);
        put_msg(t, "tty.browser", NULL);
        fputs("\n  ", t->f);
        put_clean(t, str_or(ev, "authorize_url", "?"));
        fputs("\n\n", t->f);
    } else {
        return false;
    }
    return true;
}

char *
lj_ui_render_tty(const char *json_line, size_t len, const char *locale)
{
    cJSON *ev = NULL;
    char *text = NULL, *s;
    size_t tlen = 0;
    struct tty t;
    const char *type;
    bool ok = true;

    if (lj_json_parse(json_line, len, 3, &ev) != LJ_OK)
        return NULL;
    type = str_or(ev, "type", "");
    t.loc = lj_msg_locale(locale);
    t.f = open_memstream(&text, &tlen);
    if (t.f == NULL) {
        cJSON_Delete(ev);
        return NULL;
    }
    if (strcmp(type, "hello") == 0) {
        render_hello(&t, ev);
    } else if (strcmp(type, "progress") == 0) {
        long long pct = 0;

        lj_json_get_int(ev, "percent", &pct);
        fprintf(t.f, "[%3lld%%] ", pct);
        s = ev_text(&t, ev, "step", "message_id", "args", str_or(ev, "phase", ""));
        put_clean(&t, s != NULL ? s : "");
        fputc('\n', t.f);
        free(s);
    } else if (strcmp(type, "prompt") == 0) {
        ok = render_prompt(&t, ev);
    } else if (strcmp(type, "result") == 0) {
        render_result(&t, ev);
    } else if (strcmp(type, "notice") == 0 || strcmp(type, "leaving") == 0) {
        s = ev_text(&t, ev, "text", "message_id", "args", "");
        if (strcmp(type, "leaving") == 0)
            fputc('\n', t.f);
        put_clean(&t, s != NULL ? s : "");
        fputc('\n', t.f);
        free(s);
    } else if (strcmp(type, "prompt_closed") == 0) {
        put_msg(&t, "tty.sign_in_closed", NULL);
        fputc('\n', t.f);
    } else if (strcmp(type, "error") == 0) {
        put_msg1(&t, "tty.ignored", "message", str_or(ev, "message", "?"));
        fputc('\n', t.f);
    } else {
        ok = false;
    }
    fclose(t.f);
    cJSON_Delete(ev);
    if (!ok) {
        free(text);
        return NULL;
    }
    return text;
}
