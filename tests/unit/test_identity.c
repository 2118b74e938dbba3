/* Unit tests for platform/identity.c against a fake root with DMI and os-release files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/identity.h"
#include "platform/common/fsutil.h"
#include "tests/unit/testutil.h"

static char *root;

static void
put(const char *rel, const char *text, size_t len)
{
    char path[256], parent[256];
    FILE *f;
    snprintf(path, sizeof(path), "%s%s", root, rel);
    snprintf(parent, sizeof(parent), "%s", path);
    *strrchr(parent, '/') = '\0';
    assert_int_equal(lj_fs_mkdir_private(parent), LJ_OK);
    f = fopen(path, "w");
    assert_non_null(f);
    fwrite(text, 1, len, f);
    fclose(f);
}

static int
setup(void **state)
{
    (void)state;
    root = lj_test_tmpdir();
    return root != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    int rc;
    (void)state;
    rc = lj_test_rmdir(root);
    free(root);
    root = NULL;
    return rc;
}

static void
test_reads_dmi_and_os_release(void **state)
{
    struct lj_identity id;
    static const char weird[] = "  Evil\x1b[31m Corp\x01\xff  \n";
    char longv[300];
    (void)state;
    memset(longv, 'L', sizeof(longv));
    put("/sys/class/dmi/id/sys_vendor", weird, sizeof(weird) - 1);
    put("/sys/class/dmi/id/product_name", "Link Sim 1\n", 11);
    put("/sys/class/dmi/id/product_serial", longv, sizeof(longv));
    {
        static const char osr[] = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
                                  "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n";
        put("/etc/os-release", osr, sizeof(osr) - 1);
    }
    assert_int_equal(lj_identity_read(&id, NULL, root), LJ_OK);
    assert_string_equal(id.manufacturer, "Evil?[31m Corp??");
    assert_string_equal(id.model, "Link Sim 1");
    assert_int_equal(strlen(id.serial), LJ_IDENTITY_MAX - 1);
    assert_string_equal(id.os_name, "Debian GNU/Linux");
    assert_string_equal(id.os_version, "12");
    assert_true(id.kernel[0] != '\0');
}

static void
test_missing_sources_and_overrides(void **state)
{
    struct lj_identity id, ovr;
    (void)state;
    memset(&ovr, 0, sizeof(ovr));
    assert_int_equal(lj_identity_read(&id, NULL, root), LJ_OK);
    assert_string_equal(id.manufacturer, "");
    assert_string_equal(id.serial, "");
    assert_string_equal(id.os_version, id.kernel); /* falls back to uname */
    snprintf(ovr.serial, sizeof(ovr.serial), "SIM-0001");
    snprintf(ovr.model, sizeof(ovr.model), "Model\tX");
    snprintf(ovr.os_version, sizeof(ovr.os_version), "10.0.26100.1");
    put("/sys/class/dmi/id/product_serial", "REAL\n", 5);
    assert_int_equal(lj_identity_read(&id, &ovr, root), LJ_OK);
    assert_string_equal(id.serial, "SIM-0001");
    assert_string_equal(id.model, "Model?X");
    assert_string_equal(id.os_version, "10.0.26100.1");
}

static void
test_real_system_does_not_fail(void **state)
{
    struct lj_identity id;
    (void)state;
    assert_int_equal(lj_identity_read(&id, NULL, NULL), LJ_OK);
    assert_true(id.os_version[0] != '\0');
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_dmi_and_os_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_sources_and_overrides, setup, teardown),
        cmocka_unit_test(test_real_system_does_not_fail),
    };
    return cmocka_run_group_tests_name("identity", tests, NULL, NULL);
}
