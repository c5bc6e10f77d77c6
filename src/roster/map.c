/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The importer's in-memory index: an arena for strings and an open-
 * addressing hash map (linear probing, power-of-two capacity, load <= 1/2)
 * from string keys to row ids and fingerprints.  A 100,000-family district
 * has about half a million keys; a generic map with per-key malloc would
 * spend more time in the allocator than SQLite spends writing.
 */
#include <stdlib.h>
#include <string.h>

#include "bp/base.h"
#include "roster_int.h"

#define CHUNK_SIZE (256u * 1024u)

struct bp__roster_chunk {
    struct bp__roster_chunk *next;
    size_t used, size;
    char data[];
};

char *bp__roster_arena_strdup(struct bp__roster_arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    struct bp__roster_chunk *c = a->head;
    char *p;

    if (c == NULL || c->size - c->used < n) {
        size_t size = n > CHUNK_SIZE ? n : CHUNK_SIZE;

        c = bp_xmalloc(sizeof *c + size);
        c->next = a->head;
        c->used = 0;
        c->size = size;
        a->head = c;
    }
    p = c->data + c->used;
    memcpy(p, s, n);
    c->used += n;
    return p;
}

void bp__roster_arena_free(struct bp__roster_arena *a)
{
    while (a->head != NULL) {
        struct bp__roster_chunk *next = a->head->next;

        free(a->head);
        a->head = next;
    }
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

uint64_t bp__roster_fp(const char *const *f, int n)
{
    uint64_t h = 1469598103934665603ull;

    for (int i = 0; i < n; i++) {
        for (const char *p = f[i] ? f[i] : ""; *p; p++) {
            h ^= (unsigned char)*p;
            h *= 1099511628211ull;
        }
        h ^= 0x1f;
        h *= 1099511628211ull;
    }
    return h;
}

void bp__roster_map_init(struct bp__roster_map *m)
{
    m->cap = 1024;
    m->n = 0;
    m->slots = bp_xcalloc(m->cap, sizeof *m->slots);
}

void bp__roster_map_free(struct bp__roster_map *m)
{
    bp_free_and_null(m->slots);
    m->cap = m->n = 0;
}

static struct bp__roster_ent *probe(struct bp__roster_ent *slots, size_t cap,
                                    const char *key)
{
    size_t i = (size_t)hash_str(key) & (cap - 1);

    while (slots[i].key != NULL && strcmp(slots[i].key, key) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

struct bp__roster_ent *bp__roster_map_get(struct bp__roster_map *m,
                                          const char *key)
{
    struct bp__roster_ent *e = probe(m->slots, m->cap, key);

    return e->key != NULL ? e : NULL;
}

static void grow(struct bp__roster_map *m)
{
    size_t cap = m->cap * 2;
    struct bp__roster_ent *slots = bp_xcalloc(cap, sizeof *slots);

    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key != NULL)
            *probe(slots, cap, m->slots[i].key) = m->slots[i];
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
}

struct bp__roster_ent *bp__roster_map_put(struct bp__roster_map *m,
                                          struct bp__roster_arena *a,
                                          const char *key, bool *created)
{
    struct bp__roster_ent *e = probe(m->slots, m->cap, key);

    *created = false;
    if (e->key != NULL)
        return e;
    if ((m->n + 1) * 2 > m->cap) {
        grow(m);
        e = probe(m->slots, m->cap, key);
    }
    memset(e, 0, sizeof *e);
    e->key = bp__roster_arena_strdup(a, key);
    m->n++;
    *created = true;
    return e;
}
