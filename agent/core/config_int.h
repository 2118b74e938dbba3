/*
 * config_int.h — what agent/core/config.c shares with config_check.c (the
 * checks across keys, the build and the files keys name); not for callers.
 */
#ifndef LJ_AGENT_CONFIG_INT_H
#define LJ_AGENT_CONFIG_INT_H

#include <stdbool.h>

#include "agent/core/config.h"

/*
 * Record "ORIGIN: message" in cfg->error (and the error detail) and return
 * LJ_ERR_CONFIG.
 */
enum lj_rc lj_config_fail(struct lj_config *cfg, const char *origin, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* true for an http loopback redirect (RFC 8252 7.3): 127.0.0.1, localhost, [::1]. */
bool lj_config_is_loopback_redirect(const char *v);

#endif
