/*
 * cfgmap.h — the TPM and HTTPS settings a configuration names, filled in
 * one place for every command that opens a TPM context or an HTTPS client
 * (run, leave, factory-reset, factory-test --network, recovery).
 */
#ifndef LJ_AGENT_CFGMAP_H
#define LJ_AGENT_CFGMAP_H

#include <stdbool.h>

#include "agent/core/config.h"
#include "agent/core/proxy.h"
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

/* The proxy settings of a configuration, resolved for one HTTPS client. */
struct lj_cfg_proxy {
    char url[LJ_PROXY_URL_MAX];     /* "http://HOST:PORT", "" = none */
    char no_proxy[LJ_NO_PROXY_MAX]; /* "" = none */
    char *user, *password;          /* secrets (the credentials file), or NULL */
    char error[300];                /* why, when not LJ_OK */
};

/*
 * Resolve cfg's proxy into *px and point hc's proxy fields at it: "none"
 * leaves them NULL; "env" takes https_proxy (else HTTPS_PROXY, all_proxy,
 * ALL_PROXY; a value without a scheme gets http://) and no_proxy (else
 * NO_PROXY; else cfg's no_proxy) from the environment, checked like the
 * configuration's (core/proxy.h); a URL is used as is, with cfg's no_proxy.  The credentials
 * file, when set, is read now.  LJ_ERR_PROXY when the environment's proxy
 * is not a usable URL (or holds credentials), LJ_ERR_PROXY_AUTH when the
 * credentials file cannot be used, both with px->error saying why and
 * px->url naming the proxy; LJ_ERR_NOMEM.  px must outlive hc's use in
 * lj_http_new; call lj_cfg_proxy_wipe(px) afterwards, whatever the result.
 */
enum lj_rc lj_cfg_proxy(const struct lj_config *cfg, struct lj_cfg_proxy *px,
                        struct lj_http_config *hc);

/* Wipe and free px's credentials (px may be partly filled). */
void lj_cfg_proxy_wipe(struct lj_cfg_proxy *px);

#endif
