/*
 * cmd_status.c — `linkjoin status [--json] [CONFIG FLAGS]`: the join state
 * the way `dsregcmd /status` shows it, from the state directory (no
 * network): journal, stored device certificate, key record, and (when a
 * key record exists) whether the TPM still loads the keys (a few TPM
 * commands; `keys_state` ok | lost | unchecked | none) and the device key's
 * template from its stored public area (`DeviceKey`, `device_key_scheme`
 * any | rsassa | unknown | none: tpm_keys_describe_dir).  Exit 0 only when
 * setup is complete (joined, and enrolled in Intune unless the configuration
 * says mdm = optional), LJ_EXIT_MDM_PENDING when joined with the Intune
 * enrollment pending, the refusal's own exit code (7, or 8 for a bad
 * answer) when Intune refused and mdm = required, LJ_EXIT_STATE when the
 * TPM lost the keys (cleared or replaced: `run` then starts again as a new
 * device), LJ_EXIT_NOT_JOINED otherwise.
 *
 * mdm_state: "enrolled", "pending", "failed" (joined, and the last error
 * is an Intune one: refused by policy or a bad answer; last_error says
 * which), "lost" (the TPM no longer loads the keys, so the enrollment is
 * gone with them) or "not_enrolled".
 *
 * What a person reads: `State` is in words ("not joined: the last attempt
 * was refused (join_not_permitted)"), the journal's own step name is
 * `SavedStep` (JSON keeps "state" as that name and adds "state_text");
 * Last Error adds the taxonomy's sentence, who can fix it and the admin
 * action.  A state directory this user may not read is said so (exit 1),
 * not reported as "not joined"; a missing one is named.
 *
 * The journal is read, never rewritten or moved aside here (that is run's
 * business); an unreadable journal is shown as such.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli/cmd.h"
#include "agent/core/config.h"
#include "agent/core/errors.h"
#include "agent/proto/drs.h"
#include "agent/core/exitcodes.h"
#include "agent/flow/flow.h"
#include "agent/state/journal.h"
#include "agent/state/recover.h"
#include "platform/clock.h"
#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "tpm/tpm.h"

struct status {
    enum lj_rc dir_rc; /* lj_fs_dir_access of the state directory */
    bool journal_ok;
    char journal_problem[320];
    struct lj_journal j;
    bool have_cert;
    long long not_before, not_after;
    bool keys;
    struct tpm_describe keys_d;
    const char *keys_state;   /* ok, lost, unchecked, none */
    const char *keys_problem; /* lj_rc_name of the check, "" when ok */
    const char *mdm;
    bool prt; /* a PRT is kept (sealed, session key in the TPM) and not expired */
};

static void
status_read(const struct lj_config *cfg, struct status *s)
{
    const char *dir = cfg->state_dir;
    char path[512];
    unsigned char *buf = NULL, *der = NULL;
    size_t len = 0, der_len = 0;
    enum lj_rc rc;

    memset(s, 0, sizeof(*s));
    lj_journal_init(&s->j);
    s->dir_rc = lj_fs_dir_access(dir);
    s->keys_state = "none";
    s->keys_problem = "";
    s->mdm = "not_enrolled";
    if (s->dir_rc == LJ_ERR_AUTH) {
        snprintf(s->journal_problem, sizeof(s->journal_problem),
                 "cannot read %s: permission denied (run as root)", dir);
        return;
    }
    if (s->dir_rc == LJ_ERR_NOT_FOUND) {
        s->journal_ok = true; /* nothing was ever set up here: a new device */
        return;
    }
    if (!lj_path_join(path, sizeof(path), dir, LJ_JOURNAL_FILE)) {
        snprintf(s->journal_problem, sizeof(s->journal_problem), "path too long");
    } else if ((rc = lj_fs_read(path, LJ_JOURNAL_MAX_BYTES, &buf, &len)) == LJ_ERR_NOT_FOUND) {
        s->journal_ok = true; /* a new device */
    } else if (rc != LJ_OK) {
        snprintf(s->journal_problem, sizeof(s->journal_problem), "journal unreadable (%s)",
                 lj_rc_name(rc));
    } else if (lj_journal_from_json((const char *)buf, len, &s->j, s->journal_problem,
                                    sizeof(s->journal_problem)) == LJ_OK) {
        s->journal_ok = true;
    } else {
        lj_journal_init(&s->j);
    }
    free(buf);
    if (lj_journal_load_cert(dir, &der, &der_len) == LJ_OK)
        s->have_cert = drs_cert_validity(der, der_len, &s->not_before, &s->not_after) == LJ_OK;
    free(der);
    s->keys = tpm_keys_describe_dir(dir, &s->keys_d) == LJ_OK;
    s->keys_state = "none";
    s->keys_problem = "";
    if (s->keys) {
        bool was = lj_log_set_quiet(true); /* the outcome is reported as keys_state */

        rc = lj_recover_keys_check(cfg, NULL, NULL);
        lj_log_set_quiet(was);
        s->keys_state = rc == LJ_OK ? "ok" : rc == LJ_ERR_TPM_KEYS_LOST ? "lost" : "unchecked";
        s->keys_problem = rc == LJ_OK ? "" : lj_rc_name(rc);
    }
    s->prt = s->journal_ok && s->j.state >= LJ_JS_JOINED &&
             tpm_sealed_present(dir, LJ_FLOW_PRT_SEAL_NAME) &&
             tpm_hmac_key_present(dir, LJ_FLOW_PRT_KEY_NAME) && s->j.prt_expires > lj_clock_now();
    switch (s->j.state) {
    case LJ_JS_MDM_ENROLLED: s->mdm = "enrolled"; break;
    case LJ_JS_MDM_PENDING: s->mdm = "pending"; break;
    case LJ_JS_JOINED:
        s->mdm =
            s->j.has_error && strcmp(s->j.last_error.phase, "mdm") == 0 ? "failed" : "not_enrolled";
        break;
    default: s->mdm = "not_enrolled"; break;
    }
    if (strcmp(s->keys_state, "lost") == 0 && s->j.state >= LJ_JS_JOINED)
        s->mdm = "lost";
}

static bool
joined(const struct status *s)
{
    return s->journal_ok && s->j.state >= LJ_JS_JOINED && strcmp(s->keys_state, "lost") != 0;
}

/* The state in words a person understands (out, size osz). */
static void
state_words(const struct status *s, const char *dir, char *out, size_t osz)
{
    const char *why = s->j.has_error ? s->j.last_error.reason : NULL;

    if (s->dir_rc == LJ_ERR_NOT_FOUND) {
        snprintf(out, osz, "not set up: the state directory %s does not exist", dir);
    } else if (!s->journal_ok) {
        snprintf(out, osz, "unknown: %s", s->journal_problem);
    } else if (strcmp(s->keys_state, "lost") == 0) {
        snprintf(out, osz,
                 "keys lost: the TPM no longer loads this device's keys (cleared or "
                 "replaced); run setup again to join as a new device");
    } else if (s->j.state == LJ_JS_NEW) {
        snprintf(out, osz, why ? "not joined: the last attempt stopped (%s)" : "not set up yet",
                 why);
    } else if (s->j.state < LJ_JS_JOINED) {
        if (why != NULL)
            snprintf(out, osz, "not joined: the last attempt %s (%s)",
                     strcmp(s->j.last_error.phase, "join") == 0 ? "was refused" : "stopped", why);
        else
            snprintf(out, osz, "not joined: setup was interrupted; run continues it");
    } else if (s->j.state == LJ_JS_MDM_PENDING) {
        snprintf(out, osz, "joined; Intune enrollment pending (retried automatically)");
    } else if (s->j.state == LJ_JS_MDM_ENROLLED) {
        snprintf(out, osz, "joined and enrolled in Intune");
    } else if (strcmp(s->mdm, "failed") == 0) {
        snprintf(out, osz, "joined; Intune refused the enrollment (%s)", why ? why : "-");
    } else {
        snprintf(out, osz, "joined");
    }
}

/* The last error's taxonomy row, formatted: sentence, who fixes, admin action. */
static const struct lj_reason_info *
error_words(const struct status *s, char *msg, size_t msz, char *action, size_t asz)
{
    const struct lj_reason_info *ri = lj_reason_by_slug(s->j.last_error.reason);
    struct lj_error_params p;

    msg[0] = action[0] = '\0';
    if (ri == NULL)
        return NULL;
    memset(&p, 0, sizeof(p));
    p.upn = s->j.upn[0] != '\0' ? s->j.upn : NULL;
    lj_error_format(ri->message, &p, msg, msz);
    lj_error_format(ri->admin_action, &p, action, asz);
    return ri;
}

/*
 * The device key in words, from its stored public area (tpm.h enum
 * tpm_dev_scheme): size, custody, and what it signs.  A key of the
 * RSASSA-only template of earlier versions cannot make the RSA-PSS
 * signature most TLS servers ask for, so `leave` fails against them
 * (reason device_key_outdated); "" when there are no keys.
 */
static void
device_key_words(const struct status *s, char *out, size_t osz)
{
    char size[32] = "RSA";
    const char *where = s->keys_d.tpm_protected ? "TPM" : "software keys (tests only)";

    out[0] = '\0';
    if (!s->keys)
        return;
    if (s->keys_d.dev_bits > 0)
        snprintf(size, sizeof(size), "RSA-%u", s->keys_d.dev_bits);
    switch (s->keys_d.dev_scheme) {
    case TPM_DEV_SCHEME_ANY:
        snprintf(out, osz, "%s, %s, scheme any (RSA-PSS or PKCS#1)", size, where);
        break;
    case TPM_DEV_SCHEME_RSASSA:
        snprintf(out, osz,
                 "%s, %s, RSASSA only (older template: leave needs a reset against RSA-PSS "
                 "servers)",
                 size, where);
        break;
    case TPM_DEV_SCHEME_UNKNOWN:
        snprintf(out, osz, "%s, scheme unknown (the device key file is missing or unreadable)",
                 where);
        break;
    }
}

/* Joined, and nothing of setup left: Intune enrolled, or its refusal allowed (mdm = optional). */
static bool
setup_complete(const struct status *s, const struct lj_config *cfg)
{
    if (!joined(s) || strcmp(s->mdm, "pending") == 0)
        return false;
    return strcmp(s->mdm, "failed") != 0 || cfg->mdm == LJ_MDM_OPTIONAL;
}

/* A JSON string (quoted, escaped). */
static void
jstr(FILE *o, const char *v)
{
    fputc('"', o);
    for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(o, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(o, "\\u%04x", *p);
        else
            fputc(*p, o);
    }
    fputc('"', o);
}

static void
jkv(FILE *o, const char *k, const char *v, bool comma)
{
    jstr(o, k);
    fputc(':', o);
    jstr(o, v);
    if (comma)
        fputc(',', o);
}

/* A time for status, "" when unknown. */
static void
status_time(int64_t t, char *out, size_t osz)
{
    out[0] = '\0';
    if (t > 0)
        lj_clock_format(t, out, osz);
}

/* "sso": the Primary Refresh Token like dsregcmd's SSO State (AzureAdPrt). */
static void
print_json_sso(FILE *o, const struct status *s)
{
    char up[32], ex[32];

    status_time(s->j.prt_updated, up, sizeof(up));
    status_time(s->j.prt_expires, ex, sizeof(ex));
    fprintf(o, "\"sso\":{\"azure_ad_prt\":%s,", s->prt ? "true" : "false");
    jkv(o, "prt_update_time", up, true);
    jkv(o, "prt_expiry_time", ex, false);
    fprintf(o, "},");
}

static void
print_json(FILE *o, const struct status *s, const struct lj_config *cfg)
{
    const struct lj_error_record *e = &s->j.last_error;
    char nb[32] = "", na[32] = "", words[400], msg[512], action[1024];
    const struct lj_reason_info *ri;
    int64_t now = lj_clock_now();

    if (s->have_cert) {
        lj_clock_format(s->not_before, nb, sizeof(nb));
        lj_clock_format(s->not_after, na, sizeof(na));
    }
    fputc('{', o);
    fprintf(o, "\"joined\":%s,", joined(s) ? "true" : "false");
    fprintf(o, "\"setup_complete\":%s,", setup_complete(s, cfg) ? "true" : "false");
    jkv(o, "mdm_mode", lj_mdm_mode_name(cfg->mdm), true);
    jkv(o, "state", s->journal_ok ? lj_journal_state_name(s->j.state) : "unknown", true);
    state_words(s, cfg->state_dir, words, sizeof(words));
    jkv(o, "state_text", words, true);
    if (!s->journal_ok)
        jkv(o, "journal_problem", s->journal_problem, true);
    jkv(o, "device_id", s->j.device_id, true);
    jkv(o, "tenant_id", s->j.tenant_id, true);
    jkv(o, "tenant_name", s->j.tenant_name, true);
    jkv(o, "upn", s->j.upn, true);
    jkv(o, "cert_thumbprint", s->j.cert_thumbprint, true);
    jkv(o, "cert_not_before", nb, true);
    jkv(o, "cert_not_after", na, true);
    fprintf(o, "\"cert_valid\":%s,",
            s->have_cert && now >= s->not_before && now <= s->not_after ? "true" : "false");
    jkv(o, "key_provider", s->keys ? s->keys_d.provider : "none", true);
    fprintf(o, "\"tpm_protected\":%s,", s->keys && s->keys_d.tpm_protected ? "true" : "false");
    jkv(o, "keys_state", s->keys_state, true);
    jkv(o, "keys_problem", s->keys_problem, true);
    jkv(o, "device_key_scheme", s->keys ? tpm_dev_scheme_name(s->keys_d.dev_scheme) : "none", true);
    fprintf(o, "\"device_key_bits\":%u,", s->keys ? s->keys_d.dev_bits : 0);
    device_key_words(s, words, sizeof(words));
    jkv(o, "device_key", words, true);
    jkv(o, "mdm_state", s->mdm, true);
    jkv(o, "mdm_server_url", s->j.mdm_server_url, true);
    jkv(o, "mdm_cert_thumbprint", s->j.mdm_cert_thumbprint, true);
    jkv(o, "mdm_enrollment_id", s->j.mdm_enrollment_id, true);
    print_json_sso(o, s);
    fprintf(o, "\"last_error\":");
    if (!s->j.has_error) {
        fprintf(o, "null}\n");
        return;
    }
    fputc('{', o);
    jkv(o, "phase", e->phase, true);
    jkv(o, "reason", e->reason, true);
    jkv(o, "code", e->code, true);
    fprintf(o, "\"http_status\":%ld,", e->http_status);
    jkv(o, "error_type", e->error_type, true);
    jkv(o, "error_code", e->error_code, true);
    jkv(o, "message", e->message, true);
    jkv(o, "request_id", e->request_id, true);
    jkv(o, "trace_id", e->trace_id, true);
    jkv(o, "correlation_id", e->correlation_id, true);
    jkv(o, "server_time", e->server_time, true);
    ri = error_words(s, msg, sizeof(msg), action, sizeof(action));
    jkv(o, "user_message", msg, true);
    jkv(o, "fix_by", ri ? lj_fix_by_name(ri->fix_by) : "", true);
    jkv(o, "admin_action", action, true);
    {
        char t[32];

        lj_clock_format(e->time, t, sizeof(t));
        jkv(o, "time", t, false);
    }
    fprintf(o, "}}\n");
}

static void
line(FILE *o, const char *k, const char *v)
{
    fprintf(o, "%26s : %s\n", k, v != NULL && v[0] != '\0' ? v : "-");
}

static void
print_text(FILE *o, const struct status *s, const struct lj_config *cfg)
{
    const struct lj_error_record *e = &s->j.last_error;
    char buf[128], words[400], msg[512], action[1024];
    const struct lj_reason_info *ri;

    fprintf(o, "+----------------------------------------------------------------------+\n"
               "| Device State                                                         |\n"
               "+----------------------------------------------------------------------+\n\n");
    line(o, "EntraJoined",
         s->dir_rc == LJ_ERR_AUTH ? "UNKNOWN (permission denied)"
         : joined(s)              ? "YES"
                                  : "NO");
    line(o, "SetupComplete", setup_complete(s, cfg) ? "YES" : "NO");
    state_words(s, cfg->state_dir, words, sizeof(words));
    line(o, "State", words);
    line(o, "SavedStep", s->journal_ok ? lj_journal_state_name(s->j.state) : NULL);
    line(o, "DeviceId", s->j.device_id);
    line(o, "TenantId", s->j.tenant_id);
    line(o, "TenantName", s->j.tenant_name);
    line(o, "UserPrincipalName", s->j.upn);
    line(o, "Thumbprint", s->j.cert_thumbprint);
    if (s->have_cert) {
        char nb[32], na[32];

        lj_clock_format(s->not_before, nb, sizeof(nb));
        lj_clock_format(s->not_after, na, sizeof(na));
        snprintf(buf, sizeof(buf), "[ %s -- %s ]", nb, na);
        line(o, "DeviceCertificateValidity", buf);
    } else {
        line(o, "DeviceCertificateValidity", NULL);
    }
    line(o, "KeyProvider", s->keys ? s->keys_d.provider : "none");
    line(o, "TpmProtected", s->keys && s->keys_d.tpm_protected ? "YES" : "NO");
    line(o, "KeyState", s->keys_state);
    if (s->keys_problem[0] != '\0')
        line(o, "KeyProblem", s->keys_problem);
    device_key_words(s, words, sizeof(words));
    line(o, "DeviceKey", words);
    line(o, "MdmState", s->mdm);
    line(o, "MdmMode", lj_mdm_mode_name(cfg->mdm));
    line(o, "MdmUrl", s->j.mdm_server_url);
    line(o, "MdmCertThumbprint", s->j.mdm_cert_thumbprint);
    line(o, "MdmDeviceId", s->j.mdm_enrollment_id);
    fprintf(o, "\n+----------------------------------------------------------------------+\n"
               "| SSO State                                                            |\n"
               "+----------------------------------------------------------------------+\n\n");
    line(o, "AzureAdPrt", s->prt ? "YES" : "NO");
    status_time(s->j.prt_updated, buf, sizeof(buf));
    line(o, "AzureAdPrtUpdateTime", buf);
    status_time(s->j.prt_expires, buf, sizeof(buf));
    line(o, "AzureAdPrtExpiryTime", buf);
    if (!s->j.has_error)
        return;
    fprintf(o, "\n+----------------------------------------------------------------------+\n"
               "| Last Error                                                           |\n"
               "+----------------------------------------------------------------------+\n\n");
    ri = error_words(s, msg, sizeof(msg), action, sizeof(action));
    line(o, "Message", msg);
    line(o, "FixBy", ri ? lj_fix_by_name(ri->fix_by) : NULL);
    line(o, "AdminAction", action);
    line(o, "Phase", e->phase);
    line(o, "Reason", e->reason);
    line(o, "Code", e->code);
    snprintf(buf, sizeof(buf), "%ld", e->http_status);
    line(o, "HttpStatus", e->http_status != 0 ? buf : NULL);
    line(o, "ServerErrorType", e->error_type);
    line(o, "ServerErrorCode", e->error_code);
    line(o, "ServerMessage", e->message);
    line(o, "RequestId", e->request_id);
    line(o, "TraceId", e->trace_id);
    line(o, "CorrelationId", e->correlation_id);
    line(o, "ServerTime", e->server_time);
    lj_clock_format(e->time, buf, sizeof(buf));
    line(o, "Time", buf);
}

static void
status_usage(FILE *f)
{
    fprintf(f, "usage: linkjoin status [--json] [--state-dir DIR] [--config FILE]\n"
               "Show whether this device is joined (like dsregcmd /status), from the\n"
               "state directory (and whether the TPM still loads the keys).  Exit 0 only\n"
               "when setup is complete (joined, and enrolled in Intune unless mdm =\n"
               "optional), 11 when joined with the Intune enrollment pending, 7 (8 for a\n"
               "bad answer) when Intune refused it and mdm = required, 12 when not\n"
               "joined, 13 when the TPM lost the keys (cleared), 1 when the state\n"
               "directory cannot be read (permission denied: run as root).\n"
               "  --json            one JSON object instead of the table\n"
               "  --state-dir DIR   state directory (default /var/lib/linkjoin)\n"
               "  --config FILE     configuration file (default /etc/linkjoin/linkjoin.conf);\n"
               "                    its mdm = required | optional decides SetupComplete\n");
}

int
cmd_status(int argc, char **argv)
{
    static const char *const opts[] = {"--json", NULL};
    struct lj_config cfg;
    struct status s;
    bool seen[1] = {false};
    int rc = lj_cmd_args("status", argc, argv, status_usage, opts, seen, &cfg);
    bool json = seen[0];

    if (rc >= 0)
        return rc;
    status_read(&cfg, &s);
    if (json)
        print_json(stdout, &s, &cfg);
    else
        print_text(stdout, &s, &cfg);
    if (s.dir_rc == LJ_ERR_AUTH) {
        fprintf(stderr, "linkjoin status: %s\n", s.journal_problem);
        rc = LJ_EXIT_FAILURE; /* unknown, not "not joined" */
    } else if (!joined(&s)) {
        rc = strcmp(s.keys_state, "lost") == 0 ? LJ_EXIT_STATE : LJ_EXIT_NOT_JOINED;
    } else if (s.j.state == LJ_JS_MDM_PENDING) {
        rc = LJ_EXIT_MDM_PENDING;
    } else if (!setup_complete(&s, &cfg)) {
        const struct lj_reason_info *ri = lj_reason_by_slug(s.j.last_error.reason);

        rc = ri != NULL ? ri->exit_code : LJ_EXIT_POLICY; /* as `run` exited */
    } else {
        rc = LJ_EXIT_OK;
    }
    if (fflush(stdout) != 0)
        rc = LJ_EXIT_FAILURE;
    return rc;
}
