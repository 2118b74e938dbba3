/*
 * fuzz_pjson — agent/proto/pjson.c, the protocol modules' front end: pjson_parse
 * with the discovery ceilings (256 KiB, depth 8), then pjson_str /
 * pjson_int / pjson_obj on every member (case-sensitive and not) and
 * pjson_copy_text into a small buffer (must be terminated, without control
 * characters), then pjson_wipe_delete.
 */
#include "tests/fuzz/fuzz.h"

#include "agent/proto/pjson.h"
#include "platform/common/result.h"

static void
check_text(const char *src)
{
    char out[24];

    pjson_copy_text(out, sizeof(out), src);
    FUZZ_TERMINATED(out);
    for (size_t i = 0; out[i] != '\0'; i++)
        FUZZ_CHECK((unsigned char)out[i] >= 0x20 && (unsigned char)out[i] != 0x7f);
}

static void
visit(const cJSON *obj, int depth)
{
    if (depth > 16)
        return;
    for (const cJSON *it = obj->child; it != NULL; it = it->next) {
        const char *s = NULL;
        long long v = 0;
        const cJSON *sub;

        if (it->string == NULL)
            continue;
        for (int nocase = 0; nocase < 2; nocase++) {
            if (pjson_str(obj, it->string, nocase, 40, &s) == LJ_OK) {
                FUZZ_CHECK(strlen(s) <= 40);
                check_text(s);
            }
            if (pjson_int(obj, it->string, nocase, -100, 100000, &v) == LJ_OK)
                FUZZ_CHECK(v >= -100 && v <= 100000);
            sub = pjson_obj(obj, it->string, nocase);
            if (sub != NULL && nocase == 0)
                visit(sub, depth + 1);
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *tree = NULL;

    lj_err_clear();
    if (pjson_parse((const char *)data, size, 256u * 1024u, 8, &tree) != LJ_OK)
        return 0;
    FUZZ_CHECK(cJSON_IsObject(tree));
    visit(tree, 0);
    check_text(NULL);
    pjson_wipe_delete(tree);
    return 0;
}
