/*
 * fuzz_json — agent/core/json.c: lj_json_parse (size, NUL, depth pre-scan,
 * trailing data) and every typed getter on every member of the result, then
 * lj_json_print and a re-parse of what it printed (must succeed).
 * The first input byte picks max_depth (0..31); the rest is the document.
 */
#include "tests/fuzz/fuzz.h"

#include "agent/core/json.h"
#include "platform/common/result.h"

static void
visit(const cJSON *obj, int depth)
{
    if (!cJSON_IsObject(obj) || depth > 64)
        return;
    for (const cJSON *it = obj->child; it != NULL; it = it->next) {
        const char *s = NULL;
        long long ll = 0;
        bool b = false;
        const cJSON *sub = NULL;
        char buf[32];

        if (it->string == NULL)
            continue;
        (void)lj_json_get_string(obj, it->string, &s);
        (void)lj_json_get_string_opt(obj, it->string, &s);
        (void)lj_json_get_int(obj, it->string, &ll);
        (void)lj_json_get_bool(obj, it->string, &b);
        if (lj_json_copy_string(obj, it->string, buf, sizeof(buf)) == LJ_OK)
            FUZZ_TERMINATED(buf);
        (void)lj_json_get_array(obj, it->string, &sub);
        if (lj_json_get_object(obj, it->string, &sub) == LJ_OK)
            visit(sub, depth + 1);
    }
    (void)lj_json_problem();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *root = NULL, *again = NULL;
    char *printed = NULL;
    int depth;

    if (size < 1)
        return 0;
    lj_err_clear();
    depth = data[0] & 31;
    if (lj_json_parse((const char *)data + 1, size - 1, depth, &root) != LJ_OK) {
        FUZZ_CHECK(lj_json_problem()[0] != '\0');
        return 0;
    }
    visit(root, 0);
    printed = lj_json_print(root);
    FUZZ_CHECK(printed != NULL);
    if (strlen(printed) <= LJ_JSON_MAX_BYTES)
        FUZZ_CHECK(lj_json_parse(printed, strlen(printed), depth, &again) == LJ_OK);
    cJSON_Delete(again);
    free(printed);
    cJSON_Delete(root);
    return 0;
}
