/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `backpack roster import (--oneroster DIR | --csv FILE) [-c FILE] [--strict]
 * [--dry-run]`: loads students, guardians, contacts, sections and staff
 * (src/roster/, docs/roster.md).
 *
 * The configuration supplies the database path, school.default_country (for
 * phones written without +), school.default_locale, roster.language_column
 * and school.name (the simple CSV has no orgs); they are passed to the
 * roster module as plain values.  The database is created and migrated if
 * needed, so this works on a fresh install -- except for a dry run, which
 * never writes: on a database that does not exist yet it validates against
 * an empty in-memory database instead.
 *
 * Every rejected row and dropped value is printed to stderr as
 * "FILE:LINE: reason" (this is the administrator's terminal, so ids and
 * values are named), and a summary to stdout.  Exit status: 0 imported
 * (possibly with rejected rows, see the summary), 1 nothing imported (a
 * structural error, --strict with problems, a database error), 2 usage or
 * configuration error.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bp/cli.h"
#include "bp/roster.h"
#include "bp/store.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: backpack roster import (--oneroster DIR | --csv FILE)\n"
            "                              [--strict] [--dry-run] [-c FILE]\n"
            "\n"
            "Imports students, guardians, their phones and e-mail addresses,\n"
            "sections and teachers, in one transaction.  Re-importing updates\n"
            "rows by sourcedId and never duplicates them.  Every rejected row is\n"
            "reported as FILE:LINE: reason on standard error.\n"
            "\n"
            "Options:\n"
            "  --oneroster DIR     a OneRoster 1.1 CSV bundle (orgs.csv, users.csv,\n"
            "                      classes.csv, enrollments.csv)\n"
            "  --csv FILE          the simple CSV, one row per student and guardian\n"
            "                      (columns: see docs/roster.md)\n"
            "  --strict            import nothing if any row is rejected or any\n"
            "                      value dropped\n"
            "  --dry-run           validate and print the summary without writing\n"
            "  -c, --config FILE   configuration file (default: $BACKPACK_CONFIG,\n"
            "                      else " BP_CONF_DEFAULT_PATH ")\n"
            "  -h, --help          show this help\n"
            "\n"
            "Exit status: 0 imported, 1 nothing imported (bad file, --strict,\n"
            "database error), 2 usage or configuration error.\n");
}

/* Opens the store: the configured file (created and migrated), or for a dry
 * run on a database that does not exist or is empty, a migrated in-memory
 * database so nothing is written. */
static int open_store(const struct bp_conf *c, bool dry_run,
                      struct bp_store **s)
{
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_store_opts o = {
        .path = c->store_path,
        .sync_full = c->store_synchronous == BP_CONF_SYNC_FULL,
        .busy_timeout_ms = (int)c->store_busy_timeout,
    };
    struct stat st;
    int rc, version = 0;

    if (dry_run && stat(c->store_path, &st) != 0)
        o.path = ":memory:";
    rc = bp_store_open(&o, s, &eb);
    if (rc == 0 && dry_run && *s != NULL && strcmp(o.path, ":memory:") != 0) {
        rc = bp_store_schema_version(*s, &version);
        if (rc == 0 && version == 0) {
            /* An empty file: validate against an empty database. */
            bp_store_close(*s);
            o.path = ":memory:";
            rc = bp_store_open(&o, s, &eb);
        } else if (rc == 0 && version != bp_store_schema_latest()) {
            bp_errbuf_set(&eb, c->store_path, "schema is at version %d; run "
                          "'backpack migrate' first", version);
            rc = BP_ESCHEMA;
        } else if (rc == 0) {
            return 0;
        }
    }
    if (rc == 0)
        rc = bp_store_migrate(*s, NULL, NULL, &eb);
    if (rc < 0) {
        fprintf(stderr, "backpack: %s: %s\n", eb.where[0] ? eb.where : c->store_path,
                eb.msg[0] ? eb.msg : bp_strerror(rc));
        bp_store_close(*s);
        *s = NULL;
        return BP_EXIT_FAIL;
    }
    return 0;
}

static int import(const struct bp_conf *c, const char *dir, const char *csv,
                  bool strict, bool dry_run)
{
    struct bp_roster_opts o = {
        .default_country = c->school_default_country,
        .default_locale = c->school_default_locale,
        .language_column = c->roster_language_column,
        .school_name = c->school_name,
        .strict = strict,
        .dry_run = dry_run,
        .report = stderr,
    };
    struct bp_roster_summary sum;
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_store *s = NULL;
    int rc = open_store(c, dry_run, &s);

    if (rc != 0)
        return rc;
    rc = dir ? bp_roster_import_oneroster(s, dir, &o, &sum, &eb)
             : bp_roster_import_simple(s, csv, &o, &sum, &eb);
    bp_store_close(s);
    if (rc < 0) {
        fprintf(stderr, "backpack: %s: %s\n",
                eb.where[0] ? eb.where : (dir ? dir : csv),
                eb.msg[0] ? eb.msg : bp_strerror(rc));
        fprintf(stderr, "backpack: roster import failed; the database was "
                "not changed\n");
        return BP_EXIT_FAIL;
    }
    bp_roster_summary_print(&sum, stdout);
    if (dry_run)
        printf("Dry run: nothing was written.\n");
    return BP_EXIT_OK;
}

int bp_cmd_roster(int argc, char **argv)
{
    static const struct option opts[] = {
        {"oneroster", required_argument, NULL, 'o'},
        {"csv", required_argument, NULL, 's'},
        {"strict", no_argument, NULL, 'S'},
        {"dry-run", no_argument, NULL, 'n'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *csv = NULL, *conf_path = NULL;
    bool strict = false, dry_run = false;
    struct bp_conf *c = NULL;
    int opt, rc;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
                      strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return BP_EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "import") != 0) {
        usage(stderr);
        return BP_EXIT_USAGE;
    }
    argc--;
    argv++;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'o': dir = optarg; break;
        case 's': csv = optarg; break;
        case 'S': strict = true; break;
        case 'n': dry_run = true; break;
        case 'c': conf_path = optarg; break;
        case 'h': usage(stdout); return BP_EXIT_OK;
        default: usage(stderr); return BP_EXIT_USAGE;
        }
    }
    if (optind != argc || (dir == NULL) == (csv == NULL)) {
        fprintf(stderr, "backpack: roster import: give exactly one of "
                "--oneroster DIR or --csv FILE\n");
        usage(stderr);
        return BP_EXIT_USAGE;
    }
    rc = bp_cli_load_conf(conf_path, &c);
    if (rc != 0)
        return rc;
    rc = import(c, dir, csv, strict, dry_run);
    bp_conf_free(c);
    return rc;
}
