/*
 * cli_log.c — `--log-target`, a global option handled before dispatch.
 *
 * Design note: logging destination is a property of how the process was
 * started (a terminal, a test harness, a systemd unit), not of the device
 * configuration, so it is not a config key; taking it out of argv here
 * keeps every command's own parser unaware of it.
 */
#include "agent/cli/cli_log.h"

#include <string.h>

#include "agent/core/exitcodes.h"
#include "platform/common/log.h"

#define OPT "--log-target"

int
lj_cli_log_setup(int *argc, char **argv, FILE *err)
{
    enum lj_log_target target = LJ_LOG_TARGET_AUTO;
    const char *value;
    int i = 1, n = *argc;

    while (i < n) {
        int take;
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], OPT) == 0) {
            if (i + 1 >= n) {
                fprintf(err, "linkjoin: option '" OPT "' needs a value (auto, stderr or syslog)\n");
                return LJ_EXIT_USAGE;
            }
            value = argv[i + 1];
            take = 2;
        } else if (strncmp(argv[i], OPT "=", sizeof(OPT)) == 0) {
            value = argv[i] + sizeof(OPT);
            take = 1;
        } else {
            i++;
            continue;
        }
        if (!lj_log_parse_target(value, &target)) {
            fprintf(err, "linkjoin: bad value '%s' for option '" OPT "' (auto, stderr or syslog)\n",
                    value);
            return LJ_EXIT_USAGE;
        }
        memmove(&argv[i], &argv[i + take], (size_t)(n - i - take + 1) * sizeof(*argv));
        n -= take;
    }
    *argc = n;
    lj_log_set_target(target, "linkjoin");
    return 0;
}
