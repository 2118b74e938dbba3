/* Unit tests for platform/ui_chan.c: line framing, oversized lines, timeouts, the socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/common/secmem.h"
#include "platform/ui_chan.h"
#include "tests/unit/testutil.h"

static void
expect_line(struct lj_ui_chan *c, const char *want)
{
    enum lj_ui_input what;
    char *line = NULL;
    size_t len = 0;

    assert_int_equal(lj_ui_chan_poll(c, 1000, &what, &line, &len), LJ_OK);
    assert_int_equal(what, LJ_UI_IN_LINE);
    assert_string_equal(line, want);
    assert_int_equal(len, strlen(want));
    lj_secret_free(line);
}

static void
expect_what(struct lj_ui_chan *c, int timeout, enum lj_ui_input want)
{
    enum lj_ui_input what;
    char *line = NULL;
    size_t len = 0;

    assert_int_equal(lj_ui_chan_poll(c, timeout, &what, &line, &len), LJ_OK);
    assert_int_equal(what, want);
    assert_null(line);
}

static void
put(int fd, const char *s)
{
    assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void
test_fd_framing(void **state)
{
    int p[2];
    struct lj_ui_chan *c = NULL;
    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(lj_ui_chan_fds(p[0], -1, &c), LJ_OK);
    expect_what(c, 0, LJ_UI_IN_NONE);
    put(p[1], "one\ntwo\r\nthr");
    expect_line(c, "one");
    expect_line(c, "two");
    expect_what(c, 10, LJ_UI_IN_NONE); /* partial line waits */
    put(p[1], "ee\n\n");
    expect_line(c, "three");
    expect_line(c, ""); /* empty line is a line (ui_proto rejects it) */
    close(p[1]);
    expect_what(c, 1000, LJ_UI_IN_EOF);
    expect_what(c, 10, LJ_UI_IN_NONE); /* after EOF: just waits out the timeout */
    lj_ui_chan_close(c);
    close(p[0]);
}

static void
test_oversized_line(void **state)
{
    int sv[2];
    struct lj_ui_chan *c = NULL;
    size_t n = LJ_UI_MAX_LINE + 5000;
    char *big = malloc(n);
    size_t off = 0;
    enum lj_ui_input what = LJ_UI_IN_NONE;
    bool saw_oversized = false;
    (void)state;

    memset(big, 'x', n);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(lj_ui_chan_fds(sv[0], -1, &c), LJ_OK);
    /* Feed in chunks so the socket buffer never blocks the writer. */
    while (off < n) {
        size_t chunk = n - off > 8192 ? 8192 : n - off;
        char *line = NULL;
        size_t len;
        assert_int_equal(write(sv[1], big + off, chunk), (ssize_t)chunk);
        off += chunk;
        assert_int_equal(lj_ui_chan_poll(c, 100, &what, &line, &len), LJ_OK);
        assert_null(line);
        if (what == LJ_UI_IN_OVERSIZED)
            saw_oversized = true;
        else
            assert_int_equal(what, LJ_UI_IN_NONE);
    }
    assert_true(saw_oversized);
    put(sv[1], "tail of the long line\n{\"type\":\"cancel\"}\n");
    expect_line(c, "{\"type\":\"cancel\"}");
    /* Exactly at the limit is still a line. */
    memset(big, 'y', LJ_UI_MAX_LINE);
    off = 0;
    while (off < LJ_UI_MAX_LINE) {
        size_t chunk = LJ_UI_MAX_LINE - off > 8192 ? 8192 : LJ_UI_MAX_LINE - off;
        assert_int_equal(write(sv[1], big + off, chunk), (ssize_t)chunk);
        off += chunk;
        expect_what(c, 50, LJ_UI_IN_NONE);
    }
    put(sv[1], "\n");
    {
        char *line = NULL;
        size_t len = 0;
        assert_int_equal(lj_ui_chan_poll(c, 1000, &what, &line, &len), LJ_OK);
        assert_int_equal(what, LJ_UI_IN_LINE);
        assert_int_equal(len, LJ_UI_MAX_LINE);
        lj_secret_free(line);
    }
    free(big);
    lj_ui_chan_close(c);
    close(sv[0]);
    close(sv[1]);
}

static int
connect_to(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void
read_exact(int fd, const char *want)
{
    char buf[256];
    size_t n = strlen(want), got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
    buf[got] = '\0';
    assert_string_equal(buf, want);
}

static void
test_socket(void **state)
{
    char *dir, path[128];
    struct lj_ui_chan *c = NULL;
    struct stat st;
    int a, b;
    char ch;
    (void)state;

    dir = lj_test_tmpdir();
    assert_non_null(dir);
    snprintf(path, sizeof(path), "%s/run/ui.sock", dir);
    assert_int_equal(lj_ui_chan_listen(path, &c), LJ_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_false(lj_ui_chan_connected(c));
    assert_int_equal(lj_ui_chan_write_line(c, "dropped", 7), LJ_OK); /* nobody there */

    a = connect_to(path);
    expect_what(c, 1000, LJ_UI_IN_CONNECTED);
    assert_true(lj_ui_chan_connected(c));
    assert_int_equal(lj_ui_chan_write_line(c, "{\"type\":\"hello\"}", 16), LJ_OK);
    read_exact(a, "{\"type\":\"hello\"}\n");

    /* A second client is refused (closed at once); the first keeps working. */
    b = connect_to(path);
    expect_what(c, 200, LJ_UI_IN_NONE);
    assert_int_equal(read(b, &ch, 1), 0);
    close(b);

    put(a, "{\"type\":\"retry\"}\n");
    expect_line(c, "{\"type\":\"retry\"}");
    close(a);
    expect_what(c, 1000, LJ_UI_IN_DISCONNECTED);
    assert_false(lj_ui_chan_connected(c));

    /* Reconnect works. */
    a = connect_to(path);
    expect_what(c, 1000, LJ_UI_IN_CONNECTED);
    close(a);
    expect_what(c, 1000, LJ_UI_IN_DISCONNECTED);
    lj_ui_chan_close(c);
    assert_int_equal(stat(path, &st), -1); /* unlinked */

    /* A stale socket file is replaced; a regular file is not touched. */
    assert_int_equal(lj_ui_chan_listen(path, &c), LJ_OK);
    {
        /* simulate a crash: leave the socket file, close only the fd */
        struct lj_ui_chan *c2 = NULL;
        assert_int_equal(lj_ui_chan_listen(path, &c2), LJ_OK);
        lj_ui_chan_close(c2);
    }
    lj_ui_chan_close(c);
    {
        FILE *f = fopen(path, "w");
        struct lj_ui_chan *c3 = NULL;
        fclose(f);
        assert_int_equal(lj_ui_chan_listen(path, &c3), LJ_ERR_IO);
        unlink(path);
    }
    assert_int_equal(lj_ui_chan_listen("relative.sock", &c), LJ_ERR_INVAL);
    assert_int_equal(lj_test_rmdir(dir), 0);
    free(dir);
}

/*
 * ui_group: the socket is 0660 with the group and a client of that group
 * (not root, not our uid) is accepted; without the key it is refused.
 * Needs root (chown to a group, switching the child's ids).
 */
static void
test_socket_group(void **state)
{
    char *dir, path[128];
    struct lj_ui_chan *c = NULL;
    struct stat st;
    struct group *gr = getgrnam("nogroup");
    (void)state;

    if (geteuid() != 0 || gr == NULL)
        skip();
    dir = lj_test_tmpdir();
    assert_non_null(dir);
    assert_int_equal(chmod(dir, 0755), 0);
    snprintf(path, sizeof(path), "%s/run/ui.sock", dir);
    assert_int_equal(lj_ui_chan_listen_group(path, "no-such-group-here", &c), LJ_ERR_NOT_FOUND);
    assert_int_equal(lj_ui_chan_listen_group(path, "nogroup", &c), LJ_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0660);
    assert_int_equal(st.st_gid, gr->gr_gid);
    snprintf(path, sizeof(path), "%s/run", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0750);
    assert_int_equal(st.st_gid, gr->gr_gid);
    snprintf(path, sizeof(path), "%s/run/ui.sock", dir);
    for (int grouped = 1; grouped >= 0; grouped--) {
        pid_t pid;
        int status;

        if (!grouped) {
            lj_ui_chan_close(c);
            assert_int_equal(lj_ui_chan_listen(path, &c), LJ_OK);
            assert_int_equal(chmod(path, 0666), 0); /* only the peer check refuses now */
            snprintf(path, sizeof(path), "%s/run", dir);
            assert_int_equal(chmod(path, 0755), 0);
            snprintf(path, sizeof(path), "%s/run/ui.sock", dir);
        }
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            int fd;
            char ch;

            if (setgroups(0, NULL) != 0 || setgid(gr->gr_gid) != 0 || setuid(65534) != 0)
                _exit(3);
            fd = connect_to(path);
            /* accepted: the line is answered; refused: closed at once */
            _exit(read(fd, &ch, 1) == 1 ? 0 : 1);
        }
        if (grouped) {
            expect_what(c, 2000, LJ_UI_IN_CONNECTED);
            assert_int_equal(lj_ui_chan_write_line(c, "x", 1), LJ_OK);
        } else {
            expect_what(c, 500, LJ_UI_IN_NONE);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), grouped ? 0 : 1);
    }
    lj_ui_chan_close(c);
    assert_int_equal(lj_test_rmdir(dir), 0);
    free(dir);
}

static void
test_write_to_fd(void **state)
{
    int p[2];
    struct lj_ui_chan *c = NULL;
    char buf[32] = "";
    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(lj_ui_chan_fds(-1, p[1], &c), LJ_OK);
    assert_int_equal(lj_ui_chan_write_line(c, "abc", 3), LJ_OK);
    assert_int_equal(lj_ui_chan_write(c, "raw", 3), LJ_OK);
    assert_int_equal(read(p[0], buf, sizeof(buf) - 1), 7);
    assert_string_equal(buf, "abc\nraw");
    expect_what(c, 10, LJ_UI_IN_NONE); /* no input fd: just waits */
    lj_ui_chan_close(c);
    close(p[0]);
    close(p[1]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fd_framing),  cmocka_unit_test(test_oversized_line),
        cmocka_unit_test(test_socket),      cmocka_unit_test(test_socket_group),
        cmocka_unit_test(test_write_to_fd),
    };
    return cmocka_run_group_tests_name("ui", tests, NULL, NULL);
}
