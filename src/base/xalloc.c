/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Aborting allocators (STYLE.md C3.8): used for small, fixed-size objects
 * whose allocation failing leaves nothing sensible to do.  Sizes an outsider
 * controls go through struct bp_buf with a cap instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bp/base.h"

static void oom(size_t n, const char *file, int line)
{
    fprintf(stderr, "level=error mod=base event=oom size=%zu at=%s:%d\n",
            n, file, line);
    abort();
}

void *bp__xmalloc(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom(n, file, line);
    return p;
}

void *bp__xcalloc(size_t k, size_t n, const char *file, int line)
{
    void *p = calloc(k ? k : 1, n ? n : 1);
    if (p == NULL)
        oom(k * n, file, line);
    return p;
}

void *bp__xrealloc(void *old, size_t n, const char *file, int line)
{
    void *p = realloc(old, n ? n : 1);
    if (p == NULL)
        oom(n, file, line);
    return p;
}

char *bp__xstrdup(const char *s, const char *file, int line)
{
    return bp__xstrndup(s, strlen(s), file, line);
}

char *bp__xstrndup(const char *s, size_t n, const char *file, int line)
{
    char *p = bp__xmalloc(n + 1, file, line);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
