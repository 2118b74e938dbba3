/*
 * token.c — the access token: random bytes, hex, a 0600 file.
 */
#include "platform/oobe/bridge/token.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "platform/common/fsutil.h"
#include "platform/common/log.h"
#include "platform/common/secmem.h"

#define MOD "oobe"

enum lj_rc
oobe_token_new(char *hex)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char raw[OOBE_TOKEN_BYTES];
    size_t got = 0;

    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return lj_err_set(LJ_ERR_IO, MOD, "event=getrandom_failed errno=%s",
                              n < 0 ? strerror(errno) : "short");
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(raw); i++) {
        hex[2 * i] = digits[raw[i] >> 4];
        hex[2 * i + 1] = digits[raw[i] & 15];
    }
    hex[OOBE_TOKEN_HEX] = '\0';
    lj_secure_zero(raw, sizeof(raw));
    return LJ_OK;
}

enum lj_rc
oobe_token_write(const char *path, const char *hex)
{
    char line[OOBE_TOKEN_HEX + 2];
    enum lj_rc rc;

    memcpy(line, hex, OOBE_TOKEN_HEX);
    line[OOBE_TOKEN_HEX] = '\n';
    line[OOBE_TOKEN_HEX + 1] = '\0';
    rc = lj_fs_write_atomic(path, line, OOBE_TOKEN_HEX + 1, 0600);
    lj_secure_zero(line, sizeof(line));
    if (rc != LJ_OK)
        return lj_err_set(rc, MOD, "event=token_file_failed path=%s", path);
    return LJ_OK;
}
