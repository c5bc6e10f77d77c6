/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `backpack migrate [-c FILE] [--status]`: brings the database named by
 * [store] path to the schema version of this program (the numbered
 * migrations embedded from src/store/migrations/), or with --status reports
 * the current and latest version without changing anything.
 *
 * Each migration runs in its own transaction together with its
 * PRAGMA user_version bump (src/store/migrate.c), so an interrupted or
 * failing run leaves the database at the last complete version; running
 * the command again continues from there.  A successful upgrade is recorded
 * in the audit log.  `serve` applies the same migrations at start-up; this
 * command exists so an administrator can upgrade (and back up first)
 * deliberately.
 *
 * Exit status: 0 done / up to date, 1 database error or database newer
 * than the program, 2 usage or configuration error.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bp/cli.h"
#include "bp/conf.h"
#include "bp/store.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: backpack migrate [-c FILE] [--status]\n"
            "\n"
            "Creates the database named by [store] path if needed and applies\n"
            "every schema migration it does not have yet, each in its own\n"
            "transaction.  Prints \"schema version A -> B\" or \"schema is up to\n"
            "date (version N)\".  A database written by a newer backpack is\n"
            "refused (exit status 1).\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE   configuration file (default: $BACKPACK_CONFIG,\n"
            "                      else " BP_CONF_DEFAULT_PATH ")\n"
            "  --status            print the current and latest schema version\n"
            "                      and change nothing\n"
            "  -h, --help          show this help\n");
}

static void store_opts(const struct bp_conf *c, bool readonly,
                       struct bp_store_opts *o)
{
    o->path = c->store_path;
    o->readonly = readonly;
    o->sync_full = c->store_synchronous == BP_CONF_SYNC_FULL;
    o->busy_timeout_ms = (int)c->store_busy_timeout;
}

static int show_status(const struct bp_conf *c)
{
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_store_opts o = {0};
    struct bp_store *s = NULL;
    int latest = bp_store_schema_latest(), v = 0, rc;

    if (access(c->store_path, F_OK) != 0) {
        printf("schema version 0, latest %d: no database at %s yet "
               "(run 'backpack migrate')\n", latest, c->store_path);
        return BP_EXIT_OK;
    }
    store_opts(c, true, &o);
    rc = bp_store_open(&o, &s, &eb);
    if (rc == 0)
        rc = bp_store_schema_version(s, &v);
    bp_store_close(s);
    if (rc < 0) {
        fprintf(stderr, "backpack migrate: %s: %s\n", c->store_path,
                eb.msg[0] ? eb.msg : bp_strerror(rc));
        return BP_EXIT_FAIL;
    }
    if (v > latest) {
        printf("schema version %d, latest %d: the database is newer than "
               "this program\n", v, latest);
        return BP_EXIT_FAIL;
    }
    if (v == latest)
        printf("schema version %d, latest %d: up to date\n", v, latest);
    else
        printf("schema version %d, latest %d: %d migration%s pending\n", v,
               latest, latest - v, latest - v == 1 ? "" : "s");
    return BP_EXIT_OK;
}

static int run_migrate(const struct bp_conf *c)
{
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_store_opts o = {0};
    struct bp_store *s = NULL;
    char detail[64];
    int from = 0, to = 0, rc;

    store_opts(c, false, &o);
    rc = bp_store_open(&o, &s, &eb);
    if (rc == 0)
        rc = bp_store_migrate(s, &from, &to, &eb);
    if (rc == 0 && to != from) {
        snprintf(detail, sizeof detail, "{\"from\":%d,\"to\":%d}", from, to);
        rc = bp_store_audit_append(s, 0, "cli", "schema.migrate", NULL, 0,
                                   detail);
        if (rc < 0)
            fprintf(stderr, "backpack migrate: %s: schema upgraded but the "
                    "audit record failed: %s\n", c->store_path,
                    bp_strerror(rc));
    }
    bp_store_close(s);
    if (rc < 0) {
        /* eb.where names the migration file when one failed; otherwise
         * it is the database path, which the line already shows. */
        bool in_file = strstr(eb.where, ".sql") != NULL;
        if (eb.msg[0] != '\0')
            fprintf(stderr, "backpack migrate: %s: %s%s%s\n", c->store_path,
                    in_file ? eb.where : "", in_file ? ": " : "", eb.msg);
        return BP_EXIT_FAIL;
    }
    if (to == from)
        printf("schema is up to date (version %d)\n", to);
    else
        printf("schema version %d -> %d\n", from, to);
    return fflush(stdout) == 0 ? BP_EXIT_OK : BP_EXIT_FAIL;
}

int bp_cmd_migrate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"status", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    struct bp_conf *c = NULL;
    bool status = false;
    int opt, rc;

    optind = 1;
    opterr = 1;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 's': status = true; break;
        case 'h': usage(stdout); return BP_EXIT_OK;
        default: usage(stderr); return BP_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "backpack migrate: unexpected argument '%s'\n",
                argv[optind]);
        usage(stderr);
        return BP_EXIT_USAGE;
    }
    rc = bp_cli_load_conf(path, &c);
    if (rc != 0)
        return rc;
    rc = status ? show_status(c) : run_migrate(c);
    bp_conf_free(c);
    return rc;
}
