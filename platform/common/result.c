/*
 * result.c — names for enum lj_rc and the per-thread first-error record.
 */
#include "platform/common/result.h"

#include <stdarg.h>
#include <stdio.h>

#include "platform/common/log.h"

static _Thread_local char err_text[512];
static _Thread_local enum lj_rc err_code;

const char *
lj_rc_name(enum lj_rc rc)
{
    switch (rc) {
    case LJ_OK: return "ok";
    case LJ_ERR_NOMEM: return "out_of_memory";
    case LJ_ERR_INVAL: return "invalid_argument";
    case LJ_ERR_IO: return "io_error";
    case LJ_ERR_PARSE: return "parse_error";
    case LJ_ERR_TOO_BIG: return "too_big";
    case LJ_ERR_NOT_FOUND: return "not_found";
    case LJ_ERR_TPM_UNREACHABLE: return "tpm_unreachable";
    case LJ_ERR_TPM_LOCKOUT: return "tpm_lockout";
    case LJ_ERR_TPM_WRONG_TPM: return "tpm_wrong_tpm";
    case LJ_ERR_TPM_OBJECT_MEMORY: return "tpm_object_memory";
    case LJ_ERR_TPM: return "tpm_error";
    case LJ_ERR_KEYS_CORRUPT: return "keys_corrupt";
    case LJ_ERR_CRYPTO: return "crypto_error";
    case LJ_ERR_NET_DNS: return "dns_failed";
    case LJ_ERR_NET_CONNECT: return "connect_failed";
    case LJ_ERR_NET_TIMEOUT: return "net_timeout";
    case LJ_ERR_TLS_UNTRUSTED: return "tls_untrusted";
    case LJ_ERR_TLS: return "tls_error";
    case LJ_ERR_HTTP: return "http_error";
    case LJ_ERR_PROTOCOL: return "protocol_error";
    case LJ_ERR_CANCELLED: return "cancelled";
    case LJ_ERR_CONFIG: return "config_error";
    case LJ_ERR_STATE: return "state_error";
    case LJ_ERR_UNSUPPORTED: return "unsupported";
    case LJ_ERR_INTERNAL: return "internal_error";
    case LJ_ERR_TLS_HOSTNAME: return "tls_hostname";
    case LJ_ERR_AUTH: return "auth_refused";
    case LJ_ERR_TPM_KEYS_LOST: return "tpm_keys_lost";
    case LJ_ERR_TIMEOUT: return "timeout";
    case LJ_ERR_PROXY: return "proxy_unreachable";
    case LJ_ERR_PROXY_AUTH: return "proxy_auth";
    case LJ_ERR_KEY_SCHEME: return "key_scheme";
    case LJ_ERR_SIG_UNSUPPORTED: return "sig_unsupported";
    case LJ_RC_COUNT__: break;
    }
    return "unknown";
}

enum lj_rc
lj_err_set(enum lj_rc rc, const char *module, const char *fmt, ...)
{
    char buf[sizeof(err_text)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    lj_log(LJ_LOG_ERROR, module, "rc=%s %s", lj_rc_name(rc), buf);
    if (err_text[0] == '\0') {
        snprintf(err_text, sizeof(err_text), "%s", buf);
        err_code = rc;
    }
    return rc;
}

const char *
lj_err_detail(void)
{
    return err_text;
}

enum lj_rc
lj_err_code(void)
{
    return err_code;
}

void
lj_err_clear(void)
{
    err_text[0] = '\0';
    err_code = LJ_OK;
}

void
lj_err_adopt(enum lj_rc rc, const char *detail)
{
    if (rc == LJ_OK || err_text[0] != '\0' || err_code != LJ_OK)
        return;
    snprintf(err_text, sizeof(err_text), "%s", detail != NULL ? detail : "");
    err_code = rc;
}
