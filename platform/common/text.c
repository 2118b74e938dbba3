/*
 * text.c — text predicates (see text.h).
 */
#include "platform/common/text.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

bool
lj_body_is_html(const char *body, size_t len)
{
    static const char *const heads[] = {"<!doctype html", "<html",  "<head",
                                        "<body",          "<title", "<!--"};
    size_t i = 0;

    if (body == NULL)
        return false;
    while (i < len && isspace((unsigned char)body[i]))
        i++;
    for (size_t k = 0; k < sizeof(heads) / sizeof(heads[0]); k++) {
        size_t n = strlen(heads[k]);

        if (len - i >= n && strncasecmp(body + i, heads[k], n) == 0)
            return true;
    }
    return false;
}

bool
lj_is_dotted_quad(const char *s)
{
    int parts = 0;

    if (s == NULL)
        return false;
    for (;;) {
        unsigned long v = 0;
        int digits = 0;

        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (unsigned long)(*s - '0');
            if (++digits > 5)
                return false;
            s++;
        }
        if (digits == 0 || v > 65535)
            return false;
        parts++;
        if (*s == '\0')
            return parts == 4;
        if (*s != '.' || parts == 4)
            return false;
        s++;
    }
}

bool
lj_is_guid(const char *s)
{
    if (s == NULL || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

size_t
lj_utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0], min;
    size_t need;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1, min = 0x80, c &= 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2, min = 0x800, c &= 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    if (n <= need)
        return 0;
    for (size_t i = 1; i <= need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3fu);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return need + 1;
}
