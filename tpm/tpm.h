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
 * Bounded waits: a TPM that takes a command and never answers (a hung
 * chip, a simulator that stopped) would block the worker in the TCTI's
 * receive forever: tpm2-tss cannot bound it (the synchronous Esys_* calls
 * force an infinite timeout whatever Esys_SetTimeout says, and the swtpm
 * and mssim TCTIs refuse any other).  So the bound is kept here: one TPM
 * command (one TCTI exchange, including the TCTI's own connect) that has
 * not come back after timeout_s fails the waiting call with
 * LJ_ERR_TPM_UNREACHABLE, and from then on the context is dead: every
 * call fails the same way at once, and tpm_close leaves the worker thread
 * (stuck in the TCTI, or parked if the answer comes late) behind instead
 * of joining it, so the process can still end.  The bound is per command,
 * so it must cover the slowest single command (RSA-2048 keygen on a slow
 * discrete TPM: tens of seconds).
 *
 * Errors: every call returns enum lj_rc; the first error detail is recorded
 * for the calling thread (lj_err_detail()).  TPM-specific codes:
 *   LJ_ERR_TPM_UNREACHABLE    no TPM at the TCTI (nothing listening, no device),
 *                             or it left one command unanswered for longer
 *                             than tpm_open_opts.timeout_s (see below)
 *   LJ_ERR_TPM_LOCKOUT        dictionary-attack lockout
 *   LJ_ERR_TPM_WRONG_TPM      key blobs were made by a different TPM (or it was cleared)
 *   LJ_ERR_TPM_KEYS_LOST      the key record is of an older version, made with key
 *                             templates this version no longer uses (see
 *                             tpm_keys_ensure); the keys are treated as lost
 *   LJ_ERR_TPM_OBJECT_MEMORY  the TPM has no free object slot
 *   LJ_ERR_TPM                any other TPM failure (decoded TSS2 text in the log)
 *   LJ_ERR_KEYS_CORRUPT       key files unreadable/altered; they are left untouched
 *   LJ_ERR_STATE              keys on disk belong to another key provider
 */
#ifndef LJ_TPM_TPM_H
#define LJ_TPM_TPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/common/result.h"

#define TPM_DEFAULT_TCTI "device:/dev/tpmrm0"
#define TPM_RSA_BYTES 256 /* RSA-2048 modulus and signature size */
/* Bound on one TPM command ("Bounded waits"); RSA-2048 keygen on a slow chip takes tens of s. */
#define TPM_DEFAULT_TIMEOUT_S 120
/*
 * Version of the key record (keys.rec "format=linkjoin-keys-N").  2: the
 * transport key has scheme NULL (OAEP hash chosen per call) and both keys
 * are noDA.  Records of version 1 (transport key fixed to OAEP-SHA256,
 * keys subject to dictionary-attack lockout) are treated as lost keys.
 * The device key's scheme (RSASSA-SHA256 in keys made before, NULL now)
 * does not change the version: both load and sign RSASSA-SHA256; only
 * the other signatures of tpm_sign need NULL.
 */
#define TPM_KEYS_RECORD_VERSION 2

enum tpm_provider {
    TPM_PROVIDER_TPM = 0,  /* keys inside the TPM (the only one for devices) */
    TPM_PROVIDER_SOFT = 1, /* wolfSSL keys in files: unit tests only */
};

struct tpm_ctx;

struct tpm_open_opts {
    const char *state_dir;      /* created 0700 when missing; NULL: a context
                                   without state (health, factory checks):
                                   key and seal calls then fail LJ_ERR_INVAL */
    const char *tcti;           /* NULL: TPM_DEFAULT_TCTI */
    enum tpm_provider provider; /* default TPM; SOFT only when explicitly named */
    int timeout_s;              /* bound on one TPM command; <= 0: TPM_DEFAULT_TIMEOUT_S */
    long seal_max_age_s;        /* tpm_unseal refuses older; <= 0: TPM_SEAL_MAX_AGE_DEFAULT_S */
};

/* An RSA public key as big-endian integers without leading zero bytes. */
struct tpm_rsa_pub {
    unsigned char n[512];
    size_t n_len;
    unsigned char e[8];
    size_t e_len;
};

/*
 * What the device key signs, from its stored public area (the TPM
 * provider's device.pub, TPMT_PUBLIC parameters.rsaDetail.scheme, TPM 2.0
 * Library Part 2 12.2.3.5): scheme NULL (the current template) lets each
 * TPM2_Sign choose RSASSA or RSAPSS; scheme RSASSA (the template of earlier
 * versions) signs PKCS#1 v1.5 with SHA-256 only, so tpm_sign refuses any
 * other signature with it.
 */
enum tpm_dev_scheme {
    TPM_DEV_SCHEME_UNKNOWN = 0, /* no key, or its public part did not parse */
    TPM_DEV_SCHEME_ANY,         /* RSA-PSS or PKCS#1 v1.5 */
    TPM_DEV_SCHEME_RSASSA,      /* PKCS#1 v1.5 only: the older template */
};

/* What `status`-like reports print about key custody. */
struct tpm_describe {
    const char *provider; /* "tpm" or "soft" (static string) */
    bool tpm_protected;   /* false for the soft provider */
    bool keys_loaded;     /* keys ensured in this context */
    char parent[32];      /* "ecc-srk-template", "0x81000001", "none" or "" */
    /* tpm_keys_describe_dir only: the device key from its stored file */
    enum tpm_dev_scheme dev_scheme;
    unsigned dev_bits; /* RSA modulus bits; 0 when unknown */
};

/* "any", "rsassa" or "unknown" (static; stable names for status --json). */
const char *tpm_dev_scheme_name(enum tpm_dev_scheme s);

/*
 * Start the worker, connect to the TPM (TPM provider: TCTI init, flush of
 * stale transient objects left by a crashed run).  Does not touch keys.
 * On success *out is owned by the caller: release with tpm_close().
 * Blocks until connected; an unreachable TPM fails fast.
 */
enum lj_rc tpm_open(const struct tpm_open_opts *opts, struct tpm_ctx **out);

/*
 * Wait for queued work, disconnect, stop the worker and free t.  NULL is
 * fine.  A context whose TPM stopped answering is not waited for: its
 * worker is detached and its memory left to the process's end.
 */
void tpm_close(struct tpm_ctx *t);

/*
 * Make sure the device key and transport key exist: load and validate the
 * blobs in the state dir (reused), or create both when none exist (created).
 * Corrupt or foreign blobs are an error and are never overwritten.  A
 * record of an older version (TPM_KEYS_RECORD_VERSION) is
 * LJ_ERR_TPM_KEYS_LOST (logged as event=keys_record_old_version), files
 * untouched: the caller recovers it like keys a cleared TPM lost.
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
enum lj_rc tpm_csr(struct tpm_ctx *t, const char *cn, unsigned char **der, size_t *der_len,
                   char **pem);

/*
 * tpm_csr in the background: _start queues the signing of a request for cn
 * (copied; at most 64 bytes) and returns at once.  Queued after
 * tpm_keys_ensure_start it runs right after keygen, on the worker, while
 * the caller does other things (the person signs in).  LJ_ERR_INVAL when
 * one is already pending or cn is too long; LJ_ERR_NOMEM.  _wait blocks
 * until it is done and returns tpm_csr's result for it, with the same
 * ownership of *der / *pem (malloc'ed, caller frees; either may be NULL),
 * LJ_ERR_NOT_FOUND (nothing recorded) when none was started or the keys
 * were not ensured when its turn came (keygen failed: the caller reports
 * the keygen's own error).  Other errors are tpm_csr's (recorded).
 * tpm_close() waits for and frees an uncollected one.
 */
enum lj_rc tpm_csr_start(struct tpm_ctx *t, const char *cn);
enum lj_rc tpm_csr_wait(struct tpm_ctx *t, unsigned char **der, size_t *der_len, char **pem);

/* True while a tpm_csr_start request has not been collected by tpm_csr_wait. */
bool tpm_csr_pending(const struct tpm_ctx *t);

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

/* The scheme of a device-key signature (TPM 2.0 Library Part 2, TPMI_ALG_SIG_SCHEME). */
enum tpm_sig_scheme {
    TPM_SIG_RSASSA = 0, /* RSASSA-PKCS1-v1_5 (RFC 8017 8.2) */
    TPM_SIG_RSAPSS = 1, /* RSASSA-PSS (RFC 8017 8.1), MGF1 of the same hash, salt = digest length */
};

/* The hash of a signed digest; each value is its digest length in bytes. */
enum tpm_hash {
    TPM_HASH_SHA256 = 32,
    TPM_HASH_SHA384 = 48,
    TPM_HASH_SHA512 = 64,
};

/* "sha256", "sha384", "sha512" or "unknown" (static; for the log). */
const char *tpm_hash_name(enum tpm_hash h);

/*
 * A signature of the device key over digest (hash bytes long, the hash
 * already taken), made by TPM2_Sign with inScheme scheme/hash (the key's
 * scheme is NULL, TPM 2.0 Part 3 TPM2_Sign).  RSA-PSS is what TLS asks
 * for (RFC 8446 4.2.3 rsa_pss_rsae_sha256/384/512: MGF1 of the same hash,
 * a salt as long as the digest); the PKCS#1 v1.5 one serves the CSR, the
 * RS256 JWTs and TLS rsa_pkcs1_sha256/384/512.  Every signature is
 * verified with the device key's public part before it is returned: a PSS
 * signature with another salt length (what the older TPM 2.0 Part 1 text
 * let a TPM use) is LJ_ERR_SIG_UNSUPPORTED (event=sign_refused scheme=rsa_pss,
 * naming the salt), one that does not verify otherwise LJ_ERR_TPM.
 * LJ_ERR_KEY_SCHEME (event=sign_refused) for a device key made with the
 * RSASSA-SHA256-only template of earlier versions asked for anything but
 * RSASSA with SHA-256; LJ_ERR_SIG_UNSUPPORTED (event=sign_refused
 * reason="the TPM does not sign ...") when the TPM refuses the hash
 * (TPM_RC_HASH or TPM_RC_SCHEME: a TPM without SHA-384 or SHA-512);
 * LJ_ERR_INVAL for a hash or scheme not in the enums.  sig must hold
 * TPM_RSA_BYTES; *sig_len gets the length.  Blocks (one TPM sign).
 */
enum lj_rc tpm_sign(struct tpm_ctx *t, enum tpm_sig_scheme scheme, enum tpm_hash hash,
                    const unsigned char *digest, unsigned char *sig, size_t *sig_len);

/* tpm_sign(t, TPM_SIG_RSASSA, TPM_HASH_SHA256, ...): the CSR's and the RS256 JWTs' signature. */
enum lj_rc tpm_sign_sha256(struct tpm_ctx *t, const unsigned char digest[32], unsigned char *sig,
                           size_t *sig_len);

/*
 * The hash of an RSA-OAEP decryption (PKCS #1 v2.2, RFC 8017 7.1): the
 * label hash and MGF1 both use it.  SHA-1 is what Entra ID uses for the
 * session key of a Primary Refresh Token ([MS-OAPXBC] 3.1.5.1.2.3, JWE
 * "alg":"RSA-OAEP"); SHA-256 is there for peers that ask for it.
 */
enum tpm_oaep_hash {
    TPM_OAEP_SHA1 = 1,   /* OAEP-SHA1 with MGF1-SHA1 */
    TPM_OAEP_SHA256 = 2, /* OAEP-SHA256 with MGF1-SHA256 */
};

/*
 * RSA-OAEP decryption with the transport key, the hash chosen per call
 * (the key itself has scheme NULL, TPM 2.0 Library Part 3 RSA_Decrypt:
 * the caller's inScheme applies); the label is empty.  ct must be
 * TPM_RSA_BYTES long (else LJ_ERR_INVAL).  A ciphertext that does not
 * decrypt under that hash (wrong hash, altered, another key) is
 * LJ_ERR_CRYPTO; a hash value not in the enum LJ_ERR_INVAL.  On success
 * *pt is malloc'ed and secret: the caller frees it with
 * lj_secure_free(*pt, *pt_len); on failure *pt is untouched.  TPM: the
 * plaintext leaves the TPM encrypted (a session salted with the storage
 * parent, response parameter encryption), never in clear on the bus.
 * Blocks (one TPM load, a salted session unless the parent is held, the
 * decrypt).
 */
enum lj_rc tpm_transport_decrypt(struct tpm_ctx *t, enum tpm_oaep_hash hash,
                                 const unsigned char *ct, size_t ct_len, unsigned char **pt,
                                 size_t *pt_len);

/*
 * on: from now on the storage parent (the ECC template's primary key) is
 * created once and kept loaded in one TPM object slot between calls,
 * instead of once per call (a sign, decrypt, seal or HMAC each needs it),
 * with it one salted session for every import, seal, HMAC and transport
 * decrypt and the last keyed-hash key used (a second object slot); off:
 * flush them all, back to one per call.  For a sequence of TPM calls in a
 * row (the PRT and the Intune enrollment after a join); tpm_close flushes
 * a held parent too.  No effect with a persistent parent or the soft
 * provider.  LJ_OK, or the context's dead-TPM error.  Blocks (a flush).
 */
enum lj_rc tpm_parent_hold(struct tpm_ctx *t, bool on);

/*
 * While the parent is held (tpm_parent_hold): queue, without waiting, the
 * start of the salted session the next import, seal, HMAC or transport
 * decrypt will use, so the TPM worker makes it while the caller waits on
 * the network (a PRT request in flight).  Its outcome is not reported: a failure leaves it to
 * the command that needs the session, which starts (and reports) it
 * itself.  No effect when the parent is not held, with the soft provider,
 * or while one is still queued; tpm_close waits for it.
 */
void tpm_hold_prepare_start(struct tpm_ctx *t);

/* Fill *out with the provider and key state (no TPM round trip). */
void tpm_describe(struct tpm_ctx *t, struct tpm_describe *out);

/*
 * True when a key record exists in state_dir (keys were created by some
 * provider; whether they still load is tpm_keys_ensure's business).
 */
bool tpm_keys_present(const char *state_dir);

/*
 * True when state_dir holds any key file tpm/ owns: the key record, a key
 * file of either provider (also orphans of an interrupted creation), a
 * keyed-hash key (NAME.hkey) or the soft provider's seal key (leave/reset:
 * "is there anything to wipe").
 */
bool tpm_files_present(const char *state_dir);

/*
 * What the key record in state_dir says, without opening the TPM (for
 * `linkjoin status`): provider ("tpm"/"soft"), tpm_protected, parent;
 * keys_loaded stays false; dev_scheme and dev_bits from the provider's
 * device key file (TPM: the public area in device.pub), left unknown when
 * that file is missing or does not parse (not an error here).
 * LJ_ERR_NOT_FOUND when there is no record, LJ_ERR_KEYS_CORRUPT when it
 * names no known provider.  Blocks on two small file reads.
 */
enum lj_rc tpm_keys_describe_dir(const char *state_dir, struct tpm_describe *out);

/*
 * True when state_dir holds a key record of an older version than
 * TPM_KEYS_RECORD_VERSION (keys made with older templates, which
 * tpm_keys_ensure reports as LJ_ERR_TPM_KEYS_LOST).  Reads one small file,
 * no TPM; false when there is no record or it cannot be read.
 */
bool tpm_keys_record_old(const char *state_dir);

/*
 * Delete the key record, every key file of either provider and every
 * keyed-hash key (NAME.hkey) from state_dir (leave/reset).  The record goes
 * first, so an interrupted removal never looks like valid keys; the
 * NAME.hkey files go last (tpm_files_present still sees them when cut
 * short).  Blocks on the file system.
 */
enum lj_rc tpm_keys_remove(const char *state_dir);

/* "tpm"/"soft" → provider; false for anything else. */
bool tpm_provider_parse(const char *s, enum tpm_provider *out);

/* ---- health (join preflight, factory test) -------------------------- */

/* What the TPM says about itself; plain data, strings NUL-terminated. */
struct tpm_health {
    bool tpm_protected;   /* false for the soft provider (all else fake) */
    char family[8];       /* TPM2_PT_FAMILY_INDICATOR: "2.0" */
    char manufacturer[8]; /* TPM2_PT_MANUFACTURER, 4 chars ("IBM", "IFX", "STM ") */
    uint32_t manufacturer_id;
    char vendor[20];   /* TPM2_PT_VENDOR_STRING_1..4 ("SW TPM") */
    char firmware[32]; /* "A.B.C.D" from FIRMWARE_VERSION_1/2 (16-bit halves) */
    uint32_t firmware1, firmware2;
    uint32_t spec_level, spec_revision; /* TPM2_PT_LEVEL, _REVISION (164 = 1.64) */
    bool self_test_ok;                  /* TPM2_GetTestResult said success */
    uint32_t self_test_rc;              /* its testResult code (0 = success) */
    bool in_lockout;                    /* TPMA_PERMANENT inLockout */
    bool owner_auth_set;                /* TPMA_PERMANENT ownerAuthSet */
    uint32_t lockout_counter;           /* TPM2_PT_LOCKOUT_COUNTER */
    uint32_t max_tries;                 /* TPM2_PT_MAX_AUTH_FAIL */
    uint32_t recovery_s;                /* TPM2_PT_LOCKOUT_INTERVAL: one failure forgiven per */
    uint32_t lockout_recovery_s;        /* TPM2_PT_LOCKOUT_RECOVERY: lockoutAuth retry */
};

/*
 * Read identity, firmware, self-test result and dictionary-attack state
 * (TPM2_GetCapability of TPM2_PT_FIXED and TPM2_PT_VAR properties,
 * TPM2_GetTestResult).  Read-only: creates no object and does not touch
 * keys, so it works (and reports) while the TPM is in lockout.  *out is
 * written on success.  The soft provider fills tpm_protected=false,
 * family "soft" and never locks out.  Blocks (a few TPM round trips).
 */
enum lj_rc tpm_health(struct tpm_ctx *t, struct tpm_health *out);

/*
 * The join flow's preflight verdict, before sign-in: tpm_health, then
 * LJ_OK when the TPM is a 2.0 TPM, its self-test result is success and it
 * is not in dictionary-attack lockout.  LJ_ERR_TPM_LOCKOUT in lockout (the
 * detail gives counter/max tries/recovery seconds), LJ_ERR_TPM for another
 * family or a failed self-test.  An absent TPM already fails tpm_open with
 * LJ_ERR_TPM_UNREACHABLE.  out (optional) gets the health on LJ_OK and on
 * these verdicts.  Blocks.
 */
enum lj_rc tpm_preflight(struct tpm_ctx *t, struct tpm_health *out);

/* ---- sealed data (refresh token kept across runs) ------------------- */

#define TPM_SEAL_NAME_MAX 32 /* [a-z0-9_-], 1..32 chars */
#define TPM_SEAL_DATA_MAX 16384
#define TPM_SEAL_MAX_AGE_DEFAULT_S (14L * 86400) /* sealed_max_age_days default */

/*
 * Seal len bytes (1..TPM_SEAL_DATA_MAX) under name into
 * STATE_DIR/NAME.sealed (0600, written atomically: old or new, never a
 * mix).  TPM provider: a fresh 256-bit data key is sealed in a TPM sealed
 * data object (keyedHash, no sign/decrypt, fixedTPM, fixedParent, noDA, no
 * userWithAuth: a policy session only; PolicyPCR on PCR 7 where the
 * platform measures it, else PolicyAuthValue, see tpm/esys_seal.c) under
 * the storage root key the device keys use; data is AES-256-GCM encrypted
 * under that key, and the file records when it was sealed.  The file never
 * holds data or the key in clear, and the key crosses the TPM bus only
 * inside a session salted with the storage root key (parameter encryption).  Soft provider (TESTS
 * ONLY): the data key is wrapped with STATE_DIR/soft-seal.key.  data is not kept; every copy made
 * here is wiped.  Blocks (TPM create: a few ms on swtpm).
 */
enum lj_rc tpm_seal(struct tpm_ctx *t, const char *name, const unsigned char *data, size_t len);

/*
 * tpm_seal in the background: _start checks the arguments as tpm_seal
 * does, copies name and data (the copy is secret: wiped when the job is
 * collected) and queues the seal on the worker, returning at once, so the
 * caller can wait on the network meanwhile; calls made after it queue
 * behind it.  LJ_ERR_INVAL when one is already pending (or tpm_seal's
 * argument errors), LJ_ERR_NOMEM.  _wait blocks until it is done and
 * returns tpm_seal's result for it (LJ_ERR_NOT_FOUND when none was
 * started).  tpm_close() waits for and frees an uncollected one.
 */
enum lj_rc tpm_seal_start(struct tpm_ctx *t, const char *name, const unsigned char *data,
                          size_t len);
enum lj_rc tpm_seal_wait(struct tpm_ctx *t);

/*
 * Unseal NAME.sealed.  On success *data (NUL-terminated for convenience;
 * *len excludes the NUL) is malloc'ed and secret: the caller frees it with
 * lj_secure_free(*data, *len).  Errors: LJ_ERR_NOT_FOUND no such
 * sealed file, or one sealed longer ago than the context's seal_max_age_s
 * (event=sealed_expired) or of an older file format (event=sealed_old_format),
 * both removed; LJ_ERR_AUTH the TPM refused the policy (PCR 7, the boot
 * state, changed since sealing; file kept); LJ_ERR_KEYS_CORRUPT file truncated/altered (left in
 * place); LJ_ERR_TPM_WRONG_TPM sealed by another TPM (or this TPM was cleared); LJ_ERR_STATE sealed
 * by the other provider; TPM errors as above.  Blocks.
 */
enum lj_rc tpm_unseal(struct tpm_ctx *t, const char *name, unsigned char **data, size_t *len);

/* Delete STATE_DIR/NAME.sealed; a missing file is LJ_OK.  Blocks on the fs. */
enum lj_rc tpm_sealed_remove(const char *state_dir, const char *name);

/* True when STATE_DIR/NAME.sealed exists. */
bool tpm_sealed_present(const char *state_dir, const char *name);

/*
 * Delete every sealed file (NAME.sealed) in state_dir and the soft
 * provider's wrapping key (leave/reset).  Missing files are fine.  Returns
 * the first failure (LJ_ERR_IO) after trying them all; *removed (optional)
 * counts the files deleted.  Blocks on the file system.
 */
enum lj_rc tpm_sealed_remove_all(const char *state_dir, unsigned *removed);

/* ---- keyed-hash keys (the PRT session key) -------------------------- */

#define TPM_HKEY_KEY_MIN 16
#define TPM_HKEY_KEY_MAX 64   /* one SHA-256 block: the TPM uses it as is */
#define TPM_HKEY_MSG_MAX 1024 /* TPM2B_MAX_BUFFER: one TPM2_HMAC command */

/*
 * Import key (TPM_HKEY_KEY_MIN..TPM_HKEY_KEY_MAX bytes) as an HMAC-SHA256
 * key under name (the rules of TPM_SEAL_NAME_MAX) into
 * STATE_DIR/NAME.hkey (0600, written atomically: old or new, never a mix;
 * an existing key of that name is replaced).  TPM provider: TPM2_Create of
 * a keyedHash object (sign, userWithAuth, fixedTPM, fixedParent, noDA,
 * sensitiveDataOrigin clear, empty auth, scheme HMAC/SHA-256) whose
 * sensitive data is key, under the storage root key the device keys use;
 * key crosses the TPM bus only inside a session salted with that storage
 * root key (parameter encryption), and the file holds only the TPM's
 * public and wrapped private areas, never key.  Soft provider (TESTS
 * ONLY): key wrapped with STATE_DIR/soft-seal.key like tpm_seal's data
 * key.  key is not kept; every copy made here is wiped.  Errors:
 * LJ_ERR_INVAL bad name or length, or a context without a state dir;
 * TPM errors as above; LJ_ERR_IO writing the file.  Blocks (parent,
 * salted session, TPM2_Create: ~11 ms on swtpm; `make bench` hkey).
 */
enum lj_rc tpm_hmac_key_import(struct tpm_ctx *t, const char *name, const unsigned char *key,
                               size_t len);

/*
 * HMAC-SHA256 of msg (1..TPM_HKEY_MSG_MAX bytes) with the key NAME.hkey,
 * computed inside the TPM (TPM provider: TPM2_HMAC, the 32-byte result
 * leaving the TPM encrypted by a salted session).  On success out gets
 * the 32 bytes, which are secret: the caller wipes them after use
 * (lj_secure_zero); on failure out is untouched.  Errors: LJ_ERR_INVAL
 * bad name or length; LJ_ERR_NOT_FOUND no such key file;
 * LJ_ERR_KEYS_CORRUPT file truncated, altered or renamed (left in place);
 * LJ_ERR_TPM_WRONG_TPM imported by another TPM (or this TPM was cleared);
 * LJ_ERR_STATE imported by the other provider; TPM errors as above.
 * Blocks (parent, load, salted session, TPM2_HMAC: ~9 ms on swtpm, most of
 * it the parent's CreatePrimary on a discrete TPM).  While the parent is
 * held (tpm_parent_hold) the key stays loaded for the next call with the
 * same file, and one salted session serves every call: then a call is the
 * TPM2_HMAC alone.
 */
enum lj_rc tpm_hmac_sha256(struct tpm_ctx *t, const char *name, const unsigned char *msg,
                           size_t len, unsigned char out[32]);

/* True when STATE_DIR/NAME.hkey exists (whether it still loads is tpm_hmac_sha256's business). */
bool tpm_hmac_key_present(const char *state_dir, const char *name);

/*
 * Delete STATE_DIR/NAME.hkey; a missing file is LJ_OK; LJ_ERR_INVAL bad
 * name.  The key is gone with its file (it was never persistent in the
 * TPM).  tpm_keys_remove deletes every NAME.hkey too.  Blocks on the fs.
 */
enum lj_rc tpm_hmac_key_remove(const char *state_dir, const char *name);

/* ---- ownership (linkjoin factory-reset --clear-tpm) ----------------- */

/*
 * TPM2_Clear with the lockout hierarchy's (empty) authorization: a new
 * storage primary seed, owner persistent and transient objects gone, owner
 * and endorsement auth reset.  Every key or sealed blob made before no
 * longer loads (LJ_ERR_TPM_WRONG_TPM).  Needs no state dir.  Errors:
 * LJ_ERR_AUTH the lockout authorization is set (wrong auth: counts against
 * the lockout penalty, so it is tried once); LJ_ERR_TPM_LOCKOUT the
 * lockout hierarchy is itself locked out; LJ_ERR_TPM disableClear set or
 * another failure; LJ_ERR_UNSUPPORTED the soft provider.  Blocks.
 */
enum lj_rc tpm_clear(struct tpm_ctx *t);

/* ---- factory checks (linkjoin factory-test) ------------------------- */

/* TPM2_SelfTest(fullTest), then TPM2_GetTestResult; LJ_ERR_TPM when failed. */
enum lj_rc tpm_selftest(struct tpm_ctx *t, bool full);

/* n (1..1024) bytes from TPM2_GetRandom into buf.  Blocks. */
enum lj_rc tpm_random(struct tpm_ctx *t, unsigned char *buf, size_t n);

#define TPM_EK_CERT_MAX 8
#define TPM_EK_CERT_BYTES 4096 /* ceiling for one NV certificate */

/* One EK certificate found in NV. */
struct tpm_ek_cert {
    uint32_t nv_index;  /* 0x01c00002 RSA-2048, 0x01c0000a ECC P-256, ... */
    const char *kind;   /* "rsa2048", "ecc-p256", "ecc-p384", ... (static) */
    unsigned char *der; /* malloc'ed, owned by the array: tpm_ek_certs_free */
    size_t len;
};

/*
 * Read every EK certificate the TCG EK credential profile places in NV
 * (low range 0x01c00002 RSA, 0x01c0000a ECC; high range 0x01c00012..1e).
 * Writes *n (0 when the TPM has none: that is LJ_OK) and out[0..n-1];
 * free with tpm_ek_certs_free(out, n).  Certificates are read, not parsed
 * (tpm_ek_cert_verify).  Blocks.
 */
enum lj_rc tpm_ek_certs(struct tpm_ctx *t, struct tpm_ek_cert out[TPM_EK_CERT_MAX], size_t *n);
void tpm_ek_certs_free(struct tpm_ek_cert *c, size_t n);

/*
 * Parse der as an X.509 certificate (wolfSSL) and, when ca_file (PEM
 * bundle of the manufacturer's CAs) is given, verify it chains to it.
 * LJ_OK; LJ_ERR_PARSE not a certificate; LJ_ERR_CRYPTO does not chain
 * (or is expired); LJ_ERR_NOT_FOUND/LJ_ERR_PARSE for an unusable
 * ca_file.  detail (size dsz) gets a one-line human summary ("issuer CN=..,
 * chains to bundle" or why not) in every case.  Pure: no TPM, no logging
 * beyond the error detail.
 */
enum lj_rc tpm_ek_cert_verify(const unsigned char *der, size_t len, const char *ca_file,
                              char *detail, size_t dsz);

/*
 * Ephemeral key round trip: create an ECC P-256 signing primary in the
 * null hierarchy (gone at reset, touches no stored key), sign a random
 * SHA-256 digest in the TPM, verify the signature with wolfSSL (and check
 * a changed digest fails), flush the key.  detail (size dsz) gets timings.
 * Blocks (a few ms on swtpm).
 */
enum lj_rc tpm_ephemeral_check(struct tpm_ctx *t, char *detail, size_t dsz);

/* Number of transient objects the TPM shows this connection (tests/factory). */
enum lj_rc tpm_transient_count(struct tpm_ctx *t, unsigned *n);

#endif
