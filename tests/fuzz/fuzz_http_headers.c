/*
 * fuzz_http_headers — the response header reader of agent/net/http.c
 * (lj_http__header_line, what curl's header callback calls): the input is
 * a header block, cut into lines after each '\n' as curl delivers them.
 * Afterwards every kept value is terminated and printable ASCII,
 * retry_after is -1..86400, at most LJ_HTTP_MAX_IDS ids, each findable by
 * lj_http_response_id.
 */
#include "tests/fuzz/fuzz.h"

#include "agent/net/http.h"

static void
printable(const char *s, size_t sz)
{
    FUZZ_CHECK(memchr(s, '\0', sz) != NULL);
    for (size_t i = 0; s[i] != '\0'; i++)
        FUZZ_CHECK(s[i] >= 0x20 && s[i] < 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct lj_http_response r;
    size_t start = 0;

    lj_err_clear();
    memset(&r, 0, sizeof(r));
    r.retry_after = -1;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || data[i] == '\n') {
            size_t end = i < size ? i + 1 : i;
            if (end > start) {
                /* An exact-size copy, so reading past the line is caught. */
                char *line = malloc(end - start);
                FUZZ_CHECK(line != NULL);
                memcpy(line, data + start, end - start);
                lj_http__header_line(&r, line, end - start);
                free(line);
            }
            start = end;
        }
    }
    printable(r.content_type, sizeof(r.content_type));
    printable(r.location, sizeof(r.location));
    printable(r.date, sizeof(r.date));
    FUZZ_CHECK(r.retry_after >= -1 && r.retry_after <= 86400);
    FUZZ_CHECK(r.n_ids <= LJ_HTTP_MAX_IDS);
    for (size_t i = 0; i < r.n_ids; i++) {
        printable(r.ids[i].name, sizeof(r.ids[i].name));
        printable(r.ids[i].value, sizeof(r.ids[i].value));
        FUZZ_CHECK(lj_http_response_id(&r, r.ids[i].name) == r.ids[i].value);
    }
    return 0;
}
