/*
 * internal.h — shared by the files of tpm/ only (never included outside).
 *
 * A key provider ("backend") turns a set of opaque key files into keys:
 * tpm/esys.c (the TPM, the only file that includes tss2 headers) and
 * tpm/soft.c (wolfSSL keys in files, tests only).  tpm/tpm.c owns the
 * files, the record, the worker thread and the public API; tpm/csr.c is the
 * wolfSSL crypto-callback bridge that builds a CSR with a provider's
 * sign function.  All backend functions run on the tpm_ctx worker thread.
 */
#ifndef LJ_TPM_INTERNAL_H
#define LJ_TPM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "platform/result.h"
#include "tpm/tpm.h"

#define TPM_MOD "tpm"
#define TPM_MAX_FILES 4
#define TPM_FILE_MAX 4096 /* ceiling for any key file read from disk */
#define TPM_PARENT_ECC_TEMPLATE "ecc-srk-template"

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

struct tpm_backend {
    const char *name;
    bool tpm_protected;
    const char *const *files; /* file names in the state dir */
    size_t nfiles;
    /* Connect; *be is backend state freed by close(). */
    enum lj_rc (*open)(const char *tcti, void **be);
    void (*close)(void *be);
    /* Create both keys: fill files[], parent, dev, tk. */
    enum lj_rc (*create)(void *be, struct tpm_keyset *ks);
    /* Given files[] and parent from disk: check them, fill dev and tk. */
    enum lj_rc (*validate)(void *be, struct tpm_keyset *ks);
    enum lj_rc (*sign)(void *be, const struct tpm_keyset *ks, const unsigned char dig[32],
                       unsigned char *sig, size_t *sig_len);
    /* pt has room for TPM_RSA_BYTES; secret, wiped by the caller. */
    enum lj_rc (*decrypt)(void *be, const struct tpm_keyset *ks, const unsigned char *ct,
                          size_t ct_len, unsigned char *pt, size_t *pt_len);
};

extern const struct tpm_backend tpm_backend_esys;
extern const struct tpm_backend tpm_backend_soft;

/* Sign a SHA-256 digest (RSASSA-PKCS1-v1_5) into sig (TPM_RSA_BYTES). */
typedef enum lj_rc (*tpm_sign_fn)(void *arg, const unsigned char dig[32],
                                  unsigned char *sig, size_t *sig_len);

/*
 * tpm/csr.c: build a PKCS#10 request for pub/cn signed through sign().
 * *der malloc'ed (caller frees).
 */
enum lj_rc tpm_csr_build(const struct tpm_rsa_pub *pub, const char *cn, tpm_sign_fn sign,
                         void *arg, unsigned char **der, size_t *der_len);

/* tpm/csr.c: DER SubjectPublicKeyInfo of pub; *der malloc'ed (caller frees). */
enum lj_rc tpm_rsa_pub_spki(const struct tpm_rsa_pub *pub, unsigned char **der,
                            size_t *der_len);

/* tpm/csr.c: wolfCrypt init/cleanup, reference counted. */
enum lj_rc tpm_wolf_init(void);
void tpm_wolf_cleanup(void);

/* Store big-endian bytes into out, stripping leading zeros. */
bool tpm_rsa_pub_set(struct tpm_rsa_pub *out, const unsigned char *n, size_t n_len,
                     const unsigned char *e, size_t e_len);

#endif
