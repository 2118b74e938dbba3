/*
 * Unit tests for agent/ui/ui_proto.c: every UI->agent message and every
 * malformed case, the exact JSON of each agent->UI event, polling over a
 * pipe and a socket (resend on connect), and golden tty renderings
 * (tests/data/ui/NAME.jsonl -> NAME.txt; LJ_UPDATE_GOLDEN=1 rewrites them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>

#include <cmocka.h>

#include "agent/ui/messages.h"
#include "agent/ui/ui_proto.h"
#include "platform/common/fsutil.h"
#include "platform/ui_chan.h"
#include "tests/unit/testutil.h"

static void
expect_bad(const char *line, const char *err, const char *problem)
{
    struct lj_ui_msg m;
    char e[32] = "", p[200] = "";

    memset(&m, 0, sizeof(m));
    assert_int_equal(lj_ui_parse_msg(line, strlen(line), &m, e, sizeof(e), p, sizeof(p)),
                     LJ_ERR_PARSE);
    if (strcmp(e, err) != 0 || strstr(p, problem) == NULL)
        fail_msg("line %s: got error '%s' problem '%s', want '%s' / '%s'", line, e, p, err,
                 problem);
    assert_null(m.username);
    assert_null(m.password);
}

static void
test_parse_valid_messages(void **state)
{
    struct lj_ui_msg m;
    char e[32], p[200];
    static const char cred[] = "{\"type\":\"credentials\",\"username\":\"alice@contoso.com\","
                               "\"password\":\"p@ss w\\\"rd\",\"extra\":1}";
    static const char code[] =
        "{\"state\":\"st-1\",\"code\":\"0.AAAA-code\",\"type\":\"auth_code\"}";
    (void)state;

    assert_int_equal(lj_ui_parse_msg(cred, strlen(cred), &m, e, sizeof(e), p, sizeof(p)), LJ_OK);
    assert_int_equal(m.type, LJ_UI_MSG_CREDENTIALS);
    assert_string_equal(m.username, "alice@contoso.com");
    assert_string_equal(m.password, "p@ss w\"rd");
    lj_ui_msg_clear(&m);
    assert_null(m.password);

    assert_int_equal(lj_ui_parse_msg(code, strlen(code), &m, e, sizeof(e), p, sizeof(p)), LJ_OK);
    assert_int_equal(m.type, LJ_UI_MSG_AUTH_CODE);
    assert_string_equal(m.code, "0.AAAA-code");
    assert_string_equal(m.state, "st-1");
    lj_ui_msg_clear(&m);

    assert_int_equal(lj_ui_parse_msg("{\"type\":\"cancel\"}", 17, &m, e, sizeof(e), p, sizeof(p)),
                     LJ_OK);
    assert_int_equal(m.type, LJ_UI_MSG_CANCEL);
    lj_ui_msg_clear(&m);
    assert_int_equal(lj_ui_parse_msg(" {\"type\":\"retry\"} ", 18, &m, e, sizeof(e), p, sizeof(p)),
                     LJ_OK);
    assert_int_equal(m.type, LJ_UI_MSG_RETRY);
    lj_ui_msg_clear(&m);
}

static void
test_parse_malformed(void **state)
{
    char longpw[1100];
    char line[1300];
    (void)state;
    expect_bad("", "bad_json", "not valid JSON: empty document");
    expect_bad("{", "bad_json", "not valid JSON: malformed JSON");
    expect_bad("hello", "bad_json", "not valid JSON");
    expect_bad("{\"type\":\"cancel\"} trailing", "bad_json", "not valid JSON: trailing data");
    expect_bad("[\"cancel\"]", "bad_json", "a message must be a JSON object");
    expect_bad("\"cancel\"", "bad_json", "a message must be a JSON object");
    expect_bad("{\"type\":{\"a\":{\"b\":1}}}", "bad_json", "nesting deeper than 2");
    expect_bad("{}", "missing_field", "message without a string 'type'");
    expect_bad("{\"type\":7}", "missing_field", "message without a string 'type'");
    expect_bad("{\"type\":\"reboot\"}", "unknown_type", "unknown message type 'reboot'");
    expect_bad("{\"type\":\"evil\\u001b[2J\"}", "unknown_type", "unknown message type 'evil?[2J'");
    expect_bad("{\"type\":\"credentials\"}", "missing_field",
               "credentials: missing field 'username'");
    expect_bad("{\"type\":\"credentials\",\"username\":\"a\"}", "missing_field",
               "credentials: missing field 'password'");
    expect_bad("{\"type\":\"credentials\",\"username\":\"a\",\"password\":null}", "missing_field",
               "credentials: missing field 'password'");
    expect_bad("{\"type\":\"credentials\",\"username\":\"a\",\"password\":123}", "bad_field",
               "credentials: field 'password' must be a string");
    expect_bad("{\"type\":\"credentials\",\"username\":\"\",\"password\":\"x\"}", "bad_field",
               "credentials: field 'username' must be 1 to 256 bytes");
    memset(longpw, 'p', sizeof(longpw));
    longpw[sizeof(longpw) - 1] = '\0';
    snprintf(line, sizeof(line),
             "{\"type\":\"credentials\",\"username\":\"a\",\"password\":\"%s\"}", longpw);
    expect_bad(line, "bad_field", "credentials: field 'password' must be 1 to 1024 bytes");
    expect_bad("{\"type\":\"auth_code\",\"state\":\"s\"}", "missing_field",
               "auth_code: missing field 'code'");
    expect_bad("{\"type\":\"auth_code\",\"code\":\"c\"}", "missing_field",
               "auth_code: missing field 'state'");
    expect_bad("{\"type\":\"auth_code\",\"code\":[\"c\"],\"state\":\"s\"}", "bad_field",
               "auth_code: field 'code' must be a string");
    {
        struct lj_ui_msg m;
        char e[32], p[200];
        assert_int_equal(lj_ui_parse_msg("x", LJ_UI_MAX_LINE + 1, &m, e, sizeof(e), p, sizeof(p)),
                         LJ_ERR_PARSE);
        assert_string_equal(e, "line_too_long");
    }
}

/* Read whatever is in the pipe (non-blocking after the first poll). */
static char *
drain(int fd)
{
    static char buf[8192];
    size_t n = 0;
    ssize_t r;
    struct timeval tv = {0, 200000};
    fd_set rs;

    FD_ZERO(&rs);
    FD_SET(fd, &rs);
    if (select(fd + 1, &rs, NULL, NULL, &tv) <= 0)
        return (buf[0] = '\0', buf);
    while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0) {
        n += (size_t)r;
        FD_ZERO(&rs);
        FD_SET(fd, &rs);
        tv.tv_sec = 0;
        tv.tv_usec = 20000;
        if (select(fd + 1, &rs, NULL, NULL, &tv) <= 0)
            break;
    }
    buf[n] = '\0';
    return buf;
}

static void
test_event_json(void **state)
{
    int out[2];
    struct lj_ui *ui = NULL;
    struct lj_identity id;
    struct lj_error_record e;
    struct lj_ui_result r;
    char *got;
    (void)state;

    /* the agent's clock in results and expires_in (LJ_TEST_NOW: a test-hook build) */
    setenv("LJ_TEST_NOW", "2026-11-26T17:30:00Z", 1);
    assert_int_equal(pipe(out), 0);
    assert_int_equal(lj_ui_open_fds(LJ_UI_STDIO, -1, out[1], &ui), LJ_OK);
    memset(&id, 0, sizeof(id));
    snprintf(id.manufacturer, sizeof(id.manufacturer), "Contoso");
    snprintf(id.model, sizeof(id.model), "Link \"1\"");
    snprintf(id.serial, sizeof(id.serial), "SN1");
    snprintf(id.os_name, sizeof(id.os_name), "Debian GNU/Linux");
    snprintf(id.os_version, sizeof(id.os_version), "12");
    assert_int_equal(lj_ui_hello(ui, &id), LJ_OK);
    assert_string_equal(
        drain(out[0]),
        "{\"type\":\"hello\",\"protocol\":1,\"agent\":\"linkjoin 0.1.0\",\"device\":"
        "{\"manufacturer\":\"Contoso\",\"model\":\"Link \\\"1\\\"\",\"serial\":\"SN1\","
        "\"os_name\":\"Debian GNU/Linux\",\"os_version\":\"12\"}}\n");
    assert_int_equal(lj_ui_progress(ui, "step.signin.wait", 150), LJ_OK);
    /* v1's members first, then the step's id, position and what it waits for */
    assert_string_equal(drain(out[0]),
                        "{\"type\":\"progress\",\"phase\":\"signin\",\"step\":"
                        "\"Waiting for sign-in\",\"percent\":100,\"step_id\":\"signin.wait\","
                        "\"message_id\":\"step.signin.wait\",\"args\":{},\"index\":3,\"count\":13,"
                        "\"waiting_for\":\"person\"}\n");
    {
        struct lj_ui_device_code dc = {
            "ABCD-EFGH", "https://microsoft.com/devicelogin", NULL, NULL, 1795714500, 5};

        assert_int_equal(lj_ui_prompt_device_code(ui, &dc), LJ_OK);
    }
    assert_string_equal(
        drain(out[0]),
        "{\"type\":\"prompt\",\"kind\":\"device_code\",\"user_code\":"
        "\"ABCD-EFGH\",\"verification_uri\":\"https://microsoft.com/"
        "devicelogin\",\"expires_at\":\"2026-11-26T17:35:00Z\",\"expires_in\":300,"
        "\"interval\":5,\"text\":\"On your phone or computer, go to "
        "https://microsoft.com/devicelogin and enter the code ABCD-EFGH.\",\"message_id\":"
        "\"prompt.device_code.instructions\",\"args\":{\"url\":"
        "\"https://microsoft.com/devicelogin\",\"code\":\"ABCD-EFGH\"}}\n");
    {
        /* RFC 8628 3.2: verification_uri_complete and the server's message when sent */
        struct lj_ui_device_code dc = {"ABCD-EFGH",
                                       "https://microsoft.com/devicelogin",
                                       "https://microsoft.com/devicelogin?otc=ABCD-EFGH",
                                       "To sign in, use a web browser.",
                                       1795714500,
                                       7};

        assert_int_equal(lj_ui_prompt_device_code(ui, &dc), LJ_OK);
    }
    assert_non_null(strstr(drain(out[0]),
                           "\"expires_in\":300,\"interval\":7,\"verification_uri_complete\":"
                           "\"https://microsoft.com/devicelogin?otc=ABCD-EFGH\",\"server_message\":"
                           "\"To sign in, use a web browser.\",\"text\":"));
    assert_int_equal(lj_ui_prompt_credentials(ui, "alice@contoso.com", NULL), LJ_OK);
    assert_string_equal(drain(out[0]), "{\"type\":\"prompt\",\"kind\":\"credentials\",\"username\":"
                                       "\"alice@contoso.com\"}\n");
    assert_int_equal(
        lj_ui_prompt_credentials(ui, "alice@contoso.com", "prompt.credentials.password"), LJ_OK);
    assert_string_equal(drain(out[0]),
                        "{\"type\":\"prompt\",\"kind\":\"credentials\",\"username\":"
                        "\"alice@contoso.com\",\"message\":\"Enter the password for your work "
                        "account\",\"message_id\":\"prompt.credentials.password\",\"args\":{}}\n");
    assert_int_equal(
        lj_ui_prompt_browser(ui, "https://login.example/authorize?x=1", "ms-aadj-redir://auth/drs"),
        LJ_OK);
    assert_string_equal(drain(out[0]),
                        "{\"type\":\"prompt\",\"kind\":\"browser\",\"authorize_url\":"
                        "\"https://login.example/authorize?x=1\",\"redirect_uri\":"
                        "\"ms-aadj-redir://auth/drs\",\"text\":\"To sign in, open this address in "
                        "a web browser.\",\"message_id\":\"prompt.browser.instructions\","
                        "\"args\":{}}\n");
    memset(&e, 0, sizeof(e));
    snprintf(e.phase, sizeof(e.phase), "join");
    snprintf(e.reason, sizeof(e.reason), "device_quota_reached");
    snprintf(e.code, sizeof(e.code), "0x801c000e");
    e.http_status = 400;
    snprintf(e.error_type, sizeof(e.error_type), "DeviceCapReached");
    snprintf(e.request_id, sizeof(e.request_id), "req-1");
    snprintf(e.server_time, sizeof(e.server_time), "2026-11-26T17:31:05Z");
    memset(&r, 0, sizeof(r));
    r.status = LJ_UI_FAILED;
    r.fix_by = "user";
    r.message = "You have reached the maximum number of devices.";
    r.admin_action =
        "Entra admin center > Devices > Device settings > Maximum number of devices per user";
    r.error = &e;
    assert_int_equal(lj_ui_result(ui, &r), LJ_OK);
    assert_string_equal(
        drain(out[0]),
        "{\"type\":\"result\",\"status\":\"failed\","
        "\"device\":{\"serial\":\"SN1\",\"manufacturer\":\"Contoso\",\"model\":\"Link \\\"1\\\"\"},"
        "\"time\":\"2026-11-26T17:30:00Z\",\"phase\":\"join\",\"reason\":"
        "\"device_quota_reached\",\"code\":\"0x801c000e\",\"fix_by\":\"user\","
        "\"message\":\"You have reached the maximum number of devices.\","
        "\"admin_action\":\"Entra admin center > Devices > Device settings > Maximum "
        "number of devices per user\",\"retryable\":false,\"server\":{\"http_status\":"
        "400,\"error_type\":\"DeviceCapReached\",\"request_id\":\"req-1\",\"time\":"
        "\"2026-11-26T17:31:05Z\",\"time_raw\":\"2026-11-26T17:31:05Z\"},"
        "\"next_action\":{\"action\":\"restart_device\"},\"support\":{\"serial\":\"SN1\","
        "\"time\":\"2026-11-26T17:30:00Z\",\"code\":\"0x801c000e\",\"request_id\":"
        "\"req-1\"}}\n");
    /* with catalog ids: args and admin_args hold the placeholders' values as expanded */
    {
        struct lj_error_params p;

        memset(&p, 0, sizeof(p));
        p.upn = "alice@contoso.com";
        r.message_id = "reason.device_quota_reached";
        r.admin_action_id = "admin.device_quota_reached";
        r.params = &p;
        r.retry_window = 900; /* not offered: this UI cannot send (no input) */
        assert_int_equal(lj_ui_result(ui, &r), LJ_OK);
        got = drain(out[0]);
        assert_non_null(strstr(got, "\"message_id\":\"reason.device_quota_reached\",\"args\":{}"));
        assert_non_null(strstr(got, "\"admin_action_id\":\"admin.device_quota_reached\","
                                    "\"admin_args\":{\"upn\":\"alice@contoso.com\"}"));
        assert_null(strstr(got, "retry_until"));
        r.message_id = r.admin_action_id = NULL;
        r.params = NULL;
        r.retry_window = 0;
    }
    memset(&r, 0, sizeof(r));
    r.status = LJ_UI_JOINED;
    r.device_id = "dev-1";
    r.tenant_name = "Contoso";
    assert_int_equal(lj_ui_result(ui, &r), LJ_OK);
    assert_string_equal(
        drain(out[0]),
        "{\"type\":\"result\",\"status\":\"joined\",\"device_id\":"
        "\"dev-1\",\"tenant_name\":\"Contoso\","
        "\"device\":{\"serial\":\"SN1\",\"manufacturer\":\"Contoso\",\"model\":\"Link \\\"1\\\"\"},"
        "\"time\":\"2026-11-26T17:30:00Z\",\"setup_complete\":false,\"next_action\":"
        "{\"action\":\"none\"},\"support\":{\"serial\":\"SN1\",\"time\":"
        "\"2026-11-26T17:30:00Z\",\"device_id\":\"dev-1\"}}\n");
    /* joined and enrolled: the mdm object */
    r.mdm_state = "enrolled";
    r.mdm_server_url = "https://r.manage.microsoft.com/x";
    r.mdm_cert_thumbprint = "ABCD";
    assert_int_equal(lj_ui_result(ui, &r), LJ_OK);
    assert_string_equal(
        drain(out[0]),
        "{\"type\":\"result\",\"status\":\"joined\",\"device_id\":"
        "\"dev-1\",\"tenant_name\":\"Contoso\","
        "\"device\":{\"serial\":\"SN1\",\"manufacturer\":\"Contoso\",\"model\":\"Link \\\"1\\\"\"},"
        "\"time\":\"2026-11-26T17:30:00Z\",\"setup_complete\":false,\"mdm\":{\"state\":"
        "\"enrolled\",\"server_url\":\"https://r.manage.microsoft.com/"
        "x\",\"cert_thumbprint\":\"ABCD\"},\"next_action\":{\"action\":\"none\"},"
        "\"support\":{\"serial\":\"SN1\",\"time\":\"2026-11-26T17:30:00Z\",\"device_id\":"
        "\"dev-1\"}}\n");
    /* joined, Intune refused: status joined WITH the reason fields */
    memset(&r, 0, sizeof(r));
    memset(&e, 0, sizeof(e));
    snprintf(e.phase, sizeof(e.phase), "mdm");
    snprintf(e.reason, sizeof(e.reason), "mdm_platform_blocked");
    snprintf(e.code, sizeof(e.code), "0x80180014");
    r.status = LJ_UI_JOINED;
    r.device_id = "dev-1";
    r.fix_by = "admin";
    r.message = "m";
    r.admin_action = "a";
    r.error = &e;
    r.mdm_state = "failed";
    assert_int_equal(lj_ui_result(ui, &r), LJ_OK);
    assert_string_equal(
        drain(out[0]),
        "{\"type\":\"result\",\"status\":\"joined\",\"device_id\":"
        "\"dev-1\","
        "\"device\":{\"serial\":\"SN1\",\"manufacturer\":\"Contoso\",\"model\":\"Link \\\"1\\\"\"},"
        "\"time\":\"2026-11-26T17:30:00Z\",\"setup_complete\":false,\"phase\":\"mdm\",\"reason\":"
        "\"mdm_platform_blocked\","
        "\"code\":\"0x80180014\",\"fix_by\":\"admin\",\"message\":\"m\","
        "\"admin_action\":\"a\",\"retryable\":false,\"mdm\":{\"state\":"
        "\"failed\"},\"next_action\":{\"action\":\"contact_admin\"},\"support\":{\"serial\":"
        "\"SN1\",\"time\":\"2026-11-26T17:30:00Z\",\"code\":\"0x80180014\",\"device_id\":"
        "\"dev-1\"}}\n");
    /* pending: the timer retries it */
    r.status = LJ_UI_JOINED_MDM_PENDING;
    r.fix_by = "retry";
    assert_int_equal(lj_ui_result(ui, &r), LJ_OK);
    assert_non_null(
        strstr(drain(out[0]), "\"next_action\":{\"action\":\"retry_later\",\"seconds\":1800}"));
    /* v2-only events never reach a client that did not say hello */
    assert_int_equal(lj_ui_leaving(ui, "done", 0), LJ_OK);
    assert_int_equal(lj_ui_notice(ui, "service_busy", 30, NULL, 0), LJ_OK);
    assert_string_equal(drain(out[0]), "");
    /* ... a notice with a v1 form arrives as v1 always had it: a progress step */
    assert_int_equal(lj_ui_notice(ui, "recover_resume", -1, "preflight", 2), LJ_OK);
    assert_string_equal(drain(out[0]),
                        "{\"type\":\"progress\",\"phase\":\"preflight\",\"step\":\"Setup was "
                        "interrupted earlier; continuing where it stopped\",\"message_id\":"
                        "\"notice.recover_resume\",\"args\":{},\"percent\":2}\n");
    assert_int_equal(lj_ui_error(ui, "bad_json", "not valid JSON"), LJ_OK);
    assert_string_equal(
        drain(out[0]),
        "{\"type\":\"error\",\"error\":\"bad_json\",\"message\":\"not valid JSON\"}\n");
    lj_ui_free(ui);
    close(out[0]);
    close(out[1]);
}

static void
test_poll_over_pipe(void **state)
{
    int in[2], out[2];
    struct lj_ui *ui = NULL;
    struct lj_ui_msg m;
    char *big;
    (void)state;

    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    assert_int_equal(lj_ui_open_fds(LJ_UI_STDIO, in[0], out[1], &ui), LJ_OK);
    memset(&m, 0, sizeof(m));
    assert_int_equal(lj_ui_poll(ui, 0, &m), LJ_ERR_TIMEOUT);
    assert_int_equal(lj_ui_poll(ui, 20, &m), LJ_ERR_TIMEOUT);

    /* Bad lines are answered with an error event and skipped; the good one comes through. */
    assert_true(write(in[1], "garbage\n{\"type\":\"nope\"}\n{\"type\":\"cancel\"}\n", 42) == 42);
    assert_int_equal(lj_ui_poll(ui, 1000, &m), LJ_OK);
    assert_int_equal(m.type, LJ_UI_MSG_CANCEL);
    assert_string_equal(
        drain(out[0]),
        "{\"type\":\"error\",\"error\":\"bad_json\",\"message\":\"not valid JSON: "
        "malformed JSON at byte 0\"}\n"
        "{\"type\":\"error\",\"error\":\"unknown_type\",\"message\":\"unknown message "
        "type 'nope'\"}\n");
    lj_ui_msg_clear(&m);

    /* An oversized line: error event, then the next valid line. */
    big = malloc(LJ_UI_MAX_LINE + 100);
    memset(big, 'z', LJ_UI_MAX_LINE + 100);
    {
        pid_t pid = fork();
        if (pid == 0) {
            ssize_t w = write(in[1], big, LJ_UI_MAX_LINE + 100);
            w += write(in[1], "\n{\"type\":\"retry\"}\n", 18);
            _exit(w > 0 ? 0 : 1);
        }
        assert_int_equal(lj_ui_poll(ui, 5000, &m), LJ_OK);
        assert_int_equal(m.type, LJ_UI_MSG_RETRY);
        assert_non_null(strstr(drain(out[0]),
                               "{\"type\":\"error\",\"error\":\"line_too_long\","
                               "\"message\":\"line longer than 65536 bytes (discarded)\"}\n"));
        waitpid(pid, NULL, 0);
    }
    free(big);
    lj_ui_msg_clear(&m);
    close(in[1]);
    assert_int_equal(lj_ui_poll(ui, 50, &m), LJ_ERR_TIMEOUT); /* EOF: nothing more */
    lj_ui_free(ui);
    close(in[0]);
    close(out[0]);
    close(out[1]);
}

static const struct lj_ui_device_code dc_code = {
    "CODE", "https://x.example/d", NULL, NULL, 1795714500, 5};

static void
test_socket_resend_on_connect(void **state)
{
    struct lj_config cfg;
    struct lj_ui *ui = NULL;
    struct lj_identity id;
    struct lj_ui_msg m;
    struct sockaddr_un sa;
    char *dir;
    int fd;
    char *got;
    (void)state;

    dir = lj_test_tmpdir();
    assert_non_null(dir);
    lj_config_defaults(&cfg);
    snprintf(cfg.ui_socket, sizeof(cfg.ui_socket), "%s/ui.sock", dir);
    assert_int_equal(lj_ui_open(&cfg, &ui), LJ_OK);
    memset(&id, 0, sizeof(id));
    assert_int_equal(lj_ui_hello(ui, &id), LJ_OK);
    assert_int_equal(lj_ui_progress(ui, "step.signin.wait", 20), LJ_OK);
    assert_int_equal(lj_ui_prompt_device_code(ui, &dc_code), LJ_OK);

    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cfg.ui_socket);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    memset(&m, 0, sizeof(m));
    assert_int_equal(lj_ui_poll(ui, 200, &m), LJ_ERR_TIMEOUT);
    got = drain(fd);
    assert_non_null(strstr(got, "{\"type\":\"hello\""));
    assert_non_null(strstr(got, "\n{\"type\":\"progress\",\"phase\":\"signin\""));
    assert_non_null(
        strstr(got, "\n{\"type\":\"prompt\",\"kind\":\"device_code\",\"user_code\":\"CODE\""));
    assert_true(write(fd, "{\"type\":\"cancel\"}\n", 18) == 18);
    assert_int_equal(lj_ui_poll(ui, 1000, &m), LJ_OK);
    assert_int_equal(m.type, LJ_UI_MSG_CANCEL);
    close(fd);
    lj_ui_free(ui);
    assert_false(lj_fs_exists(cfg.ui_socket));
    assert_int_equal(lj_test_rmdir(dir), 0);
    free(dir);
}

static bool
starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A socket client that connects at path; the fd. */
static int
sock_connect(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/*
 * UX review item 1: a UI that reconnects after the sign-in was answered
 * must not be sent the used prompt again; the replay order is hello, open
 * prompt, last progress, last result.
 */
static void
test_reconnect_after_signin_no_prompt(void **state)
{
    struct lj_config cfg;
    struct lj_ui *ui = NULL;
    struct lj_identity id;
    struct lj_ui_msg m;
    char *dir, *got;
    int fd;
    (void)state;

    dir = lj_test_tmpdir();
    assert_non_null(dir);
    lj_config_defaults(&cfg);
    snprintf(cfg.ui_socket, sizeof(cfg.ui_socket), "%s/ui.sock", dir);
    assert_int_equal(lj_ui_open(&cfg, &ui), LJ_OK);
    memset(&id, 0, sizeof(id));
    assert_int_equal(lj_ui_hello(ui, &id), LJ_OK);
    assert_int_equal(lj_ui_prompt_device_code(ui, &dc_code), LJ_OK);
    assert_int_equal(lj_ui_progress(ui, "step.signin.wait", 20), LJ_OK);

    /* while the prompt is open: hello, prompt, progress (in that order) */
    fd = sock_connect(cfg.ui_socket);
    memset(&m, 0, sizeof(m));
    assert_int_equal(lj_ui_poll(ui, 200, &m), LJ_ERR_TIMEOUT);
    got = drain(fd);
    assert_true(starts(got, "{\"type\":\"hello\""));
    assert_non_null(strstr(got, "}\n{\"type\":\"prompt\",\"kind\":\"device_code\""));
    assert_true(strstr(got, "\"type\":\"prompt\"") < strstr(got, "\"type\":\"progress\""));
    close(fd);
    assert_int_equal(lj_ui_poll(ui, 100, &m), LJ_ERR_TIMEOUT);

    /* the sign-in is answered; the device goes on enrolling */
    assert_int_equal(lj_ui_prompt_closed(ui, "answered"), LJ_OK);
    assert_int_equal(lj_ui_prompt_closed(ui, "answered"), LJ_OK); /* nothing open: no-op */
    assert_int_equal(lj_ui_progress(ui, "step.mdm.enroll", 95), LJ_OK);
    fd = sock_connect(cfg.ui_socket);
    assert_int_equal(lj_ui_poll(ui, 200, &m), LJ_ERR_TIMEOUT);
    got = drain(fd);
    assert_non_null(strstr(got, "{\"type\":\"hello\""));
    assert_non_null(strstr(got, "\"step_id\":\"mdm.enroll\""));
    assert_null(strstr(got, "\"type\":\"prompt\""));
    assert_null(strstr(got, "prompt_closed")); /* a v1 client */
    close(fd);
    lj_ui_free(ui);
    assert_int_equal(lj_test_rmdir(dir), 0);
    free(dir);
}

/*
 * A v2 client: hello answered with protocol 2 and the catalog locale, the
 * state again in its locale, and the v2-only events (notice,
 * prompt_closed, leaving).  The expected texts come from the catalog, so
 * the test holds with or without the translations merged.
 */
static void
test_v2_hello(void **state)
{
    int in[2], out[2];
    struct lj_ui *ui = NULL;
    struct lj_identity id;
    struct lj_ui_msg m;
    char want[512], *got, *t;
    static const char hello[] =
        "{\"type\":\"hello\",\"protocol\":2,\"locale\":\"de-DE\",\"features\":[\"notice\","
        "\"prompt_closed\"]}\n";
    (void)state;

    setenv("LJ_TEST_NOW", "2026-11-26T17:30:00Z", 1);
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    assert_int_equal(lj_ui_open_fds(LJ_UI_STDIO, in[0], out[1], &ui), LJ_OK);
    memset(&id, 0, sizeof(id));
    snprintf(id.serial, sizeof(id.serial), "SN1");
    assert_int_equal(lj_ui_hello(ui, &id), LJ_OK);
    assert_int_equal(lj_ui_progress(ui, "step.signin.wait", 20), LJ_OK);
    assert_int_equal(lj_ui_prompt_credentials(ui, "a@b.example", "prompt.credentials.password"),
                     LJ_OK);
    drain(out[0]);
    memset(&m, 0, sizeof(m));
    assert_true(write(in[1], hello, strlen(hello)) == (ssize_t)strlen(hello));
    assert_int_equal(lj_ui_poll(ui, 300, &m), LJ_ERR_TIMEOUT); /* answered inside the poll */
    got = drain(out[0]);
    assert_true(starts(got, "{\"type\":\"hello\",\"protocol\":2,"));
    assert_non_null(
        strstr(got, "\"locale\":\"de\"}\n{\"type\":\"prompt\",\"kind\":\"credentials\""));
    t = lj_msg_render("de", "prompt.credentials.password", NULL);
    snprintf(want, sizeof(want),
             "\"message\":\"%s\",\"message_id\":\"prompt.credentials.password\"", t);
    free(t);
    assert_non_null(strstr(got, want));
    t = lj_msg_render("de", "step.signin.wait", NULL);
    snprintf(want, sizeof(want), "}\n{\"type\":\"progress\",\"phase\":\"signin\",\"step\":\"%s\",",
             t);
    free(t);
    assert_non_null(strstr(got, want));

    /* the prompt answered: prompt_closed, and it is gone from the replay */
    assert_int_equal(lj_ui_prompt_closed(ui, "answered"), LJ_OK);
    assert_string_equal(
        drain(out[0]),
        "{\"type\":\"prompt_closed\",\"kind\":\"credentials\",\"why\":\"answered\"}\n");
    assert_int_equal(lj_ui_notice(ui, "service_busy", 30, NULL, 0), LJ_OK);
    got = drain(out[0]);
    assert_true(starts(got, "{\"type\":\"notice\",\"notice_id\":\"service_busy\",\"text\":\""));
    assert_non_null(strstr(got, "\"message_id\":\"notice.service_busy\",\"args\":{\"seconds\":30},"
                                "\"retry_in\":30}\n"));
    /* a failure the UI can retry: retry_until and retry_now */
    {
        struct lj_ui_result r;
        struct lj_error_record e;
        struct lj_error_params p;

        memset(&r, 0, sizeof(r));
        memset(&e, 0, sizeof(e));
        memset(&p, 0, sizeof(p));
        snprintf(e.phase, sizeof(e.phase), "signin");
        snprintf(e.reason, sizeof(e.reason), "wrong_password");
        snprintf(e.code, sizeof(e.code), "AADSTS50126");
        r.status = LJ_UI_FAILED;
        r.fix_by = "user";
        r.message = lj_msg_en("reason.wrong_password");
        r.message_id = "reason.wrong_password";
        r.admin_action = lj_msg_en("admin.wrong_password");
        r.admin_action_id = "admin.wrong_password";
        r.params = &p;
        r.error = &e;
        r.retry_window = 900;
        assert_int_equal(lj_ui_result(ui, &r), LJ_OK);
        got = drain(out[0]);
        assert_non_null(strstr(got, "\"next_action\":{\"action\":\"retry_now\"},\"retry_until\":"
                                    "\"2026-11-26T17:45:00Z\""));
        t = lj_msg_render("de", "reason.wrong_password", NULL);
        snprintf(want, sizeof(want), "\"message\":\"%s\",\"message_id\":\"reason.wrong_password\"",
                 t);
        free(t);
        assert_non_null(strstr(got, want));
    }
    /* a hello again: the state once more, without the prompt */
    assert_true(write(in[1], hello, strlen(hello)) == (ssize_t)strlen(hello));
    assert_int_equal(lj_ui_poll(ui, 300, &m), LJ_ERR_TIMEOUT);
    got = drain(out[0]);
    assert_null(strstr(got, "\"type\":\"prompt\""));
    assert_non_null(strstr(got, "\"type\":\"progress\""));
    assert_non_null(strstr(got, "\"type\":\"result\""));
    assert_int_equal(lj_ui_leaving(ui, "retry_window_closed", 6), LJ_OK);
    got = drain(out[0]);
    assert_true(
        starts(got, "{\"type\":\"leaving\",\"why\":\"retry_window_closed\",\"exit_code\":6,"));
    lj_ui_free(ui);
    close(in[1]);
    close(in[0]);
    close(out[0]);
    close(out[1]);
}

static void
test_parse_hello(void **state)
{
    struct lj_ui_msg m;
    char e[32], p[200];
    static const char h[] = "{\"type\":\"hello\",\"protocol\":7,\"locale\":\"ja-JP\"}";
    (void)state;

    memset(&m, 0, sizeof(m));
    assert_int_equal(lj_ui_parse_msg(h, strlen(h), &m, e, sizeof(e), p, sizeof(p)), LJ_OK);
    assert_int_equal(m.type, LJ_UI_MSG_HELLO);
    assert_int_equal(m.protocol, LJ_UI_PROTOCOL_MAX); /* newer clients get ours */
    assert_string_equal(m.locale, "ja-JP");
    lj_ui_msg_clear(&m);
    expect_bad("{\"type\":\"hello\"}", "missing_field", "hello: missing field 'protocol'");
    expect_bad("{\"type\":\"hello\",\"protocol\":0}", "bad_field",
               "hello: field 'protocol' must be an integer >= 1");
    expect_bad("{\"type\":\"hello\",\"protocol\":\"2\"}", "bad_field",
               "hello: field 'protocol' must be an integer >= 1");
    expect_bad("{\"type\":\"hello\",\"protocol\":2,\"locale\":\"de DE\"}", "bad_field",
               "hello: field 'locale' must be a language tag");
    expect_bad("{\"type\":\"hello\",\"protocol\":2,\"locale\":5}", "bad_field",
               "hello: field 'locale' must be a string");
    expect_bad("{\"type\":\"hello\",\"protocol\":2,\"features\":\"notice\"}", "bad_field",
               "hello: field 'features' must be an array of strings");
    expect_bad("{\"type\":\"hello\",\"protocol\":2,\"features\":[1]}", "bad_field",
               "hello: field 'features' must be an array of strings");
}

static void
golden(const char *name, const char *locale)
{
    char rel[128], in_path[512], out_path[512];
    unsigned char *in = NULL, *want = NULL;
    size_t in_len = 0, want_len = 0, got_len = 0;
    char *got = NULL;
    FILE *f = open_memstream(&got, &got_len);
    const char *p, *end;

    snprintf(rel, sizeof(rel), "ui/%s.jsonl", name);
    lj_test_data_path(rel, in_path, sizeof(in_path));
    snprintf(rel, sizeof(rel), "ui/%s.txt", name);
    lj_test_data_path(rel, out_path, sizeof(out_path));
    assert_int_equal(lj_fs_read(in_path, 1 << 20, &in, &in_len), LJ_OK);
    for (p = (const char *)in; p < (const char *)in + in_len; p = end + 1) {
        char *text;
        end = memchr(p, '\n', (size_t)((const char *)in + in_len - p));
        if (end == NULL)
            end = (const char *)in + in_len;
        text = lj_ui_render_tty(p, (size_t)(end - p), locale);
        if (text == NULL)
            fail_msg("%s: line did not render: %.*s", name, (int)(end - p), p);
        fputs(text, f);
        free(text);
    }
    fclose(f);
    if (getenv("LJ_UPDATE_GOLDEN") != NULL)
        assert_int_equal(lj_fs_write_atomic(out_path, got, got_len, 0644), LJ_OK);
    assert_int_equal(lj_fs_read(out_path, 1 << 20, &want, &want_len), LJ_OK);
    if (want_len != got_len || memcmp(want, got, got_len) != 0)
        fail_msg("%s: tty rendering differs from %s:\n%s", name, out_path, got);
    free(in);
    free(want);
    free(got);
}

static void
test_tty_golden(void **state)
{
    (void)state;
    /* local times on screen: a fixed zone, so the goldens do not depend on the machine's */
    setenv("TZ", "CET-1", 1);
    tzset();
    golden("tty-device-code-joined", "en");
    golden("tty-join-not-permitted", "en");
    golden("tty-other-results", "en");
    golden("tty-mdm-results", "en");
    /* v2 events; UTF-8 kept, controls and bidi overrides removed (a message_id the catalog
     * lacks: the event's own text) */
    golden("tty-v2-utf8", "en");
}

/* Every server time form becomes RFC 3339 UTC; anything else is refused. */
static void
test_time_iso(void **state)
{
    char t[32];

    (void)state;
    assert_true(lj_ui_time_iso("12-03-2026 8:04:04Z", t, sizeof(t))); /* DRS */
    assert_string_equal(t, "2026-12-03T08:04:04Z");
    assert_true(lj_ui_time_iso("Thu, 03 Dec 2026 08:04:12 GMT", t, sizeof(t))); /* HTTP */
    assert_string_equal(t, "2026-12-03T08:04:12Z");
    assert_true(lj_ui_time_iso("2026-12-03 08:04:22Z", t, sizeof(t))); /* AADSTS text */
    assert_string_equal(t, "2026-12-03T08:04:22Z");
    assert_true(lj_ui_time_iso("2026-12-03T08:04:22.1234567Z", t, sizeof(t))); /* Entra JSON */
    assert_string_equal(t, "2026-12-03T08:04:22Z");
    assert_false(lj_ui_time_iso("yesterday", t, sizeof(t)));
    assert_false(lj_ui_time_iso("2026-12-03T08:04:22+05:00", t, sizeof(t)));
    assert_false(lj_ui_time_iso("2026-12-03T08:04:22Z", t, 8));
}

static void
test_tty_rejects_non_events(void **state)
{
    (void)state;
    assert_null(lj_ui_render_tty("{", 1, "en"));
    assert_null(lj_ui_render_tty("{\"type\":\"bogus\"}", 16, "en"));
    assert_null(lj_ui_render_tty("{\"type\":\"prompt\",\"kind\":\"x\"}", 29, "de"));
}

static void
test_tty_ui_writes_text(void **state)
{
    int out[2];
    struct lj_ui *ui = NULL;
    (void)state;
    assert_int_equal(pipe(out), 0);
    assert_int_equal(lj_ui_open_fds(LJ_UI_TTY, -1, out[1], &ui), LJ_OK);
    assert_int_equal(lj_ui_progress(ui, "step.keys.prepare", 30), LJ_OK);
    assert_string_equal(drain(out[0]), "[ 30%] Preparing the device keys\n");
    assert_int_equal(lj_ui_progress(ui, "step.nope", 30), LJ_ERR_INVAL);
    assert_string_equal(drain(out[0]), "");
    /* config locale: the tty renders in it (the catalog's text, English until translated) */
    lj_ui_set_locale(ui, "de-AT");
    assert_int_equal(lj_ui_progress(ui, "step.keys.prepare", 30), LJ_OK);
    {
        char want[256];

        snprintf(want, sizeof(want), "[ 30%%] %s\n", lj_msg("de", "step.keys.prepare"));
        assert_string_equal(drain(out[0]), want);
    }
    lj_ui_free(ui);
    /* ... but never for a JSON client, which gets English until its own hello */
    assert_int_equal(lj_ui_open_fds(LJ_UI_STDIO, -1, out[1], &ui), LJ_OK);
    lj_ui_set_locale(ui, "de");
    assert_int_equal(lj_ui_progress(ui, "step.keys.prepare", 30), LJ_OK);
    assert_non_null(strstr(drain(out[0]), "\"step\":\"Preparing the device keys\""));
    lj_ui_free(ui);
    close(out[0]);
    close(out[1]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid_messages),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_event_json),
        cmocka_unit_test(test_poll_over_pipe),
        cmocka_unit_test(test_socket_resend_on_connect),
        cmocka_unit_test(test_reconnect_after_signin_no_prompt),
        cmocka_unit_test(test_v2_hello),
        cmocka_unit_test(test_parse_hello),
        cmocka_unit_test(test_tty_golden),
        cmocka_unit_test(test_time_iso),
        cmocka_unit_test(test_tty_rejects_non_events),
        cmocka_unit_test(test_tty_ui_writes_text),
    };
    return cmocka_run_group_tests_name("ui_proto", tests, NULL, NULL);
}
