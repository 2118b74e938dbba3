/*
 * preflight.c — what is checked before anyone is asked to sign in: the
 * TPM's verdict (opened, not locked out, self-test passed), a plausible
 * clock, and DNS/TCP/TLS to every endpoint (each host:port once), through
 * the HTTP proxy when one is configured: the probe then also proves the
 * proxy answers, accepts the device's credentials and opens the tunnel.
 */
#include "agent/flow/flow_int.h"

#include <stdlib.h>

#include "agent/ui/messages.h"

#include <stdio.h>
#include <string.h>

#include "platform/clock.h"
#include "platform/common/log.h"

/*
 * How long a dictionary-attack lockout lasts: the TPM leaves lockout when
 * its failure counter drops below TPM2_PT_MAX_AUTH_FAIL, one failure being
 * forgiven every TPM2_PT_LOCKOUT_INTERVAL seconds of powered time (TPM 2.0
 * Library, Part 1, "Dictionary Attack Protection").  "about N minutes";
 * "a few minutes" when the TPM does not say.
 */
long
flow_lockout_wait(const struct tpm_health *h, char *out, size_t osz)
{
    uint64_t over, secs;
    long min = 0;
    char *w;

    if (h->recovery_s != 0 && h->max_tries != 0 && h->lockout_counter >= h->max_tries) {
        over = (uint64_t)h->lockout_counter - h->max_tries + 1;
        secs = over * h->recovery_s;
        min = secs / 60 >= 1000000 ? 1000000 : (long)((secs + 59) / 60);
    }
    w = lj_msg_wait("en", min);
    snprintf(out, osz, "%s", w != NULL ? w : "a few minutes");
    free(w);
    return min;
}

/* The checks above, in that order; the first failure is recorded and returned. */
enum lj_rc
flow_preflight(struct flow *f)
{
    const char *urls[3] = {f->cfg->authority, f->cfg->drs_url, f->cfg->mdm_url};
    char seen[3][300];
    size_t nseen = 0;
    char why[160];
    enum lj_rc rc;

    lj_ui_progress(f->ui, "step.preflight.check", 5);
    if (f->tpm_open_rc == LJ_ERR_TPM_LOCKOUT)
        f->fail.wait_min = flow_lockout_wait(&f->tpm_h, f->fail.what, sizeof(f->fail.what));
    if (f->tpm_open_rc != LJ_OK)
        return flow_fail_rc(f, LJ_PHASE_PREFLIGHT, f->tpm_open_rc);
    rc = lj_clock_check(lj_clock_now(), why, sizeof(why));
    if (rc != LJ_OK) {
        flow_copy(f->fail.what, sizeof(f->fail.what), why);
        lj_log(LJ_LOG_WARN, MOD, "event=clock_implausible why=\"%s\"", why);
        flow_fail_set(f, LJ_PHASE_PREFLIGHT, LJ_R_CLOCK_WRONG, NULL, rc);
        return rc;
    }
    for (size_t i = 0; i < 3; i++) {
        char host[256], key[300], what[320];
        const char *px;
        long port = 0;
        bool dup = false;

        if (urls[i][0] == '\0' || lj_http_url_host(urls[i], host, sizeof(host), &port) != LJ_OK)
            continue;
        snprintf(key, sizeof(key), "%s:%ld", host, port);
        for (size_t k = 0; k < nseen; k++)
            dup = dup || strcmp(seen[k], key) == 0;
        if (dup)
            continue;
        flow_copy(seen[nseen++], sizeof(seen[0]), key);
        px = lj_http_proxy_for(f->http, host);
        if (px != NULL)
            lj_ui_progress(f->ui, "step.preflight.proxy", 6);
        rc = lj_http_probe(f->http, urls[i], what, sizeof(what));
        if (rc != LJ_OK)
            return flow_fail_net(f, LJ_PHASE_PREFLIGHT, rc, urls[i], what);
        lj_log(LJ_LOG_INFO, MOD, "event=probe_ok host=%s port=%ld proxy=%s", host, port,
               px != NULL ? px : "none");
    }
    return LJ_OK;
}
