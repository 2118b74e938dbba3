/*
 * flow.h — the join flow of `linkjoin run`: preflight, discovery (when the
 * tenant is a domain), sign-in (with TPM keygen and the join CSR's
 * signature in the background), discovery (when the domain is the UPN's),
 * join, (MDM hook), result.
 *
 * The flow owns every resource of one run (UI channel, HTTP client, TPM
 * context, tokens) and releases them before it returns.  It reports to the
 * UI with exactly one `result` event, records the last failure in the
 * journal (so `linkjoin status` can show it), and returns the exit code of
 * the reason's taxonomy entry (agent/core/errors.h).
 *
 * Join retry bound (DRS 503 / 429): at most LJ_FLOW_JOIN_MAX_ATTEMPTS POSTs
 * and at most LJ_FLOW_RETRY_BUDGET_S seconds of waiting in total; each wait
 * is the server's Retry-After (or LJ_FLOW_RETRY_DEFAULT_S, doubled per
 * attempt) and a Retry-After longer than what is left of the budget ends
 * the retries at once.  Then the result is service_unavailable (retryable).
 *
 * Intune enrollment (after the join, and in `mdm-retry`): see the design
 * note in flow.c "Intune".  Retry bound: at most LJ_FLOW_MDM_MAX_ATTEMPTS
 * enrollment sequences (discovery, policy, RST) per run, at most
 * LJ_FLOW_MDM_RETRY_BUDGET_S seconds of waiting in total, each wait the
 * server's Retry-After or LJ_FLOW_RETRY_DEFAULT_S doubled per attempt;
 * then the device stays joined_mdm_pending and linkjoin-mdm-retry.timer
 * (every 30 minutes) or the next `run` tries again.
 */
#ifndef LJ_AGENT_FLOW_H
#define LJ_AGENT_FLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "agent/core/config.h"
#include "agent/proto/drs.h"

#define LJ_FLOW_JOIN_MAX_ATTEMPTS 3
#define LJ_FLOW_RETRY_BUDGET_S 30
#define LJ_FLOW_RETRY_DEFAULT_S 2
/* How long a prompt (credentials, browser) waits for the UI's answer. */
#define LJ_FLOW_PROMPT_TIMEOUT_S 1800
/*
 * The fixed subject of the join CSR and the issuer of the device
 * certificate (MS-DVRJ 3.1.5.1.1.1 request body); proto/drs.h owns them.
 */
#define LJ_FLOW_CSR_CN DRS_CSR_CN
#define LJ_FLOW_ISSUER_CN DRS_ISSUER_CN
#define LJ_FLOW_MDM_MAX_ATTEMPTS 3
#define LJ_FLOW_MDM_RETRY_BUDGET_S 30
/* The sealed refresh token kept while enrollment is pending (tpm_seal name). */
#define LJ_FLOW_MDM_SEAL_NAME "mdm-refresh"
/* The sealed Primary Refresh Token and its session key in the TPM (tpm/ names). */
#define LJ_FLOW_PRT_SEAL_NAME "prt"
#define LJ_FLOW_PRT_KEY_NAME "prt-session"
/* Device key size (tpm/): what the MDM certificate policy is checked against. */
#define LJ_FLOW_MDM_KEY_BITS 2048

/*
 * Run the whole flow with a loaded configuration.  Installs SIGTERM/SIGINT
 * handlers (they cancel the run cleanly) and ignores SIGPIPE.  Blocks until
 * the result is known (sign-in waits for the user).  Returns an enum
 * lj_exit value.  Writes only the state directory; holds secrets in memory
 * only while needed (wiped; process non-dumpable meanwhile).
 */
int lj_flow_run(const struct lj_config *cfg);

/*
 * `linkjoin mdm-retry`: on a device whose journal says mdm_pending, unseal
 * the kept refresh token, get an Intune token and enroll (with the bound
 * above); never prompts.  Output: tty text on stdout (the service's
 * journal), or JSON events with cfg->ui == LJ_UI_STDIO.  Returns
 * LJ_EXIT_OK (enrolled, or nothing pending), LJ_EXIT_MDM_PENDING (still
 * pending), LJ_EXIT_SIGNIN (the kept sign-in expired or is missing: run
 * `linkjoin run` to sign in again), LJ_EXIT_POLICY (refused by Intune),
 * LJ_EXIT_NOT_JOINED, or the exit code of another failure's reason.
 */
int lj_flow_mdm_retry(const struct lj_config *cfg);

/* The PRT is renewed when this old (Windows' CloudAP renews every 4 hours). */
#define LJ_FLOW_PRT_RENEW_S (4 * 3600)

/* What `linkjoin token` asks for: exactly one of resource and scope. */
struct lj_flow_token_ask {
    const char *resource;     /* v1 resource URI, e.g. https://graph.microsoft.com */
    const char *scope;        /* or a scope, e.g. "https://www.microsoft.com/.default" */
    const char *client_id;    /* NULL: the broker client 29d9ed98-... */
    const char *redirect_uri; /* NULL: ms-appx-web://Microsoft.AAD.BrokerPlugin/<client_id> */
};

/*
 * Why `linkjoin token` failed, for the command line and the token broker
 * alike: reason is a taxonomy slug (agent/core/errors.c: device_disabled,
 * prt_refused, ...) or one of not_joined, no_prt, state_unreadable,
 * cannot_start, internal; message is one line for a person; detail ""
 * or the service's trace and correlation ids.  Holds no secret.
 */
struct lj_flow_token_fail {
    char reason[48];
    char message[640];
    char detail[160];
};

/*
 * `linkjoin token`: a PRT-signed request for ask.  On exit 0, *json is the
 * answer as one JSON line without '\n' ({"token_type","access_token",
 * "expires_in","expires_on","resource"|"scope","client_id"}), malloc'ed: it
 * holds the access token, so the caller writes it only to whoever asked and
 * frees it with lj_secret_free.  Otherwise *json is NULL and *fail says why.
 * Needs a joined device holding a PRT; never prompts, prints nothing.
 * Returns the exit code (0, 6 no PRT, 12 not joined, 13 state unreadable,
 * the taxonomy's for a refusal).  Blocks (two round trips, two TPM HMACs).
 */
int lj_flow_token(const struct lj_config *cfg, const struct lj_flow_token_ask *ask, char **json,
                  struct lj_flow_token_fail *fail);

/*
 * SIGTERM/SIGINT set a flag (no SA_RESTART, so a blocking wait returns
 * EINTR) that the flow's waits and lj_flow_signalled look at; SIGPIPE is
 * ignored.  lj_flow_token installs them too; a flag once set stays set.
 */
void lj_flow_signals_install(void);
bool lj_flow_signalled(void);

/*
 * Is a PRT issued (or renewed) at updated, expiring at expires, due for
 * renewal at now?  When LJ_FLOW_PRT_RENEW_S old, or a third of its life
 * or less is left, or the times are unknown.
 */
bool lj_flow_prt_due(int64_t now, int64_t updated, int64_t expires);

/*
 * `linkjoin prt-renew`: renew the kept PRT when due (always with force);
 * with none kept, or one the service refuses, get a new one from the kept
 * sign-in.  Says what it did on out.  The caller holds the state lock.
 * Returns the exit code (0 renewed or not due, 6 nothing to renew with,
 * 12 not joined, the taxonomy's for a refusal).  Blocks.
 */
int lj_flow_prt_renew(const struct lj_config *cfg, bool force, FILE *out);

#endif
