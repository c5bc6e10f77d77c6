/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Helpers shared by the subcommands: finding and loading the config. */
#include <stdio.h>
#include <stdlib.h>

#include "bp/cli.h"
#include "bp/log.h"

int bp_cli_load_conf(const char *path, struct bp_conf **out)
{
    struct bp_errbuf eb = {{0}, {0}};
    const char *levels[] = {"debug", "info", "notice", "warn", "error"};
    int rc, lvl;

    if (path == NULL)
        path = getenv("BACKPACK_CONFIG");
    if (path == NULL || path[0] == '\0')
        path = BP_CONF_DEFAULT_PATH;
    rc = bp_conf_load(path, out, &eb);
    if (rc < 0) {
        fprintf(stderr, "backpack: %s: %s\n", eb.where[0] ? eb.where : path,
                eb.msg[0] ? eb.msg : bp_strerror(rc));
        return BP_EXIT_USAGE;
    }
    lvl = bp_log_level_parse(levels[(*out)->log_level]);
    rc = bp_log_setup((enum bp_log_level)lvl, (*out)->log_file);
    if (rc < 0) {
        fprintf(stderr, "backpack: %s: cannot open log file %s: %s\n", path,
                (*out)->log_file, bp_strerror(rc));
        bp_conf_free(*out);
        *out = NULL;
        return BP_EXIT_USAGE;
    }
    return 0;
}
