/*
 * ui_proto.h — the OOBE UI protocol: JSON Lines events, agent <-> UI.
 * README.md ("OOBE UI protocol") documents every member; in short:
 *
 * Agent -> UI (one JSON object per line, "type" first):
 *   {"type":"hello","protocol":1,"agent":"linkjoin 0.1.0",
 *    "device":{"manufacturer":"..","model":"..","serial":"..","os_name":"..","os_version":".."}}
 *     (to a client that said hello with protocol 2: "protocol":2,"locale":"de")
 *   {"type":"progress","phase":"signin","step":"Waiting for sign-in","percent":20,
 *    "step_id":"signin.wait","message_id":"step.signin.wait","args":{},"index":3,"count":13,
 *    "waiting_for":"person"}
 *   {"type":"prompt","kind":"device_code","user_code":"53W6SC8PB",
 *    "verification_uri":"https://microsoft.com/devicelogin","expires_at":"2026-11-26T17:45:00Z",
 *    "expires_in":900,"interval":5,"verification_uri_complete":"https://..",
 *    "server_message":"To sign in, use a web browser ..","message_id":
 *    "prompt.device_code.instructions","args":{"url":"..","code":".."},"text":".."}
 *   {"type":"prompt","kind":"credentials","username":"alice@contoso.com","message":"..",
 *    "message_id":"prompt.credentials.password","args":{}}
 *   {"type":"prompt","kind":"browser","authorize_url":"https://..","redirect_uri":"ms-aadj-redir://auth/drs",
 *    "message_id":"prompt.browser.instructions","args":{},"text":".."}
 *   {"type":"result","status":"joined","device_id":"..","tenant_name":"..","upn":"..",
 *    "device":{..},"time":"..","setup_complete":true,
 *    "mdm":{"state":"enrolled","server_url":"https://..","cert_thumbprint":".."},
 *    "next_action":{"action":"none"},"support":{"serial":"..","upn":"..","time":"..","device_id":".."}}
 *   {"type":"result","status":"failed","upn":"..","device":{"serial":"..","manufacturer":"..",
 *    "model":".."},"time":"2026-12-03T08:04:05Z","phase":"join","reason":"join_not_permitted",
 *    "code":"0x801c0003","fix_by":"admin","message":"..","message_id":"reason.join_not_permitted",
 *    "args":{"upn":".."},"admin_action":"..","admin_action_id":"admin.join_not_permitted",
 *    "admin_args":{..},"retryable":false,"server":{"http_status":403,"error_type":"..",
 *    "error_code":"..","message":"..","request_id":"..","trace_id":"..","correlation_id":"..",
 *    "time":"2026-12-03T08:04:04Z","time_raw":"12-03-2026 8:04:04Z"},
 *    "next_action":{"action":"contact_admin"},"retry_until":"2026-12-03T08:19:05Z",
 *    "support":{"serial":"..","upn":"..","time":"..","code":"..","server_code":"..",
 *               "request_id":"..","correlation_id":".."}}
 *     (status: joined | joined_mdm_pending | failed | already_joined | cancelled;
 *     joined / joined_mdm_pending carry the failure members when Intune did not
 *     finish; next_action.action: retry_now | retry_later (+ "seconds") |
 *     contact_admin | restart_device | none; retry_until only while the agent
 *     accepts `retry`)
 *   {"type":"error","error":"missing_field","message":"credentials: missing field 'password'"}
 * Only to clients that said hello with protocol 2:
 *   {"type":"notice","notice_id":"service_busy","message_id":"notice.service_busy",
 *    "args":{"seconds":30},"text":"..","retry_in":30}
 *   {"type":"prompt_closed","kind":"device_code","why":"answered"|"expired"|"cancelled"}
 *   {"type":"leaving","why":"done"|"retry_window_closed"|"cancelled"|"signal",
 *    "exit_code":2,"message_id":"leaving.retry_window_closed","text":".."}
 * Every text a person reads has "message_id" (agent/ui/messages.h) and
 * "args" beside it, rendered in the client's locale (English until the
 * client's hello names another).  Members are only ever added: a v1 client
 * (one that never says hello) gets the events it always got.
 * UI -> agent:
 *   {"type":"hello","protocol":2,"locale":"de-DE","features":["notice","prompt_closed"]}
 *   {"type":"credentials","username":"..","password":".."}   (password: secret, wiped after use)
 *   {"type":"auth_code","code":"..","state":".."}            (code: secret)
 *   {"type":"cancel"}   {"type":"retry"}
 * Lines over 64 KiB, malformed JSON, unknown types and missing or mistyped
 * fields get an "error" event (error = line_too_long | bad_json |
 * unknown_type | missing_field | bad_field) and are otherwise ignored.
 * A valid message that nothing is waiting for (retry while the agent is
 * still working; credentials while it waits for retry) gets error
 * not_expected.
 * Retry: after a result that is not a success, a socket or stdio UI may
 * send `retry` until retry_until (config retry_wait, default 900 s): the
 * agent runs the whole flow again in the same process (progress "Trying
 * again", new prompts, a new result).  `cancel` then ends it with exit 9;
 * no message within the window, SIGTERM, or stdin closing ends it with the
 * failure's exit code.  `leaving` is the last line before the agent exits.
 * Unknown extra members are ignored (forward compatibility).
 *
 * With --ui tty the same events are rendered as text in the configured
 * locale (config `locale`) for serial consoles; input is not read in tty
 * mode.
 *
 * A prompt is dropped from the kept state as soon as it is answered
 * (expired, cancelled).  A socket client that connects late (or reconnects),
 * and a client that says hello, is sent the current state again: hello,
 * the open prompt (if any), the last progress, the last result.
 */
#ifndef LJ_AGENT_UI_PROTO_H
#define LJ_AGENT_UI_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/core/config.h"
#include "agent/core/errors.h"
#include "platform/identity.h"
#include "platform/common/result.h"

#define LJ_UI_PROTOCOL_VERSION 1 /* what a client that never says hello gets */
#define LJ_UI_PROTOCOL_MAX 2     /* the newest protocol the agent speaks */

/* How often the mdm-retry timer runs (platform/dist/linkjoin-mdm-retry.timer). */
#define LJ_UI_MDM_RETRY_S 1800

enum lj_ui_status {
    LJ_UI_JOINED = 0,
    LJ_UI_JOINED_MDM_PENDING = 1,
    LJ_UI_FAILED = 2,
    LJ_UI_ALREADY_JOINED = 3,
    LJ_UI_CANCELLED = 4,
};

/* The final result. Strings may be NULL or "" (omitted). */
struct lj_ui_result {
    enum lj_ui_status status;
    const char *device_id; /* success / already joined */
    const char *tenant_name;
    const char *upn;
    /* Intune: mdm_state NULL = no "mdm" object; "enrolled" | "pending" | "failed" */
    const char *mdm_state;
    const char *mdm_server_url;
    const char *mdm_cert_thumbprint;
    /*
     * joined / joined_mdm_pending: is setup finished?  false while Intune
     * enrollment is pending, or was refused with mdm = required.  Sent as
     * "setup_complete" on those two statuses.
     */
    bool setup_complete;
    /*
     * failure (status failed; also joined / joined_mdm_pending when error is
     * set: why the device is not managed); message also used for cancelled
     */
    const char *fix_by;  /* user | admin | retry | hardware | support */
    const char *message; /* one sentence for the person at the device */
    const char *admin_action;
    bool retryable;
    const struct lj_error_record *error; /* phase, reason, code, server part; NULL = none */
    /*
     * The catalog ids of message and admin_action ("reason.<key>",
     * "admin.<key>", "result.already_joined.message"; NULL = none) and the
     * values of their placeholders (NULL = none): the event's args and
     * admin_args, so a UI in another locale renders the same sentence.
     */
    const char *message_id;
    const char *admin_action_id;
    const struct lj_error_params *params;
    /*
     * Seconds the agent accepts `retry` after this result (0 = it will
     * not): retry_until is sent when > 0 and the UI can still send.
     */
    int retry_window;
};

enum lj_ui_msg_type {
    LJ_UI_MSG_CREDENTIALS = 0,
    LJ_UI_MSG_AUTH_CODE = 1,
    LJ_UI_MSG_CANCEL = 2,
    LJ_UI_MSG_RETRY = 3,
    LJ_UI_MSG_HELLO = 4, /* answered inside lj_ui_poll; never returned by it */
};

/* A message from the UI.  Owned strings; free with lj_ui_msg_clear (wipes secrets). */
struct lj_ui_msg {
    enum lj_ui_msg_type type;
    char *username; /* credentials */
    char *password; /* credentials (secret) */
    char *code;     /* auth_code (secret) */
    char *state;    /* auth_code */
    int protocol;   /* hello: 1.. (capped at LJ_UI_PROTOCOL_MAX) */
    char *locale;   /* hello: the tag as sent; NULL = none */
};

#define LJ_UI_MAX_USERNAME 256
#define LJ_UI_MAX_PASSWORD 1024
#define LJ_UI_MAX_CODE 4096
#define LJ_UI_MAX_STATE 512
#define LJ_UI_MAX_LOCALE 35

/* A device code prompt (RFC 8628 3.2).  Optional strings may be NULL. */
struct lj_ui_device_code {
    const char *user_code;
    const char *verification_uri;
    const char *verification_uri_complete; /* only when the server gave one */
    const char *server_message;            /* the server's "message", as sent */
    int64_t expires_at;                    /* Unix seconds */
    long interval;                         /* seconds between the agent's polls */
};

struct lj_ui;

/*
 * Open the UI named by cfg (ui, ui_socket): socket listens at ui_socket,
 * stdio uses fds 0/1, tty writes text to fd 1.  *out freed by lj_ui_free.
 */
enum lj_rc lj_ui_open(const struct lj_config *cfg, struct lj_ui **out);

/* Same over given fds (tests; in_fd -1 = no input).  Fds stay the caller's. */
enum lj_rc lj_ui_open_fds(enum lj_ui_kind kind, int in_fd, int out_fd, struct lj_ui **out);

/* Close and free (NULL fine): unlinks the socket, wipes kept state. */
void lj_ui_free(struct lj_ui *ui);

/*
 * The locale (BCP 47 tag) the tty renders in (config `locale`; default
 * en).  No effect on socket and stdio: a JSON client gets English until its
 * own hello names a locale.
 */
void lj_ui_set_locale(struct lj_ui *ui, const char *tag);

/*
 * Agent -> UI events.  Each writes one line (JSON) or text block (tty).
 * They return LJ_OK even when no UI is connected (state is kept and resent
 * on connect); LJ_ERR_IO only when a stdio/tty output fails; LJ_ERR_NOMEM.
 */
enum lj_rc lj_ui_hello(struct lj_ui *ui, const struct lj_identity *id);
/*
 * step_id: a catalog id "step.<phase>.<name>" (agent/ui/messages.h): phase,
 * text, index, count and waiting_for come from the catalog.  An unknown id
 * is LJ_ERR_INVAL (nothing sent).
 */
enum lj_rc lj_ui_progress(struct lj_ui *ui, const char *step_id, int percent);
enum lj_rc lj_ui_prompt_device_code(struct lj_ui *ui, const struct lj_ui_device_code *dc);
/* message_id: a prompt.credentials.* id or NULL. */
enum lj_rc lj_ui_prompt_credentials(struct lj_ui *ui, const char *username, const char *message_id);
enum lj_rc lj_ui_prompt_browser(struct lj_ui *ui, const char *authorize_url,
                                const char *redirect_uri);
/*
 * The open prompt is over (why: "answered" | "expired" | "cancelled"): it
 * is dropped from the kept state and protocol-2 clients get prompt_closed.
 * Nothing happens when no prompt is open.
 */
enum lj_rc lj_ui_prompt_closed(struct lj_ui *ui, const char *why);
/*
 * A result.  A prompt still open is closed first (prompt_closed
 * "cancelled": the agent stopped waiting for it).
 */
enum lj_rc lj_ui_result(struct lj_ui *ui, const struct lj_ui_result *res);
/*
 * A notice (name: "service_busy", "recover_resume", ...: id notice.<name>)
 * to protocol-2 clients; seconds >= 0 adds args.seconds and retry_in.
 * v1_phase non-NULL: clients that did not say hello (and the tty) get the
 * same text as a progress event of that phase and percent instead, as v1
 * always did.  Notices are not kept for clients that connect later.
 */
enum lj_rc lj_ui_notice(struct lj_ui *ui, const char *name, long seconds, const char *v1_phase,
                        int v1_percent);
/*
 * The last event before the agent exits (why: "done" |
 * "retry_window_closed" | "cancelled" | "signal"), to protocol-2 clients
 * and the tty.
 */
enum lj_rc lj_ui_leaving(struct lj_ui *ui, const char *why, int exit_code);
/* error: slug (line_too_long, bad_json, ...) and a message naming the problem. */
enum lj_rc lj_ui_error(struct lj_ui *ui, const char *error, const char *message);

/*
 * Wait up to timeout_ms for one valid message from the UI.  LJ_OK: *msg is
 * filled (caller calls lj_ui_msg_clear).  LJ_ERR_TIMEOUT: nothing valid
 * arrived (bad lines were answered with an error event; a new socket
 * client was sent the current state).  LJ_ERR_IO on channel failure.
 * Never blocks past timeout_ms (0 = just look).
 */
enum lj_rc lj_ui_poll(struct lj_ui *ui, int timeout_ms, struct lj_ui_msg *msg);

/*
 * Can the UI still send anything?  false for tty (input is not read) and
 * for stdio once stdin is closed; true for a socket (a UI may reconnect).
 */
bool lj_ui_can_receive(const struct lj_ui *ui);

/*
 * A new attempt starts (retry): forget the last prompt and result, so a UI
 * that reconnects is not shown the previous attempt's ones again.
 */
void lj_ui_new_attempt(struct lj_ui *ui);

/*
 * Parse one UI line (pure; used by lj_ui_poll).  LJ_OK fills *msg.  On
 * error returns LJ_ERR_PARSE and writes the error slug (err, size esz) and
 * a message (problem, size psz) for the error event.  Secrets in the
 * intermediate parse tree are wiped before it is freed.
 */
enum lj_rc lj_ui_parse_msg(const char *line, size_t len, struct lj_ui_msg *msg, char *err,
                           size_t esz, char *problem, size_t psz);

/* Free a message's strings, wiping password and code. Resets *msg. */
void lj_ui_msg_clear(struct lj_ui_msg *msg);

/*
 * Render one agent->UI event line (JSON) as tty text in locale (a tag;
 * NULL = en): texts from message_id + args through the catalog (the
 * event's own text when it has no known id), values from servers and
 * people as UTF-8 with control and bidi override characters removed.
 * Returns malloc'ed text (caller frees with free()) or NULL when the line
 * is not a valid event.  Pure: used by the tty UI and the golden tests.
 * (agent/ui/ui_tty.c)
 */
char *lj_ui_render_tty(const char *json_line, size_t len, const char *locale);

/*
 * A server's time (DRS "12-03-2026 8:04:04Z", Entra "2026-12-03 08:04:22Z",
 * RFC 3339, HTTP-date "Thu, 03 Dec 2026 08:04:12 GMT") as RFC 3339 UTC
 * into out (>= 21 bytes).  false (out untouched) when raw is none of them.
 */
bool lj_ui_time_iso(const char *raw, char *out, size_t osz);

/* Names: "joined", "joined_mdm_pending", ... never NULL. */
const char *lj_ui_status_name(enum lj_ui_status s);

#endif
