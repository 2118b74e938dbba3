/*
 * pki.c — see pki.h.  Certificates are built field by field with der.c and
 * signed through pki_key_sign; wolfSSL provides RSA, SHA and PEM only.
 */
#include "hw-sim/entra-sim/pki.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/sha.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/signature.h>

#include "platform/common/fsutil.h"
#include "platform/common/secmem.h"

#define MOD "pki"
#define OID_SHA256_RSA "1.2.840.113549.1.1.11"
#define OID_RSA "1.2.840.113549.1.1.1"
#define KEY_FILE_MAX (16 * 1024)

struct pki_key {
    RsaKey rsa;
    WC_RNG rng;
    pthread_mutex_t lock;
    unsigned char spki[1024];
    size_t spki_len;
    bool rsa_init, rng_init;
};

static struct pki_key *
key_alloc(void)
{
    struct pki_key *k = calloc(1, sizeof(*k));

    if (k == NULL)
        return NULL;
    pthread_mutex_init(&k->lock, NULL);
    if (wc_InitRsaKey(&k->rsa, NULL) != 0) {
        free(k);
        return NULL;
    }
    k->rsa_init = true;
    if (wc_InitRng(&k->rng) != 0) {
        pki_key_free(k);
        return NULL;
    }
    k->rng_init = true;
    return k;
}

static bool
key_fill_spki(struct pki_key *k)
{
    int n = wc_RsaKeyToPublicDer(&k->rsa, k->spki, (word32)sizeof(k->spki));

    if (n <= 0)
        return false;
    k->spki_len = (size_t)n;
#ifdef WC_RSA_BLINDING
    wc_RsaSetRNG(&k->rsa, &k->rng);
#endif
    return true;
}

enum lj_rc
pki_key_generate(int bits, struct pki_key **out)
{
    struct pki_key *k = key_alloc();
    int ret;

    if (k == NULL)
        return lj_err_set(LJ_ERR_NOMEM, MOD, "event=key_alloc_failed");
    ret = wc_MakeRsaKey(&k->rsa, bits, WC_RSA_EXPONENT, &k->rng);
    if (ret != 0 || !key_fill_spki(k)) {
        pki_key_free(k);
        return lj_err_set(LJ_ERR_CRYPTO, MOD, "event=keygen_failed wolfssl=%d", ret);
    }
    *out = k;
    return LJ_OK;
}

enum lj_rc
pki_key_load(const char *path, struct pki_key **out)
{
    unsigned char *pem = NULL, *der = NULL;
    size_t pemlen = 0;
    struct pki_key *k = NULL;
    word32 idx = 0;
    int n;
    enum lj_rc rc;

    rc = lj_fs_read(path, KEY_FILE_MAX, &pem, &pemlen);
    if (rc != LJ_OK)
        goto out;
    rc = LJ_ERR_NOMEM;
    der = malloc(pemlen);
    k = key_alloc();
    if (der == NULL || k == NULL)
        goto out;
    rc = LJ_ERR_PARSE;
    n = wc_KeyPemToDer(pem, (int)pemlen, der, (int)pemlen, NULL);
    if (n <= 0 || wc_RsaPrivateKeyDecode(der, &idx, &k->rsa, (word32)n) != 0 || !key_fill_spki(k)) {
        lj_err_set(LJ_ERR_PARSE, MOD, "event=key_load_failed path=%s", path);
        goto out;
    }
    *out = k;
    k = NULL;
    rc = LJ_OK;
out:
    if (pem != NULL)
        lj_secure_free(pem, pemlen);
    if (der != NULL)
        lj_secure_free(der, pemlen);
    pki_key_free(k);
    return rc;
}

enum lj_rc
pki_key_save(struct pki_key *k, const char *path)
{
    unsigned char der[4096];
    unsigned char pem[8192];
    int dn, pn;
    enum lj_rc rc = LJ_ERR_CRYPTO;

    dn = wc_RsaKeyToDer(&k->rsa, der, sizeof(der));
    if (dn <= 0)
        goto out;
    pn = wc_DerToPem(der, (word32)dn, pem, sizeof(pem), PRIVATEKEY_TYPE);
    if (pn <= 0)
        goto out;
    rc = lj_fs_write_atomic(path, pem, (size_t)pn, 0600);
out:
    lj_secure_zero(der, sizeof(der));
    lj_secure_zero(pem, sizeof(pem));
    if (rc == LJ_ERR_CRYPTO)
        lj_err_set(rc, MOD, "event=key_export_failed");
    return rc;
}

void
pki_key_free(struct pki_key *k)
{
    if (k == NULL)
        return;
    if (k->rsa_init)
        wc_FreeRsaKey(&k->rsa);
    if (k->rng_init)
        wc_FreeRng(&k->rng);
    pthread_mutex_destroy(&k->lock);
    lj_secure_zero(k, sizeof(*k));
    free(k);
}

const unsigned char *
pki_key_spki(const struct pki_key *k, size_t *len)
{
    *len = k->spki_len;
    return k->spki;
}

enum lj_rc
pki_key_sign(struct pki_key *k, const void *data, size_t n, unsigned char *sig, size_t *siglen)
{
    word32 sl = (word32)*siglen;
    int ret;

    pthread_mutex_lock(&k->lock);
    ret = wc_SignatureGenerate(WC_HASH_TYPE_SHA256, WC_SIGNATURE_TYPE_RSA_W_ENC, data, (word32)n,
                               sig, &sl, &k->rsa, sizeof(k->rsa), &k->rng);
    pthread_mutex_unlock(&k->lock);
    if (ret != 0)
        return lj_err_set(LJ_ERR_CRYPTO, MOD, "event=sign_failed wolfssl=%d", ret);
    *siglen = sl;
    return LJ_OK;
}

bool
pki_rs256_verify(const unsigned char *spki, size_t spki_len, const void *data, size_t n,
                 const unsigned char *sig, size_t siglen)
{
    RsaKey key;
    word32 idx = 0;
    bool ok = false;

    if (wc_InitRsaKey(&key, NULL) != 0)
        return false;
    if (wc_RsaPublicKeyDecode(spki, &idx, &key, (word32)spki_len) != 0 || idx != spki_len)
        goto out;
    if (siglen != (size_t)wc_RsaEncryptSize(&key))
        goto out;
    ok = wc_SignatureVerify(WC_HASH_TYPE_SHA256, WC_SIGNATURE_TYPE_RSA_W_ENC, data, (word32)n, sig,
                            (word32)siglen, &key, sizeof(key)) == 0;
out:
    wc_FreeRsaKey(&key);
    return ok;
}

bool
pki_spki_rsa(const unsigned char *spki, size_t spki_len, unsigned char *mod, size_t *modlen,
             unsigned char *exp, size_t *explen)
{
    RsaKey key;
    word32 idx = 0, ml = 1024, el = 16;
    bool ok = false;

    if (wc_InitRsaKey(&key, NULL) != 0)
        return false;
    if (wc_RsaPublicKeyDecode(spki, &idx, &key, (word32)spki_len) != 0 || idx != spki_len)
        goto out;
    if (wc_RsaFlattenPublicKey(&key, exp, &el, mod, &ml) != 0)
        goto out;
    *modlen = ml;
    *explen = el;
    ok = true;
out:
    wc_FreeRsaKey(&key);
    return ok;
}

void
pki_thumbprint(const unsigned char *der, size_t len, char out[41])
{
    unsigned char h[WC_SHA_DIGEST_SIZE];

    wc_ShaHash(der, (word32)len, h);
    sim_hex_upper(h, sizeof(h), out);
}

void
pki_sha256(const void *data, size_t n, unsigned char out[32])
{
    wc_Sha256Hash(data, (word32)n, out);
}

/* ---- names and extensions ---- */

static void
name_attr(struct sim_buf *rdns, const char *oid, unsigned char strtag, const char *v)
{
    struct sim_buf atv = {0}, set = {0};

    der_oid(&atv, oid);
    der_tlv(&atv, strtag, v, strlen(v));
    der_wrap(&set, DER_SEQ, &atv);
    der_wrap(rdns, DER_SET, &set);
    if (atv.err || set.err)
        rdns->err = true;
    sim_buf_free(&atv, false);
    sim_buf_free(&set, false);
}

static void
name_build(struct sim_buf *name, const char *cn, bool msorg)
{
    struct sim_buf rdns = {0};

    if (msorg) {
        name_attr(&rdns, "0.9.2342.19200300.100.1.25", DER_IA5, "net");
        name_attr(&rdns, "0.9.2342.19200300.100.1.25", DER_IA5, "windows");
        name_attr(&rdns, "2.5.4.3", DER_UTF8, "MS-Organization-Access");
        name_attr(&rdns, "2.5.4.11", DER_UTF8, PKI_MSORG_OU);
    } else {
        name_attr(&rdns, "2.5.4.3", DER_UTF8, cn);
        name_attr(&rdns, "2.5.4.10", DER_UTF8, "linkjoin entra-sim test");
    }
    der_wrap(name, DER_SEQ, &rdns);
    sim_buf_free(&rdns, false);
}

static void
ext_add(struct sim_buf *exts, const char *oid, bool critical, const struct sim_buf *val)
{
    struct sim_buf e = {0};
    static const unsigned char t = 0xff;

    der_oid(&e, oid);
    if (critical)
        der_tlv(&e, DER_BOOLEAN, &t, 1);
    der_wrap(&e, DER_OCTETSTRING, val);
    der_wrap(exts, DER_SEQ, &e);
    sim_buf_free(&e, false);
}

/* Extension whose value is an OCTET STRING wrapping raw bytes (MS style). */
static void
ext_add_octets(struct sim_buf *exts, const char *oid, const void *v, size_t n)
{
    struct sim_buf val = {0};

    der_tlv(&val, DER_OCTETSTRING, v, n);
    ext_add(exts, oid, false, &val);
    sim_buf_free(&val, false);
}

static void
ext_basic(struct sim_buf *exts, bool ca)
{
    struct sim_buf in = {0}, val = {0};
    static const unsigned char t = 0xff;

    if (ca)
        der_tlv(&in, DER_BOOLEAN, &t, 1);
    der_wrap(&val, DER_SEQ, &in);
    ext_add(exts, "2.5.29.19", true, &val);
    sim_buf_free(&in, false);
    sim_buf_free(&val, false);
}

static void
ext_keyusage(struct sim_buf *exts, unsigned char bits, unsigned char unused)
{
    struct sim_buf val = {0};
    unsigned char bs[2] = {unused, bits};

    der_tlv(&val, DER_BITSTRING, bs, 2);
    ext_add(exts, "2.5.29.15", true, &val);
    sim_buf_free(&val, false);
}

static void
ext_eku(struct sim_buf *exts, const char *oid, bool critical)
{
    struct sim_buf in = {0}, val = {0};

    der_oid(&in, oid);
    der_wrap(&val, DER_SEQ, &in);
    ext_add(exts, "2.5.29.37", critical, &val);
    sim_buf_free(&in, false);
    sim_buf_free(&val, false);
}

/* SHA-1 of the subjectPublicKey bits (RFC 5280 key identifier method 1). */
static bool
key_id(const unsigned char *spki, size_t spki_len, unsigned char id[20])
{
    struct der it = {spki, spki_len}, seq, bits;

    if (!der_get(&it, DER_SEQ, &seq, NULL) || !der_get(&seq, DER_SEQ, NULL, NULL) ||
        !der_get(&seq, DER_BITSTRING, &bits, NULL) || bits.n < 1)
        return false;
    wc_ShaHash(bits.p + 1, (word32)(bits.n - 1), id);
    return true;
}

static void
ext_ski(struct sim_buf *exts, const unsigned char *spki, size_t spki_len)
{
    unsigned char id[20];
    struct sim_buf val = {0};

    if (!key_id(spki, spki_len, id)) {
        exts->err = true;
        return;
    }
    der_tlv(&val, DER_OCTETSTRING, id, sizeof(id));
    ext_add(exts, "2.5.29.14", false, &val);
    sim_buf_free(&val, false);
}

static void
ext_aki(struct sim_buf *exts, const unsigned char *spki, size_t spki_len)
{
    unsigned char id[20];
    struct sim_buf in = {0}, val = {0};

    if (!key_id(spki, spki_len, id)) {
        exts->err = true;
        return;
    }
    der_tlv(&in, 0x80, id, sizeof(id));
    der_wrap(&val, DER_SEQ, &in);
    ext_add(exts, "2.5.29.35", false, &val);
    sim_buf_free(&in, false);
    sim_buf_free(&val, false);
}

/*
 * Assemble and sign a certificate.  exts holds the concatenated Extension
 * SEQUENCEs (may be empty).
 */
static enum lj_rc
cert_build(struct pki_key *issuer, const struct sim_buf *issuer_name,
           const struct sim_buf *subject_name, const unsigned char *spki, size_t spki_len,
           time_t nb, time_t na, const struct sim_buf *exts, unsigned char **der, size_t *len)
{
    struct sim_buf tbs_in = {0}, tbs = {0}, alg = {0}, validity = {0}, extseq = {0}, ext0 = {0},
                   cert_in = {0}, cert = {0};
    unsigned char serial[16], sig[1024], bits[1025];
    size_t siglen = sizeof(sig);
    static const unsigned char v3[] = {0x02, 0x01, 0x02};
    enum lj_rc rc = LJ_ERR_CRYPTO;

    sim_random(serial, sizeof(serial));
    serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x01);
    der_oid(&alg, OID_SHA256_RSA);
    der_tlv(&alg, DER_NULL, "", 0);
    der_time(&validity, nb);
    der_time(&validity, na);

    der_tlv(&tbs_in, 0xa0, v3, sizeof(v3));
    der_uint(&tbs_in, serial, sizeof(serial));
    der_wrap(&tbs_in, DER_SEQ, &alg);
    sim_buf_add(&tbs_in, issuer_name->p, issuer_name->len);
    der_wrap(&tbs_in, DER_SEQ, &validity);
    sim_buf_add(&tbs_in, subject_name->p, subject_name->len);
    sim_buf_add(&tbs_in, spki, spki_len);
    if (exts != NULL && exts->len > 0) {
        der_wrap(&extseq, DER_SEQ, exts);
        der_wrap(&ext0, 0xa3, &extseq);
        sim_buf_add(&tbs_in, ext0.p, ext0.len);
    }
    der_wrap(&tbs, DER_SEQ, &tbs_in);
    if (tbs.err || issuer_name->err || subject_name->err || (exts != NULL && exts->err)) {
        rc = lj_err_set(LJ_ERR_INTERNAL, MOD, "event=cert_encode_failed");
        goto out;
    }
    rc = pki_key_sign(issuer, tbs.p, tbs.len, sig, &siglen);
    if (rc != LJ_OK)
        goto out;
    bits[0] = 0;
    memcpy(bits + 1, sig, siglen);
    sim_buf_add(&cert_in, tbs.p, tbs.len);
    der_wrap(&cert_in, DER_SEQ, &alg);
    der_tlv(&cert_in, DER_BITSTRING, bits, siglen + 1);
    der_wrap(&cert, DER_SEQ, &cert_in);
    if (cert.err) {
        rc = lj_err_set(LJ_ERR_NOMEM, MOD, "event=cert_encode_failed");
        goto out;
    }
    *len = cert.len;
    *der = (unsigned char *)sim_buf_take(&cert, NULL);
    rc = LJ_OK;
out:
    sim_buf_free(&tbs_in, false);
    sim_buf_free(&tbs, false);
    sim_buf_free(&alg, false);
    sim_buf_free(&validity, false);
    sim_buf_free(&extseq, false);
    sim_buf_free(&ext0, false);
    sim_buf_free(&cert_in, false);
    sim_buf_free(&cert, false);
    return rc;
}

enum lj_rc
pki_make_root(struct pki_key *key, const char *cn, bool msorg, unsigned char **der, size_t *len)
{
    struct sim_buf name = {0}, exts = {0};
    size_t spki_len;
    const unsigned char *spki = pki_key_spki(key, &spki_len);
    time_t now = time(NULL);
    enum lj_rc rc;

    name_build(&name, cn, msorg);
    ext_basic(&exts, true);
    ext_keyusage(&exts, 0x06, 1); /* keyCertSign | cRLSign */
    ext_ski(&exts, spki, spki_len);
    rc = cert_build(key, &name, &name, spki, spki_len, now - 3600, now + 20L * 365 * 86400, &exts,
                    der, len);
    sim_buf_free(&name, false);
    sim_buf_free(&exts, false);
    return rc;
}

enum lj_rc
pki_make_server(struct pki_key *ca_key, const unsigned char *ca_der, size_t ca_len,
                const unsigned char *srv_spki, size_t spki_len, unsigned char **der, size_t *len)
{
    static const char *const dns[] = {"login.microsoftonline.com",
                                      "enterpriseregistration.windows.net",
                                      "enrollment.manage.microsoft.com", "localhost"};
    static const unsigned char ip4[] = {127, 0, 0, 1};
    static const unsigned char ip6[16] = {[15] = 1};
    struct sim_buf subject = {0}, issuer = {0}, exts = {0}, names = {0}, san = {0};
    struct der ca_subject, ca_spki;
    size_t cspki_len;
    const unsigned char *cspki = pki_key_spki(ca_key, &cspki_len);
    time_t now = time(NULL);
    enum lj_rc rc;

    if (!pki_cert_parts(ca_der, ca_len, &ca_subject, &ca_spki))
        return lj_err_set(LJ_ERR_PARSE, MOD, "event=ca_cert_unreadable");
    sim_buf_add(&issuer, ca_subject.p, ca_subject.n);
    name_build(&subject, "login.microsoftonline.com", false);
    for (size_t i = 0; i < sizeof(dns) / sizeof(dns[0]); i++)
        der_tlv(&names, 0x82, dns[i], strlen(dns[i]));
    der_tlv(&names, 0x87, ip4, sizeof(ip4));
    der_tlv(&names, 0x87, ip6, sizeof(ip6));
    der_wrap(&san, DER_SEQ, &names);
    ext_basic(&exts, false);
    ext_keyusage(&exts, 0xa0, 5); /* digitalSignature | keyEncipherment */
    ext_eku(&exts, "1.3.6.1.5.5.7.3.1", false);
    ext_add(&exts, "2.5.29.17", false, &san);
    ext_ski(&exts, srv_spki, spki_len);
    ext_aki(&exts, cspki, cspki_len);
    rc = cert_build(ca_key, &issuer, &subject, srv_spki, spki_len, now - 3600,
                    now + 5L * 365 * 86400, &exts, der, len);
    sim_buf_free(&subject, false);
    sim_buf_free(&issuer, false);
    sim_buf_free(&exts, false);
    sim_buf_free(&names, false);
    sim_buf_free(&san, false);
    return rc;
}

enum lj_rc
pki_issue_device(struct pki_key *ca_key, const unsigned char *ca_der, size_t ca_len,
                 const char *device_id, const char *user_oid, const char *tenant_id, int join_type,
                 const char *region, const unsigned char *spki, size_t spki_len,
                 unsigned char **der, size_t *len)
{
    struct sim_buf subject = {0}, issuer = {0}, exts = {0};
    struct der ca_subject, ca_spki;
    unsigned char g[16], w[16];
    const char jt = join_type == 4 ? '0' : '1';
    time_t now = time(NULL);
    enum lj_rc rc = LJ_ERR_INVAL;

    if (!pki_cert_parts(ca_der, ca_len, &ca_subject, &ca_spki))
        return lj_err_set(LJ_ERR_PARSE, MOD, "event=drs_ca_cert_unreadable");
    sim_buf_add(&issuer, ca_subject.p, ca_subject.n);
    /* Device certificates carry only CN = device id. */
    {
        struct sim_buf rdns = {0};
        name_attr(&rdns, "2.5.4.3", DER_UTF8, device_id);
        der_wrap(&subject, DER_SEQ, &rdns);
        sim_buf_free(&rdns, false);
    }
    ext_basic(&exts, false);
    ext_eku(&exts, "1.3.6.1.5.5.7.3.2", true);
    if (!sim_guid_parse(device_id, g))
        goto out;
    sim_guid_windows_bytes(g, w);
    ext_add_octets(&exts, "1.2.840.113556.1.5.284.2", w, 16);
    if (!sim_guid_parse(user_oid, g))
        goto out;
    sim_guid_windows_bytes(g, w);
    ext_add_octets(&exts, "1.2.840.113556.1.5.284.3", w, 16);
    if (!sim_guid_parse(tenant_id, g))
        goto out;
    sim_guid_windows_bytes(g, w);
    ext_add_octets(&exts, "1.2.840.113556.1.5.284.5", w, 16);
    ext_add_octets(&exts, "1.2.840.113556.1.5.284.7", &jt, 1);
    ext_add_octets(&exts, "1.2.840.113556.1.5.284.8", region, strlen(region));
    rc = cert_build(ca_key, &issuer, &subject, spki, spki_len, now - 300, now + 10L * 365 * 86400,
                    &exts, der, len);
out:
    if (rc == LJ_ERR_INVAL)
        lj_err_set(rc, MOD, "event=device_cert_bad_guid");
    sim_buf_free(&subject, false);
    sim_buf_free(&issuer, false);
    sim_buf_free(&exts, false);
    return rc;
}

enum lj_rc
pki_make_intermediate(struct pki_key *ca_key, const unsigned char *ca_der, size_t ca_len,
                      struct pki_key *key, const char *cn, unsigned char **der, size_t *len)
{
    struct sim_buf subject = {0}, issuer = {0}, exts = {0}, in = {0}, val = {0};
    struct der ca_subject, ca_spki;
    size_t spki_len, cspki_len;
    const unsigned char *spki = pki_key_spki(key, &spki_len);
    const unsigned char *cspki = pki_key_spki(ca_key, &cspki_len);
    static const unsigned char t = 0xff;
    time_t now = time(NULL);
    enum lj_rc rc;

    if (!pki_cert_parts(ca_der, ca_len, &ca_subject, &ca_spki))
        return lj_err_set(LJ_ERR_PARSE, MOD, "event=ca_cert_unreadable");
    sim_buf_add(&issuer, ca_subject.p, ca_subject.n);
    name_build(&subject, cn, false);
    /* basicConstraints CA:TRUE, pathLenConstraint 0 */
    der_tlv(&in, DER_BOOLEAN, &t, 1);
    der_small_int(&in, 0);
    der_wrap(&val, DER_SEQ, &in);
    ext_add(&exts, "2.5.29.19", true, &val);
    ext_keyusage(&exts, 0x06, 1); /* keyCertSign | cRLSign */
    ext_ski(&exts, spki, spki_len);
    ext_aki(&exts, cspki, cspki_len);
    rc = cert_build(ca_key, &issuer, &subject, spki, spki_len, now - 3600, now + 10L * 365 * 86400,
                    &exts, der, len);
    sim_buf_free(&subject, false);
    sim_buf_free(&issuer, false);
    sim_buf_free(&exts, false);
    sim_buf_free(&in, false);
    sim_buf_free(&val, false);
    return rc;
}

enum lj_rc
pki_issue_mdm_client(struct pki_key *ca_key, const unsigned char *ca_der, size_t ca_len,
                     const char *cn, const unsigned char *spki, size_t spki_len,
                     unsigned char **der, size_t *len)
{
    struct sim_buf subject = {0}, issuer = {0}, exts = {0}, rdns = {0};
    struct der ca_subject, ca_spki;
    size_t cspki_len;
    const unsigned char *cspki = pki_key_spki(ca_key, &cspki_len);
    time_t now = time(NULL);
    enum lj_rc rc;

    if (!pki_cert_parts(ca_der, ca_len, &ca_subject, &ca_spki))
        return lj_err_set(LJ_ERR_PARSE, MOD, "event=mdm_ca_cert_unreadable");
    sim_buf_add(&issuer, ca_subject.p, ca_subject.n);
    name_attr(&rdns, "2.5.4.3", DER_UTF8, cn);
    der_wrap(&subject, DER_SEQ, &rdns);
    ext_basic(&exts, false);
    ext_keyusage(&exts, 0xa0, 5); /* digitalSignature | keyEncipherment */
    ext_eku(&exts, "1.3.6.1.5.5.7.3.2", false);
    ext_ski(&exts, spki, spki_len);
    ext_aki(&exts, cspki, cspki_len);
    rc = cert_build(ca_key, &issuer, &subject, spki, spki_len, now - 300, now + 365L * 86400, &exts,
                    der, len);
    sim_buf_free(&subject, false);
    sim_buf_free(&issuer, false);
    sim_buf_free(&exts, false);
    sim_buf_free(&rdns, false);
    return rc;
}

bool
pki_cert_parts(const unsigned char *der, size_t len, struct der *subject, struct der *spki)
{
    struct der it = {der, len}, cert, tbs;
    unsigned char tag;

    if (!der_get(&it, DER_SEQ, &cert, NULL) || it.n != 0 || !der_get(&cert, DER_SEQ, &tbs, NULL))
        return false;
    if (der_peek(&tbs, &tag) && tag == 0xa0 && !der_get(&tbs, 0xa0, NULL, NULL))
        return false;
    return der_get(&tbs, DER_INTEGER, NULL, NULL) && der_get(&tbs, DER_SEQ, NULL, NULL) &&
           der_get(&tbs, DER_SEQ, NULL, NULL) && der_get(&tbs, DER_SEQ, NULL, NULL) &&
           der_get(&tbs, DER_SEQ, NULL, subject) && der_get(&tbs, DER_SEQ, NULL, spki);
}

char *
pki_cert_pem(const unsigned char *der, size_t len)
{
    size_t cap = len * 2 + 128;
    unsigned char *pem = malloc(cap + 1);
    int n;

    if (pem == NULL)
        return NULL;
    n = wc_DerToPem(der, (word32)len, pem, (word32)cap, CERT_TYPE);
    if (n <= 0) {
        free(pem);
        return NULL;
    }
    pem[n] = '\0';
    return (char *)pem;
}

enum lj_rc
pki_cert_from_pem(const char *pem, size_t pemlen, unsigned char **der, size_t *len)
{
    unsigned char *buf = malloc(pemlen + 1);
    int n;

    if (buf == NULL)
        return lj_err_set(LJ_ERR_NOMEM, MOD, "event=pem_alloc_failed");
    n = wc_CertPemToDer((const unsigned char *)pem, (int)pemlen, buf, (int)pemlen, CERT_TYPE);
    if (n <= 0) {
        free(buf);
        return lj_err_set(LJ_ERR_PARSE, MOD, "event=pem_unreadable wolfssl=%d", n);
    }
    *der = buf;
    *len = (size_t)n;
    return LJ_OK;
}

#define WHY(...)                                                                                   \
    do {                                                                                           \
        snprintf(why, whysz, __VA_ARGS__);                                                         \
        goto out;                                                                                  \
    } while (0)

bool
pki_csr_check(const unsigned char *der, size_t len, const char *want_cn, struct der *spki_out,
              char *why, size_t whysz)
{
    struct der it = {der, len}, csr, cri, cri_whole, ver, name, rdn, atv, oid, val, spki, spki_in,
               keyalg, alg, algoid, sig, attrs;
    unsigned char tag, mod[1024], exp[16];
    size_t ml = 0, el = 0;
    bool ok = false;

    if (!der_get(&it, DER_SEQ, &csr, NULL) || it.n != 0)
        WHY("not a DER SEQUENCE (or trailing bytes)");
    if (!der_get(&csr, DER_SEQ, &cri, &cri_whole))
        WHY("certificationRequestInfo missing");
    if (!der_get(&csr, DER_SEQ, &alg, NULL))
        WHY("signatureAlgorithm missing");
    if (!der_get(&csr, DER_BITSTRING, &sig, NULL) || csr.n != 0)
        WHY("signature missing or trailing data");
    if (!der_get(&cri, DER_INTEGER, &ver, NULL) || ver.n != 1 || ver.p[0] != 0)
        WHY("version must be 0");
    if (!der_get(&cri, DER_SEQ, &name, NULL))
        WHY("subject missing");
    if (!der_get(&cri, DER_SEQ, &spki_in, &spki))
        WHY("subjectPublicKeyInfo missing");
    if (!der_get(&cri, 0xa0, &attrs, NULL) || cri.n != 0)
        WHY("attributes [0] missing or trailing data");
    /* Subject: exactly one RDN with one CN (any Name when want_cn is NULL). */
    if (want_cn == NULL)
        goto key;
    if (!der_get(&name, DER_SET, &rdn, NULL) || name.n != 0)
        WHY("subject must be exactly CN=%s", want_cn);
    if (!der_get(&rdn, DER_SEQ, &atv, NULL) || rdn.n != 0 || !der_get(&atv, DER_OID, &oid, NULL) ||
        !der_oid_is(&oid, "2.5.4.3") || !der_peek(&atv, &tag) ||
        (tag != DER_UTF8 && tag != DER_PRINTABLE) || !der_get(&atv, tag, &val, NULL) || atv.n != 0)
        WHY("subject must be exactly CN=%s", want_cn);
    if (val.n != strlen(want_cn) || strncasecmp((const char *)val.p, want_cn, val.n) != 0)
        WHY("subject CN must be %s", want_cn);
key:
    /* Key: RSA. */
    if (!der_get(&spki_in, DER_SEQ, &keyalg, NULL) || !der_get(&keyalg, DER_OID, &oid, NULL) ||
        !der_oid_is(&oid, OID_RSA))
        WHY("public key must be RSA");
    if (!pki_spki_rsa(spki.p, spki.n, mod, &ml, exp, &el))
        WHY("public key unreadable");
    if (ml < 256 || ml > 512 || (mod[0] & 0x80) == 0)
        WHY("RSA key must be 2048 to 4096 bits");
    /* Signature algorithm: sha256WithRSAEncryption, NULL or absent params. */
    if (!der_get(&alg, DER_OID, &algoid, NULL) || !der_oid_is(&algoid, OID_SHA256_RSA))
        WHY("signature algorithm must be sha256WithRSAEncryption");
    if (alg.n != 0 && (!der_get(&alg, DER_NULL, &val, NULL) || val.n != 0 || alg.n != 0))
        WHY("signature algorithm parameters must be NULL");
    if (sig.n < 2 || sig.p[0] != 0)
        WHY("signature BIT STRING malformed");
    if (!pki_rs256_verify(spki.p, spki.n, cri_whole.p, cri_whole.n, sig.p + 1, sig.n - 1))
        WHY("signature does not verify with the request's public key");
    *spki_out = spki;
    ok = true;
out:
    return ok;
}

static uint32_t
le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

bool
pki_rsa1_check(const unsigned char *b, size_t n, char *why, size_t whysz)
{
    uint32_t magic, bits, cbexp, cbmod, p1, p2;
    bool ok = false;

    if (n < 24)
        WHY("blob shorter than its 24-byte header");
    magic = le32(b);
    bits = le32(b + 4);
    cbexp = le32(b + 8);
    cbmod = le32(b + 12);
    p1 = le32(b + 16);
    p2 = le32(b + 20);
    if (magic != 0x31415352u)
        WHY("magic is not RSA1 (0x31415352)");
    if (bits < 2048 || bits > 4096 || bits % 8 != 0)
        WHY("BitLength %u not in 2048..4096", bits);
    if (cbmod != bits / 8)
        WHY("cbModulus %u does not match BitLength %u", cbmod, bits);
    if (cbexp < 1 || cbexp > 8)
        WHY("cbPublicExp %u out of range", cbexp);
    if (p1 != 0 || p2 != 0)
        WHY("cbPrime1/cbPrime2 must be 0 in a public blob");
    if (n != 24 + (size_t)cbexp + cbmod)
        WHY("blob length %zu, header says %zu", n, 24 + (size_t)cbexp + cbmod);
    if (b[24] == 0)
        WHY("public exponent has a leading zero byte");
    if ((b[24 + cbexp - 1] & 1) == 0)
        WHY("public exponent is even");
    if ((b[24 + cbexp] & 0x80) == 0)
        WHY("modulus is shorter than BitLength (big-endian, top bit clear)");
    ok = true;
out:
    return ok;
}
