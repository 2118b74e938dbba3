/*
 * mdm_provdoc.c — the enrollment answer: the MS-WSTEP
 * RequestSecurityTokenResponseCollection and the wap-provisioningdoc inside
 * it (MS-MDE2 XML provisioning schema).  The document is base64-decoded and
 * loaded with the same hardened loader as the envelope.  What it delivers is
 * stored forever and used for TLS client authentication, so it is verified
 * hard (key, chain, validity, EKU, thumbprints, provider) and each refusal
 * has its own mdm_reject name.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/openssl/x509v3.h>
#include <wolfssl/wolfcrypt/hash.h>

#include "agent/proto/mdm_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libxml/tree.h>

#include "platform/common/b64.h"
#include "platform/common/log.h"

/* ---- enrollment answer: the provisioning document ---- */

enum cert_role { ROLE_ROOT, ROLE_CA, ROLE_CLIENT };

struct pcert {
    enum cert_role role;
    unsigned char *der;
    size_t len;
    char type[64]; /* the characteristic type (thumbprint) */
    WOLFSSL_X509 *x;
};

struct pdoc {
    struct pcert certs[MDM_MAX_CERTS];
    size_t n;
    size_t clients;
    char client_store[8];
    char addr[MDM_MAX_URL];
    char provider[128];
    char name[256];
    char dm_provider[128];
    bool have_w7;
};

static void
pdoc_free(struct pdoc *d)
{
    for (size_t i = 0; i < d->n; i++) {
        wolfSSL_X509_free(d->certs[i].x);
        free(d->certs[i].der);
    }
    memset(d, 0, sizeof(*d));
}

static bool
char_type(xmlNodePtr n, const char *type)
{
    const xmlChar *t;

    if (!mdm_is_el(n, ns_none, "characteristic"))
        return false;
    t = mdm_attr_raw(n, "type", NULL);
    return t != NULL && xmlStrEqual(t, (const xmlChar *)type);
}

/* parm name=... value=... of a characteristic; NULL when absent. */
static const xmlChar *
parm_value(xmlNodePtr c, const char *name)
{
    for (xmlNodePtr n = c->children; n != NULL; n = n->next) {
        const xmlChar *nm;

        if (!mdm_is_el(n, ns_none, "parm"))
            continue;
        nm = mdm_attr_raw(n, "name", NULL);
        if (nm != NULL && xmlStrEqual(nm, (const xmlChar *)name))
            return mdm_attr_raw(n, "value", NULL);
    }
    return NULL;
}

/* Strict base64 with XML whitespace removed. */
static bool
b64_ws(const char *s, size_t max_out, unsigned char **out, size_t *outlen)
{
    size_t n = strlen(s), k = 0;
    char *t = malloc(n + 1);
    bool ok;

    if (t == NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strchr(" \t\r\n", s[i]) == NULL)
            t[k++] = s[i];
    t[k] = '\0';
    /* decoded size is at most 3/4 of the text: refuse early */
    ok = k > 0 && k / 4 * 3 <= max_out + 3 && lj_b64_decode(t, k, LJ_B64_STD, out, outlen);
    free(t);
    if (ok && *outlen > max_out) {
        free(*out);
        *out = NULL;
        ok = false;
    }
    return ok;
}

/* Certificates of one store (Root, CA or My) under a CertificateStore. */
static enum mdm_reject
pdoc_store(struct pdoc *d, xmlNodePtr store, enum cert_role role)
{
    for (xmlNodePtr loc = store->children; loc != NULL; loc = loc->next) {
        const xmlChar *lt;

        if (!mdm_is_el(loc, ns_none, "characteristic"))
            continue;
        lt = mdm_attr_raw(loc, "type", NULL);
        if (lt == NULL)
            return MDM_REJECT_PROVDOC;
        /* My/WSTEP (renewal settings) and the like carry no certificates. */
        if (role == ROLE_CLIENT && !xmlStrEqual(lt, (const xmlChar *)"System") &&
            !xmlStrEqual(lt, (const xmlChar *)"User"))
            continue;
        for (xmlNodePtr c = loc->children; c != NULL; c = c->next) {
            const xmlChar *ct, *val;
            struct pcert *pc;

            if (!mdm_is_el(c, ns_none, "characteristic"))
                continue;
            ct = mdm_attr_raw(c, "type", NULL);
            val = parm_value(c, "EncodedCertificate");
            if (val == NULL)
                continue; /* PrivateKeyContainer and other settings */
            if (ct == NULL || xmlStrlen(ct) == 0 || xmlStrlen(ct) >= 64)
                return MDM_REJECT_PROVDOC;
            if (d->n >= MDM_MAX_CERTS)
                return MDM_REJECT_TOO_MANY_CERTS;
            pc = &d->certs[d->n];
            memset(pc, 0, sizeof(*pc));
            if (!b64_ws((const char *)val, MDM_MAX_CERT, &pc->der, &pc->len) || pc->len == 0)
                return MDM_REJECT_BASE64;
            d->n++;
            pc->role = role;
            snprintf(pc->type, sizeof(pc->type), "%s", (const char *)ct);
            if (role == ROLE_CLIENT) {
                d->clients++;
                snprintf(d->client_store, sizeof(d->client_store), "%s", (const char *)lt);
            }
        }
    }
    return MDM_REJECT_NONE;
}

static enum mdm_reject
pdoc_walk(xmlDocPtr doc, struct pdoc *d)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    enum mdm_reject r;
    const xmlChar *v;

    if (!mdm_is_el(root, ns_none, "wap-provisioningdoc"))
        return MDM_REJECT_PROVDOC;
    for (xmlNodePtr top = root->children; top != NULL; top = top->next) {
        if (char_type(top, "CertificateStore")) {
            for (xmlNodePtr s = top->children; s != NULL; s = s->next) {
                enum cert_role role;

                if (char_type(s, "Root"))
                    role = ROLE_ROOT;
                else if (char_type(s, "CA"))
                    role = ROLE_CA;
                else if (char_type(s, "My"))
                    role = ROLE_CLIENT;
                else
                    continue;
                if ((r = pdoc_store(d, s, role)) != MDM_REJECT_NONE)
                    return r;
            }
        } else if (char_type(top, "APPLICATION")) {
            v = parm_value(top, "APPID");
            if (v == NULL || !xmlStrEqual(v, (const xmlChar *)"w7"))
                continue;
            if (d->have_w7)
                return MDM_REJECT_PROVDOC; /* two DM server accounts */
            d->have_w7 = true;
            if ((v = parm_value(top, "ADDR")) == NULL)
                return MDM_REJECT_MISSING;
            if (xmlStrlen(v) >= (int)sizeof(d->addr) || !mdm_ok_url((const char *)v))
                return MDM_REJECT_BAD_URL;
            snprintf(d->addr, sizeof(d->addr), "%s", (const char *)v);
            v = parm_value(top, "PROVIDER-ID");
            if (v == NULL || xmlStrlen(v) >= (int)sizeof(d->provider) ||
                !mdm_ok_text((const char *)v, sizeof(d->provider) - 1))
                return MDM_REJECT_PROVIDER;
            snprintf(d->provider, sizeof(d->provider), "%s", (const char *)v);
            v = parm_value(top, "NAME");
            if (v != NULL && v[0] != '\0') {
                if (!mdm_ok_text((const char *)v, sizeof(d->name) - 1))
                    return MDM_REJECT_BAD_VALUE;
                snprintf(d->name, sizeof(d->name), "%s", (const char *)v);
            }
        } else if (char_type(top, "DMClient")) {
            for (xmlNodePtr p = top->children; p != NULL; p = p->next) {
                if (!char_type(p, "Provider"))
                    continue;
                for (xmlNodePtr q = p->children; q != NULL; q = q->next) {
                    if (!mdm_is_el(q, ns_none, "characteristic") ||
                        (v = mdm_attr_raw(q, "type", NULL)) == NULL)
                        continue;
                    if (d->dm_provider[0] != '\0' || xmlStrlen(v) >= (int)sizeof(d->dm_provider))
                        return MDM_REJECT_PROVIDER;
                    snprintf(d->dm_provider, sizeof(d->dm_provider), "%s", (const char *)v);
                }
            }
        }
    }
    if (!d->have_w7)
        return MDM_REJECT_MISSING;
    if (d->dm_provider[0] != '\0' && strcmp(d->dm_provider, d->provider) != 0)
        return MDM_REJECT_PROVIDER;
    if (d->clients != 1)
        return MDM_REJECT_NO_CLIENT_CERT;
    return MDM_REJECT_NONE;
}

static bool
is_hex40(const char *s)
{
    if (strlen(s) != 40)
        return false;
    for (int i = 0; i < 40; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

static bool
sha1_hex(const unsigned char *der, size_t len, char out[41])
{
    unsigned char h[WC_SHA_DIGEST_SIZE];

    if (wc_ShaHash(der, (word32)len, h) != 0)
        return false;
    for (size_t i = 0; i < sizeof(h); i++)
        snprintf(out + 2 * i, 3, "%02X", h[i]);
    return true;
}

/* notBefore <= now + skew and notAfter > now - skew. */
static bool
in_window(WOLFSSL_X509 *x, long long now)
{
    time_t lo = (time_t)(now - MDM_CLOCK_SKEW), hi = (time_t)(now + MDM_CLOCK_SKEW);
    const WOLFSSL_ASN1_TIME *nb = wolfSSL_X509_get_notBefore(x);
    const WOLFSSL_ASN1_TIME *na = wolfSSL_X509_get_notAfter(x);

    return nb != NULL && na != NULL && wolfSSL_X509_cmp_time(nb, &hi) == -1 &&
           wolfSSL_X509_cmp_time(na, &lo) == 1;
}

/* issuer signed x (names chain and the signature verifies). */
static bool
signed_by(WOLFSSL_X509 *x, WOLFSSL_X509 *issuer)
{
    WOLFSSL_EVP_PKEY *k;
    bool ok;

    if (wolfSSL_X509_NAME_cmp(wolfSSL_X509_get_issuer_name(x),
                              wolfSSL_X509_get_subject_name(issuer)) != 0)
        return false;
    k = wolfSSL_X509_get_pubkey(issuer);
    if (k == NULL)
        return false;
    ok = wolfSSL_X509_verify(x, k) == WOLFSSL_SUCCESS;
    wolfSSL_EVP_PKEY_free(k);
    return ok;
}

static bool
fill_cert(struct mdm_cert *c, const struct pcert *p)
{
    memset(c, 0, sizeof(*c));
    c->der = malloc(p->len);
    if (c->der == NULL)
        return false;
    memcpy(c->der, p->der, p->len);
    c->len = p->len;
    if (!sha1_hex(p->der, p->len, c->thumbprint))
        return false;
    wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_subject_name(p->x), c->subject, sizeof(c->subject));
    wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_issuer_name(p->x), c->issuer, sizeof(c->issuer));
    return true;
}

/* Verify the parsed document's certificates; fill the result's certificates. */
static enum mdm_reject
pdoc_verify(struct pdoc *d, const struct mdm_enroll_verify *v, struct mdm_enrollment *e)
{
    long long now = v->now ? v->now : (long long)time(NULL);
    struct pcert *client = NULL;
    size_t used[MDM_MAX_CERTS];
    size_t nused = 0;
    unsigned char spki[4096];
    int spkilen = sizeof(spki);
    unsigned int eku;

    for (size_t i = 0; i < d->n; i++) {
        struct pcert *p = &d->certs[i];
        const unsigned char *der2;
        char thumb[41];
        int dl = 0;

        p->x = wolfSSL_X509_load_certificate_buffer(p->der, (int)p->len, WOLFSSL_FILETYPE_ASN1);
        der2 = p->x ? wolfSSL_X509_get_der(p->x, &dl) : NULL;
        if (p->x == NULL || der2 == NULL || (size_t)dl != p->len)
            return MDM_REJECT_X509; /* includes trailing bytes after the certificate */
        if (!sha1_hex(p->der, p->len, thumb))
            return MDM_REJECT_X509;
        if (is_hex40(p->type) && strcasecmp(p->type, thumb) != 0)
            return MDM_REJECT_THUMBPRINT;
        if (!in_window(p->x, now))
            return MDM_REJECT_VALIDITY;
        if (p->role == ROLE_CLIENT)
            client = p;
    }
    if (client == NULL)
        return MDM_REJECT_NO_CLIENT_CERT;
    if (wolfSSL_X509_get_pubkey_buffer(client->x, spki, &spkilen) != WOLFSSL_SUCCESS ||
        !drs_key_matches(&v->key, spki, (size_t)spkilen))
        return MDM_REJECT_KEY_MISMATCH;
    eku = wolfSSL_X509_get_extended_key_usage(client->x); /* XKU_* bits; 0 = no EKU */
    if (eku != 0 && (eku & (XKU_SSL_CLIENT | XKU_ANYEKU)) == 0)
        return MDM_REJECT_EKU;
    /* client -> issuers -> a self-signed certificate from the Root store */
    for (struct pcert *cur = client;;) {
        struct pcert *next = NULL;

        if (cur != client && signed_by(cur->x, cur->x)) {
            if (cur->role != ROLE_ROOT)
                return MDM_REJECT_CHAIN;
            break;
        }
        for (size_t i = 0; i < d->n && next == NULL; i++) {
            struct pcert *c = &d->certs[i];
            bool seen = false;

            if (c->role == ROLE_CLIENT)
                continue;
            for (size_t k = 0; k < nused; k++)
                seen = seen || used[k] == i;
            if (!seen && wolfSSL_X509_get_isCA(c->x) == 1 && signed_by(cur->x, c->x))
                next = c;
        }
        if (next == NULL || nused >= MDM_MAX_CERTS)
            return MDM_REJECT_CHAIN;
        used[nused++] = (size_t)(next - d->certs);
        cur = next;
    }
    if (!fill_cert(&e->client, client))
        return MDM_REJECT_X509;
    for (size_t i = 0; i < nused; i++) {
        if (!fill_cert(&e->chain[i], &d->certs[used[i]]))
            return MDM_REJECT_X509;
        e->chain_len = i + 1;
    }
    return MDM_REJECT_NONE;
}

void
mdm_enrollment_free(struct mdm_enrollment *e)
{
    if (e == NULL)
        return;
    free(e->client.der);
    for (size_t i = 0; i < e->chain_len && i < MDM_MAX_CERTS; i++)
        free(e->chain[i].der);
    free(e->provdoc);
    memset(e, 0, sizeof(*e));
}

enum lj_rc
mdm_enroll_parse(const char *body, size_t len, const struct mdm_enroll_verify *v,
                 struct mdm_enrollment *out, enum mdm_reject *why)
{
    struct mdm_enrollment *e = NULL;
    struct pdoc *d = NULL;
    xmlDocPtr doc = NULL, pdoc = NULL;
    xmlNodePtr coll = NULL, rstr, n, bst;
    char tt[256];
    const xmlChar *vt;
    unsigned char *decoded = NULL;
    size_t declen = 0;
    xmlChar *b64 = NULL;
    enum mdm_reject r;

    if (out == NULL || v == NULL)
        return LJ_ERR_INVAL;
    e = calloc(1, sizeof(*e));
    d = calloc(1, sizeof(*d));
    if (e == NULL || d == NULL) {
        free(e);
        free(d);
        return LJ_ERR_NOMEM;
    }
    if ((r = mdm_xml_load(body, len, MDM_MAX_BODY, &doc)) != MDM_REJECT_NONE ||
        (r = mdm_soap_open(doc, v->message_id, &coll, e->activity_id, sizeof(e->activity_id))) !=
            MDM_REJECT_NONE)
        goto out;
    if (!mdm_is_el(coll, ns_wst, "RequestSecurityTokenResponseCollection") ||
        (rstr = mdm_child(coll, ns_wst, "RequestSecurityTokenResponse")) == NULL) {
        r = MDM_REJECT_MISSING;
        goto out;
    }
    n = mdm_child(rstr, ns_wst, "TokenType");
    if (n == NULL) {
        r = MDM_REJECT_MISSING;
        goto out;
    }
    if (!mdm_node_text(n, tt, sizeof(tt)) || strcmp(tt, TT_ENROLL) != 0) {
        r = MDM_REJECT_TOKEN_TYPE;
        goto out;
    }
    bst = mdm_child(mdm_child(rstr, ns_wst, "RequestedSecurityToken"), ns_wsse,
                    "BinarySecurityToken");
    if (bst == NULL) {
        r = MDM_REJECT_MISSING;
        goto out;
    }
    vt = mdm_attr_raw(bst, "ValueType", NS_WSSE);
    if (vt == NULL || (!xmlStrEqual(vt, (const xmlChar *)VT_PROVDOC) &&
                       !xmlStrEqual(vt, (const xmlChar *)VT_PROVDOC_OLD))) {
        r = MDM_REJECT_TOKEN_TYPE;
        goto out;
    }
    if (mdm_first_element(bst) != NULL || (b64 = xmlNodeGetContent(bst)) == NULL) {
        r = MDM_REJECT_BAD_VALUE;
        goto out;
    }
    if (!b64_ws((const char *)b64, MDM_MAX_PROVDOC, &decoded, &declen)) {
        /* a document over the ceiling is TOO_BIG, not bad base64 */
        size_t k = 0;

        for (const xmlChar *p = b64; *p != '\0'; p++)
            k += strchr(" \t\r\n", *p) == NULL;
        r = k / 4 * 3 > MDM_MAX_PROVDOC + 3 ? MDM_REJECT_TOO_BIG : MDM_REJECT_BASE64;
        goto out;
    }
    r = mdm_xml_load((const char *)decoded, declen, MDM_MAX_PROVDOC, &pdoc);
    if (r == MDM_REJECT_EMPTY)
        r = MDM_REJECT_PROVDOC;
    if (r != MDM_REJECT_NONE)
        goto out;
    if ((r = pdoc_walk(pdoc, d)) != MDM_REJECT_NONE ||
        (r = pdoc_verify(d, v, e)) != MDM_REJECT_NONE)
        goto out;
    snprintf(e->client_store, sizeof(e->client_store), "%s", d->client_store);
    snprintf(e->mgmt_url, sizeof(e->mgmt_url), "%s", d->addr);
    snprintf(e->provider_id, sizeof(e->provider_id), "%s", d->provider);
    snprintf(e->server_name, sizeof(e->server_name), "%s", d->name);
    e->provdoc = (char *)decoded;
    e->provdoc_len = declen;
    decoded = NULL;
    lj_log(LJ_LOG_INFO, MOD, "event=enrolled thumbprint=%s chain=%zu server=%s provider=%s",
           e->client.thumbprint, e->chain_len, e->mgmt_url, e->provider_id);
    *out = *e;
    memset(e, 0, sizeof(*e)); /* ownership moved to *out */
    r = MDM_REJECT_NONE;
out:
    xmlFree(b64);
    free(decoded);
    xmlFreeDoc(pdoc);
    xmlFreeDoc(doc);
    pdoc_free(d);
    free(d);
    mdm_enrollment_free(e);
    free(e);
    return mdm_refuse("enrollment", r, why);
}
