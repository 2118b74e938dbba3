/*
 * cfgmap.c — configuration to tpm_open_opts and lj_http_config (see cfgmap.h).
 */
#include "agent/net/cfgmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/common/log.h"
#include "platform/common/secmem.h"

#define MOD "config"

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

/* The first of names set (non-empty) in the environment, or NULL. */
static const char *
env_first(const char *const *names, const char **which)
{
    for (; *names != NULL; names++) {
        const char *v = getenv(*names);
        if (v != NULL && v[0] != '\0') {
            *which = *names;
            return v;
        }
    }
    return NULL;
}

/* "env": the proxy the environment names (curl's variables for https). */
static enum lj_rc
proxy_from_env(struct lj_cfg_proxy *px)
{
    static const char *const proxy_vars[] = {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                                             NULL};
    static const char *const no_vars[] = {"no_proxy", "NO_PROXY", NULL};
    const char *which = NULL, *v = env_first(proxy_vars, &which), *why;

    if (v == NULL) {
        lj_log(LJ_LOG_INFO, MOD, "event=proxy_env_none");
        return LJ_OK;
    }
    snprintf(px->url, sizeof(px->url), "%s%s", strstr(v, "://") != NULL ? "" : "http://", v);
    why = lj_proxy_url_check(px->url);
    if (why != NULL) {
        snprintf(px->error, sizeof(px->error), "%.20s in the environment %.200s", which, why);
        /* never echo a value that may hold a password */
        snprintf(px->url, sizeof(px->url), "%s", which);
        return LJ_ERR_PROXY;
    }
    v = env_first(no_vars, &which);
    if (v != NULL) {
        why = lj_no_proxy_check(v);
        if (why != NULL) {
            snprintf(px->error, sizeof(px->error), "%.20s in the environment %.200s", which, why);
            return LJ_ERR_PROXY;
        }
        snprintf(px->no_proxy, sizeof(px->no_proxy), "%s", v);
    }
    return LJ_OK;
}

enum lj_rc
lj_cfg_proxy(const struct lj_config *cfg, struct lj_cfg_proxy *px, struct lj_http_config *hc)
{
    enum lj_rc rc = LJ_OK;
    char why[160];

    memset(px, 0, sizeof(*px));
    if (strcmp(cfg->proxy, "none") == 0 || cfg->proxy[0] == '\0')
        return LJ_OK;
    if (strcmp(cfg->proxy, "env") == 0) {
        rc = proxy_from_env(px);
        if (px->no_proxy[0] == '\0') /* the environment's no_proxy wins when set */
            snprintf(px->no_proxy, sizeof(px->no_proxy), "%s", cfg->no_proxy);
    } else {
        snprintf(px->url, sizeof(px->url), "%s", cfg->proxy);
        snprintf(px->no_proxy, sizeof(px->no_proxy), "%s", cfg->no_proxy);
    }
    if (rc != LJ_OK || px->url[0] == '\0')
        return rc;
    if (cfg->proxy_credentials_file[0] != '\0') {
        rc = lj_proxy_credentials_read(cfg->proxy_credentials_file, &px->user, &px->password, why,
                                       sizeof(why));
        if (rc != LJ_OK) {
            /* the path is in the configuration and the log line below */
            snprintf(px->error, sizeof(px->error), "proxy_credentials_file %.160s", why);
            lj_log(LJ_LOG_ERROR, MOD, "event=proxy_credentials_unusable path=%s why=\"%s\"",
                   cfg->proxy_credentials_file, why);
            return rc == LJ_ERR_NOMEM ? rc : LJ_ERR_PROXY_AUTH;
        }
    }
    hc->proxy = px->url;
    hc->no_proxy = px->no_proxy;
    hc->proxy_user = px->user;
    hc->proxy_password = px->password;
    return LJ_OK;
}

void
lj_cfg_proxy_wipe(struct lj_cfg_proxy *px)
{
    if (px == NULL)
        return;
    lj_secret_free(px->user);
    lj_secret_free(px->password);
    px->user = px->password = NULL;
}
