/*
 * broker.h — the lines of the local token broker (`linkjoin token --serve`,
 * socket /run/linkjoin/token.sock), as pure functions: the request a
 * client sends, the error answer, and the client's reading of the answer.
 *
 * One request line (at most BROKER_LINE_MAX bytes before its '\n'), a flat
 * JSON object of strings, no other member:
 *   {"resource":URI | "scope":SCOPE, "client_id":GUID?, "redirect_uri":URI?}
 * One answer line, then the broker closes: either the JSON `linkjoin token`
 * prints (token_type, access_token, ...), or
 *   {"error":SLUG,"message":TEXT,"exit":N}
 * where SLUG is a failure slug (a taxonomy slug such as device_disabled, or
 * not_allowed, bad_request, request_too_large, request_timeout, not_joined,
 * no_prt, ...), TEXT one line for a person and N the exit code the command
 * line gives for the same failure (agent/core/exitcodes.h).
 *
 * The values follow the same rules as `linkjoin token`'s flags
 * (broker_value_problem), checked by both front ends, so a request the
 * broker accepts is one the command line accepts too.
 */
#ifndef LJ_AGENT_BROKER_H
#define LJ_AGENT_BROKER_H

#include <stdbool.h>
#include <stddef.h>

#include "platform/common/result.h"

#define BROKER_LINE_MAX 4096 /* a request line without its '\n' */
#define BROKER_VALUE_MAX 512 /* resource, scope, redirect_uri */
#define BROKER_ANSWER_MAX (64 * 1024)

enum broker_field {
    BROKER_F_RESOURCE = 0,
    BROKER_F_SCOPE,
    BROKER_F_CLIENT_ID,
    BROKER_F_REDIRECT_URI,
    BROKER_F_COUNT__
};

/* A parsed request: "" = not given.  Plain data, holds no secret. */
struct broker_req {
    char resource[BROKER_VALUE_MAX + 1];
    char scope[BROKER_VALUE_MAX + 1];
    char client_id[40];
    char redirect_uri[BROKER_VALUE_MAX + 1];
};

/* The request member name of f ("resource", ...); never NULL. */
const char *broker_field_name(enum broker_field f);

/*
 * Does v break the rule of field f?  NULL when v is fine, else the rule
 * (static text, e.g. "1 to 512 printable ASCII characters without
 * spaces").  resource, redirect_uri: 1..BROKER_VALUE_MAX bytes of
 * printable ASCII, no space; scope: the same with spaces allowed (a list
 * of scopes); client_id: a GUID (8-4-4-4-12 hexadecimal digits).  NULL v
 * is "missing".  Does not block, does not log.
 */
const char *broker_value_problem(enum broker_field f, const char *v);

/*
 * Parse one request line of len bytes (no '\n'; need not be
 * NUL-terminated) into *req.  LJ_OK, or LJ_ERR_TOO_BIG (len over
 * BROKER_LINE_MAX) or LJ_ERR_PARSE (not a JSON object of strings, an
 * unknown or repeated member, a value breaking its rule, not exactly one
 * of resource and scope) with problem (size psz) saying why in one line:
 * "unknown field 'x'", "field 'resource': 1 to 512 printable ASCII
 * characters without spaces", "give exactly one of resource and scope".
 * *req is written only on LJ_OK.  Pure; does not log.
 */
enum lj_rc broker_req_parse(const char *line, size_t len, struct broker_req *req, char *problem,
                            size_t psz);

/*
 * The request line (no '\n') for the given values (NULL = not given):
 * the client side.  *out malloc'ed, caller frees.  LJ_ERR_NOMEM.
 */
enum lj_rc broker_req_json(const char *resource, const char *scope, const char *client_id,
                           const char *redirect_uri, char **out);

/*
 * The error answer line (no '\n') {"error":slug,"message":message,
 * "exit":exit_code}.  *out malloc'ed, caller frees.  LJ_ERR_NOMEM.
 */
enum lj_rc broker_error_json(const char *slug, const char *message, int exit_code, char **out);

/* An answer line as the client reads it. */
struct broker_answer {
    bool token;        /* a token answer: print the line as it came */
    char error[48];    /* else the slug ([a-z_], at most 47 bytes) */
    char message[640]; /* and its text, control characters replaced */
    int exit_code;     /* 1..BROKER_EXIT_MAX; anything else read as 1 */
};
#define BROKER_EXIT_MAX 125

/*
 * Read an answer line of len bytes (no '\n').  A token answer is an object
 * with string members token_type and access_token; an error answer has a
 * string error of [a-z_] and a string message.  LJ_ERR_PARSE for anything
 * else (the caller says the broker answered something unreadable).  *a is
 * written only on LJ_OK.  Pure; does not log (the line may hold a token).
 */
enum lj_rc broker_answer_parse(const char *line, size_t len, struct broker_answer *a);

#endif
