/*
 * tpm.c — key custody: the public API of tpm/ (see tpm.h).
 *
 * Design note.
 * - Ownership: a struct tpm_ctx owns one worker thread, and that thread owns
 *   the provider state (the ESAPI context for the TPM provider).  Public
 *   calls put a job on a FIFO queue and wait for it; tpm_keys_ensure_start
 *   and tpm_csr_start queue without waiting, so the join flow can start
 *   keygen and the join CSR's signature at boot and collect both after
 *   sign-in.  Errors recorded on the worker are handed to
 *   the caller's thread with lj_err_adopt (logged once, where they happen).
 * - Providers: tpm/esys.c (TPM2 ESAPI; the only file with tss2 headers) and
 *   tpm/soft.c (wolfSSL keys in files, unit tests only; used only when
 *   named).  A provider sees its key files as opaque blobs.
 * - State dir (0700): the provider's key files (0600) and keys.rec, a small
 *   text record naming the provider, the parent the blobs belong to, and a
 *   SHA-256 of every file.  Files are written atomically, the record last:
 *   the record is the commit point.  With a record, files are only read:
 *   a missing/altered file is LJ_ERR_KEYS_CORRUPT and nothing is rewritten,
 *   and a file that is intact but does not load is a TPM verdict (another
 *   TPM, lockout, ...).  Without a record, leftover key files of an
 *   interrupted creation are moved aside (never deleted) before creating.
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
 * - CSR: tpm/csr.c builds it with wolfSSL and its crypto callback sends the
 *   hash to the provider's sign; no private key is ever in process memory
 *   with the TPM provider.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "tpm/tpm.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "tpm/bcrypt.h"
#include "tpm/backend.h"
#include "tpm/pem.h"
#include "platform/common/elapsed.h"

#define REC_NAME "keys.rec"
#define REC_FORMAT "linkjoin-keys-1"
#define REC_MAX 2048

/* Names of every provider's files, for presence checks and removal. */
static const struct tpm_backend *const all_backends[] = {&tpm_backend_esys, &tpm_backend_soft};

bool
tpm_provider_parse(const char *s, enum tpm_provider *out)
{
    if (s != NULL && strcmp(s, "tpm") == 0)
        *out = TPM_PROVIDER_TPM;
    else if (s != NULL && strcmp(s, "soft") == 0)
        *out = TPM_PROVIDER_SOFT;
    else
        return false;
    return true;
}

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

#define HUNG_FMT "event=tpm_timeout tcti=\"%s\" timeout_s=%ld reason=the TPM did not answer " \
                 "a command within %ld s"

static void
job_post(struct tpm_ctx *t, struct tpm_job *j)
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
static bool
job_done_wait(struct tpm_ctx *t, struct tpm_job *j)
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

static enum lj_rc
hung_error(const struct tpm_ctx *t)
{
    return lj_err_set(LJ_ERR_TPM_UNREACHABLE, TPM_MOD, HUNG_FMT, t->tcti, t->timeout_ms / 1000,
                      t->timeout_ms / 1000);
}

static enum lj_rc
job_wait(struct tpm_ctx *t, struct tpm_job *j)
{
    if (!job_done_wait(t, j))
        return hung_error(t); /* j stays with the worker, which never finishes it */
    if (j->rc != LJ_OK)
        lj_err_adopt(j->err_code != LJ_OK ? j->err_code : j->rc, j->err);
    return j->rc;
}

static enum lj_rc
run_sync(struct tpm_ctx *t, tpm_job_fn fn, void *arg)
{
    struct tpm_job j = {.fn = fn, .arg = arg};

    job_post(t, &j);
    return job_wait(t, &j);
}

enum lj_rc
tpm_run(struct tpm_ctx *t, tpm_job_fn fn, void *arg)
{
    return run_sync(t, fn, arg);
}

/* ---- key files and the record -------------------------------------- */

static void
keyset_free(struct tpm_keyset *ks)
{
    for (size_t i = 0; i < TPM_MAX_FILES; i++) {
        if (ks->files[i].data != NULL)
            lj_secure_free(ks->files[i].data, ks->files[i].len);
    }
    memset(ks, 0, sizeof(*ks));
}

static void
sha256_hex(const unsigned char *data, size_t len, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char d[WC_SHA256_DIGEST_SIZE];

    memset(d, 0, sizeof(d));
    wc_Sha256Hash(data, (word32)len, d);
    for (size_t i = 0; i < sizeof(d); i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[64] = '\0';
}

struct record {
    char provider[16];
    char parent[32];
    char sums[TPM_MAX_FILES][65];
};

static enum lj_rc
corrupt(const struct tpm_ctx *t, const char *file, const char *why)
{
    return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD,
                      "event=keys_corrupt dir=%s file=%s reason=%s (files left untouched)",
                      t->state_dir, file, why);
}

/* Copy value into dst (size dsz) when it fits and is printable. */
static bool
field_set(char *dst, size_t dsz, const char *v, size_t vlen)
{
    if (vlen == 0 || vlen >= dsz)
        return false;
    for (size_t i = 0; i < vlen; i++)
        if (v[i] < 0x21 || v[i] > 0x7e)
            return false;
    memcpy(dst, v, vlen);
    dst[vlen] = '\0';
    return true;
}

static enum lj_rc
record_read(struct tpm_ctx *t, struct record *r)
{
    char path[PATH_MAX];
    unsigned char *buf = NULL;
    size_t len = 0;
    bool have_format = false;
    enum lj_rc rc;

    memset(r, 0, sizeof(*r));
    if (!lj_path_join(path, sizeof(path), t->state_dir, REC_NAME))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=path_too_long");
    rc = lj_fs_read(path, REC_MAX, &buf, &len);
    if (rc == LJ_ERR_TOO_BIG || rc == LJ_ERR_NOT_FOUND)
        return corrupt(t, REC_NAME, rc == LJ_ERR_TOO_BIG ? "too big" : "missing");
    if (rc != LJ_OK)
        return rc;
    rc = LJ_OK;
    for (char *line = (char *)buf, *end; line < (char *)buf + len; line = end + 1) {
        char *eq, *val;
        size_t klen, vlen;
        bool ok = false;

        end = memchr(line, '\n', (size_t)((char *)buf + len - line));
        if (end == NULL) {
            rc = corrupt(t, REC_NAME, "unterminated line");
            goto out;
        }
        eq = memchr(line, '=', (size_t)(end - line));
        if (eq == NULL) {
            rc = corrupt(t, REC_NAME, "malformed line");
            goto out;
        }
        klen = (size_t)(eq - line);
        val = eq + 1;
        vlen = (size_t)(end - val);
        if (klen == 6 && memcmp(line, "format", 6) == 0) {
            have_format = ok = vlen == strlen(REC_FORMAT) && memcmp(val, REC_FORMAT, vlen) == 0;
        } else if (klen == 8 && memcmp(line, "provider", 8) == 0) {
            ok = field_set(r->provider, sizeof(r->provider), val, vlen);
        } else if (klen == 6 && memcmp(line, "parent", 6) == 0) {
            ok = field_set(r->parent, sizeof(r->parent), val, vlen);
        } else {
            for (size_t i = 0; i < t->ops->nfiles; i++) {
                if (klen == strlen(t->ops->files[i]) &&
                    memcmp(line, t->ops->files[i], klen) == 0 && vlen == 64)
                    ok = field_set(r->sums[i], sizeof(r->sums[i]), val, vlen);
            }
            /* Another provider's file names: judged below by provider. */
            if (!ok && r->provider[0] != '\0' && strcmp(r->provider, t->ops->name) != 0)
                ok = true;
        }
        if (!ok) {
            rc = corrupt(t, REC_NAME, "bad field");
            goto out;
        }
    }
    if (!have_format || r->provider[0] == '\0' || r->parent[0] == '\0') {
        rc = corrupt(t, REC_NAME, "incomplete");
        goto out;
    }
out:
    free(buf);
    return rc;
}

static enum lj_rc
record_write(struct tpm_ctx *t)
{
    char path[PATH_MAX], text[REC_MAX], hex[65];
    size_t off = 0;
    int n;

    n = snprintf(text, sizeof(text), "format=%s\nprovider=%s\nparent=%s\n", REC_FORMAT,
                 t->ops->name, t->ks.parent);
    if (n < 0 || (size_t)n >= sizeof(text))
        return LJ_ERR_INTERNAL;
    off = (size_t)n;
    for (size_t i = 0; i < t->ops->nfiles; i++) {
        sha256_hex(t->ks.files[i].data, t->ks.files[i].len, hex);
        n = snprintf(text + off, sizeof(text) - off, "%s=%s\n", t->ops->files[i], hex);
        if (n < 0 || (size_t)n >= sizeof(text) - off)
            return LJ_ERR_INTERNAL;
        off += (size_t)n;
    }
    if (!lj_path_join(path, sizeof(path), t->state_dir, REC_NAME))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=path_too_long");
    return lj_fs_write_atomic(path, text, off, 0600);
}

/* Read the files named by the record and check them against it. */
static enum lj_rc
keys_read(struct tpm_ctx *t, const struct record *r)
{
    char path[PATH_MAX], hex[65];
    enum lj_rc rc;

    for (size_t i = 0; i < t->ops->nfiles; i++) {
        struct tpm_blob *b = &t->ks.files[i];

        if (r->sums[i][0] == '\0')
            return corrupt(t, REC_NAME, "file not listed");
        if (!lj_path_join(path, sizeof(path), t->state_dir, t->ops->files[i]))
            return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=path_too_long");
        rc = lj_fs_read(path, TPM_FILE_MAX, &b->data, &b->len);
        if (rc == LJ_ERR_NOT_FOUND)
            return corrupt(t, t->ops->files[i], "missing");
        if (rc == LJ_ERR_TOO_BIG)
            return corrupt(t, t->ops->files[i], "too big");
        if (rc != LJ_OK)
            return rc;
        sha256_hex(b->data, b->len, hex);
        if (strcmp(hex, r->sums[i]) != 0)
            return corrupt(t, t->ops->files[i], "checksum mismatch (truncated or altered)");
    }
    snprintf(t->ks.parent, sizeof(t->ks.parent), "%s", r->parent);
    return LJ_OK;
}

/* Move aside key files that have no record (an interrupted creation). */
static enum lj_rc
orphans_aside(struct tpm_ctx *t)
{
    char path[PATH_MAX], aside[PATH_MAX];
    enum lj_rc rc;

    for (size_t b = 0; b < sizeof(all_backends) / sizeof(all_backends[0]); b++) {
        for (size_t i = 0; i < all_backends[b]->nfiles; i++) {
            if (!lj_path_join(path, sizeof(path), t->state_dir, all_backends[b]->files[i]))
                return LJ_ERR_INVAL;
            if (!lj_fs_exists(path))
                continue;
            rc = lj_fs_move_aside(path, aside, sizeof(aside));
            if (rc != LJ_OK)
                return rc;
            lj_log(LJ_LOG_WARN, TPM_MOD, "event=orphan_key_file_moved from=%s to=%s", path,
                   aside);
        }
    }
    return LJ_OK;
}

static enum lj_rc
keys_write(struct tpm_ctx *t)
{
    char path[PATH_MAX];
    enum lj_rc rc;

    for (size_t i = 0; i < t->ops->nfiles; i++) {
        if (!lj_path_join(path, sizeof(path), t->state_dir, t->ops->files[i]))
            return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=path_too_long");
        rc = lj_fs_write_atomic(path, t->ks.files[i].data, t->ks.files[i].len, 0600);
        if (rc != LJ_OK)
            return rc;
    }
    return record_write(t);
}

/* ---- jobs (worker thread) ------------------------------------------ */


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

static enum lj_rc
job_ensure(struct tpm_ctx *t, void *arg)
{
    bool *created = arg;
    char path[PATH_MAX];
    struct record rec;
    struct timespec t0;
    enum lj_rc rc;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    *created = false;
    if (t->keys_ok)
        return LJ_OK;
    if (t->state_dir[0] == '\0')
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=keys_failed reason=no_state_dir");
    keyset_free(&t->ks);
    if (!lj_path_join(path, sizeof(path), t->state_dir, REC_NAME))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=path_too_long");
    if (lj_fs_exists(path)) {
        rc = record_read(t, &rec);
        if (rc != LJ_OK)
            goto out;
        if (strcmp(rec.provider, t->ops->name) != 0) {
            rc = lj_err_set(LJ_ERR_STATE, TPM_MOD,
                            "event=provider_mismatch dir=%s keys_provider=%s requested=%s "
                            "reason=keys in the state dir belong to the '%s' key provider",
                            t->state_dir, rec.provider, t->ops->name, rec.provider);
            goto out;
        }
        rc = keys_read(t, &rec);
        if (rc == LJ_OK)
            rc = t->ops->validate(t->be, &t->ks);
        if (rc == LJ_OK)
            lj_log(LJ_LOG_INFO, TPM_MOD, "event=keys_reused provider=%s parent=%s ms=%ld",
                   t->ops->name, t->ks.parent, lj_elapsed_ms(&t0));
        goto out;
    }
    rc = orphans_aside(t);
    if (rc == LJ_OK)
        rc = t->ops->create(t->be, &t->ks);
    if (rc == LJ_OK)
        rc = keys_write(t);
    if (rc == LJ_OK) {
        *created = true;
        lj_log(LJ_LOG_INFO, TPM_MOD, "event=keys_created provider=%s parent=%s ms=%ld",
               t->ops->name, t->ks.parent, lj_elapsed_ms(&t0));
    }
out:
    if (rc == LJ_OK)
        t->keys_ok = true;
    else
        keyset_free(&t->ks);
    return rc;
}

static enum lj_rc
need_keys(struct tpm_ctx *t)
{
    if (!t->keys_ok)
        return lj_err_set(LJ_ERR_INTERNAL, TPM_MOD, "event=keys_not_ensured");
    return LJ_OK;
}

static enum lj_rc
csr_sign_adapter(void *arg, const unsigned char dig[32], unsigned char *sig, size_t *sig_len)
{
    struct tpm_ctx *t = arg;

    return t->ops->sign(t->be, &t->ks, dig, sig, sig_len);
}

struct csr_args {
    const char *cn;
    unsigned char *der;
    size_t der_len;
    char *pem;
};

static enum lj_rc
job_csr(struct tpm_ctx *t, void *arg)
{
    struct csr_args *a = arg;
    struct timespec t0;
    enum lj_rc rc = need_keys(t);

    if (rc != LJ_OK)
        return rc;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = tpm_csr_build(&t->ks.dev, a->cn, csr_sign_adapter, t, &a->der, &a->der_len);
    if (rc != LJ_OK)
        return rc;
    lj_log(LJ_LOG_INFO, TPM_MOD, "event=csr_signed provider=%s der_len=%zu ms=%ld",
           t->ops->name, a->der_len, lj_elapsed_ms(&t0));
    a->pem = tpm_pem_encode("CERTIFICATE REQUEST", a->der, a->der_len);
    if (a->pem == NULL) {
        free(a->der);
        a->der = NULL;
        return LJ_ERR_NOMEM;
    }
    return LJ_OK;
}

/* A CSR signed in the background (tpm_csr_start); owned by the ctx. */
struct tpm_csr_bg {
    char cn[65];
    struct csr_args a;
};

/* Keys not ensured (keygen failed): nothing to sign, nothing to log twice. */
static enum lj_rc
job_csr_bg(struct tpm_ctx *t, void *arg)
{
    if (!t->keys_ok)
        return LJ_ERR_NOT_FOUND;
    return job_csr(t, arg);
}

static void
csr_bg_free(struct tpm_csr_bg *bg)
{
    if (bg == NULL)
        return;
    free(bg->a.der);
    free(bg->a.pem);
    free(bg);
}

struct pub_args {
    bool transport;
    struct tpm_rsa_pub pub;
};

static enum lj_rc
job_pub(struct tpm_ctx *t, void *arg)
{
    struct pub_args *a = arg;
    enum lj_rc rc = need_keys(t);

    if (rc == LJ_OK)
        a->pub = a->transport ? t->ks.tk : t->ks.dev;
    return rc;
}

struct sign_args {
    const unsigned char *digest;
    unsigned char *sig;
    size_t sig_len;
};

static enum lj_rc
job_sign(struct tpm_ctx *t, void *arg)
{
    struct sign_args *a = arg;
    enum lj_rc rc = need_keys(t);

    if (rc == LJ_OK)
        rc = t->ops->sign(t->be, &t->ks, a->digest, a->sig, &a->sig_len);
    return rc;
}

struct decrypt_args {
    const unsigned char *ct;
    size_t ct_len;
    unsigned char pt[TPM_RSA_BYTES];
    size_t pt_len;
};

static enum lj_rc
job_decrypt(struct tpm_ctx *t, void *arg)
{
    struct decrypt_args *a = arg;
    enum lj_rc rc = need_keys(t);

    if (rc == LJ_OK)
        rc = t->ops->decrypt(t->be, &t->ks, a->ct, a->ct_len, a->pt, &a->pt_len);
    return rc;
}

static enum lj_rc
job_describe(struct tpm_ctx *t, void *arg)
{
    struct tpm_describe *d = arg;

    d->provider = t->ops->name;
    d->tpm_protected = t->ops->tpm_protected;
    d->keys_loaded = t->keys_ok;
    snprintf(d->parent, sizeof(d->parent), "%s", t->keys_ok ? t->ks.parent : "");
    return LJ_OK;
}

/* ---- public API ------------------------------------------------------ */

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
    lj_log(LJ_LOG_WARN, TPM_MOD, "event=tpm_abandoned tcti=\"%s\" note=\"worker left "
           "behind, blocked in the TCTI\"", t->tcti);
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
    t->ops = opts->provider == TPM_PROVIDER_SOFT ? &tpm_backend_soft : &tpm_backend_esys;
    if (snprintf(t->state_dir, sizeof(t->state_dir), "%s",
                 opts->state_dir != NULL ? opts->state_dir : "") >=
            (int)sizeof(t->state_dir) ||
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
    (void)run_sync(t, job_close, NULL);
    if (abandon_if_hung(t)) /* the keygen wait or the close itself hung */
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    keyset_free(&t->ks);
    tpm_wolf_cleanup();
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

enum lj_rc
tpm_keys_ensure(struct tpm_ctx *t, bool *created)
{
    bool c = false;
    enum lj_rc rc;

    if (t->keygen_pending)
        return tpm_keys_ensure_wait(t, created);
    rc = run_sync(t, job_ensure, &c);
    if (rc == LJ_OK && created != NULL)
        *created = c;
    return rc;
}

enum lj_rc
tpm_keys_ensure_start(struct tpm_ctx *t)
{
    if (t->keygen_pending)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=keygen_already_pending");
    memset(&t->keygen_job, 0, sizeof(t->keygen_job));
    t->keygen_job.fn = job_ensure;
    t->keygen_job.arg = &t->keygen_created;
    t->keygen_pending = true;
    job_post(t, &t->keygen_job);
    return LJ_OK;
}

enum lj_rc
tpm_keys_ensure_wait(struct tpm_ctx *t, bool *created)
{
    enum lj_rc rc;

    if (!t->keygen_pending)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=keygen_not_started");
    rc = job_wait(t, &t->keygen_job);
    t->keygen_pending = false;
    if (rc == LJ_OK && created != NULL)
        *created = t->keygen_created;
    return rc;
}

enum lj_rc
tpm_csr(struct tpm_ctx *t, const char *cn, unsigned char **der, size_t *der_len, char **pem)
{
    struct csr_args a = {.cn = cn};
    enum lj_rc rc;

    rc = run_sync(t, job_csr, &a);
    if (rc != LJ_OK)
        return rc;
    if (der != NULL) {
        *der = a.der;
        a.der = NULL;
    }
    if (der_len != NULL)
        *der_len = a.der_len;
    if (pem != NULL) {
        *pem = a.pem;
        a.pem = NULL;
    }
    free(a.der);
    free(a.pem);
    return LJ_OK;
}

enum lj_rc
tpm_csr_start(struct tpm_ctx *t, const char *cn)
{
    struct tpm_csr_bg *bg;

    if (t->csr_pending)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=csr_already_pending");
    bg = calloc(1, sizeof(*bg));
    if (bg == NULL)
        return LJ_ERR_NOMEM;
    if (cn == NULL || snprintf(bg->cn, sizeof(bg->cn), "%s", cn) >= (int)sizeof(bg->cn)) {
        free(bg);
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=csr_failed reason=cn_too_long");
    }
    bg->a.cn = bg->cn;
    memset(&t->csr_job, 0, sizeof(t->csr_job));
    t->csr_job.fn = job_csr_bg;
    t->csr_job.arg = &bg->a;
    t->csr_bg = bg;
    t->csr_pending = true;
    job_post(t, &t->csr_job);
    return LJ_OK;
}

enum lj_rc
tpm_csr_wait(struct tpm_ctx *t, unsigned char **der, size_t *der_len, char **pem)
{
    struct tpm_csr_bg *bg = t->csr_bg;
    enum lj_rc rc;

    if (!t->csr_pending)
        return LJ_ERR_NOT_FOUND;
    /* NOT_FOUND (keys were not there) is not an error to hand over. */
    if (!job_done_wait(t, &t->csr_job))
        return hung_error(t); /* bg stays with the worker; tpm_close abandons t */
    rc = t->csr_job.rc == LJ_ERR_NOT_FOUND ? LJ_ERR_NOT_FOUND : job_wait(t, &t->csr_job);
    t->csr_pending = false;
    t->csr_bg = NULL;
    if (rc == LJ_OK) {
        if (der != NULL) {
            *der = bg->a.der;
            bg->a.der = NULL;
        }
        if (der_len != NULL)
            *der_len = bg->a.der_len;
        if (pem != NULL) {
            *pem = bg->a.pem;
            bg->a.pem = NULL;
        }
    }
    csr_bg_free(bg);
    return rc;
}

bool
tpm_csr_pending(const struct tpm_ctx *t)
{
    return t != NULL && t->csr_pending;
}

enum lj_rc
tpm_device_pub(struct tpm_ctx *t, struct tpm_rsa_pub *out)
{
    struct pub_args a = {.transport = false};
    enum lj_rc rc = run_sync(t, job_pub, &a);

    if (rc == LJ_OK)
        *out = a.pub;
    return rc;
}

enum lj_rc
tpm_transport_pub(struct tpm_ctx *t, struct tpm_rsa_pub *out)
{
    struct pub_args a = {.transport = true};
    enum lj_rc rc = run_sync(t, job_pub, &a);

    if (rc == LJ_OK)
        *out = a.pub;
    return rc;
}

enum lj_rc
tpm_device_spki(struct tpm_ctx *t, unsigned char **der, size_t *der_len)
{
    struct tpm_rsa_pub pub;
    enum lj_rc rc = tpm_device_pub(t, &pub);

    if (rc != LJ_OK)
        return rc;
    return tpm_rsa_pub_spki(&pub, der, der_len);
}

enum lj_rc
tpm_transport_blob(struct tpm_ctx *t, unsigned char **blob, size_t *len)
{
    struct tpm_rsa_pub pub;
    unsigned char *buf = NULL;
    size_t cap, n = 0;
    enum lj_rc rc = tpm_transport_pub(t, &pub);

    if (rc != LJ_OK)
        return rc;
    cap = TPM_BCRYPT_HDR_LEN + pub.n_len + pub.e_len;
    buf = malloc(cap);
    if (buf == NULL)
        return LJ_ERR_NOMEM;
    rc = tpm_bcrypt_rsa1_encode(pub.n, pub.n_len, pub.e, pub.e_len, buf, cap, &n);
    if (rc != LJ_OK) {
        free(buf);
        return lj_err_set(rc, TPM_MOD, "event=bcrypt_encode_failed");
    }
    *blob = buf;
    *len = n;
    return LJ_OK;
}

enum lj_rc
tpm_sign_sha256(struct tpm_ctx *t, const unsigned char digest[32], unsigned char *sig,
                size_t *sig_len)
{
    struct sign_args a = {.digest = digest, .sig = sig};
    enum lj_rc rc = run_sync(t, job_sign, &a);

    if (rc == LJ_OK)
        *sig_len = a.sig_len;
    return rc;
}

enum lj_rc
tpm_transport_decrypt(struct tpm_ctx *t, const unsigned char *ct, size_t ct_len,
                      unsigned char **pt, size_t *pt_len)
{
    struct decrypt_args *a = NULL;
    unsigned char *buf = NULL;
    enum lj_rc rc;

    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return LJ_ERR_NOMEM;
    a->ct = ct;
    a->ct_len = ct_len;
    rc = run_sync(t, job_decrypt, a);
    if (rc != LJ_OK)
        goto out;
    buf = malloc(a->pt_len + 1);
    if (buf == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    memcpy(buf, a->pt, a->pt_len);
    buf[a->pt_len] = 0;
    *pt = buf;
    *pt_len = a->pt_len;
out:
    lj_secure_free(a, sizeof(*a));
    return rc;
}

void
tpm_describe(struct tpm_ctx *t, struct tpm_describe *out)
{
    memset(out, 0, sizeof(*out));
    (void)run_sync(t, job_describe, out);
}

bool
tpm_keys_present(const char *state_dir)
{
    char path[PATH_MAX];

    return lj_path_join(path, sizeof(path), state_dir, REC_NAME) && lj_fs_exists(path);
}

bool
tpm_files_present(const char *state_dir)
{
    char path[PATH_MAX];

    if (tpm_keys_present(state_dir))
        return true;
    for (size_t b = 0; b < sizeof(all_backends) / sizeof(all_backends[0]); b++)
        for (size_t i = 0; i < all_backends[b]->nfiles; i++)
            if (lj_path_join(path, sizeof(path), state_dir, all_backends[b]->files[i]) &&
                lj_fs_exists(path))
                return true;
    return lj_path_join(path, sizeof(path), state_dir, TPM_SOFT_SEAL_KEY) && lj_fs_exists(path);
}

enum lj_rc
tpm_keys_describe_dir(const char *state_dir, struct tpm_describe *out)
{
    char path[PATH_MAX];
    unsigned char *buf = NULL;
    size_t len = 0;
    enum lj_rc rc;

    memset(out, 0, sizeof(*out));
    if (!lj_path_join(path, sizeof(path), state_dir, REC_NAME))
        return LJ_ERR_INVAL;
    rc = lj_fs_read(path, REC_MAX, &buf, &len);
    if (rc != LJ_OK)
        return rc;
    rc = LJ_ERR_KEYS_CORRUPT;
    for (char *line = (char *)buf, *end; line < (char *)buf + len; line = end + 1) {
        end = memchr(line, '\n', (size_t)((char *)buf + len - line));
        if (end == NULL)
            break;
        if (end - line > 9 && memcmp(line, "provider=", 9) == 0) {
            if ((size_t)(end - line) == 9 + strlen("tpm") &&
                memcmp(line + 9, "tpm", strlen("tpm")) == 0) {
                out->provider = "tpm";
                out->tpm_protected = true;
                rc = LJ_OK;
            } else if ((size_t)(end - line) == 9 + strlen("soft") &&
                       memcmp(line + 9, "soft", strlen("soft")) == 0) {
                out->provider = "soft";
                rc = LJ_OK;
            }
        } else if (end - line > 7 && memcmp(line, "parent=", 7) == 0 &&
                   (size_t)(end - line - 7) < sizeof(out->parent)) {
            memcpy(out->parent, line + 7, (size_t)(end - line - 7));
            out->parent[end - line - 7] = '\0';
        }
    }
    free(buf);
    if (rc != LJ_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

enum lj_rc
tpm_keys_remove(const char *state_dir)
{
    char path[PATH_MAX];
    enum lj_rc rc;

    if (!lj_path_join(path, sizeof(path), state_dir, REC_NAME))
        return LJ_ERR_INVAL;
    rc = lj_fs_remove(path);
    for (size_t b = 0; rc == LJ_OK && b < sizeof(all_backends) / sizeof(all_backends[0]); b++) {
        for (size_t i = 0; rc == LJ_OK && i < all_backends[b]->nfiles; i++) {
            if (!lj_path_join(path, sizeof(path), state_dir, all_backends[b]->files[i]))
                return LJ_ERR_INVAL;
            rc = lj_fs_remove(path);
        }
    }
    if (rc == LJ_OK)
        lj_log(LJ_LOG_INFO, TPM_MOD, "event=keys_removed dir=%s", state_dir);
    return rc;
}
