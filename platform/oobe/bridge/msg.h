/*
 * msg.h — the one check of what the page POSTs to /send, before it goes to
 * the agent: exactly one UI -> agent message of the agent's UI protocol
 * (agent/ui/ui_proto.h):
 *   {"type":"credentials","username":"..","password":".."}   password: secret
 *   {"type":"auth_code","code":"..","state":".."}            code: secret
 *   {"type":"cancel"}   {"type":"retry"}
 * Pure: no I/O, no logging (what it reports names fields, never values).
 */
#ifndef LJ_OOBE_MSG_H
#define LJ_OOBE_MSG_H

#include <stddef.h>

#include "platform/common/result.h"

/* Largest body /send takes (the agent's own line limit). */
#define OOBE_MSG_MAX_BODY (64 * 1024)

/* Field limits: the agent's (LJ_UI_MAX_* in agent/ui/ui_proto.h). */
#define OOBE_MSG_MAX_USERNAME 256
#define OOBE_MSG_MAX_PASSWORD 1024
#define OOBE_MSG_MAX_CODE 4096
#define OOBE_MSG_MAX_STATE 512

/*
 * Check body (len bytes, need not be NUL-terminated) and build the line
 * for the agent.  The body must be one JSON object (white space around it
 * only; UTF-8; no NUL byte), at most OOBE_MSG_MAX_BODY bytes, with a known
 * "type", each field it needs as a non-empty string within its limit, no
 * other member and no member twice.
 *
 * LJ_OK: *line is a malloc'ed compact JSON object plus '\n' (*line_len
 * bytes with it, NUL-terminated after), rebuilt from the checked fields
 * (never the body's bytes), and *type the message type (static string).
 * The line may hold a secret: the caller frees it with
 * lj_secure_free(line, line_len + 1).
 * LJ_ERR_PARSE / LJ_ERR_TOO_BIG: slug (size ssz) holds one of too_large,
 * bad_json, not_object, missing_type, unknown_type, missing_field,
 * bad_field, unknown_field, duplicate_field; problem (size psz) a sentence
 * naming the member (never a value; no '"' or '\\' in it, so it can go
 * into a JSON string unescaped).  LJ_ERR_NOMEM.
 * Every copy of a field value made on the way is wiped before it is freed.
 */
enum lj_rc oobe_msg_check(const char *body, size_t len, char **line, size_t *line_len,
                          const char **type, char *slug, size_t ssz, char *problem, size_t psz);

#endif
