/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `backpack check-config [-c FILE] [--dump] [--print-example]`: validates a
 * configuration file and exits (0 "FILE: OK", 2 with the error naming
 * FILE:LINE and key), prints the effective configuration with secrets
 * redacted, or prints the commented example generated from the schema
 * (config/backpack.ini.example is that output; a lint test compares them).
 */
#include <getopt.h>
#include <stdio.h>

#include "bp/cli.h"
#include "bp/conf.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: backpack check-config [-c FILE] [--dump] [--print-example]\n"
            "\n"
            "Validates the configuration file and exits: status 0 and\n"
            "\"FILE: OK\" when it is valid, status 2 and the error (FILE:LINE,\n"
            "section and key) when it is not.\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE   configuration file (default: $BACKPACK_CONFIG,\n"
            "                      else " BP_CONF_DEFAULT_PATH ")\n"
            "  --dump              print the effective configuration (defaults,\n"
            "                      file and BACKPACK_<SECTION>_<KEY> environment\n"
            "                      overrides applied; secrets redacted)\n"
            "  --print-example     print a fully commented example configuration\n"
            "                      generated from the schema, and exit\n"
            "  -h, --help          show this help\n");
}

int bp_cmd_check_config(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"dump", no_argument, NULL, 'd'},
        {"print-example", no_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    struct bp_conf *c = NULL;
    bool dump = false, example = false;
    int opt, rc;

    optind = 1;
    opterr = 1;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 'd': dump = true; break;
        case 'e': example = true; break;
        case 'h': usage(stdout); return BP_EXIT_OK;
        default: usage(stderr); return BP_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "backpack check-config: unexpected argument '%s'\n",
                argv[optind]);
        usage(stderr);
        return BP_EXIT_USAGE;
    }
    if (example) {
        bp_conf_write_example(stdout);
        return fflush(stdout) == 0 ? BP_EXIT_OK : BP_EXIT_FAIL;
    }
    rc = bp_cli_load_conf(path, &c);
    if (rc != 0)
        return rc;
    if (dump) {
        bp_conf_dump(c, stdout);
        fprintf(stderr, "%s: OK\n", c->file);
    } else {
        printf("%s: OK\n", c->file);
    }
    bp_conf_free(c);
    return fflush(stdout) == 0 ? BP_EXIT_OK : BP_EXIT_FAIL;
}
