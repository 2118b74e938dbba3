/*
 * classify.h — the classifiers that turn a server's error answer into a
 * row of the failure taxonomy (agent/core/errors.h): Entra token and
 * authorize errors, DRS error bodies, Intune (MS-MDE2) faults.
 *
 * They live in proto/ because they read the protocol modules' parsed error
 * structs; the taxonomy table stays in core/ so every layer can read it.
 * A local result (enum lj_rc) is classified by lj_classify_rc in
 * agent/core/errors.h.  They only choose a row (and, where the server was
 * specific, its own code); they never invent text.
 */
#ifndef LJ_AGENT_CLASSIFY_H
#define LJ_AGENT_CLASSIFY_H

#include "agent/core/errors.h"
#include "agent/proto/drs.h"
#include "agent/proto/mdm.h"
#include "agent/proto/oauth.h"

/* An Entra token/authorize error -> reason; code "AADSTS<n>" when the server gave one. */
void lj_classify_oauth(const struct oauth_error *e, struct lj_classified *out);

/*
 * A DRS error answer -> reason.  Rules, in order: 429 and 5xx ->
 * service_unavailable; an HTML body -> network_intercepted; an empty or
 * non-JSON body -> bad_service_response; quota words in ErrorType, sub-code or
 * Message ("quota", "maximum number of devices", "too many devices",
 * "device limit", "DeviceCap") -> device_quota_reached; "does not allow user",
 * "not allowed to join", "not authorized to join", "not permitted to join" ->
 * join_not_permitted (the selected-groups variant when the message mentions
 * a group); ErrorType AuthenticationError or HTTP 401 -> auth_rejected;
 * "throttled" -> throttled; tenant not found (or discovery 404) ->
 * drs_tenant_not_found; anything else -> join_rejected with code 0x801c03f2
 * for DirectoryError, else the table code.  Quota and not-permitted never
 * share a reason.
 */
void lj_classify_drs(enum lj_phase phase, const struct drs_error *e, struct lj_classified *out);

/*
 * An Intune answer that was not the expected success (read with
 * mdm_fault_parse) -> reason; the rules and the exact patterns are listed
 * in agent/proto/mdm.h.  The code is the fault's Windows HRESULT when the server
 * sent a fault (mdm_ownership_blocked and mdm_platform_blocked both show
 * 0x80180014), else the table code (0x80180029 for an empty 200).
 */
void lj_classify_mdm(const struct mdm_fault *f, struct lj_classified *out);

#endif
