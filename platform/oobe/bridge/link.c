/*
 * link.c — the agent's UI socket on one side, the page's event stream on the other.
 *
 * Design note: one thread owns the socket and reads it with poll(2) beside
 * a wake pipe (a page attached, or stop); HTTP threads only write to it
 * (oobe_link_send) under the write lock, which the thread also takes to
 * close or replace the descriptor.  Lines become SSE messages in a queue
 * for the current page, bounded by OOBE_LINK_MAX_QUEUED; a page that does
 * not read loses its stream (EventSource reconnects, and the agent's
 * replay brings it back up to date).  "connected" is said on the first
 * line of a connection, not on connect(2): the agent closes a second
 * client at once, and a socket-activated agent takes a moment to start.
 * An agent that speaks protocol 1 answers our hello with an unknown_type
 * error; that one answer is not relayed.
 */
#include "platform/oobe/bridge/link.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "platform/common/log.h"
#include "platform/common/secmem.h"
#include "platform/oobe/bridge/gate.h"
#include "platform/oobe/bridge/qrsvg.h"

#define MOD "oobe"

struct chunk {
    struct chunk *next;
    size_t len;
    char data[];
};

enum shown { SHOWN_NONE = 0, SHOWN_UP, SHOWN_DOWN };

enum served { SERVED_LOST = 0, SERVED_RECONNECT, SERVED_STOP };

struct oobe_link {
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    pthread_t thread;
    bool started;
    int wake_r, wake_w;

    pthread_mutex_t mu; /* everything below up to wmu */
    pthread_cond_t cv;  /* a chunk, a new page, stop */
    bool stopping;
    bool reconnect; /* a page attached: reconnect with its locale */
    char locale[OOBE_LOCALE_MAX + 1];
    uint64_t next_id;
    uint64_t page; /* current page, 0 = none */
    struct chunk *head, *tail;
    size_t queued;
    bool overrun;
    enum shown shown;
    char *qr_url;

    pthread_mutex_t wmu; /* fd and up */
    int fd;
    atomic_bool up; /* the agent has sent a line on this connection */

    /* the thread's own */
    char *buf;
    size_t len;
    bool discarding;
    bool v2; /* this connection's agent answered hello with protocol >= 2 */
};

static void
queue_clear(struct oobe_link *l)
{
    struct chunk *c = l->head;

    while (c != NULL) {
        struct chunk *n = c->next;
        free(c);
        c = n;
    }
    l->head = l->tail = NULL;
    l->queued = 0;
}

/* Queue "data: TEXT\n\n" for the current page (caller holds mu). */
static void
push_locked(struct oobe_link *l, const char *text, size_t len)
{
    struct chunk *c;
    size_t n = len + strlen("data: \n\n");

    if (l->page == 0 || l->overrun)
        return;
    if (l->queued + n > OOBE_LINK_MAX_QUEUED) {
        lj_log(LJ_LOG_WARN, MOD, "event=page_overrun queued=%zu", l->queued);
        queue_clear(l);
        l->overrun = true;
        pthread_cond_broadcast(&l->cv);
        return;
    }
    c = malloc(sizeof(*c) + n);
    if (c == NULL)
        return;
    c->next = NULL;
    c->len = n;
    memcpy(c->data, "data: ", 6);
    memcpy(c->data + 6, text, len);
    memcpy(c->data + 6 + len, "\n\n", 2);
    if (l->tail != NULL)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    l->queued += n;
    pthread_cond_broadcast(&l->cv);
}

static void
push_bridge_locked(struct oobe_link *l, bool up)
{
    static const char on[] = "{\"type\":\"bridge\",\"agent\":\"connected\"}";
    static const char off[] = "{\"type\":\"bridge\",\"agent\":\"disconnected\"}";
    enum shown want = up ? SHOWN_UP : SHOWN_DOWN;

    if (l->page == 0 || l->shown == want)
        return;
    l->shown = want;
    if (up)
        push_locked(l, on, sizeof(on) - 1);
    else
        push_locked(l, off, sizeof(off) - 1);
}

static void
wake(struct oobe_link *l)
{
    char b = 1;

    if (write(l->wake_w, &b, 1) < 0 && errno != EAGAIN)
        lj_log(LJ_LOG_WARN, MOD, "event=wake_failed errno=%s", strerror(errno));
}

static void
drain_wake(struct oobe_link *l)
{
    char b[64];

    while (read(l->wake_r, b, sizeof(b)) > 0)
        ;
}

/* Write all of buf to fd within the write timeout (caller holds wmu). */
static enum lj_rc
write_all(int fd, const char *buf, size_t len)
{
    struct timespec start, now;
    size_t off = 0;

    clock_gettime(CLOCK_MONOTONIC, &start);
    while (off < len) {
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        long ms;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return LJ_ERR_IO;
        clock_gettime(CLOCK_MONOTONIC, &now);
        ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (ms >= OOBE_LINK_WRITE_TIMEOUT_MS)
            return LJ_ERR_TIMEOUT;
        if (poll(&p, 1, (int)(OOBE_LINK_WRITE_TIMEOUT_MS - ms)) < 0 && errno != EINTR)
            return LJ_ERR_IO;
    }
    return LJ_OK;
}

static int
connect_agent(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Is s a URL fit for a QR code: http(s), printable ASCII, bounded? */
static bool
url_ok(const char *s)
{
    size_t n;

    if (s == NULL || (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0))
        return false;
    n = strnlen(s, OOBE_QR_MAX_TEXT + 1);
    if (n > OOBE_QR_MAX_TEXT)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return true;
}

static const char *
str_member(const cJSON *o, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(m) ? m->valuestring : NULL;
}

/*
 * What a line means to the bridge itself: the open device-code prompt
 * (for /qr.svg), the agent's protocol, and the one answer to our hello a
 * protocol 1 agent gives.  Returns false when the line is not relayed.
 * Caller holds mu.
 */
static bool
note_line_locked(struct oobe_link *l, const char *line, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(line, len);
    const char *type, *s;
    bool relay = true;

    if (j == NULL || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return true;
    }
    type = str_member(j, "type");
    if (type == NULL) {
        /* relayed as is */
    } else if (strcmp(type, "prompt") == 0) {
        free(l->qr_url);
        l->qr_url = NULL;
        s = str_member(j, "kind");
        if (s != NULL && strcmp(s, "device_code") == 0) {
            const char *u = str_member(j, "verification_uri_complete");
            if (!url_ok(u))
                u = str_member(j, "verification_uri");
            if (url_ok(u))
                l->qr_url = strdup(u);
        }
    } else if (strcmp(type, "hello") == 0) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "protocol");
        free(l->qr_url);
        l->qr_url = NULL;
        if (cJSON_IsNumber(p) && p->valuedouble >= 2)
            l->v2 = true;
    } else if (strcmp(type, "prompt_closed") == 0 || strcmp(type, "result") == 0 ||
               strcmp(type, "leaving") == 0) {
        free(l->qr_url);
        l->qr_url = NULL;
    } else if (strcmp(type, "error") == 0 && !l->v2) {
        s = str_member(j, "error");
        const char *msg = str_member(j, "message");
        if (s != NULL && strcmp(s, "unknown_type") == 0 && msg != NULL &&
            strcmp(msg, "unknown message type 'hello'") == 0) {
            lj_log(LJ_LOG_INFO, MOD, "event=agent_protocol version=1");
            relay = false;
        }
    }
    cJSON_Delete(j);
    return relay;
}

static void
handle_line(struct oobe_link *l, char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)line[i] < 0x20) {
            lj_log(LJ_LOG_WARN, MOD, "event=agent_line_dropped reason=control_character");
            return;
        }
    }
    if (len == 0)
        return;
    pthread_mutex_lock(&l->mu);
    if (!l->reconnect && !l->stopping) {
        if (!atomic_load(&l->up)) {
            atomic_store(&l->up, true);
            lj_log(LJ_LOG_INFO, MOD, "event=agent_connected");
        }
        push_bridge_locked(l, true);
        if (note_line_locked(l, line, len))
            push_locked(l, line, len);
    }
    pthread_mutex_unlock(&l->mu);
}

/* Read what the agent sent; false on EOF or error. */
static bool
read_agent(struct oobe_link *l, int fd)
{
    ssize_t got = read(fd, l->buf + l->len, OOBE_LINK_MAX_LINE + 1 - l->len);
    char *nl;

    if (got < 0 && (errno == EAGAIN || errno == EINTR))
        return true;
    if (got <= 0)
        return false;
    l->len += (size_t)got;
    while ((nl = memchr(l->buf, '\n', l->len)) != NULL) {
        size_t n = (size_t)(nl - l->buf);
        if (l->discarding)
            l->discarding = false;
        else
            handle_line(l, l->buf, n);
        memmove(l->buf, nl + 1, l->len - n - 1);
        l->len -= n + 1;
    }
    if (l->len > OOBE_LINK_MAX_LINE) {
        if (!l->discarding)
            lj_log(LJ_LOG_WARN, MOD, "event=agent_line_dropped reason=too_long max=%d",
                   OOBE_LINK_MAX_LINE);
        l->discarding = true;
        l->len = 0;
    }
    return true;
}

/* Serve one connection until it ends, a page attaches, or stop. */
static enum served
serve(struct oobe_link *l, int fd)
{
    for (;;) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = l->wake_r, .events = POLLIN}};
        int r = poll(p, 2, -1);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return SERVED_LOST;
        if (p[1].revents & POLLIN) {
            bool stop, re;
            drain_wake(l);
            pthread_mutex_lock(&l->mu);
            stop = l->stopping;
            re = l->reconnect;
            pthread_mutex_unlock(&l->mu);
            if (stop)
                return SERVED_STOP;
            if (re)
                return SERVED_RECONNECT;
        }
        if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !read_agent(l, fd))
            return SERVED_LOST;
    }
}

/* Wait ms (or until woken); true when stopping. */
static bool
pause_ms(struct oobe_link *l, int ms)
{
    struct pollfd p = {.fd = l->wake_r, .events = POLLIN};
    bool stop;

    if (ms > 0 && poll(&p, 1, ms) > 0)
        drain_wake(l);
    pthread_mutex_lock(&l->mu);
    stop = l->stopping;
    pthread_mutex_unlock(&l->mu);
    return stop;
}

static void
set_fd(struct oobe_link *l, int fd)
{
    pthread_mutex_lock(&l->wmu);
    if (l->fd >= 0)
        close(l->fd);
    l->fd = fd;
    atomic_store(&l->up, false);
    pthread_mutex_unlock(&l->wmu);
}

static void
went_down(struct oobe_link *l, bool was_up)
{
    pthread_mutex_lock(&l->mu);
    free(l->qr_url);
    l->qr_url = NULL;
    if (!l->reconnect)
        push_bridge_locked(l, false);
    pthread_mutex_unlock(&l->mu);
    if (was_up)
        lj_log(LJ_LOG_INFO, MOD, "event=agent_disconnected");
}

static void *
link_thread(void *arg)
{
    struct oobe_link *l = arg;
    int backoff = 0;
    bool logged_absent = false, after_attach = false;

    for (;;) {
        char hello[160];
        int fd, n;
        enum served how;
        bool was_up;

        if (pause_ms(l, backoff))
            break;
        pthread_mutex_lock(&l->mu);
        l->reconnect = false;
        n = snprintf(hello, sizeof(hello),
                     "{\"type\":\"hello\",\"protocol\":2,\"locale\":\"%s\","
                     "\"features\":[\"notice\",\"prompt_closed\"]}\n",
                     l->locale);
        pthread_mutex_unlock(&l->mu);
        fd = connect_agent(l->path);
        if (fd < 0) {
            if (!logged_absent)
                lj_log(LJ_LOG_INFO, MOD, "event=agent_absent errno=%s", strerror(errno));
            logged_absent = true;
            after_attach = false;
            went_down(l, false);
            backoff = backoff < OOBE_LINK_BACKOFF_MIN_MS ? OOBE_LINK_BACKOFF_MIN_MS : backoff * 2;
            if (backoff > OOBE_LINK_BACKOFF_MAX_MS)
                backoff = OOBE_LINK_BACKOFF_MAX_MS;
            continue;
        }
        logged_absent = false;
        l->v2 = false;
        l->len = 0;
        l->discarding = false;
        set_fd(l, fd);
        pthread_mutex_lock(&l->wmu);
        if (write_all(fd, hello, (size_t)n) != LJ_OK)
            lj_log(LJ_LOG_INFO, MOD, "event=hello_not_sent");
        pthread_mutex_unlock(&l->wmu);
        how = serve(l, fd);
        was_up = atomic_load(&l->up);
        set_fd(l, -1);
        lj_secure_zero(l->buf, l->len);
        l->len = 0;
        if (how == SERVED_STOP)
            break;
        if (how == SERVED_RECONNECT) {
            backoff = 0;
            after_attach = true;
            pthread_mutex_lock(&l->mu);
            free(l->qr_url);
            l->qr_url = NULL;
            pthread_mutex_unlock(&l->mu);
            continue;
        }
        if (!was_up && after_attach) {
            /*
             * Closed before a word, right after a page attached: the agent
             * refused us as a second client while it had not yet read the
             * end of our previous connection (platform/ui_chan.c keeps a
             * client with unread input).  Once more, without telling the page.
             */
            after_attach = false;
            backoff = OOBE_LINK_BACKOFF_MIN_MS;
            continue;
        }
        after_attach = false;
        went_down(l, was_up);
        backoff =
            was_up ? OOBE_LINK_BACKOFF_MIN_MS
                   : (backoff < OOBE_LINK_BACKOFF_MIN_MS ? OOBE_LINK_BACKOFF_MIN_MS : backoff * 2);
        if (backoff > OOBE_LINK_BACKOFF_MAX_MS)
            backoff = OOBE_LINK_BACKOFF_MAX_MS;
    }
    return NULL;
}

enum lj_rc
oobe_link_start(const char *path, struct oobe_link **out)
{
    struct oobe_link *l;
    pthread_condattr_t ca;
    int p[2];

    if (path == NULL || path[0] != '/' ||
        strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return lj_err_set(LJ_ERR_INVAL, MOD, "event=bad_ui_socket reason=not_absolute_or_too_long");
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return LJ_ERR_NOMEM;
    l->buf = malloc(OOBE_LINK_MAX_LINE + 1);
    if (l->buf == NULL || pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
        free(l->buf);
        free(l);
        return lj_err_set(LJ_ERR_IO, MOD, "event=link_start_failed");
    }
    l->wake_r = p[0];
    l->wake_w = p[1];
    l->fd = -1;
    snprintf(l->path, sizeof(l->path), "%s", path);
    snprintf(l->locale, sizeof(l->locale), "en");
    pthread_mutex_init(&l->mu, NULL);
    pthread_mutex_init(&l->wmu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&l->thread, NULL, link_thread, l) != 0) {
        oobe_link_free(l);
        return lj_err_set(LJ_ERR_IO, MOD, "event=link_start_failed reason=thread");
    }
    l->started = true;
    *out = l;
    return LJ_OK;
}

void
oobe_link_stop(struct oobe_link *l)
{
    if (l == NULL)
        return;
    pthread_mutex_lock(&l->mu);
    l->stopping = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    wake(l);
    if (l->started)
        pthread_join(l->thread, NULL);
    l->started = false;
    set_fd(l, -1);
}

void
oobe_link_free(struct oobe_link *l)
{
    if (l == NULL)
        return;
    oobe_link_stop(l);
    queue_clear(l);
    free(l->qr_url);
    if (l->buf != NULL)
        lj_secure_free(l->buf, OOBE_LINK_MAX_LINE + 1);
    close(l->wake_r);
    close(l->wake_w);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    pthread_mutex_destroy(&l->wmu);
    free(l);
}

uint64_t
oobe_link_attach(struct oobe_link *l, const char *locale)
{
    uint64_t id;

    pthread_mutex_lock(&l->mu);
    id = ++l->next_id;
    l->page = id;
    queue_clear(l);
    l->overrun = false;
    l->shown = SHOWN_NONE;
    l->reconnect = true;
    snprintf(l->locale, sizeof(l->locale), "%s", locale);
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    wake(l);
    return id;
}

enum oobe_next
oobe_link_next(struct oobe_link *l, uint64_t id, int timeout_ms, char **chunk, size_t *len)
{
    struct timespec dl;
    enum oobe_next res = OOBE_NEXT_IDLE;

    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&l->mu);
    for (;;) {
        if (l->stopping || l->page != id || l->overrun) {
            res = OOBE_NEXT_END;
            break;
        }
        if (l->head != NULL) {
            struct chunk *c = l->head;
            char *d = malloc(c->len);
            if (d == NULL) {
                res = OOBE_NEXT_END;
                break;
            }
            memcpy(d, c->data, c->len);
            *chunk = d;
            *len = c->len;
            l->head = c->next;
            if (l->head == NULL)
                l->tail = NULL;
            l->queued -= c->len;
            free(c);
            res = OOBE_NEXT_DATA;
            break;
        }
        if (pthread_cond_timedwait(&l->cv, &l->mu, &dl) == ETIMEDOUT) {
            res = OOBE_NEXT_IDLE;
            break;
        }
    }
    pthread_mutex_unlock(&l->mu);
    return res;
}

void
oobe_link_detach(struct oobe_link *l, uint64_t id)
{
    pthread_mutex_lock(&l->mu);
    if (l->page == id) {
        l->page = 0;
        queue_clear(l);
    }
    pthread_mutex_unlock(&l->mu);
}

enum lj_rc
oobe_link_send(struct oobe_link *l, const char *line, size_t len)
{
    enum lj_rc rc;

    pthread_mutex_lock(&l->wmu);
    if (l->fd < 0 || !atomic_load(&l->up)) {
        pthread_mutex_unlock(&l->wmu);
        return LJ_ERR_NOT_FOUND;
    }
    rc = write_all(l->fd, line, len);
    if (rc != LJ_OK) {
        /* the thread sees the end of the connection and makes a new one */
        shutdown(l->fd, SHUT_RDWR);
        lj_log(LJ_LOG_WARN, MOD, "event=agent_write_failed rc=%s", lj_rc_name(rc));
    }
    pthread_mutex_unlock(&l->wmu);
    return rc;
}

char *
oobe_link_qr_url(struct oobe_link *l)
{
    char *u = NULL;

    pthread_mutex_lock(&l->mu);
    if (l->qr_url != NULL)
        u = strdup(l->qr_url);
    pthread_mutex_unlock(&l->mu);
    return u;
}
