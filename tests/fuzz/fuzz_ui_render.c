/*
 * fuzz_ui_render — lj_ui_render_tty, the tty renderer of agent->UI event
 * lines (the serial-console UI).  Whatever the line holds, the text must be
 * valid UTF-8 with no control character but newline, no DEL, no C1 control
 * and no bidi override or isolate (no terminal escapes reach the console).
 */
#include "tests/fuzz/fuzz.h"

#include "agent/ui/ui_proto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    lj_err_clear();
    text = lj_ui_render_tty((const char *)data, size, size > 0 && (data[0] & 1) ? "de" : "en");
    if (text == NULL)
        return 0;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0';) {
        unsigned cp = *p, n = 0;

        if (cp >= 0xf0 && cp <= 0xf4)
            n = 3, cp &= 0x07;
        else if (cp >= 0xe0 && cp <= 0xef)
            n = 2, cp &= 0x0f;
        else if (cp >= 0xc2 && cp <= 0xdf)
            n = 1, cp &= 0x1f;
        else
            FUZZ_CHECK(cp < 0x80);
        p++;
        for (unsigned i = 0; i < n; i++, p++) {
            FUZZ_CHECK((*p & 0xc0) == 0x80);
            cp = (cp << 6) | (*p & 0x3f);
        }
        FUZZ_CHECK(cp == '\n' ||
                   (cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f) &&
                    !(cp >= 0x202a && cp <= 0x202e) && !(cp >= 0x2066 && cp <= 0x2069)));
    }
    free(text);
    return 0;
}
