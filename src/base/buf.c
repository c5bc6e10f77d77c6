/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Capped growable buffer (the curl dynbuf idea): every append checks the cap
 * first, so a hostile peer can make us refuse input but never make us grow
 * without bound.  The buffer is always NUL-terminated after an append.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bp/base.h"

void bp_buf_init(struct bp_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void bp_buf_free(struct bp_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
}

void bp_buf_reset(struct bp_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

static int reserve(struct bp_buf *b, size_t extra)
{
    size_t need, alloc;
    char *p;

    if (extra > b->cap || b->len > b->cap - extra)
        return BP_ETOOBIG;
    need = b->len + extra + 1;
    if (need <= b->alloc)
        return 0;
    alloc = b->alloc ? b->alloc : 64;
    while (alloc < need)
        alloc *= 2;
    if (alloc > b->cap + 1)
        alloc = b->cap + 1;
    p = realloc(b->data, alloc);
    if (p == NULL)
        return BP_ENOMEM;
    b->data = p;
    b->alloc = alloc;
    return 0;
}

int bp_buf_append(struct bp_buf *b, const void *p, size_t n)
{
    int rc = reserve(b, n);
    if (rc < 0)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int bp_buf_appends(struct bp_buf *b, const char *s)
{
    return bp_buf_append(b, s, strlen(s));
}

int bp_buf_printf(struct bp_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return BP_EINVAL_INPUT;
    rc = reserve(b, (size_t)n);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *bp_buf_take(struct bp_buf *b, size_t *len_out)
{
    char *p = b->data;

    if (len_out != NULL)
        *len_out = b->len;
    if (p == NULL)
        p = bp_xstrdup("");
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    return p;
}
