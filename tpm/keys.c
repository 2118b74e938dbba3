/*
 * keys.c — the key files in the state directory: the record keys.rec, the
 * provider's key files, tpm_keys_ensure (reuse or create), and what can be
 * said and done about a state directory without a TPM (presence, the
 * record's provider, removal).
 *
 * State dir (0700): the provider's key files (0600) and keys.rec, a small
 * text record naming the provider, the parent the blobs belong to, and a
 * SHA-256 of every file.  Files are written atomically, the record last:
 * the record is the commit point.  With a record, files are only read: a
 * missing/altered file is LJ_ERR_KEYS_CORRUPT and nothing is rewritten, and
 * a file that is intact but does not load is a TPM verdict (another TPM,
 * lockout, ...).  Without a record, leftover key files of an interrupted
 * creation are moved aside (never deleted) before creating.
 *
 * The record's format line carries TPM_KEYS_RECORD_VERSION.  Keys of an
 * older version were made with templates this version no longer uses
 * (tpm.h); they are reported as lost (LJ_ERR_TPM_KEYS_LOST, files left
 * untouched) and the caller moves them aside like keys a cleared TPM lost.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "tpm/backend.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform/common/elapsed.h"
#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"

#define REC_NAME "keys.rec"
#define REC_FORMAT_PREFIX "linkjoin-keys-"
#define REC_STR2(x) #x
#define REC_STR(x) REC_STR2(x)
#define REC_FORMAT REC_FORMAT_PREFIX REC_STR(TPM_KEYS_RECORD_VERSION)
#define REC_MAX 2048

/* Names of every provider's files, for presence checks and removal. */
static const struct tpm_backend *const all_backends[] = {&tpm_backend_esys, &tpm_backend_soft};

/* ---- key files and the record -------------------------------------- */

void
tpm_keyset_free(struct tpm_keyset *ks)
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
    unsigned version; /* from the format line; TPM_KEYS_RECORD_VERSION or older */
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

/* "linkjoin-keys-N", 1 <= N <= TPM_KEYS_RECORD_VERSION (one digit). */
static bool
format_version(const char *v, size_t vlen, unsigned *version)
{
    size_t plen = strlen(REC_FORMAT_PREFIX);

    if (vlen != plen + 1 || memcmp(v, REC_FORMAT_PREFIX, plen) != 0 || v[plen] < '1' ||
        v[plen] > '0' + TPM_KEYS_RECORD_VERSION)
        return false;
    *version = (unsigned)(v[plen] - '0');
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
            have_format = ok = format_version(val, vlen, &r->version);
        } else if (klen == 8 && memcmp(line, "provider", 8) == 0) {
            ok = field_set(r->provider, sizeof(r->provider), val, vlen);
        } else if (klen == 6 && memcmp(line, "parent", 6) == 0) {
            ok = field_set(r->parent, sizeof(r->parent), val, vlen);
        } else {
            for (size_t i = 0; i < t->ops->nfiles; i++) {
                if (klen == strlen(t->ops->files[i]) && memcmp(line, t->ops->files[i], klen) == 0 &&
                    vlen == 64)
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
            lj_log(LJ_LOG_WARN, TPM_MOD, "event=orphan_key_file_moved from=%s to=%s", path, aside);
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

/* ---- ensure (worker thread) and its API --------------------------- */

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
    tpm_keyset_free(&t->ks);
    if (!lj_path_join(path, sizeof(path), t->state_dir, REC_NAME))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=path_too_long");
    if (lj_fs_exists(path)) {
        rc = record_read(t, &rec);
        if (rc != LJ_OK)
            goto out;
        if (rec.version < TPM_KEYS_RECORD_VERSION) {
            rc = lj_err_set(LJ_ERR_TPM_KEYS_LOST, TPM_MOD,
                            "event=keys_record_old_version dir=%s version=%u current=%u "
                            "reason=keys made with older key templates (transport key fixed to "
                            "OAEP-SHA256, no noDA) are treated as lost (files left untouched)",
                            t->state_dir, rec.version, (unsigned)TPM_KEYS_RECORD_VERSION);
            goto out;
        }
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
        tpm_keyset_free(&t->ks);
    return rc;
}

enum lj_rc
tpm_keys_ensure(struct tpm_ctx *t, bool *created)
{
    bool c = false;
    enum lj_rc rc;

    if (t->keygen_pending)
        return tpm_keys_ensure_wait(t, created);
    rc = tpm_run(t, job_ensure, &c);
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
    tpm_job_post(t, &t->keygen_job);
    return LJ_OK;
}

enum lj_rc
tpm_keys_ensure_wait(struct tpm_ctx *t, bool *created)
{
    enum lj_rc rc;

    if (!t->keygen_pending)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=keygen_not_started");
    rc = tpm_job_wait(t, &t->keygen_job);
    t->keygen_pending = false;
    if (rc == LJ_OK && created != NULL)
        *created = t->keygen_created;
    return rc;
}

/* ---- the state directory, without a context ------------------------ */

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
    if (tpm_hkey_any(state_dir))
        return true;
    return lj_path_join(path, sizeof(path), state_dir, TPM_SOFT_SEAL_KEY) && lj_fs_exists(path);
}

const char *
tpm_dev_scheme_name(enum tpm_dev_scheme s)
{
    switch (s) {
    case TPM_DEV_SCHEME_ANY: return "any";
    case TPM_DEV_SCHEME_RSASSA: return "rsassa";
    case TPM_DEV_SCHEME_UNKNOWN: break;
    }
    return "unknown";
}

/* out->dev_scheme and dev_bits from the device key file of out->provider. */
static void
describe_dev_file(const char *state_dir, struct tpm_describe *out)
{
    char path[PATH_MAX];
    struct tpm_blob b = {NULL, 0};

    for (size_t i = 0; i < sizeof(all_backends) / sizeof(all_backends[0]); i++) {
        const struct tpm_backend *be = all_backends[i];

        if (strcmp(be->name, out->provider) != 0 || be->describe_dev == NULL ||
            be->dev_file >= be->nfiles)
            continue;
        if (lj_path_join(path, sizeof(path), state_dir, be->files[be->dev_file]) &&
            lj_fs_read(path, TPM_FILE_MAX, &b.data, &b.len) == LJ_OK) {
            be->describe_dev(&b, out);
            lj_secure_free(b.data, b.len); /* the soft provider's is a private key */
        }
        return;
    }
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
    else
        describe_dev_file(state_dir, out);
    return rc;
}

bool
tpm_keys_record_old(const char *state_dir)
{
    char path[PATH_MAX];
    unsigned char *buf = NULL;
    size_t len = 0;
    unsigned version = 0;
    bool old = false;

    if (!lj_path_join(path, sizeof(path), state_dir, REC_NAME) ||
        lj_fs_read(path, REC_MAX, &buf, &len) != LJ_OK)
        return false;
    for (char *line = (char *)buf, *end; line < (char *)buf + len; line = end + 1) {
        end = memchr(line, '\n', (size_t)((char *)buf + len - line));
        if (end == NULL)
            break;
        if (end - line > 7 && memcmp(line, "format=", 7) == 0) {
            old = format_version(line + 7, (size_t)(end - line - 7), &version) &&
                  version < TPM_KEYS_RECORD_VERSION;
            break;
        }
    }
    free(buf);
    return old;
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
        rc = tpm_hkey_remove_all(state_dir);
    if (rc == LJ_OK)
        lj_log(LJ_LOG_INFO, TPM_MOD, "event=keys_removed dir=%s", state_dir);
    return rc;
}
