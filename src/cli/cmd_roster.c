/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* PLACEHOLDER: being written by the module owner. */
#include <stdio.h>
#include "bp/cli.h"
int bp_cmd_roster(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "backpack: %s: not built yet\n", argv[0]);
    return BP_EXIT_FAIL;
}
