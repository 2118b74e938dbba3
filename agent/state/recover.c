/*
 * recover.c — reconcile the journal with what the state directory and the
 * TPM prove (see recover.h for the decisions).
 *
 * Design note: the stored certificate is re-checked by wrapping it as a
 * DRS join answer and handing it to drs_join_response_parse, so exactly
 * the checks that accepted it on arrival (device key, CN = device id,
 * extensions, thumbprint) decide whether it proves a join; there is no
 * second X.509 reader here.  This module opens its own short-lived TPM
 * context so the flow's context (and its background keygen) is untouched.
 */
#include "agent/state/recover.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/net/cfgmap.h"
#include "agent/proto/drs.h"
#include "agent/state/marker.h"
#include "platform/common/b64.h"
#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "tpm/tpm.h"

#define MOD "recover"

const char *
lj_recover_action_name(enum lj_recover_action a)
{
    switch (a) {
    case LJ_RECOVER_RESUME: return "resume";
    case LJ_RECOVER_RETRY: return "retry";
    case LJ_RECOVER_JOINED_FROM_CERT: return "joined_from_cert";
    case LJ_RECOVER_KEYS_LOST: return "keys_lost";
    case LJ_RECOVER_NONE:
    default: return "none";
    }
}

enum lj_rc
lj_recover_keys_check(const struct lj_config *cfg, unsigned char **spki, size_t *spki_len)
{
    struct tpm_open_opts to;
    struct tpm_ctx *t = NULL;
    unsigned char *der = NULL;
    size_t der_len = 0;
    enum lj_rc rc;

    if (!tpm_keys_present(cfg->state_dir))
        return LJ_ERR_NOT_FOUND;
    lj_cfg_tpm_opts(cfg, true, &to);
    rc = tpm_open(&to, &t);
    if (rc != LJ_OK)
        goto out;
    rc = tpm_keys_ensure(t, NULL);
    if (rc == LJ_ERR_TPM_WRONG_TPM)
        rc = LJ_ERR_TPM_KEYS_LOST;
    if (rc == LJ_OK && spki != NULL)
        rc = tpm_device_spki(t, &der, &der_len);
    if (rc == LJ_OK && spki != NULL) {
        *spki = der;
        *spki_len = der_len;
        der = NULL;
    }
out:
    lj_log(rc == LJ_OK ? LJ_LOG_INFO : LJ_LOG_WARN, MOD, "event=keys_checked rc=%s",
           lj_rc_name(rc));
    free(der);
    tpm_close(t);
    return rc;
}

/*
 * Does the certificate DER carry the key spki?  LJ_OK with *res filled
 * (free with drs_join_result_free); otherwise LJ_ERR_PROTOCOL/NOMEM and
 * why names the reason.
 */
static enum lj_rc
cert_proves_join(const unsigned char *cert, size_t cert_len, const unsigned char *spki,
                 size_t spki_len, struct drs_join_result *res, enum drs_reject *why)
{
    unsigned char sha1[WC_SHA_DIGEST_SIZE];
    char thumb[2 * WC_SHA_DIGEST_SIZE + 1];
    struct drs_join_verify v;
    char *b64 = NULL, *body = NULL;
    size_t blen;
    enum lj_rc rc = LJ_ERR_NOMEM;

    if (wc_ShaHash(cert, (word32)cert_len, sha1) != 0)
        return LJ_ERR_CRYPTO;
    for (size_t i = 0; i < sizeof(sha1); i++)
        snprintf(thumb + 2 * i, 3, "%02X", sha1[i]);
    b64 = lj_b64_encode(cert, cert_len, LJ_B64_STD, NULL);
    if (b64 == NULL)
        goto out;
    blen = strlen(b64) + 128;
    body = malloc(blen);
    if (body == NULL)
        goto out;
    snprintf(body, blen, "{\"Certificate\":{\"Thumbprint\":\"%s\",\"RawBody\":\"%s\"}}", thumb,
             b64);
    memset(&v, 0, sizeof(v));
    v.key.spki_der = spki;
    v.key.spki_len = spki_len;
    v.issuer_cn = DRS_ISSUER_CN;
    rc = drs_join_response_parse(body, strlen(body), &v, res, why);
out:
    free(b64);
    free(body);
    return rc;
}

static void
copy(char *dst, size_t dsz, const char *src)
{
    snprintf(dst, dsz, "%s", src != NULL ? src : "");
}

/* Lower-case hex SHA-256 of the device key's SPKI, as journal.h defines join_fingerprint. */
static enum lj_rc
spki_fingerprint(const unsigned char *spki, size_t len, char *out, size_t osz)
{
    unsigned char d[WC_SHA256_DIGEST_SIZE];

    if (osz < 2 * sizeof(d) + 1 || wc_Sha256Hash(spki, (word32)len, d) != 0)
        return LJ_ERR_CRYPTO;
    for (size_t i = 0; i < sizeof(d); i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    return LJ_OK;
}

/* Move the whole state aside and start again as a new device. */
static enum lj_rc
keys_lost(const struct lj_config *cfg, struct lj_journal *j, struct lj_recover_report *rep,
          const char *why)
{
    enum lj_rc rc;

    rc = lj_fs_move_files_aside(cfg->state_dir, "lost", rep->aside_dir, sizeof(rep->aside_dir));
    if (rc != LJ_OK)
        return rc;
    lj_log(LJ_LOG_WARN, MOD, "event=state_moved_aside reason=\"%s\" old_state=%s aside=%s", why,
           lj_journal_state_name(j->state), rep->aside_dir);
    rep->action = LJ_RECOVER_KEYS_LOST;
    /* plain words on the screen; the cause and the kept files are in the log line above */
    snprintf(rep->notice, sizeof(rep->notice),
             "The security keys from an earlier setup no longer work on this device, so it is "
             "being set up again as a new device");
    lj_journal_init(j);
    return LJ_OK;
}

enum lj_rc
lj_recover(const struct lj_config *cfg, struct lj_journal *j, struct lj_recover_report *rep)
{
    char cert_path[512];
    unsigned char *spki = NULL, *cert = NULL;
    size_t spki_len = 0, cert_len = 0;
    struct drs_join_result res;
    enum drs_reject why = DRS_REJECT_NONE;
    bool have_cert, have_res = false;
    enum lj_rc rc = LJ_OK, krc;

    memset(rep, 0, sizeof(*rep));
    memset(&res, 0, sizeof(res));
    if (!lj_path_join(cert_path, sizeof(cert_path), cfg->state_dir, LJ_JOURNAL_CERT_FILE))
        return LJ_ERR_INVAL;
    have_cert = lj_fs_exists(cert_path);
    if (!tpm_keys_present(cfg->state_dir)) {
        if (j->state >= LJ_JS_KEYS_READY || have_cert)
            rc = keys_lost(cfg, j, rep, "the key record is missing from the state directory");
        goto out;
    }
    krc = lj_recover_keys_check(cfg, &spki, &spki_len);
    if (krc == LJ_ERR_TPM_KEYS_LOST) {
        rc = keys_lost(cfg, j, rep,
                       tpm_keys_record_old(cfg->state_dir)
                           ? "they were made by an older version with key settings that can no "
                             "longer be used"
                           : "the TPM cannot load them: it was cleared or replaced");
        goto out;
    }
    if (krc != LJ_OK)
        goto out; /* the flow meets the same problem and reports it exactly */
    if (j->state < LJ_JS_JOINED && have_cert) {
        rc = lj_journal_load_cert(cfg->state_dir, &cert, &cert_len);
        if (rc == LJ_OK)
            rc = cert_proves_join(cert, cert_len, spki, spki_len, &res, &why);
        have_res = rc == LJ_OK;
        if (rc != LJ_OK) {
            char aside[600] = "";

            lj_log(LJ_LOG_WARN, MOD, "event=cert_not_ours why=%s rc=%s", drs_reject_name(why),
                   lj_rc_name(rc));
            rc = lj_fs_move_aside(cert_path, aside, sizeof(aside));
            if (rc != LJ_OK)
                goto out;
            lj_log(LJ_LOG_WARN, MOD, "event=cert_moved_aside path=%s", aside);
        } else {
            enum lj_journal_state was = j->state;

            copy(j->device_id, sizeof(j->device_id), res.device_id);
            if (res.tenant_id[0] != '\0')
                copy(j->tenant_id, sizeof(j->tenant_id), res.tenant_id);
            copy(j->cert_thumbprint, sizeof(j->cert_thumbprint), res.thumbprint);
            rc = spki_fingerprint(spki, spki_len, j->join_fingerprint, sizeof(j->join_fingerprint));
            if (rc != LJ_OK)
                goto out;
            lj_journal_set_state(j, LJ_JS_JOINED);
            lj_journal_clear_error(j);
            rc = lj_journal_save(cfg->state_dir, j);
            if (rc == LJ_OK)
                rc = lj_marker_sync(cfg->state_dir, j->state);
            if (rc != LJ_OK)
                goto out;
            rep->action = LJ_RECOVER_JOINED_FROM_CERT;
            snprintf(rep->notice, sizeof(rep->notice),
                     "Setup was interrupted after the device joined; the join is complete");
            lj_log(LJ_LOG_WARN, MOD, "event=joined_from_cert was=%s device_id=%s",
                   lj_journal_state_name(was), j->device_id);
            goto out;
        }
    }
    if (j->state >= LJ_JS_KEYS_READY && j->state < LJ_JS_JOINED) {
        if (j->has_error) {
            rep->action = LJ_RECOVER_RETRY;
            snprintf(rep->notice, sizeof(rep->notice),
                     "Setup stopped last time before it finished; trying again");
        } else {
            rep->action = LJ_RECOVER_RESUME;
            snprintf(rep->notice, sizeof(rep->notice),
                     "Setup was interrupted earlier; continuing where it stopped");
        }
        lj_log(LJ_LOG_WARN, MOD, "event=%s state=%s last_reason=%s",
               lj_recover_action_name(rep->action), lj_journal_state_name(j->state),
               j->has_error ? j->last_error.reason : "-");
    }
out:
    if (have_res)
        drs_join_result_free(&res);
    free(cert);
    free(spki);
    return rc;
}
