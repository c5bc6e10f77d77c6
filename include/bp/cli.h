/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Subcommands of the `backpack` binary.  Each takes the arguments after its
 * own name (argv[0] is the subcommand name), handles its own --help, and
 * returns the process exit status:
 *   0 success, 1 runtime failure, 2 usage or configuration error.
 */
#ifndef BP_CLI_H
#define BP_CLI_H

#include "bp/conf.h"

#define BP_EXIT_OK     0
#define BP_EXIT_FAIL   1
#define BP_EXIT_USAGE  2

#define BP_CONF_DEFAULT_PATH "/etc/backpack/backpack.ini"

int bp_cmd_serve(int argc, char **argv);
int bp_cmd_migrate(int argc, char **argv);
int bp_cmd_check_config(int argc, char **argv);
int bp_cmd_roster(int argc, char **argv);       /* roster import ... */
int bp_cmd_staff(int argc, char **argv);        /* staff add ... */
int bp_cmd_send(int argc, char **argv);         /* send --section ... --text ... */

/*
 * Loads the configuration named by -c (path may be NULL: then
 * $BACKPACK_CONFIG, then BP_CONF_DEFAULT_PATH).  On error prints
 * "backpack: FILE:LINE: message" to stderr and returns BP_EXIT_USAGE; on
 * success returns 0 and *out is new (bp_conf_free).  Also applies the log
 * settings of the config.
 */
int bp_cli_load_conf(const char *path, struct bp_conf **out);

#endif
