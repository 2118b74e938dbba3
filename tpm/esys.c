/*
 * esys.c — the TPM key provider over tpm2-tss ESAPI.  The only file that
 * includes tss2 headers; runs only on the tpm_ctx worker thread.
 *
 * Objects: the parent is the persistent SRK 0x81000001 when the TPM has
 * one, otherwise the ECC P-256 SRK template (restricted decrypt, AES-128-CFB,
 * empty unique, as `tpm2_createprimary -C o -G ecc256:aes128cfb`) created
 * transiently (~1 ms on swtpm).  The unique field must never change: it
 * selects the key.  Children: device key (RSA-2048, sign, RSASSA-SHA256)
 * and transport key (RSA-2048, decrypt, OAEP-SHA256 fixed, so it is not a
 * raw RSA oracle).  Neither has an auth value.
 *
 * Every operation loads what it needs and flushes it before returning; the
 * parent is flushed right after Load.  libtpms has 3 object slots and no
 * resource manager sits behind a direct swtpm TCTI, so stale transient
 * objects of a crashed run are flushed at open.
 */
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "tpm/backend.h"
#include "platform/common/elapsed.h"

#define SRK_PERSISTENT 0x81000001u
/* tss2's TRANSIENT_FIRST shifts a signed int into the sign bit (UBSan). */
#define TRANSIENT_FIRST 0x80000000u

/*
 * The TCTI ESAPI talks to: a pass-through to the loaded one that brackets
 * every transmit and receive with tpm_io_begin/tpm_io_end, so tpm.c can
 * bound a TPM that never answers (tpm.h "Bounded waits").  A TCTI is a
 * struct that starts with the common header (tss2_tcti.h), which is all
 * ESAPI and SAPI use.
 */
struct gate_tcti {
    TSS2_TCTI_CONTEXT_COMMON_V2 common; /* first: ESAPI casts to it */
    TSS2_TCTI_CONTEXT *inner;
    struct tpm_ctx *t;
};
#define GATE_MAGIC 0x6c6a676174653031ULL /* "ljgate01" */

struct esys {
    TSS2_TCTI_CONTEXT *tcti; /* the loaded TCTI */
    struct gate_tcti gate;   /* what ESAPI uses */
    ESYS_CONTEXT *ctx;
    char tcti_conf[256];
};

enum { F_DEV_PUB = 0, F_DEV_PRIV, F_TK_PUB, F_TK_PRIV };
static const char *const esys_files[] = {"device.pub", "device.priv", "transport.pub",
                                         "transport.priv"};

#define KEY_ATTRS                                                                      \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | \
     TPMA_OBJECT_USERWITHAUTH)

static const TPM2B_PUBLIC tmpl_srk_ecc = {
    .publicArea = {
        .type = TPM2_ALG_ECC,
        .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = KEY_ATTRS | TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED |
                            TPMA_OBJECT_DECRYPT,
        .parameters.eccDetail = {
            .symmetric = {.algorithm = TPM2_ALG_AES,
                          .keyBits.aes = 128,
                          .mode.aes = TPM2_ALG_CFB},
            .scheme = {.scheme = TPM2_ALG_NULL},
            .curveID = TPM2_ECC_NIST_P256,
            .kdf = {.scheme = TPM2_ALG_NULL},
        },
    },
};

static const TPM2B_PUBLIC tmpl_device = {
    .publicArea = {
        .type = TPM2_ALG_RSA,
        .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = KEY_ATTRS | TPMA_OBJECT_SIGN_ENCRYPT,
        .parameters.rsaDetail = {
            .symmetric = {.algorithm = TPM2_ALG_NULL},
            .scheme = {.scheme = TPM2_ALG_RSASSA,
                       .details.rsassa.hashAlg = TPM2_ALG_SHA256},
            .keyBits = 2048,
            .exponent = 0,
        },
    },
};

static const TPM2B_PUBLIC tmpl_transport = {
    .publicArea = {
        .type = TPM2_ALG_RSA,
        .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = KEY_ATTRS | TPMA_OBJECT_DECRYPT,
        .parameters.rsaDetail = {
            .symmetric = {.algorithm = TPM2_ALG_NULL},
            .scheme = {.scheme = TPM2_ALG_OAEP,
                       .details.oaep.hashAlg = TPM2_ALG_SHA256},
            .keyBits = 2048,
            .exponent = 0,
        },
    },
};

/*
 * The one place TSS2 codes become enum lj_rc.  `loading` marks Esys_Load of
 * our blobs, where an integrity failure means "made by another TPM".
 */
static enum lj_rc
esys_rc(TSS2_RC r, const char *op, bool loading)
{
    TSS2_RC layer = r & TSS2_RC_LAYER_MASK;
    TSS2_RC base = r & 0xffffu;
    TSS2_RC code;
    const char *text = Tss2_RC_Decode(r);

    if (layer == TSS2_TPM_RC_LAYER || layer == TSS2_RESMGR_TPM_RC_LAYER) {
        code = (r & TPM2_RC_FMT1) ? (r & (TPM2_RC_FMT1 | 0x3fu)) : (r & 0xfffu);
        if (loading && (code == TPM2_RC_INTEGRITY || code == TPM2_RC_BINDING))
            return lj_err_set(LJ_ERR_TPM_WRONG_TPM, TPM_MOD,
                              "event=%s_failed tss2_rc=0x%x tss2=\"%s\" reason=keys belong "
                              "to a different TPM (or the TPM was cleared)",
                              op, r, text);
        if (code == TPM2_RC_LOCKOUT)
            return lj_err_set(LJ_ERR_TPM_LOCKOUT, TPM_MOD,
                              "event=%s_failed tss2_rc=0x%x tss2=\"%s\" reason=TPM is in "
                              "dictionary-attack lockout", op, r, text);
        if (code == TPM2_RC_OBJECT_MEMORY || code == TPM2_RC_OBJECT_HANDLES ||
            code == TPM2_RC_SESSION_MEMORY)
            return lj_err_set(LJ_ERR_TPM_OBJECT_MEMORY, TPM_MOD,
                              "event=%s_failed tss2_rc=0x%x tss2=\"%s\" reason=TPM out of "
                              "object memory", op, r, text);
    } else if (base == TSS2_BASE_RC_IO_ERROR || base == TSS2_BASE_RC_NO_CONNECTION) {
        return lj_err_set(LJ_ERR_TPM_UNREACHABLE, TPM_MOD,
                          "event=%s_failed tss2_rc=0x%x tss2=\"%s\" reason=TPM unreachable",
                          op, r, text);
    }
    return lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=%s_failed tss2_rc=0x%x tss2=\"%s\"", op, r,
                      text);
}

static struct gate_tcti *
gate_of(TSS2_TCTI_CONTEXT *c)
{
    struct gate_tcti *g = (struct gate_tcti *)c;

    return g != NULL && g->common.v1.magic == GATE_MAGIC ? g : NULL;
}

static TSS2_RC
gate_transmit(TSS2_TCTI_CONTEXT *c, size_t size, const uint8_t *cmd)
{
    struct gate_tcti *g = gate_of(c);
    TSS2_RC r;

    if (g == NULL)
        return TSS2_TCTI_RC_BAD_REFERENCE;
    tpm_io_begin(g->t);
    r = Tss2_Tcti_Transmit(g->inner, size, cmd);
    tpm_io_end(g->t);
    return r;
}

static TSS2_RC
gate_receive(TSS2_TCTI_CONTEXT *c, size_t *size, uint8_t *resp, int32_t timeout)
{
    struct gate_tcti *g = gate_of(c);
    TSS2_RC r;

    if (g == NULL)
        return TSS2_TCTI_RC_BAD_REFERENCE;
    tpm_io_begin(g->t);
    r = Tss2_Tcti_Receive(g->inner, size, resp, timeout);
    tpm_io_end(g->t);
    return r;
}

static void
gate_finalize(TSS2_TCTI_CONTEXT *c)
{
    (void)c; /* the loaded TCTI is finalized by esys_close */
}

static TSS2_RC
gate_cancel(TSS2_TCTI_CONTEXT *c)
{
    struct gate_tcti *g = gate_of(c);

    return g != NULL ? Tss2_Tcti_Cancel(g->inner) : TSS2_TCTI_RC_BAD_REFERENCE;
}

static TSS2_RC
gate_get_poll_handles(TSS2_TCTI_CONTEXT *c, TSS2_TCTI_POLL_HANDLE *h, size_t *n)
{
    struct gate_tcti *g = gate_of(c);

    return g != NULL ? Tss2_Tcti_GetPollHandles(g->inner, h, n) : TSS2_TCTI_RC_BAD_REFERENCE;
}

static TSS2_RC
gate_set_locality(TSS2_TCTI_CONTEXT *c, uint8_t locality)
{
    struct gate_tcti *g = gate_of(c);
    TSS2_RC r;

    if (g == NULL)
        return TSS2_TCTI_RC_BAD_REFERENCE;
    tpm_io_begin(g->t);
    r = Tss2_Tcti_SetLocality(g->inner, locality);
    tpm_io_end(g->t);
    return r;
}

static TSS2_RC
gate_make_sticky(TSS2_TCTI_CONTEXT *c, TPM2_HANDLE *handle, uint8_t sticky)
{
    struct gate_tcti *g = gate_of(c);

    return g != NULL ? Tss2_Tcti_MakeSticky(g->inner, handle, sticky)
                     : TSS2_TCTI_RC_BAD_REFERENCE;
}

static void
gate_init(struct gate_tcti *g, TSS2_TCTI_CONTEXT *inner, struct tpm_ctx *t)
{
    memset(g, 0, sizeof(*g));
    g->common.v1.magic = GATE_MAGIC;
    g->common.v1.version = 2;
    g->common.v1.transmit = gate_transmit;
    g->common.v1.receive = gate_receive;
    g->common.v1.finalize = gate_finalize;
    g->common.v1.cancel = gate_cancel;
    g->common.v1.getPollHandles = gate_get_poll_handles;
    g->common.v1.setLocality = gate_set_locality;
    g->common.makeSticky = gate_make_sticky;
    g->inner = inner;
    g->t = t;
}

static void
flush(struct esys *e, ESYS_TR *h)
{
    TSS2_RC r;

    if (*h == ESYS_TR_NONE)
        return;
    r = Esys_FlushContext(e->ctx, *h);
    if (r != TSS2_RC_SUCCESS)
        lj_log(LJ_LOG_WARN, TPM_MOD, "event=flush_failed tss2_rc=0x%x tss2=\"%s\"", r,
               Tss2_RC_Decode(r));
    *h = ESYS_TR_NONE;
}

/* Flush transient objects left in the TPM by a crashed run. */
static void
flush_stale(struct esys *e)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    TSS2_RC r;
    unsigned flushed = 0;

    r = Esys_GetCapability(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                           TPM2_CAP_HANDLES, TRANSIENT_FIRST, TPM2_MAX_CAP_HANDLES,
                           &more, &cap);
    if (r != TSS2_RC_SUCCESS) {
        lj_log(LJ_LOG_WARN, TPM_MOD, "event=stale_scan_failed tss2_rc=0x%x", r);
        return;
    }
    for (UINT32 i = 0; i < cap->data.handles.count && i < TPM2_MAX_CAP_HANDLES; i++) {
        ESYS_TR tr = ESYS_TR_NONE;
        TPM2_HANDLE h = cap->data.handles.handle[i];
        if ((h & 0xff000000u) != TRANSIENT_FIRST)
            continue;
        if (Esys_TR_FromTPMPublic(e->ctx, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  &tr) != TSS2_RC_SUCCESS)
            continue;
        flush(e, &tr);
        flushed++;
    }
    Esys_Free(cap);
    if (flushed > 0)
        lj_log(LJ_LOG_WARN, TPM_MOD, "event=stale_objects_flushed count=%u", flushed);
}

static bool
has_persistent_srk(struct esys *e, enum lj_rc *rc)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    TSS2_RC r;
    bool found = false;

    *rc = LJ_OK;
    r = Esys_GetCapability(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                           TPM2_CAP_HANDLES, SRK_PERSISTENT, 1, &more, &cap);
    if (r != TSS2_RC_SUCCESS) {
        *rc = esys_rc(r, "get_capability", false);
        return false;
    }
    found = cap->data.handles.count >= 1 && cap->data.handles.handle[0] == SRK_PERSISTENT;
    Esys_Free(cap);
    return found;
}

/*
 * Make the parent named by `parent` usable: *h gets its ESYS_TR and
 * *transient whether it must be flushed (else Esys_TR_Close'd).
 */
static enum lj_rc
parent_get(struct esys *e, const char *parent, ESYS_TR *h, bool *transient)
{
    TPM2B_SENSITIVE_CREATE sens = {0};
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    TPM2B_PUBLIC *opub = NULL;
    TPM2B_CREATION_DATA *cdata = NULL;
    TPM2B_DIGEST *chash = NULL;
    TPMT_TK_CREATION *ctk = NULL;
    TSS2_RC r;
    enum lj_rc rc = LJ_OK;

    *h = ESYS_TR_NONE;
    if (strcmp(parent, TPM_PARENT_ECC_TEMPLATE) == 0) {
        r = Esys_CreatePrimary(e->ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, &sens, &tmpl_srk_ecc, &outside, &pcrs, h, &opub,
                               &cdata, &chash, &ctk);
        Esys_Free(opub);
        Esys_Free(cdata);
        Esys_Free(chash);
        Esys_Free(ctk);
        if (r != TSS2_RC_SUCCESS) {
            *h = ESYS_TR_NONE;
            return esys_rc(r, "create_primary", false);
        }
        *transient = true;
        return LJ_OK;
    }
    if (strcmp(parent, "0x81000001") != 0)
        return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD,
                          "event=parent_unknown parent=%.31s", parent);
    if (!has_persistent_srk(e, &rc)) {
        if (rc != LJ_OK)
            return rc;
        return lj_err_set(LJ_ERR_TPM_WRONG_TPM, TPM_MOD,
                          "event=parent_missing parent=0x81000001 reason=keys belong to a "
                          "different TPM (or the TPM was cleared)");
    }
    r = Esys_TR_FromTPMPublic(e->ctx, SRK_PERSISTENT, ESYS_TR_NONE, ESYS_TR_NONE,
                              ESYS_TR_NONE, h);
    if (r != TSS2_RC_SUCCESS) {
        *h = ESYS_TR_NONE;
        return esys_rc(r, "srk_open", false);
    }
    *transient = false;
    return LJ_OK;
}

static void
parent_put(struct esys *e, ESYS_TR *h, bool transient)
{
    if (*h == ESYS_TR_NONE)
        return;
    if (transient)
        flush(e, h);
    else
        Esys_TR_Close(e->ctx, h);
    *h = ESYS_TR_NONE;
}

/* Strict unmarshal: the whole buffer must be exactly one structure. */
static bool
unmarshal_pub(const struct tpm_blob *b, TPM2B_PUBLIC *out)
{
    size_t off = 0;

    memset(out, 0, sizeof(*out));
    return b->data != NULL &&
           Tss2_MU_TPM2B_PUBLIC_Unmarshal(b->data, b->len, &off, out) == TSS2_RC_SUCCESS &&
           off == b->len;
}

static bool
unmarshal_priv(const struct tpm_blob *b, TPM2B_PRIVATE *out)
{
    size_t off = 0;

    memset(out, 0, sizeof(*out));
    return b->data != NULL &&
           Tss2_MU_TPM2B_PRIVATE_Unmarshal(b->data, b->len, &off, out) == TSS2_RC_SUCCESS &&
           off == b->len;
}

/* The public area must be exactly what our template asks for. */
static bool
pub_matches(const TPM2B_PUBLIC *p, const TPM2B_PUBLIC *tmpl)
{
    const TPMT_PUBLIC *a = &p->publicArea, *t = &tmpl->publicArea;
    const TPMS_RSA_PARMS *ar = &a->parameters.rsaDetail, *tr = &t->parameters.rsaDetail;

    return a->type == TPM2_ALG_RSA && a->nameAlg == t->nameAlg &&
           a->objectAttributes == t->objectAttributes && a->authPolicy.size == 0 &&
           ar->symmetric.algorithm == TPM2_ALG_NULL && ar->scheme.scheme == tr->scheme.scheme &&
           ar->scheme.details.anySig.hashAlg == tr->scheme.details.anySig.hashAlg &&
           ar->keyBits == 2048 && (ar->exponent == 0 || ar->exponent == 65537) &&
           a->unique.rsa.size == TPM_RSA_BYTES;
}

static bool
pub_to_rsa(const TPM2B_PUBLIC *p, struct tpm_rsa_pub *out)
{
    UINT32 exp = p->publicArea.parameters.rsaDetail.exponent;
    unsigned char e[4];

    if (exp == 0)
        exp = 65537; /* TPM 2.0 Part 2 §12.2.3.5: 0 means 2^16 + 1 */
    e[0] = (unsigned char)(exp >> 24);
    e[1] = (unsigned char)(exp >> 16);
    e[2] = (unsigned char)(exp >> 8);
    e[3] = (unsigned char)exp;
    return tpm_rsa_pub_set(out, p->publicArea.unique.rsa.buffer, p->publicArea.unique.rsa.size,
                           e, sizeof(e));
}

/* Copy the first len bytes of a marshalled buffer into b (caller frees b->data). */
static enum lj_rc
blob_take(const unsigned char *buf, size_t len, struct tpm_blob *b)
{
    b->data = malloc(len);
    if (b->data == NULL)
        return LJ_ERR_NOMEM;
    memcpy(b->data, buf, len);
    b->len = len;
    return LJ_OK;
}

static enum lj_rc
blob_marshal_pub(const TPM2B_PUBLIC *p, struct tpm_blob *b)
{
    unsigned char buf[sizeof(TPM2B_PUBLIC) + 8];
    size_t off = 0;

    if (Tss2_MU_TPM2B_PUBLIC_Marshal(p, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        return lj_err_set(LJ_ERR_INTERNAL, TPM_MOD, "event=marshal_failed what=public");
    return blob_take(buf, off, b);
}

static enum lj_rc
blob_marshal_priv(const TPM2B_PRIVATE *p, struct tpm_blob *b)
{
    unsigned char buf[sizeof(TPM2B_PRIVATE) + 8];
    size_t off = 0;

    if (Tss2_MU_TPM2B_PRIVATE_Marshal(p, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        return lj_err_set(LJ_ERR_INTERNAL, TPM_MOD, "event=marshal_failed what=private");
    return blob_take(buf, off, b);
}

static enum lj_rc
esys_open(struct tpm_ctx *t, const char *tcti, void **be)
{
    struct esys *e = NULL;
    TSS2_RC r;
    enum lj_rc rc = LJ_OK;

    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return LJ_ERR_NOMEM;
    snprintf(e->tcti_conf, sizeof(e->tcti_conf), "%s", tcti);
    /* the TCTI's init talks to the TPM too (swtpm: connect, locality) */
    tpm_io_begin(t);
    r = Tss2_TctiLdr_Initialize(e->tcti_conf, &e->tcti);
    tpm_io_end(t);
    if (r != TSS2_RC_SUCCESS) {
        e->tcti = NULL;
        rc = lj_err_set(LJ_ERR_TPM_UNREACHABLE, TPM_MOD,
                        "event=tcti_init_failed tcti=\"%s\" tss2_rc=0x%x tss2=\"%s\" "
                        "reason=TPM unreachable", e->tcti_conf, r, Tss2_RC_Decode(r));
        goto out;
    }
    gate_init(&e->gate, e->tcti, t);
    r = Esys_Initialize(&e->ctx, (TSS2_TCTI_CONTEXT *)&e->gate, NULL);
    if (r != TSS2_RC_SUCCESS) {
        e->ctx = NULL;
        rc = esys_rc(r, "esys_init", false);
        goto out;
    }
    flush_stale(e);
    lj_log(LJ_LOG_INFO, TPM_MOD, "event=tpm_opened tcti=\"%s\"", e->tcti_conf);
    *be = e;
    e = NULL;
out:
    if (e != NULL) {
        if (e->ctx != NULL)
            Esys_Finalize(&e->ctx);
        if (e->tcti != NULL)
            Tss2_TctiLdr_Finalize(&e->tcti);
        free(e);
    }
    return rc;
}

static void
esys_close(void *be)
{
    struct esys *e = be;

    if (e == NULL)
        return;
    if (e->ctx != NULL)
        Esys_Finalize(&e->ctx);
    if (e->tcti != NULL)
        Tss2_TctiLdr_Finalize(&e->tcti);
    free(e);
}

static enum lj_rc
create_one(struct esys *e, ESYS_TR parent, const TPM2B_PUBLIC *tmpl, const char *what,
           struct tpm_blob *pub_b, struct tpm_blob *priv_b, struct tpm_rsa_pub *rsa)
{
    TPM2B_SENSITIVE_CREATE sens = {0};
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    TPM2B_PRIVATE *opriv = NULL;
    TPM2B_PUBLIC *opub = NULL;
    TPM2B_CREATION_DATA *cdata = NULL;
    TPM2B_DIGEST *chash = NULL;
    TPMT_TK_CREATION *ctk = NULL;
    TSS2_RC r;
    enum lj_rc rc;

    r = Esys_Create(e->ctx, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens, tmpl,
                    &outside, &pcrs, &opriv, &opub, &cdata, &chash, &ctk);
    if (r != TSS2_RC_SUCCESS) {
        rc = esys_rc(r, what, false);
        goto out;
    }
    if (!pub_matches(opub, tmpl) || !pub_to_rsa(opub, rsa)) {
        rc = lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=%s_failed reason=unexpected_public", what);
        goto out;
    }
    rc = blob_marshal_pub(opub, pub_b);
    if (rc == LJ_OK)
        rc = blob_marshal_priv(opriv, priv_b);
out:
    Esys_Free(opriv);
    Esys_Free(opub);
    Esys_Free(cdata);
    Esys_Free(chash);
    Esys_Free(ctk);
    return rc;
}

static enum lj_rc
esys_create(void *be, struct tpm_keyset *ks)
{
    struct esys *e = be;
    ESYS_TR parent = ESYS_TR_NONE;
    bool transient = true;
    enum lj_rc rc = LJ_OK;

    if (has_persistent_srk(e, &rc))
        snprintf(ks->parent, sizeof(ks->parent), "0x%08x", SRK_PERSISTENT);
    else if (rc != LJ_OK)
        return rc;
    else
        snprintf(ks->parent, sizeof(ks->parent), "%s", TPM_PARENT_ECC_TEMPLATE);
    rc = parent_get(e, ks->parent, &parent, &transient);
    if (rc != LJ_OK)
        goto out;
    rc = create_one(e, parent, &tmpl_device, "create_device_key", &ks->files[F_DEV_PUB],
                    &ks->files[F_DEV_PRIV], &ks->dev);
    if (rc != LJ_OK)
        goto out;
    rc = create_one(e, parent, &tmpl_transport, "create_transport_key", &ks->files[F_TK_PUB],
                    &ks->files[F_TK_PRIV], &ks->tk);
out:
    parent_put(e, &parent, transient);
    return rc;
}

/* Load one key under its parent (parent flushed at once); *key to flush. */
static enum lj_rc
load_key(struct esys *e, const struct tpm_keyset *ks, int pub_i, int priv_i, ESYS_TR *key)
{
    TPM2B_PUBLIC pub;
    TPM2B_PRIVATE priv;
    ESYS_TR parent = ESYS_TR_NONE;
    bool transient = true;
    TSS2_RC r;
    enum lj_rc rc;

    *key = ESYS_TR_NONE;
    if (!unmarshal_pub(&ks->files[pub_i], &pub) || !unmarshal_priv(&ks->files[priv_i], &priv))
        return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD, "event=blob_unmarshal_failed file=%s",
                          esys_files[pub_i]);
    rc = parent_get(e, ks->parent, &parent, &transient);
    if (rc != LJ_OK)
        return rc;
    r = Esys_Load(e->ctx, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &priv, &pub,
                  key);
    parent_put(e, &parent, transient);
    if (r != TSS2_RC_SUCCESS) {
        *key = ESYS_TR_NONE;
        return esys_rc(r, "load", true);
    }
    return LJ_OK;
}

static enum lj_rc
esys_validate(void *be, struct tpm_keyset *ks)
{
    struct esys *e = be;
    TPM2B_PUBLIC dev, tk;
    ESYS_TR key = ESYS_TR_NONE;
    enum lj_rc rc;

    if (!unmarshal_pub(&ks->files[F_DEV_PUB], &dev) || !pub_matches(&dev, &tmpl_device) ||
        !pub_to_rsa(&dev, &ks->dev))
        return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD,
                          "event=blob_invalid file=device.pub");
    if (!unmarshal_pub(&ks->files[F_TK_PUB], &tk) || !pub_matches(&tk, &tmpl_transport) ||
        !pub_to_rsa(&tk, &ks->tk))
        return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD,
                          "event=blob_invalid file=transport.pub");
    /* Prove both load in this TPM under their parent. */
    rc = load_key(e, ks, F_DEV_PUB, F_DEV_PRIV, &key);
    flush(e, &key);
    if (rc != LJ_OK)
        return rc;
    rc = load_key(e, ks, F_TK_PUB, F_TK_PRIV, &key);
    flush(e, &key);
    return rc;
}

static enum lj_rc
esys_sign(void *be, const struct tpm_keyset *ks, const unsigned char dig[32],
          unsigned char *sig, size_t *sig_len)
{
    struct esys *e = be;
    TPM2B_DIGEST digest = {.size = 32};
    TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_RSASSA,
                              .details.rsassa.hashAlg = TPM2_ALG_SHA256};
    TPMT_TK_HASHCHECK ticket = {.tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL};
    TPMT_SIGNATURE *s = NULL;
    ESYS_TR key = ESYS_TR_NONE;
    TSS2_RC r;
    enum lj_rc rc;

    memcpy(digest.buffer, dig, 32);
    rc = load_key(e, ks, F_DEV_PUB, F_DEV_PRIV, &key);
    if (rc != LJ_OK)
        goto out;
    r = Esys_Sign(e->ctx, key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &digest, &scheme,
                  &ticket, &s);
    if (r != TSS2_RC_SUCCESS) {
        rc = esys_rc(r, "sign", false);
        goto out;
    }
    if (s->sigAlg != TPM2_ALG_RSASSA || s->signature.rsassa.sig.size != TPM_RSA_BYTES) {
        rc = lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=sign_failed reason=unexpected_signature");
        goto out;
    }
    memcpy(sig, s->signature.rsassa.sig.buffer, TPM_RSA_BYTES);
    *sig_len = TPM_RSA_BYTES;
out:
    Esys_Free(s);
    flush(e, &key);
    return rc;
}

static enum lj_rc
esys_decrypt(void *be, const struct tpm_keyset *ks, const unsigned char *ct, size_t ct_len,
             unsigned char *pt, size_t *pt_len)
{
    struct esys *e = be;
    TPM2B_PUBLIC_KEY_RSA cipher = {0};
    TPMT_RSA_DECRYPT scheme = {.scheme = TPM2_ALG_OAEP,
                               .details.oaep.hashAlg = TPM2_ALG_SHA256};
    TPM2B_DATA label = {0};
    TPM2B_PUBLIC_KEY_RSA *msg = NULL;
    ESYS_TR key = ESYS_TR_NONE;
    TSS2_RC r;
    enum lj_rc rc;

    if (ct_len != TPM_RSA_BYTES)
        return lj_err_set(LJ_ERR_INVAL, TPM_MOD, "event=decrypt_failed reason=bad_length len=%zu",
                          ct_len);
    cipher.size = (UINT16)ct_len;
    memcpy(cipher.buffer, ct, ct_len);
    rc = load_key(e, ks, F_TK_PUB, F_TK_PRIV, &key);
    if (rc != LJ_OK)
        goto out;
    r = Esys_RSA_Decrypt(e->ctx, key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &cipher,
                         &scheme, &label, &msg);
    if (r != TSS2_RC_SUCCESS) {
        rc = esys_rc(r, "decrypt", false);
        goto out;
    }
    if (msg->size > TPM_RSA_BYTES) {
        rc = lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=decrypt_failed reason=oversize");
        goto out;
    }
    memcpy(pt, msg->buffer, msg->size);
    *pt_len = msg->size;
out:
    if (msg != NULL) {
        lj_secure_zero(msg, sizeof(*msg));
        Esys_Free(msg);
    }
    flush(e, &key);
    return rc;
}

/* ---- health and factory checks -------------------------------------- */

/* Read `count` tagged properties from `first` into a lookup (up to 64). */
struct props {
    TPM2_PT pt[64];
    UINT32 val[64];
    size_t n;
};

static enum lj_rc
props_read(struct esys *e, TPM2_PT first, UINT32 count, struct props *p)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    TSS2_RC r;
    TPM2_PT next = first;

    p->n = 0;
    /* Bounded: at most 4 round trips for one property group. */
    for (int round = 0; round < 4; round++) {
        r = Esys_GetCapability(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                               TPM2_CAP_TPM_PROPERTIES, next, count, &more, &cap);
        if (r != TSS2_RC_SUCCESS)
            return esys_rc(r, "get_capability", false);
        for (UINT32 i = 0; i < cap->data.tpmProperties.count && i < TPM2_MAX_TPM_PROPERTIES;
             i++) {
            TPM2_PT pt = cap->data.tpmProperties.tpmProperty[i].property;
            if (pt < first || pt >= first + count || p->n >= 64)
                continue;
            p->pt[p->n] = pt;
            p->val[p->n] = cap->data.tpmProperties.tpmProperty[i].value;
            p->n++;
            next = pt + 1;
        }
        Esys_Free(cap);
        cap = NULL;
        if (more != TPM2_YES || next >= first + count)
            break;
    }
    return LJ_OK;
}

static bool
prop_get(const struct props *p, TPM2_PT pt, UINT32 *v)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->pt[i] == pt) {
            *v = p->val[i];
            return true;
        }
    }
    return false;
}

/* Four big-endian characters of v appended to dst (printable; NULs end). */
static void
chars4(char *dst, size_t dsz, UINT32 v)
{
    size_t len = strlen(dst);

    for (int sh = 24; sh >= 0 && len + 1 < dsz; sh -= 8) {
        unsigned char c = (unsigned char)(v >> sh);
        if (c == 0)
            continue;
        dst[len++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[len] = '\0';
}

static void
trim_right(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
}

static enum lj_rc
esys_health(void *be, struct tpm_health *out)
{
    struct esys *e = be;
    struct props fx, var;
    TPM2B_MAX_BUFFER *tdata = NULL;
    TPM2_RC tres = 0;
    UINT32 v = 0;
    TSS2_RC r;
    enum lj_rc rc;

    memset(out, 0, sizeof(*out));
    out->tpm_protected = true;
    rc = props_read(e, TPM2_PT_FIXED, 48, &fx);
    if (rc != LJ_OK)
        return rc;
    rc = props_read(e, TPM2_PT_VAR, 20, &var);
    if (rc != LJ_OK)
        return rc;
    if (prop_get(&fx, TPM2_PT_FAMILY_INDICATOR, &v))
        chars4(out->family, sizeof(out->family), v);
    if (prop_get(&fx, TPM2_PT_MANUFACTURER, &v)) {
        out->manufacturer_id = v;
        chars4(out->manufacturer, sizeof(out->manufacturer), v);
    }
    for (TPM2_PT pt = TPM2_PT_VENDOR_STRING_1; pt <= TPM2_PT_VENDOR_STRING_4; pt++)
        if (prop_get(&fx, pt, &v))
            chars4(out->vendor, sizeof(out->vendor), v);
    trim_right(out->vendor);
    (void)prop_get(&fx, TPM2_PT_FIRMWARE_VERSION_1, &out->firmware1);
    (void)prop_get(&fx, TPM2_PT_FIRMWARE_VERSION_2, &out->firmware2);
    snprintf(out->firmware, sizeof(out->firmware), "%u.%u.%u.%u", out->firmware1 >> 16,
             out->firmware1 & 0xffffu, out->firmware2 >> 16, out->firmware2 & 0xffffu);
    (void)prop_get(&fx, TPM2_PT_LEVEL, &out->spec_level);
    (void)prop_get(&fx, TPM2_PT_REVISION, &out->spec_revision);
    if (prop_get(&var, TPM2_PT_PERMANENT, &v)) {
        out->in_lockout = (v & TPMA_PERMANENT_INLOCKOUT) != 0;
        out->owner_auth_set = (v & TPMA_PERMANENT_OWNERAUTHSET) != 0;
    }
    (void)prop_get(&var, TPM2_PT_LOCKOUT_COUNTER, &out->lockout_counter);
    (void)prop_get(&var, TPM2_PT_MAX_AUTH_FAIL, &out->max_tries);
    (void)prop_get(&var, TPM2_PT_LOCKOUT_INTERVAL, &out->recovery_s);
    (void)prop_get(&var, TPM2_PT_LOCKOUT_RECOVERY, &out->lockout_recovery_s);
    r = Esys_GetTestResult(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tdata, &tres);
    Esys_Free(tdata);
    if (r != TSS2_RC_SUCCESS)
        return esys_rc(r, "get_test_result", false);
    out->self_test_rc = tres;
    out->self_test_ok = tres == TPM2_RC_SUCCESS;
    return LJ_OK;
}

static enum lj_rc
esys_selftest(void *be, bool full)
{
    struct esys *e = be;
    TPM2B_MAX_BUFFER *tdata = NULL;
    TPM2_RC tres = 0;
    TSS2_RC r;

    r = Esys_SelfTest(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                      full ? TPM2_YES : TPM2_NO);
    if (r != TSS2_RC_SUCCESS)
        return esys_rc(r, "self_test", false);
    r = Esys_GetTestResult(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tdata, &tres);
    Esys_Free(tdata);
    if (r != TSS2_RC_SUCCESS)
        return esys_rc(r, "get_test_result", false);
    if (tres != TPM2_RC_SUCCESS)
        return lj_err_set(LJ_ERR_TPM, TPM_MOD,
                          "event=self_test_failed test_result=0x%x tss2=\"%s\"", tres,
                          Tss2_RC_Decode(tres));
    return LJ_OK;
}

static enum lj_rc
esys_random(void *be, unsigned char *buf, size_t n)
{
    struct esys *e = be;
    size_t off = 0;

    /* Bounded: each round returns >= 1 byte or fails; n <= 1024. */
    for (int rounds = 0; off < n && rounds < 1024; rounds++) {
        TPM2B_DIGEST *rnd = NULL;
        size_t want = n - off > 32 ? 32 : n - off;
        TSS2_RC r = Esys_GetRandom(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                   (UINT16)want, &rnd);
        if (r != TSS2_RC_SUCCESS)
            return esys_rc(r, "get_random", false);
        if (rnd->size == 0 || rnd->size > want) {
            Esys_Free(rnd);
            return lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=get_random_failed reason=bad_size");
        }
        memcpy(buf + off, rnd->buffer, rnd->size);
        off += rnd->size;
        lj_secure_zero(rnd, sizeof(*rnd));
        Esys_Free(rnd);
    }
    return off == n ? LJ_OK : lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=get_random_failed");
}

/* TCG EK Credential Profile 2.x NV indices of EK certificates. */
static const struct {
    TPM2_HANDLE idx;
    const char *kind;
} ek_indices[TPM_EK_CERT_MAX] = {
    {0x01c00002u, "rsa2048"},     {0x01c0000au, "ecc-p256"},    {0x01c00012u, "rsa2048"},
    {0x01c00014u, "ecc-p256"},    {0x01c00016u, "ecc-p384"},    {0x01c00018u, "ecc-p521"},
    {0x01c0001cu, "rsa3072"},     {0x01c0001eu, "rsa4096"},
};

static enum lj_rc
nv_read_all(struct esys *e, TPM2_HANDLE idx, unsigned char **der, size_t *len)
{
    ESYS_TR nv = ESYS_TR_NONE;
    TPM2B_NV_PUBLIC *npub = NULL;
    TPM2B_NAME *nname = NULL;
    unsigned char *buf = NULL;
    UINT16 size, off = 0;
    TSS2_RC r;
    enum lj_rc rc = LJ_OK;

    r = Esys_TR_FromTPMPublic(e->ctx, idx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv);
    if (r != TSS2_RC_SUCCESS) {
        nv = ESYS_TR_NONE;
        rc = esys_rc(r, "nv_open", false);
        goto out;
    }
    r = Esys_NV_ReadPublic(e->ctx, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &npub, &nname);
    if (r != TSS2_RC_SUCCESS) {
        rc = esys_rc(r, "nv_read_public", false);
        goto out;
    }
    size = npub->nvPublic.dataSize;
    if (size == 0 || size > TPM_EK_CERT_BYTES) {
        rc = lj_err_set(LJ_ERR_TOO_BIG, TPM_MOD, "event=nv_read_failed index=0x%08x size=%u",
                        idx, size);
        goto out;
    }
    buf = malloc(size);
    if (buf == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    /* 512-byte chunks: below every TPM's MAX_NV_BUFFER_SIZE. */
    while (off < size) {
        TPM2B_MAX_NV_BUFFER *chunk = NULL;
        UINT16 want = (UINT16)(size - off > 512 ? 512 : size - off);
        r = Esys_NV_Read(e->ctx, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, want,
                         off, &chunk);
        if (r != TSS2_RC_SUCCESS) {
            rc = esys_rc(r, "nv_read", false);
            goto out;
        }
        if (chunk->size != want) {
            Esys_Free(chunk);
            rc = lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=nv_read_failed reason=short_read");
            goto out;
        }
        memcpy(buf + off, chunk->buffer, want);
        off = (UINT16)(off + want);
        Esys_Free(chunk);
    }
    *der = buf;
    *len = size;
    buf = NULL;
out:
    free(buf);
    Esys_Free(npub);
    Esys_Free(nname);
    if (nv != ESYS_TR_NONE)
        Esys_TR_Close(e->ctx, &nv);
    return rc;
}

static enum lj_rc
esys_ek_certs(void *be, struct tpm_ek_cert *out, size_t *n)
{
    struct esys *e = be;
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    TSS2_RC r;
    enum lj_rc rc = LJ_OK;

    *n = 0;
    r = Esys_GetCapability(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                           0x01c00000u, 64, &more, &cap);
    if (r != TSS2_RC_SUCCESS)
        return esys_rc(r, "get_capability", false);
    for (size_t k = 0; k < TPM_EK_CERT_MAX && rc == LJ_OK; k++) {
        bool present = false;
        for (UINT32 i = 0; i < cap->data.handles.count && i < TPM2_MAX_CAP_HANDLES; i++)
            present = present || cap->data.handles.handle[i] == ek_indices[k].idx;
        if (!present)
            continue;
        rc = nv_read_all(e, ek_indices[k].idx, &out[*n].der, &out[*n].len);
        if (rc == LJ_OK) {
            out[*n].nv_index = ek_indices[k].idx;
            out[*n].kind = ek_indices[k].kind;
            (*n)++;
        }
    }
    Esys_Free(cap);
    return rc;
}

static const TPM2B_PUBLIC tmpl_eph_ecc = {
    .publicArea = {
        .type = TPM2_ALG_ECC,
        .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                            TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                            TPMA_OBJECT_NODA | TPMA_OBJECT_SIGN_ENCRYPT,
        .parameters.eccDetail = {
            .symmetric = {.algorithm = TPM2_ALG_NULL},
            .scheme = {.scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256},
            .curveID = TPM2_ECC_NIST_P256,
            .kdf = {.scheme = TPM2_ALG_NULL},
        },
    },
};

static bool
ecc_param_copy(unsigned char dst[32], size_t *dlen, const TPM2B_ECC_PARAMETER *p)
{
    if (p->size == 0 || p->size > 32)
        return false;
    memcpy(dst, p->buffer, p->size);
    *dlen = p->size;
    return true;
}


static enum lj_rc
esys_eph_sign(void *be, const unsigned char dig[32], struct tpm_ecc_sig *out)
{
    struct esys *e = be;
    TPM2B_SENSITIVE_CREATE sens = {0};
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    TPM2B_PUBLIC *opub = NULL;
    TPM2B_CREATION_DATA *cdata = NULL;
    TPM2B_DIGEST *chash = NULL;
    TPMT_TK_CREATION *ctk = NULL;
    TPM2B_DIGEST digest = {.size = 32};
    TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256};
    TPMT_TK_HASHCHECK ticket = {.tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL};
    TPMT_SIGNATURE *sig = NULL;
    ESYS_TR key = ESYS_TR_NONE;
    struct timespec t0, t1, t2;
    TSS2_RC r;
    enum lj_rc rc = LJ_OK;

    memset(out, 0, sizeof(*out));
    memcpy(digest.buffer, dig, 32);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = Esys_CreatePrimary(e->ctx, ESYS_TR_RH_NULL, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                           ESYS_TR_NONE, &sens, &tmpl_eph_ecc, &outside, &pcrs, &key, &opub,
                           &cdata, &chash, &ctk);
    if (r != TSS2_RC_SUCCESS) {
        key = ESYS_TR_NONE;
        rc = esys_rc(r, "create_ephemeral", false);
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r = Esys_Sign(e->ctx, key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &digest, &scheme,
                  &ticket, &sig);
    if (r != TSS2_RC_SUCCESS) {
        rc = esys_rc(r, "sign_ephemeral", false);
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t2);
    if (opub->publicArea.type != TPM2_ALG_ECC || sig->sigAlg != TPM2_ALG_ECDSA ||
        !ecc_param_copy(out->x, &out->x_len, &opub->publicArea.unique.ecc.x) ||
        !ecc_param_copy(out->y, &out->y_len, &opub->publicArea.unique.ecc.y) ||
        !ecc_param_copy(out->r, &out->r_len, &sig->signature.ecdsa.signatureR) ||
        !ecc_param_copy(out->s, &out->s_len, &sig->signature.ecdsa.signatureS)) {
        rc = lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=sign_ephemeral_failed reason=unexpected_output");
        goto out;
    }
    out->create_ms = lj_ms_between(&t0, &t1);
    out->sign_ms = lj_ms_between(&t1, &t2);
out:
    flush(e, &key);
    Esys_Free(opub);
    Esys_Free(cdata);
    Esys_Free(chash);
    Esys_Free(ctk);
    Esys_Free(sig);
    return rc;
}

static enum lj_rc
esys_transient_count(void *be, unsigned *n)
{
    struct esys *e = be;
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    TSS2_RC r;

    r = Esys_GetCapability(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                           TRANSIENT_FIRST, TPM2_MAX_CAP_HANDLES, &more, &cap);
    if (r != TSS2_RC_SUCCESS)
        return esys_rc(r, "get_capability", false);
    *n = 0;
    for (UINT32 i = 0; i < cap->data.handles.count && i < TPM2_MAX_CAP_HANDLES; i++)
        if ((cap->data.handles.handle[i] & 0xff000000u) == TRANSIENT_FIRST)
            (*n)++;
    Esys_Free(cap);
    return LJ_OK;
}

/* ---- TPM2_Clear (factory-reset --clear-tpm) -------------------------- */

/*
 * TPM2_Clear with lockout authorization (empty on swtpm and on TPMs whose
 * owner never set one: Windows sets it only when it takes ownership).  Not
 * retried with the platform hierarchy: firmware disables it before the OS
 * runs on real devices, and a second wrong-auth attempt would count
 * against lockoutAuth's own penalty.  TPM2_Clear changes the storage
 * primary seed, evicts owner persistent objects (0x81000001 included) and
 * flushes transient ones, so every blob made under the old seed fails to
 * load from now on (LJ_ERR_TPM_WRONG_TPM).
 */
static enum lj_rc
esys_clear(void *be)
{
    struct esys *e = be;
    TPM2B_AUTH empty = {.size = 0};
    TSS2_RC r, code;

    r = Esys_TR_SetAuth(e->ctx, ESYS_TR_RH_LOCKOUT, &empty);
    if (r != TSS2_RC_SUCCESS)
        return esys_rc(r, "clear", false);
    r = Esys_Clear(e->ctx, ESYS_TR_RH_LOCKOUT, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
    if (r == TSS2_RC_SUCCESS) {
        lj_log(LJ_LOG_INFO, TPM_MOD, "event=tpm_cleared auth=lockout");
        return LJ_OK;
    }
    code = (r & TPM2_RC_FMT1) ? (r & (TPM2_RC_FMT1 | 0x3fu)) : (r & 0xfffu);
    if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER &&
        (code == TPM2_RC_BAD_AUTH || code == TPM2_RC_AUTH_FAIL))
        return lj_err_set(LJ_ERR_AUTH, TPM_MOD,
                          "event=clear_failed tss2_rc=0x%x tss2=\"%s\" reason=the lockout "
                          "authorization is set (clear the TPM from the firmware setup)",
                          r, Tss2_RC_Decode(r));
    if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && code == TPM2_RC_DISABLED)
        return lj_err_set(LJ_ERR_TPM, TPM_MOD,
                          "event=clear_failed tss2_rc=0x%x tss2=\"%s\" reason=TPM2_Clear is "
                          "disabled (disableClear set; clear it from the firmware setup)",
                          r, Tss2_RC_Decode(r));
    return esys_rc(r, "clear", false);
}

/* ---- sealed data key ------------------------------------------------- */

/*
 * A sealed data object: keyedHash with no scheme, neither sign nor decrypt
 * (so the TPM only ever returns its data through TPM2_Unseal), empty auth.
 * noDA: its empty auth cannot be guessed, and a lockout caused elsewhere
 * should not make the refresh token unreadable.
 */
static const TPM2B_PUBLIC tmpl_sealed = {
    .publicArea = {
        .type = TPM2_ALG_KEYEDHASH,
        .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                            TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA,
        .parameters.keyedHashDetail.scheme = {.scheme = TPM2_ALG_NULL},
    },
};

static bool
sealed_pub_ok(const TPM2B_PUBLIC *p)
{
    const TPMT_PUBLIC *a = &p->publicArea;

    return a->type == TPM2_ALG_KEYEDHASH && a->nameAlg == TPM2_ALG_SHA256 &&
           a->objectAttributes == tmpl_sealed.publicArea.objectAttributes &&
           a->authPolicy.size == 0 &&
           a->parameters.keyedHashDetail.scheme.scheme == TPM2_ALG_NULL;
}

/*
 * An HMAC session salted with the parent key (ECDH with the ECC SRK),
 * AES-128-CFB parameter encryption: the data key crosses the TPM bus
 * encrypted (Create's inSensitive, Unseal's outData), not in clear.
 */
static enum lj_rc
session_start(struct esys *e, ESYS_TR salt_key, TPMA_SESSION attrs, ESYS_TR *sess)
{
    TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB};
    TSS2_RC r;

    r = Esys_StartAuthSession(e->ctx, salt_key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                              ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256, sess);
    if (r != TSS2_RC_SUCCESS) {
        *sess = ESYS_TR_NONE;
        return esys_rc(r, "start_session", false);
    }
    r = Esys_TRSess_SetAttributes(e->ctx, *sess, attrs | TPMA_SESSION_CONTINUESESSION, 0xff);
    if (r != TSS2_RC_SUCCESS) {
        flush(e, sess);
        return esys_rc(r, "session_attributes", false);
    }
    return LJ_OK;
}

static enum lj_rc
esys_seal_key(void *be, const char *state_dir, const unsigned char key[32], char parent[32],
              struct tpm_blob *blob)
{
    struct esys *e = be;
    TPM2B_SENSITIVE_CREATE *sens = NULL;
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    TPM2B_PRIVATE *opriv = NULL;
    TPM2B_PUBLIC *opub = NULL;
    TPM2B_CREATION_DATA *cdata = NULL;
    TPM2B_DIGEST *chash = NULL;
    TPMT_TK_CREATION *ctk = NULL;
    ESYS_TR ph = ESYS_TR_NONE, sess = ESYS_TR_NONE;
    bool transient = true;
    unsigned char buf[sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE) + 16];
    size_t off = 0;
    TSS2_RC r;
    enum lj_rc rc = LJ_OK;

    (void)state_dir;
    if (has_persistent_srk(e, &rc))
        snprintf(parent, 32, "0x%08x", SRK_PERSISTENT);
    else if (rc != LJ_OK)
        return rc;
    else
        snprintf(parent, 32, "%s", TPM_PARENT_ECC_TEMPLATE);
    sens = calloc(1, sizeof(*sens));
    if (sens == NULL)
        return LJ_ERR_NOMEM;
    sens->sensitive.data.size = 32;
    memcpy(sens->sensitive.data.buffer, key, 32);
    rc = parent_get(e, parent, &ph, &transient);
    if (rc != LJ_OK)
        goto out;
    rc = session_start(e, ph, TPMA_SESSION_DECRYPT, &sess);
    if (rc != LJ_OK)
        goto out;
    r = Esys_Create(e->ctx, ph, sess, ESYS_TR_NONE, ESYS_TR_NONE, sens,
                    &tmpl_sealed, &outside, &pcrs, &opriv, &opub, &cdata, &chash, &ctk);
    if (r != TSS2_RC_SUCCESS) {
        rc = esys_rc(r, "seal", false);
        goto out;
    }
    if (!sealed_pub_ok(opub) ||
        Tss2_MU_TPM2B_PUBLIC_Marshal(opub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_PRIVATE_Marshal(opriv, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS) {
        rc = lj_err_set(LJ_ERR_TPM, TPM_MOD, "event=seal_failed reason=unexpected_output");
        goto out;
    }
    blob->data = malloc(off);
    if (blob->data == NULL) {
        rc = LJ_ERR_NOMEM;
        goto out;
    }
    memcpy(blob->data, buf, off);
    blob->len = off;
out:
    flush(e, &sess);
    parent_put(e, &ph, transient);
    lj_secure_free(sens, sizeof(*sens));
    Esys_Free(opriv);
    Esys_Free(opub);
    Esys_Free(cdata);
    Esys_Free(chash);
    Esys_Free(ctk);
    return rc;
}

static enum lj_rc
esys_unseal_key(void *be, const char *state_dir, const char *parent,
                const struct tpm_blob *blob, unsigned char key[32])
{
    struct esys *e = be;
    TPM2B_PUBLIC pub;
    TPM2B_PRIVATE priv;
    TPM2B_SENSITIVE_DATA *data = NULL;
    ESYS_TR ph = ESYS_TR_NONE, obj = ESYS_TR_NONE, sess = ESYS_TR_NONE;
    bool transient = true;
    size_t off = 0;
    TSS2_RC r;
    enum lj_rc rc;

    (void)state_dir;
    memset(&pub, 0, sizeof(pub));
    memset(&priv, 0, sizeof(priv));
    if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(blob->data, blob->len, &off, &pub) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_PRIVATE_Unmarshal(blob->data, blob->len, &off, &priv) !=
            TSS2_RC_SUCCESS ||
        off != blob->len || !sealed_pub_ok(&pub))
        return lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD,
                          "event=unseal_failed reason=sealed object malformed");
    rc = parent_get(e, parent, &ph, &transient);
    if (rc != LJ_OK)
        goto out;
    r = Esys_Load(e->ctx, ph, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &priv, &pub, &obj);
    if (r != TSS2_RC_SUCCESS) {
        obj = ESYS_TR_NONE;
        rc = esys_rc(r, "load_sealed", true);
        goto out;
    }
    /* Salted by the parent, which is flushed before Unseal (3 object slots). */
    rc = session_start(e, ph, TPMA_SESSION_ENCRYPT, &sess);
    parent_put(e, &ph, transient);
    if (rc != LJ_OK)
        goto out;
    r = Esys_Unseal(e->ctx, obj, sess, ESYS_TR_NONE, ESYS_TR_NONE, &data);
    if (r != TSS2_RC_SUCCESS) {
        rc = esys_rc(r, "unseal", false);
        goto out;
    }
    if (data->size != 32) {
        rc = lj_err_set(LJ_ERR_KEYS_CORRUPT, TPM_MOD,
                        "event=unseal_failed reason=unexpected size %u", data->size);
        goto out;
    }
    memcpy(key, data->buffer, 32);
out:
    if (data != NULL) {
        lj_secure_zero(data, sizeof(*data));
        Esys_Free(data);
    }
    flush(e, &sess);
    flush(e, &obj);
    parent_put(e, &ph, transient);
    return rc;
}

const struct tpm_backend tpm_backend_esys = {
    .name = "tpm",
    .tpm_protected = true,
    .files = esys_files,
    .nfiles = 4,
    .open = esys_open,
    .close = esys_close,
    .create = esys_create,
    .validate = esys_validate,
    .sign = esys_sign,
    .decrypt = esys_decrypt,
    .health = esys_health,
    .selftest = esys_selftest,
    .random = esys_random,
    .ek_certs = esys_ek_certs,
    .eph_sign = esys_eph_sign,
    .transient_count = esys_transient_count,
    .seal_key = esys_seal_key,
    .unseal_key = esys_unseal_key,
    .clear = esys_clear,
};
