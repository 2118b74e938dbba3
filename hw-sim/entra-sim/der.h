/*
 * der.h — a minimal DER writer and a strict DER reader, enough for the
 * certificates entra-sim issues and the PKCS#10 requests it checks.
 *
 * The writer appends to a struct sim_buf (errors are sticky in buf.err).
 * The reader walks borrowed memory: every element must have a definite,
 * minimally encoded length that fits in what is left, so a truncated or
 * lying input fails instead of reading past its end.
 */
#ifndef LJ_SIM_DER_H
#define LJ_SIM_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "hw-sim/entra-sim/util.h"

#define DER_BOOLEAN 0x01
#define DER_INTEGER 0x02
#define DER_BITSTRING 0x03
#define DER_OCTETSTRING 0x04
#define DER_NULL 0x05
#define DER_OID 0x06
#define DER_UTF8 0x0c
#define DER_PRINTABLE 0x13
#define DER_IA5 0x16
#define DER_UTCTIME 0x17
#define DER_GENTIME 0x18
#define DER_SEQ 0x30
#define DER_SET 0x31

/* Append tag, length and n content bytes. */
void der_tlv(struct sim_buf *b, unsigned char tag, const void *v, size_t n);
/* Append tag and length with in's bytes as content. */
void der_wrap(struct sim_buf *out, unsigned char tag, const struct sim_buf *in);
/* Append an OBJECT IDENTIFIER from dotted text ("1.2.840.113549.1.1.11"). */
void der_oid(struct sim_buf *b, const char *dotted);
/* Append a non-negative INTEGER from big-endian bytes (adds a 0 pad byte). */
void der_uint(struct sim_buf *b, const unsigned char *v, size_t n);
/* Append an INTEGER holding a small non-negative value. */
void der_small_int(struct sim_buf *b, unsigned long v);
/* Append UTCTime (before 2050) or GeneralizedTime. */
void der_time(struct sim_buf *b, time_t t);

/* A borrowed span of DER. */
struct der {
    const unsigned char *p;
    size_t n;
};

/*
 * Read the next element of it with the given tag.  On success content
 * (optional) gets its value, whole (optional) the full TLV, and it moves
 * past it.  Fails on a different tag or a bad/overlong length.
 */
bool der_get(struct der *it, unsigned char tag, struct der *content, struct der *whole);
/* The tag of the next element, false at the end. */
bool der_peek(const struct der *it, unsigned char *tag);
/* true when the content equals the DER encoding of dotted. */
bool der_oid_is(const struct der *oid, const char *dotted);

#endif
