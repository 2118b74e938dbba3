/*
 * esys_crypto.c — the ESAPI crypto backend on wolfCrypt: what tpm2-tss
 * 4.x (built with --with-crypto=none) calls through ESYS_CRYPTO_CALLBACKS
 * for session HMACs, KDFa/KDFe, salts, nonces and parameter encryption
 * (TPM 2.0 Library Part 1, "Session-based encryption", "Salted Session
 * Key Generation", Annex C.6.1 ECDH), so the agent needs no libcrypto.
 *
 * Each callback keeps the contract of tpm2-tss's own backends
 * (src/tss2-esys/esys_crypto_ossl.c, the default, and esys_crypto_mbed.c;
 * include/tss2/tss2_esys.h): the same TSS2_ESYS_RC_* for the same
 * failure, the context blob allocated by start and freed by finish or
 * abort, *context NULL afterwards.  Where they differ from OpenSSL's:
 *   - an abort frees a context of either kind: ESAPI's authHmac aborts its
 *     HMAC context with hash_abort on an error path, and KDFe its hash
 *     context with hmac_abort; OpenSSL's backend leaks those;
 *   - RSA scheme NULL (raw RSA, never asked by ESAPI, which always sets
 *     OAEP for salts) is refused with BAD_VALUE, as the mbedTLS backend
 *     does;
 *   - random refuses more bytes than a TPM2B_NONCE holds (BAD_VALUE).
 * The AES IV is read, never written back (as OpenSSL's EVP copies it):
 * ESAPI encrypts each parameter with a fresh KDFa key and IV.
 *
 * One WC_RNG (Hash_DRBG) serves the process: instantiating one costs
 * ~170 k instructions (its health test), a 32-byte draw ~12 k, and ESAPI
 * draws a nonce for every session of every command.  It is locked, and
 * made again in a forked child (so parent and child never share a
 * stream).  Key material passing through here is wiped: HMAC and hash
 * states, AES key schedules, the ephemeral ECDH key.  Z goes back to
 * ESAPI, whose buffer it is.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include "tpm/esys_crypto.h"

#include <tss2/tss2_mu.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "tpm/backend.h"

enum ctx_kind { CTX_HASH = 1, CTX_HMAC };

/* ESAPI's opaque context: a hash or an HMAC state. */
struct ESYS_CRYPTO_CONTEXT_BLOB {
    enum ctx_kind kind;
    enum wc_HashType type;
    size_t len; /* digest size */
    union {
        wc_HashAlg hash;
        Hmac hmac; /* keyed: wiped with the blob */
    } u;
};

/* Largest update wolfCrypt takes at once (its lengths are word32). */
#define WC_CHUNK ((size_t)1 << 30)

static void
wc_failed(const char *op, int wrc)
{
    lj_log(LJ_LOG_WARN, TPM_MOD, "event=esys_crypto_failed op=%s wolfcrypt_rc=%d", op, wrc);
}

/* TPM hash algorithm -> wolfCrypt type and digest size; false: not here. */
static bool
hash_type(TPM2_ALG_ID alg, enum wc_HashType *type, size_t *len)
{
    switch (alg) {
    case TPM2_ALG_SHA1:
        *type = WC_HASH_TYPE_SHA;
        *len = TPM2_SHA1_DIGEST_SIZE;
        return true;
    case TPM2_ALG_SHA256:
        *type = WC_HASH_TYPE_SHA256;
        *len = TPM2_SHA256_DIGEST_SIZE;
        return true;
    case TPM2_ALG_SHA384:
        *type = WC_HASH_TYPE_SHA384;
        *len = TPM2_SHA384_DIGEST_SIZE;
        return true;
    case TPM2_ALG_SHA512:
        *type = WC_HASH_TYPE_SHA512;
        *len = TPM2_SHA512_DIGEST_SIZE;
        return true;
    default: return false;
    }
}

/* Free a context of either kind, wiping it (the HMAC pads are the key). */
static void
ctx_free(ESYS_CRYPTO_CONTEXT_BLOB *c)
{
    if (c == NULL)
        return;
    if (c->kind == CTX_HMAC)
        wc_HmacFree(&c->u.hmac);
    else if (c->kind == CTX_HASH)
        wc_HashFree(&c->u.hash, c->type);
    lj_secure_free(c, sizeof(*c));
}

/* ---- the random generator ------------------------------------------- */

static pthread_mutex_t rng_lock = PTHREAD_MUTEX_INITIALIZER;
static WC_RNG rng;
static pid_t rng_pid; /* the process rng was made in; 0: none */

/*
 * Run fn(rng, arg) with the process's generator, made on first use and
 * again after a fork.  Returns fn's result, or a wolfCrypt error.
 */
static int
with_rng(int (*fn)(WC_RNG *r, void *arg), void *arg)
{
    pid_t pid = getpid();
    int wrc;

    if (pthread_mutex_lock(&rng_lock) != 0)
        return BAD_MUTEX_E;
    if (rng_pid != pid) {
        /* a forked child's copy of the parent's state: wiped and freed
           (the child's own memory), never drawn from */
        if (rng_pid != 0)
            wc_FreeRng(&rng);
        rng_pid = 0;
        wrc = wc_InitRng(&rng);
        if (wrc != 0) {
            pthread_mutex_unlock(&rng_lock);
            return wrc;
        }
        rng_pid = pid;
    }
    wrc = fn(&rng, arg);
    pthread_mutex_unlock(&rng_lock);
    return wrc;
}

struct rand_req {
    uint8_t *buf;
    size_t len;
};

static int
rand_fill(WC_RNG *r, void *arg)
{
    struct rand_req *q = arg;

    return wc_RNG_GenerateBlock(r, q->buf, (word32)q->len);
}

/* ---- hash -------------------------------------------------------------- */

/* Feed size bytes to a context of kind (hash or HMAC), in pieces wolfCrypt's
 * word32 lengths can take. */
static TSS2_RC
ctx_update(ESYS_CRYPTO_CONTEXT_BLOB *c, enum ctx_kind kind, const uint8_t *buffer, size_t size)
{
    size_t n;
    int wrc;

    if (c == NULL || buffer == NULL || c->kind != kind)
        return TSS2_ESYS_RC_BAD_REFERENCE;
    while (size > 0) {
        n = size < WC_CHUNK ? size : WC_CHUNK;
        if (kind == CTX_HASH)
            wrc = wc_HashUpdate(&c->u.hash, c->type, buffer, (word32)n);
        else
            wrc = wc_HmacUpdate(&c->u.hmac, buffer, (word32)n);
        if (wrc != 0) {
            wc_failed(kind == CTX_HASH ? "hash_update" : "hmac_update", wrc);
            return TSS2_ESYS_RC_GENERAL_FAILURE;
        }
        buffer += n;
        size -= n;
    }
    return TSS2_RC_SUCCESS;
}

/* The digest or MAC of a context of kind into buffer, then the context
 * freed; on BAD_REFERENCE or BAD_SIZE the context stays (the caller aborts
 * it). */
static TSS2_RC
ctx_finish(ESYS_CRYPTO_CONTEXT_BLOB **context, enum ctx_kind kind, uint8_t *buffer, size_t *size)
{
    ESYS_CRYPTO_CONTEXT_BLOB *c;
    TSS2_RC r = TSS2_RC_SUCCESS;
    int wrc;

    if (context == NULL || *context == NULL || buffer == NULL || size == NULL)
        return TSS2_ESYS_RC_BAD_REFERENCE;
    c = *context;
    if (c->kind != kind)
        return TSS2_ESYS_RC_BAD_REFERENCE;
    if (*size < c->len)
        return TSS2_ESYS_RC_BAD_SIZE;
    if (kind == CTX_HASH)
        wrc = wc_HashFinal(&c->u.hash, c->type, buffer);
    else
        wrc = wc_HmacFinal(&c->u.hmac, buffer);
    if (wrc != 0) {
        wc_failed(kind == CTX_HASH ? "hash_final" : "hmac_final", wrc);
        r = TSS2_ESYS_RC_GENERAL_FAILURE;
    } else {
        *size = c->len;
    }
    ctx_free(c);
    *context = NULL;
    return r;
}

static TSS2_RC
cb_hash_start(ESYS_CRYPTO_CONTEXT_BLOB **context, TPM2_ALG_ID hashAlg, void *userdata)
{
    ESYS_CRYPTO_CONTEXT_BLOB *c;
    int wrc;

    (void)userdata;
    if (context == NULL)
        return TSS2_ESYS_RC_BAD_REFERENCE;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return TSS2_ESYS_RC_MEMORY;
    if (!hash_type(hashAlg, &c->type, &c->len)) {
        free(c);
        return TSS2_ESYS_RC_NOT_IMPLEMENTED;
    }
    wrc = wc_HashInit(&c->u.hash, c->type);
    if (wrc != 0) {
        wc_failed("hash_init", wrc);
        free(c);
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    }
    c->kind = CTX_HASH;
    *context = c;
    return TSS2_RC_SUCCESS;
}

static TSS2_RC
cb_hash_update(ESYS_CRYPTO_CONTEXT_BLOB *context, const uint8_t *buffer, size_t size,
               void *userdata)
{
    (void)userdata;
    return ctx_update(context, CTX_HASH, buffer, size);
}

static TSS2_RC
cb_hash_finish(ESYS_CRYPTO_CONTEXT_BLOB **context, uint8_t *buffer, size_t *size, void *userdata)
{
    (void)userdata;
    return ctx_finish(context, CTX_HASH, buffer, size);
}

static void
cb_abort(ESYS_CRYPTO_CONTEXT_BLOB **context, void *userdata)
{
    (void)userdata;
    if (context == NULL || *context == NULL)
        return;
    ctx_free(*context);
    *context = NULL;
}

/* ---- HMAC -------------------------------------------------------------- */

static TSS2_RC
cb_hmac_start(ESYS_CRYPTO_CONTEXT_BLOB **context, TPM2_ALG_ID hashAlg, const uint8_t *key,
              size_t size, void *userdata)
{
    ESYS_CRYPTO_CONTEXT_BLOB *c;
    int wrc;

    (void)userdata;
    if (context == NULL || key == NULL)
        return TSS2_ESYS_RC_BAD_REFERENCE;
    if (size > UINT32_MAX)
        return TSS2_ESYS_RC_BAD_VALUE;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return TSS2_ESYS_RC_MEMORY;
    if (!hash_type(hashAlg, &c->type, &c->len)) {
        free(c);
        return TSS2_ESYS_RC_NOT_IMPLEMENTED;
    }
    wrc = wc_HmacInit(&c->u.hmac, NULL, INVALID_DEVID);
    if (wrc != 0) {
        wc_failed("hmac_init", wrc);
        lj_secure_free(c, sizeof(*c));
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    }
    c->kind = CTX_HMAC;
    /* wolfCrypt's HMAC type numbers are its hash types. */
    wrc = wc_HmacSetKey(&c->u.hmac, (int)c->type, key, (word32)size);
    if (wrc != 0) {
        wc_failed("hmac_setkey", wrc);
        ctx_free(c);
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    }
    *context = c;
    return TSS2_RC_SUCCESS;
}

static TSS2_RC
cb_hmac_update(ESYS_CRYPTO_CONTEXT_BLOB *context, const uint8_t *buffer, size_t size,
               void *userdata)
{
    (void)userdata;
    return ctx_update(context, CTX_HMAC, buffer, size);
}

static TSS2_RC
cb_hmac_finish(ESYS_CRYPTO_CONTEXT_BLOB **context, uint8_t *buffer, size_t *size, void *userdata)
{
    (void)userdata;
    return ctx_finish(context, CTX_HMAC, buffer, size);
}

/* ---- random ------------------------------------------------------------ */

/* num_bytes 0 fills the whole nonce (as OpenSSL's backend does). */
static TSS2_RC
cb_random2b(TPM2B_NONCE *nonce, size_t num_bytes, void *userdata)
{
    struct rand_req q;
    int wrc;

    (void)userdata;
    if (nonce == NULL)
        return TSS2_ESYS_RC_BAD_REFERENCE;
    if (num_bytes > sizeof(nonce->buffer))
        return TSS2_ESYS_RC_BAD_VALUE;
    nonce->size = (UINT16)(num_bytes == 0 ? sizeof(nonce->buffer) : num_bytes);
    q.buf = nonce->buffer;
    q.len = nonce->size;
    wrc = with_rng(rand_fill, &q);
    if (wrc != 0) {
        wc_failed("random", wrc);
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    }
    return TSS2_RC_SUCCESS;
}

/* ---- RSA encryption (salts) ------------------------------------------- */

struct rsa_req {
    RsaKey *key;
    const uint8_t *in;
    word32 in_len;
    uint8_t *out;
    word32 out_len;
    int pad;
    enum wc_HashType hash;
    int mgf;
    const char *label; /* its NUL included, as tpm2-tss's backends do */
};

static int
rsa_encrypt(WC_RNG *r, void *arg)
{
    struct rsa_req *q = arg;
    word32 lsz = q->label != NULL ? (word32)strlen(q->label) + 1 : 0;

    return wc_RsaPublicEncrypt_ex(q->in, q->in_len, q->out, q->out_len, q->key, r, q->pad, q->hash,
                                  q->mgf, (byte *)(uintptr_t)q->label, lsz);
}

/*
 * The OAEP hash is the key's nameAlg; the label is passed with its NUL
 * ("SECRET\0": TPM 2.0 Library Part 1, Annex B.10.3, and tpm2-tss's
 * backends: OpenSSL's strlen(label)+1).  Exponent 0 means 65537.
 */
static TSS2_RC
cb_rsa_pk_encrypt(TPM2B_PUBLIC *pub_tpm_key, size_t in_size, BYTE *in_buffer, size_t max_out_size,
                  BYTE *out_buffer, size_t *out_size, const char *label, void *userdata)
{
    const TPMT_PUBLIC *p;
    struct rsa_req q;
    RsaKey key;
    uint8_t e[4];
    uint32_t exp;
    size_t hlen;
    int ksz, wrc;
    TSS2_RC r = TSS2_ESYS_RC_GENERAL_FAILURE;

    (void)userdata;
    if (pub_tpm_key == NULL || in_buffer == NULL || out_buffer == NULL || out_size == NULL)
        return TSS2_ESYS_RC_BAD_REFERENCE;
    p = &pub_tpm_key->publicArea;
    memset(&q, 0, sizeof(q));
    if (!hash_type(p->nameAlg, &q.hash, &hlen))
        return TSS2_ESYS_RC_NOT_IMPLEMENTED;
    switch (p->nameAlg) {
    case TPM2_ALG_SHA1: q.mgf = WC_MGF1SHA1; break;
    case TPM2_ALG_SHA256: q.mgf = WC_MGF1SHA256; break;
    case TPM2_ALG_SHA384: q.mgf = WC_MGF1SHA384; break;
    default: q.mgf = WC_MGF1SHA512; break;
    }
    switch (p->parameters.rsaDetail.scheme.scheme) {
    case TPM2_ALG_OAEP: q.pad = WC_RSA_OAEP_PAD; break;
    case TPM2_ALG_RSAES:
        q.pad = WC_RSA_PKCSV15_PAD;
        q.hash = WC_HASH_TYPE_NONE;
        q.mgf = WC_MGF1NONE;
        break;
    default: return TSS2_ESYS_RC_BAD_VALUE;
    }
    exp = p->parameters.rsaDetail.exponent != 0 ? p->parameters.rsaDetail.exponent : 65537u;
    e[0] = (uint8_t)(exp >> 24);
    e[1] = (uint8_t)(exp >> 16);
    e[2] = (uint8_t)(exp >> 8);
    e[3] = (uint8_t)exp;

    wrc = wc_InitRsaKey(&key, NULL);
    if (wrc != 0) {
        wc_failed("rsa_init", wrc);
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    }
    wrc = wc_RsaPublicKeyDecodeRaw(p->unique.rsa.buffer, p->unique.rsa.size, e, sizeof(e), &key);
    if (wrc != 0) {
        wc_failed("rsa_key", wrc);
        goto out;
    }
    ksz = wc_RsaEncryptSize(&key);
    if (ksz <= 0 || (size_t)ksz > max_out_size || in_size > (size_t)ksz) {
        lj_log(LJ_LOG_WARN, TPM_MOD,
               "event=esys_crypto_failed op=rsa_encrypt key_bytes=%d in=%zu room=%zu", ksz, in_size,
               max_out_size);
        goto out;
    }
    q.key = &key;
    q.in = in_buffer;
    q.in_len = (word32)in_size;
    q.out = out_buffer;
    q.out_len = (word32)ksz;
    q.label = q.pad == WC_RSA_OAEP_PAD ? label : NULL;
    wrc = with_rng(rsa_encrypt, &q);
    if (wrc != ksz) {
        wc_failed("rsa_encrypt", wrc);
        goto out;
    }
    *out_size = (size_t)ksz;
    r = TSS2_RC_SUCCESS;
out:
    wc_FreeRsaKey(&key);
    return r;
}

/* ---- ECDH (ECC-salted sessions) ---------------------------------------- */

static bool
ecc_curve(TPMI_ECC_CURVE curve, int *id)
{
    switch (curve) {
    case TPM2_ECC_NIST_P192: *id = ECC_SECP192R1; return true;
    case TPM2_ECC_NIST_P224: *id = ECC_SECP224R1; return true;
    case TPM2_ECC_NIST_P256: *id = ECC_SECP256R1; return true;
    case TPM2_ECC_NIST_P384: *id = ECC_SECP384R1; return true;
    case TPM2_ECC_NIST_P521: *id = ECC_SECP521R1; return true;
    default: return false;
    }
}

struct ecdh_req {
    ecc_key *eph, *peer;
    int id, size;
    uint8_t *z;
    word32 z_len;
};

/* Make the ephemeral key and compute Z = x(d_eph * Q_tpm), padded. */
static int
ecdh_make(WC_RNG *r, void *arg)
{
    struct ecdh_req *q = arg;
    int wrc;

    wrc = wc_ecc_make_key_ex(r, q->size, q->eph, q->id);
    if (wrc != 0)
        return wrc;
    /* the blinding of the timing-resistant multiplication */
    wrc = wc_ecc_set_rng(q->eph, r);
    if (wrc != 0)
        return wrc;
    wrc = wc_ecc_shared_secret(q->eph, q->peer, q->z, &q->z_len);
    wc_ecc_set_rng(q->eph, NULL);
    return wrc;
}

/*
 * TPM 2.0 Library Part 1, Annex C.6.1: an ephemeral key on the TPM key's
 * curve, Z the x-coordinate of d_eph * Q_tpm, both coordinates of the
 * ephemeral public key padded to the curve's size (as OpenSSL's backend
 * does) in Q and marshalled as a TPMS_ECC_POINT into out_buffer (ESAPI's
 * encrypted salt).  The TPM's point is checked to be on the curve first.
 */
static TSS2_RC
cb_get_ecdh_point(TPM2B_PUBLIC *key, size_t max_out_size, TPM2B_ECC_PARAMETER *Z, TPMS_ECC_POINT *Q,
                  BYTE *out_buffer, size_t *out_size, void *userdata)
{
    const TPMS_ECC_POINT *tp;
    struct ecdh_req q;
    ecc_key eph, peer;
    uint8_t x[MAX_ECC_BYTES], y[MAX_ECC_BYTES];
    word32 xl, yl;
    size_t off = 0;
    int wrc;
    bool eph_init = false, peer_init = false;
    TSS2_RC r = TSS2_ESYS_RC_GENERAL_FAILURE;

    (void)userdata;
    if (key == NULL || Z == NULL || Q == NULL || out_buffer == NULL || out_size == NULL)
        return TSS2_ESYS_RC_BAD_REFERENCE;
    memset(&q, 0, sizeof(q));
    if (!ecc_curve(key->publicArea.parameters.eccDetail.curveID, &q.id))
        return TSS2_ESYS_RC_NOT_IMPLEMENTED;
    q.size = wc_ecc_get_curve_size_from_id(q.id);
    /* a curve this wolfCrypt build leaves out */
    if (q.size <= 0 || (size_t)q.size > sizeof(x) || (size_t)q.size > sizeof(Q->x.buffer) ||
        (size_t)q.size > sizeof(Z->buffer))
        return TSS2_ESYS_RC_NOT_IMPLEMENTED;

    /* The TPM's point, each coordinate left-padded to the curve's size. */
    tp = &key->publicArea.unique.ecc;
    if (tp->x.size > q.size || tp->y.size > q.size) {
        lj_log(LJ_LOG_WARN, TPM_MOD, "event=esys_crypto_failed op=ecdh reason=point too long");
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    }
    memset(x, 0, sizeof(x));
    memset(y, 0, sizeof(y));
    memcpy(x + q.size - tp->x.size, tp->x.buffer, tp->x.size);
    memcpy(y + q.size - tp->y.size, tp->y.buffer, tp->y.size);

    wrc = wc_ecc_init(&peer);
    if (wrc != 0) {
        wc_failed("ecc_init", wrc);
        goto out;
    }
    peer_init = true;
    wrc = wc_ecc_init(&eph);
    if (wrc != 0) {
        wc_failed("ecc_init", wrc);
        goto out;
    }
    eph_init = true;
    wrc = wc_ecc_import_unsigned(&peer, x, y, NULL, q.id);
    if (wrc != 0) {
        wc_failed("ecc_import", wrc);
        goto out;
    }
    wrc = wc_ecc_point_is_on_curve(&peer.pubkey, peer.idx);
    if (wrc != 0) {
        wc_failed("ecc_point_check", wrc);
        goto out;
    }
    q.eph = &eph;
    q.peer = &peer;
    q.z = Z->buffer;
    q.z_len = sizeof(Z->buffer);
    wrc = with_rng(ecdh_make, &q);
    if (wrc != 0 || q.z_len != (word32)q.size) {
        wc_failed("ecdh", wrc);
        goto out;
    }
    Z->size = (UINT16)q.z_len;

    xl = sizeof(Q->x.buffer);
    yl = sizeof(Q->y.buffer);
    wrc = wc_ecc_export_public_raw(&eph, Q->x.buffer, &xl, Q->y.buffer, &yl);
    if (wrc != 0 || xl != (word32)q.size || yl != (word32)q.size) {
        wc_failed("ecc_export", wrc);
        goto out;
    }
    Q->x.size = (UINT16)xl;
    Q->y.size = (UINT16)yl;
    r = Tss2_MU_TPMS_ECC_POINT_Marshal(Q, out_buffer, max_out_size, &off);
    if (r != TSS2_RC_SUCCESS)
        goto out;
    *out_size = off;
out:
    if (r != TSS2_RC_SUCCESS)
        lj_secure_zero(Z, sizeof(*Z));
    if (eph_init)
        wc_ecc_free(&eph);
    if (peer_init)
        wc_ecc_free(&peer);
    lj_secure_zero(&eph, sizeof(eph));
    /*
     * Debian's wolfSSL is built with FP_ECC: each thread keeps a cache of
     * precomputed multiples (~0.8 MiB, 257 blocks) of every point it
     * multiplied, freed only by this call on that thread; the TPM worker
     * thread ends without it (leaked) and one ECDH per session gains
     * nothing from it.
     */
#ifdef FP_ECC
    wc_ecc_fp_free();
#endif
    return r;
}

/* ---- AES-CFB (parameter encryption) ------------------------------------ */

static TSS2_RC
aes_cfb(uint8_t *key, TPMI_AES_KEY_BITS key_bits, uint8_t *buffer, size_t buffer_size,
        const uint8_t *iv, bool enc)
{
    Aes aes;
    int wrc;
    TSS2_RC r = TSS2_ESYS_RC_GENERAL_FAILURE;

    if (buffer_size > UINT32_MAX)
        return TSS2_ESYS_RC_BAD_VALUE;
    wrc = wc_AesInit(&aes, NULL, INVALID_DEVID);
    if (wrc != 0) {
        wc_failed("aes_init", wrc);
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    }
    /* CFB runs the forward cipher both ways. */
    wrc = wc_AesSetKey(&aes, key, key_bits / 8u, iv, AES_ENCRYPTION);
    if (wrc != 0) {
        wc_failed("aes_setkey", wrc);
        goto out;
    }
    if (enc)
        wrc = wc_AesCfbEncrypt(&aes, buffer, buffer, (word32)buffer_size);
    else
        wrc = wc_AesCfbDecrypt(&aes, buffer, buffer, (word32)buffer_size);
    if (wrc != 0) {
        wc_failed(enc ? "aes_encrypt" : "aes_decrypt", wrc);
        goto out;
    }
    r = TSS2_RC_SUCCESS;
out:
    wc_AesFree(&aes);
    lj_secure_zero(&aes, sizeof(aes));
    return r;
}

static bool
aes_cfb_ok(TPMI_AES_KEY_BITS key_bits, TPM2_ALG_ID tpm_mode)
{
    return tpm_mode == TPM2_ALG_CFB && (key_bits == 128 || key_bits == 192 || key_bits == 256);
}

/* OpenSSL's order and codes: size or mode first (BAD_VALUE), then the algorithm. */
static TSS2_RC
cb_aes_encrypt(uint8_t *key, TPM2_ALG_ID tpm_sym_alg, TPMI_AES_KEY_BITS key_bits,
               TPM2_ALG_ID tpm_mode, uint8_t *buffer, size_t buffer_size, uint8_t *iv,
               void *userdata)
{
    (void)userdata;
    if (key == NULL || buffer == NULL || iv == NULL)
        return TSS2_ESYS_RC_BAD_REFERENCE;
    if (!aes_cfb_ok(key_bits, tpm_mode) || tpm_sym_alg != TPM2_ALG_AES)
        return TSS2_ESYS_RC_BAD_VALUE;
    return aes_cfb(key, key_bits, buffer, buffer_size, iv, true);
}

/* OpenSSL's order and codes: the algorithm (BAD_VALUE), then size or mode
   (NOT_IMPLEMENTED). */
static TSS2_RC
cb_aes_decrypt(uint8_t *key, TPM2_ALG_ID tpm_sym_alg, TPMI_AES_KEY_BITS key_bits,
               TPM2_ALG_ID tpm_mode, uint8_t *buffer, size_t buffer_size, uint8_t *iv,
               void *userdata)
{
    (void)userdata;
    if (key == NULL || buffer == NULL || iv == NULL)
        return TSS2_ESYS_RC_BAD_REFERENCE;
    if (tpm_sym_alg != TPM2_ALG_AES)
        return TSS2_ESYS_RC_BAD_VALUE;
    if (!aes_cfb_ok(key_bits, tpm_mode))
        return TSS2_ESYS_RC_NOT_IMPLEMENTED;
    return aes_cfb(key, key_bits, buffer, buffer_size, iv, false);
}

/* SM4 (a TPM's Chinese profile): not in wolfCrypt's Debian build. */
static TSS2_RC
cb_sm4(uint8_t *key, TPM2_ALG_ID tpm_sym_alg, TPMI_SM4_KEY_BITS key_bits, TPM2_ALG_ID tpm_mode,
       uint8_t *buffer, size_t buffer_size, uint8_t *iv, void *userdata)
{
    (void)key;
    (void)tpm_sym_alg;
    (void)key_bits;
    (void)tpm_mode;
    (void)buffer;
    (void)buffer_size;
    (void)iv;
    (void)userdata;
    return TSS2_ESYS_RC_NOT_IMPLEMENTED;
}

static const ESYS_CRYPTO_CALLBACKS callbacks = {
    .rsa_pk_encrypt = cb_rsa_pk_encrypt,
    .hash_start = cb_hash_start,
    .hash_update = cb_hash_update,
    .hash_finish = cb_hash_finish,
    .hash_abort = cb_abort,
    .hmac_start = cb_hmac_start,
    .hmac_update = cb_hmac_update,
    .hmac_finish = cb_hmac_finish,
    .hmac_abort = cb_abort,
    .get_random2b = cb_random2b,
    .get_ecdh_point = cb_get_ecdh_point,
    .aes_encrypt = cb_aes_encrypt,
    .aes_decrypt = cb_aes_decrypt,
    .sm4_encrypt = cb_sm4,
    .sm4_decrypt = cb_sm4,
    .init = NULL, /* the generator is made on first use */
    .userdata = NULL,
};

const ESYS_CRYPTO_CALLBACKS *
tpm_esys_crypto_callbacks(void)
{
    return &callbacks;
}
