/*
 * tpm.c — key custody: the public API of tpm/ (see tpm.h), and here the
 * operations on the keys: CSR, public keys, sign, decrypt, describe.
 *
 * Design note.
 * - Files: worker.c (the context: its worker thread and job queue, the
 *   bounded waits, open/close), keys.c (the state directory: keys.rec, the
 *   key files, tpm_keys_ensure), this file (what is done with the keys);
 *   health.c, owner.c and seal.c run their jobs on the same worker; csr.c
 *   and ek.c are wolfSSL only.
 * - Providers: tpm/esys.c (TPM2 ESAPI; only tpm/esys*.c include tss2
 *   headers, see tpm/esys_int.h) and tpm/soft.c (wolfSSL keys in files,
 *   unit tests only; used only when named).  A provider sees its key files
 *   as opaque blobs.
 * - CSR: tpm/csr.c builds it with wolfSSL and its crypto callback sends the
 *   hash to the provider's sign; no private key is ever in process memory
 *   with the TPM provider.
 */
#include "tpm/tpm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform/common/elapsed.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "tpm/bcrypt.h"
#include "tpm/backend.h"
#include "tpm/pem.h"

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

/* ---- jobs (worker thread) ------------------------------------------ */

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

    return t->ops->sign(t->be, &t->ks, TPM_SIG_RSASSA, TPM_HASH_SHA256, dig, sig, sig_len);
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
    lj_log(LJ_LOG_INFO, TPM_MOD, "event=csr_signed provider=%s der_len=%zu ms=%ld", t->ops->name,
           a->der_len, lj_elapsed_ms(&t0));
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
    enum tpm_sig_scheme scheme;
    enum tpm_hash hash;
    const unsigned char *digest;
    unsigned char *sig;
    size_t sig_len;
};

/* Sign, then verify with the public part before anyone sees it (tpm_sign). */
static enum lj_rc
job_sign(struct tpm_ctx *t, void *arg)
{
    struct sign_args *a = arg;
    enum lj_rc rc = need_keys(t);

    if (rc == LJ_OK)
        rc = t->ops->sign(t->be, &t->ks, a->scheme, a->hash, a->digest, a->sig, &a->sig_len);
    if (rc == LJ_OK)
        rc = tpm_rsa_sig_check(&t->ks.dev, a->scheme, a->hash, a->digest, a->sig, a->sig_len);
    return rc;
}

struct decrypt_args {
    enum tpm_oaep_hash hash;
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
        rc = t->ops->decrypt(t->be, &t->ks, a->hash, a->ct, a->ct_len, a->pt, &a->pt_len);
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

enum lj_rc
tpm_csr(struct tpm_ctx *t, const char *cn, unsigned char **der, size_t *der_len, char **pem)
{
    struct csr_args a = {.cn = cn};
    enum lj_rc rc;

    rc = tpm_run(t, job_csr, &a);
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
    tpm_job_post(t, &t->csr_job);
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
    if (!tpm_job_done_wait(t, &t->csr_job))
        return tpm_hung_error(t); /* bg stays with the worker; tpm_close abandons t */
    rc = t->csr_job.rc == LJ_ERR_NOT_FOUND ? LJ_ERR_NOT_FOUND : tpm_job_wait(t, &t->csr_job);
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
    enum lj_rc rc = tpm_run(t, job_pub, &a);

    if (rc == LJ_OK)
        *out = a.pub;
    return rc;
}

enum lj_rc
tpm_transport_pub(struct tpm_ctx *t, struct tpm_rsa_pub *out)
{
    struct pub_args a = {.transport = true};
    enum lj_rc rc = tpm_run(t, job_pub, &a);

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

const char *
tpm_hash_name(enum tpm_hash h)
{
    switch (h) {
    case TPM_HASH_SHA256: return "sha256";
    case TPM_HASH_SHA384: return "sha384";
    case TPM_HASH_SHA512: return "sha512";
    }
    return "unknown";
}

enum lj_rc
tpm_sign(struct tpm_ctx *t, enum tpm_sig_scheme scheme, enum tpm_hash hash,
         const unsigned char *digest, unsigned char *sig, size_t *sig_len)
{
    struct sign_args a = {.scheme = scheme, .hash = hash, .digest = digest, .sig = sig};
    enum lj_rc rc;

    if ((scheme != TPM_SIG_RSASSA && scheme != TPM_SIG_RSAPSS) ||
        (hash != TPM_HASH_SHA256 && hash != TPM_HASH_SHA384 && hash != TPM_HASH_SHA512))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD,
                          "event=sign_failed reason=unknown_scheme_or_hash "
                          "scheme=%d hash=%d",
                          (int)scheme, (int)hash);
    rc = tpm_run(t, job_sign, &a);
    if (rc == LJ_OK)
        *sig_len = a.sig_len;
    return rc;
}

enum lj_rc
tpm_sign_sha256(struct tpm_ctx *t, const unsigned char digest[32], unsigned char *sig,
                size_t *sig_len)
{
    return tpm_sign(t, TPM_SIG_RSASSA, TPM_HASH_SHA256, digest, sig, sig_len);
}

enum lj_rc
tpm_transport_decrypt(struct tpm_ctx *t, enum tpm_oaep_hash hash, const unsigned char *ct,
                      size_t ct_len, unsigned char **pt, size_t *pt_len)
{
    struct decrypt_args *a = NULL;
    unsigned char *buf = NULL;
    enum lj_rc rc;

    if (hash != TPM_OAEP_SHA1 && hash != TPM_OAEP_SHA256)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=decrypt_failed reason=unknown_hash hash=%d",
                          (int)hash);
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return LJ_ERR_NOMEM;
    a->hash = hash;
    a->ct = ct;
    a->ct_len = ct_len;
    rc = tpm_run(t, job_decrypt, a);
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
    (void)tpm_run(t, job_describe, out);
}
