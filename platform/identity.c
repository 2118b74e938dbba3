/*
 * identity.c — device identity from DMI, os-release and uname.
 *
 * Design note: DMI strings come from firmware and os-release from the
 * image; both are outside input, so each file read is capped (4 KiB) and
 * every value is sanitized before it reaches a protocol message or a UI.
 */
#include "platform/identity.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "platform/common/fsutil.h"

#include <stdlib.h>

#define MAX_FILE 4096

void
lj_identity_sanitize(char *dst, size_t dsz, const char *src, size_t n)
{
    size_t j = 0, i = 0;

    if (dsz == 0)
        return;
    while (i < n && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r'))
        i++;
    while (n > i && (src[n - 1] == ' ' || src[n - 1] == '\t' || src[n - 1] == '\n' ||
                     src[n - 1] == '\r' || src[n - 1] == '\0'))
        n--;
    for (; i < n && j + 1 < dsz; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[j] = '\0';
}

static void
read_value(const char *root, const char *rel, char *dst, size_t dsz)
{
    char path[512];
    unsigned char *buf = NULL;
    size_t len = 0;

    dst[0] = '\0';
    snprintf(path, sizeof(path), "%s%s", root, rel);
    if (lj_fs_read(path, MAX_FILE, &buf, &len) != LJ_OK)
        return;
    lj_identity_sanitize(dst, dsz, (const char *)buf, len);
    free(buf);
}

/* One KEY=value (optionally "quoted") from os-release text. */
static void
os_release_value(const char *text, const char *key, char *dst, size_t dsz)
{
    size_t klen = strlen(key);
    const char *p = text;

    dst[0] = '\0';
    while (p != NULL && *p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            const char *v = p + klen + 1;
            size_t vn = n - klen - 1;
            if (vn >= 2 && (v[0] == '"' || v[0] == '\'') && v[vn - 1] == v[0]) {
                v++;
                vn -= 2;
            }
            lj_identity_sanitize(dst, dsz, v, vn);
            return;
        }
        p = eol ? eol + 1 : NULL;
    }
}

enum lj_rc
lj_identity_read(struct lj_identity *id, const struct lj_identity *overrides, const char *root)
{
    unsigned char *osr = NULL;
    size_t len = 0;
    char path[512];
    struct utsname u;

    if (root == NULL || strcmp(root, "/") == 0)
        root = "";
    memset(id, 0, sizeof(*id));
    read_value(root, "/sys/class/dmi/id/sys_vendor", id->manufacturer, sizeof(id->manufacturer));
    read_value(root, "/sys/class/dmi/id/product_name", id->model, sizeof(id->model));
    read_value(root, "/sys/class/dmi/id/product_serial", id->serial, sizeof(id->serial));

    if (uname(&u) == 0)
        lj_identity_sanitize(id->kernel, sizeof(id->kernel), u.release, strlen(u.release));
    snprintf(path, sizeof(path), "%s/etc/os-release", root);
    if (lj_fs_read(path, MAX_FILE, &osr, &len) != LJ_OK) {
        snprintf(path, sizeof(path), "%s/usr/lib/os-release", root);
        if (lj_fs_read(path, MAX_FILE, &osr, &len) != LJ_OK)
            osr = NULL;
    }
    if (osr != NULL) {
        os_release_value((const char *)osr, "NAME", id->os_name, sizeof(id->os_name));
        os_release_value((const char *)osr, "VERSION_ID", id->os_version, sizeof(id->os_version));
        free(osr);
    }
    if (id->os_name[0] == '\0' && uname(&u) == 0)
        lj_identity_sanitize(id->os_name, sizeof(id->os_name), u.sysname, strlen(u.sysname));
    if (id->os_version[0] == '\0')
        snprintf(id->os_version, sizeof(id->os_version), "%s", id->kernel);

    if (overrides != NULL) {
#define OVR(f)                                                                                     \
    if (overrides->f[0] != '\0')                                                                   \
    lj_identity_sanitize(id->f, sizeof(id->f), overrides->f,                                       \
                         strnlen(overrides->f, sizeof(overrides->f)))
        OVR(manufacturer);
        OVR(model);
        OVR(serial);
        OVR(os_name);
        OVR(os_version);
        OVR(kernel);
#undef OVR
    }
    return LJ_OK;
}
