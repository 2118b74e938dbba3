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
