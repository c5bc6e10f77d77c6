/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The import driver: one transaction around a whole roster import.
 *
 *   BEGIN IMMEDIATE
 *   load sourcedId -> (id, fingerprint) maps of every roster table
 *   read the source (oneroster.c or simple.c), writing rows as it goes
 *   resolve student-guardian links named by agentSourcedIds
 *   give every student a conversation
 *   strict and problems, or dry run, or a structural error -> ROLLBACK
 *   else record a roster_import row -> COMMIT
 *
 * Doing the work inside the transaction and rolling back is also how a dry
 * run validates: it hits exactly the same checks and constraints as a real
 * import, and the counts it prints are the ones a real run would produce.
 * Nothing here logs personal data; the per-row report goes to the
 * administrator's terminal (o->report), not to the log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bp/base.h"
#include "bp/log.h"
#include "roster_int.h"

struct load {
    struct bp__roster_ctx *c;
    struct bp__roster_map *m;
    enum bp_store_roster_table t;
};

static int on_existing(void *arg, int64_t id, const char *const *cols,
                       int ncols)
{
    struct load *l = arg;
    struct bp__roster_ent *e;
    char key[300];
    bool created;

    if (l->t == BP_STORE_ROSTER_CONTACTS) {
        snprintf(key, sizeof key, "%s:%s", cols[0], cols[1]);
        e = bp__roster_map_put(l->m, &l->c->arena, key, &created);
    } else if (l->t == BP_STORE_ROSTER_STAFF) {
        /* Staff are known by e-mail too (accounts made by `staff add`). */
        e = bp__roster_map_put(&l->c->staff_email, &l->c->arena, cols[2],
                               &created);
        e->id = id;
        e->flags = BP__ROSTER_EXISTED | (cols[0][0] ? BP__ROSTER_HAS_SID : 0);
        if (cols[0][0] == '\0')
            return 0;
        e = bp__roster_map_put(l->m, &l->c->arena, cols[0], &created);
        e->fp = bp__roster_fp(cols, ncols);
    } else {
        e = bp__roster_map_put(l->m, &l->c->arena, cols[0], &created);
        e->fp = bp__roster_fp(cols + 1, ncols - 1);
    }
    e->id = id;
    e->flags |= BP__ROSTER_EXISTED;
    return 0;
}

static int load_all(struct bp__roster_ctx *c)
{
    struct load l[] = {
        {c, &c->schools, BP_STORE_ROSTER_SCHOOLS},
        {c, &c->sections, BP_STORE_ROSTER_SECTIONS},
        {c, &c->staff, BP_STORE_ROSTER_STAFF},
        {c, &c->students, BP_STORE_ROSTER_STUDENTS},
        {c, &c->guardians, BP_STORE_ROSTER_GUARDIANS},
        {c, &c->contacts, BP_STORE_ROSTER_CONTACTS},
    };

    for (size_t i = 0; i < BP_ARRAY_LEN(l); i++) {
        int rc = bp_store_roster_scan(c->s, l[i].t, on_existing, &l[i]);

        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Links named by agentSourcedIds, once every user row has been read. */
int bp__roster_resolve_links(struct bp__roster_ctx *c)
{
    for (size_t i = 0; i < c->nlinks; i++) {
        struct bp__roster_link *k = &c->links[i];
        struct bp__roster_ent *st = bp__roster_map_get(&c->students, k->student);
        struct bp__roster_ent *g = bp__roster_map_get(&c->guardians, k->guardian);
        int rc;

        if (st == NULL || st->id == 0) {
            bp__roster_warn(c, k->line, "agentSourcedIds: no student %s "
                            "(link to guardian %s ignored)", k->student,
                            k->guardian);
            continue;
        }
        if (g == NULL || (g->id == 0 && !(g->flags & BP__ROSTER_DELETED))) {
            bp__roster_warn(c, k->line, "agentSourcedIds: no guardian %s "
                            "(link to student %s ignored)", k->guardian,
                            k->student);
            continue;
        }
        if ((g->flags & BP__ROSTER_DELETED) || g->id == 0)
            continue;
        rc = bp__roster_link(c, st->id, g->id, bp__roster_rel_names[g->rel]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void ctx_init(struct bp__roster_ctx *c, struct bp_store *s,
                     const struct bp_roster_opts *o,
                     struct bp_roster_summary *sum, struct bp_errbuf *eb)
{
    memset(c, 0, sizeof *c);
    memset(sum, 0, sizeof *sum);
    c->s = s;
    c->o = o;
    c->sum = sum;
    c->eb = eb;
    c->now = bp_clock_now_ms();
    c->file = "";
    bp__roster_map_init(&c->schools);
    bp__roster_map_init(&c->sections);
    bp__roster_map_init(&c->staff);
    bp__roster_map_init(&c->staff_email);
    bp__roster_map_init(&c->students);
    bp__roster_map_init(&c->guardians);
    bp__roster_map_init(&c->contacts);
    bp__roster_map_init(&c->phones);
}

static void ctx_free(struct bp__roster_ctx *c)
{
    bp__roster_map_free(&c->schools);
    bp__roster_map_free(&c->sections);
    bp__roster_map_free(&c->staff);
    bp__roster_map_free(&c->staff_email);
    bp__roster_map_free(&c->students);
    bp__roster_map_free(&c->guardians);
    bp__roster_map_free(&c->contacts);
    bp__roster_map_free(&c->phones);
    free(c->links);
    bp__roster_arena_free(&c->arena);
}

static int finish(struct bp__roster_ctx *c, const char *source)
{
    char json[1024];
    int rc;

    rc = bp_store_roster_conversations_ensure(c->s, c->now);
    if (rc < 0)
        return rc;
    bp_roster_summary_json(c->sum, json, sizeof json);
    return bp_store_roster_import_record(c->s, source, c->now,
                                         bp_clock_now_ms(), c->sum->rows_read,
                                         c->sum->rejected, json);
}

static int run(struct bp_store *s, const char *source, const char *path,
               bool simple, const struct bp_roster_opts *o,
               struct bp_roster_summary *sum, struct bp_errbuf *eb)
{
    struct bp__roster_ctx c;
    int rc;

    ctx_init(&c, s, o, sum, eb);
    c.simple = simple;
    rc = bp_store_roster_bulk_mode(s);
    if (rc >= 0)
        rc = bp_store_begin(s);
    if (rc < 0) {
        bp_errbuf_set(eb, path, "cannot start a transaction: %s",
                      bp_strerror(rc));
        goto out;
    }
    rc = load_all(&c);
    if (rc >= 0)
        rc = simple ? bp__roster_read_simple(&c, path)
                    : bp__roster_read_oneroster(&c, path);
    if (rc >= 0)
        rc = finish(&c, source);
    if (rc >= 0 && o->strict && (sum->rejected || sum->warnings)) {
        bp_errbuf_set(eb, path, "--strict: %ld rejected rows and %ld dropped "
                      "values; nothing was imported", sum->rejected,
                      sum->warnings);
        rc = BP_EINVAL_INPUT;
    }
    if (rc < 0 || o->dry_run) {
        bp_store_rollback(s);
    } else {
        rc = bp_store_commit(s);
        if (rc < 0)
            bp_errbuf_set(eb, path, "commit failed: %s", bp_strerror(rc));
        sum->committed = rc == 0;
    }
    if (rc < 0 && eb != NULL && eb->msg[0] == '\0')
        bp_errbuf_set(eb, path, "%s", bp_strerror(rc));
out:
    bp_log_info("roster", "import", "source=%s rc=%d committed=%d rows=%ld "
                "rejected=%ld warnings=%ld", source, rc, sum->committed,
                sum->rows_read, sum->rejected, sum->warnings);
    ctx_free(&c);
    return rc < 0 ? rc : 0;
}

int bp_roster_import_oneroster(struct bp_store *s, const char *dir,
                               const struct bp_roster_opts *o,
                               struct bp_roster_summary *sum,
                               struct bp_errbuf *eb)
{
    return run(s, "oneroster", dir, false, o, sum, eb);
}

int bp_roster_import_simple(struct bp_store *s, const char *path,
                            const struct bp_roster_opts *o,
                            struct bp_roster_summary *sum,
                            struct bp_errbuf *eb)
{
    return run(s, "simple_csv", path, true, o, sum, eb);
}

static void line3(FILE *f, const char *what, const long *n)
{
    fprintf(f, "  %-10s %7ld created, %7ld updated, %7ld unchanged\n", what,
            n[BP_ROSTER_CREATED], n[BP_ROSTER_UPDATED],
            n[BP_ROSTER_UNCHANGED]);
}

void bp_roster_summary_print(const struct bp_roster_summary *sum, FILE *f)
{
    fprintf(f, "Roster import %s: %ld rows read, %ld rejected, %ld values "
            "dropped or unknown\n",
            sum->committed ? "committed" : "NOT committed", sum->rows_read,
            sum->rejected, sum->warnings);
    line3(f, "schools", sum->schools);
    line3(f, "sections", sum->sections);
    line3(f, "staff", sum->staff);
    line3(f, "students", sum->students);
    line3(f, "guardians", sum->guardians);
    fprintf(f, "  %-10s %7ld created, %7ld unchanged\n", "contacts",
            sum->contacts[BP_ROSTER_CREATED],
            sum->contacts[BP_ROSTER_UNCHANGED]);
    fprintf(f, "  %-10s %7ld deactivated, %7ld links removed\n", "changes",
            sum->deactivated, sum->unlinked);
}

void bp_roster_summary_json(const struct bp_roster_summary *sum, char *out,
                            size_t n)
{
    const long *v[] = {sum->schools, sum->sections, sum->staff, sum->students,
                       sum->guardians, sum->contacts};
    const char *k[] = {"schools", "sections", "staff", "students", "guardians",
                       "contacts"};
    size_t o;

    o = (size_t)snprintf(out, n, "{\"rows_read\":%ld,\"rejected\":%ld,"
                         "\"warnings\":%ld,\"deactivated\":%ld,"
                         "\"unlinked\":%ld", sum->rows_read, sum->rejected,
                         sum->warnings, sum->deactivated, sum->unlinked);
    for (size_t i = 0; i < BP_ARRAY_LEN(k) && o < n; i++)
        o += (size_t)snprintf(out + o, n - o, ",\"%s\":[%ld,%ld,%ld]", k[i],
                              v[i][0], v[i][1], v[i][2]);
    if (o < n)
        snprintf(out + o, n - o, "}");
}
