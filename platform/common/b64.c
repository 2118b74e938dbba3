/*
 * b64.c — strict base64 codecs.  Decoding rejects non-canonical trailing bits
 * so that two different strings never decode to the same bytes.
 */
#include "platform/common/b64.h"

#include <stdint.h>
#include <stdlib.h>

static const char std_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
lj_b64_encode(const void *data, size_t len, enum lj_b64_alphabet alph, size_t *out_len)
{
    const unsigned char *in = data;
    const char *tab = alph == LJ_B64_URL ? url_chars : std_chars;
    size_t cap, o = 0, i = 0;
    char *out;

    if (len > (SIZE_MAX - 4) / 4 * 3)
        return NULL;
    cap = (len + 2) / 3 * 4 + 1;
    out = malloc(cap);
    if (out == NULL)
        return NULL;
    while (i + 3 <= len) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = tab[v & 63];
        i += 3;
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        if (alph == LJ_B64_STD) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        if (alph == LJ_B64_STD)
            out[o++] = '=';
    }
    out[o] = '\0';
    if (out_len != NULL)
        *out_len = o;
    return out;
}

static int
b64_value(char c, enum lj_b64_alphabet alph)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (alph == LJ_B64_STD) {
        if (c == '+')
            return 62;
        if (c == '/')
            return 63;
    } else {
        if (c == '-')
            return 62;
        if (c == '_')
            return 63;
    }
    return -1;
}

bool
lj_b64_decode(const char *s, size_t len, enum lj_b64_alphabet alph, unsigned char **out,
              size_t *out_len)
{
    unsigned char *buf = NULL;
    size_t pad = 0, n, o = 0;
    uint32_t acc = 0;
    int bits = 0;

    if (s == NULL)
        return false;
    while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
        pad++;
    n = len - pad;
    if (alph == LJ_B64_STD && len % 4 != 0)
        return false;
    if (alph == LJ_B64_URL && pad > 0 && len % 4 != 0)
        return false;
    if (n % 4 == 1)
        return false;
    buf = malloc(n / 4 * 3 + 3 + 1);
    if (buf == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(s[i], alph);
        if (v < 0)
            goto fail;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    /* Leftover bits must be zero (canonical encoding). */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        goto fail;
    buf[o] = '\0';
    *out = buf;
    *out_len = o;
    return true;
fail:
    free(buf);
    return false;
}
