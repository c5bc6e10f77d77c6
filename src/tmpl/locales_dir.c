/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Where the message catalogue lives: the configured [school] locales_dir,
 * else the installed data directory, else the source tree (running from a
 * build directory).  One function so the daemon (src/app/modules.c) and
 * the CLI (`backpack send --template`) always load the same catalogue.
 */
#include <sys/stat.h>

#include "bp/tmpl.h"
#include "bp_build.h"

const char *bp_tmpl_locales_dir(const char *configured)
{
    struct stat st;

    if (configured != NULL && configured[0] != '\0')
        return configured;
    if (stat(BP_LOCALES_DIR, &st) == 0 && S_ISDIR(st.st_mode))
        return BP_LOCALES_DIR;
    return BP_SOURCE_DIR "/locales";       /* running from the build tree */
}
