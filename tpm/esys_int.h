/*
 * esys_int.h — private to tpm/esys*.c, the TPM key provider over tpm2-tss
 * ESAPI: the provider's state and the helpers its files share.  Only
 * tpm/esys*.c include tss2 headers; nothing else includes this.
 *
 * Where each part lives:
 *   esys.c         open/close, the storage parent (SRK), the device and
 *                  transport keys: create, load, sign, decrypt; the
 *                  provider table
 *   esys_gate.c    the TCTI pass-through that makes every TPM exchange a
 *                  bounded wait
 *   esys_health.c  read-only health and factory checks (properties,
 *                  self-test, random, EK certificates from NV, an
 *                  ephemeral key) and TPM2_Clear
 *   esys_seal.c    the sealed data key of tpm/seal.c, the salted session
 *   esys_hmac.c    the keyed-hash (HMAC-SHA256) keys of tpm/hkey.c
 *   esys_track.c   the transient objects loaded, so a crashed run's own
 *                  (and only those) are flushed at the next start
 *   esys_crypto.c  ESAPI's crypto backend on wolfCrypt (esys_crypto.h)
 * All of it runs only on the tpm_ctx worker thread.
 */
#ifndef LJ_TPM_ESYS_INT_H
#define LJ_TPM_ESYS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tcti.h>

#include "tpm/backend.h"

#define SRK_PERSISTENT 0x81000001u
/* tss2's TRANSIENT_FIRST shifts a signed int into the sign bit (UBSan). */
#define TRANSIENT_FIRST 0x80000000u

/*
 * The TCTI ESAPI talks to (esys_gate.c): a pass-through to the loaded one
 * that brackets every transmit and receive with tpm_io_begin/tpm_io_end.
 */
struct gate_tcti {
    TSS2_TCTI_CONTEXT_COMMON_V2 common; /* first: ESAPI casts to it */
    TSS2_TCTI_CONTEXT *inner;
    struct tpm_ctx *t;
    uint32_t cc;        /* the command in flight (its debug trace) */
    struct timespec t0; /* CLOCK_MONOTONIC, when it was sent */
};

#define ESYS_TRACK_MAX 8

/* A transient object this process loaded (esys_track.c). */
struct esys_tracked {
    TPM2_HANDLE handle;
    unsigned char name[sizeof(((TPM2B_NAME *)0)->name)];
    size_t name_len;
};

struct esys {
    TSS2_TCTI_CONTEXT *tcti; /* the loaded TCTI */
    struct gate_tcti gate;   /* what ESAPI uses */
    ESYS_CONTEXT *ctx;
    char tcti_conf[256];
    bool rm;               /* behind a resource manager: nothing recorded */
    char track_path[4096]; /* STATE_DIR/tpm-objects, "" = memory only */
    struct esys_tracked tracked[ESYS_TRACK_MAX];
    unsigned ntracked;
    bool hold;   /* tpm_parent_hold: keep the template parent loaded */
    ESYS_TR srk; /* the held parent, ESYS_TR_NONE when none */
    /*
     * While the parent is held: one salted session (salted by it) serves
     * every command that needs one (esys_salted_session), and the last
     * keyed-hash key used stays loaded (esys_hmac); both go with the parent.
     */
    ESYS_TR hsess;
    ESYS_TR hkey;
    bool srk_known, srk_persistent; /* esys_has_persistent_srk's answer, while held */
    unsigned char *hkey_blob;       /* the blob hkey was loaded from (copy) */
    size_t hkey_blob_len;
};

/*
 * The one place TSS2 codes become enum lj_rc (esys.c).  `loading` marks
 * Esys_Load of our blobs, where an integrity failure means "made by
 * another TPM".  Sets and returns the error.
 */
enum lj_rc esys_rc(TSS2_RC r, const char *op, bool loading);

/* esys_gate.c: make g the TCTI ESAPI uses, passing through to inner for t. */
void esys_gate_init(struct gate_tcti *g, TSS2_TCTI_CONTEXT *inner, struct tpm_ctx *t);

/* esys.c: flush the transient object *h (if any); *h becomes ESYS_TR_NONE. */
void esys_flush(struct esys *e, ESYS_TR *h);

/*
 * esys_track.c: the transient objects this process loads.  esys_track_open
 * (at open) flushes a crashed run's recorded objects still there with
 * their recorded names (never another process's; nothing behind a resource
 * manager); esys_track records h, whose public area is pub (its Name is
 * computed from it), after every Load/CreatePrimary; esys_flush calls
 * esys_untrack.
 */
void esys_track_open(struct esys *e, const char *state_dir);
void esys_track(struct esys *e, ESYS_TR h, const TPM2B_PUBLIC *pub);
void esys_untrack(struct esys *e, ESYS_TR h);

/* esys.c: the TPM has the persistent SRK 0x81000001 (*rc: a failure to ask). */
bool esys_has_persistent_srk(struct esys *e, enum lj_rc *rc);

/*
 * esys.c: make the parent named by `parent` usable: *h gets its ESYS_TR and
 * *transient whether it must be flushed; give it back with esys_parent_put.
 */
enum lj_rc esys_parent_get(struct esys *e, const char *parent, ESYS_TR *h, bool *transient);
void esys_parent_put(struct esys *e, ESYS_TR *h, bool transient);

/* esys_health.c: the optional provider functions (see struct tpm_backend). */
enum lj_rc esys_health(void *be, struct tpm_health *out);
enum lj_rc esys_selftest(void *be, bool full);
enum lj_rc esys_random(void *be, unsigned char *buf, size_t n);
enum lj_rc esys_ek_certs(void *be, struct tpm_ek_cert *out, size_t *n);
enum lj_rc esys_eph_sign(void *be, const unsigned char dig[32], struct tpm_ecc_sig *out);
enum lj_rc esys_transient_count(void *be, unsigned *n);
enum lj_rc esys_clear(void *be);

/* esys_seal.c: the sealed data key (see struct tpm_backend). */
enum lj_rc esys_seal_key(void *be, const char *state_dir, const unsigned char key[32],
                         char parent[32], struct tpm_blob *blob);
enum lj_rc esys_unseal_key(void *be, const char *state_dir, const char *parent,
                           const struct tpm_blob *blob, unsigned char key[32]);

/*
 * esys_seal.c: an HMAC session salted with salt_key (a loaded storage
 * key), AES-128-CFB parameter encryption in the direction(s) of attrs
 * (TPMA_SESSION_DECRYPT: the command's first parameter,
 * TPMA_SESSION_ENCRYPT: the response's; esys.c uses it for RSA_Decrypt,
 * esys_hmac.c for Create and HMAC).  Salted by the held parent
 * (tpm_parent_hold), it is the held session, started once and used by
 * every such command until the parent is released (each StartAuthSession
 * costs an ephemeral key and an ECDH: ~10 M instructions in wolfCrypt's
 * generic P-256 code, tpm/esys_crypto.c); else a new one.  Give it back
 * with esys_session_put(e, sess, rc): a held one stays (dropped when rc
 * is a failure, its state then unknown), any other is flushed.
 */
enum lj_rc esys_salted_session(struct esys *e, ESYS_TR salt_key, TPMA_SESSION attrs, ESYS_TR *sess);
void esys_session_put(struct esys *e, ESYS_TR *sess, enum lj_rc rc);

/* esys_hmac.c: flush the held keyed-hash key (parent released, close). */
void esys_hkey_drop(struct esys *e);

/* esys_hmac.c: the keyed-hash keys (see struct tpm_backend). */
enum lj_rc esys_hmac_import(void *be, const char *state_dir, const unsigned char *key, size_t len,
                            char parent[32], struct tpm_blob *blob);
enum lj_rc esys_hmac(void *be, const char *state_dir, const char *parent,
                     const struct tpm_blob *blob, const unsigned char *msg, size_t len,
                     unsigned char out[32]);

#endif
