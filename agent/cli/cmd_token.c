/*
 * cmd_token.c — `linkjoin token (--resource R | --scope S) [--client-id C]
 * [CONFIG FLAGS]`: an access token for a local client (the Windows 365
 * connection client), signed with the device's Primary Refresh Token
 * (agent/flow/sso.c).  Only root and members of the group `linkjoin` may
 * ask: the token acts as the signed-in user from this device.
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/cli/cmd.h"
#include "agent/core/config.h"
#include "agent/core/exitcodes.h"
#include "agent/flow/flow.h"

/* The group whose members may ask for tokens besides root. */
#define TOKEN_GROUP "linkjoin"
#define TOKEN_ARG_MAX 512

static void
token_usage(FILE *f)
{
    fprintf(
        f,
        "usage: linkjoin token (--resource URI | --scope SCOPE) [--client-id ID]\n"
        "                      [configuration flags]\n"
        "Print an access token for URI (or SCOPE) as one JSON line on stdout,\n"
        "got with this device's Primary Refresh Token: {\"token_type\":\"Bearer\",\n"
        "\"access_token\":...,\"expires_in\":...,\"expires_on\":...,\"resource\"|\"scope\":...,\n"
        "\"client_id\":...}.  Client ID: the Microsoft Authentication Broker\n"
        "(29d9ed98-a469-4536-ade2-f981bc1d605e) unless --client-id names another\n"
        "first-party client.  Only root and members of the group '" TOKEN_GROUP "' may run it.\n"
        "Never asks anyone to sign in.\n\n"
        "exit: 0 token printed, 1 not allowed or failed, 2 usage, 5 no network,\n"
        "      6 no PRT on this device ('linkjoin prt-renew' or 'linkjoin run'),\n"
        "      7 the device is disabled or deleted in Entra, 8 bad service answer,\n"
        "      11 the cloud does not recognize the device yet (try later),\n"
        "      12 not joined, 3/4/13 as in 'linkjoin --help'.\n\n");
    lj_config_usage(f);
}

/* root, or a member of TOKEN_GROUP (primary or supplementary). */
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

int
cmd_token(int argc, char **argv)
{
    struct lj_config cfg;
    struct lj_flow_token_ask ask;
    int ex;

    memset(&ask, 0, sizeof(ask));
    if (token_take("--resource", &argc, argv, &ask.resource) != 0 ||
        token_take("--scope", &argc, argv, &ask.scope) != 0 ||
        token_take("--client-id", &argc, argv, &ask.client_id) != 0)
        return LJ_EXIT_USAGE;
    /* who may ask, before anything is read (--help is for everyone) */
    if (!token_help(argc, argv) && !token_allowed()) {
        fprintf(stderr, "linkjoin token: only root and members of the group '" TOKEN_GROUP
                        "' may get tokens of this device; nothing was done\n");
        return LJ_EXIT_FAILURE;
    }
    ex = lj_cmd_args("token", argc, argv, token_usage, NULL, NULL, &cfg);
    if (ex >= 0)
        return ex;
    if ((ask.resource == NULL) == (ask.scope == NULL)) {
        fprintf(stderr, "linkjoin token: give exactly one of --resource and --scope "
                        "(see 'linkjoin token --help')\n");
        return LJ_EXIT_USAGE;
    }
    return lj_flow_token(&cfg, &ask, stdout);
}
