/*
 * pem.c — PEM armour (see pem.h).
 */
#include "tpm/pem.h"

#include <stdlib.h>
#include <string.h>

#include "platform/common/b64.h"

#define PEM_LINE 64

char *
tpm_pem_encode(const char *label, const unsigned char *der, size_t len)
{
    static const char begin[] = "-----BEGIN ", end[] = "-----END ", dashes[] = "-----\n";
    char *b64 = NULL, *pem = NULL, *p;
    size_t b64_len = 0, label_len, lines, cap;

    if (label == NULL || (der == NULL && len > 0))
        return NULL;
    label_len = strlen(label);
    if (label_len == 0 || label_len > 64)
        return NULL;
    b64 = lj_b64_encode(der, len, LJ_B64_STD, &b64_len);
    if (b64 == NULL)
        goto out;
    lines = (b64_len + PEM_LINE - 1) / PEM_LINE;
    cap = 2 * (sizeof(begin) + label_len + sizeof(dashes)) + b64_len + lines + 1;
    pem = malloc(cap);
    if (pem == NULL)
        goto out;
    p = pem;
    memcpy(p, begin, sizeof(begin) - 1);
    p += sizeof(begin) - 1;
    memcpy(p, label, label_len);
    p += label_len;
    memcpy(p, dashes, sizeof(dashes) - 1);
    p += sizeof(dashes) - 1;
    for (size_t off = 0; off < b64_len; off += PEM_LINE) {
        size_t n = b64_len - off < PEM_LINE ? b64_len - off : PEM_LINE;
        memcpy(p, b64 + off, n);
        p += n;
        *p++ = '\n';
    }
    memcpy(p, end, sizeof(end) - 1);
    p += sizeof(end) - 1;
    memcpy(p, label, label_len);
    p += label_len;
    memcpy(p, dashes, sizeof(dashes) - 1);
    p += sizeof(dashes) - 1;
    *p = '\0';
out:
    free(b64);
    return pem;
}
