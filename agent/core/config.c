/*
 * config.c — defaults, INI file (libinih) and flags into struct lj_config.
 *
 * Design note: one table lists every key with its kind, its place in the
 * struct and its flag help; the file handler and the flag parser both go
 * through lj_config_set(), so a key is validated the same way wherever it
 * comes from.  The file is read whole (capped) and fed to libinih through a
 * reader that counts lines, so every error names FILE:LINE.  Values are
 * checked at configuration time: URLs must be https (a plain-http URL is
 * refused here, not at first use), connect_to must be curl's
 * HOST:PORT:HOST:PORT, enums and numbers within their sets.
 */
#include "agent/core/config.h"
#include "agent/core/config_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "agent/core/proxy.h"
#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "tpm/tpm.h"
#include "platform/common/text.h"
#include "platform/testhook.h"

#define MOD "config"

enum key_kind {
    K_URL,      /* https only */
    K_REDIRECT, /* custom scheme, https, or http loopback */
    K_TENANT,
    K_GUID,
    K_SIGNIN,
    K_MDM,
    K_KEYPROV,
    K_UI,
    K_ABSPATH,     /* absolute path, required */
    K_ABSPATH_OPT, /* absolute path or "" */
    K_PATH_OPT,    /* any path or "" */
    K_TCTI,
    K_CONNECT_TO,
    K_TEXT_OPT, /* printable text or "" */
    K_USERNAME,
    K_LOGLEVEL,
    K_INT,
    K_BOOL,        /* yes | no */
    K_GROUP,       /* a group name or "" */
    K_DOTTED_QUAD, /* Windows version, "10.0.26100.1" */
    K_PROXY,       /* none | env | http://HOST:PORT */
    K_NOPROXY,     /* "*" or hosts, domains, addresses */
    K_LOCALE,      /* a BCP 47 language tag (en, de-DE) */
};

struct key_def {
    const char *name;
    enum key_kind kind;
    size_t off;  /* offsetof into struct lj_config */
    size_t size; /* char array size, or 0 */
    int min, max;
    const char *help;
};

#define STR(field) offsetof(struct lj_config, field), sizeof(((struct lj_config *)0)->field)
#define NUM(field) offsetof(struct lj_config, field), 0

static const struct key_def keys[] = {
    {"authority", K_URL, STR(authority), 0, 0, "https URL of the Entra authority"},
    {"tenant", K_TENANT, STR(tenant), 0, 0, "tenant domain, id, or 'organizations'"},
    {"client_id", K_GUID, STR(client_id), 0, 0, "OAuth client (application) id"},
    {"signin", K_SIGNIN, NUM(signin), 0, 0, "device_code | auth_code | password"},
    {"redirect_uri", K_REDIRECT, STR(redirect_uri), 0, 0, "redirect URI for auth_code sign-in"},
    {"drs_url", K_URL, STR(drs_url), 0, 0, "https URL of the Device Registration Service"},
    {"mdm_url", K_URL, STR(mdm_url), 0, 0, "https URL of the MDM (Intune) enrollment service"},
    {"mdm", K_MDM, NUM(mdm), 0, 0,
     "required | optional: does an Intune refusal leave setup incomplete"},
    {"state_dir", K_ABSPATH, STR(state_dir), 0, 0, "state directory (journal, key blobs)"},
    {"tcti", K_TCTI, STR(tcti), 0, 0, "TPM TCTI (device:/dev/tpmrm0, swtpm:host=...,port=...)"},
    {"tpm_raw_device", K_BOOL, NUM(tpm_raw_device), 0, 0,
     "yes: allow tcti = device:/dev/tpmN (no resource manager)"},
    {"key_provider", K_KEYPROV, NUM(key_provider), 0, 0, "tpm | soft (soft: test builds only)"},
    {"ca_file", K_PATH_OPT, STR(ca_file), 0, 0,
     "PEM CA bundle to trust instead of the system store"},
    {"connect_to", K_CONNECT_TO, 0, 0, 0, 0, "HOST:PORT:HOST:PORT (curl syntax; repeatable)"},
    {"ui", K_UI, NUM(ui), 0, 0, "socket | stdio | tty"},
    {"ui_socket", K_ABSPATH, STR(ui_socket), 0, 0, "Unix socket path for --ui socket"},
    {"ui_group", K_GROUP, STR(ui_group), 0, 0,
     "group whose members may connect to the UI socket (mode 0660); empty: root and the "
     "agent's user only (mode 0600)"},
    {"locale", K_LOCALE, STR(locale), 0, 0,
     "language of the tty UI's texts (BCP 47: en, de-DE, fr, ja; others are English)"},
    {"token_socket", K_ABSPATH, STR(token_socket), 0, 0,
     "the token broker's Unix socket (linkjoin-token.socket), for 'linkjoin token'"},
    {"display_name", K_TEXT_OPT, STR(display_name), 0, 0,
     "device name in Entra (empty: LINK-<serial>, or LINK-DEVICE without a serial)"},
    {"log_level", K_LOGLEVEL, STR(log_level), 0, 0, "error | warn | info | debug"},
    {"username", K_USERNAME, STR(username), 0, 0, "user name for password sign-in"},
    {"password_file", K_ABSPATH_OPT, STR(password_file), 0, 0,
     "file holding the password (read at use time; 0600/0400, owned by linkjoin's user)"},
    {"password_file_remove", K_BOOL, NUM(password_file_remove), 0, 0,
     "yes: delete password_file once Entra answered the sign-in"},
    {"manufacturer", K_TEXT_OPT, STR(manufacturer), 0, 0, "override the DMI manufacturer"},
    {"model", K_TEXT_OPT, STR(model), 0, 0, "override the DMI model"},
    {"serial", K_TEXT_OPT, STR(serial), 0, 0, "override the DMI serial number"},
    {"os_version", K_DOTTED_QUAD, STR(os_version), 0, 0,
     "Windows version presented to DRS and Intune (major.minor.build.revision)"},
    {"os_edition", K_INT, NUM(os_edition), 1, 65535,
     "Windows edition (product type) presented to Intune as OSEdition"},
    {"proxy", K_PROXY, STR(proxy), 0, 0, "none | env | http://HOST:PORT (HTTPS through CONNECT)"},
    {"no_proxy", K_NOPROXY, STR(no_proxy), 0, 0, "hosts reached without the proxy (comma list, *)"},
    {"proxy_credentials_file", K_ABSPATH_OPT, STR(proxy_credentials_file), 0, 0,
     "file holding USER:PASSWORD for the proxy (read at use time)"},
    {"connect_timeout", K_INT, NUM(connect_timeout), 1, 300, "TCP+TLS connect timeout, seconds"},
    {"request_timeout", K_INT, NUM(request_timeout), 1, 3600, "whole-request timeout, seconds"},
    {"retry_wait", K_INT, NUM(retry_wait), 0, 86400,
     "seconds the UI may send retry after a failure (0: exit at once)"},
    {"tpm_timeout", K_INT, NUM(tpm_timeout), 1, 3600,
     "give up on a TPM command after this many seconds"},
    {"sealed_max_age_days", K_INT, NUM(sealed_max_age_days), 1, 90,
     "days a kept (TPM-sealed) sign-in may be used for the Intune retry"},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const signin_names[] = {"device_code", "auth_code", "password"};
static const char *const mdm_names[] = {"required", "optional"};

const char *
lj_mdm_mode_name(enum lj_mdm_mode m)
{
    return (unsigned)m < 2 ? mdm_names[m] : "unknown";
}
static const char *const keyprov_names[] = {"tpm", "soft"};
static const char *const ui_names[] = {"socket", "stdio", "tty"};

const char *
lj_signin_name(enum lj_signin s)
{
    return (unsigned)s < 3 ? signin_names[s] : "unknown";
}

const char *
lj_key_provider_name(enum lj_key_provider k)
{
    return (unsigned)k < 2 ? keyprov_names[k] : "unknown";
}

const char *
lj_ui_kind_name(enum lj_ui_kind u)
{
    return (unsigned)u < 3 ? ui_names[u] : "unknown";
}

void
lj_config_defaults(struct lj_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->authority, sizeof(cfg->authority), "https://login.microsoftonline.com");
    snprintf(cfg->tenant, sizeof(cfg->tenant), "organizations");
    snprintf(cfg->client_id, sizeof(cfg->client_id), "%s", LJ_CONFIG_BROKER_CLIENT_ID);
    cfg->signin = LJ_SIGNIN_DEVICE_CODE;
    cfg->mdm = LJ_MDM_REQUIRED;
    snprintf(cfg->redirect_uri, sizeof(cfg->redirect_uri), "ms-aadj-redir://auth/drs");
    snprintf(cfg->drs_url, sizeof(cfg->drs_url), "https://enterpriseregistration.windows.net");
    snprintf(cfg->mdm_url, sizeof(cfg->mdm_url), "https://enrollment.manage.microsoft.com");
    snprintf(cfg->state_dir, sizeof(cfg->state_dir), "/var/lib/linkjoin");
    snprintf(cfg->tcti, sizeof(cfg->tcti), "device:/dev/tpmrm0");
    cfg->key_provider = LJ_KEYS_TPM;
    cfg->ui = LJ_UI_SOCKET;
    snprintf(cfg->ui_socket, sizeof(cfg->ui_socket), "/run/linkjoin/ui.sock");
    snprintf(cfg->token_socket, sizeof(cfg->token_socket), "/run/linkjoin/token.sock");
    snprintf(cfg->log_level, sizeof(cfg->log_level), "warn");
    snprintf(cfg->locale, sizeof(cfg->locale), "en");
    snprintf(cfg->os_version, sizeof(cfg->os_version), "%s", LJ_CONFIG_OS_VERSION_DEFAULT);
    snprintf(cfg->proxy, sizeof(cfg->proxy), "none");
    cfg->os_edition = LJ_CONFIG_OS_EDITION_DEFAULT;
    cfg->connect_timeout = 10;
    cfg->request_timeout = 60;
    cfg->retry_wait = 900;
    cfg->tpm_timeout = TPM_DEFAULT_TIMEOUT_S;
    cfg->sealed_max_age_days = (int)(TPM_SEAL_MAX_AGE_DEFAULT_S / 86400);
}

/* ---- value checks: each returns NULL when fine, else a short reason ---- */

/* A BCP 47 tag as UIs send it: 2-8 letters, then subtags of 1-8 letters or digits. */
static const char *
check_locale(const char *v)
{
    size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");

    if (n < 2 || n > 8)
        return "must be a language tag such as en, de-DE or ja";
    for (v += n; *v != '\0'; v += n) {
        if (*v != '-' && *v != '_')
            return "must be a language tag such as en, de-DE or ja";
        v++;
        n = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        if (n < 1 || n > 8)
            return "must be a language tag such as en, de-DE or ja";
    }
    return NULL;
}

static bool
printable(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

/*
 * Can `key = value` carry this value through libinih unchanged?  It strips
 * spaces around the value and takes ';' after whitespace as a comment, so
 * "key =;x" read ";x" but lj_config_dump's "key = ;x" reads back "" (found by
 * fuzz_config).  Refusing such values keeps file, flags and dump agreeing.
 */
static bool
ini_safe(const char *s)
{
    size_t n = strlen(s);

    if (n == 0)
        return true;
    if (s[0] == ';' || isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 1; i < n; i++) {
        if (s[i] == ';' && isspace((unsigned char)s[i - 1]))
            return false;
    }
    return true;
}

static bool
hostname_ok(const char *h, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    if (h[0] == '[') { /* IPv6 literal */
        if (n < 3 || h[n - 1] != ']')
            return false;
        for (size_t i = 1; i + 1 < n; i++) {
            if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
                return false;
        }
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!isalnum(c) && c != '-' && c != '.' && c != '_')
            return false;
    }
    return h[0] != '.' && h[0] != '-';
}

static bool
port_ok(const char *p, size_t n, bool empty_ok)
{
    long v = 0;

    if (n == 0)
        return empty_ok;
    if (n > 5)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return false;
        v = v * 10 + (p[i] - '0');
    }
    return v >= 1 && v <= 65535;
}

/* "https://host[:port][/path]" with no query, fragment, userinfo or spaces. */
static const char *
check_https_url(const char *v)
{
    const char *host, *end, *hend;

    if (strncasecmp(v, "http://", 7) == 0)
        return "plain http is not allowed (use https://)";
    if (strncasecmp(v, "https://", 8) != 0)
        return "must be an https:// URL";
    if (!printable(v) || strpbrk(v, " \t?#@\\") != NULL)
        return "must be an https:// URL without spaces, query, fragment or user info";
    host = v + 8;
    end = strchr(host, '/');
    if (end == NULL)
        end = host + strlen(host);
    if (host[0] == '[') {
        hend = memchr(host, ']', (size_t)(end - host));
        hend = hend ? hend + 1 : end;
    } else {
        hend = memchr(host, ':', (size_t)(end - host));
        if (hend == NULL)
            hend = end;
    }
    if (!hostname_ok(host, (size_t)(hend - host)))
        return "has no valid host name";
    if (hend < end && (*hend != ':' || !port_ok(hend + 1, (size_t)(end - hend - 1), false)))
        return "has a bad port";
    return NULL;
}

bool
lj_config_is_loopback_redirect(const char *v)
{
    static const char *const loopback[] = {"http://127.0.0.1", "http://localhost", "http://[::1]"};

    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(loopback[i]);
        if (strncasecmp(v, loopback[i], n) == 0 && (v[n] == '\0' || v[n] == ':' || v[n] == '/'))
            return true;
    }
    return false;
}

static const char *
check_redirect(const char *v)
{
    const char *p = v;

    if (!printable(v) || strpbrk(v, " \t") != NULL)
        return "must be a URI without spaces";
    if (strncasecmp(v, "https://", 8) == 0)
        return check_https_url(v);
    if (strncasecmp(v, "http://", 7) == 0) {
        if (lj_config_is_loopback_redirect(v))
            return NULL;
        return "plain http is allowed only for a loopback redirect (http://127.0.0.1:PORT/...)";
    }
    /* A custom scheme such as ms-aadj-redir:// (RFC 3986 scheme syntax). */
    if (!isalpha((unsigned char)*p))
        return "must start with a URI scheme";
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    if (strncmp(p, "://", 3) != 0 || p[3] == '\0')
        return "must be SCHEME://...";
    return NULL;
}

static const char *
check_tenant(const char *v)
{
    size_t n = strlen(v);

    if (strcmp(v, "organizations") == 0 || lj_is_guid(v))
        return NULL;
    if (n == 0 || n > 253 || strchr(v, '.') == NULL || !hostname_ok(v, n) || v[0] == '[' ||
        v[n - 1] == '.')
        return "must be a domain name (contoso.com), a tenant id (GUID) or 'organizations'";
    return NULL;
}

/* curl CONNECT_TO: HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT; hosts and ports may be empty. */
static const char *
check_connect_to(const char *v)
{
    const char *f[4], *p = v;
    size_t len[4];

    for (int i = 0; i < 4; i++) {
        const char *end;
        if (i % 2 == 0 && *p == '[') {
            end = strchr(p, ']');
            if (end == NULL)
                return "has an unterminated [IPv6] host";
            end++;
        } else {
            end = strchr(p, ':');
            if (end == NULL)
                end = p + strlen(p);
            if (i < 3 && *end != ':')
                return "must be HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT";
        }
        if (i == 3 && *end != '\0')
            return "has more than four fields";
        if (i < 3 && *end != ':')
            return "must be HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT";
        f[i] = p;
        len[i] = (size_t)(end - p);
        p = *end == ':' ? end + 1 : end;
    }
    if (len[0] != 0 && !hostname_ok(f[0], len[0]))
        return "has a bad host name in field 1";
    if (!port_ok(f[1], len[1], true))
        return "has a bad port in field 2";
    if (len[2] != 0 && !hostname_ok(f[2], len[2]))
        return "has a bad host name in field 3";
    if (!port_ok(f[3], len[3], true))
        return "has a bad port in field 4";
    if (len[2] == 0 && len[3] == 0)
        return "maps to nothing (fields 3 and 4 are empty)";
    return NULL;
}

static const char *
check_tcti(const char *v)
{
    static const char *const mods[] = {"device", "swtpm", "mssim", "tabrmd", "libtpms"};
    const char *colon = strchr(v, ':');
    size_t n = colon ? (size_t)(colon - v) : strlen(v);

    if (!printable(v) || strpbrk(v, " \t") != NULL)
        return "must not contain spaces";
    for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
        if (strlen(mods[i]) == n && strncmp(v, mods[i], n) == 0)
            return NULL;
    }
    return "must be device:PATH, swtpm:host=H,port=P, mssim:..., tabrmd:... or libtpms:...";
}

static const char *
check_enum(const char *v, const char *const *names, size_t n, int *out)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v, names[i]) == 0) {
            *out = (int)i;
            return NULL;
        }
    }
    return "is not one of the allowed values";
}

static const char *
check_int(const char *v, int min, int max, int *out)
{
    char *end = NULL;
    long n;

    errno = 0;
    if (!isdigit((unsigned char)v[0]))
        return "must be a whole number";
    n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0')
        return "must be a whole number";
    if (n < min || n > max)
        return "is out of range";
    *out = (int)n;
    return NULL;
}

static const struct key_def *
find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    }
    return NULL;
}

enum lj_rc
lj_config_fail(struct lj_config *cfg, const char *origin, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(cfg->error, sizeof(cfg->error), "%s: %s", origin, msg);
    return lj_err_set(LJ_ERR_CONFIG, MOD, "event=config_invalid detail=\"%s\"", cfg->error);
}

static const char *
allowed_values(enum key_kind k)
{
    switch (k) {
    case K_SIGNIN: return " (device_code, auth_code or password)";
    case K_MDM: return " (required or optional)";
    case K_KEYPROV: return " (tpm or soft)";
    case K_UI: return " (socket, stdio or tty)";
    case K_LOGLEVEL: return " (error, warn, info or debug)";
    case K_BOOL: return " (yes or no)";
    default: return "";
    }
}

enum lj_rc
lj_config_set(struct lj_config *cfg, const char *key, const char *value, const char *origin)
{
    const struct key_def *k = find_key(key);
    const char *why = NULL;
    char *dst;
    int iv = 0;
    char range[64];
    enum lj_log_level lvl;

    if (k == NULL) {
        if (strcmp(key, "password") == 0)
            return lj_config_fail(cfg, origin,
                                  "key '%s' is not allowed: the password comes from the UI or "
                                  "from password_file",
                                  key);
        return lj_config_fail(cfg, origin, "unknown key '%s'", key);
    }
    dst = k->size ? (char *)cfg + k->off : NULL;
    if (k->size && strlen(value) >= k->size)
        return lj_config_fail(cfg, origin, "bad value for '%s': too long (max %zu characters)", key,
                              k->size - 1);
    if (!printable(value))
        return lj_config_fail(cfg, origin, "bad value for '%s': contains control characters", key);
    /* lj_config_dump writes "key = value": it must fit a file line (fuzz_config). */
    if (strlen(key) + 3 + strlen(value) > LJ_CONFIG_MAX_LINE)
        return lj_config_fail(cfg, origin, "bad value for '%s': too long (max %zu characters)", key,
                              (size_t)LJ_CONFIG_MAX_LINE - strlen(key) - 3);
    if (!ini_safe(value))
        return lj_config_fail(cfg, origin,
                              "bad value for '%s': starts with ';', has ' ;' or leading or "
                              "trailing spaces (the config file cannot hold it)",
                              key);

    switch (k->kind) {
    case K_URL: why = check_https_url(value); break;
    case K_REDIRECT: why = check_redirect(value); break;
    case K_TENANT: why = check_tenant(value); break;
    case K_GUID: why = lj_is_guid(value) ? NULL : "must be a GUID"; break;
    case K_SIGNIN: why = check_enum(value, signin_names, 3, &iv); break;
    case K_MDM: why = check_enum(value, mdm_names, 2, &iv); break;
    case K_KEYPROV: why = check_enum(value, keyprov_names, 2, &iv); break;
    case K_UI: why = check_enum(value, ui_names, 3, &iv); break;
    case K_ABSPATH: why = value[0] == '/' ? NULL : "must be an absolute path"; break;
    case K_ABSPATH_OPT:
        why = value[0] == '\0' || value[0] == '/' ? NULL : "must be an absolute path";
        break;
    case K_PATH_OPT:
    case K_TEXT_OPT: break;
    case K_TCTI: why = check_tcti(value); break;
    case K_CONNECT_TO:
        why = check_connect_to(value);
        if (why == NULL && cfg->n_connect_to >= LJ_CONFIG_MAX_CONNECT_TO)
            why = "given too many times (max 16)";
        if (why == NULL && strlen(value) >= LJ_CONFIG_URL_MAX)
            why = "is too long";
        break;
    case K_USERNAME: why = strpbrk(value, " \t") == NULL ? NULL : "must not contain spaces"; break;
    case K_LOGLEVEL:
        why = lj_log_parse_level(value, &lvl) ? NULL : "is not one of the allowed values";
        break;
    case K_INT: why = check_int(value, k->min, k->max, &iv); break;
    case K_BOOL:
        iv = strcmp(value, "yes") == 0;
        why = iv || strcmp(value, "no") == 0 ? NULL : "must be yes or no";
        break;
    case K_GROUP:
        why = value[0] == '\0' ||
                      (strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(value) &&
                       value[0] != '-')
                  ? NULL
                  : "must be a group name (a-z, 0-9, '_' and '-')";
        break;
    case K_PROXY:
        why = strcmp(value, "none") == 0 || strcmp(value, "env") == 0 ? NULL
                                                                      : lj_proxy_url_check(value);
        break;
    case K_NOPROXY: why = lj_no_proxy_check(value); break;
    case K_LOCALE: why = check_locale(value); break;
    case K_DOTTED_QUAD:
        why = lj_is_dotted_quad(value) ? NULL
                                       : "must be a Windows version, four numbers 0..65535 "
                                         "joined by dots (e.g. " LJ_CONFIG_OS_VERSION_DEFAULT ")";
        break;
    }
    if (why != NULL) {
        char msg[200];
        if (k->kind == K_INT)
            snprintf(range, sizeof(range), " (%d..%d)", k->min, k->max);
        else
            snprintf(range, sizeof(range), "%s", allowed_values(k->kind));
        snprintf(msg, sizeof(msg), "%s%s", why, range);
        return lj_config_fail(cfg, origin, "bad value for '%s': %s", key, msg);
    }

    switch (k->kind) {
    case K_SIGNIN: cfg->signin = (enum lj_signin)iv; break;
    case K_MDM: cfg->mdm = (enum lj_mdm_mode)iv; break;
    case K_KEYPROV: cfg->key_provider = (enum lj_key_provider)iv; break;
    case K_UI: cfg->ui = (enum lj_ui_kind)iv; break;
    case K_INT: *(int *)(void *)((char *)cfg + k->off) = iv; break;
    case K_BOOL: *(bool *)(void *)((char *)cfg + k->off) = iv != 0; break;
    case K_CONNECT_TO:
        snprintf(cfg->connect_to[cfg->n_connect_to], LJ_CONFIG_URL_MAX, "%s", value);
        cfg->n_connect_to++;
        break;
    case K_URL: {
        size_t n = strlen(value);
        snprintf(dst, k->size, "%s", value);
        while (n > 8 && dst[n - 1] == '/')
            dst[--n] = '\0';
        break;
    }
    default: snprintf(dst, k->size, "%s", value); break;
    }
    return LJ_OK;
}

/* ---- INI file ---- */

struct ini_ctx {
    struct lj_config *cfg;
    const char *path;
    const char *p, *end; /* unread part of the file */
    int line;            /* number of the line last handed to libinih */
    int err_line;        /* first error we reported, 0 = none */
    int section_line;    /* line of the last [section] header */
    bool seen[NKEYS];
};

static char *
ini_reader_mem(char *str, int num, void *stream)
{
    struct ini_ctx *c = stream;
    const char *nl;
    size_t n;

    if (c->p >= c->end || num <= 1)
        return NULL;
    nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
    n = nl ? (size_t)(nl - c->p) + 1 : (size_t)(c->end - c->p);
    if (n > (size_t)num - 1)
        n = (size_t)num - 1; /* cannot happen: lines were checked */
    memcpy(str, c->p, n);
    str[n] = '\0';
    c->p += n;
    c->line++;
    if (str[strspn(str, " \t")] == '[')
        c->section_line = c->line;
    return str;
}

static int
cfg_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *c = user;
    char origin[LJ_CONFIG_PATH_MAX + 16];
    const struct key_def *k;

    if (c->err_line != 0)
        return 0;
    snprintf(origin, sizeof(origin), "%s:%d", c->path, c->line);
    if (section[0] != '\0' && strcmp(section, "linkjoin") != 0) {
        snprintf(origin, sizeof(origin), "%s:%d", c->path, c->section_line);
        lj_config_fail(c->cfg, origin, "unknown section '[%s]' (use [linkjoin] or none)", section);
        c->err_line = c->line;
        return 0;
    }
    k = find_key(name);
    if (k != NULL && k->kind != K_CONNECT_TO) {
        size_t idx = (size_t)(k - keys);
        if (c->seen[idx]) {
            lj_config_fail(c->cfg, origin, "key '%s' given twice", name);
            c->err_line = c->line;
            return 0;
        }
        c->seen[idx] = true;
    }
    if (lj_config_set(c->cfg, name, value, origin) != LJ_OK) {
        c->err_line = c->line;
        return 0;
    }
    return 1;
}

enum lj_rc
lj_config_load_text(struct lj_config *cfg, const char *path, const char *text, size_t len)
{
    const unsigned char *buf = (const unsigned char *)text;
    size_t line_start = 0;
    struct ini_ctx ctx;
    enum lj_rc rc;
    int line = 1, ini_rc;
    struct lj_config work;

    if (len > LJ_CONFIG_MAX_FILE) {
        rc = lj_config_fail(cfg, path, "file too large (max 64 KiB)");
        goto out;
    }
    /* Check lines before libinih sees them: its buffer would split long ones. */
    for (size_t i = 0; i <= len; i++) {
        if (i < len && buf[i] == '\0') {
            char origin[LJ_CONFIG_PATH_MAX + 16];
            snprintf(origin, sizeof(origin), "%s:%d", path, line);
            rc = lj_config_fail(cfg, origin, "NUL byte in file");
            goto out;
        }
        if (i == len || buf[i] == '\n') {
            size_t n = i - line_start;
            if (n > 0 && buf[i - 1] == '\r')
                n--;
            if (n > LJ_CONFIG_MAX_LINE) {
                char origin[LJ_CONFIG_PATH_MAX + 16];
                snprintf(origin, sizeof(origin), "%s:%d", path, line);
                rc = lj_config_fail(cfg, origin, "line too long (max %d characters)",
                                    LJ_CONFIG_MAX_LINE);
                goto out;
            }
            line++;
            line_start = i + 1;
        }
    }
    work = *cfg;
    memset(&ctx, 0, sizeof(ctx));
    ctx.cfg = &work;
    ctx.path = path;
    ctx.p = (const char *)buf;
    ctx.end = (const char *)buf + len;
    ini_rc = ini_parse_stream(ini_reader_mem, &ctx, cfg_ini_handler, &ctx);
    if (ctx.err_line != 0 && (ini_rc <= 0 || ctx.err_line <= ini_rc)) {
        snprintf(cfg->error, sizeof(cfg->error), "%s", work.error);
        rc = LJ_ERR_CONFIG;
        goto out;
    }
    if (ini_rc != 0) {
        char origin[LJ_CONFIG_PATH_MAX + 16];
        snprintf(origin, sizeof(origin), "%s:%d", path, ini_rc);
        rc = lj_config_fail(cfg, origin, "syntax error (expected 'key = value' or '[linkjoin]')");
        goto out;
    }
    work.error[0] = '\0';
    snprintf(work.config_path, sizeof(work.config_path), "%s", path);
    *cfg = work;
    rc = LJ_OK;
out:
    return rc;
}

enum lj_rc
lj_config_load_file(struct lj_config *cfg, const char *path, bool explicit_path)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    enum lj_rc rc;

    rc = lj_fs_read(path, LJ_CONFIG_MAX_FILE, &buf, &len);
    if (rc == LJ_ERR_NOT_FOUND && !explicit_path) {
        rc = LJ_OK;
        goto out;
    }
    if (rc != LJ_OK) {
        const char *why = rc == LJ_ERR_NOT_FOUND ? "no such file"
                          : rc == LJ_ERR_TOO_BIG ? "file too large (max 64 KiB)"
                                                 : "cannot read the file";
        rc = lj_config_fail(cfg, path, "%s", why);
        goto out;
    }
    rc = lj_config_load_text(cfg, path, (const char *)buf, len);
out:
    free(buf);
    return rc;
}

/* ---- flags ---- */

/* "--connect-to" -> "connect_to"; false when arg is not a --flag. */
static bool
flag_to_key(const char *arg, char *key, size_t ksz, const char **inline_value)
{
    size_t i = 0;
    const char *p;

    *inline_value = NULL;
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
        return false;
    for (p = arg + 2; *p != '\0' && *p != '='; p++) {
        if (i + 1 >= ksz)
            return false;
        key[i++] = *p == '-' ? '_' : *p;
    }
    key[i] = '\0';
    if (*p == '=')
        *inline_value = p + 1;
    return true;
}

enum lj_rc
lj_config_from_args(struct lj_config *cfg, int argc, char **argv, int *rest_argc, char **rest_argv)
{
    const char *path = LJ_CONFIG_DEFAULT_PATH;
    bool explicit_path = false, cleared_connect_to = false, done = false;
    int nrest = 0;
    enum lj_rc rc;

    lj_config_defaults(cfg);
    /* First pass: --config only, so flags override the file whatever the order. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc)
                return lj_config_fail(cfg, "--config", "needs a value");
            path = argv[++i];
            explicit_path = true;
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
            explicit_path = true;
        }
    }
    rc = lj_config_load_file(cfg, path, explicit_path);
    if (rc != LJ_OK)
        return rc;

    if (argc > 0)
        rest_argv[nrest++] = argv[0];
    for (int i = 1; i < argc; i++) {
        char key[64], origin[80];
        const char *value;

        if (done || strcmp(argv[i], "--") == 0) {
            done = true;
            rest_argv[nrest++] = argv[i];
            continue;
        }
        if (strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        if (strncmp(argv[i], "--config=", 9) == 0)
            continue;
        if (!flag_to_key(argv[i], key, sizeof(key), &value) || find_key(key) == NULL) {
            if (flag_to_key(argv[i], key, sizeof(key), &value) && strcmp(key, "password") == 0)
                return lj_config_fail(cfg, "--password",
                                      "not allowed: a password on the command line is visible to "
                                      "every user; use password_file or the UI");
            rest_argv[nrest++] = argv[i];
            continue;
        }
        snprintf(origin, sizeof(origin), "%.*s", (int)(strcspn(argv[i], "=")), argv[i]);
        if (value == NULL) {
            if (i + 1 >= argc)
                return lj_config_fail(cfg, origin, "needs a value");
            value = argv[++i];
        }
        if (strcmp(key, "connect_to") == 0 && !cleared_connect_to) {
            cfg->n_connect_to = 0; /* flags replace the file's list */
            cleared_connect_to = true;
        }
        rc = lj_config_set(cfg, key, value, origin);
        if (rc != LJ_OK)
            return rc;
    }
    rest_argv[nrest] = NULL;
    *rest_argc = nrest;
    rc = lj_config_validate(cfg);
    if (rc == LJ_OK) {
        /* log_level (file or --log-level) takes effect for every command that reads config. */
        enum lj_log_level lvl;
        if (lj_log_parse_level(cfg->log_level, &lvl))
            lj_log_set_level(lvl);
    }
    return rc;
}

/* ---- output ---- */

void
lj_config_dump(const struct lj_config *cfg, FILE *f)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key_def *k = &keys[i];
        switch (k->kind) {
        case K_SIGNIN: fprintf(f, "%s = %s\n", k->name, lj_signin_name(cfg->signin)); break;
        case K_MDM: fprintf(f, "%s = %s\n", k->name, lj_mdm_mode_name(cfg->mdm)); break;
        case K_KEYPROV:
            fprintf(f, "%s = %s\n", k->name, lj_key_provider_name(cfg->key_provider));
            break;
        case K_UI: fprintf(f, "%s = %s\n", k->name, lj_ui_kind_name(cfg->ui)); break;
        case K_INT:
            fprintf(f, "%s = %d\n", k->name,
                    *(const int *)(const void *)((const char *)cfg + k->off));
            break;
        case K_BOOL:
            fprintf(f, "%s = %s\n", k->name,
                    *(const bool *)(const void *)((const char *)cfg + k->off) ? "yes" : "no");
            break;
        case K_CONNECT_TO:
            for (int j = 0; j < cfg->n_connect_to; j++)
                fprintf(f, "%s = %s\n", k->name, cfg->connect_to[j]);
            break;
        default:
            fprintf(f, "%s =%s%s\n", k->name, ((const char *)cfg + k->off)[0] ? " " : "",
                    (const char *)cfg + k->off);
            break;
        }
    }
}

/* The value placeholder --help shows after a key's flag. */
static const char *
metavar(const struct key_def *k)
{
    switch (k->kind) {
    case K_URL: return "URL";
    case K_REDIRECT: return "URI";
    case K_TENANT: return "TENANT";
    case K_GUID: return "GUID";
    case K_SIGNIN:
    case K_MDM:
    case K_KEYPROV:
    case K_UI:
    case K_LOGLEVEL: return "MODE";
    case K_ABSPATH:
    case K_ABSPATH_OPT:
    case K_PATH_OPT: return "PATH";
    case K_TCTI: return "TCTI";
    case K_CONNECT_TO: return "H:P:H:P";
    case K_USERNAME: return "UPN";
    case K_GROUP: return "GROUP";
    case K_BOOL: return "yes|no";
    case K_INT: return "N";
    case K_DOTTED_QUAD: return "A.B.C.D";
    case K_PROXY: return "none|env|URL";
    case K_NOPROXY: return "HOSTS";
    case K_LOCALE: return "LOCALE";
    case K_TEXT_OPT: break;
    }
    return "TEXT";
}

void
lj_config_usage(FILE *f)
{
    struct lj_config d;
    char *dump = NULL;
    size_t dlen = 0;
    FILE *m;

    /* the defaults, as `linkjoin config` prints them ("key = value" lines) */
    lj_config_defaults(&d);
    m = open_memstream(&dump, &dlen);
    if (m != NULL) {
        lj_config_dump(&d, m);
        fclose(m);
    }
    fprintf(f, "configuration (file keys use '_', flags use '-'; flags override the file):\n"
               "  --config FILE                INI file (default " LJ_CONFIG_DEFAULT_PATH ")\n");
    for (size_t i = 0; i < NKEYS; i++) {
        char flag[64], key[48];
        const char *dv = NULL, *end = NULL;
        size_t j;

        for (j = 0; keys[i].name[j] != '\0' && j + 1 < sizeof(flag); j++)
            flag[j] = keys[i].name[j] == '_' ? '-' : keys[i].name[j];
        flag[j] = '\0';
        snprintf(flag + strlen(flag), sizeof(flag) - strlen(flag), " %s", metavar(&keys[i]));
        snprintf(key, sizeof(key), "\n%s = ", keys[i].name);
        if (dump != NULL && dlen > 0) {
            const char *at = strstr(dump, key); /* "\nkey = " */

            if (strncmp(dump, key + 1, strlen(key + 1)) == 0) /* the first line */
                dv = dump + strlen(key + 1);
            else if (at != NULL)
                dv = at + strlen(key);
            end = dv != NULL ? strchr(dv, '\n') : NULL;
        }
        if (dv != NULL && end != NULL && end > dv)
            fprintf(f, "  --%-26s %s (default %.*s)\n", flag, keys[i].help, (int)(end - dv), dv);
        else
            fprintf(f, "  --%-26s %s\n", flag, keys[i].help);
    }
    free(dump);
}
