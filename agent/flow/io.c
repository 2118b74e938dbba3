/*
 * io.c — the flow's contact with the outside: signals, UI waits (and the
 * HTTP client's cancel hook that polls the UI mid-transfer), the HTTP and
 * token-endpoint wrappers that record transport failures, the journal save,
 * and the retry bound shared by the join and the Intune enrollment.
 */
#include "agent/flow/flow_int.h"

#include <signal.h>
#include <string.h>
#include <stdlib.h>

#include "agent/state/marker.h"
#include "platform/common/elapsed.h"
#include "platform/common/log.h"

static volatile sig_atomic_t g_stop;

static void
on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

void
flow_signals_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: waits wake up and look at the flag */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void
flow_copy(char *dst, size_t dsz, const char *src)
{
    size_t n = src != NULL ? strnlen(src, dsz - 1) : 0;

    if (n > 0)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

bool
flow_signalled(void)
{
    return g_stop != 0;
}

void
lj_flow_signals_install(void)
{
    flow_signals_install();
}

bool
lj_flow_signalled(void)
{
    return flow_signalled();
}

bool
flow_stopping(const struct flow *f)
{
    return g_stop || f->inbox.cancel;
}

/* Take a UI message: cancel ends the run, others are kept for whoever waits. */
static void
ui_take(struct flow *f, struct lj_ui_msg *m)
{
    if (m->type == LJ_UI_MSG_CANCEL) {
        lj_log(LJ_LOG_INFO, MOD, "event=cancel_requested source=ui");
        f->inbox.cancel = true;
        lj_ui_msg_clear(m);
        return;
    }
    if (m->type == LJ_UI_MSG_RETRY) {
        lj_log(LJ_LOG_INFO, MOD, "event=retry_ignored reason=\"nothing to retry yet\"");
        lj_ui_error(f->ui, "not_expected",
                    "retry: the agent is still working; retry is taken after a result that "
                    "is not a success");
        lj_ui_msg_clear(m);
        return;
    }
    lj_ui_msg_clear(&f->inbox.pending);
    f->inbox.pending = *m;
    f->inbox.have_pending = true;
    memset(m, 0, sizeof(*m));
}

/* curl's progress hook: look at signals and the UI without waiting. */
bool
flow_http_cancelled(void *arg)
{
    struct flow *f = arg;
    struct lj_ui_msg m;

    memset(&m, 0, sizeof(m));
    if (!flow_stopping(f) && f->ui != NULL && lj_ui_poll(f->ui, 0, &m) == LJ_OK)
        ui_take(f, &m);
    return flow_stopping(f);
}

/*
 * Wait up to ms for the UI, signals and (when want_msg) a message of type
 * want.  LJ_OK with *msg filled (caller clears) when that message came,
 * LJ_ERR_TIMEOUT when the time ran out, LJ_ERR_CANCELLED on cancel.
 */
enum lj_rc
flow_ui_wait(struct flow *f, long long ms, bool want_msg, enum lj_ui_msg_type want,
             struct lj_ui_msg *msg)
{
    long long end = lj_mono_ms() + ms;

    for (;;) {
        struct lj_ui_msg m;
        long long left;
        enum lj_rc rc;

        if (flow_stopping(f))
            return LJ_ERR_CANCELLED;
        if (f->inbox.have_pending) {
            if (want_msg && f->inbox.pending.type == want) {
                *msg = f->inbox.pending;
                memset(&f->inbox.pending, 0, sizeof(f->inbox.pending));
                f->inbox.have_pending = false;
                return LJ_OK;
            }
            lj_log(LJ_LOG_INFO, MOD, "event=message_ignored type=%d reason=\"not asked for\"",
                   (int)f->inbox.pending.type);
            lj_ui_msg_clear(&f->inbox.pending);
            f->inbox.have_pending = false;
        }
        left = end - lj_mono_ms();
        if (left <= 0)
            return LJ_ERR_TIMEOUT;
        memset(&m, 0, sizeof(m));
        rc = lj_ui_poll(f->ui, left < UI_SLICE_MS ? (int)left : UI_SLICE_MS, &m);
        if (rc == LJ_OK)
            ui_take(f, &m);
        else if (rc != LJ_ERR_TIMEOUT)
            return rc;
    }
}

/*
 * One request; a transport failure is recorded (naming the host) and
 * returned.  LJ_OK means an HTTP answer of any status is in *resp.
 */
enum lj_rc
flow_http(struct flow *f, enum lj_phase phase, const char *url, const char *ctype, const char *body,
          const char *bearer, struct lj_http_response *resp)
{
    struct lj_http_request req;

    memset(&req, 0, sizeof(req));
    req.url = url;
    req.body = body;
    req.body_len = body != NULL ? strlen(body) : 0;
    req.content_type = ctype;
    req.bearer = bearer;
    return flow_http_req(f, phase, &req, resp);
}

enum lj_rc
flow_http_req(struct flow *f, enum lj_phase phase, const struct lj_http_request *req,
              struct lj_http_response *resp)
{
    enum lj_rc rc = lj_http_do(f->http, req, resp);

    if (rc != LJ_OK)
        return flow_fail_net(f, phase, rc, req->url, resp->error);
    return LJ_OK;
}

/* POST a form to the token endpoint (during phase). */
enum lj_rc
flow_token_post(struct flow *f, enum lj_phase phase, const char *form,
                struct lj_http_response *resp)
{
    char *url = NULL;
    enum lj_rc rc;

    rc = oauth_endpoint_url(&f->op, OAUTH_EP_TOKEN, &url);
    if (rc != LJ_OK)
        return rc;
    rc = flow_http(f, phase, url, "application/x-www-form-urlencoded", form, NULL, resp);
    free(url);
    return rc;
}

/*
 * Save the journal, then make the systemd marker files follow its state
 * (the marker is not touched when the journal could not be saved).  A
 * failure is recorded under the caller's phase unless one is recorded
 * already.  The state directory only returns local rcs here (invalid path,
 * I/O, memory), which lj_classify_rc names internal.
 */
static enum lj_rc
journal_save(struct flow *f, enum lj_phase phase, bool durable)
{
    enum lj_rc rc = durable ? lj_journal_save(f->cfg->state_dir, &f->j)
                            : lj_journal_save_volatile(f->cfg->state_dir, &f->j);

    if (rc == LJ_OK)
        rc = lj_marker_sync(f->cfg->state_dir, f->j.state);
    if (rc != LJ_OK)
        flow_fail_rc(f, phase, rc);
    return rc;
}

enum lj_rc
flow_journal_save(struct flow *f, enum lj_phase phase)
{
    return journal_save(f, phase, true);
}

enum lj_rc
flow_journal_note(struct flow *f, enum lj_phase phase)
{
    return journal_save(f, phase, false);
}

long
flow_retry_wait(int attempt, long retry_after, long waited_s, int max_attempts, long budget_s)
{
    long w;

    if (attempt >= max_attempts)
        return -1;
    w = retry_after >= 0 ? retry_after : (long)LJ_FLOW_RETRY_DEFAULT_S << (attempt - 1);
    if (w > budget_s - waited_s)
        return -1;
    return w;
}
