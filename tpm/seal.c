/*
 * seal.c — data kept across runs only in TPM-sealed form (the refresh
 * token of the MDM retry path): tpm_seal, tpm_unseal, tpm_sealed_remove.
 *
 * Design note.
 * - Envelope: a TPM sealed data object holds at most 128 bytes
 *   (MAX_SYM_DATA) and a refresh token is kilobytes, so the TPM seals a
 *   fresh random 256-bit data key per seal (keyedHash sealed object under
 *   the storage root key, tpm/esys_seal.c) and the data is AES-256-GCM
 *   encrypted under it here.  Without this TPM the key cannot be unsealed,
 *   so the data cannot be read: the file holds neither in clear.
 * - One file per name, STATE_DIR/NAME.sealed, 0600, written with
 *   lj_fs_write_atomic (old or new content after a crash, never a mix):
 *       "LJSEAL2\n" | provider u8 | parent_len u8 | parent
 *       | sealed_at u64 (unix seconds) | reserved u64 (0)
 *       | blob_len u16 | blob (provider's sealed key) | nonce[12]
 *       | ct_len u32 | ct | tag[16] | SHA-256 of all the above
 *   integers big-endian.  A file older than the context's seal_max_age_s
 *   (config sealed_max_age_days) is treated as absent and removed: a kept
 *   refresh token lives that long at most.  A file of the older format
 *   LJSEAL1 (sealed without a policy, tpm/esys_seal.c) is treated as absent
 *   and removed too.  The GCM AAD is everything up to the blob's end
 *   plus the name, so a file renamed to another name does not open.  The
 *   trailing SHA-256 tells a damaged file (LJ_ERR_KEYS_CORRUPT) from one
 *   that is intact but was sealed by another TPM (LJ_ERR_TPM_WRONG_TPM).
 * - Secrets: the data key, the sealed-object sensitive area and unsealed
 *   plaintext are wiped before their memory is freed.  On the TPM bus the
 *   data key travels encrypted: Create and Unseal run in an HMAC session
 *   salted with the storage root key, with parameter encryption.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "tpm/tpm.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/clock.h"
#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "tpm/backend.h"

#define SEAL_MAGIC "LJSEAL2\n"
#define SEAL_MAGIC_OLD "LJSEAL1\n"
#define SEAL_TIME 16 /* sealed_at u64 + reserved u64 */
#define SEAL_MAGIC_LEN 8
#define SEAL_BLOB_MAX 2048
#define SEAL_NONCE 12
#define SEAL_TAG 16
#define SEAL_SUM 32
#define SEAL_FILE_MAX                                                                              \
    (SEAL_MAGIC_LEN + 2 + 32 + SEAL_TIME + 2 + SEAL_BLOB_MAX + SEAL_NONCE + 4 +                    \
     TPM_SEAL_DATA_MAX + SEAL_TAG + SEAL_SUM)
#define SEALED_SCAN_MAX 4096 /* directory entries looked at by tpm_sealed_remove_all */
#define PROV_TPM 1
#define PROV_SOFT 2

/* The rule of tpm_seal and tpm_hmac_key_import names (backend.h). */
bool
tpm_object_name_ok(const char *name)
{
    size_t n;

    if (name == NULL)
        return false;
    n = strlen(name);
    if (n == 0 || n > TPM_SEAL_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool
sealed_path(char *buf, size_t bsz, const char *dir, const char *name)
{
    char file[TPM_SEAL_NAME_MAX + 16];

    snprintf(file, sizeof(file), "%s.sealed", name);
    return lj_path_join(buf, bsz, dir, file);
}

static enum lj_rc
sealed_corrupt(const char *path, const char *why)
{
    return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD,
                      "event=sealed_corrupt file=%s reason=%s (file left untouched)", path, why);
}

/* A sealed file that no longer counts (expired, old format): removed, absent. */
static enum lj_rc
sealed_absent(const char *path, const char *event, const char *why)
{
    (void)lj_fs_remove(path);
    return lj_err_set(LJ_ERR_NOT_FOUND, TPM_MOD, "event=%s file=%s reason=\"%s\" action=removed",
                      event, path, why);
}

static void
put16(unsigned char *p, size_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void
put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint64_t
get64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void
put32(unsigned char *p, size_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* AES-256-GCM one shot; enc false = decrypt (tag checked). */
static enum lj_rc
gcm(bool enc, const unsigned char key[32], const unsigned char nonce[SEAL_NONCE],
    const unsigned char *aad, size_t aad_len, const unsigned char *in, size_t len,
    unsigned char *out, unsigned char tag[SEAL_TAG])
{
    Aes aes;
    int r;

    if (wc_AesInit(&aes, NULL, INVALID_DEVID) != 0)
        return lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=aes_init_failed");
    r = wc_AesGcmSetKey(&aes, key, 32);
    if (r == 0 && enc)
        r = wc_AesGcmEncrypt(&aes, out, in, (word32)len, nonce, SEAL_NONCE, tag, SEAL_TAG, aad,
                             (word32)aad_len);
    else if (r == 0)
        r = wc_AesGcmDecrypt(&aes, out, in, (word32)len, nonce, SEAL_NONCE, tag, SEAL_TAG, aad,
                             (word32)aad_len);
    wc_AesFree(&aes);
    lj_secure_zero(&aes, sizeof(aes));
    if (r == AES_GCM_AUTH_E)
        return LJ_ERR_KEYS_CORRUPT;
    if (r != 0)
        return lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=aes_gcm_failed err=%d", r);
    return LJ_OK;
}

struct seal_args {
    const char *name;
    const unsigned char *data;
    size_t len;
    unsigned char *out; /* unseal */
    size_t out_len;
};

/* Build the AAD (header through blob, then the name) into a new buffer. */
static unsigned char *
aad_make(const unsigned char *hdr, size_t hdr_len, const char *name, size_t *aad_len)
{
    size_t nl = strlen(name);
    unsigned char *a = malloc(hdr_len + nl);

    if (a == NULL)
        return NULL;
    memcpy(a, hdr, hdr_len);
    memcpy(a + hdr_len, name, nl);
    *aad_len = hdr_len + nl;
    return a;
}

static enum lj_rc
job_seal(struct tpm_ctx *t, void *arg)
{
    struct seal_args *a = arg;
    unsigned char key[32], nonce[SEAL_NONCE];
    struct tpm_blob blob = {0};
    char parent[32] = "", path[PATH_MAX];
    unsigned char *file = NULL, *aad = NULL;
    size_t plen, off = 0, aad_len = 0, cap;
    WC_RNG rng;
    bool rng_ok = false;
    enum lj_rc rc;

    if (t->ops->seal_key == NULL)
        return lj_err_set(LJ_ERR_UNSUPPORTED, TPM_MOD, "event=seal_unsupported");
    if (!sealed_path(path, sizeof(path), t->state_dir, a->name))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=path_too_long");
    if (wc_InitRng(&rng) != 0)
        return lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=rng_failed");
    rng_ok = true;
    if (wc_RNG_GenerateBlock(&rng, key, sizeof(key)) != 0 ||
        wc_RNG_GenerateBlock(&rng, nonce, sizeof(nonce)) != 0) {
        rc = lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=rng_failed");
        goto out;
    }
    rc = t->ops->seal_key(t->be, t->state_dir, key, parent, &blob);
    if (rc != LJ_OK)
        goto out;
    plen = strlen(parent);
    if (plen == 0 || plen > 31 || blob.len == 0 || blob.len > SEAL_BLOB_MAX) {
        rc = lj_err_set(LJ_ERR_INTERNAL, TPM_MOD, "event=seal_failed reason=bad_blob");
        goto out;
    }
    cap = SEAL_MAGIC_LEN + 2 + plen + SEAL_TIME + 2 + blob.len + SEAL_NONCE + 4 + a->len +
          SEAL_TAG + SEAL_SUM;
    file = malloc(cap);
    if (file == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    memcpy(file, SEAL_MAGIC, SEAL_MAGIC_LEN);
    off = SEAL_MAGIC_LEN;
    file[off++] = t->ops->tpm_protected ? PROV_TPM : PROV_SOFT;
    file[off++] = (unsigned char)plen;
    memcpy(file + off, parent, plen);
    off += plen;
    put64(file + off, (uint64_t)lj_clock_now());
    put64(file + off + 8, 0);
    off += SEAL_TIME;
    put16(file + off, blob.len);
    off += 2;
    memcpy(file + off, blob.data, blob.len);
    off += blob.len;
    aad = aad_make(file, off, a->name, &aad_len);
    if (aad == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    memcpy(file + off, nonce, SEAL_NONCE);
    off += SEAL_NONCE;
    put32(file + off, a->len);
    off += 4;
    rc = gcm(true, key, nonce, aad, aad_len, a->data, a->len, file + off, file + off + a->len);
    if (rc != LJ_OK)
        goto out;
    off += a->len + SEAL_TAG;
    if (wc_Sha256Hash(file, (word32)off, file + off) != 0) {
        rc = lj_err_set(LJ_ERR_CRYPTO, TPM_MOD, "event=sha256_failed");
        goto out;
    }
    off += SEAL_SUM;
    rc = lj_fs_write_atomic(path, file, off, 0600);
    if (rc == LJ_OK)
        lj_log(LJ_LOG_INFO, TPM_MOD, "event=sealed name=%s provider=%s parent=%s bytes=%zu",
               a->name, t->ops->name, parent, a->len);
out:
    lj_secure_zero(key, sizeof(key));
    if (rng_ok)
        wc_FreeRng(&rng);
    free(aad);
    free(file);
    if (blob.data != NULL)
        lj_secure_free(blob.data, blob.len);
    return rc;
}

static enum lj_rc
job_unseal(struct tpm_ctx *t, void *arg)
{
    struct seal_args *a = arg;
    unsigned char key[32], sum[SEAL_SUM];
    char parent[32], path[PATH_MAX];
    unsigned char *file = NULL, *aad = NULL, *pt = NULL;
    size_t len = 0, off, plen, aad_len = 0, ct_len;
    struct tpm_blob blob;
    const unsigned char *nonce, *ct, *tag;
    int64_t sealed_at, age;
    unsigned prov;
    enum lj_rc rc;

    lj_secure_zero(key, sizeof(key));
    if (t->ops->unseal_key == NULL)
        return lj_err_set(LJ_ERR_UNSUPPORTED, TPM_MOD, "event=unseal_unsupported");
    if (!sealed_path(path, sizeof(path), t->state_dir, a->name))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=path_too_long");
    rc = lj_fs_read(path, SEAL_FILE_MAX, &file, &len);
    if (rc == LJ_ERR_NOT_FOUND)
        return lj_err_set(rc, TPM_MOD, "event=unseal_failed file=%s reason=no sealed data", path);
    if (rc == LJ_ERR_TOO_BIG)
        return sealed_corrupt(path, "too big");
    if (rc != LJ_OK)
        return rc;
    if (len < SEAL_MAGIC_LEN + 2 + SEAL_SUM) {
        rc = sealed_corrupt(path, "truncated");
        goto out;
    }
    if (wc_Sha256Hash(file, (word32)(len - SEAL_SUM), sum) != 0 ||
        !lj_secure_equal(sum, file + len - SEAL_SUM, SEAL_SUM)) {
        rc = sealed_corrupt(path, "checksum mismatch (truncated or altered)");
        goto out;
    }
    len -= SEAL_SUM;
    if (memcmp(file, SEAL_MAGIC_OLD, SEAL_MAGIC_LEN) == 0) {
        rc = sealed_absent(path, "sealed_old_format",
                           "sealed by an older version without a boot-state policy");
        goto out;
    }
    if (memcmp(file, SEAL_MAGIC, SEAL_MAGIC_LEN) != 0) {
        rc = sealed_corrupt(path, "not a sealed file");
        goto out;
    }
    off = SEAL_MAGIC_LEN;
    prov = file[off++];
    plen = file[off++];
    if (plen == 0 || plen > 31 || off + plen + 2 > len) {
        rc = sealed_corrupt(path, "bad header");
        goto out;
    }
    memcpy(parent, file + off, plen);
    parent[plen] = '\0';
    off += plen;
    if (off + SEAL_TIME + 2 > len) {
        rc = sealed_corrupt(path, "bad header");
        goto out;
    }
    sealed_at = (int64_t)get64(file + off);
    off += SEAL_TIME;
    age = lj_clock_now() - sealed_at;
    if (age > t->seal_max_age_s) {
        char why[96];

        snprintf(why, sizeof(why), "sealed %lld days ago, the limit is %ld (sealed_max_age_days)",
                 (long long)(age / 86400), t->seal_max_age_s / 86400);
        rc = sealed_absent(path, "sealed_expired", why);
        goto out;
    }
    blob.len = ((size_t)file[off] << 8) | file[off + 1];
    off += 2;
    if (blob.len == 0 || blob.len > SEAL_BLOB_MAX || off + blob.len + SEAL_NONCE + 4 > len) {
        rc = sealed_corrupt(path, "bad blob length");
        goto out;
    }
    blob.data = file + off;
    off += blob.len;
    aad = aad_make(file, off, a->name, &aad_len);
    if (aad == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    nonce = file + off;
    off += SEAL_NONCE;
    ct_len = ((size_t)file[off] << 24) | ((size_t)file[off + 1] << 16) |
             ((size_t)file[off + 2] << 8) | file[off + 3];
    off += 4;
    if (ct_len == 0 || ct_len > TPM_SEAL_DATA_MAX || off + ct_len + SEAL_TAG != len) {
        rc = sealed_corrupt(path, "bad data length");
        goto out;
    }
    ct = file + off;
    tag = ct + ct_len;
    if ((prov == PROV_TPM) != t->ops->tpm_protected || (prov != PROV_TPM && prov != PROV_SOFT)) {
        rc = lj_err_set(LJ_ERR_STATE, TPM_MOD,
                        "event=unseal_failed file=%s reason=sealed by the '%s' provider, "
                        "opened with '%s'",
                        path, prov == PROV_TPM ? "tpm" : "soft", t->ops->name);
        goto out;
    }
    rc = t->ops->unseal_key(t->be, t->state_dir, parent, &blob, key);
    if (rc != LJ_OK)
        goto out;
    pt = malloc(ct_len + 1);
    if (pt == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    rc = gcm(false, key, nonce, aad, aad_len, ct, ct_len, pt, (unsigned char *)tag);
    if (rc == LJ_ERR_KEYS_CORRUPT) {
        rc = sealed_corrupt(path, "authentication tag mismatch");
        goto out;
    }
    if (rc != LJ_OK)
        goto out;
    pt[ct_len] = '\0';
    a->out = pt;
    a->out_len = ct_len;
    pt = NULL;
    lj_log(LJ_LOG_INFO, TPM_MOD, "event=unsealed name=%s provider=%s", a->name, t->ops->name);
out:
    lj_secure_zero(key, sizeof(key));
    if (pt != NULL)
        lj_secure_free(pt, ct_len + 1);
    free(aad);
    free(file);
    return rc;
}

enum lj_rc
tpm_seal(struct tpm_ctx *t, const char *name, const unsigned char *data, size_t len)
{
    struct seal_args a = {.name = name, .data = data, .len = len};

    if (!tpm_object_name_ok(name))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=seal_failed reason=bad_name");
    if (data == NULL || len == 0 || len > TPM_SEAL_DATA_MAX)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=seal_failed reason=bad_length len=%zu",
                          len);
    if (t->state_dir[0] == '\0')
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=seal_failed reason=no_state_dir");
    return tpm_run(t, job_seal, &a);
}

/* A seal queued by tpm_seal_start; owned by the ctx until collected. */
struct tpm_seal_bg {
    char name[TPM_SEAL_NAME_MAX + 1];
    unsigned char *data; /* secret copy */
    size_t len;
    struct seal_args a;
};

static void
seal_bg_free(struct tpm_seal_bg *bg)
{
    if (bg == NULL)
        return;
    if (bg->data != NULL)
        lj_secure_free(bg->data, bg->len);
    free(bg);
}

enum lj_rc
tpm_seal_start(struct tpm_ctx *t, const char *name, const unsigned char *data, size_t len)
{
    struct tpm_seal_bg *bg;

    if (t->seal_pending)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=seal_already_pending");
    if (!tpm_object_name_ok(name))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=seal_failed reason=bad_name");
    if (data == NULL || len == 0 || len > TPM_SEAL_DATA_MAX)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=seal_failed reason=bad_length len=%zu",
                          len);
    if (t->state_dir[0] == '\0')
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=seal_failed reason=no_state_dir");
    bg = calloc(1, sizeof(*bg));
    if (bg == NULL)
        return LJ_ERR_NOMEM;
    bg->data = malloc(len);
    if (bg->data == NULL) {
        free(bg);
        return LJ_ERR_NOMEM;
    }
    memcpy(bg->data, data, len);
    bg->len = len;
    snprintf(bg->name, sizeof(bg->name), "%s", name);
    bg->a.name = bg->name;
    bg->a.data = bg->data;
    bg->a.len = len;
    memset(&t->seal_job, 0, sizeof(t->seal_job));
    t->seal_job.fn = job_seal;
    t->seal_job.arg = &bg->a;
    t->seal_bg = bg;
    t->seal_pending = true;
    tpm_job_post(t, &t->seal_job);
    return LJ_OK;
}

enum lj_rc
tpm_seal_wait(struct tpm_ctx *t)
{
    enum lj_rc rc;

    if (!t->seal_pending)
        return LJ_ERR_NOT_FOUND;
    if (!tpm_job_done_wait(t, &t->seal_job))
        return tpm_hung_error(t); /* bg stays with the worker; tpm_close abandons t */
    rc = tpm_job_wait(t, &t->seal_job);
    t->seal_pending = false;
    seal_bg_free(t->seal_bg);
    t->seal_bg = NULL;
    return rc;
}

enum lj_rc
tpm_unseal(struct tpm_ctx *t, const char *name, unsigned char **data, size_t *len)
{
    struct seal_args a = {.name = name};
    enum lj_rc rc;

    if (!tpm_object_name_ok(name))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=unseal_failed reason=bad_name");
    if (t->state_dir[0] == '\0')
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=unseal_failed reason=no_state_dir");
    rc = tpm_run(t, job_unseal, &a);
    if (rc != LJ_OK)
        return rc;
    *data = a.out;
    *len = a.out_len;
    return LJ_OK;
}

enum lj_rc
tpm_sealed_remove(const char *state_dir, const char *name)
{
    char path[PATH_MAX];

    if (state_dir == NULL || !tpm_object_name_ok(name) ||
        !sealed_path(path, sizeof(path), state_dir, name))
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=sealed_remove_failed reason=bad_name");
    return lj_fs_remove(path);
}

bool
tpm_sealed_present(const char *state_dir, const char *name)
{
    char path[PATH_MAX];

    return state_dir != NULL && tpm_object_name_ok(name) &&
           sealed_path(path, sizeof(path), state_dir, name) && lj_fs_exists(path);
}

/* True for NAME.sealed with a NAME tpm_seal accepts. */
static bool
is_sealed_name(const char *file)
{
    size_t n = strlen(file);
    char name[TPM_SEAL_NAME_MAX + 1];

    if (n <= 7 || n - 7 > TPM_SEAL_NAME_MAX || strcmp(file + n - 7, ".sealed") != 0)
        return false;
    memcpy(name, file, n - 7);
    name[n - 7] = '\0';
    return tpm_object_name_ok(name);
}

enum lj_rc
tpm_sealed_remove_all(const char *state_dir, unsigned *removed)
{
    char path[PATH_MAX];
    DIR *d = NULL;
    struct dirent *de;
    unsigned count = 0, seen = 0;
    enum lj_rc rc = LJ_OK, r;

    if (state_dir == NULL)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=sealed_remove_failed reason=no_dir");
    d = opendir(state_dir);
    if (d == NULL)
        goto soft_key; /* no directory: nothing sealed */
    while ((de = readdir(d)) != NULL && seen++ < SEALED_SCAN_MAX) {
        if (!is_sealed_name(de->d_name))
            continue;
        if (!lj_path_join(path, sizeof(path), state_dir, de->d_name))
            continue;
        r = lj_fs_remove(path);
        if (r == LJ_OK)
            count++;
        else if (rc == LJ_OK)
            rc = r;
    }
    closedir(d);
soft_key:
    if (lj_path_join(path, sizeof(path), state_dir, TPM_SOFT_SEAL_KEY) && lj_fs_exists(path)) {
        r = lj_fs_remove(path);
        if (r == LJ_OK)
            count++;
        else if (rc == LJ_OK)
            rc = r;
    }
    if (removed != NULL)
        *removed = count;
    if (count > 0)
        lj_log(LJ_LOG_INFO, TPM_MOD, "event=sealed_removed dir=%s files=%u", state_dir, count);
    return rc;
}
