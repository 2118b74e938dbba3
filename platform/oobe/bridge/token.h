/*
 * token.h — the bridge's per-start access token: 32 random bytes from the
 * kernel (getrandom), as hex, given to the kiosk through a private file.
 */
#ifndef LJ_OOBE_TOKEN_H
#define LJ_OOBE_TOKEN_H

#include "platform/common/result.h"
#include "platform/oobe/bridge/gate.h"

/*
 * Fill hex (OOBE_TOKEN_HEX + 1 bytes) with a new token, NUL-terminated.
 * Blocks only until the kernel's random pool is initialised (early boot).
 * LJ_ERR_IO when getrandom fails.
 */
enum lj_rc oobe_token_new(char *hex);

/*
 * Write the token to path, mode 0600 whatever the umask, atomically
 * (lj_fs_write_atomic), with a newline.  The file is the only place the
 * token is stored besides the bridge's memory; nothing logs it.
 */
enum lj_rc oobe_token_write(const char *path, const char *hex);

#endif
