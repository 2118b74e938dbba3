/*
 * esys_gate.c — the TCTI ESAPI talks to: a pass-through to the loaded one
 * that brackets every transmit and receive with tpm_io_begin/tpm_io_end,
 * so tpm/worker.c can bound a TPM that never answers (tpm.h "Bounded
 * waits").  A TCTI is a struct that starts with the common header
 * (tss2_tcti.h, TCG TSS 2.0 TPM Command Transmission Interface), which is
 * all ESAPI and SAPI use.
 */
#include "tpm/esys_int.h"

#include <tss2/tss2_tcti.h>

#include <string.h>
#include <time.h>

#include "platform/common/log.h"

#define GATE_MAGIC 0x6c6a676174653031ULL /* "ljgate01" */

static struct gate_tcti *
gate_of(TSS2_TCTI_CONTEXT *c)
{
    struct gate_tcti *g = (struct gate_tcti *)c;

    return g != NULL && g->common.v1.magic == GATE_MAGIC ? g : NULL;
}

static TSS2_RC
gate_transmit(TSS2_TCTI_CONTEXT *c, size_t size, const uint8_t *cmd)
{
    struct gate_tcti *g = gate_of(c);
    TSS2_RC r;

    if (g == NULL)
        return TSS2_TCTI_RC_BAD_REFERENCE;
    /* TPM2 command header: tag u16, size u32, commandCode u32 (big-endian) */
    g->cc = size >= 10
                ? (uint32_t)cmd[6] << 24 | (uint32_t)cmd[7] << 16 | (uint32_t)cmd[8] << 8 | cmd[9]
                : 0;
    clock_gettime(CLOCK_MONOTONIC, &g->t0);
    tpm_io_begin(g->t);
    r = Tss2_Tcti_Transmit(g->inner, size, cmd);
    tpm_io_end(g->t);
    return r;
}

static TSS2_RC
gate_receive(TSS2_TCTI_CONTEXT *c, size_t *size, uint8_t *resp, int32_t timeout)
{
    struct gate_tcti *g = gate_of(c);
    TSS2_RC r;

    if (g == NULL)
        return TSS2_TCTI_RC_BAD_REFERENCE;
    tpm_io_begin(g->t);
    r = Tss2_Tcti_Receive(g->inner, size, resp, timeout);
    tpm_io_end(g->t);
    /* One line a command at debug level: how many commands a step costs, and how long each took. */
    if (resp != NULL && lj_log_get_level() >= LJ_LOG_DEBUG) {
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        lj_log(
            LJ_LOG_DEBUG, TPM_MOD, "event=tpm_command cc=0x%03x us=%ld", (unsigned)g->cc,
            (long)((now.tv_sec - g->t0.tv_sec) * 1000000L + (now.tv_nsec - g->t0.tv_nsec) / 1000));
    }
    return r;
}

static void
gate_finalize(TSS2_TCTI_CONTEXT *c)
{
    (void)c; /* the loaded TCTI is finalized by esys_close */
}

static TSS2_RC
gate_cancel(TSS2_TCTI_CONTEXT *c)
{
    struct gate_tcti *g = gate_of(c);

    return g != NULL ? Tss2_Tcti_Cancel(g->inner) : TSS2_TCTI_RC_BAD_REFERENCE;
}

static TSS2_RC
gate_get_poll_handles(TSS2_TCTI_CONTEXT *c, TSS2_TCTI_POLL_HANDLE *h, size_t *n)
{
    struct gate_tcti *g = gate_of(c);

    return g != NULL ? Tss2_Tcti_GetPollHandles(g->inner, h, n) : TSS2_TCTI_RC_BAD_REFERENCE;
}

static TSS2_RC
gate_set_locality(TSS2_TCTI_CONTEXT *c, uint8_t locality)
{
    struct gate_tcti *g = gate_of(c);
    TSS2_RC r;

    if (g == NULL)
        return TSS2_TCTI_RC_BAD_REFERENCE;
    tpm_io_begin(g->t);
    r = Tss2_Tcti_SetLocality(g->inner, locality);
    tpm_io_end(g->t);
    return r;
}

static TSS2_RC
gate_make_sticky(TSS2_TCTI_CONTEXT *c, TPM2_HANDLE *handle, uint8_t sticky)
{
    struct gate_tcti *g = gate_of(c);

    return g != NULL ? Tss2_Tcti_MakeSticky(g->inner, handle, sticky) : TSS2_TCTI_RC_BAD_REFERENCE;
}

void
esys_gate_init(struct gate_tcti *g, TSS2_TCTI_CONTEXT *inner, struct tpm_ctx *t)
{
    memset(g, 0, sizeof(*g));
    g->common.v1.magic = GATE_MAGIC;
    g->common.v1.version = 2;
    g->common.v1.transmit = gate_transmit;
    g->common.v1.receive = gate_receive;
    g->common.v1.finalize = gate_finalize;
    g->common.v1.cancel = gate_cancel;
    g->common.v1.getPollHandles = gate_get_poll_handles;
    g->common.v1.setLocality = gate_set_locality;
    g->common.makeSticky = gate_make_sticky;
    g->inner = inner;
    g->t = t;
}
