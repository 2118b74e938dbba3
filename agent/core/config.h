/*
 * config.h — linkjoin's configuration: one struct, filled from defaults, then
 * the INI file, then command-line flags (flags win).
 *
 * File format (libinih): `key = value` lines, `#` or `;` comments at the start
 * of a line, `;` after whitespace starts an inline comment.  Keys may stand
 * before any section or in a `[linkjoin]` section; any other section is an
 * error.  Every key may appear once, except connect_to (repeatable, each
 * occurrence adds a mapping).  An empty value unsets an optional key.
 * Lines are at most LJ_CONFIG_MAX_LINE characters and the file at most
 * LJ_CONFIG_MAX_FILE bytes.  Errors name file, line and key:
 *   /etc/linkjoin/linkjoin.conf:12: unknown key 'foo'
 *
 * Flags: every key has `--key-with-hyphens VALUE` or `--key-with-hyphens=VALUE`
 * (connect_to is `--connect-to`, repeatable; flags replace the file's list).
 * `--config FILE` picks the file (default /etc/linkjoin/linkjoin.conf; a missing
 * default file is fine, a missing explicit one is an error).
 *
 * Secrets are never configuration: there is no password key or flag (a
 * `password` key is refused with a hint); password sign-in reads the password
 * from the UI's `credentials` message or from password_file at use time.
 */
#ifndef LJ_AGENT_CONFIG_H
#define LJ_AGENT_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "platform/common/result.h"

#define LJ_CONFIG_DEFAULT_PATH "/etc/linkjoin/linkjoin.conf"
#define LJ_CONFIG_MAX_FILE (64 * 1024)
#define LJ_CONFIG_MAX_LINE 196 /* libinih's line buffer is 200 with CR LF NUL */
#define LJ_CONFIG_MAX_CONNECT_TO 16

#define LJ_CONFIG_URL_MAX 256
#define LJ_CONFIG_PATH_MAX 256
#define LJ_CONFIG_NAME_MAX 128
/*
 * The Windows version the device presents to DRS (OSVersion) and Intune
 * (ApplicationVersion, the OSVersion context item): a dotted quad, as
 * [MS-MDE2] types it and as every public client sends one (AADInternals
 * 10.0.19041.804, ROADtools 10.0.19041.928, pytune 10.0.19045.2006).  The
 * default is Windows 11 24H2 (build 26100), the release Windows 365 Link
 * runs; Intune's OS version restrictions and filters compare it as
 * major.minor.build.revision.
 */
#define LJ_CONFIG_OS_VERSION_DEFAULT "10.0.26100.1"
/*
 * OSEdition: the Windows product type (GetProductInfo).  4 is Enterprise,
 * the value AADInternals sends and the "Enterprise" SKU of Intune's filter
 * table (memdocs filters/ref-device-properties.md).  The SKU number of
 * Windows 365 Link's own edition, which Intune's "Windows 365 Link" filter
 * matches, is not published; README.md "OS identity" says why 4 and how a
 * personally-owned block lets these devices through.
 */
#define LJ_CONFIG_OS_EDITION_DEFAULT 4
/* Microsoft Authentication Broker, the default client_id (the Windows join client). */
#define LJ_CONFIG_BROKER_CLIENT_ID "29d9ed98-a469-4536-ade2-f981bc1d605e"

enum lj_signin {
    LJ_SIGNIN_DEVICE_CODE = 0,
    LJ_SIGNIN_AUTH_CODE = 1,
    LJ_SIGNIN_PASSWORD = 2,
};

enum lj_key_provider {
    LJ_KEYS_TPM = 0,
    LJ_KEYS_SOFT = 1, /* software keys: tests only, never a default */
};

enum lj_ui_kind {
    LJ_UI_SOCKET = 0,
    LJ_UI_STDIO = 1,
    LJ_UI_TTY = 2,
};

enum lj_mdm_mode {
    LJ_MDM_REQUIRED = 0,
    LJ_MDM_OPTIONAL = 1,
};

/* Plain data: copy freely, nothing to free. Strings are NUL-terminated; "" = unset. */
struct lj_config {
    char authority[LJ_CONFIG_URL_MAX]; /* https URL, no trailing slash */
    char tenant[LJ_CONFIG_NAME_MAX];   /* domain, GUID or "organizations" */
    char client_id[40];                /* GUID */
    enum lj_signin signin;
    char redirect_uri[LJ_CONFIG_URL_MAX]; /* custom scheme, https, or http loopback */
    char drs_url[LJ_CONFIG_URL_MAX];      /* https */
    char mdm_url[LJ_CONFIG_URL_MAX];      /* https */
    char state_dir[LJ_CONFIG_PATH_MAX];   /* absolute */
    char tcti[LJ_CONFIG_PATH_MAX];
    bool tpm_raw_device; /* allow tcti = device:/dev/tpmN (no resource manager) */
    enum lj_key_provider key_provider;
    char ca_file[LJ_CONFIG_PATH_MAX]; /* "" = system trust store */
    char connect_to[LJ_CONFIG_MAX_CONNECT_TO][LJ_CONFIG_URL_MAX];
    int n_connect_to;
    enum lj_ui_kind ui;
    char ui_socket[108];    /* absolute; fits sun_path */
    char ui_group[33];      /* "" = socket 0600 (root and the agent's user only); else 0660 */
    char token_socket[108]; /* absolute; the token broker's socket (fits sun_path) */
    char display_name[LJ_CONFIG_NAME_MAX];
    char log_level[8];                      /* error|warn|info|debug */
    char locale[36];                        /* tty UI language (BCP 47 tag; default en) */
    char username[LJ_CONFIG_NAME_MAX];      /* password sign-in only */
    char password_file[LJ_CONFIG_PATH_MAX]; /* absolute; read at use time */
    bool password_file_remove;              /* delete it once Entra answered the grant */
    char manufacturer[LJ_CONFIG_NAME_MAX];  /* identity overrides ("" = from DMI) */
    char model[LJ_CONFIG_NAME_MAX];
    char serial[LJ_CONFIG_NAME_MAX];
    char os_version[LJ_CONFIG_NAME_MAX]; /* dotted quad presented to DRS/Intune */
    int os_edition;                      /* OSEdition to Intune, 1..65535 */
    /* HTTP proxy (core/proxy.h): "none", "env" (https_proxy / all_proxy and
     * no_proxy of the environment, read when the HTTPS client is made) or
     * "http://HOST:PORT"; no_proxy: hosts reached directly; credentials
     * "USER:PASSWORD" from a file (never from argv or the URL). */
    char proxy[LJ_CONFIG_URL_MAX];
    char no_proxy[LJ_CONFIG_URL_MAX];
    char proxy_credentials_file[LJ_CONFIG_PATH_MAX];
    int connect_timeout;     /* seconds, 1..300 */
    int request_timeout;     /* seconds, 1..3600 */
    int retry_wait;          /* seconds a UI may send retry after a failure, 0..86400 */
    int tpm_timeout;         /* seconds, 1..3600: bound on one TPM command (tpm.h) */
    int sealed_max_age_days; /* 1..90: a kept (sealed) sign-in older than this is dropped */
    /*
     * mdm: is Intune enrollment part of setup?  required (default): an
     * Intune refusal leaves setup incomplete (run exits with the reason's
     * code, status is not 0); optional: a joined device is complete.
     */
    enum lj_mdm_mode mdm;
    /*
     * `run --no-early-keygen` (the sequential baseline of make bench):
     * create the keys after sign-in instead of at start.  A run option,
     * not a file key; false by default.
     */
    bool no_early_keygen;

    char config_path[LJ_CONFIG_PATH_MAX]; /* the file read ("" = none) */
    char error[512];                      /* on LJ_ERR_CONFIG: "FILE:LINE: ..." or "--flag: ..." */
};

/* Fill cfg with the production defaults.  Never fails. */
void lj_config_defaults(struct lj_config *cfg);

/*
 * Set one key (file spelling, e.g. "connect_to") from text, validating it.
 * origin names where the value came from for the error text (e.g.
 * "/etc/linkjoin/linkjoin.conf:12" or "--tenant"); on failure cfg->error gets
 * "ORIGIN: ..." and LJ_ERR_CONFIG is returned (cfg otherwise unchanged).
 * connect_to appends.  Does not block.
 */
enum lj_rc lj_config_set(struct lj_config *cfg, const char *key, const char *value,
                         const char *origin);

/*
 * Read an INI file into cfg (over what is there).  explicit_path false
 * means a missing file is fine (LJ_OK, nothing changed).  Errors:
 * LJ_ERR_CONFIG with cfg->error "PATH:LINE: ..." (or "PATH: ..." when the
 * file cannot be read).  Blocks on the file system.
 */
enum lj_rc lj_config_load_file(struct lj_config *cfg, const char *path, bool explicit_path);

/*
 * The same over len bytes of file text already in memory (text need not be
 * NUL-terminated; borrowed, not kept); path only names the file in
 * cfg->error.  lj_config_load_file reads the file and calls this; the fuzz
 * target calls it directly.  Does not block.
 */
enum lj_rc lj_config_load_text(struct lj_config *cfg, const char *path, const char *text,
                               size_t len);

/*
 * Check the files the configuration names that must be private to the
 * agent's user (password_file: a regular file, no symlink, owned by the
 * effective uid, mode 0600 or 0400; a missing one passes, it is read at use
 * time).  LJ_ERR_CONFIG with cfg->error naming the file and its mode or
 * owner.  Called by `run` before anything is sent and by `config --check`
 * (not by every command: `status` run by root must not fail on it).
 * Blocks on the file system.
 */
enum lj_rc lj_config_check_files(struct lj_config *cfg);

/*
 * The whole command line step: defaults, then the file (--config or the
 * default path), then every configuration flag in argv[1..].  Arguments that
 * are not configuration flags (argv[0], the command's own options and
 * operands) are copied, in order, to rest_argv (caller's array of at least
 * argc+1 entries, NULL-terminated; pointers borrowed from argv) and counted
 * in *rest_argc.  "--" ends flag parsing (it and the rest go to rest_argv).
 * Returns LJ_ERR_CONFIG with cfg->error set on any bad file, key or value.
 * On success the log threshold is set from cfg->log_level (lj_log_set_level).
 */
enum lj_rc lj_config_from_args(struct lj_config *cfg, int argc, char **argv, int *rest_argc,
                               char **rest_argv);

/*
 * Check cross-key rules (e.g. password sign-in needs username).  Returns
 * LJ_ERR_CONFIG with cfg->error set.  lj_config_from_args calls it.
 */
enum lj_rc lj_config_validate(struct lj_config *cfg);

/*
 * The part of lj_config_validate that depends on the build: a release build
 * (TEST_HOOKS=0) refuses key_provider = soft and a simulator TCTI (swtpm,
 * mssim, libtpms), which only test builds accept.  The TPM commands (csr,
 * tpm, factory-test) call it after applying their own flags.
 */
enum lj_rc lj_config_validate_build(struct lj_config *cfg);

/*
 * Write every key as `key = value` lines in file order (an INI file that
 * lj_config_load_file reads back to the same values).  Holds no secrets.
 */
void lj_config_dump(const struct lj_config *cfg, FILE *f);

/* Names for the enums ("device_code", "tpm", "socket"); never NULL. */
const char *lj_signin_name(enum lj_signin s);
/* "required" | "optional"; never NULL. */
const char *lj_mdm_mode_name(enum lj_mdm_mode m);
const char *lj_key_provider_name(enum lj_key_provider k);
const char *lj_ui_kind_name(enum lj_ui_kind u);

/* Help text for the configuration flags (one line each) to f. */
void lj_config_usage(FILE *f);

#endif
