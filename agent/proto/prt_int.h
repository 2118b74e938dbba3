/*
 * prt_int.h — private to agent/proto/prt*.c: the module name of their error
 * details and the byte checks both files share.  The public API is prt.h.
 *
 *   prt.c         requests: nonce, RS256 and HS256 JWTs, the KDF input, forms
 *   prt_answer.c  answers: nonce, PRT answer, session_key_jwe, the JWE answer
 */
#ifndef LJ_PRT_INT_H
#define LJ_PRT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/proto/prt.h"

#define MOD "prt"

/* n bytes of s, each printable ASCII without space (0x21-0x7e). */
bool prt_printable(const char *s, size_t n);

/* The NUL-terminated s: printable ASCII, spaces allowed (scopes). */
bool prt_printable_or_space(const char *s);

#endif
