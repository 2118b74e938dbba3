/*
 * tpm.h — device key custody: the one door to the TPM (tpm2-tss ESAPI) and
 * to the software key provider used by unit tests.
 *
 * Callers never see ESAPI, TSS2 or wolfSSL types, handles or blob meanings.
 * A struct tpm_ctx owns one worker thread that owns the ESAPI context; every
 * call below is executed on that thread, one at a time, in call order.
 * Synchronous calls block the calling thread until the worker has finished
 * the request (which includes the time to finish an earlier queued request,
 * e.g. a background keygen).  A tpm_ctx may be used from any thread, but
 * not closed while another thread is still calling it.
 *
 * Errors: every call returns enum lj_rc; the first error detail is recorded
 * for the calling thread (lj_err_detail()).  TPM-specific codes:
 *   LJ_ERR_TPM_UNREACHABLE    no TPM at the TCTI (nothing listening, no device)
 *   LJ_ERR_TPM_LOCKOUT        dictionary-attack lockout
 *   LJ_ERR_TPM_WRONG_TPM      key blobs were made by a different TPM (or it was cleared)
 *   LJ_ERR_TPM_OBJECT_MEMORY  the TPM has no free object slot
 *   LJ_ERR_TPM                any other TPM failure (decoded TSS2 text in the log)
 *   LJ_ERR_KEYS_CORRUPT       key files unreadable/altered; they are left untouched
 *   LJ_ERR_STATE              keys on disk belong to another key provider
 */
#ifndef LJ_TPM_TPM_H
#define LJ_TPM_TPM_H

#include <stdbool.h>
#include <stddef.h>

#include "platform/result.h"

#define TPM_DEFAULT_TCTI "device:/dev/tpmrm0"
#define TPM_RSA_BYTES 256 /* RSA-2048 modulus and signature size */

enum tpm_provider {
    TPM_PROVIDER_TPM = 0,  /* keys inside the TPM (the only one for devices) */
    TPM_PROVIDER_SOFT = 1, /* wolfSSL keys in files: unit tests only */
};

struct tpm_ctx;

struct tpm_open_opts {
    const char *state_dir;       /* required; created 0700 when missing */
    const char *tcti;            /* NULL: TPM_DEFAULT_TCTI */
    enum tpm_provider provider;  /* default TPM; SOFT only when explicitly named */
};

/* An RSA public key as big-endian integers without leading zero bytes. */
struct tpm_rsa_pub {
    unsigned char n[512];
    size_t n_len;
    unsigned char e[8];
    size_t e_len;
};

/* What `status`-like reports print about key custody. */
struct tpm_describe {
    const char *provider;   /* "tpm" or "soft" (static string) */
    bool tpm_protected;     /* false for the soft provider */
    bool keys_loaded;       /* keys ensured in this context */
    char parent[32];        /* "ecc-srk-template", "0x81000001", "none" or "" */
};

/*
 * Start the worker, connect to the TPM (TPM provider: TCTI init, flush of
 * stale transient objects left by a crashed run).  Does not touch keys.
 * On success *out is owned by the caller: release with tpm_close().
 * Blocks until connected; an unreachable TPM fails fast.
 */
enum lj_rc tpm_open(const struct tpm_open_opts *opts, struct tpm_ctx **out);

/* Wait for queued work, disconnect, stop the worker and free t.  NULL is fine. */
void tpm_close(struct tpm_ctx *t);

/*
 * Make sure the device key and transport key exist: load and validate the
 * blobs in the state dir (reused), or create both when none exist (created).
 * Corrupt or foreign blobs are an error and are never overwritten.
 * *created (optional) is written on success.  Blocks (RSA keygen: up to
 * seconds on a hardware TPM).
 */
enum lj_rc tpm_keys_ensure(struct tpm_ctx *t, bool *created);

/*
 * Same as tpm_keys_ensure, in the background: _start queues the work and
 * returns at once (LJ_ERR_INVAL if one is already pending); _wait blocks
 * until it is done and returns its result (and its error detail on this
 * thread).  Other calls made meanwhile queue behind it.
 */
enum lj_rc tpm_keys_ensure_start(struct tpm_ctx *t);
enum lj_rc tpm_keys_ensure_wait(struct tpm_ctx *t, bool *created);

/*
 * PKCS#10 request (version 0, subject CN=cn, RSA-2048, sha256WithRSA) signed
 * by the device key inside the TPM through wolfSSL's crypto callback.
 * Needs keys ensured.  On success *der (length *der_len) and *pem
 * (NUL-terminated) are malloc'ed and owned by the caller (free()); either
 * out pointer may be NULL when not wanted.  Blocks (one TPM sign).
 */
enum lj_rc tpm_csr(struct tpm_ctx *t, const char *cn, unsigned char **der,
                   size_t *der_len, char **pem);

/* Device key public part (no TPM round trip).  Needs keys ensured. */
enum lj_rc tpm_device_pub(struct tpm_ctx *t, struct tpm_rsa_pub *out);

/*
 * Device key as DER SubjectPublicKeyInfo; *der malloc'ed, caller frees.
 * Compare with a certificate's key.  Needs keys ensured.
 */
enum lj_rc tpm_device_spki(struct tpm_ctx *t, unsigned char **der, size_t *der_len);

/* Transport key public part.  Needs keys ensured. */
enum lj_rc tpm_transport_pub(struct tpm_ctx *t, struct tpm_rsa_pub *out);

/*
 * Transport key as a BCRYPT_RSAPUBLIC_BLOB ("RSA1"; 283 bytes for
 * RSA-2048/65537).  *blob malloc'ed, caller frees.  Needs keys ensured.
 */
enum lj_rc tpm_transport_blob(struct tpm_ctx *t, unsigned char **blob, size_t *len);

/*
 * RSASSA-PKCS1-v1_5 signature over a SHA-256 digest with the device key.
 * sig must hold TPM_RSA_BYTES; *sig_len gets the length.  Blocks.
 */
enum lj_rc tpm_sign_sha256(struct tpm_ctx *t, const unsigned char digest[32],
                           unsigned char *sig, size_t *sig_len);

/*
 * RSA-OAEP (SHA-256, MGF1-SHA-256, empty label) decryption with the
 * transport key.  On success *pt is malloc'ed and secret: the caller frees
 * it with lj_secure_free(*pt, *pt_len).  Blocks.
 */
enum lj_rc tpm_transport_decrypt(struct tpm_ctx *t, const unsigned char *ct,
                                 size_t ct_len, unsigned char **pt, size_t *pt_len);

/* Fill *out with the provider and key state (no TPM round trip). */
void tpm_describe(struct tpm_ctx *t, struct tpm_describe *out);

/*
 * True when a key record exists in state_dir (keys were created by some
 * provider; whether they still load is tpm_keys_ensure's business).
 */
bool tpm_keys_present(const char *state_dir);

/*
 * What the key record in state_dir says, without opening the TPM (for
 * `linkjoin status`): provider ("tpm"/"soft"), tpm_protected, parent;
 * keys_loaded stays false.  LJ_ERR_NOT_FOUND when there is no record,
 * LJ_ERR_KEYS_CORRUPT when it names no known provider.  Blocks on one
 * small file read.
 */
enum lj_rc tpm_keys_describe_dir(const char *state_dir, struct tpm_describe *out);

/*
 * Delete the key record and every key file of either provider from
 * state_dir (leave/reset).  The record goes first, so an interrupted
 * removal never looks like valid keys.  Blocks on the file system.
 */
enum lj_rc tpm_keys_remove(const char *state_dir);

/* "tpm"/"soft" → provider; false for anything else. */
bool tpm_provider_parse(const char *s, enum tpm_provider *out);

#endif
