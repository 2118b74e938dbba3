/*
 * entra-sim — a simulated Entra tenant for tests: login.microsoftonline.com
 * (OAuth2 v1/v2), enterpriseregistration.windows.net (DRS discovery, join,
 * delete) and enrollment.manage.microsoft.com (Intune MDM enrollment) on one
 * HTTPS port, plus a loopback control API.
 *
 * Design: main() loads the tenant file, prepares the state directory
 * (keys and certificates, created on first run and reused after; guarded
 * by a lock file so concurrent first runs don't mix files), starts the two
 * libmicrohttpd daemons (server.c), prints one JSON "ready" line on stdout
 * and waits for SIGTERM/SIGINT with every signal blocked in the worker
 * threads.  Modules: tenant.c (directory + registry), oauth.c (login),
 * drs.c (device registration), mdm.c (Intune enrollment), control.c (test API), pki.c/der.c
 * (certificates), jwt.c (tokens), util.c.  It shares no protocol code
 * with agent/.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "hw-sim/entra-sim/jwt.h"
#include "hw-sim/entra-sim/pki.h"
#include "hw-sim/entra-sim/server.h"
#include "hw-sim/entra-sim/tenant.h"
#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"

#define MOD "main"
#define TENANT_MAX (4 * 1024 * 1024)
#define EXIT_USAGE 2
#define EXIT_CONFIG 3

static void
usage(FILE *f)
{
    fprintf(f, "usage: entra-sim --tenant FILE --state-dir DIR [--listen ADDR:PORT]\n"
               "                 [--control ADDR:PORT] [--tls-sigalgs NAME]\n"
               "                 [--log-level error|warn|info|debug]\n"
               "\n"
               "  --tenant FILE     tenant file (JSON; see hw-sim/entra-sim/README.md)\n"
               "  --state-dir DIR   keys and certificates; DIR/ca.pem is the CA to trust\n"
               "                    (created on first run, reused afterwards)\n"
               "  --listen          public HTTPS address (default 127.0.0.1:0 = free port)\n"
               "  --control         control API address, loopback only (default 127.0.0.1:0)\n"
               "  --tls-sigalgs default|tls12|no-pss|pkcs1-sha384|pss-sha384|\n"
               "                    pss-sha512|pkcs1-sha1\n"
               "                    signature algorithms of the public port: GnuTLS's default\n"
               "                    (TLS 1.2 and 1.3), the same on TLS 1.2 only, no RSA-PSS\n"
               "                    (PKCS#1 v1.5 and ECDSA only; TLS 1.2), or\n"
               "                    rsa_pkcs1_sha384, rsa_pss_rsae_sha384, rsa_pss_rsae_sha512\n"
               "                    or rsa_pkcs1_sha1 only (TLS 1.2)\n"
               "\n"
               "When ready, prints one line on stdout:\n"
               "  {\"event\":\"ready\",\"port\":P,\"control_port\":C,\"ca\":\"DIR/ca.pem\",...}\n"
               "SIGTERM or SIGINT stops it (exit 0).  Exit 2: usage, 3: tenant file or\n"
               "state directory invalid, 1: other failure.\n");
}

struct files {
    char *ca_pem;     /* TLS root CA (PEM) */
    char *server_pem; /* server certificate chain (PEM) */
    char *server_key; /* server key (PEM) */
    char *drs_ca_pem; /* MS-Organization-Access CA (PEM) */
};

static void
files_free(struct files *f)
{
    free(f->ca_pem);
    free(f->server_pem);
    lj_secret_free(f->server_key);
    free(f->drs_ca_pem);
}

/* Load DIR/name or create and save a new 2048-bit key; *fresh says which. */
static enum lj_rc
key_load_or_make(const char *dir, const char *name, struct pki_key **out, bool *fresh)
{
    char path[PATH_MAX];
    enum lj_rc rc;

    if (!lj_path_join(path, sizeof(path), dir, name))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=path_too_long");
    *fresh = false;
    if (lj_fs_exists(path))
        return pki_key_load(path, out);
    rc = pki_key_generate(2048, out);
    if (rc != LJ_OK)
        return rc;
    *fresh = true;
    rc = pki_key_save(*out, path);
    if (rc != LJ_OK) {
        pki_key_free(*out);
        *out = NULL;
    }
    return rc;
}

/*
 * Load DIR/name as a certificate whose key is key, or make a new one with
 * make() when missing, unreadable, for another key, or force is set.
 */
static enum lj_rc
cert_load_or_make(const char *dir, const char *name, struct pki_key *key, bool force,
                  enum lj_rc (*make)(void *ctx, unsigned char **der, size_t *len), void *ctx,
                  unsigned char **der_out, size_t *len_out, bool *made)
{
    char path[PATH_MAX];
    unsigned char *pem = NULL, *der = NULL;
    size_t pemlen = 0, len = 0, spki_len;
    const unsigned char *spki = pki_key_spki(key, &spki_len);
    struct der subj, cspki;
    char *text = NULL;
    enum lj_rc rc;

    *made = false;
    if (!lj_path_join(path, sizeof(path), dir, name))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=path_too_long");
    if (!force && lj_fs_read(path, 64 * 1024, &pem, &pemlen) == LJ_OK &&
        pki_cert_from_pem((const char *)pem, pemlen, &der, &len) == LJ_OK &&
        pki_cert_parts(der, len, &subj, &cspki) && cspki.n == spki_len &&
        memcmp(cspki.p, spki, spki_len) == 0) {
        free(pem);
        lj_err_clear();
        *der_out = der;
        *len_out = len;
        return LJ_OK;
    }
    lj_err_clear();
    free(pem);
    free(der);
    der = NULL;
    rc = make(ctx, &der, &len);
    if (rc != LJ_OK)
        return rc;
    text = pki_cert_pem(der, len);
    if (text == NULL) {
        free(der);
        return lj_err_set(LJ_ERR_CRYPTO, MOD, "event=pem_encode_failed");
    }
    rc = lj_fs_write_atomic(path, text, strlen(text), 0644);
    free(text);
    if (rc != LJ_OK) {
        free(der);
        return rc;
    }
    *made = true;
    *der_out = der;
    *len_out = len;
    return LJ_OK;
}

struct mk {
    struct pki_key *key;
    struct pki_key *ca_key;
    const unsigned char *ca_der;
    size_t ca_len;
    bool msorg;
};

static enum lj_rc
make_root(void *ctx, unsigned char **der, size_t *len)
{
    struct mk *m = ctx;
    char cn[64], g[37];

    sim_guid_new(g);
    snprintf(cn, sizeof(cn), "entra-sim test root %.8s", g);
    return pki_make_root(m->key, cn, m->msorg, der, len);
}

static enum lj_rc
make_server(void *ctx, unsigned char **der, size_t *len)
{
    struct mk *m = ctx;
    size_t spki_len;
    const unsigned char *spki = pki_key_spki(m->key, &spki_len);

    return pki_make_server(m->ca_key, m->ca_der, m->ca_len, spki, spki_len, der, len);
}

static enum lj_rc
make_intermediate(void *ctx, unsigned char **der, size_t *len)
{
    struct mk *m = ctx;

    return pki_make_intermediate(m->ca_key, m->ca_der, m->ca_len, m->key,
                                 "Microsoft Intune MDM Device CA", der, len);
}

static enum lj_rc
make_mdm_root(void *ctx, unsigned char **der, size_t *len)
{
    struct mk *m = ctx;
    char cn[64], g[37];

    sim_guid_new(g);
    snprintf(cn, sizeof(cn), "entra-sim Intune Root CA %.8s", g);
    return pki_make_root(m->key, cn, false, der, len);
}

static char *
read_text(const char *dir, const char *name)
{
    char path[PATH_MAX];
    unsigned char *data = NULL;
    size_t len = 0;

    if (!lj_path_join(path, sizeof(path), dir, name) ||
        lj_fs_read(path, 64 * 1024, &data, &len) != LJ_OK)
        return NULL;
    return (char *)data;
}

/* Prepare the state directory; fills g_sim's keys and the PEM texts. */
static enum lj_rc
state_dir_init(const char *dir, struct files *f)
{
    struct pki_key *ca_key = NULL, *srv_key = NULL, *mdm_root_key = NULL;
    unsigned char *ca_der = NULL, *srv_der = NULL;
    size_t ca_len = 0, srv_len = 0;
    bool fresh = false, made = false, fresh_srv = false;
    struct mk m;
    int lock_fd = -1;
    char path[PATH_MAX];
    enum lj_rc rc;

    rc = lj_fs_mkdir_private(dir);
    if (rc != LJ_OK)
        return rc;
    if (!lj_path_join(path, sizeof(path), dir, ".lock"))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=path_too_long");
    lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0) {
        rc =
            lj_err_set(LJ_ERR_IO, MOD, "event=lock_failed path=%s errno=%s", path, strerror(errno));
        goto out;
    }
    /* TLS root and server certificate. */
    rc = key_load_or_make(dir, "ca.key", &ca_key, &fresh);
    if (rc != LJ_OK)
        goto out;
    m = (struct mk){.key = ca_key, .msorg = false};
    rc = cert_load_or_make(dir, "ca.pem", ca_key, fresh, make_root, &m, &ca_der, &ca_len, &made);
    if (rc != LJ_OK)
        goto out;
    rc = key_load_or_make(dir, "server.key", &srv_key, &fresh_srv);
    if (rc != LJ_OK)
        goto out;
    m = (struct mk){.key = srv_key, .ca_key = ca_key, .ca_der = ca_der, .ca_len = ca_len};
    rc = cert_load_or_make(dir, "server.pem", srv_key, made || fresh_srv, make_server, &m, &srv_der,
                           &srv_len, &made);
    if (rc != LJ_OK)
        goto out;
    /* Device-certificate CA, token-signing key, and a second key for faults. */
    rc = key_load_or_make(dir, "drs-ca.key", &g_sim.drs_ca_key, &fresh);
    if (rc != LJ_OK)
        goto out;
    m = (struct mk){.key = g_sim.drs_ca_key, .msorg = true};
    rc = cert_load_or_make(dir, "drs-ca.pem", g_sim.drs_ca_key, fresh, make_root, &m,
                           &g_sim.drs_ca_der, &g_sim.drs_ca_len, &made);
    if (rc != LJ_OK)
        goto out;
    rc = key_load_or_make(dir, "token.key", &g_sim.token_key, &fresh);
    if (rc != LJ_OK)
        goto out;
    rc = key_load_or_make(dir, "other.key", &g_sim.wrong_key, &fresh);
    if (rc != LJ_OK)
        goto out;
    /* Intune: its own root and the "Microsoft Intune MDM Device CA" under it. */
    rc = key_load_or_make(dir, "mdm-root.key", &mdm_root_key, &fresh);
    if (rc != LJ_OK)
        goto out;
    m = (struct mk){.key = mdm_root_key};
    rc = cert_load_or_make(dir, "mdm-root.pem", mdm_root_key, fresh, make_mdm_root, &m,
                           &g_sim.mdm_root_der, &g_sim.mdm_root_len, &made);
    if (rc != LJ_OK)
        goto out;
    rc = key_load_or_make(dir, "mdm-ca.key", &g_sim.mdm_ca_key, &fresh_srv);
    if (rc != LJ_OK)
        goto out;
    m = (struct mk){.key = g_sim.mdm_ca_key,
                    .ca_key = mdm_root_key,
                    .ca_der = g_sim.mdm_root_der,
                    .ca_len = g_sim.mdm_root_len};
    rc = cert_load_or_make(dir, "mdm-ca.pem", g_sim.mdm_ca_key, made || fresh_srv,
                           make_intermediate, &m, &g_sim.mdm_ca_der, &g_sim.mdm_ca_len, &made);
    if (rc != LJ_OK)
        goto out;
    {
        size_t n;
        const unsigned char *spki = pki_key_spki(g_sim.token_key, &n);
        jwt_kid(spki, n, g_sim.token_kid, sizeof(g_sim.token_kid));
    }
    f->ca_pem = read_text(dir, "ca.pem");
    f->server_pem = read_text(dir, "server.pem");
    f->server_key = read_text(dir, "server.key");
    f->drs_ca_pem = read_text(dir, "drs-ca.pem");
    if (f->ca_pem == NULL || f->server_pem == NULL || f->server_key == NULL ||
        f->drs_ca_pem == NULL)
        rc = lj_err_set(LJ_ERR_IO, MOD, "event=state_files_unreadable dir=%s", dir);
out:
    if (lock_fd >= 0)
        close(lock_fd);
    pki_key_free(ca_key);
    pki_key_free(srv_key);
    pki_key_free(mdm_root_key);
    free(ca_der);
    free(srv_der);
    return rc;
}

static void
json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", (unsigned char)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

int
main(int argc, char **argv)
{
    const char *tenant_path = NULL, *state_dir = NULL;
    const char *listen = "127.0.0.1:0", *control = "127.0.0.1:0";
    struct files files = {0};
    char err[600], dir_abs[PATH_MAX], ca_path[PATH_MAX + 16];
    unsigned char *text = NULL;
    size_t text_len = 0;
    sigset_t set;
    int port = 0, ctl_port = 0, sig = 0, ret = 1;
    enum lj_log_level level = LJ_LOG_INFO;
    enum lj_rc rc;
    bool started = false;

    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (v == NULL) {
            fprintf(stderr, "entra-sim: %s needs a value\n", a);
            usage(stderr);
            return EXIT_USAGE;
        }
        if (strcmp(a, "--tenant") == 0)
            tenant_path = v;
        else if (strcmp(a, "--state-dir") == 0)
            state_dir = v;
        else if (strcmp(a, "--listen") == 0)
            listen = v;
        else if (strcmp(a, "--control") == 0)
            control = v;
        else if (strcmp(a, "--tls-sigalgs") == 0) {
            if (!srv_set_tls_sigalgs(v)) {
                fprintf(stderr, "entra-sim: bad --tls-sigalgs '%s'\n", v);
                return EXIT_USAGE;
            }
        } else if (strcmp(a, "--log-level") == 0) {
            if (!lj_log_parse_level(v, &level)) {
                fprintf(stderr, "entra-sim: bad --log-level '%s'\n", v);
                return EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "entra-sim: unknown option '%s'\n", a);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (tenant_path == NULL || state_dir == NULL) {
        fprintf(stderr, "entra-sim: --tenant and --state-dir are required\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    lj_log_set_level(level);

    rc = lj_fs_read(tenant_path, TENANT_MAX, &text, &text_len);
    if (rc != LJ_OK) {
        fprintf(stderr, "entra-sim: cannot read tenant file %s: %s\n", tenant_path,
                rc == LJ_ERR_TOO_BIG ? "larger than 4 MiB" : lj_rc_name(rc));
        return EXIT_CONFIG;
    }
    if (tenant_parse((const char *)text, text_len, &g_sim.t, err, sizeof(err)) != LJ_OK) {
        fprintf(stderr, "entra-sim: tenant file %s: %s\n", tenant_path, err);
        free(text);
        return EXIT_CONFIG;
    }
    g_sim.tenant_text = (char *)text;
    g_sim.tenant_len = text_len;

    rc = state_dir_init(state_dir, &files);
    if (rc != LJ_OK) {
        fprintf(stderr, "entra-sim: state directory %s unusable: %s (%s)\n", state_dir,
                lj_rc_name(rc), lj_err_detail());
        ret = EXIT_CONFIG;
        goto out;
    }
    if (realpath(state_dir, dir_abs) == NULL)
        snprintf(dir_abs, sizeof(dir_abs), "%s", state_dir);
    snprintf(ca_path, sizeof(ca_path), "%s/ca.pem", dir_abs);

    /* Worker threads inherit this mask; only sigwait below sees the signals. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = srv_start(listen, control, files.server_key, files.server_pem, files.drs_ca_pem, &port,
                   &ctl_port);
    if (rc != LJ_OK) {
        fprintf(stderr, "entra-sim: cannot start: %s (%s)\n", lj_rc_name(rc), lj_err_detail());
        ret = rc == LJ_ERR_CONFIG ? EXIT_USAGE : 1;
        goto out;
    }
    started = true;
    printf("{\"event\":\"ready\",\"port\":%d,\"control_port\":%d,\"ca\":", port, ctl_port);
    json_str(stdout, ca_path);
    printf(",\"tenant_id\":");
    json_str(stdout, g_sim.t->id);
    printf(",\"pid\":%ld}\n", (long)getpid());
    fflush(stdout);
    lj_log(LJ_LOG_INFO, MOD, "event=ready port=%d control_port=%d tenant=%s", port, ctl_port,
           g_sim.t->id);
    do {
        if (sigwait(&set, &sig) != 0)
            break;
    } while (sig == SIGHUP);
    lj_log(LJ_LOG_INFO, MOD, "event=stopping signal=%d", sig);
    ret = 0;
out:
    g_sim.stopping = 1;
    if (started)
        srv_stop();
    pthread_mutex_lock(&g_sim.lock);
    state_clear_registry();
    tenant_free(g_sim.t);
    g_sim.t = NULL;
    pthread_mutex_unlock(&g_sim.lock);
    pki_key_free(g_sim.token_key);
    pki_key_free(g_sim.drs_ca_key);
    pki_key_free(g_sim.wrong_key);
    pki_key_free(g_sim.mdm_ca_key);
    free(g_sim.drs_ca_der);
    free(g_sim.mdm_ca_der);
    free(g_sim.mdm_root_der);
    free(g_sim.tenant_text);
    files_free(&files);
    return ret;
}
