/*
 * cmd_token.c — `linkjoin token (--resource R | --scope S) [--client-id C]
 * [--redirect-uri U] [CONFIG FLAGS]`: an access token for a local client
 * (the Windows 365 connection client), signed with the device's Primary
 * Refresh Token (agent/flow/sso.c), and `linkjoin token --serve [--listen
 * PATH]`, the broker that gets it for members of the group `linkjoin`.
 *
 * Design note: the state directory, the sealed PRT and the TPM belong to
 * the service user, so root and that user take the direct path; any other
 * member of the group asks the broker over a Unix socket
 * (linkjoin-token.socket, mode 0660 root:linkjoin; agent/proto/broker.h
 * for the lines).  The broker runs as the service user, checks the peer's
 * uid with SO_PEERCRED (a socket file mode is the first fence, never the
 * only one: OpenBSD smtpd's control socket asks getpeereid for every
 * connection, control.c control_accept), reads one bounded request line
 * within SERVE_READ_MS, answers one line and closes.  The access token
 * goes only to that peer and is wiped once written; the log names the
 * peer's uid, never the token.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/cli/cmd.h"
#include "agent/core/config.h"
#include "agent/core/exitcodes.h"
#include "agent/flow/flow.h"
#include "agent/proto/broker.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "platform/usock.h"

#define MOD "token"
/* The group whose members may ask for tokens besides root. */
#define TOKEN_GROUP "linkjoin"
#define TOKEN_ARG_MAX 512
/* The broker: a request line within 5 s, the answer written within 5 s. */
#define SERVE_READ_MS 5000
#define SERVE_WRITE_MS 5000
#define SERVE_BACKLOG 4

static void
token_usage(FILE *f)
{
    fprintf(
        f,
        "usage: linkjoin token (--resource URI | --scope SCOPE) [--client-id ID]\n"
        "                      [--redirect-uri URI] [configuration flags]\n"
        "       linkjoin token --serve [--listen PATH] [configuration flags]\n"
        "Print an access token for URI (or SCOPE) as one JSON line on stdout,\n"
        "got with this device's Primary Refresh Token: {\"token_type\":\"Bearer\",\n"
        "\"access_token\":...,\"expires_in\":...,\"expires_on\":...,\"resource\"|\"scope\":...,\n"
        "\"client_id\":...}.  Client ID: the Microsoft Authentication Broker\n"
        "(29d9ed98-a469-4536-ade2-f981bc1d605e) unless --client-id names another\n"
        "first-party client (a GUID).  Only root and members of the group '" TOKEN_GROUP "' may\n"
        "run it; a member who cannot read the state directory asks the token broker\n"
        "at token_socket.  Never asks anyone to sign in.\n"
        "--serve: be that broker for one connection on stdin (linkjoin-token@.service),\n"
        "or, with --listen PATH, for each connection to a socket at PATH in turn.\n\n"
        "exit: 0 token printed, 1 not allowed or failed, 2 usage, 5 no network,\n"
        "      6 no PRT on this device ('linkjoin prt-renew' or 'linkjoin run'),\n"
        "      7 the device is disabled or deleted in Entra, 8 bad service answer,\n"
        "      11 the cloud does not recognize the device yet (try later),\n"
        "      12 not joined, 3/4/13 as in 'linkjoin --help'.\n\n");
    lj_config_usage(f);
}

/*
 * root, or a member of TOKEN_GROUP (primary or supplementary).  The service
 * user is one: its primary group (sysusers `u linkjoin -`), and
 * linkjoin-token@.service gives it as SupplementaryGroups= beside Group=tss.
 */
static bool
token_allowed(void)
{
    struct group *g;
    gid_t groups[256];
    int n;

    if (geteuid() == 0)
        return true;
    g = getgrnam(TOKEN_GROUP);
    if (g == NULL)
        return false;
    if (getegid() == g->gr_gid)
        return true;
    n = getgroups((int)(sizeof(groups) / sizeof(groups[0])), groups);
    for (int i = 0; i < n; i++) {
        if (groups[i] == g->gr_gid)
            return true;
    }
    return false;
}

/* --help or -h before any "--". */
static bool
token_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    }
    return false;
}

/* Take "--NAME VALUE" out of argv (kept for lj_cmd_args: the rest). */
static int
token_take(const char *name, int *argc, char **argv, const char **val)
{
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], name) != 0)
            continue;
        if (i + 1 >= *argc || argv[i + 1][0] == '\0' || strlen(argv[i + 1]) > TOKEN_ARG_MAX) {
            fprintf(stderr, "linkjoin token: %s needs a value of 1 to %d characters\n", name,
                    TOKEN_ARG_MAX);
            return -1;
        }
        if (*val != NULL) {
            fprintf(stderr, "linkjoin token: %s given twice\n", name);
            return -1;
        }
        *val = argv[i + 1];
        memmove(&argv[i], &argv[i + 2], (size_t)(*argc - i - 2) * sizeof(*argv));
        *argc -= 2;
        i--;
    }
    return 0;
}

/* The values of ask against the rules the broker applies too (broker.h). */
static int
token_check(const struct lj_flow_token_ask *ask)
{
    static const char *const flag[BROKER_F_COUNT__] = {"--resource", "--scope", "--client-id",
                                                       "--redirect-uri"};
    const char *v[BROKER_F_COUNT__] = {ask->resource, ask->scope, ask->client_id,
                                       ask->redirect_uri};

    for (int f = 0; f < BROKER_F_COUNT__; f++) {
        const char *why = v[f] != NULL ? broker_value_problem((enum broker_field)f, v[f]) : NULL;

        if (why != NULL) {
            fprintf(stderr, "linkjoin token: %s wants %s\n", flag[f], why);
            return LJ_EXIT_USAGE;
        }
    }
    if ((ask->resource == NULL) == (ask->scope == NULL)) {
        fprintf(stderr, "linkjoin token: give exactly one of --resource and --scope "
                        "(see 'linkjoin token --help')\n");
        return LJ_EXIT_USAGE;
    }
    return -1;
}

/* ---- the broker ---- */

/* One answer line (text, then '\n') to fd; false when it could not be written. */
static bool
serve_write(int fd, const char *text)
{
    return lj_usock_write_all(fd, text, strlen(text), SERVE_WRITE_MS) == LJ_OK &&
           lj_usock_write_all(fd, "\n", 1, SERVE_WRITE_MS) == LJ_OK;
}

static bool
serve_error(int fd, unsigned uid, const char *slug, const char *message, int ex)
{
    char *line = NULL;
    bool ok;

    lj_log(LJ_LOG_WARN, MOD, "event=token_refused uid=%u reason=%s", uid, slug);
    if (broker_error_json(slug, message, ex, &line) != LJ_OK)
        return false;
    ok = serve_write(fd, line);
    free(line);
    return ok;
}

/* May uid (gid its primary group) have tokens? */
static bool
serve_peer_allowed(uid_t uid, gid_t gid)
{
    gid_t g;

    if (uid == 0 || uid == geteuid())
        return true;
    if (lj_usock_group_gid(TOKEN_GROUP, &g) && gid == g)
        return true;
    return lj_usock_user_in_group(uid, TOKEN_GROUP);
}

/*
 * One connection: who, the request, the answer.  Returns false only when
 * the peer could not be told (the caller logs nothing more).
 */
static bool
serve_one(const struct lj_config *cfg, int fd)
{
    struct lj_flow_token_ask ask;
    struct lj_flow_token_fail fail;
    struct broker_req req;
    char line[BROKER_LINE_MAX + 2], problem[160],
        msg[sizeof(fail.message) + sizeof(fail.detail) + 4];
    char *json = NULL;
    size_t len = 0;
    uid_t uid;
    gid_t gid;
    bool ok;
    enum lj_rc rc;
    int ex;

    if (lj_usock_peer(fd, &uid, &gid) != LJ_OK)
        return false;
    if (!serve_peer_allowed(uid, gid)) {
        snprintf(msg, sizeof(msg),
                 "uid %u is not root, the service user or a member of the group "
                 "'" TOKEN_GROUP "'; nothing was done",
                 (unsigned)uid);
        return serve_error(fd, uid, "not_allowed", msg, LJ_EXIT_FAILURE);
    }
    rc = lj_usock_read_line(fd, SERVE_READ_MS, line, sizeof(line), &len);
    if (rc == LJ_ERR_TIMEOUT)
        return serve_error(fd, uid, "request_timeout", "no request line within 5 s",
                           LJ_EXIT_FAILURE);
    if (rc == LJ_ERR_TOO_BIG)
        return serve_error(fd, uid, "request_too_large", "the request is longer than 4096 bytes",
                           LJ_EXIT_USAGE);
    if (rc == LJ_ERR_PROTOCOL && len > 0)
        return serve_error(fd, uid, "bad_request", "the request line has no end ('\\n')",
                           LJ_EXIT_USAGE);
    if (rc != LJ_OK) {
        lj_log(LJ_LOG_INFO, MOD, "event=token_no_request uid=%u reason=%s", (unsigned)uid,
               lj_rc_name(rc));
        return rc == LJ_ERR_PROTOCOL; /* gone without a word: nothing to answer */
    }
    if (broker_req_parse(line, len, &req, problem, sizeof(problem)) != LJ_OK)
        return serve_error(fd, uid, "bad_request", problem, LJ_EXIT_USAGE);
    memset(&ask, 0, sizeof(ask));
    ask.resource = req.resource[0] != '\0' ? req.resource : NULL;
    ask.scope = req.scope[0] != '\0' ? req.scope : NULL;
    ask.client_id = req.client_id[0] != '\0' ? req.client_id : NULL;
    ask.redirect_uri = req.redirect_uri[0] != '\0' ? req.redirect_uri : NULL;
    ex = lj_flow_token(cfg, &ask, &json, &fail);
    if (ex != LJ_EXIT_OK) {
        if (fail.detail[0] != '\0')
            snprintf(msg, sizeof(msg), "%s; %s", fail.message, fail.detail);
        else
            snprintf(msg, sizeof(msg), "%s", fail.message);
        return serve_error(fd, uid, fail.reason[0] != '\0' ? fail.reason : "internal", msg, ex);
    }
    ok = serve_write(fd, json);
    lj_secret_free(json);
    lj_log(LJ_LOG_INFO, MOD, "event=token_served uid=%u %s=%s written=%s access_token=***",
           (unsigned)uid, ask.resource != NULL ? "resource" : "scope",
           ask.resource != NULL ? ask.resource : ask.scope, ok ? "yes" : "no");
    return ok;
}

/* --serve: the connection on stdin (systemd Accept=yes), or every one at listen. */
static int
token_serve(const struct lj_config *cfg, const char *listen_path)
{
    gid_t g;
    int lfd = -1;
    enum lj_rc rc;

    lj_flow_signals_install();
    if (listen_path == NULL) {
        struct stat st;

        if (fstat(STDIN_FILENO, &st) != 0 || !S_ISSOCK(st.st_mode)) {
            fprintf(stderr, "linkjoin token: --serve wants the accepted connection on stdin "
                            "(linkjoin-token@.service), or --listen PATH\n");
            return LJ_EXIT_USAGE;
        }
        return serve_one(cfg, STDIN_FILENO) ? LJ_EXIT_OK : LJ_EXIT_FAILURE;
    }
    rc = lj_usock_listen(listen_path, lj_usock_group_gid(TOKEN_GROUP, &g) ? TOKEN_GROUP : NULL,
                         SERVE_BACKLOG, &lfd);
    if (rc != LJ_OK) {
        fprintf(stderr, "linkjoin token: cannot listen at %s (%s)\n", listen_path, lj_rc_name(rc));
        return LJ_EXIT_FAILURE;
    }
    while (!lj_flow_signalled()) {
        int cfd = -1;

        rc = lj_usock_accept(lfd, -1, &cfd);
        if (rc == LJ_ERR_CANCELLED)
            continue; /* a signal: the loop looks at the flag */
        if (rc != LJ_OK)
            break;
        (void)serve_one(cfg, cfd);
        close(cfd);
    }
    lj_usock_unlisten(lfd, listen_path);
    lj_log(LJ_LOG_INFO, MOD, "event=broker_stopped path=%s", listen_path);
    return rc == LJ_OK || rc == LJ_ERR_CANCELLED ? LJ_EXIT_OK : LJ_EXIT_FAILURE;
}

/* ---- the client of the broker ---- */

/* Can this process read the state directory itself (or is there none to read)? */
static bool
token_direct(const struct lj_config *cfg)
{
    if (geteuid() == 0 || access(cfg->state_dir, R_OK | X_OK) == 0)
        return true;
    return errno == ENOENT; /* the direct path says "not joined" */
}

static int
token_from_broker(const struct lj_config *cfg, const struct lj_flow_token_ask *ask)
{
    struct broker_answer a;
    char *req = NULL, *line = NULL;
    size_t len = 0;
    /* the broker's own bounds: its read, two round trips, a few TPM commands */
    int wait_ms =
        (SERVE_READ_MS / 1000 + 2 * cfg->request_timeout + 4 * cfg->tpm_timeout + 5) * 1000;
    int fd = -1, ex = LJ_EXIT_FAILURE;
    enum lj_rc rc;

    rc = lj_usock_connect(cfg->token_socket, &fd);
    if (rc == LJ_ERR_AUTH) {
        fprintf(stderr,
                "linkjoin token: only root and members of the group '" TOKEN_GROUP "' may get "
                "tokens of this device (%s: permission denied); nothing was done\n",
                cfg->token_socket);
        return LJ_EXIT_FAILURE;
    }
    if (rc != LJ_OK) {
        fprintf(stderr,
                "linkjoin token: the state directory %s is not readable by this user and the "
                "token broker does not answer at %s (%s; is linkjoin-token.socket running?)\n",
                cfg->state_dir, cfg->token_socket, lj_rc_name(rc));
        return LJ_EXIT_FAILURE;
    }
    line = malloc(BROKER_ANSWER_MAX + 2);
    if (line == NULL || broker_req_json(ask->resource, ask->scope, ask->client_id,
                                        ask->redirect_uri, &req) != LJ_OK) {
        fprintf(stderr, "linkjoin token: out of memory\n");
        goto out;
    }
    lj_flow_signals_install();
    rc = lj_usock_write_all(fd, req, strlen(req), SERVE_WRITE_MS);
    if (rc == LJ_OK)
        rc = lj_usock_write_all(fd, "\n", 1, SERVE_WRITE_MS);
    /* a broker that refuses the peer answers before reading: its line is
     * there even when the request could not be written */
    if (rc == LJ_OK || rc == LJ_ERR_IO)
        rc = lj_usock_read_line(fd, wait_ms, line, BROKER_ANSWER_MAX + 2, &len);
    if (rc == LJ_OK && broker_answer_parse(line, len, &a) != LJ_OK)
        rc = LJ_ERR_PROTOCOL;
    if (rc != LJ_OK) {
        fprintf(stderr, "linkjoin token: the token broker at %s gave no usable answer (%s)\n",
                cfg->token_socket, lj_rc_name(rc));
        ex = rc == LJ_ERR_CANCELLED ? LJ_EXIT_CANCELLED : LJ_EXIT_FAILURE;
        goto out;
    }
    if (!a.token) {
        fprintf(stderr, "linkjoin token: %s\n", a.message);
        ex = a.exit_code;
        goto out;
    }
    ex = fwrite(line, 1, len, stdout) == len && fputc('\n', stdout) != EOF && fflush(stdout) == 0
             ? LJ_EXIT_OK
             : LJ_EXIT_FAILURE;
out:
    if (line != NULL)
        lj_secure_free(line, BROKER_ANSWER_MAX + 2);
    free(req);
    close(fd);
    return ex;
}

int
cmd_token(int argc, char **argv)
{
    static const char *const opts[] = {"--serve", NULL};
    bool seen[1] = {false};
    struct lj_config cfg;
    struct lj_flow_token_ask ask;
    struct lj_flow_token_fail fail;
    const char *listen_path = NULL;
    char *json = NULL;
    int ex;

    memset(&ask, 0, sizeof(ask));
    if (token_take("--resource", &argc, argv, &ask.resource) != 0 ||
        token_take("--scope", &argc, argv, &ask.scope) != 0 ||
        token_take("--client-id", &argc, argv, &ask.client_id) != 0 ||
        token_take("--redirect-uri", &argc, argv, &ask.redirect_uri) != 0 ||
        token_take("--listen", &argc, argv, &listen_path) != 0)
        return LJ_EXIT_USAGE;
    /* who may ask, before anything is read (--help is for everyone) */
    if (!token_help(argc, argv) && !token_allowed()) {
        fprintf(stderr, "linkjoin token: only root and members of the group '" TOKEN_GROUP
                        "' may get tokens of this device; nothing was done\n");
        return LJ_EXIT_FAILURE;
    }
    ex = lj_cmd_args("token", argc, argv, token_usage, opts, seen, &cfg);
    if (ex >= 0)
        return ex;
    if (seen[0]) {
        if (ask.resource != NULL || ask.scope != NULL || ask.client_id != NULL ||
            ask.redirect_uri != NULL) {
            fprintf(stderr, "linkjoin token: --serve takes its requests from the socket, not "
                            "from --resource, --scope, --client-id or --redirect-uri\n");
            return LJ_EXIT_USAGE;
        }
        return token_serve(&cfg, listen_path);
    }
    if (listen_path != NULL) {
        fprintf(stderr, "linkjoin token: --listen goes with --serve\n");
        return LJ_EXIT_USAGE;
    }
    ex = token_check(&ask);
    if (ex >= 0)
        return ex;
    if (!token_direct(&cfg))
        return token_from_broker(&cfg, &ask);
    ex = lj_flow_token(&cfg, &ask, &json, &fail);
    if (ex != LJ_EXIT_OK) {
        fprintf(stderr, "linkjoin token: %s\n", fail.message);
        if (fail.detail[0] != '\0')
            fprintf(stderr, "  %s\n", fail.detail);
        return ex;
    }
    if (printf("%s\n", json) < 0 || fflush(stdout) != 0)
        ex = LJ_EXIT_FAILURE;
    lj_secret_free(json);
    return ex;
}
