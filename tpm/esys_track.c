/*
 * esys_track.c — the transient objects this process loads, recorded so a
 * crashed run's objects (and only those) are flushed at the next start.
 *
 * Behind a resource manager (device:/dev/tpmrm*, tabrmd) a connection's
 * objects are flushed by the resource manager when it closes, also when the
 * process dies: nothing to record, nothing to flush.  On a TCTI without one
 * (a raw /dev/tpmN, allowed only by tpm_raw_device = yes; simulators in
 * tests) the TPM is shared and keeps a dead process's objects: each object
 * the agent loads is written to STATE_DIR/tpm-objects as its handle and
 * name (TPM 2.0 Library Part 1, 16 "Names"), and removed when flushed.  At
 * open, a recorded handle is flushed only while the object at it still has
 * the recorded name, so another process's object that got the same handle
 * number is left alone.  A context without a state directory records in
 * memory only.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "tpm/esys_int.h"

#include <tss2/tss2_mu.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "platform/testhook.h"

#define TRACK_FILE "tpm-objects"
#define TRACK_FILE_MAX 4096

static bool
tcti_has_rm(const char *conf)
{
    return (strncmp(conf, "device:", 7) == 0 && strstr(conf + 7, "tpmrm") != NULL) ||
           strncmp(conf, "tabrmd", 6) == 0;
}

static void
hex(char *dst, const unsigned char *p, size_t n)
{
    static const char d[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = d[p[i] >> 4];
        dst[2 * i + 1] = d[p[i] & 15];
    }
    dst[2 * n] = '\0';
}

/* Write the record (none left: remove the file). */
static void
track_save(struct esys *e)
{
    char buf[ESYS_TRACK_MAX * (9 + 2 * sizeof(((TPM2B_NAME *)0)->name) + 2)];
    size_t off = 0;
    enum lj_rc rc;

    if (e->track_path[0] == '\0')
        return;
    if (e->ntracked == 0) {
        (void)lj_fs_remove(e->track_path);
        return;
    }
    for (unsigned i = 0; i < e->ntracked; i++) {
        char nh[2 * sizeof(e->tracked[i].name) + 1];

        hex(nh, e->tracked[i].name, e->tracked[i].name_len);
        off +=
            (size_t)snprintf(buf + off, sizeof(buf) - off, "%08x %s\n", e->tracked[i].handle, nh);
    }
    /*
     * No fsync: transient objects do not survive a TPM Reset or Restart
     * (TPM 2.0 Library Part 1, "Startup"), so after a power loss there is
     * nothing to flush; a crashed process's writes are kept by the kernel.
     */
    rc = lj_fs_write_volatile(e->track_path, buf, off, 0600);
    if (rc != LJ_OK)
        lj_log(LJ_LOG_WARN, TPM_MOD, "event=objects_record_failed rc=%s", lj_rc_name(rc));
}

/*
 * The TPM handle of h and the Name of its public area pub (Part 1, 16
 * "Names": nameAlg || H_nameAlg(TPMT_PUBLIC)), hashed here with wolfSSL:
 * Esys_TR_GetName would hash it again through tpm2-tss's OpenSSL backend,
 * which builds a new OpenSSL library context for every digest (~1 ms of
 * CPU each on the development machine).  false when either is unknown.
 */
static bool
handle_and_name(struct esys *e, ESYS_TR h, const TPM2B_PUBLIC *pub, TPM2_HANDLE *th,
                struct esys_tracked *t)
{
    unsigned char buf[sizeof(TPMT_PUBLIC)];
    size_t off = 0;
    wc_Sha256 sha;
    bool ok;

    if (pub == NULL || pub->publicArea.nameAlg != TPM2_ALG_SHA256 ||
        Esys_TR_GetTpmHandle(e->ctx, h, th) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        return false;
    t->name[0] = (unsigned char)(TPM2_ALG_SHA256 >> 8);
    t->name[1] = (unsigned char)(TPM2_ALG_SHA256 & 0xff);
    if (wc_InitSha256(&sha) != 0)
        return false;
    ok = wc_Sha256Update(&sha, buf, (word32)off) == 0 && wc_Sha256Final(&sha, t->name + 2) == 0;
    wc_Sha256Free(&sha);
    t->name_len = 2 + WC_SHA256_DIGEST_SIZE;
    return ok;
}

void
esys_track(struct esys *e, ESYS_TR h, const TPM2B_PUBLIC *pub)
{
    TPM2_HANDLE th;
    struct esys_tracked *t;

    if (e->rm || h == ESYS_TR_NONE)
        return;
    if (e->ntracked >= ESYS_TRACK_MAX ||
        !handle_and_name(e, h, pub, &th, &e->tracked[e->ntracked])) {
        lj_log(LJ_LOG_WARN, TPM_MOD, "event=object_not_recorded");
        return;
    }
    t = &e->tracked[e->ntracked++];
    t->handle = th;
    track_save(e);
    LJ_TEST_CRASH_POINT("tpm_object_loaded");
}

void
esys_untrack(struct esys *e, ESYS_TR h)
{
    TPM2_HANDLE th;

    if (e->rm || e->ntracked == 0 || Esys_TR_GetTpmHandle(e->ctx, h, &th) != TSS2_RC_SUCCESS)
        return;
    for (unsigned i = 0; i < e->ntracked; i++) {
        if (e->tracked[i].handle != th)
            continue;
        e->tracked[i] = e->tracked[--e->ntracked];
        track_save(e);
        return;
    }
}

/* One "HANDLE NAMEHEX" line of the record; false when malformed. */
static bool
parse_line(const char *l, size_t n, TPM2_HANDLE *h, unsigned char *name, size_t *name_len,
           size_t cap)
{
    unsigned long v = 0;
    size_t i, k = 0;

    if (n < 10 || l[8] != ' ' || (n - 9) % 2 != 0 || (n - 9) / 2 > cap)
        return false;
    for (i = 0; i < 8; i++) {
        int c = l[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = v * 16 + (unsigned long)d;
    }
    for (i = 9; i < n; i += 2) {
        int hi = l[i], lo = l[i + 1];
        hi = hi >= '0' && hi <= '9' ? hi - '0' : hi >= 'a' && hi <= 'f' ? hi - 'a' + 10 : -1;
        lo = lo >= '0' && lo <= '9' ? lo - '0' : lo >= 'a' && lo <= 'f' ? lo - 'a' + 10 : -1;
        if (hi < 0 || lo < 0)
            return false;
        name[k++] = (unsigned char)(hi * 16 + lo);
    }
    *h = (TPM2_HANDLE)v;
    *name_len = k;
    return (v & 0xff000000u) == TRANSIENT_FIRST;
}

/* Flush the recorded object at h when it still has the recorded name. */
static bool
flush_if_ours(struct esys *e, TPM2_HANDLE h, const unsigned char *name, size_t name_len)
{
    ESYS_TR tr = ESYS_TR_NONE;
    TPM2B_NAME *cur = NULL;
    bool ours;

    if (Esys_TR_FromTPMPublic(e->ctx, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr) !=
        TSS2_RC_SUCCESS)
        return false; /* gone */
    ours = Esys_TR_GetName(e->ctx, tr, &cur) == TSS2_RC_SUCCESS && cur->size == name_len &&
           memcmp(cur->name, name, name_len) == 0;
    Esys_Free(cur);
    if (!ours) {
        lj_log(LJ_LOG_INFO, TPM_MOD, "event=recorded_handle_reused handle=0x%08x action=left", h);
        Esys_TR_Close(e->ctx, &tr);
        return false;
    }
    esys_flush(e, &tr);
    return true;
}

void
esys_track_open(struct esys *e, const char *state_dir)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    unsigned flushed = 0;

    e->rm = tcti_has_rm(e->tcti_conf);
    e->ntracked = 0;
    e->track_path[0] = '\0';
    if (state_dir != NULL && state_dir[0] != '\0' &&
        (size_t)snprintf(e->track_path, sizeof(e->track_path), "%s/" TRACK_FILE, state_dir) >=
            sizeof(e->track_path))
        e->track_path[0] = '\0';
    if (e->track_path[0] == '\0')
        return;
    if (lj_fs_read(e->track_path, TRACK_FILE_MAX, &buf, &len) != LJ_OK)
        return;
    if (!e->rm) {
        for (size_t off = 0; off < len;) {
            const char *l = (const char *)buf + off;
            size_t n = strcspn(l, "\n");
            unsigned char name[sizeof(((TPM2B_NAME *)0)->name)];
            size_t name_len = 0;
            TPM2_HANDLE h;

            if (parse_line(l, n, &h, name, &name_len, sizeof(name)) &&
                flush_if_ours(e, h, name, name_len))
                flushed++;
            off += n + 1;
        }
    }
    free(buf);
    (void)lj_fs_remove(e->track_path);
    if (flushed > 0)
        lj_log(LJ_LOG_WARN, TPM_MOD, "event=stale_objects_flushed count=%u", flushed);
}
