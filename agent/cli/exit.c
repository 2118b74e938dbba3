/*
 * exit.c — a command's exit status and taxonomy sentence from an lj_rc,
 * through lj_classify_rc and the failure table (see exit.h), so `csr`,
 * `tpm` and `leave` exit with the same code `run` gives for the same cause.
 */
#include "agent/cli/exit.h"

#include "agent/core/exitcodes.h"
#include "platform/common/log.h"

int
lj_cli_exit_for(enum lj_rc rc)
{
    struct lj_classified c;
    const struct lj_reason_info *ri;

    if (rc == LJ_OK)
        return LJ_EXIT_OK;
    lj_classify_rc(rc, &c);
    ri = lj_reason_get(c.reason);
    return ri != NULL ? ri->exit_code : LJ_EXIT_FAILURE;
}

void
lj_cli_say(FILE *f, const char *cmd, enum lj_rc rc, const struct lj_error_params *p)
{
    struct lj_classified c;
    const struct lj_reason_info *ri;
    char msg[512], action[1024];
    const char *detail;

    if (rc == LJ_OK || f == NULL)
        return;
    lj_classify_rc(rc, &c);
    ri = lj_reason_get(c.reason);
    if (ri == NULL)
        return;
    lj_error_format(ri->message, p, msg, sizeof(msg));
    lj_error_format(ri->admin_action, p, action, sizeof(action));
    fprintf(f, "linkjoin %s: %s (reason %s, code %s)\n", cmd, msg, ri->slug, c.code);
    /* a shell user is usually the admin: the host names and causes are in the action */
    fprintf(f, "linkjoin %s: admin action: %s\n", cmd, action);
    detail = lj_err_detail();
    if (lj_log_get_level() >= LJ_LOG_DEBUG && detail[0] != '\0')
        fprintf(f, "linkjoin %s: detail: %s\n", cmd, detail);
}
