/*
 * cmd_errors.c — `linkjoin errors` (hidden), the failure taxonomy's tools:
 *   --markdown    prints the failure table from agent/core/errors.c as README.md
 *                 carries it, so the README is regenerated from the code,
 *                 never edited by hand;
 *   --exit-codes  prints README.md's "Exit codes" table from
 *                 agent/core/exitcodes.c, the same way;
 *   --render-tty [--locale L]  reads agent events (JSON Lines, as `run --ui
 *                 stdio` writes them) on stdin and prints them as `--ui tty`
 *                 shows them (in locale L, default en),
 *                 through the same renderer (lj_ui_render_tty).  A help desk
 *                 can read a captured result this way, and the golden tests
 *                 of every failure scenario use it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli/cmd.h"
#include "agent/core/errors.h"
#include "agent/core/exitcodes.h"
#include "agent/ui/ui_proto.h"

/* One event line at most this long (the UI protocol's own ceiling). */
#define RENDER_LINE_MAX (64 * 1024)

/* Render stdin's event lines; exit status 1 when any line was not an event. */
static int
render_tty(const char *locale)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long lineno = 0;
    int ret = LJ_EXIT_OK;

    while ((n = getline(&line, &cap, stdin)) >= 0) {
        char *text;

        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        if (n > RENDER_LINE_MAX) {
            fprintf(stderr, "linkjoin errors: line %lu: longer than %d bytes\n", lineno,
                    RENDER_LINE_MAX);
            ret = LJ_EXIT_FAILURE;
            continue;
        }
        text = lj_ui_render_tty(line, (size_t)n, locale);
        if (text == NULL) {
            fprintf(stderr, "linkjoin errors: line %lu: not an agent event\n", lineno);
            ret = LJ_EXIT_FAILURE;
            continue;
        }
        fputs(text, stdout);
        free(text);
    }
    free(line);
    if (ferror(stdin) || fflush(stdout) != 0)
        ret = LJ_EXIT_FAILURE;
    return ret;
}

int
cmd_errors(int argc, char **argv)
{
    char *md = NULL;
    int ret = LJ_EXIT_FAILURE;

    if (argc == 2 && strcmp(argv[1], "--render-tty") == 0) {
        ret = render_tty("en");
        goto out;
    }
    if (argc == 4 && strcmp(argv[1], "--render-tty") == 0 && strcmp(argv[2], "--locale") == 0) {
        ret = render_tty(argv[3]);
        goto out;
    }
    if (argc != 2 || (strcmp(argv[1], "--markdown") != 0 && strcmp(argv[1], "--exit-codes") != 0)) {
        fprintf(stderr, "usage: linkjoin errors --markdown\n"
                        "       linkjoin errors --exit-codes\n"
                        "       linkjoin errors --render-tty [--locale L] < events.jsonl\n");
        ret = LJ_EXIT_USAGE;
        goto out;
    }
    if ((strcmp(argv[1], "--markdown") == 0 ? lj_errors_markdown(&md) : lj_exit_markdown(&md)) !=
        LJ_OK)
        goto out;
    if (fputs(md, stdout) == EOF || fflush(stdout) != 0)
        goto out;
    ret = LJ_EXIT_OK;
out:
    free(md);
    return ret;
}
