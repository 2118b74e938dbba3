/*
 * ui_proto.h — the OOBE UI protocol: JSON Lines events, agent <-> UI.
 *
 * Agent -> UI (one JSON object per line, "type" first):
 *   {"type":"hello","protocol":1,"agent":"linkjoin 0.1.0",
 *    "device":{"manufacturer":"..","model":"..","serial":"..","os_name":"..","os_version":".."}}
 *   {"type":"progress","phase":"signin","step":"Waiting for sign-in","percent":20}
 *   {"type":"prompt","kind":"device_code","user_code":"53W6SC8PB",
 *    "verification_uri":"https://microsoft.com/devicelogin","expires_at":"2026-11-26T17:45:00Z",
 *    "expires_in":900}
 *   {"type":"prompt","kind":"credentials","username":"alice@contoso.com","message":".."}
 *   {"type":"prompt","kind":"browser","authorize_url":"https://..","redirect_uri":"ms-aadj-redir://auth/drs"}
 *   {"type":"result","status":"joined","device_id":"..","tenant_name":"..","upn":"..",
 *    "setup_complete":true,
 *    "mdm":{"state":"enrolled","server_url":"https://..","cert_thumbprint":".."}}
 *   {"type":"result","status":"joined_mdm_pending",<device fields>,"phase":"mdm",
 *    "reason":"joined_mdm_pending","code":"0x80180017","fix_by":"retry","message":"..",
 *    "admin_action":"..","retryable":true,"server":{..},"mdm":{"state":"pending"}}
 *   {"type":"result","status":"joined",<device fields>,"phase":"mdm",
 *    "reason":"mdm_platform_blocked",<the failure fields>,"mdm":{"state":"failed"}}
 *     (joined, but Intune refused the enrollment: the device IS joined, so the
 *     status is joined; the reason fields say why it is not managed;
 *     setup_complete is false unless the configuration says mdm = optional)
 *   {"type":"result","status":"failed","upn":"..","device":{"serial":"..","manufacturer":"..",
 *    "model":".."},"time":"2026-12-03T08:04:05Z","phase":"join","reason":"join_not_permitted",
 *    "code":"0x801c0003","fix_by":"admin","message":"..","admin_action":"..","retryable":false,
 *    "server":{"http_status":403,"error_type":"..","error_code":"..","message":"..",
 *              "request_id":"..","trace_id":"..","correlation_id":"..",
 *              "time":"2026-12-03T08:04:04Z","time_raw":"12-03-2026 8:04:04Z"}}
 *     (status: joined | joined_mdm_pending | failed | already_joined | cancelled)
 *     Every result carries device (serial always, "" when the firmware has
 *     none) and time (the agent's clock, RFC 3339 UTC); upn once sign-in got
 *     that far.  server.time is RFC 3339 UTC when the server's form is known
 *     (time_raw: as the server wrote it).  message is for the person (no host
 *     names or internals); admin_action has those.
 *   {"type":"error","error":"missing_field","message":"credentials: missing field 'password'"}
 * UI -> agent:
 *   {"type":"credentials","username":"..","password":".."}   (password: secret, wiped after use)
 *   {"type":"auth_code","code":"..","state":".."}            (code: secret)
 *   {"type":"cancel"}   {"type":"retry"}
 * Lines over 64 KiB, malformed JSON, unknown types and missing or mistyped
 * fields get an "error" event (error = line_too_long | bad_json |
 * unknown_type | missing_field | bad_field) and are otherwise ignored.
 * A valid message that nothing is waiting for (retry while the agent is
 * still working; credentials while it waits for retry) gets error
 * not_expected.
 * Retry: after a result that is not a success (status failed, or
 * joined_mdm_pending / joined with the failure fields), a socket or stdio
 * UI may send `retry` within retry_wait seconds (config; default 900): the
 * agent runs the whole flow again in the same process (progress "Trying
 * again", new prompts, a new result).  `cancel` then ends it with exit 9;
 * no message within the window, SIGTERM, or stdin closing ends it with the
 * failure's exit code.
 * Unknown extra members are ignored (forward compatibility).
 *
 * With --ui tty the same events are rendered as plain text (ASCII) for
 * serial consoles; input is not read in tty mode.
 *
 * A socket client that connects late (or reconnects) is sent the current
 * hello, last progress and last prompt again, so a UI restart loses
 * nothing.
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

#define LJ_UI_PROTOCOL_VERSION 1

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
};

enum lj_ui_msg_type {
    LJ_UI_MSG_CREDENTIALS = 0,
    LJ_UI_MSG_AUTH_CODE = 1,
    LJ_UI_MSG_CANCEL = 2,
    LJ_UI_MSG_RETRY = 3,
};

/* A message from the UI.  Owned strings; free with lj_ui_msg_clear (wipes secrets). */
struct lj_ui_msg {
    enum lj_ui_msg_type type;
    char *username; /* credentials */
    char *password; /* credentials (secret) */
    char *code;     /* auth_code (secret) */
    char *state;    /* auth_code */
};

#define LJ_UI_MAX_USERNAME 256
#define LJ_UI_MAX_PASSWORD 1024
#define LJ_UI_MAX_CODE 4096
#define LJ_UI_MAX_STATE 512

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
 * Agent -> UI events.  Each writes one line (JSON) or text block (tty).
 * They return LJ_OK even when no UI is connected (state is kept and resent
 * on connect); LJ_ERR_IO only when a stdio/tty output fails; LJ_ERR_NOMEM.
 */
enum lj_rc lj_ui_hello(struct lj_ui *ui, const struct lj_identity *id);
enum lj_rc lj_ui_progress(struct lj_ui *ui, const char *phase, const char *step, int percent);
enum lj_rc lj_ui_prompt_device_code(struct lj_ui *ui, const char *user_code,
                                    const char *verification_uri, int64_t expires_at);
enum lj_rc lj_ui_prompt_credentials(struct lj_ui *ui, const char *username, const char *message);
enum lj_rc lj_ui_prompt_browser(struct lj_ui *ui, const char *authorize_url,
                                const char *redirect_uri);
enum lj_rc lj_ui_result(struct lj_ui *ui, const struct lj_ui_result *res);
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
 * Render one agent->UI event line (JSON) as tty text.  Returns malloc'ed
 * text (caller frees with free()) or NULL when the line is not a valid
 * event.  Pure: used by the tty UI and the golden tests.
 */
char *lj_ui_render_tty(const char *json_line, size_t len);

/*
 * A server's time (DRS "12-03-2026 8:04:04Z", Entra "2026-12-03 08:04:22Z",
 * RFC 3339, HTTP-date "Thu, 03 Dec 2026 08:04:12 GMT") as RFC 3339 UTC
 * into out (>= 21 bytes).  false (out untouched) when raw is none of them.
 */
bool lj_ui_time_iso(const char *raw, char *out, size_t osz);

/* Names: "joined", "joined_mdm_pending", ... never NULL. */
const char *lj_ui_status_name(enum lj_ui_status s);

#endif
