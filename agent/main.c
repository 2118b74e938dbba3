/*
 * main.c — linkjoin's entry point: dispatches to a subcommand.
 *
 * Design note: one binary, one table of subcommands (agent/cli/cmd.h).  Every
 * command returns an exit code from agent/core/exitcodes.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "agent/cli/cli_log.h"
#include "agent/cli/cmd.h"
#include "agent/core/exitcodes.h"
#include "agent/core/version.h"
#include "platform/heapguard.h"

static const struct lj_cmd commands[] = {
    {"run", cmd_run, "join this device: sign in, create TPM keys, join Entra, enroll in Intune"},
    {"status", cmd_status, "join and setup state like dsregcmd /status (--json)"},
    {"csr", cmd_csr, "create device keys in the TPM if missing and print a TPM-signed CSR"},
    {"errors", cmd_errors, NULL},     /* hidden: prints README's failure table */
    {"messages", cmd_messages, NULL}, /* hidden: the message catalog (--locale L --json) */
    {"config", cmd_config, "check the configuration and print it (--check: only report problems)"},
    {"mdm-retry", cmd_mdm_retry, "finish a pending Intune enrollment (timer; never prompts)"},
    {"token", cmd_token, "print an access token got with the device's PRT (root/group linkjoin)"},
    {"prt-renew", cmd_prt_renew, "renew the device's Primary Refresh Token when due (timer)"},
    {"factory-test", cmd_factory_test,
     "manufacturing-line check: TPM, EK certificate, identity, clock"},
    {"tpm", cmd_tpm, NULL}, /* hidden: tpm health; seal tools in test builds */
    {"leave", cmd_leave,
     "delete the device in the cloud (device certificate), then remove local state"},
    {"factory-reset", cmd_factory_reset,
     "wipe keys, certificates, journal and MDM state (--clear-tpm --yes)"},
};

void
lj_usage(void *fp)
{
    FILE *f = fp;

    fprintf(f, "usage: linkjoin [--log-target auto|stderr|syslog] COMMAND [OPTIONS]\n"
               "       linkjoin --help | --version\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (commands[i].summary != NULL)
            fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'linkjoin COMMAND --help' shows a command's options.\n\nexit codes:\n");
    /* Two to a line, from the one table (agent/core/exitcodes.c). */
    for (int code = 0, col = 0; code < LJ_EXIT_COUNT__; code++) {
        const struct lj_exit_info *e = lj_exit_get(code);

        if (e == NULL)
            continue;
        if (col == 0 && code < LJ_EXIT_COUNT__ - 1)
            fprintf(f, "  %2d %-36s", e->code, e->brief);
        else
            fprintf(f, "%s%2d %s\n", col == 0 ? "  " : " ", e->code, e->brief);
        col ^= 1;
    }
}

/*
 * Does this command line run a command that handles secrets (run,
 * mdm-retry, and token: its answer is an access token, and its broker
 * serves one connection after another)?
 */
static bool
handles_secrets(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "run") == 0 || strcmp(argv[i], "mdm-retry") == 0 ||
            strcmp(argv[i], "token") == 0)
            return true;
        if (strcmp(argv[i], "--log-target") == 0)
            i++; /* and its value */
        else if (argv[i][0] != '-')
            return false; /* another command */
    }
    return false;
}

int
main(int argc, char **argv)
{
    /* Freed heap wiped (platform/heapguard.h): may re-exec, with argv as given. */
    if (handles_secrets(argc, argv))
        lj_heap_guard(argv);
    /* --log-target is global: taken out of argv before dispatch (agent/cli/cli_log.h). */
    if (lj_cli_log_setup(&argc, argv, stderr) != 0)
        return LJ_EXIT_USAGE;
    if (argc < 2) {
        lj_usage(stderr);
        return LJ_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        lj_usage(stdout);
        return LJ_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("linkjoin %s\n", LJ_VERSION);
        return LJ_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "linkjoin: unknown command '%s'\n", argv[1]);
    lj_usage(stderr);
    return LJ_EXIT_USAGE;
}
