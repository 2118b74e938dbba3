/*
 * cmd_errors.c — `linkjoin errors --markdown` (hidden): prints the failure
 * table from agent/errors.c as the markdown README.md carries, so the README
 * is regenerated from the code, never edited by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cmd.h"
#include "agent/errors.h"
#include "agent/exitcodes.h"

int
cmd_errors(int argc, char **argv)
{
    char *md = NULL;
    int ret = LJ_EXIT_FAILURE;

    if (argc != 2 || strcmp(argv[1], "--markdown") != 0) {
        fprintf(stderr, "usage: linkjoin errors --markdown\n");
        ret = LJ_EXIT_USAGE;
        goto out;
    }
    if (lj_errors_markdown(&md) != LJ_OK)
        goto out;
    if (fputs(md, stdout) == EOF || fflush(stdout) != 0)
        goto out;
    ret = LJ_EXIT_OK;
out:
    free(md);
    return ret;
}
