/*
 * flow.h — the join flow of `linkjoin run`: preflight, sign-in (with TPM
 * keygen in the background), discovery, join, (MDM hook), result.
 *
 * The flow owns every resource of one run (UI channel, HTTP client, TPM
 * context, tokens) and releases them before it returns.  It reports to the
 * UI with exactly one `result` event, records the last failure in the
 * journal (so `linkjoin status` can show it), and returns the exit code of
 * the reason's taxonomy entry (agent/errors.h).
 *
 * Join retry bound (DRS 503 / 429): at most LJ_FLOW_JOIN_MAX_ATTEMPTS POSTs
 * and at most LJ_FLOW_RETRY_BUDGET_S seconds of waiting in total; each wait
 * is the server's Retry-After (or LJ_FLOW_RETRY_DEFAULT_S, doubled per
 * attempt) and a Retry-After longer than what is left of the budget ends
 * the retries at once.  Then the result is service_unavailable (retryable).
 */
#ifndef LJ_AGENT_FLOW_H
#define LJ_AGENT_FLOW_H

#include "agent/config.h"

#define LJ_FLOW_JOIN_MAX_ATTEMPTS 3
#define LJ_FLOW_RETRY_BUDGET_S 30
#define LJ_FLOW_RETRY_DEFAULT_S 2
/* How long a prompt (credentials, browser) waits for the UI's answer. */
#define LJ_FLOW_PROMPT_TIMEOUT_S 1800
/* The fixed subject of the join CSR (drs-protocol.md §3). */
#define LJ_FLOW_CSR_CN "7E980AD9-B86D-4306-9425-9AC066FB014A"
#define LJ_FLOW_ISSUER_CN "MS-Organization-Access"

/*
 * Run the whole flow with a loaded configuration.  Installs SIGTERM/SIGINT
 * handlers (they cancel the run cleanly) and ignores SIGPIPE.  Blocks until
 * the result is known (sign-in waits for the user).  Returns an enum
 * lj_exit value.  Writes only the state directory; holds secrets in memory
 * only while needed (wiped; process non-dumpable meanwhile).
 */
int lj_flow_run(const struct lj_config *cfg);

#endif
