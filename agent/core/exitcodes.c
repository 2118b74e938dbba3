/*
 * exitcodes.c — the exit status table: what each enum lj_exit value means,
 * in the words README.md and `linkjoin --help` use.  The README table is
 * generated from it (lj_exit_markdown), so the contract has one source.
 */
#include "agent/core/exitcodes.h"

#include <stdio.h>
#include <stdlib.h>

static const struct lj_exit_info exits[LJ_EXIT_COUNT__] = {
    [LJ_EXIT_OK] = {LJ_EXIT_OK,
                    "ok: setup complete (joined, and enrolled in Intune unless `mdm = optional`), "
                    "or the command succeeded",
                    "ok"},
    [LJ_EXIT_FAILURE] = {LJ_EXIT_FAILURE, "unexpected failure (see the log)", "unexpected failure"},
    [LJ_EXIT_USAGE] = {LJ_EXIT_USAGE, "usage error", "usage error"},
    [LJ_EXIT_CONFIG] = {LJ_EXIT_CONFIG, "configuration error", "configuration"},
    [LJ_EXIT_TPM] = {LJ_EXIT_TPM,
                     "the TPM is missing, locked out or failing (the result's `fix_by` says "
                     "whether to wait, restart or repair)",
                     "TPM (hardware)"},
    [LJ_EXIT_NETWORK] = {LJ_EXIT_NETWORK, "network or service unavailable; retry later",
                         "network/service unavailable"},
    [LJ_EXIT_SIGNIN] = {LJ_EXIT_SIGNIN,
                        "sign-in did not succeed (`fix_by` in the result says who can fix it)",
                        "sign-in failed"},
    [LJ_EXIT_POLICY] =
        {LJ_EXIT_POLICY,
         "refused by a policy of the tenant or Intune (`fix_by` in the result says who can fix it)",
         "refused by policy"},
    [LJ_EXIT_SERVICE] = {LJ_EXIT_SERVICE, "the service answered something the device could not use",
                         "bad service response"},
    [LJ_EXIT_CANCELLED] = {LJ_EXIT_CANCELLED, "cancelled", "cancelled"},
    [LJ_EXIT_ALREADY_JOINED] = {LJ_EXIT_ALREADY_JOINED, "`run`: already joined, nothing done",
                                "already joined"},
    [LJ_EXIT_MDM_PENDING] = {LJ_EXIT_MDM_PENDING, "joined, Intune enrollment pending",
                             "joined, MDM pending"},
    [LJ_EXIT_NOT_JOINED] = {LJ_EXIT_NOT_JOINED, "`status`: not joined", "not joined"},
    [LJ_EXIT_STATE] = {LJ_EXIT_STATE,
                       "local state unusable (keys lost, made by another key provider or "
                       "with an older key template, journal)",
                       "local state unusable"},
    [LJ_EXIT_FACTORY_TPM] = {LJ_EXIT_FACTORY_TPM, "`factory-test`: a TPM check failed",
                             "factory: TPM check failed"},
    [LJ_EXIT_FACTORY_EK] = {LJ_EXIT_FACTORY_EK,
                            "`factory-test`: EK certificate missing, unparsable or from the "
                            "wrong CA",
                            "factory: EK certificate check failed"},
    [LJ_EXIT_FACTORY_DEVICE] = {LJ_EXIT_FACTORY_DEVICE,
                                "`factory-test`: device identity or clock check failed",
                                "factory: identity or clock check failed"},
    [LJ_EXIT_BUSY] = {LJ_EXIT_BUSY,
                      "another linkjoin command (`run`, `mdm-retry`, `leave`, `factory-reset`, "
                      "`csr`, `tpm seal`) is using the state directory; nothing was done, try "
                      "again later",
                      "state directory busy: try again"},
};

const struct lj_exit_info *
lj_exit_get(int code)
{
    if (code < 0 || code >= LJ_EXIT_COUNT__ || exits[code].meaning == NULL)
        return NULL;
    return &exits[code];
}

enum lj_rc
lj_exit_markdown(char **out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    if (out == NULL)
        return LJ_ERR_INVAL;
    f = open_memstream(&buf, &len);
    if (f == NULL)
        return LJ_ERR_NOMEM;
    fputs("| code | meaning |\n|---|---|\n", f);
    for (int i = 0; i < LJ_EXIT_COUNT__; i++)
        if (exits[i].meaning != NULL)
            fprintf(f, "| %d | %s |\n", exits[i].code, exits[i].meaning);
    if (fclose(f) != 0 || buf == NULL) {
        free(buf);
        return LJ_ERR_NOMEM;
    }
    *out = buf;
    return LJ_OK;
}
