/*
 * config_check.c — the configuration checks that look at more than one key
 * or beyond the value itself: what this build allows (lj_config_validate_build),
 * how keys go together (lj_config_validate) and the files keys name
 * (lj_config_check_files).  The key table and per-value checks are in
 * config.c.
 */
#include "agent/core/config.h"
#include "agent/core/config_int.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <unistd.h>

#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "platform/testhook.h"

/* A TCTI of a TPM simulator (tpm2-tss tcti-swtpm, tcti-mssim: TCP; tcti-libtpms: in-process). */
static bool
tcti_is_simulator(const char *v)
{
    static const char *const sims[] = {"swtpm", "mssim", "libtpms"};
    size_t n = strcspn(v, ":");

    for (size_t i = 0; i < sizeof(sims) / sizeof(sims[0]); i++) {
        if (strlen(sims[i]) == n && strncmp(v, sims[i], n) == 0)
            return true;
    }
    return false;
}

enum lj_rc
lj_config_validate_build(struct lj_config *cfg)
{
    const char *origin = cfg->config_path[0] ? cfg->config_path : "configuration";

    if (lj_test_hooks_built())
        return LJ_OK;
    if (cfg->key_provider == LJ_KEYS_SOFT)
        return lj_config_fail(
            cfg, origin,
            "key_provider = soft is for tests only (the device keys would be files, "
            "not TPM keys); only a test build (make TEST_HOOKS=1) accepts it, this "
            "release build needs key_provider = tpm");
    if (tcti_is_simulator(cfg->tcti))
        return lj_config_fail(cfg, origin,
                              "tcti %s is a TPM simulator, for tests only; only a test build (make "
                              "TEST_HOOKS=1) accepts it, this release build needs device:PATH or "
                              "tabrmd:...",
                              cfg->tcti);
    return LJ_OK;
}

/*
 * A device TCTI naming a raw TPM character device (/dev/tpmN; "device"
 * alone means /dev/tpm0 in tpm2-tss tcti-device) rather than the kernel's
 * resource manager /dev/tpmrmN.
 */
static bool
tcti_is_raw_device(const char *v)
{
    const char *path, *base;

    if (strcmp(v, "device") == 0 || strcmp(v, "device:") == 0)
        return true;
    if (strncmp(v, "device:", 7) != 0)
        return false;
    path = v + 7;
    base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
    if (strncmp(base, "tpm", 3) != 0 || base[3] == '\0')
        return false;
    for (const char *c = base + 3; *c != '\0'; c++) {
        if (*c < '0' || *c > '9')
            return false;
    }
    return true;
}

enum lj_rc
lj_config_validate(struct lj_config *cfg)
{
    const char *origin = cfg->config_path[0] ? cfg->config_path : "configuration";
    enum lj_rc rc = lj_config_validate_build(cfg);

    if (rc != LJ_OK)
        return rc;
    if (cfg->signin == LJ_SIGNIN_PASSWORD && cfg->username[0] == '\0')
        return lj_config_fail(cfg, origin, "signin = password needs 'username'");
    if (cfg->signin != LJ_SIGNIN_PASSWORD && cfg->password_file[0] != '\0')
        return lj_config_fail(cfg, origin, "'password_file' is used only with signin = password");
    if (strcmp(cfg->proxy, "none") == 0 && cfg->proxy_credentials_file[0] != '\0')
        return lj_config_fail(cfg, origin, "'proxy_credentials_file' is used only with a proxy");
    if (tcti_is_raw_device(cfg->tcti) && !cfg->tpm_raw_device)
        return lj_config_fail(
            cfg, origin,
            "tcti %s is the TPM without the kernel's resource manager: its few object "
            "slots are shared with every other process, which a crashed run's or "
            "another program's objects can fill; use device:/dev/tpmrm0 (the "
            "default), or set tpm_raw_device = yes where the kernel has no "
            "/dev/tpmrm0",
            cfg->tcti);
    /*
     * The broker app has no loopback redirect registered: its redirect URIs
     * are the ms-aadj-redir://auth/{drs,mdm}, ms-appx-web BrokerPlugin,
     * CloudDomainJoin and urn:ietf:wg:oauth:2.0:oob ones (dirkjanm/ROADtools
     * roadtx firstpartyscopes.json), and Entra answers an unregistered
     * redirect with AADSTS50011 (Microsoft Learn, reply URL / redirect URI
     * restrictions; its loopback port exception applies only to a registered
     * localhost URI).  A loopback redirect needs a client_id of one's own
     * app registration that lists it.
     */
    if (lj_config_is_loopback_redirect(cfg->redirect_uri) &&
        strcasecmp(cfg->client_id, LJ_CONFIG_BROKER_CLIENT_ID) == 0)
        return lj_config_fail(
            cfg, origin,
            "redirect_uri %s: client_id %s (Microsoft Authentication Broker, the "
            "default) has no loopback redirect registered, so Entra refuses it "
            "(AADSTS50011); use ms-aadj-redir://auth/drs, or a client_id of your own "
            "app registration that lists this redirect",
            cfg->redirect_uri, cfg->client_id);
    return LJ_OK;
}

enum lj_rc
lj_config_check_files(struct lj_config *cfg)
{
    const char *origin = cfg->config_path[0] ? cfg->config_path : "configuration";
    struct lj_fs_private pf;
    enum lj_rc rc;

    if (cfg->password_file[0] == '\0')
        return LJ_OK;
    memset(&pf, 0, sizeof(pf));
    rc = lj_fs_check_private(cfg->password_file, &pf);
    if (rc == LJ_OK || rc == LJ_ERR_NOT_FOUND) /* read at use time: may come later */
        return LJ_OK;
    if (rc != LJ_ERR_INVAL)
        return lj_config_fail(cfg, origin, "%s cannot be read", cfg->password_file);
    if (pf.not_regular)
        return lj_config_fail(
            cfg, origin,
            "password_file %s is a symbolic link or not a regular file: write the "
            "password to a plain file (mode 0600)",
            cfg->password_file);
    if (pf.uid != (unsigned long)geteuid())
        return lj_config_fail(
            cfg, origin,
            "password_file %s is owned by uid %lu, not by uid %lu that linkjoin runs "
            "as: give it to that user, mode 0600 or 0400",
            cfg->password_file, pf.uid, (unsigned long)geteuid());
    return lj_config_fail(
        cfg, origin,
        "password_file %s is mode %04o (group or others may read it): make it 0600 or "
        "0400, owned by uid %lu that linkjoin runs as",
        cfg->password_file, pf.mode, (unsigned long)geteuid());
}
