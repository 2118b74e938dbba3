/*
 * test_usock.c — platform/usock.c: listening (mode, a stale socket
 * replaced, another file refused), accept and read bounded by their
 * timeouts, one line read (too long, cut short, bytes after it dropped),
 * connect failures, the peer's credentials and group membership.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/usock.h"

struct fx {
    char dir[64];
    char path[128];
};

static int
setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/lj-usock.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof(fx->path), "%s/t.sock", fx->dir);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *fx = *state;

    unlink(fx->path);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* A listener at fx->path and one connected client: *l, *c (client), *s (server side). */
static void
pair(struct fx *fx, int *l, int *c, int *s)
{
    assert_int_equal(lj_usock_listen(fx->path, NULL, 4, l), LJ_OK);
    assert_int_equal(lj_usock_connect(fx->path, c), LJ_OK);
    assert_int_equal(lj_usock_accept(*l, 1000, s), LJ_OK);
}

static void
test_listen_mode_and_stale(void **state)
{
    struct fx *fx = *state;
    struct stat st;
    int l = -1, l2 = -1;

    assert_int_equal(lj_usock_listen(fx->path, NULL, 4, &l), LJ_OK);
    assert_int_equal(lstat(fx->path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    close(l); /* a stale socket file stays behind */
    assert_int_equal(lj_usock_listen(fx->path, "", 4, &l2), LJ_OK);
    lj_usock_unlisten(l2, fx->path);
    assert_int_not_equal(lstat(fx->path, &st), 0);
}

static void
test_listen_refusals(void **state)
{
    struct fx *fx = *state;
    FILE *f;
    int l = -1;

    assert_int_equal(lj_usock_listen("rel/t.sock", NULL, 4, &l), LJ_ERR_INVAL);
    assert_int_equal(lj_usock_listen(fx->path, "no-such-group-ljt", 4, &l), LJ_ERR_NOT_FOUND);
    f = fopen(fx->path, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(lj_usock_listen(fx->path, NULL, 4, &l), LJ_ERR_IO); /* not a socket */
    assert_int_equal(l, -1);
}

static void
test_listen_group(void **state)
{
    struct fx *fx = *state;
    struct stat st;
    gid_t g;
    int l = -1;

    /* root's group: every test machine has it, and the owner may give it */
    if (geteuid() != 0) {
        skip();
        return;
    }
    assert_true(lj_usock_group_gid("root", &g));
    assert_int_equal(lj_usock_listen(fx->path, "root", 4, &l), LJ_OK);
    assert_int_equal(lstat(fx->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0660);
    assert_int_equal(st.st_gid, g);
    lj_usock_unlisten(l, fx->path);
}

static void
test_accept_timeout(void **state)
{
    struct fx *fx = *state;
    int l = -1, c = 12345;

    assert_int_equal(lj_usock_listen(fx->path, NULL, 4, &l), LJ_OK);
    assert_int_equal(lj_usock_accept(l, 20, &c), LJ_ERR_TIMEOUT);
    assert_int_equal(c, 12345);
    lj_usock_unlisten(l, fx->path);
}

static void
test_connect_failures(void **state)
{
    struct fx *fx = *state;
    int c = -1, l = -1;

    assert_int_equal(lj_usock_connect(fx->path, &c), LJ_ERR_NOT_FOUND); /* nothing there */
    assert_int_equal(lj_usock_connect("t.sock", &c), LJ_ERR_INVAL);
    assert_int_equal(lj_usock_listen(fx->path, NULL, 4, &l), LJ_OK);
    close(l); /* the file is there, nobody listens */
    assert_int_equal(lj_usock_connect(fx->path, &c), LJ_ERR_NOT_FOUND);
}

static void
test_peer_is_us(void **state)
{
    struct fx *fx = *state;
    int l, c, s;
    uid_t u;
    gid_t g;

    pair(fx, &l, &c, &s);
    assert_int_equal(lj_usock_peer(s, &u, &g), LJ_OK);
    assert_int_equal(u, geteuid());
    assert_int_equal(g, getegid());
    assert_int_equal(lj_usock_peer(-1, &u, &g), LJ_ERR_IO);
    close(c);
    close(s);
    lj_usock_unlisten(l, fx->path);
}

static void
test_read_line(void **state)
{
    struct fx *fx = *state;
    char buf[16];
    size_t len = 99;
    int l, c, s;

    pair(fx, &l, &c, &s);
    /* nothing within the timeout */
    assert_int_equal(lj_usock_read_line(s, 20, buf, sizeof(buf), &len), LJ_ERR_TIMEOUT);
    /* one line, what follows it dropped and wiped */
    assert_int_equal(lj_usock_write_all(c, "abc\ndef", 7, 1000), LJ_OK);
    assert_int_equal(lj_usock_read_line(s, 1000, buf, sizeof(buf), &len), LJ_OK);
    assert_int_equal(len, 3);
    assert_string_equal(buf, "abc");
    assert_int_equal(buf[4], 0);
    close(c);
    close(s);
    lj_usock_unlisten(l, fx->path);
}

static void
test_read_line_too_long_and_cut(void **state)
{
    struct fx *fx = *state;
    char buf[8];
    size_t len = 0;
    int l, c, s;

    pair(fx, &l, &c, &s);
    /* 7 bytes (cap - 1) without a newline: too long */
    assert_int_equal(lj_usock_write_all(c, "1234567890\n", 11, 1000), LJ_OK);
    assert_int_equal(lj_usock_read_line(s, 1000, buf, sizeof(buf), &len), LJ_ERR_TOO_BIG);
    assert_int_equal(len, 7);
    close(c);
    close(s);
    /* the peer closes before the newline */
    assert_int_equal(lj_usock_connect(fx->path, &c), LJ_OK);
    assert_int_equal(lj_usock_accept(l, 1000, &s), LJ_OK);
    assert_int_equal(lj_usock_write_all(c, "ab", 2, 1000), LJ_OK);
    shutdown(c, SHUT_WR);
    assert_int_equal(lj_usock_read_line(s, 1000, buf, sizeof(buf), &len), LJ_ERR_PROTOCOL);
    assert_int_equal(len, 2);
    assert_string_equal(buf, "ab");
    close(c);
    close(s);
    lj_usock_unlisten(l, fx->path);
}

/* A peer that went away: the write fails instead of raising SIGPIPE. */
static void
test_write_to_gone_peer(void **state)
{
    struct fx *fx = *state;
    int l, c, s;

    pair(fx, &l, &c, &s);
    close(c);
    assert_int_equal(lj_usock_write_all(s, "x\n", 2, 1000), LJ_ERR_IO);
    close(s);
    lj_usock_unlisten(l, fx->path);
}

static void
test_user_in_group(void **state)
{
    (void)state;
    assert_true(lj_usock_user_in_group(0, "root")); /* root's primary group */
    assert_false(lj_usock_user_in_group(0, "no-such-group-ljt"));
    assert_false(lj_usock_user_in_group(4000000000u, "root")); /* no such user */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_listen_mode_and_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accept_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_is_us, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_line_too_long_and_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_to_gone_peer, setup, teardown),
        cmocka_unit_test(test_user_in_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
