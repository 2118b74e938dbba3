/*
 * fuzz_ui_msg — lj_ui_parse_msg, one line from the OOBE UI (socket or
 * stdin).  Success fills exactly the fields of its type within the
 * documented ceilings; failure names one of the documented error slugs.
 * lj_ui_msg_clear frees (and wipes) what was filled.
 */
#include "tests/fuzz/fuzz.h"

#include "agent/ui/ui_proto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lj_ui_msg m;
    char err[32], problem[160];

    lj_err_clear();
    memset(&m, 0, sizeof(m));
    err[0] = problem[0] = '\0';
    if (lj_ui_parse_msg((const char *)data, size, &m, err, sizeof(err), problem, sizeof(problem)) !=
        LJ_OK) {
        FUZZ_CHECK(strcmp(err, "line_too_long") == 0 || strcmp(err, "bad_json") == 0 ||
                   strcmp(err, "unknown_type") == 0 || strcmp(err, "missing_field") == 0 ||
                   strcmp(err, "bad_field") == 0);
        FUZZ_CHECK(problem[0] != '\0');
        FUZZ_TERMINATED(problem);
        FUZZ_CHECK(m.username == NULL && m.password == NULL && m.code == NULL && m.state == NULL);
        return 0;
    }
    switch (m.type) {
    case LJ_UI_MSG_CREDENTIALS:
        FUZZ_CHECK(m.username != NULL && strlen(m.username) <= LJ_UI_MAX_USERNAME);
        FUZZ_CHECK(m.password != NULL && strlen(m.password) <= LJ_UI_MAX_PASSWORD);
        break;
    case LJ_UI_MSG_AUTH_CODE:
        FUZZ_CHECK(m.code != NULL && strlen(m.code) <= LJ_UI_MAX_CODE);
        FUZZ_CHECK(m.state != NULL && strlen(m.state) <= LJ_UI_MAX_STATE);
        break;
    case LJ_UI_MSG_CANCEL:
    case LJ_UI_MSG_RETRY: FUZZ_CHECK(m.username == NULL && m.code == NULL); break;
    case LJ_UI_MSG_HELLO:
        FUZZ_CHECK(m.protocol >= 1 && m.protocol <= LJ_UI_PROTOCOL_MAX);
        FUZZ_CHECK(m.locale == NULL ||
                   (m.locale[0] != '\0' && strlen(m.locale) <= LJ_UI_MAX_LOCALE));
        break;
    default: FUZZ_CHECK(!"unknown message type returned");
    }
    lj_ui_msg_clear(&m);
    FUZZ_CHECK(m.username == NULL && m.password == NULL && m.code == NULL && m.state == NULL &&
               m.locale == NULL);
    return 0;
}
