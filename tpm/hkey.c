/*
 * hkey.c — keyed-hash keys kept by the TPM (the session key of a Primary
 * Refresh Token): tpm_hmac_key_import, tpm_hmac_sha256 and their files.
 *
 * Design note.
 * - The key is imported once into a TPM keyedHash object (HMAC, SHA-256;
 *   tpm/esys_hmac.c) and every HMAC with it is computed by the TPM: the
 *   agent never holds it again.  The PRT key derivation ([MS-OAPXBC]
 *   3.1.5.2.1.3, NIST SP 800-108 counter mode with one block) is exactly
 *   one HMAC-SHA256 over a ~70-byte fixed input, so one TPM2_HMAC per
 *   derived key.
 * - One file per name, STATE_DIR/NAME.hkey, 0600, written with
 *   lj_fs_write_atomic (old or new content after a crash, never a mix):
 *       "LJHKEY1\n" | provider u8 | parent_len u8 | parent
 *       | blob_len u16 | blob (provider's key object) | SHA-256
 *   integers big-endian.  The SHA-256 covers everything before it and then
 *   the name, so a damaged or renamed file is LJ_ERR_KEYS_CORRUPT, told
 *   apart from an intact one that another TPM made (LJ_ERR_TPM_WRONG_TPM,
 *   found when the TPM refuses to load it).
 * - Secrets: every buffer of tpm/ that holds the caller's key or an HMAC
 *   result (here, tpm/esys_hmac.c, tpm/soft.c) is wiped before it is freed
 *   or its function returns.  On the TPM provider both cross the bus only
 *   encrypted; the key is never kept outside the TPM's wrapped blob.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "tpm/tpm.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "tpm/backend.h"

#define HKEY_MAGIC "LJHKEY1\n"
#define HKEY_MAGIC_LEN 8
#define HKEY_SUFFIX ".hkey"
#define HKEY_SUFFIX_LEN 5
#define HKEY_BLOB_MAX 2048
#define HKEY_SUM 32
#define HKEY_FILE_MAX (HKEY_MAGIC_LEN + 2 + 31 + 2 + HKEY_BLOB_MAX + HKEY_SUM)
#define HKEY_SCAN_MAX 4096 /* directory entries looked at by the scans below */
#define PROV_TPM 1
#define PROV_SOFT 2

static bool
hkey_path(char *buf, size_t bsz, const char *dir, const char *name)
{
    char file[TPM_SEAL_NAME_MAX + 16];

    snprintf(file, sizeof(file), "%s" HKEY_SUFFIX, name);
    return lj_path_join(buf, bsz, dir, file);
}

static enum lj_rc
hkey_corrupt(const char *path, const char *why)
{
    return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD,
                      "event=hkey_corrupt file=%s reason=%s (file left untouched)", path, why);
}

/* SHA-256 of data[0..len) then name into sum. */
static bool
hkey_sum(const unsigned char *data, size_t len, const char *name, unsigned char sum[HKEY_SUM])
{
    wc_Sha256 sha;
    bool ok;

    if (wc_InitSha256(&sha) != 0)
        return false;
    ok = wc_Sha256Update(&sha, data, (word32)len) == 0 &&
         wc_Sha256Update(&sha, (const unsigned char *)name, (word32)strlen(name)) == 0 &&
         wc_Sha256Final(&sha, sum) == 0;
    wc_Sha256Free(&sha);
    return ok;
}

struct hkey_args {
    const char *name;
    const unsigned char *data; /* import: the key; hmac: the message */
    size_t len;
    unsigned char out[32]; /* hmac result on the worker, copied out on success */
};

static enum lj_rc
job_import(struct tpm_ctx *t, void *arg)
{
    struct hkey_args *a = arg;
    struct tpm_blob blob = {0};
    char parent[32] = "", path[PATH_MAX];
    unsigned char *file = NULL;
    size_t plen, off, cap = 0;
    enum lj_rc rc;

    if (t->ops->hmac_import == NULL)
        return lj_err_set(LJ_ERR_UNSUPPORTED, TPM_MOD, "event=hkey_unsupported");
    if (!hkey_path(path, sizeof(path), t->state_dir, a->name))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=path_too_long");
    rc = t->ops->hmac_import(t->be, t->state_dir, a->data, a->len, parent, &blob);
    if (rc != LJ_OK)
        goto out;
    plen = strlen(parent);
    if (plen == 0 || plen > 31 || blob.len == 0 || blob.len > HKEY_BLOB_MAX) {
        rc = lj_err_set(LJ_ERR_INTERNAL, TPM_MOD, "event=hkey_import_failed reason=bad_blob");
        goto out;
    }
    cap = HKEY_MAGIC_LEN + 2 + plen + 2 + blob.len + HKEY_SUM;
    file = malloc(cap);
    if (file == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    memcpy(file, HKEY_MAGIC, HKEY_MAGIC_LEN);
    off = HKEY_MAGIC_LEN;
    file[off++] = t->ops->tpm_protected ? PROV_TPM : PROV_SOFT;
    file[off++] = (unsigned char)plen;
    memcpy(file + off, parent, plen);
    off += plen;
    file[off++] = (unsigned char)(blob.len >> 8);
    file[off++] = (unsigned char)blob.len;
    memcpy(file + off, blob.data, blob.len);
    off += blob.len;
    if (!hkey_sum(file, off, a->name, file + off)) {
        rc = lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=sha256_failed");
        goto out;
    }
    off += HKEY_SUM;
    rc = lj_fs_write_atomic(path, file, off, 0600);
    if (rc == LJ_OK)
        lj_log(LJ_LOG_INFO, TPM_MOD, "event=hkey_imported name=%s provider=%s parent=%s bytes=%zu",
               a->name, t->ops->name, parent, a->len);
out:
    if (file != NULL)
        lj_secure_free(file, cap);
    if (blob.data != NULL)
        lj_secure_free(blob.data, blob.len);
    return rc;
}

static enum lj_rc
job_hmac(struct tpm_ctx *t, void *arg)
{
    struct hkey_args *a = arg;
    char parent[32], path[PATH_MAX];
    unsigned char *file = NULL, sum[HKEY_SUM];
    size_t len = 0, off, plen;
    struct tpm_blob blob;
    unsigned prov;
    enum lj_rc rc;

    if (t->ops->hmac == NULL)
        return lj_err_set(LJ_ERR_UNSUPPORTED, TPM_MOD, "event=hkey_unsupported");
    if (!hkey_path(path, sizeof(path), t->state_dir, a->name))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=path_too_long");
    rc = lj_fs_read(path, HKEY_FILE_MAX, &file, &len);
    if (rc == LJ_ERR_NOT_FOUND)
        return lj_err_set(rc, TPM_MOD, "event=hmac_failed file=%s reason=no such key", path);
    if (rc == LJ_ERR_TOO_BIG)
        return hkey_corrupt(path, "too big");
    if (rc != LJ_OK)
        return rc;
    if (len < HKEY_MAGIC_LEN + 2 + 2 + HKEY_SUM) {
        rc = hkey_corrupt(path, "truncated");
        goto out;
    }
    if (!hkey_sum(file, len - HKEY_SUM, a->name, sum) ||
        !lj_secure_equal(sum, file + len - HKEY_SUM, HKEY_SUM)) {
        rc = hkey_corrupt(path, "checksum mismatch (truncated, altered or renamed)");
        goto out;
    }
    len -= HKEY_SUM;
    if (memcmp(file, HKEY_MAGIC, HKEY_MAGIC_LEN) != 0) {
        rc = hkey_corrupt(path, "not a key file");
        goto out;
    }
    off = HKEY_MAGIC_LEN;
    prov = file[off++];
    plen = file[off++];
    if (plen == 0 || plen > 31 || off + plen + 2 > len) {
        rc = hkey_corrupt(path, "bad header");
        goto out;
    }
    memcpy(parent, file + off, plen);
    parent[plen] = '\0';
    off += plen;
    blob.len = ((size_t)file[off] << 8) | file[off + 1];
    off += 2;
    if (blob.len == 0 || blob.len > HKEY_BLOB_MAX || off + blob.len != len) {
        rc = hkey_corrupt(path, "bad blob length");
        goto out;
    }
    blob.data = file + off;
    if ((prov != PROV_TPM && prov != PROV_SOFT) || (prov == PROV_TPM) != t->ops->tpm_protected) {
        rc = lj_err_set(LJ_ERR_STATE, TPM_MOD,
                        "event=hmac_failed file=%s reason=key imported by the '%s' provider, "
                        "opened with '%s'",
                        path, prov == PROV_TPM ? "tpm" : "soft", t->ops->name);
        goto out;
    }
    rc = t->ops->hmac(t->be, t->state_dir, parent, &blob, a->data, a->len, a->out);
out:
    free(file);
    return rc;
}

enum lj_rc
tpm_hmac_key_import(struct tpm_ctx *t, const char *name, const unsigned char *key, size_t len)
{
    struct hkey_args a = {.name = name, .data = key, .len = len};

    if (!tpm_object_name_ok(name))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=hkey_import_failed reason=bad_name");
    if (key == NULL)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=hkey_import_failed reason=no_key");
    if (len < TPM_HKEY_KEY_MIN || len > TPM_HKEY_KEY_MAX)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD,
                          "event=hkey_import_failed reason=bad_length len=%zu", len);
    if (t->state_dir[0] == '\0')
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=hkey_import_failed reason=no_state_dir");
    return tpm_run(t, job_import, &a);
}

enum lj_rc
tpm_hmac_sha256(struct tpm_ctx *t, const char *name, const unsigned char *msg, size_t len,
                unsigned char out[32])
{
    struct hkey_args a = {.name = name, .data = msg, .len = len};
    enum lj_rc rc;

    if (!tpm_object_name_ok(name))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=hmac_failed reason=bad_name");
    if (msg == NULL || out == NULL)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=hmac_failed reason=no_buffer");
    if (len == 0 || len > TPM_HKEY_MSG_MAX)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=hmac_failed reason=bad_length len=%zu",
                          len);
    if (t->state_dir[0] == '\0')
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=hmac_failed reason=no_state_dir");
    rc = tpm_run(t, job_hmac, &a);
    if (rc == LJ_OK)
        memcpy(out, a.out, sizeof(a.out));
    lj_secure_zero(a.out, sizeof(a.out));
    return rc;
}

bool
tpm_hmac_key_present(const char *state_dir, const char *name)
{
    char path[PATH_MAX];

    return state_dir != NULL && tpm_object_name_ok(name) &&
           hkey_path(path, sizeof(path), state_dir, name) && lj_fs_exists(path);
}

enum lj_rc
tpm_hmac_key_remove(const char *state_dir, const char *name)
{
    char path[PATH_MAX];

    if (state_dir == NULL || !tpm_object_name_ok(name) ||
        !hkey_path(path, sizeof(path), state_dir, name))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=hkey_remove_failed reason=bad_name");
    return lj_fs_remove(path);
}

/* True for NAME.hkey with a NAME tpm_hmac_key_import accepts. */
static bool
is_hkey_name(const char *file)
{
    size_t n = strlen(file);
    char name[TPM_SEAL_NAME_MAX + 1];

    if (n <= HKEY_SUFFIX_LEN || n - HKEY_SUFFIX_LEN > TPM_SEAL_NAME_MAX ||
        strcmp(file + n - HKEY_SUFFIX_LEN, HKEY_SUFFIX) != 0)
        return false;
    memcpy(name, file, n - HKEY_SUFFIX_LEN);
    name[n - HKEY_SUFFIX_LEN] = '\0';
    return tpm_object_name_ok(name);
}

bool
tpm_hkey_any(const char *state_dir)
{
    DIR *d;
    struct dirent *de;
    unsigned seen = 0;
    bool any = false;

    if (state_dir == NULL || (d = opendir(state_dir)) == NULL)
        return false;
    while (!any && (de = readdir(d)) != NULL && seen++ < HKEY_SCAN_MAX)
        any = is_hkey_name(de->d_name);
    closedir(d);
    return any;
}

enum lj_rc
tpm_hkey_remove_all(const char *state_dir)
{
    char path[PATH_MAX];
    DIR *d;
    struct dirent *de;
    unsigned count = 0, seen = 0;
    enum lj_rc rc = LJ_OK, r;

    if (state_dir == NULL)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=hkey_remove_failed reason=no_dir");
    d = opendir(state_dir);
    if (d == NULL)
        return LJ_OK; /* no directory: no key */
    while ((de = readdir(d)) != NULL && seen++ < HKEY_SCAN_MAX) {
        if (!is_hkey_name(de->d_name) || !lj_path_join(path, sizeof(path), state_dir, de->d_name))
            continue;
        r = lj_fs_remove(path);
        if (r == LJ_OK)
            count++;
        else if (rc == LJ_OK)
            rc = r;
    }
    closedir(d);
    if (count > 0)
        lj_log(LJ_LOG_INFO, TPM_MOD, "event=hkeys_removed dir=%s files=%u", state_dir, count);
    return rc;
}
