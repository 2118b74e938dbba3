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

#endif
