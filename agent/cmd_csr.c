/*
 * cmd_csr.c — `linkjoin csr`: placeholder until tpm/ lands.
 */
#include <stdio.h>

#include "agent/cmd.h"
#include "agent/exitcodes.h"

int
cmd_csr(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "linkjoin csr: not implemented yet\n");
    return LJ_EXIT_FAILURE;
}
