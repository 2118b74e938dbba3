/*
 * cmd_leave.c — `linkjoin leave [--local-only] [CONFIG FLAGS]`: delete this
 * device's object in Entra (DRS DELETE, authenticated by the device
 * certificate as TLS client certificate, key in the TPM), then remove the
 * local join state (agent/state/wipe.h).
 *
 * Design note: the cloud goes first and local state is removed only after
 * the cloud said the object is gone (deleted now, or not found: deleted
 * before), so a failed leave can always be retried with the same keys.
 * Anything else stops with nothing removed; --local-only removes local
 * state without asking the cloud and prints the device id that remains.
 * The DELETE URL is drs_url + /EnrollmentServer/device/{id}?api-version=1.0
 * (the journal does not record the discovered join endpoint; drs_url is
 * the same host for Entra's public cloud).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/net/cfgmap.h"
#include "agent/cli/cmd.h"
#include "agent/cli/exit.h"
#include "agent/core/config.h"
#include "agent/proto/drs.h"
#include "agent/core/exitcodes.h"
#include "agent/net/http.h"
#include "agent/state/journal.h"
#include "agent/state/wipe.h"
#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "tpm/tpm.h"
#include "platform/common/elapsed.h"
#include "platform/common/text.h"

#define MOD "leave"
#define P "linkjoin leave: "

static void
leave_usage(FILE *f)
{
    fprintf(
        f, "usage: linkjoin leave [--local-only] [--config FILE] [--state-dir DIR] [CONFIG FLAGS]\n"
           "\n"
           "Deletes this device's object in Microsoft Entra (authenticated with the device\n"
           "certificate; its key stays in the TPM), then removes the local join: device\n"
           "keys, certificate, journal, sealed tokens, MDM state and the boot markers.\n"
           "If the cloud cannot be reached nothing is removed.\n"
           "\n"
           "  --local-only   remove local state without contacting the cloud; the device\n"
           "                 object remains (its id is printed for an administrator)\n"
           "  -h, --help     this text\n"
           "\n"
           "exit codes: 0 left (or the cloud object was already gone), 2 usage, 3 configuration,\n"
           "4 TPM failure, 5 cloud unreachable or busy (nothing removed), 7 the cloud refused\n"
           "the deletion (nothing removed), 8 unexpected cloud answer, 12 not joined,\n"
           "13 local state unusable or a device key of an older template (use --local-only),\n"
           "17 another linkjoin command is using the state directory (nothing done).\n");
}

struct leave {
    struct lj_config cfg;
    struct lj_journal j;
    bool journal_ok;
    char journal_problem[200];
    unsigned char *cert;
    size_t cert_len;
    bool local_only;
};

/* Read the journal without changing it (no move-aside here: that is run's). */
static void
read_state(struct leave *l)
{
    char path[512];
    unsigned char *buf = NULL;
    size_t len = 0;
    enum lj_rc rc;

    lj_journal_init(&l->j);
    if (!lj_path_join(path, sizeof(path), l->cfg.state_dir, LJ_JOURNAL_FILE)) {
        snprintf(l->journal_problem, sizeof(l->journal_problem), "path too long");
    } else if ((rc = lj_fs_read(path, LJ_JOURNAL_MAX_BYTES, &buf, &len)) == LJ_ERR_NOT_FOUND) {
        l->journal_ok = true;
    } else if (rc != LJ_OK) {
        snprintf(l->journal_problem, sizeof(l->journal_problem), "unreadable (%s)", lj_rc_name(rc));
    } else if (lj_journal_from_json((const char *)buf, len, &l->j, l->journal_problem,
                                    sizeof(l->journal_problem)) == LJ_OK) {
        l->journal_ok = true;
    } else {
        lj_journal_init(&l->j);
    }
    free(buf);
    if (lj_journal_load_cert(l->cfg.state_dir, &l->cert, &l->cert_len) != LJ_OK) {
        l->cert = NULL;
        l->cert_len = 0;
    }
}

/*
 * The TLS client-authentication signature (agent/net/http.h) made by the
 * device key in tpm/: RSA-PSS or PKCS#1 v1.5 with SHA-256, -384 or -512.
 * A key of the RSASSA-only template of earlier versions is refused by
 * tpm/ for anything but rsa_pkcs1_sha256 (LJ_ERR_KEY_SCHEME: exit 13,
 * reason device_key_outdated, tpm_failed).
 */
static enum lj_rc
tpm_sign_adapter(void *arg, enum lj_http_sig scheme, enum lj_http_hash hash,
                 const unsigned char *digest, unsigned char *sig, size_t *sig_len)
{
    enum tpm_hash th;

    switch (hash) {
    case LJ_HTTP_SHA256: th = TPM_HASH_SHA256; break;
    case LJ_HTTP_SHA384: th = TPM_HASH_SHA384; break;
    case LJ_HTTP_SHA512: th = TPM_HASH_SHA512; break;
    default: return lj_err_set(LJ_ERR_INVAL, MOD, "event=sign_failed reason=unknown_hash");
    }
    return tpm_sign(arg, scheme == LJ_HTTP_SIG_PSS ? TPM_SIG_RSAPSS : TPM_SIG_RSASSA, th, digest,
                    sig, sig_len);
}

static int
wipe_and_say(struct leave *l, const char *how)
{
    struct lj_wipe_report rep;
    enum lj_rc rc = lj_wipe_state(l->cfg.state_dir, &rep);

    if (rc != LJ_OK) {
        fprintf(stderr, P "%s, but removing local state failed: %s\n", how, rep.failed);
        return LJ_EXIT_FAILURE;
    }
    printf("%s; local join state removed from %s (%u files).\n", how, l->cfg.state_dir,
           rep.removed);
    lj_cmd_print_orphans(&rep, l->j.device_id[0] != '\0' ? l->j.device_id : NULL);
    return LJ_EXIT_OK;
}

/*
 * A TPM-side or key-state failure before the DELETE went out (or a server
 * that asks for a signature the key does not make): the taxonomy
 * sentence, what it means for leave, and the exit status (lj_cli_exit_for).
 * host: the server of the handshake the key could not sign for, or NULL.
 */
static int
tpm_failed(const struct leave *l, enum lj_rc rc, const char *host)
{
    struct lj_error_params ep = {.host = host};
    const char *why;

    switch (rc) {
    case LJ_ERR_TPM_UNREACHABLE: why = "the TPM is unreachable"; break;
    case LJ_ERR_TPM_LOCKOUT: why = "the TPM is in dictionary-attack lockout"; break;
    case LJ_ERR_TPM_WRONG_TPM:
        why = "the device keys belong to a different TPM (or this TPM was cleared)";
        break;
    case LJ_ERR_TPM_KEYS_LOST:
        why = "the device keys were made by an older version and can no longer be used";
        break;
    case LJ_ERR_KEYS_CORRUPT: why = "the device key files are corrupt"; break;
    case LJ_ERR_STATE: why = "the device certificate is not for the device key in the TPM"; break;
    case LJ_ERR_KEY_SCHEME:
        why = "the device key (made with the RSASSA-only template of earlier versions) cannot "
              "make the signature the server asks for";
        break;
    case LJ_ERR_SIG_UNSUPPORTED:
        why = "the server asks for a TLS client signature the device key does not make";
        break;
    default: why = "the TPM failed"; break;
    }
    lj_cli_say(stderr, "leave", rc, &ep);
    fprintf(stderr,
            P "%s, so the device cannot prove itself to the cloud. Nothing was removed.\n"
              "  `linkjoin leave --local-only` removes local state; the device object %s then\n"
              "  remains in the cloud for an administrator to delete.\n",
            why, l->j.device_id);
    return lj_cli_exit_for(rc);
}

/* The cloud part: DELETE with the device certificate. */
static int
leave_cloud(struct leave *l)
{
    struct tpm_open_opts to;
    struct tpm_ctx *t = NULL;
    struct lj_http *h = NULL;
    struct lj_http_config hc;
    struct lj_cfg_proxy px;
    struct lj_http_client_cert cc;
    struct lj_http_request req;
    struct lj_http_response resp;
    struct drs_error e;
    const char *ct[LJ_CONFIG_MAX_CONNECT_TO];
    unsigned char *spki = NULL;
    size_t spki_len = 0;
    char url[LJ_CONFIG_URL_MAX + 128], host[256] = "";
    long port = 443;
    bool created = false;
    struct timespec t0;
    enum lj_rc rc;
    int ex = LJ_EXIT_FAILURE;

    memset(&resp, 0, sizeof(resp));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!tpm_keys_present(l->cfg.state_dir)) {
        fprintf(stderr,
                P "the device keys are missing from %s, so the device cannot prove itself to\n"
                  "  the cloud. Nothing was removed. `linkjoin leave --local-only` removes local\n"
                  "  state; the device object %s then remains for an administrator to delete.\n",
                l->cfg.state_dir, l->j.device_id);
        return LJ_EXIT_STATE;
    }
    lj_cfg_tpm_opts(&l->cfg, true, &to);
    rc = tpm_open(&to, &t);
    if (rc == LJ_OK)
        rc = tpm_keys_ensure(t, &created); /* present: loads, never creates */
    if (rc == LJ_OK && created)
        rc = lj_err_set(LJ_ERR_STATE, MOD, "event=keys_vanished");
    if (rc == LJ_OK)
        rc = tpm_device_spki(t, &spki, &spki_len);
    if (rc != LJ_OK) {
        ex = tpm_failed(l, rc, NULL);
        goto out;
    }

    memset(&cc, 0, sizeof(cc));
    cc.cert_der = l->cert;
    cc.cert_len = l->cert_len;
    cc.sign = tpm_sign_adapter;
    cc.pss = true;
    cc.sign_arg = t;
    cc.key_spki = spki;
    cc.key_spki_len = spki_len;
    lj_cfg_http(&l->cfg, ct, &hc);
    hc.max_body = 64 * 1024;
    hc.client_cert = &cc;
    rc = lj_cfg_proxy(&l->cfg, &px, &hc);
    if (rc == LJ_OK)
        rc = lj_http_new(&hc, &h);
    if (rc == LJ_ERR_PROXY || rc == LJ_ERR_PROXY_AUTH)
        fprintf(stderr, P "proxy %s: %s\n", px.url, px.error);
    lj_cfg_proxy_wipe(&px);
    if (rc != LJ_OK) {
        if (rc == LJ_ERR_STATE || rc == LJ_ERR_PARSE) {
            ex = tpm_failed(l, LJ_ERR_STATE, NULL);
        } else {
            lj_cli_say(stderr, "leave", rc, NULL);
            ex = lj_cli_exit_for(rc);
        }
        goto out;
    }
    if ((size_t)snprintf(url, sizeof(url), "%s/EnrollmentServer/device/%s?api-version=1.0",
                         l->cfg.drs_url, l->j.device_id) >= sizeof(url)) {
        fprintf(stderr, P "drs_url is too long\n");
        ex = LJ_EXIT_CONFIG;
        goto out;
    }
    (void)lj_http_url_host(url, host, sizeof(host), &port);
    memset(&req, 0, sizeof(req));
    req.method = "DELETE";
    req.url = url;
    rc = lj_http_do(h, &req, &resp);
    if (rc != LJ_OK) {
        ex = lj_cli_exit_for(rc);
        if (ex == LJ_EXIT_TPM || ex == LJ_EXIT_STATE || rc == LJ_ERR_SIG_UNSUPPORTED) {
            ex = tpm_failed(l, rc, host);
        } else {
            struct lj_error_params ep = {.host = host, .what = lj_error_net_what(rc)};

            lj_cli_say(stderr, "leave", rc, &ep);
            fprintf(stderr,
                    P "cannot reach the cloud: %s. Nothing was removed; the device is still\n"
                      "  joined. Try again when the network is back, or use --local-only\n"
                      "  (the device object %s then remains in the cloud).\n",
                    resp.error, l->j.device_id);
        }
        goto out;
    }
    lj_log(LJ_LOG_INFO, MOD, "event=delete_answered status=%ld device_id=%s ms=%ld", resp.status,
           l->j.device_id, lj_elapsed_ms(&t0));
    drs_error_parse(resp.status, resp.body, resp.body_len, &e);
    if (resp.status == 200 || resp.status == 204) {
        char how[160];
        snprintf(how, sizeof(how), "device %s deleted from the cloud", l->j.device_id);
        ex = wipe_and_say(l, how);
    } else if (drs_device_not_found(&e, l->j.device_id)) {
        /* Only DRS's own "device not found" for this id: any other 404 (a
         * wrong drs_url path, a front end) keeps the keys (exit 8 below). */
        char how[200];
        snprintf(how, sizeof(how),
                 "the cloud has no device object %s (already deleted), so there was nothing "
                 "to delete there",
                 l->j.device_id);
        ex = wipe_and_say(l, how);
    } else if (resp.status == 429 || resp.status >= 500) {
        fprintf(stderr,
                P "%s:%ld is busy or unavailable (HTTP %ld%s%s). Nothing was removed; try again\n"
                  "  later%s.\n",
                host, port, resp.status, e.message[0] ? ": " : "", e.message,
                resp.retry_after >= 0 ? " (the service asked to wait)" : "");
        ex = LJ_EXIT_NETWORK;
    } else if (resp.status == 401 || resp.status == 403) {
        fprintf(stderr,
                P
                "the cloud refused to delete device %s with this device certificate\n"
                "  (HTTP %ld %s: %s). Nothing was removed. An administrator can delete the\n"
                "  device in Entra; then `linkjoin leave` (or --local-only) removes local state.\n",
                l->j.device_id, resp.status, e.error_type[0] ? e.error_type : "-",
                e.message[0] ? e.message : "no message");
        ex = LJ_EXIT_POLICY;
    } else {
        fprintf(stderr,
                P "unexpected answer from %s:%ld to the delete (HTTP %ld %s: %s). Nothing was\n"
                  "  removed.\n",
                host, port, resp.status, e.error_type[0] ? e.error_type : "-",
                e.message[0] ? e.message : "no message");
        if (resp.status == 404)
            fprintf(stderr, P "a 404 that is not DRS's \"device not found\" answer for this "
                              "device: check\n  drs_url. The device object may still exist; "
                              "the keys were kept.\n");
        ex = LJ_EXIT_SERVICE;
    }
out:
    lj_http_response_free(&resp);
    lj_http_free(h); /* before the TPM: its connections may still hold the key */
    tpm_close(t);
    free(spki);
    return ex;
}

int
cmd_leave(int argc, char **argv)
{
    struct leave l;
    static const char *const opts[] = {"--local-only", NULL};
    bool seen[1] = {false};
    int ex, lock = -1;
    bool joined;

    memset(&l, 0, sizeof(l));
    ex = lj_cmd_args("leave", argc, argv, leave_usage, opts, seen, &l.cfg);
    if (ex >= 0)
        return ex;
    l.local_only = seen[0];
    ex = lj_cmd_lock_state("leave", l.cfg.state_dir, false, &lock);
    if (ex >= 0)
        goto out;
    read_state(&l);
    joined = l.journal_ok && l.j.state >= LJ_JS_JOINED;
    if (!joined && l.cert == NULL && l.journal_ok) {
        fprintf(stderr, P "this device is not joined (no join in %s); nothing to leave.%s\n",
                l.cfg.state_dir,
                lj_wipe_anything(l.cfg.state_dir)
                    ? "\n  Leftovers of an unfinished join are there: `linkjoin factory-reset` "
                      "removes them."
                    : "");
        ex = LJ_EXIT_NOT_JOINED;
        goto out;
    }
    if (l.local_only) {
        char how[400];
        if (l.j.device_id[0] != '\0')
            snprintf(how, sizeof(how),
                     "the device object %s remains in the cloud (tenant %s): an administrator "
                     "can delete it in Entra",
                     l.j.device_id, l.j.tenant_id[0] ? l.j.tenant_id : "unknown");
        else
            snprintf(how, sizeof(how),
                     "the device id is unknown (journal %s); a device object may remain in the "
                     "cloud",
                     l.journal_ok ? "incomplete" : l.journal_problem);
        ex = wipe_and_say(&l, how);
        goto out;
    }
    if (!joined || l.cert == NULL || !lj_is_guid(l.j.device_id)) {
        fprintf(stderr,
                P "the local join state in %s is incomplete (%s), so the cloud object cannot be\n"
                  "  deleted from here. Nothing was removed. `linkjoin leave --local-only`\n"
                  "  removes local state.\n",
                l.cfg.state_dir,
                !l.journal_ok    ? l.journal_problem
                : l.cert == NULL ? "device certificate missing"
                : !joined        ? "the journal does not record a finished join"
                                 : "no device id in the journal");
        ex = LJ_EXIT_STATE;
        goto out;
    }
    ex = leave_cloud(&l);
out:
    lj_fs_unlock_dir(lock);
    free(l.cert);
    if (ex == LJ_EXIT_OK && fflush(stdout) != 0)
        ex = LJ_EXIT_FAILURE;
    return ex;
}
