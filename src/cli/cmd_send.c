/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `backpack send`: creates an announcement and its deliveries directly in
 * the database (one transaction), then exits.  A running daemon notices
 * the new due deliveries with its scheduler's poll (at most a second
 * later); the daemon need not be running -- they wait, durable, until it
 * is.  The same request over HTTP is POST /api/messages (src/outbox/api.c).
 * Prints the JSON summary (ids and counts) on standard output.
 * --template KEY --arg NAME=VALUE... renders from the same catalogue the
 * daemon uses (locale files + custom templates), in each family's language;
 * free text is machine-translated per language when [translate] is on.
 * --dry-run prints the reach preview (bp_outbox_preview_fn) instead.
 *
 * Test-only: BACKPACK_TEST_CLOCK_MS=<ms since epoch> pins the clock
 * (bp_clock_set_fake) so quiet-hours tests need no sleeping.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bp/cli.h"
#include "bp/log.h"
#include "bp/mt.h"
#include "bp/outbox.h"
#include "bp/tmpl_api.h"

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: backpack send [-c FILE] AUDIENCE CONTENT [OPTIONS]\n"
        "\n"
        "Audience (exactly one):\n"
        "  --student SOURCED_ID   the guardians of one student\n"
        "  --section SOURCED_ID   the guardians of a section's students\n"
        "  --school               every active student's guardians\n"
        "  --guardian SOURCED_ID  an explicit guardian (repeatable)\n"
        "Content (exactly one):\n"
        "  --text TEXT            the message as written\n"
        "  --template KEY         a template, with --arg NAME=VALUE...\n"
        "Options:\n"
        "  --urgent               ignore quiet hours (never opt-outs)\n"
        "  --send-at RFC3339      do not send before this time\n"
        "  --allow-fallback       send in the school language when a family's\n"
        "                         language has no translation\n"
        "  --dry-run              print the reach preview (languages, channels,\n"
        "                         texts, SMS segments, cost), change nothing\n"
        "  -c, --config FILE      configuration file\n"
        "  -h, --help             show this help\n");
}

struct send_args {
    struct bp_outbox_req req;
    const char **guardians;
    size_t ng;
    const char **kv;            /* --arg NAME=VALUE */
    size_t nkv;
    char *args_json;
    const char *config;
};

static int parse_args(int argc, char **argv, struct send_args *s)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'},
        {"student", required_argument, NULL, 1}, {"section", required_argument, NULL, 2},
        {"school", no_argument, NULL, 3}, {"guardian", required_argument, NULL, 4},
        {"text", required_argument, NULL, 5}, {"template", required_argument, NULL, 6},
        {"arg", required_argument, NULL, 7}, {"urgent", no_argument, NULL, 8},
        {"send-at", required_argument, NULL, 9}, {"allow-fallback", no_argument, NULL, 10},
        {"dry-run", no_argument, NULL, 11}, {NULL, 0, NULL, 0},
    };
    int opt, audiences = 0;

    optind = 1;
    opterr = 1;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': s->config = optarg; break;
        case 'h': usage(stdout); return 1;
        case 1: s->req.audience_kind = "student"; s->req.audience_ref = optarg; audiences++; break;
        case 2: s->req.audience_kind = "section"; s->req.audience_ref = optarg; audiences++; break;
        case 3: s->req.audience_kind = "school"; audiences++; break;
        case 4:
            if (s->ng == 0)
                audiences++;
            s->req.audience_kind = "custom";
            s->guardians = bp_xrealloc(s->guardians, (s->ng + 1) * sizeof *s->guardians);
            s->guardians[s->ng++] = optarg;
            break;
        case 5: s->req.text = optarg; break;
        case 6: s->req.template_key = optarg; break;
        case 7:
            s->kv = bp_xrealloc(s->kv, (s->nkv + 1) * sizeof *s->kv);
            s->kv[s->nkv++] = optarg;
            break;
        case 8: s->req.urgent = true; break;
        case 9:
            if (bp_outbox_parse_rfc3339(optarg, &s->req.send_at) < 0) {
                fprintf(stderr, "backpack send: --send-at wants RFC 3339, e.g. "
                                "2025-09-01T07:30:00-04:00\n");
                return -1;
            }
            break;
        case 10: s->req.allow_fallback = true; break;
        case 11: s->req.dry_run = true; break;
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc || audiences != 1) {
        fprintf(stderr, "backpack send: give exactly one audience\n");
        usage(stderr);
        return -1;
    }
    if (s->nkv > 0 && s->req.template_key == NULL) {
        fprintf(stderr, "backpack send: --arg goes with --template\n");
        return -1;
    }
    s->req.guardians = s->guardians;
    s->req.nguardians = s->ng;
    return 0;
}

/* Free text with [translate] enabled: the audience's languages, then one
 * blocking translation per language (a failed one is held later). */
static int translate(const struct bp_conf *conf, struct bp_store *st,
                     struct bp_outbox_policy *pol, struct bp_store_announce *a)
{
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_mt *mt = NULL;
    char **locs = NULL;
    size_t n = 0;
    int rc;

    if (pol->text == NULL)
        return 0;
    if ((rc = bp_mt_from_conf(conf, &mt, &eb)) < 0) {
        snprintf(a->errmsg, sizeof a->errmsg, "[translate]: %.100s", eb.msg);
        return rc;
    }
    if (mt == NULL)
        return 0;
    if ((rc = bp_store_announce_locales(st, a, &locs, &n)) == 0) {
        bp_outbox_mt_targets(pol, locs, n);
        bp_outbox_mt_translate_all(pol, mt);
    }
    for (size_t i = 0; i < n; i++)
        free(locs[i]);
    free(locs);
    bp_mt_free(mt);
    return rc;
}

/* --dry-run: the reach preview, computed by creating everything in a
 * transaction that is rolled back (bp_outbox_preview_fn). */
static int preview(const struct bp_conf *conf, struct bp_store *st,
                   struct bp_store_announce *a)
{
    struct bp_outbox_preview p = {.a = *a, .conf = conf};
    int rc;

    bp_buf_init(&p.json, 16 * 1024 * 1024);
    if ((rc = bp_store_set_bulk(st, true)) == 0 &&
        (rc = bp_store_begin(st)) == 0) {
        rc = bp_outbox_preview_fn(st, &p);
        bp_store_rollback(st);
    }
    if (rc == BP_ECANCELED)
        printf("%s\n", p.json.data);
    else
        memcpy(a->errmsg, p.a.errmsg, sizeof a->errmsg);
    bp_buf_free(&p.json);
    return rc == BP_ECANCELED ? 0 : rc;
}

static int run(const struct bp_conf *conf, struct send_args *s, struct bp_store *st)
{
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_outbox_policy pol;
    struct bp_store_announce a;
    struct bp_buf out;
    int rc;

    if (bp_outbox_prepare(conf, &s->req, &pol, &a, &eb) < 0) {
        fprintf(stderr, "backpack send: %s\n", eb.msg);
        bp_outbox_policy_release(&pol);
        return BP_EXIT_USAGE;
    }
    if ((rc = translate(conf, st, &pol, &a)) < 0)
        goto fail;
    if (s->req.dry_run) {
        if ((rc = preview(conf, st, &a)) < 0)
            goto fail;
        bp_outbox_policy_release(&pol);
        return BP_EXIT_OK;
    }
    /* bulk mode (foreign keys off: bp_store_announce takes every reference
     * from a join in its transaction; include/bp/store.h); the process
     * exits after */
    if ((rc = bp_store_set_bulk(st, true)) < 0 || (rc = bp_store_begin(st)) < 0)
        goto fail;
    if ((rc = bp_store_announce(st, &a)) < 0) {
        bp_store_rollback(st);
        goto fail;
    }
    if ((rc = bp_store_audit_append(st, 0, "cli", "announcement.create", "announcement",
                                    a.announcement_id, NULL)) < 0 ||
        (rc = bp_store_commit(st)) < 0) {
        bp_store_rollback(st);
        goto fail;
    }
    bp_outbox_policy_release(&pol);
    bp_buf_init(&out, 4096);
    if (bp_outbox_summary_json(&a, false, &out) == 0)
        printf("%s\n", out.data);
    bp_buf_free(&out);
    bp_log_info("outbox", "announcement", "id=%lld via=cli sms=%lld email=%lld held=%lld",
                (long long)a.announcement_id, (long long)a.deliveries[0],
                (long long)a.deliveries[1], (long long)a.held);
    return BP_EXIT_OK;
fail:
    fprintf(stderr, "backpack send: %s%s%s\n", bp_strerror(rc),
            a.errmsg[0] ? ": " : "", a.errmsg);
    bp_outbox_policy_release(&pol);
    return rc == BP_ENOTFOUND ? BP_EXIT_USAGE : BP_EXIT_FAIL;
}

/* The catalogue the daemon uses: the files of bp_tmpl_locales_dir plus the
 * custom templates saved in the database (bp_tmpl_api_load).  Templates
 * need it, and free text needs it when machine translation is on (the
 * "machine-translated" note in each family's language).  --arg NAME=VALUE
 * becomes a JSON object (stored with the announcement). */
static int load_catalog(const struct bp_conf *conf, struct send_args *s,
                        struct bp_store *st, struct bp_tmpl_catalog **cat)
{
    const char *dir = bp_tmpl_locales_dir(conf->school_locales_dir);
    struct bp_errbuf eb = {{0}, {0}};

    if (bp_outbox_args_from_kv(s->kv, s->nkv, &s->args_json, &eb) < 0) {
        fprintf(stderr, "backpack send: %s\n", eb.msg);
        return BP_EXIT_USAGE;
    }
    s->req.template_args = s->nkv > 0 ? s->args_json : NULL;
    if (bp_tmpl_api_load(st, dir, cat, &eb) < 0) {
        fprintf(stderr, "backpack send: message catalogue %s: %s%s%s\n", dir,
                eb.where, eb.where[0] ? ": " : "", eb.msg);
        return BP_EXIT_FAIL;
    }
    s->req.catalog = *cat;
    return 0;
}

static int open_store(const struct bp_conf *conf, struct bp_store **st)
{
    struct bp_store_opts o = {
        .path = conf->store_path,
        .busy_timeout_ms = 5000,
        .sync_full = conf->store_synchronous == BP_CONF_SYNC_FULL,
    };
    struct bp_errbuf eb = {{0}, {0}};

    if (bp_store_open(&o, st, &eb) < 0 || bp_store_migrate(*st, NULL, NULL, &eb) < 0) {
        fprintf(stderr, "backpack send: database: %s\n", eb.msg);
        return BP_EXIT_FAIL;
    }
    /* An announcement to a district is one transaction of ~100 MB of WAL:
     * durable at its commit; copying it into the database file (a second or
     * so) is the daemon's checkpointer's job (src/store/checkpoint.c), as it
     * is whenever the daemon is running -- not this command's, after its
     * commit or at its close (it delivers nothing: the daemon has to run
     * anyway). */
    bp_store_leave_checkpoints(*st);
    return 0;
}

int bp_cmd_send(int argc, char **argv)
{
    struct send_args s;
    struct bp_tmpl_catalog *cat = NULL;
    struct bp_store *st = NULL;
    struct bp_conf *conf = NULL;
    const char *fake = getenv("BACKPACK_TEST_CLOCK_MS");
    int rc;

    memset(&s, 0, sizeof s);
    rc = parse_args(argc, argv, &s);
    if (rc != 0) {
        free(s.guardians);
        free(s.kv);
        return rc > 0 ? BP_EXIT_OK : BP_EXIT_USAGE;
    }
    if ((rc = bp_cli_load_conf(s.config, &conf)) != 0) {
        free(s.guardians);
        free(s.kv);
        return rc;
    }
    if (fake != NULL && *fake != '\0')
        bp_clock_set_fake(strtoll(fake, NULL, 10));
    rc = open_store(conf, &st);
    if (rc == 0)
        rc = load_catalog(conf, &s, st, &cat);
    if (rc == 0)
        rc = run(conf, &s, st);
    bp_store_close(st);
    bp_tmpl_catalog_free(cat);
    free(s.args_json);
    free(s.kv);
    free(s.guardians);
    bp_conf_free(conf);
    bp_log_close();
    return rc;
}
