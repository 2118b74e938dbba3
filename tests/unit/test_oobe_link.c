/*
 * Unit tests for platform/oobe/bridge/link.c against a fake agent (a Unix
 * socket this test listens on): hello on connect and again in the page's
 * locale when a page attaches, "connected" before the first line, lines
 * relayed as SSE messages, a protocol 1 agent's answer to hello dropped,
 * the device-code URL kept for /qr.svg and dropped with the prompt,
 * sending, the agent going away ("disconnected", 503) and coming back,
 * an overlong line dropped, a second page ending the first, a refusal
 * right after an attach retried quietly, stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/oobe/bridge/link.h"

static char dir[64], path[96];
static int lfd = -1;

static int
setup(void **state)
{
    struct sockaddr_un sa;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/lj-oobe-link.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/ui.sock", dir);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 4), 0);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    close(lfd);
    unlink(path);
    rmdir(dir);
    return 0;
}

/* The bridge's next connection (10 s at most: a bound, not a timing check). */
static int
accept_agent(void)
{
    struct pollfd p = {.fd = lfd, .events = POLLIN};

    assert_int_equal(poll(&p, 1, 10000), 1);
    return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* One line the bridge wrote (without '\n'). */
static void
read_line(int fd, char *out, size_t osz)
{
    size_t n = 0;

    while (n + 1 < osz) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char c;
        assert_int_equal(poll(&p, 1, 10000), 1);
        assert_int_equal(read(fd, &c, 1), 1);
        if (c == '\n')
            break;
        out[n++] = c;
    }
    out[n] = '\0';
}

static void
say(int fd, const char *line)
{
    size_t n = strlen(line);

    assert_int_equal(write(fd, line, n), (ssize_t)n);
    assert_int_equal(write(fd, "\n", 1), 1);
}

/* The next SSE message for page id must be exactly "data: EVENT\n\n". */
static void
expect_event(struct oobe_link *l, uint64_t id, const char *event)
{
    char *chunk = NULL, want[512];
    size_t len = 0;

    assert_int_equal(oobe_link_next(l, id, 10000, &chunk, &len), OOBE_NEXT_DATA);
    snprintf(want, sizeof(want), "data: %s\n\n", event);
    if (len != strlen(want) || memcmp(chunk, want, len) != 0)
        fail_msg("got '%.*s', want '%s'", (int)len, chunk, want);
    free(chunk);
}

static void
test_link(void **state)
{
    struct oobe_link *l = NULL;
    char line[512], *u, *big;
    int a, b, c;
    uint64_t id, id2;
    size_t len;

    (void)state;
    assert_int_equal(oobe_link_start(path, &l), LJ_OK);
    /* connects at once, hello in the default locale */
    a = accept_agent();
    read_line(a, line, sizeof(line));
    assert_string_equal(line, "{\"type\":\"hello\",\"protocol\":2,\"locale\":\"en\","
                              "\"features\":[\"notice\",\"prompt_closed\"]}");
    /* a page: a new connection, hello in its locale */
    id = oobe_link_attach(l, "de-DE");
    b = accept_agent();
    read_line(b, line, sizeof(line));
    assert_string_equal(line, "{\"type\":\"hello\",\"protocol\":2,\"locale\":\"de-DE\","
                              "\"features\":[\"notice\",\"prompt_closed\"]}");
    close(a);
    /* nothing said yet: not connected for /send */
    assert_int_equal(oobe_link_send(l, "{\"type\":\"cancel\"}\n", 18), LJ_ERR_NOT_FOUND);
    say(b, "{\"type\":\"hello\",\"protocol\":1}");
    say(b, "{\"type\":\"error\",\"error\":\"unknown_type\","
           "\"message\":\"unknown message type 'hello'\"}");
    say(b, "{\"type\":\"prompt\",\"kind\":\"device_code\",\"user_code\":\"X\","
           "\"verification_uri\":\"https://microsoft.com/devicelogin\"}");
    expect_event(l, id, "{\"type\":\"bridge\",\"agent\":\"connected\"}");
    expect_event(l, id, "{\"type\":\"hello\",\"protocol\":1}");
    expect_event(l, id,
                 "{\"type\":\"prompt\",\"kind\":\"device_code\",\"user_code\":\"X\","
                 "\"verification_uri\":\"https://microsoft.com/devicelogin\"}");
    u = oobe_link_qr_url(l);
    assert_string_equal(u, "https://microsoft.com/devicelogin");
    free(u);
    /* the page sends */
    assert_int_equal(oobe_link_send(l, "{\"type\":\"cancel\"}\n", 18), LJ_OK);
    read_line(b, line, sizeof(line));
    assert_string_equal(line, "{\"type\":\"cancel\"}");
    /* verification_uri_complete wins; a bad URL is not kept */
    say(b,
        "{\"type\":\"prompt\",\"kind\":\"device_code\",\"verification_uri\":\"https://a.example/\","
        "\"verification_uri_complete\":\"https://a.example/?otc=X\"}");
    expect_event(l, id,
                 "{\"type\":\"prompt\",\"kind\":\"device_code\",\"verification_uri\":\"https://"
                 "a.example/\",\"verification_uri_complete\":\"https://a.example/?otc=X\"}");
    u = oobe_link_qr_url(l);
    assert_string_equal(u, "https://a.example/?otc=X");
    free(u);
    say(b, "{\"type\":\"prompt\",\"kind\":\"device_code\",\"verification_uri\":\"javascript:x\"}");
    expect_event(l, id,
                 "{\"type\":\"prompt\",\"kind\":\"device_code\",\"verification_uri\":\"javascript:"
                 "x\"}");
    assert_null(oobe_link_qr_url(l));
    /* an error not answering our hello is relayed */
    say(b, "{\"type\":\"error\",\"error\":\"not_expected\",\"message\":\"m\"}");
    expect_event(l, id, "{\"type\":\"error\",\"error\":\"not_expected\",\"message\":\"m\"}");
    /* an overlong line is dropped, the next one comes through */
    len = OOBE_LINK_MAX_LINE + 10;
    big = malloc(len);
    assert_non_null(big);
    memset(big, 'x', len);
    for (size_t off = 0; off < len;) {
        ssize_t n = write(b, big + off, len - off);
        assert_true(n > 0);
        off += (size_t)n;
    }
    free(big);
    say(b, "");
    say(b, "{\"type\":\"result\",\"status\":\"cancelled\"}");
    expect_event(l, id, "{\"type\":\"result\",\"status\":\"cancelled\"}");
    /* the agent goes: disconnected, and /send has no agent */
    close(b);
    expect_event(l, id, "{\"type\":\"bridge\",\"agent\":\"disconnected\"}");
    assert_int_equal(oobe_link_send(l, "{\"type\":\"retry\"}\n", 17), LJ_ERR_NOT_FOUND);
    /* ... and comes back: a new connection, hello in the page's locale */
    c = accept_agent();
    read_line(c, line, sizeof(line));
    assert_non_null(strstr(line, "\"locale\":\"de-DE\""));
    say(c, "{\"type\":\"hello\",\"protocol\":2,\"locale\":\"de\"}");
    expect_event(l, id, "{\"type\":\"bridge\",\"agent\":\"connected\"}");
    expect_event(l, id, "{\"type\":\"hello\",\"protocol\":2,\"locale\":\"de\"}");
    /* a protocol 2 agent's errors are all relayed */
    say(c, "{\"type\":\"error\",\"error\":\"unknown_type\","
           "\"message\":\"unknown message type 'hello'\"}");
    expect_event(l, id,
                 "{\"type\":\"error\",\"error\":\"unknown_type\","
                 "\"message\":\"unknown message type 'hello'\"}");
    /* a second page ends the first one's stream */
    id2 = oobe_link_attach(l, "fr");
    {
        char *chunk = NULL;
        assert_int_equal(oobe_link_next(l, id, 10, &chunk, &len), OOBE_NEXT_END);
    }
    close(c);
    c = accept_agent();
    read_line(c, line, sizeof(line));
    assert_non_null(strstr(line, "\"locale\":\"fr\""));
    /* refused without a word right after the attach (the agent's "busy"):
       tried again without telling the page */
    close(c);
    c = accept_agent();
    read_line(c, line, sizeof(line));
    assert_non_null(strstr(line, "\"locale\":\"fr\""));
    say(c, "{\"type\":\"hello\",\"protocol\":2,\"locale\":\"fr\"}");
    expect_event(l, id2, "{\"type\":\"bridge\",\"agent\":\"connected\"}");
    expect_event(l, id2, "{\"type\":\"hello\",\"protocol\":2,\"locale\":\"fr\"}");
    oobe_link_stop(l);
    {
        char *chunk = NULL;
        assert_int_equal(oobe_link_next(l, id2, 10, &chunk, &len), OOBE_NEXT_END);
    }
    oobe_link_detach(l, id2);
    oobe_link_free(l);
    close(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_link, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
