/*
 * fuzz_ui_render — lj_ui_render_tty, the tty renderer of agent->UI event
 * lines (the serial-console UI).  Whatever the line holds, the text must be
 * printable ASCII and newlines only (no terminal escapes reach the console).
 */
#include "tests/fuzz/fuzz.h"

#include "agent/ui/ui_proto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    lj_err_clear();
    text = lj_ui_render_tty((const char *)data, size);
    if (text == NULL)
        return 0;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
        FUZZ_CHECK(*p == '\n' || (*p >= 0x20 && *p < 0x7f));
    free(text);
    return 0;
}
