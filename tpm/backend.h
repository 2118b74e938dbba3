/*
 * backend.h — shared by the files of tpm/ only (never included outside).
 *
 * A key provider ("backend") turns a set of opaque key files into keys:
 * tpm/esys.c (the TPM; only tpm/esys*.c include tss2 headers) and
 * tpm/soft.c (wolfSSL keys in files, tests only).  tpm/worker.c owns the
 * worker thread and open/close, tpm/keys.c the key files and the record,
 * tpm/tpm.c the operations on the keys; tpm/csr.c is the wolfSSL
 * crypto-callback bridge that builds a CSR with a provider's sign
 * function.  All backend functions run on the tpm_ctx worker thread.
 */
#ifndef LJ_TPM_INTERNAL_H
#define LJ_TPM_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "platform/common/result.h"
#include "tpm/tpm.h"

#define TPM_MOD "tpm"
#define TPM_MAX_FILES 4
#define TPM_FILE_MAX 4096 /* ceiling for any key file read from disk */
#define TPM_PARENT_ECC_TEMPLATE "ecc-srk-template"
#define TPM_SOFT_SEAL_KEY "soft-seal.key" /* tpm/soft.c: soft provider's wrapping key */

struct tpm_blob {
    unsigned char *data; /* malloc'ed; owned by the keyset */
    size_t len;
};

/* Key material as the provider knows it; files[i] goes to backend->files[i]. */
struct tpm_keyset {
    struct tpm_blob files[TPM_MAX_FILES];
    char parent[32];
    struct tpm_rsa_pub dev;
    struct tpm_rsa_pub tk;
};

/* An ECDSA P-256 signature by an ephemeral TPM key, with its public point. */
struct tpm_ecc_sig {
    unsigned char x[32], y[32], r[32], s[32];
    size_t x_len, y_len, r_len, s_len;
    long create_ms, sign_ms; /* TPM time of CreatePrimary and Sign */
};

struct tpm_backend {
    const char *name;
    bool tpm_protected;
    const char *const *files; /* file names in the state dir */
    size_t nfiles;
    /*
     * Connect; *be is backend state freed by close().  A provider that
     * talks to a TPM brackets every exchange with tpm_io_begin/tpm_io_end
     * on t (the bound of tpm.h "Bounded waits").
     */
    enum lj_rc (*open)(struct tpm_ctx *t, const char *tcti, void **be);
    void (*close)(void *be);
    /* Create both keys: fill files[], parent, dev, tk. */
    enum lj_rc (*create)(void *be, struct tpm_keyset *ks);
    /* Given files[] and parent from disk: check them, fill dev and tk. */
    enum lj_rc (*validate)(void *be, struct tpm_keyset *ks);
    /*
     * The device key's signature of dig (hash bytes) in scheme (PSS: MGF1
     * of the same hash, salt = digest length) into sig (TPM_RSA_BYTES);
     * LJ_ERR_KEY_SCHEME for a key that cannot, LJ_ERR_SIG_UNSUPPORTED for a
     * hash the TPM refuses (tpm_sign).  tpm/tpm.c verifies the result.
     */
    enum lj_rc (*sign)(void *be, const struct tpm_keyset *ks, enum tpm_sig_scheme scheme,
                       enum tpm_hash hash, const unsigned char *dig, unsigned char *sig,
                       size_t *sig_len);
    /*
     * RSA-OAEP with hash (both label hash and MGF1), empty label; a
     * ciphertext that does not decrypt is LJ_ERR_CRYPTO.  pt has room for
     * TPM_RSA_BYTES; secret, wiped by the caller.
     */
    enum lj_rc (*decrypt)(void *be, const struct tpm_keyset *ks, enum tpm_oaep_hash hash,
                          const unsigned char *ct, size_t ct_len, unsigned char *pt,
                          size_t *pt_len);
    /* Optional (NULL: LJ_ERR_UNSUPPORTED), see tpm.h for each. */
    enum lj_rc (*health)(void *be, struct tpm_health *out);
    enum lj_rc (*selftest)(void *be, bool full);
    enum lj_rc (*random)(void *be, unsigned char *buf, size_t n);
    enum lj_rc (*ek_certs)(void *be, struct tpm_ek_cert *out, size_t *n);
    enum lj_rc (*eph_sign)(void *be, const unsigned char dig[32], struct tpm_ecc_sig *out);
    enum lj_rc (*transient_count)(void *be, unsigned *n);
    /*
     * Seal a 32-byte data key: *blob malloc'ed (opaque to tpm/seal.c),
     * parent names what it is sealed under.  unseal_key reverses it; the
     * key is secret (wiped by the caller).  state_dir: soft key file.
     */
    enum lj_rc (*seal_key)(void *be, const char *state_dir, const unsigned char key[32],
                           char parent[32], struct tpm_blob *blob);
    enum lj_rc (*unseal_key)(void *be, const char *state_dir, const char *parent,
                             const struct tpm_blob *blob, unsigned char key[32]);
    /*
     * Optional: keep the storage parent loaded between calls (on) until
     * released (off, which flushes it); see tpm_parent_hold.
     */
    void (*parent_hold)(void *be, bool on);
    /*
     * Optional: while the parent is held, start what the next commands
     * will need (the held salted session), see tpm_hold_prepare_start.
     */
    void (*hold_prepare)(void *be);
    /* Optional: TPM2_Clear (owner hierarchy), see tpm_clear. */
    enum lj_rc (*clear)(void *be);
    /*
     * Optional: keyed-hash keys (tpm/hkey.c).  hmac_import makes an
     * HMAC-SHA256 key of key (TPM_HKEY_KEY_MIN..MAX bytes, secret, not
     * kept): *blob malloc'ed (opaque to tpm/hkey.c; the caller frees it),
     * parent names what it lives under.  hmac computes HMAC-SHA256 of msg
     * (1..TPM_HKEY_MSG_MAX bytes) with such a blob into out (secret, wiped
     * by the caller).  state_dir: the soft provider's wrapping key.
     */
    enum lj_rc (*hmac_import)(void *be, const char *state_dir, const unsigned char *key, size_t len,
                              char parent[32], struct tpm_blob *blob);
    enum lj_rc (*hmac)(void *be, const char *state_dir, const char *parent,
                       const struct tpm_blob *blob, const unsigned char *msg, size_t len,
                       unsigned char out[32]);
    /*
     * What the device key signs and its size (out->dev_scheme, dev_bits),
     * from files[dev_file] as stored, without the TPM: called on the
     * caller's thread by tpm_keys_describe_dir, no backend state.  Leaves
     * both unknown when the file does not parse.  The file may be secret
     * (the soft provider's private key): the caller wipes it.
     */
    void (*describe_dev)(const struct tpm_blob *file, struct tpm_describe *out);
    size_t dev_file;
};

extern const struct tpm_backend tpm_backend_esys;
extern const struct tpm_backend tpm_backend_soft;

/* ---- the context (tpm/worker.c owns it; other files run jobs on it) ---- */

struct tpm_ctx;
typedef enum lj_rc (*tpm_job_fn)(struct tpm_ctx *t, void *arg);

struct tpm_job {
    tpm_job_fn fn;
    void *arg;
    enum lj_rc rc;
    enum lj_rc err_code;
    char err[512];
    bool done;
    struct tpm_job *next;
};

struct tpm_ctx {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct tpm_job *head, *tail;
    bool stop;
    const struct tpm_backend *ops;
    void *be;
    bool be_open;
    char state_dir[PATH_MAX]; /* "" = a context without state */
    long seal_max_age_s;      /* tpm_unseal: older sealed files are absent */
    char tcti[256];
    struct tpm_keyset ks; /* worker-owned */
    bool keys_ok;         /* worker-owned */
    struct tpm_job keygen_job;
    bool keygen_pending;
    bool keygen_created;
    /* the bound on one TPM exchange (under mu) */
    long timeout_ms;
    bool io_busy;             /* the worker is inside a TCTI call */
    struct timespec io_start; /* CLOCK_MONOTONIC, when it entered it */
    bool hung;                /* a caller gave up: the worker never runs a job again */
    struct tpm_job csr_job;   /* tpm_csr_start: a CSR signed in the background */
    bool csr_pending;
    struct tpm_csr_bg *csr_bg; /* its arguments and result, owned by the ctx */
    struct tpm_job seal_job;   /* tpm_seal_start: data sealed in the background */
    bool seal_pending;
    struct tpm_seal_bg *seal_bg; /* its arguments (a secret copy), owned by the ctx */
    struct tpm_job prep_job;     /* tpm_hold_prepare_start */
    bool prep_pending;
};

/* tpm/worker.c: run fn(t, arg) on the worker and wait; the error is adopted. */
enum lj_rc tpm_run(struct tpm_ctx *t, tpm_job_fn fn, void *arg);

/*
 * tpm/worker.c: queue j (owned by the caller, which must keep it alive
 * until tpm_job_wait returns or the context is abandoned) without waiting.
 * On a hung context j is finished at once with LJ_ERR_TPM_UNREACHABLE.
 */
void tpm_job_post(struct tpm_ctx *t, struct tpm_job *j);

/*
 * tpm/worker.c: wait until the worker has finished j, each TPM exchange
 * bounded by the context's timeout.  false: the TPM did not answer in time
 * (t->hung is set; j and its memory stay with the worker, which never
 * finishes it).
 */
bool tpm_job_done_wait(struct tpm_ctx *t, struct tpm_job *j);

/*
 * tpm/worker.c: tpm_job_done_wait, then j's rc with its error adopted on
 * the caller's thread; a hung context gives tpm_hung_error().
 */
enum lj_rc tpm_job_wait(struct tpm_ctx *t, struct tpm_job *j);

/* tpm/worker.c: set and return LJ_ERR_TPM_UNREACHABLE with the timeout detail. */
enum lj_rc tpm_hung_error(const struct tpm_ctx *t);

/* tpm/seal.c: a name tpm_seal and tpm_hmac_key_import accept ([a-z0-9_-], 1..TPM_SEAL_NAME_MAX). */
bool tpm_object_name_ok(const char *name);

/* tpm/hkey.c: state_dir holds a NAME.hkey file (tpm_files_present). */
bool tpm_hkey_any(const char *state_dir);

/*
 * tpm/hkey.c: delete every NAME.hkey in state_dir (tpm_keys_remove).  A
 * missing directory is LJ_OK; the first failure (LJ_ERR_IO) is returned
 * after trying them all.  Blocks on the file system.
 */
enum lj_rc tpm_hkey_remove_all(const char *state_dir);

/* tpm/keys.c: wipe and free the key files of ks; ks is zeroed. */
void tpm_keyset_free(struct tpm_keyset *ks);

/*
 * tpm/worker.c, worker thread only: around each exchange with the TPM (TCTI
 * init, transmit, receive).  tpm_io_end never returns when a caller gave
 * up on this exchange meanwhile (t->hung): the worker parks for good, so
 * it can no longer write into the abandoned job's memory.
 */
void tpm_io_begin(struct tpm_ctx *t);
void tpm_io_end(struct tpm_ctx *t);

/* tpm/ek.c: verify an ECDSA P-256 signature over dig with wolfSSL. */
bool tpm_ecdsa_p256_verify(const struct tpm_ecc_sig *sig, const unsigned char dig[32]);

/* Sign a SHA-256 digest (RSASSA-PKCS1-v1_5) into sig (TPM_RSA_BYTES). */
typedef enum lj_rc (*tpm_sign_fn)(void *arg, const unsigned char dig[32], unsigned char *sig,
                                  size_t *sig_len);

/*
 * tpm/csr.c: build a PKCS#10 request for pub/cn signed through sign().
 * *der malloc'ed (caller frees).
 */
enum lj_rc tpm_csr_build(const struct tpm_rsa_pub *pub, const char *cn, tpm_sign_fn sign, void *arg,
                         unsigned char **der, size_t *der_len);

/*
 * tpm/csr.c: LJ_OK when sig (sig_len bytes) is pub's signature over dig
 * (hash bytes) in scheme: PKCS#1 v1.5 with hash's DigestInfo, or
 * RSASSA-PSS with MGF1 of hash and a salt exactly as long as the digest
 * (what TLS accepts, RFC 8446 4.2.3).  A PSS signature that does not
 * verify so is LJ_ERR_SIG_UNSUPPORTED naming the salt length; a PKCS#1 one
 * that does not verify, or a sig_len other than TPM_RSA_BYTES, LJ_ERR_TPM.
 */
enum lj_rc tpm_rsa_sig_check(const struct tpm_rsa_pub *pub, enum tpm_sig_scheme scheme,
                             enum tpm_hash hash, const unsigned char *dig, const unsigned char *sig,
                             size_t sig_len);

/*
 * tpm/csr.c: wolfCrypt's hash type (enum wc_HashType, as int) for hash and,
 * in *mgf, its MGF1 (WC_MGF1SHA256..); false for a value not in the enum.
 */
bool tpm_wc_hash(enum tpm_hash hash, int *type, int *mgf);

/* tpm/csr.c: DER SubjectPublicKeyInfo of pub; *der malloc'ed (caller frees). */
enum lj_rc tpm_rsa_pub_spki(const struct tpm_rsa_pub *pub, unsigned char **der, size_t *der_len);

/* tpm/csr.c: wolfCrypt init/cleanup, reference counted. */
enum lj_rc tpm_wolf_init(void);
void tpm_wolf_cleanup(void);

/* Store big-endian bytes into out, stripping leading zeros. */
bool tpm_rsa_pub_set(struct tpm_rsa_pub *out, const unsigned char *n, size_t n_len,
                     const unsigned char *e, size_t e_len);

#endif
