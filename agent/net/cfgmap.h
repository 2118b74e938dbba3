/*
 * cfgmap.h — the TPM and HTTPS settings a configuration names, filled in
 * one place for every command that opens a TPM context or an HTTPS client
 * (run, leave, factory-reset, factory-test --network, recovery).
 */
#ifndef LJ_AGENT_CFGMAP_H
#define LJ_AGENT_CFGMAP_H

#include <stdbool.h>

#include "agent/core/config.h"
#include "agent/net/http.h"
#include "tpm/tpm.h"

/*
 * *to from cfg: tcti ("" = the default), key provider, tpm_timeout, and
 * state_dir when with_state (else NULL: a context without key state).
 * Points into cfg, which must outlive *to.
 */
void lj_cfg_tpm_opts(const struct lj_config *cfg, bool with_state, struct tpm_open_opts *to);

/*
 * *hc zeroed, then ca_file, connect_to (backed by the caller's ct array,
 * which must outlive *hc) and the two timeouts from cfg.  The caller sets
 * the rest (cancel hook, body cap, client certificate).
 */
void lj_cfg_http(const struct lj_config *cfg, const char *ct[LJ_CONFIG_MAX_CONNECT_TO],
                 struct lj_http_config *hc);

#endif
