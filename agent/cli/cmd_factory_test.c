/*
 * cmd_factory_test.c — `linkjoin factory-test`: the manufacturing-line station
 * check of one unit, headless, no tenant.
 *
 * Design note.
 * - Checks run in a fixed order and each is timed: TPM present, TPM info
 *   (family 2.0, manufacturer, firmware), full self-test, dictionary-attack
 *   lockout, EK certificate(s) in NV parse and chain to --ek-ca, TPM random,
 *   an ephemeral ECC P-256 key create/sign/verify (null hierarchy, flushed,
 *   transient handle count unchanged), device identity (platform/identity),
 *   clock (platform/clock), network (optional, --network: DNS, TCP and TLS
 *   to the three cloud hosts through agent/http, as run's preflight does).
 *   When the TPM is absent the TPM-dependent checks are "not run" and the
 *   command returns at once; when it answers but cannot work (properties
 *   unreadable or self-test failed: failure mode, TPM_RC_FAILURE, or never
 *   started, TPM_RC_INITIALIZE) the checks that need a working TPM (lockout,
 *   EK certificate, random, ephemeral key) are "not run" with that cause,
 *   instead of failing with misleading details.
 * - Every failed check carries an action for the line (provision the EK
 *   certificate, set the SMBIOS serial, replace the TPM, ...), and the
 *   identity check states its rules.  The summary names every failing
 *   group; the exit code is still the first of them.
 * - Configuration: linkjoin.conf (or --config FILE) like run's; tcti,
 *   tpm_timeout and log_level apply to the TPM checks (--tcti and
 *   --log-level win), the endpoints, ca_file, connect_to and timeouts to
 *   --network.  key_provider does not apply: this checks the TPM itself.
 * - Nothing is written: the TPM context has no state dir, no key is loaded
 *   from or stored to disk, no journal is opened, and the only TPM object
 *   created lives in the null hierarchy and is flushed.
 * - Exit code: the first failing group in the order TPM (14), EK
 *   certificate (15), identity/clock (16); 0 only when every required check
 *   passes.  The report goes to stdout (text, or JSON with --json); logs
 *   stay on stderr.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "agent/net/cfgmap.h"
#include "agent/cli/cmd.h"
#include "agent/core/config.h"
#include "agent/core/exitcodes.h"
#include "agent/net/http.h"
#include "platform/clock.h"
#include "platform/identity.h"
#include "platform/common/log.h"
#include "tpm/tpm.h"
#include "platform/common/elapsed.h"

#define DETAIL_MAX 768

enum group { G_TPM, G_EK, G_DEVICE, G_OPTIONAL };
enum status { ST_NOT_RUN = 0, ST_PASS, ST_FAIL, ST_SKIPPED };

struct check {
    const char *name;
    enum group group;
    enum status status;
    long ms;
    char detail[DETAIL_MAX];
    const char *action; /* what the line does about a failure; NULL when it passed */
};

enum {
    C_PRESENT,
    C_INFO,
    C_SELFTEST,
    C_LOCKOUT,
    C_EK,
    C_RANDOM,
    C_EPHEMERAL,
    C_IDENTITY,
    C_CLOCK,
    C_NETWORK,
    C_COUNT
};

struct factory_opts {
    bool json, network, help;
    const char *tcti; /* --tcti; NULL = the configuration's */
    const char *ek_ca;
    const char *config;    /* --config; NULL = the default file if present */
    const char *log_level; /* --log-level; NULL = the configuration's */
    struct lj_identity ovr;
};

struct factory {
    struct factory_opts o;
    struct lj_config cfg; /* defaults, file, then --tcti / --log-level */
    struct check c[C_COUNT];
    struct tpm_ctx *t;
    struct tpm_health h;
    bool have_health;
    struct lj_identity id;
    struct timespec t0;
    const char *blocked; /* why the TPM cannot run the dependent checks; NULL = it can */
};

/* The line's action for each check that failed (factory_usage lists the rules). */
static const char *const actions[C_COUNT] = {
    [C_PRESENT] = "enable the TPM in the firmware settings and check it is fitted; if it "
                  "still does not answer, replace the TPM",
    [C_INFO] = "power-cycle the unit and test again; if it repeats, replace the TPM",
    [C_SELFTEST] = "power-cycle the unit and test again; if the self-test still fails, replace "
                   "the TPM",
    [C_LOCKOUT] = "find what sends wrong TPM authorizations, then wait for the lockout to clear "
                  "(one failure forgiven per interval shown) or reset it with the lockout "
                  "authorization",
    [C_EK] = "provision the TPM manufacturer's EK certificate into NV (or fit a TPM that ships "
             "with one); with --ek-ca, check the bundle holds that manufacturer's CAs",
    [C_RANDOM] = "replace the TPM",
    [C_EPHEMERAL] = "power-cycle the unit and test again; if it repeats, replace the TPM",
    [C_IDENTITY] = "set the SMBIOS system manufacturer, product name and serial number in the "
                   "firmware (DMI type 1) to the unit's real values",
    [C_CLOCK] = "set the real-time clock to the current UTC time and check its battery",
    [C_NETWORK] = "check the cable, DNS and that the firewall allows HTTPS to the three hosts",
};

static void
factory_usage(FILE *f)
{
    fprintf(f,
            "usage: linkjoin factory-test [--json] [--config FILE] [--tcti TCTI] [--ek-ca FILE]\n"
            "                             [--network]\n"
            "                             [--manufacturer S] [--model S] [--serial S]\n"
            "                             [--log-level LEVEL]\n"
            "\n"
            "Checks one unit on the manufacturing line, without a tenant and without\n"
            "touching a joined device's keys or state: TPM present, family 2.0,\n"
            "manufacturer and firmware; full self-test; dictionary-attack lockout; EK\n"
            "certificate(s) in NV parse and chain to --ek-ca; TPM random; an ephemeral key\n"
            "create/sign/verify round trip (flushed); device identity; clock.\n"
            "\n"
            "  --json            JSON report instead of text\n"
            "  --config FILE     read tcti, tpm_timeout and log_level (and, for --network,\n"
            "                    the endpoints, ca_file and connect_to) from FILE (default\n"
            "                    " LJ_CONFIG_DEFAULT_PATH " when present); the flags win\n"
            "                    over it; key_provider and state_dir do not apply\n"
            "  --tcti TCTI       TPM connection (default " TPM_DEFAULT_TCTI ")\n"
            "  --ek-ca FILE      PEM bundle of the TPM manufacturer's CAs; without it the\n"
            "                    EK certificate only has to parse\n"
            "  --network         also check DNS, TCP and TLS to the sign-in, registration and\n"
            "                    Intune hosts (optional check; failing it exits 5)\n"

            "  --manufacturer S, --model S, --serial S\n"
            "                    use S instead of DMI (simulated devices, tests)\n"
            "  --log-level LEVEL error, warn (default), info, debug (given: the log lines\n"
            "                    are shown on stderr; otherwise the report has the details)\n"
            "\n"
            "rules: identity: manufacturer and model set, serial at least 4 characters,\n"
            "  all printable and none a firmware placeholder ('To be filled by O.E.M.',\n"
            "  'Default string', ...); clock: after the build date and less than 30 years\n"
            "  after it; lockout: not in dictionary-attack lockout.  Every failed check\n"
            "  prints an action.  A TPM that answers but cannot work (failure mode, never\n"
            "  started) leaves lockout, EK, random and key checks 'not run'.\n"
            "\n"
            "exit codes: 0 every required check passed, 2 usage error, 3 configuration error,\n"
            "  14 a TPM check failed (absent, not 2.0, self-test, lockout, random, key)\n"
            "  15 the EK certificate check failed (missing, unparsable, wrong CA)\n"
            "  16 the device identity or clock check failed\n"
            "  5 only --network failed\n"
            "  (several failing: the first of 14, 15, 16, then 5).\n");
}

static int
factory_parse(int argc, char **argv, struct factory_opts *o)
{
    enum {
        OPT_JSON = 1000,
        OPT_TCTI,
        OPT_EKCA,
        OPT_NET,
        OPT_MANU,
        OPT_MODEL,
        OPT_SERIAL,
        OPT_LOG,
        OPT_CONFIG
    };
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"tcti", required_argument, NULL, OPT_TCTI},
        {"ek-ca", required_argument, NULL, OPT_EKCA},
        {"network", no_argument, NULL, OPT_NET},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"manufacturer", required_argument, NULL, OPT_MANU},
        {"model", required_argument, NULL, OPT_MODEL},
        {"serial", required_argument, NULL, OPT_SERIAL},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    enum lj_log_level lvl;
    int c, idx;

    memset(o, 0, sizeof(*o));
    optind = 0;
    opterr = 0;
    while ((idx = -1, c = getopt_long(argc, argv, ":h", longopts, &idx)) != -1) {
        switch (c) {
        case OPT_JSON: o->json = true; break;
        case OPT_TCTI:
            if (optarg[0] == '\0' || strlen(optarg) > 200)
                goto bad_value;
            o->tcti = optarg;
            break;
        case OPT_EKCA:
            if (optarg[0] == '\0' || strlen(optarg) > 1024)
                goto bad_value;
            o->ek_ca = optarg;
            break;
        case OPT_NET: o->network = true; break;
        case OPT_CONFIG:
            if (optarg[0] == '\0' || strlen(optarg) > 1024)
                goto bad_value;
            o->config = optarg;
            break;
        case OPT_MANU:
        case OPT_MODEL:
        case OPT_SERIAL: {
            char *dst = c == OPT_MANU    ? o->ovr.manufacturer
                        : c == OPT_MODEL ? o->ovr.model
                                         : o->ovr.serial;
            if (strlen(optarg) >= LJ_IDENTITY_MAX)
                goto bad_value;
            lj_identity_sanitize(dst, LJ_IDENTITY_MAX, optarg, strlen(optarg));
            break;
        }
        case OPT_LOG:
            if (!lj_log_parse_level(optarg, &lvl))
                goto bad_value;
            o->log_level = optarg;
            break;
        case 'h': o->help = true; break;
        case ':':
            fprintf(stderr, "linkjoin factory-test: option '%s' needs a value\n", argv[optind - 1]);
            return LJ_EXIT_USAGE;
        default:
            fprintf(stderr, "linkjoin factory-test: unknown option '%s'\n", argv[optind - 1]);
            return LJ_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "linkjoin factory-test: unexpected argument '%s'\n", argv[optind]);
        return LJ_EXIT_USAGE;
    }
    return 0;
bad_value:
    fprintf(stderr, "linkjoin factory-test: bad value for option '--%s'\n",
            idx >= 0 ? longopts[idx].name : "?");
    return LJ_EXIT_USAGE;
}

/* ---- checks ------------------------------------------------------------ */

static void set(struct check *c, enum status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set(struct check *c, enum status st, const char *fmt, ...)
{
    va_list ap;

    c->status = st;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
    va_end(ap);
}

/* The library's error detail, for a failed check (never a secret here). */
static const char *
why(enum lj_rc rc)
{
    const char *d = lj_err_detail();

    return d[0] != '\0' ? d : lj_rc_name(rc);
}

static void
check_present(struct factory *f)
{
    struct tpm_open_opts to;
    enum lj_rc rc;

    lj_cfg_tpm_opts(&f->cfg, false, &to);
    to.provider = TPM_PROVIDER_TPM; /* the hardware is what is checked */
    rc = tpm_open(&to, &f->t);
    if (rc == LJ_OK)
        set(&f->c[C_PRESENT], ST_PASS, "TPM answers at %s", f->cfg.tcti);
    else
        set(&f->c[C_PRESENT], ST_FAIL, "%s at %s: %s",
            rc == LJ_ERR_TPM_UNREACHABLE ? "no TPM" : "TPM unusable", f->cfg.tcti, why(rc));
}

static void
check_info(struct factory *f)
{
    struct tpm_health *h = &f->h;
    enum lj_rc rc = tpm_health(f->t, h);

    if (rc != LJ_OK) {
        set(&f->c[C_INFO], ST_FAIL, "cannot read TPM properties: %s", why(rc));
        return;
    }
    f->have_health = true;
    if (strcmp(h->family, "2.0") != 0)
        set(&f->c[C_INFO], ST_FAIL, "family '%s', need 2.0", h->family);
    else if (h->manufacturer[0] == '\0')
        set(&f->c[C_INFO], ST_FAIL, "family 2.0 but no manufacturer id");
    else
        set(&f->c[C_INFO], ST_PASS,
            "family 2.0, manufacturer %s (0x%08x), vendor '%s', firmware %s, spec %u.%02u",
            h->manufacturer, h->manufacturer_id, h->vendor, h->firmware, h->spec_revision / 100,
            h->spec_revision % 100);
}

static void
check_selftest(struct factory *f)
{
    enum lj_rc rc = tpm_selftest(f->t, true);

    if (rc == LJ_OK)
        set(&f->c[C_SELFTEST], ST_PASS, "TPM2_SelfTest(full) passed");
    else
        set(&f->c[C_SELFTEST], ST_FAIL, "TPM2_SelfTest(full) failed: %s", why(rc));
}

static void
check_lockout(struct factory *f)
{
    struct tpm_health h;
    enum lj_rc rc = tpm_health(f->t, &h);

    if (rc != LJ_OK) {
        set(&f->c[C_LOCKOUT], ST_FAIL, "cannot read lockout state: %s", why(rc));
        return;
    }
    f->h.in_lockout = h.in_lockout;
    f->h.lockout_counter = h.lockout_counter;
    set(&f->c[C_LOCKOUT], h.in_lockout ? ST_FAIL : ST_PASS,
        "%s; failed tries %u of %u, one forgiven every %u s, lockoutAuth retry after %u s",
        h.in_lockout ? "in dictionary-attack lockout" : "not in lockout", h.lockout_counter,
        h.max_tries, h.recovery_s, h.lockout_recovery_s);
}

static void
check_ek(struct factory *f)
{
    struct tpm_ek_cert certs[TPM_EK_CERT_MAX];
    char one[384];
    size_t n = 0, off = 0;
    bool ok = true;
    enum lj_rc rc;

    memset(certs, 0, sizeof(certs));
    rc = tpm_ek_certs(f->t, certs, &n);
    if (rc != LJ_OK) {
        set(&f->c[C_EK], ST_FAIL, "cannot read EK certificates from NV: %s", why(rc));
        return;
    }
    if (n == 0) {
        set(&f->c[C_EK], ST_FAIL,
            "no EK certificate in NV (looked at 0x01c00002 RSA, 0x01c0000a ECC and the "
            "0x01c00012..1e high range)");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int w;

        rc = tpm_ek_cert_verify(certs[i].der, certs[i].len, f->o.ek_ca, one, sizeof(one));
        ok = ok && rc == LJ_OK;
        w = snprintf(f->c[C_EK].detail + off, sizeof(f->c[C_EK].detail) - off, "%s%s 0x%08x: %s",
                     i > 0 ? "; " : "", certs[i].kind, certs[i].nv_index, one);
        if (w > 0 && (size_t)w < sizeof(f->c[C_EK].detail) - off)
            off += (size_t)w;
    }
    f->c[C_EK].status = ok ? ST_PASS : ST_FAIL;
    tpm_ek_certs_free(certs, n);
}

static void
check_random(struct factory *f)
{
    unsigned char a[32], b[32];
    bool flat = true;
    enum lj_rc rc = tpm_random(f->t, a, sizeof(a));

    if (rc == LJ_OK)
        rc = tpm_random(f->t, b, sizeof(b));
    if (rc != LJ_OK) {
        set(&f->c[C_RANDOM], ST_FAIL, "TPM2_GetRandom failed: %s", why(rc));
        return;
    }
    for (size_t i = 1; i < sizeof(a); i++)
        flat = flat && a[i] == a[0];
    if (flat || memcmp(a, b, sizeof(a)) == 0)
        set(&f->c[C_RANDOM], ST_FAIL, "TPM2_GetRandom returned constant or repeated output");
    else
        set(&f->c[C_RANDOM], ST_PASS, "2 x 32 bytes, distinct and not constant");
}

static void
check_ephemeral(struct factory *f)
{
    char d[DETAIL_MAX / 2];
    unsigned before = 0, after = 0;
    enum lj_rc rc = tpm_transient_count(f->t, &before);

    if (rc == LJ_OK)
        rc = tpm_ephemeral_check(f->t, d, sizeof(d));
    if (rc != LJ_OK) {
        set(&f->c[C_EPHEMERAL], ST_FAIL, "ephemeral key round trip failed: %s", why(rc));
        return;
    }
    rc = tpm_transient_count(f->t, &after);
    if (rc != LJ_OK || after != before)
        set(&f->c[C_EPHEMERAL], ST_FAIL, "%s; but transient objects %u before, %u after", d, before,
            after);
    else
        set(&f->c[C_EPHEMERAL], ST_PASS, "%s; no transient object left", d);
}

static bool
placeholder(const char *s)
{
    static const char *const junk[] = {
        "to be filled by o.e.m.",
        "default string",
        "system serial number",
        "system manufacturer",
        "system product name",
        "not specified",
        "not applicable",
        "none",
        "n/a",
        "na",
        "oem",
        "unknown",
        "0",
        "00000000",
        "0123456789",
        "123456789",
        "serial",
        "invalid",
        "xxxxxxxx",
    };

    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        if (strcasecmp(s, junk[i]) == 0)
            return true;
    return false;
}

/* Why v is not a usable identity value (naming the rule), or NULL. */
static const char *
identity_problem(const char *v, size_t min_len)
{
    if (v[0] == '\0')
        return "missing: must be set";
    if (strchr(v, '?') != NULL)
        return "has non-printable characters: printable ASCII only";
    if (strlen(v) < min_len)
        return min_len == 4 ? "too short: at least 4 characters" : "too short";
    if (placeholder(v))
        return "a placeholder value: not a firmware default such as 'To be filled by O.E.M.'";
    return NULL;
}

static void
check_identity(struct factory *f)
{
    const char *pm, *pd, *ps;

    (void)lj_identity_read(&f->id, &f->o.ovr, NULL);
    pm = identity_problem(f->id.manufacturer, 1);
    pd = identity_problem(f->id.model, 1);
    ps = identity_problem(f->id.serial, 4);
    if (pm == NULL && pd == NULL && ps == NULL)
        set(&f->c[C_IDENTITY], ST_PASS, "manufacturer '%s', model '%s', serial '%s'",
            f->id.manufacturer, f->id.model, f->id.serial);
    else
        set(&f->c[C_IDENTITY], ST_FAIL, "manufacturer '%s' (%s), model '%s' (%s), serial '%s' (%s)",
            f->id.manufacturer, pm ? pm : "ok", f->id.model, pd ? pd : "ok", f->id.serial,
            ps ? ps : "ok");
}

static void
check_clock(struct factory *f)
{
    char now_s[32], build_s[32], w[160];
    int64_t now = lj_clock_now();
    enum lj_rc rc = lj_clock_check(now, w, sizeof(w));

    lj_clock_format(now, now_s, sizeof(now_s));
    lj_clock_format(lj_clock_build_time(), build_s, sizeof(build_s));
    if (rc == LJ_OK)
        set(&f->c[C_CLOCK], ST_PASS, "%s%s, plausible (build %s)", now_s,
            lj_clock_overridden() ? " (LJ_TEST_NOW)" : "", build_s);
    else
        set(&f->c[C_CLOCK], ST_FAIL, "%s%s: %s", now_s,
            lj_clock_overridden() ? " (LJ_TEST_NOW)" : "", w);
}

/*
 * --network: resolve, connect and complete TLS to each cloud host, the way
 * run's preflight does, with the configuration's endpoints, ca_file and
 * connect_to.  Nothing is sent beyond the TLS handshake.
 */
static void
check_network(struct factory *f)
{
    const struct lj_config *cfg = &f->cfg;
    struct lj_http_config hc;
    struct lj_cfg_proxy px;
    struct lj_http *h = NULL;
    const char *ct[LJ_CONFIG_MAX_CONNECT_TO];
    const char *urls[3];
    char what[320], host[256];
    long port;

    lj_cfg_http(cfg, ct, &hc);
    if (lj_cfg_proxy(cfg, &px, &hc) != LJ_OK) {
        set(&f->c[C_NETWORK], ST_FAIL, "proxy %s: %s", px.url, px.error);
        goto out;
    }
    if (lj_http_new(&hc, &h) != LJ_OK) {
        set(&f->c[C_NETWORK], ST_FAIL, "HTTPS client could not start: %s", lj_err_detail());
        goto out;
    }
    urls[0] = cfg->authority;
    urls[1] = cfg->drs_url;
    urls[2] = cfg->mdm_url;
    for (size_t i = 0; i < 3; i++) {
        if (lj_http_probe(h, urls[i], what, sizeof(what)) != LJ_OK) {
            set(&f->c[C_NETWORK], ST_FAIL, "%s", what);
            goto out;
        }
    }
    for (size_t i = 0; i < 3; i++) {
        if (lj_http_url_host(urls[i], host, sizeof(host), &port) != LJ_OK)
            snprintf(host, sizeof(host), "%s", urls[i]);
        if (i == 0)
            set(&f->c[C_NETWORK], ST_PASS, "DNS, TCP and TLS ok: %s", host);
        else
            snprintf(f->c[C_NETWORK].detail + strlen(f->c[C_NETWORK].detail),
                     sizeof(f->c[C_NETWORK].detail) - strlen(f->c[C_NETWORK].detail), ", %s", host);
    }
out:
    lj_cfg_proxy_wipe(&px);
    lj_http_free(h);
}

/*
 * After tpm_info and self_test: can the TPM run the other checks?  A TPM
 * in failure mode answers only GetTestResult and a few GetCapability
 * properties (TPM 2.0 Library Part 1, "Failure mode"), with TPM_RC_FAILURE
 * (0x101) to the rest; one never started answers TPM_RC_INITIALIZE (0x100).
 */
static void
tpm_blocked(struct factory *f)
{
    bool info_unreadable = f->c[C_INFO].status == ST_FAIL && !f->have_health;
    bool selftest_failed = f->c[C_SELFTEST].status == ST_FAIL;
    const char *d1 = f->c[C_INFO].detail, *d2 = f->c[C_SELFTEST].detail;

    if (!info_unreadable && !selftest_failed &&
        !(f->have_health && f->h.family[0] == '\0' && !f->h.self_test_ok))
        return;
    if (strstr(d1, "tss2_rc=0x101") || strstr(d2, "tss2_rc=0x101") ||
        (f->have_health && (f->h.self_test_rc & 0xfff) == 0x101))
        f->blocked = "TPM in failure mode: TPM_RC_FAILURE, its self-test failed";
    else if (strstr(d1, "tss2_rc=0x100") || strstr(d2, "tss2_rc=0x100"))
        f->blocked = "TPM never started: TPM_RC_INITIALIZE, the firmware sent no TPM2_Startup";
    else
        f->blocked = "TPM self-test failed";
}

/* Run one check, timed, with a fresh error slot. */
static void
run(struct factory *f, int i, void (*fn)(struct factory *))
{
    struct timespec t0;

    lj_err_clear();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fn(f);
    f->c[i].ms = lj_elapsed_ms(&t0);
}

/* ---- report ------------------------------------------------------------ */

static const char *
status_name(enum status s)
{
    switch (s) {
    case ST_PASS: return "pass";
    case ST_FAIL: return "fail";
    case ST_SKIPPED: return "skipped";
    default: return "not_run";
    }
}

static int
exit_code(const struct factory *f)
{
    static const enum group order[] = {G_TPM, G_EK, G_DEVICE};
    static const int codes[] = {LJ_EXIT_FACTORY_TPM, LJ_EXIT_FACTORY_EK, LJ_EXIT_FACTORY_DEVICE};

    for (size_t g = 0; g < 3; g++)
        for (int i = 0; i < C_COUNT; i++)
            if (f->c[i].group == order[g] && f->c[i].status != ST_PASS)
                return codes[g];
    /* The optional network check counts only when it was asked for. */
    if (f->o.network && f->c[C_NETWORK].status != ST_PASS)
        return LJ_EXIT_NETWORK;
    return LJ_EXIT_OK;
}

/* "TPM, EK certificate" — every required group with a failed check. */
static void
failed_groups(const struct factory *f, char *out, size_t osz)
{
    static const char *const names[] = {"TPM", "EK certificate", "device identity or clock",
                                        "network"};
    size_t off = 0;

    out[0] = '\0';
    for (int g = G_TPM; g <= G_OPTIONAL; g++) {
        bool bad = false;

        for (int i = 0; i < C_COUNT; i++)
            bad = bad || (f->c[i].group == (enum group)g && f->c[i].status == ST_FAIL &&
                          (g != G_OPTIONAL || f->o.network));
        if (bad && off < osz) {
            int w = snprintf(out + off, osz - off, "%s%s", off ? ", " : "", names[g]);
            off += w > 0 ? (size_t)w : 0;
        }
    }
}

static const char *
exit_text(int ex)
{
    switch (ex) {
    case LJ_EXIT_OK: return "every required check passed";
    case LJ_EXIT_FACTORY_TPM: return "TPM check failed";
    case LJ_EXIT_FACTORY_EK: return "EK certificate check failed";
    case LJ_EXIT_NETWORK: return "network check failed";
    default: return "device identity or clock check failed";
    }
}

/* A JSON string literal (control characters escaped; input is ASCII/UTF-8). */
static void
json_str(FILE *o, const char *s)
{
    fputc('"', o);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(o, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(o, "\\u%04x", *p);
        else
            fputc(*p, o);
    }
    fputc('"', o);
}

static void
report_json(const struct factory *f, int ex, long total)
{
    FILE *o = stdout;

    char failed[160];

    failed_groups(f, failed, sizeof(failed));
    fprintf(o, "{\"result\":\"%s\",\"exit_code\":%d,\"summary\":", ex == 0 ? "pass" : "fail", ex);
    json_str(o, exit_text(ex));
    fprintf(o, ",\"failed_groups\":");
    json_str(o, failed);
    fprintf(o, ",\"ms\":%ld,\"tcti\":", total);
    json_str(o, f->cfg.tcti);
    fprintf(o, ",\"tpm\":");
    if (f->have_health) {
        fprintf(o, "{\"family\":");
        json_str(o, f->h.family);
        fprintf(o, ",\"manufacturer\":");
        json_str(o, f->h.manufacturer);
        fprintf(o, ",\"manufacturer_id\":%u,\"vendor\":", f->h.manufacturer_id);
        json_str(o, f->h.vendor);
        fprintf(o, ",\"firmware\":");
        json_str(o, f->h.firmware);
        fprintf(o,
                ",\"in_lockout\":%s,\"lockout_counter\":%u,\"max_tries\":%u,"
                "\"recovery_s\":%u}",
                f->h.in_lockout ? "true" : "false", f->h.lockout_counter, f->h.max_tries,
                f->h.recovery_s);
    } else {
        fprintf(o, "null");
    }
    fprintf(o, ",\"device\":{\"manufacturer\":");
    json_str(o, f->id.manufacturer);
    fprintf(o, ",\"model\":");
    json_str(o, f->id.model);
    fprintf(o, ",\"serial\":");
    json_str(o, f->id.serial);
    fprintf(o, "},\"checks\":[");
    for (int i = 0; i < C_COUNT; i++) {
        fprintf(o, "%s{\"name\":", i > 0 ? "," : "");
        json_str(o, f->c[i].name);
        fprintf(o, ",\"required\":%s,\"status\":\"%s\",\"ms\":%ld,\"detail\":",
                f->c[i].group == G_OPTIONAL ? "false" : "true", status_name(f->c[i].status),
                f->c[i].ms);
        json_str(o, f->c[i].detail);
        if (f->c[i].status == ST_FAIL && f->c[i].action != NULL) {
            fprintf(o, ",\"action\":");
            json_str(o, f->c[i].action);
        }
        fputc('}', o);
    }
    fprintf(o, "]}\n");
}

static void
report_text(const struct factory *f, int ex, long total)
{
    static const char *const label[] = {"NOT RUN", "PASS", "FAIL", "SKIPPED"};
    char failed[160];

    failed_groups(f, failed, sizeof(failed));
    printf("linkjoin factory-test: %s (exit %d: %s) in %ld ms\n", ex == 0 ? "PASS" : "FAIL", ex,
           exit_text(ex), total);
    if (failed[0] != '\0')
        printf("  failed: %s\n", failed);
    for (int i = 0; i < C_COUNT; i++) {
        printf("  %-7s  %-14s %5ld ms  %s%s\n", label[f->c[i].status], f->c[i].name, f->c[i].ms,
               f->c[i].detail, f->c[i].group == G_OPTIONAL ? " (optional)" : "");
        if (f->c[i].status == ST_FAIL && f->c[i].action != NULL)
            printf("  %-7s  %-14s          action: %s\n", "", "", f->c[i].action);
    }
}

int
cmd_factory_test(int argc, char **argv)
{
    static const struct {
        const char *name;
        enum group group;
        void (*fn)(struct factory *);
    } table[C_COUNT] = {
        [C_PRESENT] = {"tpm_present", G_TPM, check_present},
        [C_INFO] = {"tpm_info", G_TPM, check_info},
        [C_SELFTEST] = {"self_test", G_TPM, check_selftest},
        [C_LOCKOUT] = {"lockout", G_TPM, check_lockout},
        [C_EK] = {"ek_certificate", G_EK, check_ek},
        [C_RANDOM] = {"random", G_TPM, check_random},
        [C_EPHEMERAL] = {"ephemeral_key", G_TPM, check_ephemeral},
        [C_IDENTITY] = {"identity", G_DEVICE, check_identity},
        [C_CLOCK] = {"clock", G_DEVICE, check_clock},
        [C_NETWORK] = {"network", G_OPTIONAL, NULL},
    };
    struct factory *f = NULL;
    int ex;

    f = calloc(1, sizeof(*f));
    if (f == NULL)
        return LJ_EXIT_FAILURE;
    ex = factory_parse(argc, argv, &f->o);
    if (ex != 0) {
        fprintf(stderr, "(see 'linkjoin factory-test --help')\n");
        goto out;
    }
    if (f->o.help) {
        factory_usage(stdout);
        goto out;
    }
    {
        struct lj_cmd_tpm_flags fl = {
            .config = f->o.config, .tcti = f->o.tcti, .log_level = f->o.log_level};

        ex = lj_cmd_tpm_config("factory-test", &fl, &f->cfg);
        if (ex >= 0)
            goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &f->t0);
    for (int i = 0; i < C_COUNT; i++) {
        f->c[i].name = table[i].name;
        f->c[i].group = table[i].group;
        snprintf(f->c[i].detail, sizeof(f->c[i].detail), "not run: no TPM");
    }
    /* the report has every detail: log lines would only interleave with it */
    if (f->o.log_level == NULL && lj_log_get_level() < LJ_LOG_INFO)
        lj_log_set_quiet(true);
    for (int i = 0; i < C_COUNT; i++) {
        if (table[i].fn == NULL)
            continue;
        if (table[i].group != G_DEVICE && i != C_PRESENT && f->t == NULL)
            continue;
        if (f->blocked != NULL &&
            (i == C_LOCKOUT || i == C_EK || i == C_RANDOM || i == C_EPHEMERAL)) {
            snprintf(f->c[i].detail, sizeof(f->c[i].detail), "not run (%s)", f->blocked);
            continue;
        }
        run(f, i, table[i].fn);
        if (i == C_SELFTEST)
            tpm_blocked(f);
    }
    lj_log_set_quiet(false);
    for (int i = 0; i < C_COUNT; i++)
        if (f->c[i].status == ST_FAIL)
            f->c[i].action = actions[i];
    if (f->o.network) {
        run(f, C_NETWORK, check_network);
    } else {
        f->c[C_NETWORK].status = ST_NOT_RUN;
        snprintf(f->c[C_NETWORK].detail, sizeof(f->c[C_NETWORK].detail), "%s",
                 "not run (--network not given)");
    }
    tpm_close(f->t);
    f->t = NULL;
    ex = exit_code(f);
    if (f->o.json)
        report_json(f, ex, lj_elapsed_ms(&f->t0));
    else
        report_text(f, ex, lj_elapsed_ms(&f->t0));
    if (fflush(stdout) != 0)
        ex = LJ_EXIT_FAILURE;
out:
    free(f);
    return ex;
}
