/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The route table: exact paths and prefix routes (a path ending in "/" and
 * "*"), each with a method mask, a handler and a name (the metrics label).
 * Lookup is a linear scan: the daemon registers a dozen routes, and a
 * scan over a dozen short strings costs less than hashing the path.  Exact routes win over
 * prefixes, longer prefixes over shorter ones; when the path is known but
 * the method is not accepted, the caller answers 405 with the union of the
 * accepted methods in Allow.
 */
#include <stdlib.h>
#include <string.h>

#include "http_int.h"

unsigned bp__http_method_bit(unsigned m)
{
    switch (m) {
    case HTTP_GET: return BP_HTTP_GET;
    case HTTP_HEAD: return BP_HTTP_HEAD;
    case HTTP_POST: return BP_HTTP_POST;
    case HTTP_PUT: return BP_HTTP_PUT;
    case HTTP_DELETE: return BP_HTTP_DELETE;
    case HTTP_PATCH: return BP_HTTP_PATCH;
    case HTTP_OPTIONS: return BP_HTTP_OPTIONS;
    default: return 0;
    }
}

static bool name_ok(const char *name)
{
    if (name == NULL || name[0] == '\0' || strlen(name) > 64)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return false;
    return true;
}

int bp_http_route(struct bp_http_server *s, const char *name, unsigned methods,
                  const char *path, bp_http_handler_fn fn, void *arg)
{
    struct bp__http_route *rt;
    size_t len;

    if (!name_ok(name) || path == NULL || path[0] != '/' || fn == NULL ||
        methods == 0 || strcmp(name, "none") == 0)
        return BP_EINVAL_INPUT;
    if (methods & BP_HTTP_GET)
        methods |= BP_HTTP_HEAD;
    len = strlen(path);
    s->routes = bp_xrealloc(s->routes, (s->nroutes + 1) * sizeof *s->routes);
    rt = &s->routes[s->nroutes];
    memset(rt, 0, sizeof *rt);
    rt->prefix = len >= 2 && path[len - 1] == '*' && path[len - 2] == '/';
    rt->path = bp_xstrndup(path, rt->prefix ? len - 1 : len);
    rt->path_len = strlen(rt->path);
    rt->name = bp_xstrdup(name);
    rt->methods = methods;
    rt->fn = fn;
    rt->arg = arg;
    for (size_t i = 0; i < s->nroutes; i++) {
        if (strcmp(s->routes[i].name, name) == 0) {
            rt->counters = s->routes[i].counters;
            break;
        }
    }
    if (rt->counters == NULL)
        rt->counters = bp_xcalloc(1, sizeof *rt->counters);
    s->nroutes++;
    return 0;
}

static bool matches(const struct bp__http_route *rt, const char *path,
                    size_t plen)
{
    if (!rt->prefix)
        return plen == rt->path_len && memcmp(path, rt->path, plen) == 0;
    /* the prefix "/webhooks/sms/" matches "/webhooks/sms/x", not itself */
    return plen > rt->path_len && memcmp(path, rt->path, rt->path_len) == 0;
}

const struct bp__http_route *bp__http_route_find(const struct bp_http_server *s,
                                                 const char *path,
                                                 unsigned method_bit,
                                                 unsigned *allow)
{
    const struct bp__http_route *best = NULL;
    size_t plen = strlen(path), best_len = 0;
    bool best_exact = false;
    unsigned allowed = 0;

    /* First the most specific path that matches at all, then the method
     * among the routes registered for exactly that path. */
    for (size_t i = 0; i < s->nroutes; i++) {
        const struct bp__http_route *rt = &s->routes[i];
        if (!matches(rt, path, plen))
            continue;
        if (best == NULL || (!rt->prefix && !best_exact) ||
            (rt->prefix && !best_exact && rt->path_len > best_len)) {
            best = rt;
            best_len = rt->path_len;
            best_exact = !rt->prefix;
        }
    }
    *allow = 0;
    if (best == NULL)
        return NULL;
    for (size_t i = 0; i < s->nroutes; i++) {
        const struct bp__http_route *rt = &s->routes[i];
        if (rt->prefix != best->prefix || rt->path_len != best->path_len ||
            strcmp(rt->path, best->path) != 0)
            continue;
        if (rt->methods & method_bit)
            return rt;
        allowed |= rt->methods;
    }
    *allow = allowed;
    return NULL;
}

void bp__http_routes_free(struct bp_http_server *s)
{
    for (size_t i = 0; i < s->nroutes; i++) {
        bool shared = false;
        for (size_t j = 0; j < i; j++)
            if (s->routes[j].counters == s->routes[i].counters)
                shared = true;
        if (!shared)
            free(s->routes[i].counters);
        free(s->routes[i].name);
        free(s->routes[i].path);
    }
    free(s->routes);
    s->routes = NULL;
    s->nroutes = 0;
}
