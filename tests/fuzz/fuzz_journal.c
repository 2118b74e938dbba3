/*
 * fuzz_journal — lj_journal_from_json, the journal file as found on disk
 * after a crash (possibly truncated, corrupt or foreign).  A journal that
 * parses must serialize (lj_journal_to_json) to text that parses back to
 * the same serialization; a refusal must say why.
 */
#include "tests/fuzz/fuzz.h"

#include "agent/state/journal.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lj_journal j, k;
    char why[160], *t1 = NULL, *t2 = NULL;
    enum lj_rc rc;

    lj_err_clear();
    why[0] = '\0';
    rc = lj_journal_from_json((const char *)data, size, &j, why, sizeof(why));
    if (rc != LJ_OK) {
        FUZZ_CHECK(rc == LJ_ERR_PARSE || rc == LJ_ERR_UNSUPPORTED || rc == LJ_ERR_TOO_BIG);
        FUZZ_CHECK(why[0] != '\0');
        FUZZ_TERMINATED(why);
        return 0;
    }
    FUZZ_CHECK(j.state >= LJ_JS_NEW && j.state < LJ_JS_COUNT__);
    FUZZ_CHECK(lj_journal_state_name(j.state) != NULL);
    t1 = lj_journal_to_json(&j);
    FUZZ_CHECK(t1 != NULL);
    rc = lj_journal_from_json(t1, strlen(t1), &k, why, sizeof(why));
    if (rc != LJ_OK) {
        fprintf(stderr, "journal does not read back (%s): %s\n", why, t1);
        abort();
    }
    t2 = lj_journal_to_json(&k);
    FUZZ_CHECK(t2 != NULL);
    if (strcmp(t1, t2) != 0) {
        fprintf(stderr, "journal changed on reload:\n%s\n%s\n", t1, t2);
        abort();
    }
    free(t1);
    free(t2);
    return 0;
}
