/*
 * main.c — linkjoin-oobe: the setup screen's bridge between a kiosk browser and the agent.
 *
 *   linkjoin-oobe --ui-socket PATH --listen 127.0.0.1:PORT --assets DIR
 *                 --token-file PATH [--i18n DIR] [--log-level LEVEL]
 *
 * Design note: the page (platform/oobe/www/) runs in a browser on the
 * device and reaches the agent only through this process: HTTP on
 * 127.0.0.1 (http.c), the agent's UI socket (link.c).  It holds what the
 * person types on its way to the agent, so it is non-dumpable from the
 * start and the agent's rules for secrets apply (platform/common/secmem.h).
 * The token that every request must carry is made here, written 0600 to
 * --token-file for the kiosk launcher, and removed again at exit.
 * Stops on SIGTERM or SIGINT, exit 0; bad usage exits 2, a failure to
 * start exits 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "platform/oobe/bridge/gate.h"
#include "platform/oobe/bridge/http.h"
#include "platform/oobe/bridge/link.h"
#include "platform/oobe/bridge/token.h"

#define MOD "oobe"

static const char usage[] =
    "usage: linkjoin-oobe --ui-socket PATH --listen 127.0.0.1:PORT --assets DIR\n"
    "                     --token-file PATH [--i18n DIR] [--log-level LEVEL]\n"
    "  --ui-socket PATH   the agent's UI socket (linkjoin.conf ui_socket)\n"
    "  --listen ADDR      127.0.0.1:PORT only; PORT 0 picks a free one\n"
    "  --assets DIR       the setup screen's files (index.html, app.js, app.css)\n"
    "  --token-file PATH  where the access token is written (mode 0600)\n"
    "  --i18n DIR         LOCALE.json files served as /i18n/LOCALE.json\n"
    "                     (default: DIR/i18n of --assets)\n"
    "  --log-level LEVEL  error, warn (default), info or debug\n"
    "Prints 'listening http://127.0.0.1:PORT/' once serving; stops on SIGTERM.\n";

struct opts {
    const char *ui_socket, *listen, *assets, *token_file, *i18n, *log_level;
};

static int
bad_usage(const char *what, const char *arg)
{
    fprintf(stderr, "linkjoin-oobe: %s%s%s\n%s", what, arg != NULL ? ": " : "",
            arg != NULL ? arg : "", usage);
    return 2;
}

/* "127.0.0.1:PORT" -> port (0..65535); false on anything else. */
static bool
parse_listen(const char *s, unsigned *port)
{
    static const char pfx[] = "127.0.0.1:";
    const char *p;
    unsigned long v = 0;

    if (strncmp(s, pfx, sizeof(pfx) - 1) != 0)
        return false;
    p = s + sizeof(pfx) - 1;
    if (*p == '\0' || strlen(p) > 5)
        return false;
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v > 65535)
        return false;
    *port = (unsigned)v;
    return true;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 1;
        }
        if (strcmp(a, "--ui-socket") == 0)
            slot = &o->ui_socket;
        else if (strcmp(a, "--listen") == 0)
            slot = &o->listen;
        else if (strcmp(a, "--assets") == 0)
            slot = &o->assets;
        else if (strcmp(a, "--token-file") == 0)
            slot = &o->token_file;
        else if (strcmp(a, "--i18n") == 0)
            slot = &o->i18n;
        else if (strcmp(a, "--log-level") == 0)
            slot = &o->log_level;
        else
            return bad_usage("unknown option", a);
        if (i + 1 >= argc)
            return bad_usage("missing value for", a);
        if (*slot != NULL)
            return bad_usage("option given twice", a);
        *slot = argv[++i];
    }
    if (o->ui_socket == NULL || o->listen == NULL || o->assets == NULL || o->token_file == NULL)
        return bad_usage("--ui-socket, --listen, --assets and --token-file are required", NULL);
    return 0;
}

/* A listening TCP socket on 127.0.0.1:*port (0 = any; *port set to the real one). */
static int
listen_loopback(unsigned *port)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)*port);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

int
main(int argc, char **argv)
{
    struct opts o = {0};
    struct oobe_http_cfg hc;
    struct oobe_link *link = NULL;
    enum lj_log_level lvl = LJ_LOG_WARN;
    char token[OOBE_TOKEN_HEX + 1];
    unsigned port = 0;
    sigset_t sigs;
    struct stat st;
    int rc, sig = 0, fd;

    rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (!parse_listen(o.listen, &port))
        return bad_usage("--listen takes 127.0.0.1:PORT only", o.listen);
    if (o.log_level != NULL && !lj_log_parse_level(o.log_level, &lvl))
        return bad_usage("bad --log-level", o.log_level);
    if (stat(o.assets, &st) != 0 || !S_ISDIR(st.st_mode))
        return bad_usage("--assets is not a directory", o.assets);
    if (o.i18n != NULL && (stat(o.i18n, &st) != 0 || !S_ISDIR(st.st_mode)))
        return bad_usage("--i18n is not a directory", o.i18n);
    umask(077);
    lj_log_set_level(lvl);
    lj_log_set_target(LJ_LOG_TARGET_AUTO, "linkjoin-oobe");
    /* passwords pass through: no core file, no ptrace from other users */
    lj_secrets_held(true);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    /* before any thread starts, so only sigwait below takes them */
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if (oobe_token_new(token) != LJ_OK || oobe_token_write(o.token_file, token) != LJ_OK) {
        fprintf(stderr, "linkjoin-oobe: cannot write the token file %s\n", o.token_file);
        rc = 1;
        goto out;
    }
    fd = listen_loopback(&port);
    if (fd < 0) {
        lj_log(LJ_LOG_ERROR, MOD, "event=listen_failed address=127.0.0.1 port=%u errno=%s", port,
               strerror(errno));
        fprintf(stderr, "linkjoin-oobe: cannot listen on %s: %s\n", o.listen, strerror(errno));
        rc = 1;
        goto out;
    }
    if (oobe_link_start(o.ui_socket, &link) != LJ_OK) {
        close(fd);
        rc = 1;
        goto out;
    }
    hc.port = port;
    hc.assets = o.assets;
    hc.i18n = o.i18n;
    hc.token = token;
    hc.link = link;
    if (oobe_http_start(fd, &hc) != LJ_OK) {
        rc = 1;
        goto out;
    }
    lj_log(LJ_LOG_INFO, MOD, "event=listening address=127.0.0.1 port=%u ui_socket=%s", port,
           o.ui_socket);
    printf("listening http://127.0.0.1:%u/\n", port);
    fflush(stdout);
    while (sigwait(&sigs, &sig) != 0)
        ;
    lj_log(LJ_LOG_INFO, MOD, "event=stopping signal=%d", sig);
    rc = 0;
    oobe_link_stop(link);
    oobe_http_stop();
out:
    oobe_link_free(link);
    lj_fs_remove(o.token_file);
    lj_secure_zero(token, sizeof(token));
    return rc;
}
