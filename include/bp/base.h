/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Base utilities used by every module: aborting allocators for small fixed
 * sizes, a capped growable buffer for anything an outsider controls the size
 * of (STYLE.md C3.8), small string helpers and an injectable clock.
 * Thread-safe: nothing here has global mutable state except the clock
 * override, which tests set before starting threads.
 */
#ifndef BP_BASE_H
#define BP_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bp/err.h"

#define BP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define BP_CONTAINER_OF(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Allocators that abort with file:line on failure.  For small fixed sizes. */
#define bp_xmalloc(n)     bp__xmalloc((n), __FILE__, __LINE__)
#define bp_xcalloc(k, n)  bp__xcalloc((k), (n), __FILE__, __LINE__)
#define bp_xrealloc(p, n) bp__xrealloc((p), (n), __FILE__, __LINE__)
#define bp_xstrdup(s)     bp__xstrdup((s), __FILE__, __LINE__)
#define bp_xstrndup(s, n) bp__xstrndup((s), (n), __FILE__, __LINE__)
void *bp__xmalloc(size_t n, const char *file, int line);
void *bp__xcalloc(size_t k, size_t n, const char *file, int line);
void *bp__xrealloc(void *p, size_t n, const char *file, int line);
char *bp__xstrdup(const char *s, const char *file, int line);
char *bp__xstrndup(const char *s, size_t n, const char *file, int line);
#define bp_free_and_null(p) do { free(p); (p) = NULL; } while (0)

/*
 * Capped growable byte buffer.  Always NUL-terminated after a successful
 * append, so ->data can be used as a C string when the content is text.
 * Appending past ->cap fails with BP_ETOOBIG and leaves the buffer as it was.
 */
struct bp_buf {
    char *data;
    size_t len;
    size_t alloc;
    size_t cap;
};

void bp_buf_init(struct bp_buf *b, size_t cap);
void bp_buf_free(struct bp_buf *b);
void bp_buf_reset(struct bp_buf *b);      /* len = 0, keeps memory */
BP_WUR int bp_buf_append(struct bp_buf *b, const void *p, size_t n);
BP_WUR int bp_buf_appends(struct bp_buf *b, const char *s);
BP_WUR int bp_buf_printf(struct bp_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Moves the content out (caller frees with free()); the buffer is reset. */
char *bp_buf_take(struct bp_buf *b, size_t *len_out);

/* Strings. */
bool bp_str_eq(const char *a, const char *b);          /* NULL-safe */
bool bp_str_case_eq(const char *a, const char *b);     /* ASCII, NULL-safe */
char *bp_str_trim(char *s);                            /* in place, ASCII ws */
void bp_str_lower_ascii(char *s);                      /* in place */
bool bp_str_starts_with(const char *s, const char *prefix);
uint32_t bp_str_hash(const char *s);                   /* 32-bit FNV-1a */
/* True when [p, p+n) is well-formed UTF-8 (no overlongs, no surrogates). */
bool bp_utf8_valid(const char *p, size_t n);

/*
 * Clock.  Wall time in milliseconds since the Unix epoch and a monotonic
 * time in milliseconds.  Tests can pin the wall clock with
 * bp_clock_set_fake(ms) (0 turns the fake off).
 */
int64_t bp_clock_now_ms(void);
uint64_t bp_clock_mono_ms(void);
void bp_clock_set_fake(int64_t wall_ms);
/* Formats ms as RFC 3339 UTC with milliseconds into out (>= 25 bytes). */
void bp_clock_fmt_rfc3339(int64_t ms, char *out, size_t n);

#endif
