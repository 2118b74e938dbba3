/*
 * fuzz_oobe_msg — oobe_msg_check, the body the setup screen's page POSTs to
 * the bridge's /send.  Success yields one line: a JSON object ending in
 * '\n' and no other newline, of a known type; failure names one of the
 * documented slugs with a sentence (no quote or backslash: the bridge puts
 * it into a JSON string as is) and yields nothing.
 */
#include "tests/fuzz/fuzz.h"

#include "platform/oobe/bridge/msg.h"
#include "platform/common/secmem.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const slugs[] = {"too_large",    "bad_json",      "not_object",
                                        "missing_type", "unknown_type",  "missing_field",
                                        "bad_field",    "unknown_field", "duplicate_field"};
    char *line = NULL, slug[32] = "", problem[160] = "";
    size_t len = 0;
    const char *type = NULL;
    int known = 0;

    if (oobe_msg_check((const char *)data, size, &line, &len, &type, slug, sizeof(slug), problem,
                       sizeof(problem)) != LJ_OK) {
        for (size_t i = 0; i < sizeof(slugs) / sizeof(slugs[0]); i++)
            known |= strcmp(slug, slugs[i]) == 0;
        FUZZ_CHECK(known);
        FUZZ_CHECK(problem[0] != '\0' && strpbrk(problem, "\"\\") == NULL);
        FUZZ_CHECK(line == NULL && type == NULL);
        return 0;
    }
    FUZZ_CHECK(line != NULL && len >= 3 && line[0] == '{' && line[len - 1] == '\n');
    FUZZ_CHECK(line[len] == '\0' && memchr(line, '\n', len - 1) == NULL);
    FUZZ_CHECK(strcmp(type, "credentials") == 0 || strcmp(type, "auth_code") == 0 ||
               strcmp(type, "cancel") == 0 || strcmp(type, "retry") == 0);
    lj_secure_free(line, len + 1);
    return 0;
}
