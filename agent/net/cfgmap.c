/*
 * cfgmap.c — configuration to tpm_open_opts and lj_http_config (see cfgmap.h).
 */
#include "agent/net/cfgmap.h"

#include <string.h>

void
lj_cfg_tpm_opts(const struct lj_config *cfg, bool with_state, struct tpm_open_opts *to)
{
    memset(to, 0, sizeof(*to));
    to->state_dir = with_state ? cfg->state_dir : NULL;
    to->tcti = cfg->tcti[0] != '\0' ? cfg->tcti : NULL;
    to->provider = cfg->key_provider == LJ_KEYS_SOFT ? TPM_PROVIDER_SOFT : TPM_PROVIDER_TPM;
    to->timeout_s = cfg->tpm_timeout;
    to->seal_max_age_s = (long)cfg->sealed_max_age_days * 86400L;
}

void
lj_cfg_http(const struct lj_config *cfg, const char *ct[LJ_CONFIG_MAX_CONNECT_TO],
            struct lj_http_config *hc)
{
    memset(hc, 0, sizeof(*hc));
    for (int i = 0; i < cfg->n_connect_to && i < LJ_CONFIG_MAX_CONNECT_TO; i++)
        ct[i] = cfg->connect_to[i];
    hc->ca_file = cfg->ca_file;
    hc->connect_to = ct;
    hc->n_connect_to = (size_t)cfg->n_connect_to;
    hc->connect_timeout = cfg->connect_timeout;
    hc->request_timeout = cfg->request_timeout;
}
