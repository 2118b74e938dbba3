/*
 * identity.h — who this device is: manufacturer, model and serial from
 * DMI (/sys/class/dmi/id; product_serial is readable by root only), the OS
 * from /etc/os-release and uname.  Configured overrides win (simulated
 * devices).  Every value is sanitized: printable ASCII only (others become
 * '?'), leading/trailing blanks trimmed, at most LJ_IDENTITY_MAX-1 bytes.
 */
#ifndef LJ_PLATFORM_IDENTITY_H
#define LJ_PLATFORM_IDENTITY_H

#include <stddef.h>

#include "platform/common/result.h"

#define LJ_IDENTITY_MAX 64

/* Plain data.  "" = unknown (or, in overrides, "not overridden"). */
struct lj_identity {
    char manufacturer[LJ_IDENTITY_MAX]; /* DMI sys_vendor */
    char model[LJ_IDENTITY_MAX];        /* DMI product_name */
    char serial[LJ_IDENTITY_MAX];       /* DMI product_serial */
    char os_name[LJ_IDENTITY_MAX];      /* os-release NAME, else uname sysname */
    char os_version[LJ_IDENTITY_MAX];   /* os-release VERSION_ID, else uname release */
    char kernel[LJ_IDENTITY_MAX];       /* uname release */
};

/*
 * Fill id.  overrides (may be NULL) replaces any field that is non-empty
 * there.  root (NULL or "" = "/") prefixes the /sys and /etc paths, for
 * tests.  Missing or unreadable sources leave a field "" (DMI serial needs
 * root); this is not an error.  Always LJ_OK today; blocks on small file
 * reads.
 */
enum lj_rc lj_identity_read(struct lj_identity *id, const struct lj_identity *overrides,
                            const char *root);

/* Sanitize src (n bytes, need not be NUL-terminated) into dst (size dsz). */
void lj_identity_sanitize(char *dst, size_t dsz, const char *src, size_t n);

#endif
