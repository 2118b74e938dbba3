/*
 * fuzz.h — shared by the fuzz targets (tests/fuzz/fuzz_NAME.c,
 * simfuzz_NAME.c).  Each target defines LLVMFuzzerTestOneInput() over one
 * parser of outside input and is linked twice: with libFuzzer (make fuzz,
 * build-fuzz/) and with tests/fuzz/replay.c (every build, for `make test`).
 *
 * A target must: accept any bytes, call the parser with exactly those
 * bytes (no NUL added unless the API takes a C string), use every getter on
 * a successful result, free everything, and abort() when a property the
 * parser promises does not hold (libFuzzer then reports it as a crash).
 */
#ifndef LJ_TESTS_FUZZ_H
#define LJ_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h> /* strncasecmp: URL schemes are case-insensitive (RFC 3986 §3.1) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A NUL-terminated copy of data (for APIs that take a C string); abort on ENOMEM. */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL)
        abort();
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Stop with a message naming the broken property (a crash for libFuzzer). */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("fuzz check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);                  \
            fflush(stdout);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Every byte of a fixed-size string field is NUL-terminated within it. */
#define FUZZ_TERMINATED(field) FUZZ_CHECK(memchr((field), '\0', sizeof(field)) != NULL)

#endif
