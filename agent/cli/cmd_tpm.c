/*
 * cmd_tpm.c — hidden `linkjoin tpm SUBCOMMAND`: TPM diagnostics for support
 * and tests.
 *
 *   tpm health [--config F] [--tcti T] [--key-provider P]   health + preflight verdict
 *   tpm seal|unseal|sealed-remove NAME [--state-dir D] [--tcti T] [--key-provider P]
 *
 * The TPM settings come from linkjoin.conf like run's (--config FILE; tcti,
 * tpm_timeout, state_dir, key_provider, log_level), the flags winning.
 * health is read-only and always available.  seal/unseal move a secret
 * over stdin/stdout, so they exist only in test builds (LJ_TEST_HOOKS_BUILT)
 * with LJ_TEST_HOOKS=1 in the environment, like `csr --test-decrypt`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli/cmd.h"
#include "agent/cli/exit.h"
#include "agent/core/config.h"
#include "agent/core/exitcodes.h"
#include "agent/net/cfgmap.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "tpm/tpm.h"
#include "platform/common/fsutil.h"
#include "platform/testhook.h"

struct tpm_cmd_opts {
    const char *sub;
    const char *name;
    struct lj_cmd_tpm_flags fl; /* --config, --tcti, --state-dir, --key-provider, --log-level */
};

static void
tpm_cmd_usage(FILE *f)
{
    fprintf(f,
            "usage: linkjoin tpm health [--config FILE] [--tcti TCTI] [--key-provider tpm|soft]\n"
            "                           [--log-level LEVEL]\n");
#if LJ_TEST_HOOKS_BUILT
    fprintf(f,
            "       (test builds) linkjoin tpm seal|unseal|sealed-remove NAME [--state-dir DIR]\n"
            "                     [--config FILE] [--tcti TCTI] [--key-provider tpm|soft]\n");
#endif
    fprintf(f, "\n"
               "health prints what the TPM says about itself and the join preflight verdict.\n"
               "tcti, tpm_timeout, state_dir, key_provider and log_level come from --config FILE\n"
               "(default " LJ_CONFIG_DEFAULT_PATH " when present); the flags win over it.\n"
               "exit 0 ok, 2 usage error, 3 configuration error, 4 TPM unreachable (or no answer\n"
               "within tpm_timeout), locked out or failing, 13 key or sealed files unusable.\n");
}

static int
parse(int argc, char **argv, struct tpm_cmd_opts *o)
{
    enum { OPT_STATE = 1000, OPT_TCTI, OPT_PROVIDER, OPT_LOG, OPT_CONFIG };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"state-dir", required_argument, NULL, OPT_STATE},
        {"tcti", required_argument, NULL, OPT_TCTI},
        {"key-provider", required_argument, NULL, OPT_PROVIDER},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    enum lj_log_level lvl;
    enum tpm_provider prov;
    int c;

    memset(o, 0, sizeof(*o));
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            if (optarg[0] == '\0')
                goto bad;
            o->fl.config = optarg;
            break;
        case OPT_STATE: o->fl.state_dir = optarg; break;
        case OPT_TCTI:
            if (optarg[0] == '\0' || strlen(optarg) > 200)
                goto bad;
            o->fl.tcti = optarg;
            break;
        case OPT_PROVIDER:
            if (!tpm_provider_parse(optarg, &prov))
                goto bad;
            o->fl.provider_set = true;
            o->fl.provider = prov == TPM_PROVIDER_SOFT ? LJ_KEYS_SOFT : LJ_KEYS_TPM;
            break;
        case OPT_LOG:
            if (!lj_log_parse_level(optarg, &lvl))
                goto bad;
            o->fl.log_level = optarg;
            break;
        case 'h': tpm_cmd_usage(stdout); return -1;
        default: goto bad;
        }
    }
    if (optind >= argc)
        goto bad;
    o->sub = argv[optind++];
    if (strcmp(o->sub, "health") != 0) {
        if (!lj_test_hooks_enabled() || optind >= argc)
            goto bad;
        o->name = argv[optind++];
    }
    if (optind < argc)
        goto bad;
    return 0;
bad:
    fprintf(stderr, "linkjoin tpm: bad usage\n");
    tpm_cmd_usage(stderr);
    return LJ_EXIT_USAGE;
}

static void
print_health(const struct tpm_health *h)
{
    printf("tpm_protected=%s\nfamily=%s\nmanufacturer=%s\nmanufacturer_id=0x%08x\nvendor=%s\n"
           "firmware=%s\nfirmware_raw=0x%08x.0x%08x\nspec=level %u revision %u.%02u\n"
           "self_test_ok=%s\nin_lockout=%s\nlockout_counter=%u\nmax_tries=%u\nrecovery_s=%u\n"
           "lockout_recovery_s=%u\n",
           h->tpm_protected ? "yes" : "no", h->family, h->manufacturer, h->manufacturer_id,
           h->vendor, h->firmware, h->firmware1, h->firmware2, h->spec_level,
           h->spec_revision / 100, h->spec_revision % 100, h->self_test_ok ? "yes" : "no",
           h->in_lockout ? "yes" : "no", h->lockout_counter, h->max_tries, h->recovery_s,
           h->lockout_recovery_s);
}

#define SEAL_STDIN_MAX (TPM_SEAL_DATA_MAX + 1)

static enum lj_rc
do_seal(struct tpm_ctx *t, const struct tpm_cmd_opts *o, const char *state_dir)
{
    unsigned char *buf = NULL, *pt = NULL;
    size_t n = 0, pt_len = 0;
    enum lj_rc rc = LJ_OK;

    if (strcmp(o->sub, "seal") == 0) {
        buf = malloc(SEAL_STDIN_MAX);
        if (buf == NULL)
            return LJ_ERR_NOMEM;
        n = fread(buf, 1, SEAL_STDIN_MAX, stdin);
        rc = tpm_seal(t, o->name, buf, n);
        lj_secure_free(buf, SEAL_STDIN_MAX);
    } else if (strcmp(o->sub, "unseal") == 0) {
        rc = tpm_unseal(t, o->name, &pt, &pt_len);
        if (rc == LJ_OK)
            fwrite(pt, 1, pt_len, stdout);
        lj_secure_free(pt, pt_len);
    } else {
        rc = tpm_sealed_remove(state_dir, o->name);
    }
    return rc;
}

int
cmd_tpm(int argc, char **argv)
{
    struct tpm_cmd_opts o;
    struct lj_config cfg;
    struct tpm_open_opts to;
    struct tpm_ctx *t = NULL;
    struct tpm_health h;
    enum lj_rc rc;
    int lock = -1;
    int ex = parse(argc, argv, &o);

    if (ex != 0)
        return ex < 0 ? LJ_EXIT_OK : ex;
    ex = lj_cmd_tpm_config("tpm", &o.fl, &cfg);
    if (ex >= 0)
        return ex;
    if (strcmp(o.sub, "seal") == 0 || strcmp(o.sub, "sealed-remove") == 0) {
        char cmd[32];

        snprintf(cmd, sizeof(cmd), "tpm %s", o.sub);
        ex = lj_cmd_lock_state(cmd, cfg.state_dir, strcmp(o.sub, "seal") == 0, &lock);
        if (ex >= 0)
            return ex;
    }
    if (strcmp(o.sub, "sealed-remove") == 0) {
        rc = tpm_sealed_remove(cfg.state_dir, o.name);
        lj_fs_unlock_dir(lock);
        return lj_cli_exit_for(rc);
    }
    if (strcmp(o.sub, "health") != 0 && strcmp(o.sub, "seal") != 0 &&
        strcmp(o.sub, "unseal") != 0) {
        fprintf(stderr, "linkjoin tpm: unknown subcommand '%s'\n", o.sub);
        return LJ_EXIT_USAGE;
    }
    lj_cfg_tpm_opts(&cfg, strcmp(o.sub, "health") != 0, &to);
    rc = tpm_open(&to, &t);
    if (rc != LJ_OK)
        goto out;
    if (strcmp(o.sub, "health") == 0) {
        memset(&h, 0, sizeof(h));
        rc = tpm_preflight(t, &h);
        if (h.family[0] != '\0') {
            print_health(&h);
            printf("preflight=%s\n", rc == LJ_OK ? "ok" : lj_rc_name(rc));
        }
    } else {
        rc = do_seal(t, &o, cfg.state_dir);
    }
out:
    tpm_close(t);
    lj_fs_unlock_dir(lock);
    if (rc != LJ_OK) {
        char cmd[32];

        snprintf(cmd, sizeof(cmd), "tpm %s", o.sub);
        lj_cli_say(stderr, cmd, rc, NULL);
        fprintf(stderr, "linkjoin %s: failed: %s\n", cmd, lj_rc_name(rc));
    }
    return lj_cli_exit_for(rc);
}
