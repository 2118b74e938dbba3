/*
 * cmd_csr.c — `linkjoin csr`: make sure the device keys exist in the TPM
 * and print a PKCS#10 request signed inside the TPM, or (with
 * --transport-key-blob) the transport key as base64 BCRYPT RSA1 blob.
 * The TPM settings come from linkjoin.conf like run's (tcti, tpm_timeout,
 * state_dir, key_provider, log_level), the flags winning.
 */
#include "agent/cli/cmd_csr.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli/cmd.h"
#include "agent/cli/exit.h"
#include "agent/core/config.h"
#include "agent/core/exitcodes.h"
#include "agent/net/cfgmap.h"
#include "agent/proto/drs.h"
#include "platform/common/b64.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "tpm/tpm.h"
#include "platform/common/fsutil.h"
#include "platform/testhook.h"

#define CT_B64_MAX 1024

static void
csr_usage(FILE *f)
{
    fprintf(f,
            "usage: linkjoin csr [--config FILE] [--state-dir DIR] [--tcti TCTI]\n"
            "                    [--key-provider tpm|soft] [--transport-key-blob]\n"
            "                    [--log-level LEVEL]\n"
            "\n"
            "Creates the device key and transport key in the TPM when missing (reuses them\n"
            "otherwise) and prints a PKCS#10 CSR (PEM, CN=" DRS_CSR_CN ")\n"
            "signed inside the TPM.\n"
            "\n"
            "  --config FILE          read tcti, tpm_timeout, state_dir, key_provider and\n"
            "                         log_level from FILE (default " LJ_CONFIG_DEFAULT_PATH "\n"
            "                         when present); the flags below win over it\n"
            "  --state-dir DIR        key blobs live here (default " CMD_CSR_DEFAULT_STATE_DIR ")\n"
            "  --tcti TCTI            TPM connection (default " TPM_DEFAULT_TCTI ",\n"
            "                         e.g. swtpm:host=127.0.0.1,port=2321)\n"
            "  --key-provider P       tpm (default) or soft (software keys: TESTS ONLY)\n"
            "  --transport-key-blob   print the transport key as base64 BCRYPT RSA1 blob\n"
            "  --log-level LEVEL      error, warn (default), info, debug\n"
            "  -h, --help             this text\n"
            "\n"
            "exit codes: 0 ok, 1 unexpected failure, 2 usage error, 3 configuration error,\n"
            "4 TPM unreachable (or no answer within tpm_timeout), locked out or failing,\n"
            "13 key files corrupt, made by a different TPM or by the other key provider.\n");
}

int
cmd_csr_parse(int argc, char **argv, struct cmd_csr_opts *o)
{
    enum { OPT_TBLOB = 1000, OPT_PROVIDER, OPT_TCTI, OPT_STATE, OPT_LOG, OPT_TDEC, OPT_CONFIG };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"state-dir", required_argument, NULL, OPT_STATE},
        {"tcti", required_argument, NULL, OPT_TCTI},
        {"key-provider", required_argument, NULL, OPT_PROVIDER},
        {"transport-key-blob", no_argument, NULL, OPT_TBLOB},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"test-decrypt", optional_argument, NULL, OPT_TDEC},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    enum lj_log_level lvl;
    int c, idx = -1;

    memset(o, 0, sizeof(*o));
    o->state_dir = CMD_CSR_DEFAULT_STATE_DIR;
    o->tcti = TPM_DEFAULT_TCTI;
    o->provider = TPM_PROVIDER_TPM;
    optind = 0; /* GNU: full re-initialisation, so parsing can run twice */
    opterr = 0;
    while ((idx = -1, c = getopt_long(argc, argv, ":h", longopts, &idx)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            if (optarg[0] == '\0')
                goto bad_value;
            o->config = optarg;
            break;
        case OPT_STATE:
            if (optarg[0] == '\0')
                goto bad_value;
            o->state_dir = optarg;
            o->state_dir_set = true;
            break;
        case OPT_TCTI:
            if (optarg[0] == '\0' || strlen(optarg) > 200)
                goto bad_value;
            o->tcti = optarg;
            o->tcti_set = true;
            break;
        case OPT_PROVIDER:
            if (!tpm_provider_parse(optarg, &o->provider))
                goto bad_value;
            o->provider_set = true;
            break;
        case OPT_TBLOB: o->transport_blob = true; break;
        case OPT_LOG:
            if (!lj_log_parse_level(optarg, &lvl))
                goto bad_value;
            o->log_level = optarg;
            break;
        case OPT_TDEC:
            o->test_decrypt = true;
            if (optarg == NULL || strcmp(optarg, "sha256") == 0)
                o->test_decrypt_hash = TPM_OAEP_SHA256;
            else if (strcmp(optarg, "sha1") == 0)
                o->test_decrypt_hash = TPM_OAEP_SHA1;
            else
                goto bad_value;
            break;
        case 'h': o->help = true; break;
        case ':':
            fprintf(stderr, "linkjoin csr: option '%s' needs a value\n", argv[optind - 1]);
            return LJ_EXIT_USAGE;
        default:
            fprintf(stderr, "linkjoin csr: unknown option '%s'\n", argv[optind - 1]);
            return LJ_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "linkjoin csr: unexpected argument '%s'\n", argv[optind]);
        return LJ_EXIT_USAGE;
    }
    if (o->test_decrypt && o->transport_blob) {
        fprintf(stderr,
                "linkjoin csr: --test-decrypt and --transport-key-blob exclude each other\n");
        return LJ_EXIT_USAGE;
    }
    return 0;
bad_value:
    fprintf(stderr, "linkjoin csr: bad value '%s' for option '--%s'\n", optarg,
            idx >= 0 ? longopts[idx].name : "?");
    return LJ_EXIT_USAGE;
}

/*
 * The taxonomy sentence for rc, then one line of what csr knows about where
 * (the TCTI and state directory in use); the exit status comes from
 * lj_cli_exit_for.
 */
static int
report(enum lj_rc rc, const struct lj_config *cfg)
{
    lj_cli_say(stderr, "csr", rc, NULL);
    switch (rc) {
    case LJ_ERR_TPM_UNREACHABLE:
        fprintf(stderr,
                "linkjoin csr: TPM unreachable at '%s' (no TPM device or simulator answering)\n",
                cfg->tcti);
        break;
    case LJ_ERR_TPM_LOCKOUT:
        fprintf(stderr, "linkjoin csr: TPM is in dictionary-attack lockout; wait for it to "
                        "expire or have the owner clear it\n");
        break;
    case LJ_ERR_TPM_OBJECT_MEMORY:
        fprintf(stderr, "linkjoin csr: TPM is out of object memory (too many loaded objects)\n");
        break;
    case LJ_ERR_TPM_WRONG_TPM:
        fprintf(stderr,
                "linkjoin csr: keys in %s belong to a different TPM (or this TPM "
                "was cleared); files left untouched\n",
                cfg->state_dir);
        break;
    case LJ_ERR_TPM_KEYS_LOST:
        fprintf(stderr,
                "linkjoin csr: keys in %s were made by an older version with key settings "
                "that can no longer be used; files left untouched (`linkjoin run` moves "
                "them aside and joins again)\n",
                cfg->state_dir);
        break;
    case LJ_ERR_KEYS_CORRUPT:
        fprintf(stderr,
                "linkjoin csr: key files in %s are corrupt (truncated or altered); "
                "files left untouched\n",
                cfg->state_dir);
        break;
    case LJ_ERR_STATE:
        fprintf(stderr,
                "linkjoin csr: keys in %s belong to another key provider; "
                "files left untouched\n",
                cfg->state_dir);
        break;
    default: break;
    }
    return lj_cli_exit_for(rc);
}

#if LJ_TEST_HOOKS_BUILT
/*
 * Test hook, honoured only in test builds with LJ_TEST_HOOKS=1 in the
 * environment: decrypt one base64 OAEP ciphertext from stdin with the
 * transport key (--test-decrypt=sha1 or =sha256, the default) and print
 * the plaintext in hex.  Lets integration tests prove the TPM decrypts
 * what a peer encrypted to the published blob.
 */
static enum lj_rc
test_decrypt(struct tpm_ctx *t, enum tpm_oaep_hash hash)
{
    char in[CT_B64_MAX + 2];
    unsigned char *ct = NULL, *pt = NULL;
    size_t n, ct_len = 0, pt_len = 0;
    enum lj_rc rc = LJ_ERR_INVAL;

    n = fread(in, 1, sizeof(in) - 1, stdin);
    while (n > 0 && (in[n - 1] == '\n' || in[n - 1] == '\r'))
        n--;
    if (n == 0 || n > CT_B64_MAX || !lj_b64_decode(in, n, LJ_B64_STD, &ct, &ct_len)) {
        fprintf(stderr, "linkjoin csr: --test-decrypt wants base64 on stdin\n");
        goto out;
    }
    rc = tpm_transport_decrypt(t, hash, ct, ct_len, &pt, &pt_len);
    if (rc != LJ_OK)
        goto out;
    for (size_t i = 0; i < pt_len; i++)
        printf("%02x", pt[i]);
    printf("\n");
out:
    free(ct);
    lj_secure_free(pt, pt_len);
    return rc;
}
#endif

int
cmd_csr(int argc, char **argv)
{
    struct cmd_csr_opts o;
    struct lj_cmd_tpm_flags fl;
    struct lj_config cfg;
    struct tpm_open_opts to;
    struct tpm_ctx *t = NULL;
    struct tpm_describe d;
    unsigned char *blob = NULL;
    char *pem = NULL, *b64 = NULL;
    size_t blob_len = 0;
    bool created = false;
    int ex, lock = -1;
    enum lj_rc rc;

    ex = cmd_csr_parse(argc, argv, &o);
    if (ex != 0) {
        fprintf(stderr, "(see 'linkjoin csr --help')\n");
        return ex;
    }
    if (o.help) {
        csr_usage(stdout);
        return LJ_EXIT_OK;
    }
    memset(&fl, 0, sizeof(fl));
    fl.config = o.config;
    fl.tcti = o.tcti_set ? o.tcti : NULL;
    fl.state_dir = o.state_dir_set ? o.state_dir : NULL;
    fl.provider_set = o.provider_set;
    fl.provider = o.provider == TPM_PROVIDER_SOFT ? LJ_KEYS_SOFT : LJ_KEYS_TPM;
    fl.log_level = o.log_level;
    ex = lj_cmd_tpm_config("csr", &fl, &cfg);
    if (ex >= 0)
        return ex;
    if (o.test_decrypt && !lj_test_hooks_enabled()) {
        fprintf(stderr, "linkjoin csr: unknown option '--test-decrypt'\n");
        return LJ_EXIT_USAGE;
    }
    /* tpm_keys_ensure may create the keys: a writer of the state directory */
    ex = lj_cmd_lock_state("csr", cfg.state_dir, true, &lock);
    if (ex >= 0)
        return ex;
    lj_cfg_tpm_opts(&cfg, true, &to);
    rc = tpm_open(&to, &t);
    if (rc == LJ_OK)
        rc = tpm_keys_ensure(t, &created);
    if (rc != LJ_OK)
        goto out;
    tpm_describe(t, &d);
    fprintf(stderr, "linkjoin csr: keys %s provider=%s TpmProtected=%s parent=%s\n",
            created ? "created" : "reused", d.provider, d.tpm_protected ? "yes" : "NO", d.parent);
    if (o.transport_blob) {
        rc = tpm_transport_blob(t, &blob, &blob_len);
        if (rc != LJ_OK)
            goto out;
        b64 = lj_b64_encode(blob, blob_len, LJ_B64_STD, NULL);
        if (b64 == NULL) {
            rc = LJ_ERR_NOMEM;
            goto out;
        }
        printf("%s\n", b64);
    } else if (o.test_decrypt) {
#if LJ_TEST_HOOKS_BUILT
        rc = test_decrypt(t, o.test_decrypt_hash);
#endif
    } else {
        rc = tpm_csr(t, DRS_CSR_CN, NULL, NULL, &pem);
        if (rc != LJ_OK)
            goto out;
        fputs(pem, stdout);
    }
out:
    tpm_close(t);
    lj_fs_unlock_dir(lock);
    free(pem);
    free(b64);
    free(blob);
    if (rc != LJ_OK)
        return report(rc, &cfg);
    if (fflush(stdout) != 0)
        return LJ_EXIT_FAILURE;
    return LJ_EXIT_OK;
}
