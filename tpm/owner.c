/*
 * owner.c — the one operation on the TPM's owner hierarchy as a whole:
 * TPM2_Clear for `linkjoin factory-reset --clear-tpm`.  Runs as a job on
 * the tpm_ctx worker (tpm/worker.c); the provider does the TPM work
 * (tpm/esys_health.c: lockout authorization, why no platform retry).  Kept apart
 * from health.c, whose calls are read-only.
 */
#include "tpm/tpm.h"

#include "platform/common/log.h"
#include "tpm/backend.h"

static enum lj_rc
job_clear(struct tpm_ctx *t, void *arg)
{
    (void)arg;
    if (t->ops->clear == NULL)
        return lj_err_set(LJ_ERR_UNSUPPORTED, TPM_MOD, "event=clear_unsupported provider=%s",
                          t->ops->name);
    /* Keys this context may have loaded belong to the old seed now. */
    t->keys_ok = false;
    return t->ops->clear(t->be);
}

enum lj_rc
tpm_clear(struct tpm_ctx *t)
{
    return tpm_run(t, job_clear, NULL);
}
