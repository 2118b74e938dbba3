/*
 * worker.c — the tpm_ctx: its worker thread and FIFO job queue, the bounded
 * waits on the TPM, and tpm_open/tpm_close.
 *
 * Design note.
 * - Ownership: a struct tpm_ctx owns one worker thread, and that thread owns
 *   the provider state (the ESAPI context for the TPM provider).  Public
 *   calls put a job on a FIFO queue and wait for it; tpm_keys_ensure_start
 *   and tpm_csr_start queue without waiting, so the join flow can start
 *   keygen and the join CSR's signature at boot and collect both after
 *   sign-in.  Errors recorded on the worker are handed to
 *   the caller's thread with lj_err_adopt (logged once, where they happen).
 * - Bounded waits (tpm.h): the worker marks each TPM exchange with
 *   tpm_io_begin/tpm_io_end (esys.c wraps the TCTI).  A waiting caller
 *   sleeps on the condition variable with the exchange's deadline
 *   (CLOCK_MONOTONIC); past it, still under the mutex, it sets t->hung and
 *   returns LJ_ERR_TPM_UNREACHABLE.  Deciding under the mutex makes the
 *   race with a late answer safe: tpm_io_end takes the same mutex and,
 *   when hung is set, parks the worker for good instead of returning into
 *   the job, so an abandoned job's memory (often the caller's stack) is
 *   never written again.  A hung context is never joined nor freed (the
 *   worker may still be inside the TCTI); the process's exit ends it.  The
 *   worker blocks every signal, so SIGTERM/SIGINT always reach the
 *   threads that wait for them.
 */
#include "tpm/backend.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform/common/fsutil.h"
#include "platform/common/log.h"

/* ---- worker ---------------------------------------------------------- */

static void *
worker_main(void *arg)
{
    struct tpm_ctx *t = arg;
    struct tpm_job *j;

    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (t->head == NULL && !t->stop)
            pthread_cond_wait(&t->cv, &t->mu);
        if (t->head == NULL)
            break;
        j = t->head;
        t->head = j->next;
        if (t->head == NULL)
            t->tail = NULL;
        pthread_mutex_unlock(&t->mu);

        lj_err_clear();
        j->rc = j->fn(t, j->arg);
        j->err_code = lj_err_code();
        snprintf(j->err, sizeof(j->err), "%s", lj_err_detail());

        pthread_mutex_lock(&t->mu);
        j->done = true;
        pthread_cond_broadcast(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

void
tpm_io_begin(struct tpm_ctx *t)
{
    pthread_mutex_lock(&t->mu);
    t->io_busy = true;
    clock_gettime(CLOCK_MONOTONIC, &t->io_start);
    pthread_cond_broadcast(&t->cv); /* waiters arm the deadline */
    pthread_mutex_unlock(&t->mu);
}

void
tpm_io_end(struct tpm_ctx *t)
{
    pthread_mutex_lock(&t->mu);
    t->io_busy = false;
    if (t->hung) {
        /*
         * A caller gave up on this exchange and its job's memory may be
         * gone: never return into the job.  Every signal is blocked in
         * this thread, so this waits until the process ends.
         */
        lj_log(LJ_LOG_WARN, TPM_MOD, "event=tpm_late_answer_ignored");
        for (;;)
            pthread_cond_wait(&t->cv, &t->mu);
    }
    pthread_mutex_unlock(&t->mu);
}

#define HUNG_FMT                                                                                   \
    "event=tpm_timeout tcti=\"%s\" timeout_s=%ld reason=the TPM did not answer "                   \
    "a command within %ld s"

void
tpm_job_post(struct tpm_ctx *t, struct tpm_job *j)
{
    j->done = false;
    j->next = NULL;
    pthread_mutex_lock(&t->mu);
    if (t->hung) {
        /* the worker never takes a job again: do not queue it */
        j->done = true;
        j->rc = LJ_ERR_TPM_UNREACHABLE;
        j->err_code = LJ_ERR_TPM_UNREACHABLE;
        snprintf(j->err, sizeof(j->err), HUNG_FMT, t->tcti, t->timeout_ms / 1000,
                 t->timeout_ms / 1000);
        pthread_mutex_unlock(&t->mu);
        return;
    }
    if (t->tail != NULL)
        t->tail->next = j;
    else
        t->head = j;
    t->tail = j;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

/*
 * Wait until the worker has finished j, each TPM exchange bounded by the
 * context's timeout.  false: the TPM did not answer in time (t->hung is
 * set; j and its memory stay with the worker, which never finishes it).
 */
bool
tpm_job_done_wait(struct tpm_ctx *t, struct tpm_job *j)
{
    struct timespec now, deadline;
    bool done;

    pthread_mutex_lock(&t->mu);
    while (!j->done && !t->hung) {
        if (!t->io_busy) {
            pthread_cond_wait(&t->cv, &t->mu);
            continue;
        }
        deadline = t->io_start;
        deadline.tv_sec += t->timeout_ms / 1000;
        deadline.tv_nsec += (t->timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > deadline.tv_sec ||
            (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)) {
            t->hung = true; /* the worker parks if the answer ever comes */
            break;
        }
        (void)pthread_cond_timedwait(&t->cv, &t->mu, &deadline);
    }
    done = j->done;
    pthread_mutex_unlock(&t->mu);
    return done;
}

enum lj_rc
tpm_hung_error(const struct tpm_ctx *t)
{
    return lj_err_set(LJ_ERR_TPM_UNREACHABLE, TPM_MOD, HUNG_FMT, t->tcti, t->timeout_ms / 1000,
                      t->timeout_ms / 1000);
}

enum lj_rc
tpm_job_wait(struct tpm_ctx *t, struct tpm_job *j)
{
    if (!tpm_job_done_wait(t, j))
        return tpm_hung_error(t); /* j stays with the worker, which never finishes it */
    if (j->rc != LJ_OK)
        lj_err_adopt(j->err_code != LJ_OK ? j->err_code : j->rc, j->err);
    return j->rc;
}

static enum lj_rc
run_sync(struct tpm_ctx *t, tpm_job_fn fn, void *arg)
{
    struct tpm_job j = {.fn = fn, .arg = arg};

    tpm_job_post(t, &j);
    return tpm_job_wait(t, &j);
}

enum lj_rc
tpm_run(struct tpm_ctx *t, tpm_job_fn fn, void *arg)
{
    return run_sync(t, fn, arg);
}

/* ---- open and close ------------------------------------------------ */

static enum lj_rc
job_open(struct tpm_ctx *t, void *arg)
{
    enum lj_rc rc;

    (void)arg;
    rc = t->ops->open(t, t->tcti, &t->be);
    t->be_open = rc == LJ_OK;
    return rc;
}

static enum lj_rc
job_close(struct tpm_ctx *t, void *arg)
{
    (void)arg;
    if (t->be_open)
        t->ops->close(t->be);
    t->be = NULL;
    t->be_open = false;
    return LJ_OK;
}

/*
 * A context whose TPM stopped answering: detach the worker (it may never
 * come back from the TCTI) and leave t, the backend and the mutex it may
 * hold to the process's end.  True when t was abandoned.
 */
static bool
abandon_if_hung(struct tpm_ctx *t)
{
    bool hung;

    pthread_mutex_lock(&t->mu);
    hung = t->hung;
    pthread_mutex_unlock(&t->mu);
    if (!hung)
        return false;
    pthread_detach(t->thread);
    lj_log(LJ_LOG_WARN, TPM_MOD,
           "event=tpm_abandoned tcti=\"%s\" note=\"worker left "
           "behind, blocked in the TCTI\"",
           t->tcti);
    return true;
}

enum lj_rc
tpm_open(const struct tpm_open_opts *opts, struct tpm_ctx **out)
{
    struct tpm_ctx *t = NULL;
    pthread_condattr_t ca;
    sigset_t all, old;
    bool thread = false, wolf = false;
    enum lj_rc rc;

    if (opts == NULL || out == NULL)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=open_failed reason=no_options");
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return LJ_ERR_NOMEM;
    pthread_mutex_init(&t->mu, NULL);
    /* deadlines are CLOCK_MONOTONIC: a clock step cannot stretch or cut them */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    t->timeout_ms = 1000L * (opts->timeout_s > 0 ? opts->timeout_s : TPM_DEFAULT_TIMEOUT_S);
    t->seal_max_age_s =
        opts->seal_max_age_s > 0 ? opts->seal_max_age_s : TPM_SEAL_MAX_AGE_DEFAULT_S;
    t->ops = opts->provider == TPM_PROVIDER_SOFT ? &tpm_backend_soft : &tpm_backend_esys;
    if (snprintf(t->state_dir, sizeof(t->state_dir), "%s",
                 opts->state_dir != NULL ? opts->state_dir : "") >= (int)sizeof(t->state_dir) ||
        snprintf(t->tcti, sizeof(t->tcti), "%s",
                 opts->tcti != NULL ? opts->tcti : TPM_DEFAULT_TCTI) >= (int)sizeof(t->tcti)) {
        rc = lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=open_failed reason=argument_too_long");
        goto out;
    }
    if (t->state_dir[0] != '\0') {
        rc = lj_fs_mkdir_private(t->state_dir);
        if (rc != LJ_OK)
            goto out;
    }
    /*
     * ESAPI prints its own WARNING/ERROR lines to stderr; we log the decoded
     * code once instead, unless debugging.  Set before the worker starts:
     * setenv is not safe while other threads read the environment.
     */
    if (lj_log_get_level() < LJ_LOG_DEBUG)
        setenv("TSS2_LOG", "all+none", 0);
    rc = tpm_wolf_init();
    if (rc != LJ_OK)
        goto out;
    wolf = true;
    /* the worker inherits a mask with every signal blocked */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&t->thread, NULL, worker_main, t) != 0) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        rc = lj_err_set(LJ_ERR_INTERNAL, TPM_MOD, "event=open_failed reason=thread");
        goto out;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    thread = true;
    rc = run_sync(t, job_open, NULL);
out:
    if (rc == LJ_OK) {
        *out = t;
        return LJ_OK;
    }
    if (thread && abandon_if_hung(t))
        return rc;
    if (thread) {
        pthread_mutex_lock(&t->mu);
        t->stop = true;
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
        pthread_join(t->thread, NULL);
    }
    if (wolf)
        tpm_wolf_cleanup();
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
    return rc;
}

void
tpm_close(struct tpm_ctx *t)
{
    if (t == NULL)
        return;
    if (abandon_if_hung(t))
        return;
    if (t->keygen_pending)
        (void)tpm_keys_ensure_wait(t, NULL);
    if (t->csr_pending)
        (void)tpm_csr_wait(t, NULL, NULL, NULL);
    if (t->seal_pending)
        (void)tpm_seal_wait(t);
    if (t->prep_pending && tpm_job_done_wait(t, &t->prep_job))
        t->prep_pending = false;
    (void)run_sync(t, job_close, NULL);
    if (abandon_if_hung(t)) /* the keygen wait or the close itself hung */
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    tpm_keyset_free(&t->ks);
    tpm_wolf_cleanup();
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
