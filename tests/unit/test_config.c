/* Unit tests for agent/core/config.c: defaults, every key via file and flag, errors with file:line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/core/config.h"
#include "platform/common/result.h"
#include "tests/unit/testutil.h"

static char *tmpdir;
static char path[128];

static int
setup(void **state)
{
    (void)state;
    tmpdir = lj_test_tmpdir();
    if (tmpdir == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/linkjoin.conf", tmpdir);
    lj_err_clear();
    return 0;
}

static int
teardown(void **state)
{
    int rc;

    (void)state;
    rc = lj_test_rmdir(tmpdir);
    free(tmpdir);
    tmpdir = NULL;
    return rc;
}

static void
write_conf(const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Run lj_config_from_args with "--config PATH" plus extra args; returns rc. */
static enum lj_rc
load(struct lj_config *cfg, const char *const *extra)
{
    char *argv[128];
    char *rest[128];
    int argc = 0, nrest = 0;

    argv[argc++] = (char *)"run";
    argv[argc++] = (char *)"--config";
    argv[argc++] = path;
    for (; extra != NULL && *extra != NULL; extra++)
        argv[argc++] = (char *)*extra;
    argv[argc] = NULL;
    return lj_config_from_args(cfg, argc, argv, &nrest, rest);
}

static void
expect_error(const char *conf, const char *const *flags, const char *msg)
{
    struct lj_config cfg;
    if (conf != NULL)
        write_conf(conf);
    assert_int_equal(load(&cfg, flags), LJ_ERR_CONFIG);
    if (strstr(cfg.error, msg) == NULL)
        fail_msg("error '%s' does not contain '%s'", cfg.error, msg);
}

static void
test_defaults(void **state)
{
    struct lj_config c;
    (void)state;
    lj_config_defaults(&c);
    assert_string_equal(c.authority, "https://login.microsoftonline.com");
    assert_string_equal(c.tenant, "organizations");
    assert_string_equal(c.client_id, "29d9ed98-a469-4536-ade2-f981bc1d605e");
    assert_int_equal(c.signin, LJ_SIGNIN_DEVICE_CODE);
    assert_string_equal(c.redirect_uri, "ms-aadj-redir://auth/drs");
    assert_string_equal(c.drs_url, "https://enterpriseregistration.windows.net");
    assert_string_equal(c.mdm_url, "https://enrollment.manage.microsoft.com");
    assert_string_equal(c.state_dir, "/var/lib/linkjoin");
    assert_string_equal(c.tcti, "device:/dev/tpmrm0");
    assert_int_equal(c.key_provider, LJ_KEYS_TPM);
    assert_string_equal(c.ca_file, "");
    assert_int_equal(c.n_connect_to, 0);
    assert_int_equal(c.ui, LJ_UI_SOCKET);
    assert_string_equal(c.ui_socket, "/run/linkjoin/ui.sock");
    assert_string_equal(c.log_level, "warn");
    assert_int_equal(c.connect_timeout, 10);
    assert_int_equal(c.request_timeout, 60);
    assert_int_equal(c.tpm_timeout, 120);
    assert_int_equal(c.mdm, LJ_MDM_REQUIRED); /* Intune is part of a Link's setup */
    /* the Windows identity presented to DRS and Intune */
    assert_string_equal(c.os_version, "10.0.26100.1");
    assert_string_equal(c.os_version, LJ_CONFIG_OS_VERSION_DEFAULT);
    assert_int_equal(c.os_edition, 4);
    assert_string_equal(c.proxy, "none"); /* the environment is read only with proxy = env */
    assert_string_equal(c.no_proxy, "");
    assert_string_equal(c.proxy_credentials_file, "");
}

// clang-format off
static const char all_keys_conf[] =
    "# every key\n"
    "[linkjoin]\n"
    "authority = https://login.example.test/\n"
    "tenant = contoso.example\n"
    "client_id = 11111111-2222-3333-4444-555555555555\n"
    "signin = password\n"
    "redirect_uri = http://127.0.0.1:8400/cb\n"
    "drs_url = https://drs.example.test:8443\n"
    "mdm_url = https://mdm.example.test/enroll\n"
    "mdm = optional\n"
    "state_dir = /tmp/lj-state\n"
    "tcti = swtpm:host=127.0.0.1,port=2321\n"
    "key_provider = soft\n"
    "ca_file = /tmp/ca.pem\n"
    "connect_to = login.example.test:443:127.0.0.1:9443\n"
    "connect_to = ::127.0.0.1:9444   ; inline comment\n"
    "ui = tty\n"
    "ui_socket = /tmp/ui.sock\n"
    "ui_group = oobe-ui\n"
    "display_name = Desk 12 (reception)\n"
    "log_level = debug\n"
    "username = alice@contoso.example\n"
    "password_file = /tmp/pw\n"
    "manufacturer = Sim Co\n"
    "model = Link Sim 1\n"
    "serial = SN-0001\n"
    "os_version = 10.0.22631.4460\n"
    "os_edition = 48\n"
    "proxy = http://proxy.contoso.example:3128\n"
    "no_proxy = .contoso.example, 10.0.0.1\n"
    "proxy_credentials_file = /etc/linkjoin/proxy.cred\n"
    "connect_timeout = 5\n"
    "request_timeout = 120\n"
    "tpm_timeout = 30\n";
// clang-format on

static void
check_all_keys(const struct lj_config *c)
{
    assert_string_equal(c->authority, "https://login.example.test");
    assert_string_equal(c->tenant, "contoso.example");
    assert_string_equal(c->client_id, "11111111-2222-3333-4444-555555555555");
    assert_int_equal(c->signin, LJ_SIGNIN_PASSWORD);
    assert_string_equal(c->redirect_uri, "http://127.0.0.1:8400/cb");
    assert_string_equal(c->drs_url, "https://drs.example.test:8443");
    assert_string_equal(c->mdm_url, "https://mdm.example.test/enroll");
    assert_int_equal(c->mdm, LJ_MDM_OPTIONAL);
    assert_string_equal(c->state_dir, "/tmp/lj-state");
    assert_string_equal(c->tcti, "swtpm:host=127.0.0.1,port=2321");
    assert_int_equal(c->key_provider, LJ_KEYS_SOFT);
    assert_string_equal(c->ca_file, "/tmp/ca.pem");
    assert_int_equal(c->n_connect_to, 2);
    assert_string_equal(c->connect_to[0], "login.example.test:443:127.0.0.1:9443");
    assert_string_equal(c->connect_to[1], "::127.0.0.1:9444");
    assert_int_equal(c->ui, LJ_UI_TTY);
    assert_string_equal(c->ui_socket, "/tmp/ui.sock");
    assert_string_equal(c->ui_group, "oobe-ui");
    assert_string_equal(c->display_name, "Desk 12 (reception)");
    assert_string_equal(c->log_level, "debug");
    assert_string_equal(c->username, "alice@contoso.example");
    assert_string_equal(c->password_file, "/tmp/pw");
    assert_string_equal(c->manufacturer, "Sim Co");
    assert_string_equal(c->model, "Link Sim 1");
    assert_string_equal(c->serial, "SN-0001");
    assert_string_equal(c->os_version, "10.0.22631.4460");
    assert_int_equal(c->os_edition, 48);
    assert_string_equal(c->proxy, "http://proxy.contoso.example:3128");
    assert_string_equal(c->no_proxy, ".contoso.example, 10.0.0.1");
    assert_string_equal(c->proxy_credentials_file, "/etc/linkjoin/proxy.cred");
    assert_int_equal(c->connect_timeout, 5);
    assert_int_equal(c->request_timeout, 120);
    assert_int_equal(c->tpm_timeout, 30);
}

static void
test_every_key_from_file(void **state)
{
    struct lj_config c;
    (void)state;
    write_conf(all_keys_conf);
    assert_int_equal(load(&c, NULL), LJ_OK);
    check_all_keys(&c);
    assert_string_equal(c.config_path, path);
}

static void
test_every_key_from_flags(void **state)
{
    // clang-format off
    static const char *const flags[] = {
        "--authority", "https://login.example.test/",
        "--tenant=contoso.example",
        "--client-id", "11111111-2222-3333-4444-555555555555",
        "--signin", "password",
        "--redirect-uri", "http://127.0.0.1:8400/cb",
        "--drs-url", "https://drs.example.test:8443",
        "--mdm-url", "https://mdm.example.test/enroll",
        "--mdm", "optional",
        "--state-dir", "/tmp/lj-state",
        "--tcti", "swtpm:host=127.0.0.1,port=2321",
        "--key-provider", "soft",
        "--ca-file", "/tmp/ca.pem",
        "--connect-to", "login.example.test:443:127.0.0.1:9443",
        "--connect-to=::127.0.0.1:9444",
        "--ui", "tty",
        "--ui-socket", "/tmp/ui.sock",
        "--ui-group", "oobe-ui",
        "--display-name", "Desk 12 (reception)",
        "--log-level", "debug",
        "--username", "alice@contoso.example",
        "--password-file", "/tmp/pw",
        "--manufacturer", "Sim Co",
        "--model", "Link Sim 1",
        "--serial", "SN-0001",
        "--os-version", "10.0.22631.4460",
        "--os-edition", "48",
        "--proxy", "http://proxy.contoso.example:3128",
        "--no-proxy", ".contoso.example, 10.0.0.1",
        "--proxy-credentials-file", "/etc/linkjoin/proxy.cred",
        "--connect-timeout", "5",
        "--request-timeout", "120",
        "--tpm-timeout", "30",
        NULL};
    // clang-format on
    struct lj_config c;
    (void)state;
    write_conf("");
    assert_int_equal(load(&c, flags), LJ_OK);
    check_all_keys(&c);
}

static void
test_flags_override_file_and_rest_args(void **state)
{
    static const char *const flags[] = {"--json",
                                        "--tenant",
                                        "fabrikam.example",
                                        "--connect-to",
                                        "a.test:443:127.0.0.1:1",
                                        "extra",
                                        "--",
                                        "--tenant",
                                        NULL};
    char *argv[16], *rest[16];
    int argc = 0, nrest = 0;
    struct lj_config c;
    (void)state;
    write_conf("tenant = contoso.example\nconnect_to = b.test:443:127.0.0.1:2\n"
               "connect_to = c.test:443:127.0.0.1:3\n");
    argv[argc++] = (char *)"status";
    argv[argc++] = (char *)"--config";
    argv[argc++] = path;
    for (const char *const *f = flags; *f; f++)
        argv[argc++] = (char *)*f;
    assert_int_equal(lj_config_from_args(&c, argc, argv, &nrest, rest), LJ_OK);
    assert_string_equal(c.tenant, "fabrikam.example");
    assert_int_equal(c.n_connect_to, 1); /* flags replace the file's list */
    assert_string_equal(c.connect_to[0], "a.test:443:127.0.0.1:1");
    assert_int_equal(nrest, 5);
    assert_string_equal(rest[0], "status");
    assert_string_equal(rest[1], "--json");
    assert_string_equal(rest[2], "extra");
    assert_string_equal(rest[3], "--");
    assert_string_equal(rest[4], "--tenant");
    assert_null(rest[5]);
}

static void
test_no_section_and_missing_default(void **state)
{
    struct lj_config c;
    char *argv[] = {(char *)"run", NULL}, *rest[4];
    int n;
    (void)state;
    write_conf("tenant = contoso.example\n");
    assert_int_equal(load(&c, NULL), LJ_OK);
    assert_string_equal(c.tenant, "contoso.example");
    /* The default path is absent on a build machine: fine.  When present, it must parse. */
    if (access(LJ_CONFIG_DEFAULT_PATH, F_OK) != 0) {
        assert_int_equal(lj_config_from_args(&c, 1, argv, &n, rest), LJ_OK);
        assert_string_equal(c.config_path, "");
        assert_string_equal(c.tenant, "organizations");
    }
}

static void
test_missing_explicit_file(void **state)
{
    struct lj_config c;
    (void)state;
    assert_int_equal(load(&c, NULL), LJ_ERR_CONFIG);
    assert_non_null(strstr(c.error, path));
    assert_non_null(strstr(c.error, "no such file"));
}

static void
test_unknown_key_names_file_line(void **state)
{
    char want[256];
    (void)state;
    snprintf(want, sizeof(want), "%s:3: unknown key 'foo'", path);
    expect_error("# comment\ntenant = contoso.example\nfoo = bar\n", NULL, want);
}

static void
test_unknown_section(void **state)
{
    char want[256];
    (void)state;
    snprintf(want, sizeof(want), "%s:3: unknown section '[other]'", path);
    expect_error("[linkjoin]\n\n[other]\ntenant = contoso.example\n", NULL, want);
}

static void
test_syntax_error_line(void **state)
{
    char want[256];
    (void)state;
    snprintf(want, sizeof(want), "%s:2: syntax error", path);
    expect_error("tenant = contoso.example\nthis line has no equals sign\n", NULL, want);
}

static void
test_duplicate_key(void **state)
{
    char want[256];
    (void)state;
    snprintf(want, sizeof(want), "%s:2: key 'tenant' given twice", path);
    expect_error("tenant = a.example\ntenant = b.example\n", NULL, want);
}

static void
test_line_too_long(void **state)
{
    char conf[400], want[256];
    (void)state;
    memset(conf, 'x', sizeof(conf));
    memcpy(conf, "display_name = ", 15);
    conf[sizeof(conf) - 2] = '\n';
    conf[sizeof(conf) - 1] = '\0';
    snprintf(want, sizeof(want), "%s:1: line too long", path);
    expect_error(conf, NULL, want);
}

static void
test_bad_values_in_file(void **state)
{
    static const struct {
        const char *conf, *msg;
    } cases[] = {
        {"signin = sms\n", ":1: bad value for 'signin': is not one of the allowed values "
                           "(device_code, auth_code or password)"},
        {"\nkey_provider = hsm\n", ":2: bad value for 'key_provider'"},
        {"mdm = maybe\n", ":1: bad value for 'mdm': is not one of the allowed values "
                          "(required or optional)"},
        {"ui = web\n", ":1: bad value for 'ui'"},
        {"log_level = loud\n", ":1: bad value for 'log_level'"},
        {"connect_timeout = 0\n", ":1: bad value for 'connect_timeout': is out of range (1..300)"},
        {"request_timeout = 12s\n", ":1: bad value for 'request_timeout': must be a whole number"},
        {"connect_timeout = -5\n", ":1: bad value for 'connect_timeout'"},
        {"tpm_timeout = 0\n", ":1: bad value for 'tpm_timeout': is out of range (1..3600)"},
        {"tenant = not a domain\n", ":1: bad value for 'tenant'"},
        {"tenant = localhost\n", ":1: bad value for 'tenant'"},
        {"client_id = 1234\n", ":1: bad value for 'client_id': must be a GUID"},
        {"state_dir = var/lib/linkjoin\n",
         ":1: bad value for 'state_dir': must be an absolute path"},
        {"ui_socket = ui.sock\n", ":1: bad value for 'ui_socket'"},
        {"ui_group = -x\n", ":1: bad value for 'ui_group': must be a group name"},
        {"ui_group = Ops Team\n", ":1: bad value for 'ui_group'"},
        {"password_file = pw.txt\n", ":1: bad value for 'password_file'"},
        {"tcti = bogus:x\n", ":1: bad value for 'tcti'"},
        {"authority = ftp://login.example\n",
         ":1: bad value for 'authority': must be an https:// URL"},
        {"authority = https://\n", ":1: bad value for 'authority': has no valid host name"},
        {"authority = https://login.example:99999\n",
         ":1: bad value for 'authority': has a bad port"},
        {"authority = https://login.example/?x=1\n", ":1: bad value for 'authority'"},
        {"redirect_uri = http://evil.example/cb\n",
         ":1: bad value for 'redirect_uri': plain http is allowed only for a loopback redirect"},
        {"redirect_uri = no-scheme\n", ":1: bad value for 'redirect_uri'"},
        {"password = hunter2\n", ":1: key 'password' is not allowed"},
        /* fuzz_config: ";x" right after '=' is a value, after a space a comment. */
        {"username =;alice@contoso.example\n", ":1: bad value for 'username': starts with ';'"},
        {"display_name =;\n", ":1: bad value for 'display_name': starts with ';'"},
        /* os_version is the Windows version DRS and Intune get: a dotted quad */
        {"os_version = 12\n", ":1: bad value for 'os_version': must be a Windows version, four "
                              "numbers 0..65535 joined by dots (e.g. 10.0.26100.1)"},
        {"os_version = 10.0.26100\n", ":1: bad value for 'os_version'"},
        {"os_version = 10.0.70000.1\n", ":1: bad value for 'os_version'"},
        {"os_edition = 0\n", ":1: bad value for 'os_edition': is out of range (1..65535)"},
        {"os_edition = Enterprise\n", ":1: bad value for 'os_edition': must be a whole number"},
        {"proxy = https://proxy:3128\n", ":1: bad value for 'proxy': must be an http:// proxy"},
        {"proxy = http://u:p@proxy:3128\n",
         ":1: bad value for 'proxy': must not hold a user name or password"},
        {"proxy = yes\n", ":1: bad value for 'proxy': must be none, env or http://HOST:PORT"},
        {"no_proxy = *.contoso.example\n", ":1: bad value for 'no_proxy'"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char want[300];
        snprintf(want, sizeof(want), "%s%s", path, cases[i].msg);
        expect_error(cases[i].conf, NULL, want);
    }
}

static void
test_http_refused(void **state)
{
    static const char *const f1[] = {"--authority", "http://login.microsoftonline.com", NULL};
    static const char *const f2[] = {"--drs-url=HTTP://enterpriseregistration.windows.net", NULL};
    static const char *const f3[] = {"--mdm-url", "http://enrollment.manage.microsoft.com", NULL};
    char want[256];
    (void)state;
    snprintf(want, sizeof(want), "%s:1: bad value for 'authority': plain http is not allowed",
             path);
    expect_error("authority = http://login.microsoftonline.com\n", NULL, want);
    snprintf(want, sizeof(want), "%s:1: bad value for 'drs_url': plain http", path);
    expect_error("drs_url = http://x.example\n", NULL, want);
    snprintf(want, sizeof(want), "%s:1: bad value for 'mdm_url': plain http", path);
    expect_error("mdm_url = http://x.example\n", NULL, want);
    write_conf("");
    expect_error(NULL, f1, "--authority: bad value for 'authority': plain http is not allowed");
    expect_error(NULL, f2, "--drs-url: bad value for 'drs_url': plain http");
    expect_error(NULL, f3, "--mdm-url: bad value for 'mdm_url': plain http");
}

static void
test_connect_to_validation(void **state)
{
    static const char *const good[] = {"login.microsoftonline.com:443:127.0.0.1:8443",
                                       "::127.0.0.1:8443",
                                       "a.test:443:[::1]:8443",
                                       "[::1]:443:localhost:",
                                       ":443::8443",
                                       "a.test::b.test:"};
    static const char *const bad[] = {"login.microsoftonline.com:443:127.0.0.1",
                                      "a:443:b:8443:9",
                                      "a:443:b:99999",
                                      "a:https:b:1",
                                      "a:443::",
                                      "a b:443:c:1",
                                      "[::1:443:c:1",
                                      "",
                                      "a:443:b:-1"};
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct lj_config c;
        lj_config_defaults(&c);
        if (lj_config_set(&c, "connect_to", good[i], "t") != LJ_OK)
            fail_msg("rejected good connect_to '%s': %s", good[i], c.error);
        assert_int_equal(c.n_connect_to, 1);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct lj_config c;
        lj_config_defaults(&c);
        if (lj_config_set(&c, "connect_to", bad[i], "t") != LJ_ERR_CONFIG)
            fail_msg("accepted bad connect_to '%s'", bad[i]);
        assert_non_null(strstr(c.error, "t: bad value for 'connect_to'"));
        assert_int_equal(c.n_connect_to, 0);
    }
}

static void
test_connect_to_limit(void **state)
{
    struct lj_config c;
    (void)state;
    lj_config_defaults(&c);
    for (int i = 0; i < LJ_CONFIG_MAX_CONNECT_TO; i++)
        assert_int_equal(lj_config_set(&c, "connect_to", "::127.0.0.1:1", "t"), LJ_OK);
    assert_int_equal(lj_config_set(&c, "connect_to", "::127.0.0.1:1", "t"), LJ_ERR_CONFIG);
    assert_non_null(strstr(c.error, "too many"));
}

static void
test_flag_errors(void **state)
{
    static const char *const f1[] = {"--tenant", NULL};
    static const char *const f2[] = {"--password", "hunter2", NULL};
    static const char *const f3[] = {"--connect-timeout", "zero", NULL};
    (void)state;
    write_conf("");
    expect_error(NULL, f1, "--tenant: needs a value");
    expect_error(NULL, f2, "--password: not allowed");
    expect_error(NULL, f3, "--connect-timeout: bad value for 'connect_timeout'");
    {
        /* Values a config file could not hold (lj_config_dump must read back). */
        static const char *const f4[] = {"--display-name", " Kiosk", NULL};
        static const char *const f5[] = {"--display-name", "Kiosk ; 2", NULL};
        static const char *const f6[] = {"--model", "Link\t", NULL};
        expect_error(NULL, f4, "--display-name: bad value for 'display_name': starts with ';'");
        expect_error(NULL, f5, "--display-name: bad value for 'display_name': starts with ';'");
        expect_error(NULL, f6, "--model: bad value for 'model'");
    }
    {
        /* "authority = URL" must fit a config line (196): 184 characters is the most. */
        char url[200], flag[220];
        const char *f7[] = {flag, NULL};
        memset(url, 'a', sizeof(url));
        memcpy(url, "https://", 8);
        url[185] = '\0';
        snprintf(flag, sizeof(flag), "--authority=%s", url);
        expect_error(NULL, f7,
                     "--authority: bad value for 'authority': too long (max 184 characters)");
    }
}

static void
test_cross_key_rules(void **state)
{
    static const char *const f1[] = {"--signin", "password", NULL};
    static const char *const f2[] = {"--password-file", "/tmp/pw", NULL};
    (void)state;
    write_conf("");
    expect_error(NULL, f1, "signin = password needs 'username'");
    expect_error(NULL, f2, "'password_file' is used only with signin = password");
    /* The broker client has no loopback redirect registered (roadtx
     * firstpartyscopes.json; Entra answers AADSTS50011): refused, naming it;
     * a client_id of one's own app registration may use one. */
    {
        static const char *const f3[] = {"--redirect-uri", "http://127.0.0.1:8400/cb", NULL};
        static const char *const f4[] = {"--redirect-uri", "http://localhost/cb", "--client-id",
                                         "29D9ED98-A469-4536-ADE2-F981BC1D605E", NULL};
        static const char *const f5[] = {"--redirect-uri", "http://[::1]:8400/cb", "--client-id",
                                         "11111111-2222-3333-4444-555555555555", NULL};
        struct lj_config cfg;

        expect_error(NULL, f3,
                     "redirect_uri http://127.0.0.1:8400/cb: client_id "
                     "29d9ed98-a469-4536-ade2-f981bc1d605e (Microsoft Authentication Broker, the "
                     "default) has no loopback redirect registered, so Entra refuses it "
                     "(AADSTS50011)");
        expect_error(NULL, f4, "has no loopback redirect registered");
        expect_error("redirect_uri = http://127.0.0.1/cb\n", NULL,
                     "client_id 29d9ed98-a469-4536-ade2-f981bc1d605e");
        write_conf("");
        assert_int_equal(load(&cfg, f5), LJ_OK);
        assert_string_equal(cfg.redirect_uri, "http://[::1]:8400/cb");
    }
}

static void
test_dump_roundtrip(void **state)
{
    struct lj_config a, b;
    char *text = NULL;
    size_t len = 0;
    FILE *f;
    (void)state;
    write_conf(all_keys_conf);
    assert_int_equal(load(&a, NULL), LJ_OK);
    f = open_memstream(&text, &len);
    lj_config_dump(&a, f);
    fclose(f);
    assert_non_null(strstr(text, "connect_to = ::127.0.0.1:9444\n"));
    assert_non_null(strstr(text, "signin = password\n"));
    write_conf(text);
    assert_int_equal(load(&b, NULL), LJ_OK);
    {
        char *text2 = NULL;
        size_t len2 = 0;
        f = open_memstream(&text2, &len2);
        lj_config_dump(&b, f);
        fclose(f);
        assert_string_equal(text, text2);
        free(text2);
    }
    check_all_keys(&b);
    free(text);

    /* Defaults dump: empty optional keys are written as "key =". */
    lj_config_defaults(&a);
    f = open_memstream(&text, &len);
    lj_config_dump(&a, f);
    fclose(f);
    assert_non_null(strstr(text, "authority = https://login.microsoftonline.com\n"));
    assert_non_null(strstr(text, "ca_file =\n"));
    assert_null(strstr(text, "connect_to"));
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_key_from_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_key_from_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags_override_file_and_rest_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_section_and_missing_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_explicit_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_names_file_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_section, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax_error_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_values_in_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_to_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_to_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flag_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cross_key_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_roundtrip, setup, teardown),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
