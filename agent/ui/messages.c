/*
 * messages.c — the English message table (everything a person reads that
 * is not a failure row), the progress steps' order, placeholder expansion,
 * and the whole catalog as JSON (`linkjoin messages`).
 *
 * Design note: English lives in C so that the agent never depends on a file
 * to speak; translations are data (agent/ui/i18n/LOCALE.json, embedded by
 * agent/ui/i18n.c) keyed by the ids below.  Step texts are the ones v1 UIs
 * have always been sent, word for word.
 */
#include "agent/ui/messages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/core/errors.h"
#include "agent/core/json.h"

static const struct lj_msg_entry table[] = {
    /* progress steps, in the order of a normal run */
    {"step.preflight.check", "Checking the device and the network"},
    {"step.preflight.proxy", "Checking the network through the proxy"},
    {"step.preflight.retry", "Trying again"},
    {"step.signin.start", "Starting sign-in"},
    {"step.signin.wait", "Waiting for sign-in"},
    {"step.signin.wait_browser", "Waiting for sign-in in the browser"},
    {"step.signin.signing_in", "Signing in"},
    {"step.signin.again_for_mdm", "Sign in again to finish device management setup"},
    {"step.discover.drs", "Finding your organization's device registration service"},
    {"step.keys.prepare", "Preparing the device keys"},
    {"step.join.join", "Joining the device to your organization"},
    {"step.join.busy", "The service is busy; trying again"},
    {"step.mdm.sso", "Setting up single sign-on for this device"},
    {"step.mdm.token", "Getting permission to enroll in device management"},
    {"step.mdm.discover", "Finding your organization's device management service"},
    {"step.mdm.policy", "Reading the device management certificate policy"},
    {"step.mdm.enroll", "Enrolling the device in device management"},
    {"step.mdm.busy", "Device management is busy; trying again"},
    {"step.done.enrolled", "Joined and enrolled in device management"},
    {"step.done.mdm_refused", "Joined; device management refused"},
    {"step.done.mdm_pending", "Joined; device management pending"},

    /* prompts */
    {"prompt.device_code.title", "Sign in with your work or school account"},
    {"prompt.device_code.instructions",
     "On your phone or computer, go to {url} and enter the code {code}."},
    {"prompt.credentials.title", "Sign in with your work or school account"},
    {"prompt.credentials.password", "Enter the password for your work account"},
    {"prompt.browser.title", "Sign in with your work or school account"},
    {"prompt.browser.instructions", "To sign in, open this address in a web browser."},

    /* notices */
    {"notice.service_busy", "The service is busy; trying again in {seconds} seconds."},
    {"notice.mdm_busy", "Device management is busy; trying again in {seconds} seconds."},
    {"notice.journal_unreadable",
     "The saved setup progress could not be read, so setup starts again"},
    {"notice.recover_keys_lost",
     "The security keys from an earlier setup no longer work on this device, so it is being "
     "set up again as a new device"},
    {"notice.recover_joined_from_cert",
     "Setup was interrupted after the device joined; the join is complete"},
    {"notice.recover_retry", "Setup stopped last time before it finished; trying again"},
    {"notice.recover_resume", "Setup was interrupted earlier; continuing where it stopped"},

    /* words that fill a placeholder ({wait}), so each language has its own */
    {"arg.wait.few", "a few minutes"},
    {"arg.wait.minute", "about a minute"},
    {"arg.wait.minutes", "about {minutes} minutes"},
    {"arg.wait.hours", "about {hours} hours"},

    /* leaving */
    {"leaving.done", "Setup is finished."},
    {"leaving.retry_window_closed", "Setup has stopped. Restart the device to try again."},
    {"leaving.cancelled", "Setup was cancelled."},
    {"leaving.signal", "Setup was stopped."},

    /* result headlines */
    {"result.joined.title", "Your device is ready"},
    {"result.joined_mdm_pending.title", "Almost done"},
    {"result.joined_incomplete.title", "Almost done"},
    {"result.failed.title", "Setup could not finish"},
    {"result.already_joined.title", "This device is already set up"},
    {"result.already_joined.message", "This device is already joined; nothing was changed."},
    {"result.cancelled.title", "Setup was cancelled"},

    /* the tty renderer */
    {"tty.hello", "Setting up your {model}"},
    {"tty.hello_serial", "Setting up your {model} (serial number {serial})"},
    {"tty.device", "device"},
    {"tty.device_code", "To sign in: on your phone or computer, go to {url} and enter the code "
                        "{code}"},
    {"tty.code_valid", "(The code is valid for {minutes} minutes, until {time} local time.)"},
    {"tty.code_until", "(The code is valid until {time} local time.)"},
    {"tty.code_soon", "(The code expires soon.)"},
    {"tty.credentials", "Sign in with your work or school account."},
    {"tty.credentials_user", "Sign in with your work or school account ({username})."},
    {"tty.browser", "To sign in, open this address in a web browser:"},
    {"tty.done", "Done: this device is joined."},
    {"tty.done_tenant", "Done: this device is joined to {tenant}."},
    {"tty.pending", "Almost done: this device is joined; its device management (Intune) setup "
                    "will finish by itself."},
    {"tty.pending_tenant", "Almost done: this device is joined to {tenant}; its device management "
                           "(Intune) setup will finish by itself."},
    {"tty.incomplete",
     "Almost done: this device is joined, but your IT admin needs to finish setting it up."},
    {"tty.incomplete_tenant", "Almost done: this device is joined to {tenant}, but your IT admin "
                              "needs to finish setting it up."},
    {"tty.signed_in_as", "Signed in as:"},
    {"tty.device_id", "Device ID:"},
    {"tty.mdm_enrolled", "Device management (Intune): enrolled."},
    {"tty.mdm_pending", "Device management (Intune) enrollment is not finished yet; it will be "
                        "retried automatically."},
    {"tty.mdm_failed", "Device management (Intune) enrollment did not succeed."},
    {"tty.no_reason", "no reason was given."},
    {"tty.already_joined", "This device is already joined; nothing to do."},
    {"tty.cancelled", "Setup was cancelled. Restart the device to start again."},
    {"tty.failed", "Setup could not finish: {message}"},
    {"tty.unexpected", "an unexpected error occurred."},
    {"tty.error_code", "Error code:"},
    {"tty.who_fixes", "Who can fix it:"},
    {"tty.fix_by.user", "you"},
    {"tty.fix_by.admin", "your IT admin"},
    {"tty.fix_by.retry", "nobody needs to change anything; start again"},
    {"tty.fix_by.hardware", "restart the device first; if that does not help, a technician"},
    {"tty.fix_by.support", "support (give your IT help desk the details below)"},
    {"tty.pending_nobody", "nobody needs to act; the device retries by itself"},
    {"tty.pending_admin", "your IT admin; the device then finishes by itself when it retries"},
    {"tty.try_again", "Try again:"},
    {"tty.try_again_yes", "yes, trying again may help"},
    {"tty.try_again_user", "yes, as soon as you have done what it says above"},
    {"tty.try_again_after_fix", "only after the cause above is fixed"},
    {"tty.serial", "Serial number:"},
    {"tty.serial_unknown", "unknown (the firmware has none)"},
    {"tty.time", "Time:"},
    {"tty.local_time", "{time} (local time {local})"},
    {"tty.for_admin", "For your IT admin:"},
    {"tty.action", "Action:"},
    {"tty.reason", "Reason:"},
    {"tty.phase", "Phase:"},
    {"tty.http_status", "HTTP status:"},
    {"tty.server_error", "Server error:"},
    {"tty.server_code", "Server code:"},
    {"tty.server_message", "Server message:"},
    {"tty.request_id", "Request ID:"},
    {"tty.trace_id", "Trace ID:"},
    {"tty.correlation_id", "Correlation ID:"},
    {"tty.server_time", "Server time:"},
    {"tty.ignored", "(ignored a message from the setup screen: {message})"},
    {"tty.sign_in_closed", "(The sign-in request is closed.)"},

    /* the web screen's own words */
    {"screen.title", "Setting up your device"},
    {"screen.try_again", "Try again"},
    {"screen.cancel", "Cancel"},
    {"screen.sign_in", "Sign in"},
    {"screen.next", "Next"},
    {"screen.admin_details", "Details for your IT admin"},
    {"screen.show_details", "Show details"},
    {"screen.hide_details", "Hide details"},
    {"screen.enter_code", "Enter this code"},
    {"screen.open_address", "Open this address on your phone or computer"},
    {"screen.scan_code", "Scan the code"},
    {"screen.code_expires", "The code expires in {minutes} min"},
    {"screen.code_expired", "The code has expired"},
    {"screen.restart_device", "Restart the device to try again"},
    {"screen.username", "Username"},
    {"screen.password", "Password"},
    {"screen.show_password", "Show password"},
    {"screen.hide_password", "Hide password"},
    {"screen.need_username", "Enter your username."},
    {"screen.send_failed", "That did not reach the setup service. Try again."},
    {"screen.checking_device", "Checking the device"},
    {"screen.joined", "Joined"},
    {"screen.almost_done", "Almost done: your IT admin needs to finish setting up this device"},
    {"screen.contact_admin", "Contact your IT admin"},
    {"screen.retry_in", "Trying again in {seconds} seconds"},
    {"screen.retry_in_min", "Trying again in {minutes} min"},
    {"screen.retry_until", "You can try again until {time}"},
    {"screen.step_of", "Step {index} of {count}"},
    {"screen.error_code", "Error code"},
    {"screen.server_code", "Server code"},
    {"screen.serial", "Serial number"},
    {"screen.user", "User"},
    {"screen.time", "Time"},
    {"screen.request_id", "Request ID"},
    {"screen.correlation_id", "Correlation ID"},
    {"screen.device_id", "Device ID"},
    {"screen.waiting_for.person", "Waiting for you"},
    {"screen.waiting_for.service", "Waiting for Microsoft's service"},
    {"screen.waiting_for.tpm", "Waiting for the device's security chip (TPM)"},
    {"screen.waiting_for.device", "Working on this device"},
    {"screen.reconnecting", "Reconnecting to the setup service"},
    {"screen.finished", "Setup is finished. You can close this screen."},
};

/*
 * The positions of a normal run (count = the last index); variants of a
 * step (busy, proxy) share its position.  waiting_for: what the device is
 * waiting on while the step shows.
 */
static const struct lj_step_info steps[] = {
    {"step.preflight.check", "preflight", 1, "device"},
    {"step.preflight.proxy", "preflight", 1, "device"},
    {"step.preflight.retry", "preflight", 1, "device"},
    {"step.signin.start", "signin", 2, "service"},
    {"step.signin.wait", "signin", 3, "person"},
    {"step.signin.wait_browser", "signin", 3, "person"},
    {"step.signin.again_for_mdm", "signin", 3, "person"},
    {"step.signin.signing_in", "signin", 4, "service"},
    {"step.discover.drs", "discover", 5, "service"},
    {"step.keys.prepare", "keys", 6, "tpm"},
    {"step.join.join", "join", 7, "service"},
    {"step.join.busy", "join", 7, "service"},
    {"step.mdm.sso", "mdm", 8, "service"},
    {"step.mdm.token", "mdm", 9, "service"},
    {"step.mdm.discover", "mdm", 10, "service"},
    {"step.mdm.policy", "mdm", 11, "service"},
    {"step.mdm.enroll", "mdm", 12, "service"},
    {"step.mdm.busy", "mdm", 12, "service"},
    {"step.done.enrolled", "done", 13, "device"},
    {"step.done.mdm_refused", "done", 13, "device"},
    {"step.done.mdm_pending", "done", 13, "device"},
};

#define STEP_COUNT 13

const struct lj_msg_entry *
lj_messages_table(size_t *n)
{
    *n = sizeof(table) / sizeof(table[0]);
    return table;
}

const struct lj_step_info *
lj_step_get(const char *step_id)
{
    if (step_id == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if (strcmp(steps[i].id, step_id) == 0)
            return &steps[i];
    return NULL;
}

int
lj_step_count(void)
{
    return STEP_COUNT;
}

/* reason.<key> / admin.<key> -> the row's template; NULL otherwise. */
static const char *
reason_text(const char *id)
{
    bool admin = strncmp(id, "admin.", 6) == 0;

    if (!admin && strncmp(id, "reason.", 7) != 0)
        return NULL;
    for (int r = 0; r < LJ_R_COUNT__; r++) {
        const char *key = lj_reason_key((enum lj_reason)r);

        if (key != NULL && strcmp(key, id + (admin ? 6 : 7)) == 0) {
            const struct lj_reason_info *info = lj_reason_get((enum lj_reason)r);

            return admin ? info->admin_action : info->message;
        }
    }
    return NULL;
}

const char *
lj_msg_en(const char *id)
{
    const char *t;

    if (id == NULL)
        return NULL;
    if ((t = reason_text(id)) != NULL)
        return t;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(table[i].id, id) == 0)
            return table[i].text;
    return NULL;
}

/* The length of a placeholder name at s ("{name}": s points after '{'); 0 = none. */
static size_t
placeholder_len(const char *s)
{
    size_t n = 0;

    while ((s[n] >= 'a' && s[n] <= 'z') || s[n] == '_')
        n++;
    return n > 0 && s[n] == '}' ? n : 0;
}

char *
lj_msg_format(const char *tmpl, const struct cJSON *args)
{
    char *out = NULL;
    size_t olen = 0;
    FILE *f;

    if (tmpl == NULL)
        return NULL;
    f = open_memstream(&out, &olen);
    if (f == NULL)
        return NULL;
    for (const char *s = tmpl; *s != '\0'; s++) {
        size_t n;
        const cJSON *v;
        char name[64];

        if (*s != '{' || (n = placeholder_len(s + 1)) == 0 || n >= sizeof(name)) {
            fputc(*s, f);
            continue;
        }
        memcpy(name, s + 1, n);
        name[n] = '\0';
        v = args != NULL ? cJSON_GetObjectItemCaseSensitive(args, name) : NULL;
        if (cJSON_IsString(v))
            fputs(v->valuestring, f);
        else if (cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble)
            fprintf(f, "%lld", (long long)v->valuedouble);
        else if (cJSON_IsNumber(v))
            fprintf(f, "%g", v->valuedouble);
        else {
            fwrite(s, 1, n + 2, f);
        }
        s += n + 1;
    }
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

char *
lj_msg_wait(const char *locale, long minutes)
{
    cJSON *a = cJSON_CreateObject();
    const char *id = "arg.wait.few";
    char *s = NULL;

    if (a == NULL)
        return NULL;
    if (minutes == 1) {
        id = "arg.wait.minute";
    } else if (minutes > 1 && minutes < 120) {
        id = "arg.wait.minutes";
        if (cJSON_AddNumberToObject(a, "minutes", (double)minutes) == NULL)
            goto out;
    } else if (minutes >= 120) {
        id = "arg.wait.hours";
        if (cJSON_AddNumberToObject(a, "hours", (double)((minutes + 59) / 60)) == NULL)
            goto out;
    }
    s = lj_msg_format(lj_msg(locale, id), a);
out:
    cJSON_Delete(a);
    return s;
}

char *
lj_msg_format_in(const char *locale, const char *tmpl, const struct cJSON *args)
{
    const cJSON *m = args != NULL ? cJSON_GetObjectItemCaseSensitive(args, "wait_minutes") : NULL;
    cJSON *copy;
    char *w, *s;

    if (!cJSON_IsNumber(m))
        return lj_msg_format(tmpl, args);
    copy = cJSON_Duplicate(args, true);
    w = lj_msg_wait(locale, (long)m->valuedouble);
    if (copy == NULL || w == NULL || !cJSON_IsObject(copy)) {
        cJSON_Delete(copy);
        free(w);
        return NULL;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(copy, "wait");
    if (cJSON_AddStringToObject(copy, "wait", w) == NULL) {
        cJSON_Delete(copy);
        free(w);
        return NULL;
    }
    free(w);
    s = lj_msg_format(tmpl, copy);
    cJSON_Delete(copy);
    return s;
}

char *
lj_msg_render(const char *locale, const char *id, const struct cJSON *args)
{
    const char *t = lj_msg(locale, id);

    return t != NULL ? lj_msg_format(t, args) : NULL;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool
lj_msg_placeholders(const char *text, char *out, size_t osz)
{
    char names[32][64];
    const char *ptrs[32];
    size_t count = 0, used = 0;

    if (osz == 0)
        return false;
    out[0] = '\0';
    for (const char *s = text; s != NULL && *s != '\0'; s++) {
        size_t n;
        bool dup = false;

        if (*s != '{' || (n = placeholder_len(s + 1)) == 0 || n >= sizeof(names[0]))
            continue;
        memcpy(names[count], s + 1, n);
        names[count][n] = '\0';
        for (size_t i = 0; i < count; i++)
            dup = dup || strcmp(names[i], names[count]) == 0;
        if (!dup && ++count == sizeof(names) / sizeof(names[0]))
            return false;
        s += n + 1;
    }
    for (size_t i = 0; i < count; i++)
        ptrs[i] = names[i];
    qsort(ptrs, count, sizeof(ptrs[0]), cmp_str);
    for (size_t i = 0; i < count; i++) {
        int w = snprintf(out + used, osz - used, "%s%s", i > 0 ? "," : "", ptrs[i]);

        if (w < 0 || (size_t)w >= osz - used)
            return false;
        used += (size_t)w;
    }
    return true;
}

static bool
add_id(cJSON *o, const char *locale, const char *id)
{
    const char *t = lj_msg(locale, id);

    return t != NULL && cJSON_AddStringToObject(o, id, t) != NULL;
}

enum lj_rc
lj_messages_catalog_json(const char *locale, bool pretty, char **out)
{
    cJSON *o = cJSON_CreateObject();
    char id[80];
    bool ok = o != NULL;

    for (int r = 0; ok && r < LJ_R_COUNT__; r++) {
        snprintf(id, sizeof(id), "reason.%s", lj_reason_key((enum lj_reason)r));
        ok = add_id(o, locale, id);
    }
    for (int r = 0; ok && r < LJ_R_COUNT__; r++) {
        snprintf(id, sizeof(id), "admin.%s", lj_reason_key((enum lj_reason)r));
        ok = add_id(o, locale, id);
    }
    for (size_t i = 0; ok && i < sizeof(table) / sizeof(table[0]); i++)
        ok = add_id(o, locale, table[i].id);
    *out = ok ? (pretty ? cJSON_Print(o) : cJSON_PrintUnformatted(o)) : NULL;
    cJSON_Delete(o);
    return *out != NULL ? LJ_OK : LJ_ERR_NOMEM;
}
