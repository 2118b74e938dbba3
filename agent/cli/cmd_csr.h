/*
 * cmd_csr.h — `linkjoin csr` option parsing, exposed for unit tests.
 */
#ifndef LJ_AGENT_CMD_CSR_H
#define LJ_AGENT_CMD_CSR_H

#include <stdbool.h>

#include "tpm/tpm.h"

#define CMD_CSR_DEFAULT_STATE_DIR "/var/lib/linkjoin"

struct cmd_csr_opts {
    const char *config;    /* --config; NULL = the default file if present */
    const char *state_dir; /* borrowed from argv */
    const char *tcti;      /* borrowed from argv; default TPM_DEFAULT_TCTI */
    enum tpm_provider provider;
    bool state_dir_set, tcti_set, provider_set; /* given on the command line (win over the file) */
    bool transport_blob;                        /* print the transport key blob, not a CSR */
    bool help;
    bool test_decrypt;                    /* test hook; see cmd_csr.c */
    enum tpm_oaep_hash test_decrypt_hash; /* --test-decrypt[=sha1|sha256] */
    const char *log_level;                /* borrowed; NULL = default */
};

/*
 * Parse argv (argv[0] = "csr") into o.  Returns 0 on success, or
 * LJ_EXIT_USAGE after printing one line naming the problem to stderr.
 * Not reentrant (getopt_long).
 */
int cmd_csr_parse(int argc, char **argv, struct cmd_csr_opts *o);

#endif
