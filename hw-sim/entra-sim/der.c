/*
 * der.c — see der.h.  Only the subset of X.690 DER that entra-sim needs:
 * single-byte tags, lengths up to 4 bytes.
 */
#include "hw-sim/entra-sim/der.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void
der_hdr(struct sim_buf *b, unsigned char tag, size_t n)
{
    unsigned char h[6];
    size_t hl = 0;

    h[hl++] = tag;
    if (n < 0x80) {
        h[hl++] = (unsigned char)n;
    } else if (n <= 0xff) {
        h[hl++] = 0x81;
        h[hl++] = (unsigned char)n;
    } else if (n <= 0xffff) {
        h[hl++] = 0x82;
        h[hl++] = (unsigned char)(n >> 8);
        h[hl++] = (unsigned char)n;
    } else if (n <= 0xffffff) {
        h[hl++] = 0x83;
        h[hl++] = (unsigned char)(n >> 16);
        h[hl++] = (unsigned char)(n >> 8);
        h[hl++] = (unsigned char)n;
    } else {
        b->err = true;
        return;
    }
    sim_buf_add(b, h, hl);
}

void
der_tlv(struct sim_buf *b, unsigned char tag, const void *v, size_t n)
{
    der_hdr(b, tag, n);
    sim_buf_add(b, v, n);
}

void
der_wrap(struct sim_buf *out, unsigned char tag, const struct sim_buf *in)
{
    if (in->err) {
        out->err = true;
        return;
    }
    der_tlv(out, tag, in->p, in->len);
}

static bool
oid_encode(const char *dotted, unsigned char *out, size_t *outlen)
{
    unsigned long arcs[32];
    size_t na = 0, o = 0;
    const char *s = dotted;

    while (*s != '\0') {
        char *end;
        unsigned long v;
        if (na >= 32 || *s < '0' || *s > '9')
            return false;
        v = strtoul(s, &end, 10);
        arcs[na++] = v;
        s = end;
        if (*s == '.')
            s++;
        else if (*s != '\0')
            return false;
    }
    if (na < 2 || arcs[0] > 2)
        return false;
    arcs[1] += arcs[0] * 40;
    for (size_t i = 1; i < na; i++) {
        unsigned char tmp[10];
        size_t tl = 0;
        unsigned long v = arcs[i];
        do {
            tmp[tl++] = (unsigned char)(v & 0x7f);
            v >>= 7;
        } while (v != 0);
        if (o + tl > *outlen)
            return false;
        while (tl > 0) {
            tl--;
            out[o++] = (unsigned char)(tmp[tl] | (tl > 0 ? 0x80 : 0));
        }
    }
    *outlen = o;
    return true;
}

void
der_oid(struct sim_buf *b, const char *dotted)
{
    unsigned char enc[64];
    size_t n = sizeof(enc);

    if (!oid_encode(dotted, enc, &n)) {
        b->err = true;
        return;
    }
    der_tlv(b, DER_OID, enc, n);
}

bool
der_oid_is(const struct der *oid, const char *dotted)
{
    unsigned char enc[64];
    size_t n = sizeof(enc);

    return oid_encode(dotted, enc, &n) && n == oid->n && memcmp(enc, oid->p, n) == 0;
}

void
der_uint(struct sim_buf *b, const unsigned char *v, size_t n)
{
    while (n > 1 && v[0] == 0) {
        v++;
        n--;
    }
    if (n > 0 && (v[0] & 0x80) != 0) {
        unsigned char zero = 0;
        der_hdr(b, DER_INTEGER, n + 1);
        sim_buf_add(b, &zero, 1);
        sim_buf_add(b, v, n);
        return;
    }
    der_tlv(b, DER_INTEGER, v, n);
}

void
der_small_int(struct sim_buf *b, unsigned long v)
{
    unsigned char be[8];

    for (int i = 7; i >= 0; i--) {
        be[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
    der_uint(b, be, sizeof(be));
}

void
der_time(struct sim_buf *b, time_t t)
{
    struct tm tm;
    char s[20];
    size_t n;

    gmtime_r(&t, &tm);
    if (tm.tm_year + 1900 < 2050) {
        n = strftime(s, sizeof(s), "%Y%m%d%H%M%SZ", &tm);
        der_tlv(b, DER_UTCTIME, s + 2, n - 2);
    } else {
        n = strftime(s, sizeof(s), "%Y%m%d%H%M%SZ", &tm);
        der_tlv(b, DER_GENTIME, s, n);
    }
}

bool
der_peek(const struct der *it, unsigned char *tag)
{
    if (it->n < 2)
        return false;
    *tag = it->p[0];
    return true;
}

bool
der_get(struct der *it, unsigned char tag, struct der *content, struct der *whole)
{
    size_t len, hl;

    if (it->n < 2 || it->p[0] != tag)
        return false;
    if (it->p[1] < 0x80) {
        len = it->p[1];
        hl = 2;
    } else {
        size_t nb = it->p[1] & 0x7f;
        if (nb == 0 || nb > 4 || it->n < 2 + nb || it->p[2] == 0)
            return false;
        len = 0;
        for (size_t i = 0; i < nb; i++)
            len = len << 8 | it->p[2 + i];
        if (len < 0x80)
            return false; /* not minimal */
        hl = 2 + nb;
    }
    if (len > it->n - hl)
        return false;
    if (content != NULL) {
        content->p = it->p + hl;
        content->n = len;
    }
    if (whole != NULL) {
        whole->p = it->p;
        whole->n = hl + len;
    }
    it->p += hl + len;
    it->n -= hl + len;
    return true;
}
