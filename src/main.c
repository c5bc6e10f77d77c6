/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backpack: argv dispatch only.  Each subcommand lives in src/cli/.
 */
#include <stdio.h>
#include <string.h>

#include "bp/cli.h"
#include "bp_build.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"serve", bp_cmd_serve, "run the daemon (webhooks, outbox, dashboard)"},
    {"migrate", bp_cmd_migrate, "create or upgrade the database schema"},
    {"check-config", bp_cmd_check_config, "validate a configuration file and exit"},
    {"roster", bp_cmd_roster, "roster import: load students, guardians and contacts"},
    {"staff", bp_cmd_staff, "staff add: create a staff account"},
    {"send", bp_cmd_send, "send a message to a student's, section's or school's families"},
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: backpack COMMAND [OPTIONS]\n"
            "       backpack --version | --help\n\n"
            "Backpack: two-way messages between a school and its families.\n\n"
            "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'backpack COMMAND --help' for the options of a command.\n"
               "Configuration: -c FILE, else $BACKPACK_CONFIG, else %s\n",
            BP_CONF_DEFAULT_PATH);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return BP_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return BP_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("backpack %s\n", BP_VERSION);
        return BP_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "backpack: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return BP_EXIT_USAGE;
}
