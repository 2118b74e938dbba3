/*
 * journal.c — load/save the join journal and the device certificate.
 *
 * Design note: the journal is small, plain data (struct lj_journal), and is
 * rewritten whole on every step; atomicity comes from lj_fs_write_atomic.
 * Loading is strict: anything we can't fully trust (bad JSON, missing or
 * mistyped fields, a state without the fields that state needs, a newer
 * version) is moved aside with a reason instead of being half-used, and
 * the caller starts fresh from what it can prove.
 */
#include "agent/state/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/core/json.h"
#include "platform/clock.h"
#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "tpm/pem.h"
#include "platform/testhook.h"

#define MOD "journal"

static const char *const state_names[LJ_JS_COUNT__] = {
    "new", "keys_ready", "signed_in", "join_sent", "joined", "mdm_pending", "mdm_enrolled",
};

const char *
lj_journal_state_name(enum lj_journal_state s)
{
    return (unsigned)s < LJ_JS_COUNT__ ? state_names[s] : "unknown";
}

bool
lj_journal_state_parse(const char *name, enum lj_journal_state *out)
{
    for (int i = 0; i < LJ_JS_COUNT__; i++) {
        if (name != NULL && strcmp(name, state_names[i]) == 0) {
            *out = (enum lj_journal_state)i;
            return true;
        }
    }
    return false;
}

void
lj_journal_init(struct lj_journal *j)
{
    memset(j, 0, sizeof(*j));
    j->version = LJ_JOURNAL_VERSION;
    j->state = LJ_JS_NEW;
    j->times[LJ_JS_NEW] = lj_clock_now();
}

void
lj_journal_set_state(struct lj_journal *j, enum lj_journal_state s)
{
    j->state = s;
    j->times[s] = lj_clock_now();
}

void
lj_journal_set_error(struct lj_journal *j, const struct lj_error_record *rec)
{
    j->last_error = *rec;
    if (j->last_error.time == 0)
        j->last_error.time = lj_clock_now();
    j->has_error = true;
}

void
lj_journal_clear_error(struct lj_journal *j)
{
    memset(&j->last_error, 0, sizeof(j->last_error));
    j->has_error = false;
}

/* ---- serialize ---- */

static bool
add_str(cJSON *o, const char *name, const char *v)
{
    if (v[0] == '\0')
        return true;
    return cJSON_AddStringToObject(o, name, v) != NULL;
}

static bool
add_num(cJSON *o, const char *name, double v)
{
    return cJSON_AddNumberToObject(o, name, v) != NULL;
}

char *
lj_journal_to_json(const struct lj_journal *j)
{
    cJSON *root = cJSON_CreateObject(), *times = NULL, *err = NULL;
    char *out = NULL;
    bool ok;

    if (root == NULL)
        return NULL;
    ok = add_num(root, "version", j->version) &&
         cJSON_AddStringToObject(root, "state", lj_journal_state_name(j->state)) != NULL &&
         add_str(root, "device_id", j->device_id) && add_str(root, "tenant_id", j->tenant_id) &&
         add_str(root, "tenant_name", j->tenant_name) && add_str(root, "upn", j->upn) &&
         add_str(root, "cert_thumbprint", j->cert_thumbprint) &&
         add_str(root, "join_fingerprint", j->join_fingerprint) &&
         add_str(root, "join_request_id", j->join_request_id) &&
         add_num(root, "join_attempts", j->join_attempts) &&
         add_str(root, "mdm_enrollment_id", j->mdm_enrollment_id) &&
         add_str(root, "mdm_server_url", j->mdm_server_url) &&
         add_str(root, "mdm_cert_thumbprint", j->mdm_cert_thumbprint) &&
         (j->mdm_attempts == 0 || add_num(root, "mdm_attempts", j->mdm_attempts)) &&
         (j->prt_updated == 0 || add_num(root, "prt_updated", (double)j->prt_updated)) &&
         (j->prt_expires == 0 || add_num(root, "prt_expires", (double)j->prt_expires));
    if (!ok)
        goto out;
    times = cJSON_AddObjectToObject(root, "times");
    if (times == NULL)
        goto out;
    for (int i = 0; i < LJ_JS_COUNT__; i++) {
        if (j->times[i] != 0 && !add_num(times, state_names[i], (double)j->times[i]))
            goto out;
    }
    if (j->updated != 0 && !add_num(times, "updated", (double)j->updated))
        goto out;
    if (j->has_error) {
        const struct lj_error_record *e = &j->last_error;
        err = cJSON_AddObjectToObject(root, "last_error");
        if (err == NULL)
            goto out;
        ok = add_str(err, "phase", e->phase) && add_str(err, "reason", e->reason) &&
             add_str(err, "code", e->code) && add_num(err, "http_status", (double)e->http_status) &&
             add_str(err, "error_type", e->error_type) &&
             add_str(err, "error_code", e->error_code) && add_str(err, "message", e->message) &&
             add_str(err, "request_id", e->request_id) && add_str(err, "trace_id", e->trace_id) &&
             add_str(err, "correlation_id", e->correlation_id) &&
             add_str(err, "server_time", e->server_time) && add_num(err, "time", (double)e->time) &&
             add_str(err, "rc", e->rc);
        if (!ok)
            goto out;
    }
    out = cJSON_PrintUnformatted(root);
out:
    cJSON_Delete(root);
    return out;
}

/* ---- parse ---- */

/* Optional string member copied into buf; wrong type or too long fails. */
static bool
get_opt(const cJSON *o, const char *name, char *buf, size_t sz, char *why, size_t wsz)
{
    enum lj_rc rc = lj_json_copy_string(o, name, buf, sz);

    if (rc == LJ_OK)
        return true;
    if (rc == LJ_ERR_NOT_FOUND) {
        buf[0] = '\0';
        return true;
    }
    snprintf(why, wsz, "%s", lj_json_problem());
    return false;
}

static bool
get_opt_int(const cJSON *o, const char *name, long long lo, long long hi, long long *out, char *why,
            size_t wsz)
{
    long long v = 0;
    enum lj_rc rc = lj_json_get_int(o, name, &v);

    if (rc == LJ_ERR_NOT_FOUND) {
        *out = 0;
        return true;
    }
    if (rc != LJ_OK) {
        snprintf(why, wsz, "%s", lj_json_problem());
        return false;
    }
    if (v < lo || v > hi) {
        snprintf(why, wsz, "field '%s' is out of range", name);
        return false;
    }
    *out = v;
    return true;
}

static bool
is_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

enum lj_rc
lj_journal_from_json(const char *text, size_t len, struct lj_journal *out, char *why, size_t wsz)
{
    cJSON *root = NULL;
    const cJSON *times = NULL, *err = NULL;
    const char *state = NULL;
    struct lj_journal j;
    long long v = 0;
    char dummy[8];
    enum lj_rc rc = LJ_ERR_PARSE;

    if (why == NULL || wsz == 0) {
        why = dummy;
        wsz = sizeof(dummy);
    }
    why[0] = '\0';
    memset(&j, 0, sizeof(j));
    rc = lj_json_parse(text, len, 4, &root);
    if (rc != LJ_OK) {
        snprintf(why, wsz, "truncated or malformed JSON (%s)", lj_json_problem());
        return LJ_ERR_PARSE;
    }
    rc = LJ_ERR_PARSE;
    if (!cJSON_IsObject(root)) {
        snprintf(why, wsz, "not a JSON object");
        goto out;
    }
    if (lj_json_get_int(root, "version", &v) != LJ_OK) {
        snprintf(why, wsz, "no valid version (%s)", lj_json_problem());
        goto out;
    }
    if (v > LJ_JOURNAL_VERSION) {
        snprintf(why, wsz,
                 "written by a newer version of linkjoin (journal version %lld, this "
                 "build reads %d)",
                 v, LJ_JOURNAL_VERSION);
        rc = LJ_ERR_UNSUPPORTED;
        goto out;
    }
    if (v < 1) {
        snprintf(why, wsz, "bad journal version %lld", v);
        goto out;
    }
    j.version = (int)v;
    if (lj_json_get_string(root, "state", &state) != LJ_OK ||
        !lj_journal_state_parse(state, &j.state)) {
        snprintf(why, wsz, "missing or unknown state");
        goto out;
    }
    if (!get_opt(root, "device_id", j.device_id, sizeof(j.device_id), why, wsz) ||
        !get_opt(root, "tenant_id", j.tenant_id, sizeof(j.tenant_id), why, wsz) ||
        !get_opt(root, "tenant_name", j.tenant_name, sizeof(j.tenant_name), why, wsz) ||
        !get_opt(root, "upn", j.upn, sizeof(j.upn), why, wsz) ||
        !get_opt(root, "cert_thumbprint", j.cert_thumbprint, sizeof(j.cert_thumbprint), why, wsz) ||
        !get_opt(root, "join_fingerprint", j.join_fingerprint, sizeof(j.join_fingerprint), why,
                 wsz) ||
        !get_opt(root, "join_request_id", j.join_request_id, sizeof(j.join_request_id), why, wsz) ||
        !get_opt(root, "mdm_enrollment_id", j.mdm_enrollment_id, sizeof(j.mdm_enrollment_id), why,
                 wsz) ||
        !get_opt(root, "mdm_server_url", j.mdm_server_url, sizeof(j.mdm_server_url), why, wsz) ||
        !get_opt(root, "mdm_cert_thumbprint", j.mdm_cert_thumbprint, sizeof(j.mdm_cert_thumbprint),
                 why, wsz) ||
        !get_opt_int(root, "join_attempts", 0, 1000000, &v, why, wsz))
        goto out;
    j.join_attempts = (int)v;
    if (!get_opt_int(root, "mdm_attempts", 0, 1000000, &v, why, wsz))
        goto out;
    j.mdm_attempts = (int)v;
    if (!get_opt_int(root, "prt_updated", 0, INT64_C(1) << 40, &v, why, wsz))
        goto out;
    j.prt_updated = v;
    if (!get_opt_int(root, "prt_expires", 0, INT64_C(1) << 40, &v, why, wsz))
        goto out;
    j.prt_expires = v;

    if (lj_json_get_object(root, "times", &times) == LJ_OK) {
        for (int i = 0; i < LJ_JS_COUNT__; i++) {
            if (!get_opt_int(times, state_names[i], 0, INT64_C(1) << 40, &v, why, wsz))
                goto out;
            j.times[i] = v;
        }
        if (!get_opt_int(times, "updated", 0, INT64_C(1) << 40, &v, why, wsz))
            goto out;
        j.updated = v;
    }
    if (lj_json_get_object(root, "last_error", &err) == LJ_OK) {
        struct lj_error_record *e = &j.last_error;
        j.has_error = true;
        if (!get_opt(err, "phase", e->phase, sizeof(e->phase), why, wsz) ||
            !get_opt(err, "reason", e->reason, sizeof(e->reason), why, wsz) ||
            !get_opt(err, "code", e->code, sizeof(e->code), why, wsz) ||
            !get_opt(err, "error_type", e->error_type, sizeof(e->error_type), why, wsz) ||
            !get_opt(err, "error_code", e->error_code, sizeof(e->error_code), why, wsz) ||
            !get_opt(err, "message", e->message, sizeof(e->message), why, wsz) ||
            !get_opt(err, "request_id", e->request_id, sizeof(e->request_id), why, wsz) ||
            !get_opt(err, "trace_id", e->trace_id, sizeof(e->trace_id), why, wsz) ||
            !get_opt(err, "correlation_id", e->correlation_id, sizeof(e->correlation_id), why,
                     wsz) ||
            !get_opt(err, "server_time", e->server_time, sizeof(e->server_time), why, wsz) ||
            !get_opt(err, "rc", e->rc, sizeof(e->rc), why, wsz) ||
            !get_opt_int(err, "http_status", 0, 999, &v, why, wsz))
            goto out;
        e->http_status = (long)v;
        if (!get_opt_int(err, "time", 0, INT64_C(1) << 40, &v, why, wsz))
            goto out;
        e->time = v;
    }

    /* Each state needs what it promises. */
    if (j.state >= LJ_JS_JOIN_SENT && !is_hex(j.join_fingerprint, 64)) {
        snprintf(why, wsz, "state %s without a valid join_fingerprint", state);
        goto out;
    }
    if (j.state >= LJ_JS_JOINED && (j.device_id[0] == '\0' || j.tenant_id[0] == '\0')) {
        snprintf(why, wsz, "state %s without device_id and tenant_id", state);
        goto out;
    }
    *out = j;
    rc = LJ_OK;
out:
    cJSON_Delete(root);
    return rc;
}

/* ---- files ---- */

enum lj_rc
lj_journal_load(const char *state_dir, struct lj_journal *j, struct lj_journal_report *rep)
{
    char path[512];
    unsigned char *buf = NULL;
    size_t len = 0;
    enum lj_rc rc;
    char why[160] = "";

    memset(rep, 0, sizeof(*rep));
    if (!lj_path_join(path, sizeof(path), state_dir, LJ_JOURNAL_FILE))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=load_failed reason=path_too_long");
    rc = lj_fs_read(path, LJ_JOURNAL_MAX_BYTES, &buf, &len);
    if (rc == LJ_ERR_NOT_FOUND) {
        lj_journal_init(j);
        return LJ_OK;
    }
    if (rc == LJ_ERR_TOO_BIG) {
        snprintf(why, sizeof(why), "larger than %d bytes", LJ_JOURNAL_MAX_BYTES);
    } else if (rc != LJ_OK) {
        return rc;
    } else {
        rc = lj_journal_from_json((const char *)buf, len, j, why, sizeof(why));
        if (rc == LJ_OK) {
            lj_log(LJ_LOG_INFO, MOD, "event=loaded state=%s", lj_journal_state_name(j->state));
            goto out;
        }
    }
    rc = lj_fs_move_aside(path, rep->aside_path, sizeof(rep->aside_path));
    if (rc != LJ_OK)
        goto out;
    rep->moved_aside = true;
    snprintf(rep->reason, sizeof(rep->reason), "%s", why);
    lj_log(LJ_LOG_WARN, MOD, "event=journal_moved_aside path=%s reason=\"%s\"", rep->aside_path,
           why);
    lj_journal_init(j);
    rc = LJ_OK;
out:
    free(buf);
    return rc;
}

/* Both saves: durable (fsync file and directory) or volatile. */
static enum lj_rc
journal_write(const char *state_dir, struct lj_journal *j, bool durable)
{
    char path[512];
    char *text = NULL;
    enum lj_rc rc;
    int64_t prev = j->updated;

    if (!lj_path_join(path, sizeof(path), state_dir, LJ_JOURNAL_FILE))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=save_failed reason=path_too_long");
    rc = lj_fs_mkdir_private(state_dir);
    if (rc != LJ_OK)
        return rc;
    j->updated = lj_clock_now();
    text = lj_journal_to_json(j);
    if (text == NULL) {
        j->updated = prev;
        return LJ_ERR_NOMEM;
    }
    rc = durable ? lj_fs_write_atomic(path, text, strlen(text), 0600)
                 : lj_fs_write_volatile(path, text, strlen(text), 0600);
    if (rc != LJ_OK)
        j->updated = prev;
    else
        lj_log(LJ_LOG_INFO, MOD, "event=saved state=%s", lj_journal_state_name(j->state));
    free(text);
    if (rc == LJ_OK)
        LJ_TEST_CRASH_POINT(lj_journal_state_name(j->state));
    return rc;
}

enum lj_rc
lj_journal_save(const char *state_dir, struct lj_journal *j)
{
    return journal_write(state_dir, j, true);
}

enum lj_rc
lj_journal_save_volatile(const char *state_dir, struct lj_journal *j)
{
    return journal_write(state_dir, j, false);
}

enum lj_rc
lj_journal_save_cert(const char *state_dir, const unsigned char *der, size_t len)
{
    char path[512];
    enum lj_rc rc;

    if (len == 0 || len > LJ_JOURNAL_MAX_CERT)
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=cert_save_failed size=%zu", len);
    if (!lj_path_join(path, sizeof(path), state_dir, LJ_JOURNAL_CERT_FILE))
        return LJ_ERR_INVAL;
    rc = lj_fs_mkdir_private(state_dir);
    if (rc != LJ_OK)
        return rc;
    rc = lj_fs_write_ordered(path, der, len, 0600);
    if (rc == LJ_OK)
        LJ_TEST_CRASH_POINT("cert_saved");
    return rc;
}

enum lj_rc
lj_journal_load_cert(const char *state_dir, unsigned char **der, size_t *len)
{
    char path[512];

    if (!lj_path_join(path, sizeof(path), state_dir, LJ_JOURNAL_CERT_FILE))
        return LJ_ERR_INVAL;
    return lj_fs_read(path, LJ_JOURNAL_MAX_CERT, der, len);
}

enum lj_rc
lj_journal_save_mdm(const char *state_dir, const unsigned char *cert, size_t cert_len,
                    const unsigned char *const *chain, const size_t *chain_len, size_t n)
{
    char path[512];
    char *pem = NULL, *one = NULL;
    size_t used = 0;
    enum lj_rc rc;

    if (cert == NULL || cert_len == 0 || cert_len > LJ_JOURNAL_MAX_CERT || (n > 0 && chain == NULL))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=mdm_save_failed size=%zu", cert_len);
    pem = calloc(1, LJ_JOURNAL_MAX_CHAIN + 1);
    if (pem == NULL)
        return LJ_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t l;

        one = tpm_pem_encode("CERTIFICATE", chain[i], chain_len[i]);
        if (one == NULL) {
            rc = LJ_ERR_NOMEM;
            goto out;
        }
        l = strlen(one);
        if (used + l > LJ_JOURNAL_MAX_CHAIN) {
            rc = lj_err_set(LJ_ERR_INVAL, MOD, "event=mdm_save_failed reason=chain_too_big");
            goto out;
        }
        memcpy(pem + used, one, l);
        used += l;
        free(one);
        one = NULL;
    }
    rc = lj_fs_mkdir_private(state_dir);
    if (rc != LJ_OK)
        goto out;
    if (!lj_path_join(path, sizeof(path), state_dir, LJ_JOURNAL_MDM_CHAIN_FILE)) {
        rc = LJ_ERR_INVAL;
        goto out;
    }
    rc = lj_fs_write_atomic(path, pem, used, 0600);
    if (rc != LJ_OK)
        goto out;
    if (!lj_path_join(path, sizeof(path), state_dir, LJ_JOURNAL_MDM_CERT_FILE)) {
        rc = LJ_ERR_INVAL;
        goto out;
    }
    rc = lj_fs_write_atomic(path, cert, cert_len, 0600);
out:
    free(one);
    free(pem);
    return rc;
}

enum lj_rc
lj_journal_remove_mdm(const char *state_dir)
{
    static const char *const files[] = {LJ_JOURNAL_MDM_CERT_FILE, LJ_JOURNAL_MDM_CHAIN_FILE};
    char path[512];
    enum lj_rc rc = LJ_OK, r;

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if (!lj_path_join(path, sizeof(path), state_dir, files[i]))
            return LJ_ERR_INVAL;
        r = lj_fs_remove(path);
        if (rc == LJ_OK)
            rc = r;
    }
    return rc;
}

enum lj_rc
lj_journal_remove(const char *state_dir)
{
    char path[512];
    enum lj_rc rc;

    if (!lj_path_join(path, sizeof(path), state_dir, LJ_JOURNAL_FILE))
        return LJ_ERR_INVAL;
    rc = lj_fs_remove(path);
    if (rc != LJ_OK)
        return rc;
    if (!lj_path_join(path, sizeof(path), state_dir, LJ_JOURNAL_CERT_FILE))
        return LJ_ERR_INVAL;
    rc = lj_fs_remove(path);
    if (rc != LJ_OK)
        return rc;
    return lj_journal_remove_mdm(state_dir);
}
