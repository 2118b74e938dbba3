/*
 * health.c — read-only TPM checks: health for the join flow's preflight,
 * and the checks of `linkjoin factory-test` (self-test, random, EK
 * certificates, an ephemeral key round trip).  None of them loads or
 * touches the device keys; the ephemeral key lives in the null hierarchy
 * and is flushed before the call returns.  Every call runs as a job on the
 * tpm_ctx worker (tpm/worker.c); the provider does the TPM work
 * (tpm/esys_health.c).
 */
#include "tpm/tpm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "tpm/backend.h"
#include "platform/common/elapsed.h"

static enum lj_rc
unsupported(const struct tpm_ctx *t, const char *what)
{
    return lj_err_set(LJ_ERR_UNSUPPORTED, TPM_MOD, "event=%s_unsupported provider=%s", what,
                      t->ops->name);
}

static enum lj_rc
job_health(struct tpm_ctx *t, void *arg)
{
    struct tpm_health *h = arg;

    if (t->ops->health == NULL) {
        /* The soft provider: nothing to ask, and it says so. */
        memset(h, 0, sizeof(*h));
        snprintf(h->family, sizeof(h->family), "soft");
        snprintf(h->manufacturer, sizeof(h->manufacturer), "SOFT");
        snprintf(h->firmware, sizeof(h->firmware), "0.0.0.0");
        h->self_test_ok = true;
        return LJ_OK;
    }
    return t->ops->health(t->be, h);
}

enum lj_rc
tpm_health(struct tpm_ctx *t, struct tpm_health *out)
{
    struct tpm_health h;
    enum lj_rc rc = tpm_run(t, job_health, &h);

    if (rc == LJ_OK)
        *out = h;
    return rc;
}

enum lj_rc
tpm_preflight(struct tpm_ctx *t, struct tpm_health *out)
{
    struct tpm_health h;
    enum lj_rc rc = tpm_health(t, &h);

    if (rc != LJ_OK)
        return rc;
    if (out != NULL)
        *out = h;
    if (!h.tpm_protected)
        return LJ_OK;
    if (strcmp(h.family, "2.0") != 0)
        return lj_err_set(LJ_ERR_TPM, TPM_MOD,
                          "event=preflight_failed reason=not a TPM 2.0 family=\"%s\"", h.family);
    if (!h.self_test_ok)
        return lj_err_set(LJ_ERR_TPM, TPM_MOD,
                          "event=preflight_failed reason=self-test failed test_result=0x%x",
                          h.self_test_rc);
    if (h.in_lockout)
        return lj_err_set(LJ_ERR_TPM_LOCKOUT, TPM_MOD,
                          "event=preflight_failed reason=TPM is in dictionary-attack lockout "
                          "lockout_counter=%u max_tries=%u recovery_s=%u",
                          h.lockout_counter, h.max_tries, h.recovery_s);
    lj_log(LJ_LOG_INFO, TPM_MOD,
           "event=tpm_preflight_ok family=%s manufacturer=\"%s\" firmware=%s "
           "lockout_counter=%u max_tries=%u",
           h.family, h.manufacturer, h.firmware, h.lockout_counter, h.max_tries);
    return LJ_OK;
}

static enum lj_rc
job_selftest(struct tpm_ctx *t, void *arg)
{
    const bool *full = arg;

    if (t->ops->selftest == NULL)
        return LJ_OK; /* soft: nothing to test */
    return t->ops->selftest(t->be, *full);
}

enum lj_rc
tpm_selftest(struct tpm_ctx *t, bool full)
{
    return tpm_run(t, job_selftest, &full);
}

struct random_args {
    unsigned char *buf;
    size_t n;
};

static enum lj_rc
job_random(struct tpm_ctx *t, void *arg)
{
    struct random_args *a = arg;

    if (t->ops->random == NULL)
        return unsupported(t, "random");
    return t->ops->random(t->be, a->buf, a->n);
}

enum lj_rc
tpm_random(struct tpm_ctx *t, unsigned char *buf, size_t n)
{
    struct random_args a = {.buf = buf, .n = n};

    if (buf == NULL || n == 0 || n > 1024)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=random_failed reason=bad_length");
    return tpm_run(t, job_random, &a);
}

static enum lj_rc
job_parent_hold(struct tpm_ctx *t, void *arg)
{
    if (t->ops->parent_hold != NULL)
        t->ops->parent_hold(t->be, *(bool *)arg);
    return LJ_OK;
}

static enum lj_rc
job_hold_prepare(struct tpm_ctx *t, void *arg)
{
    (void)arg;
    if (t->ops->hold_prepare != NULL)
        t->ops->hold_prepare(t->be);
    return LJ_OK;
}

void
tpm_hold_prepare_start(struct tpm_ctx *t)
{
    if (t == NULL || t->ops->hold_prepare == NULL)
        return;
    if (t->prep_pending) {
        /* collected here: a finished one frees the job for this call */
        if (!tpm_job_done_wait(t, &t->prep_job))
            return;
        t->prep_pending = false;
    }
    memset(&t->prep_job, 0, sizeof(t->prep_job));
    t->prep_job.fn = job_hold_prepare;
    t->prep_pending = true;
    tpm_job_post(t, &t->prep_job);
}

enum lj_rc
tpm_parent_hold(struct tpm_ctx *t, bool on)
{
    if (t == NULL)
        return LJ_ERR_INVAL;
    return tpm_run(t, job_parent_hold, &on);
}

struct ek_args {
    struct tpm_ek_cert *out;
    size_t n;
};

static enum lj_rc
job_ek_certs(struct tpm_ctx *t, void *arg)
{
    struct ek_args *a = arg;

    if (t->ops->ek_certs == NULL)
        return unsupported(t, "ek_certs");
    return t->ops->ek_certs(t->be, a->out, &a->n);
}

enum lj_rc
tpm_ek_certs(struct tpm_ctx *t, struct tpm_ek_cert out[TPM_EK_CERT_MAX], size_t *n)
{
    struct tpm_ek_cert tmp[TPM_EK_CERT_MAX];
    struct ek_args a = {.out = tmp, .n = 0};
    enum lj_rc rc;

    memset(tmp, 0, sizeof(tmp));
    rc = tpm_run(t, job_ek_certs, &a);
    if (rc != LJ_OK) {
        tpm_ek_certs_free(tmp, TPM_EK_CERT_MAX);
        return rc;
    }
    memcpy(out, tmp, sizeof(tmp));
    *n = a.n;
    return LJ_OK;
}

void
tpm_ek_certs_free(struct tpm_ek_cert *c, size_t n)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(c[i].der);
        c[i].der = NULL;
        c[i].len = 0;
    }
}

struct eph_args {
    unsigned char dig[32];
    struct tpm_ecc_sig sig;
};

static enum lj_rc
job_eph(struct tpm_ctx *t, void *arg)
{
    struct eph_args *a = arg;

    if (t->ops->eph_sign == NULL)
        return unsupported(t, "ephemeral_key");
    return t->ops->eph_sign(t->be, a->dig, &a->sig);
}

enum lj_rc
tpm_ephemeral_check(struct tpm_ctx *t, char *detail, size_t dsz)
{
    struct eph_args a;
    struct timespec t0;
    enum lj_rc rc;
    long vms;

    memset(&a, 0, sizeof(a));
    snprintf(detail, dsz, "not run");
    rc = tpm_random(t, a.dig, sizeof(a.dig));
    if (rc != LJ_OK)
        return rc;
    rc = tpm_run(t, job_eph, &a);
    if (rc != LJ_OK) {
        snprintf(detail, dsz, "TPM create/sign failed (%s)", lj_rc_name(rc));
        return rc;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!tpm_ecdsa_p256_verify(&a.sig, a.dig)) {
        snprintf(detail, dsz, "ECDSA P-256 signature from the TPM does not verify");
        return lj_err_set(LJ_ERR_TPM, TPM_MOD,
                          "event=ephemeral_check_failed reason=signature does not verify");
    }
    a.dig[0] ^= 0x01;
    if (tpm_ecdsa_p256_verify(&a.sig, a.dig)) {
        snprintf(detail, dsz, "signature verifies over a changed digest");
        return lj_err_set(LJ_ERR_INTERNAL, TPM_MOD,
                          "event=ephemeral_check_failed reason=verifier accepts any digest");
    }
    vms = lj_elapsed_ms(&t0);
    snprintf(detail, dsz,
             "ECC P-256 null-hierarchy key: create %ld ms, sign %ld ms, verify %ld ms; flushed",
             a.sig.create_ms, a.sig.sign_ms, vms);
    return LJ_OK;
}

static enum lj_rc
job_transient(struct tpm_ctx *t, void *arg)
{
    unsigned *n = arg;

    if (t->ops->transient_count == NULL) {
        *n = 0;
        return LJ_OK;
    }
    return t->ops->transient_count(t->be, n);
}

enum lj_rc
tpm_transient_count(struct tpm_ctx *t, unsigned *n)
{
    unsigned c = 0;
    enum lj_rc rc = tpm_run(t, job_transient, &c);

    if (rc == LJ_OK)
        *n = c;
    return rc;
}
