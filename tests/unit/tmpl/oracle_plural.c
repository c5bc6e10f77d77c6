/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Oracle driver (not a test by itself):
 *   oracle_plural LOCALE PATTERN COUNT...
 * renders PATTERN (ICU MessageFormat, argument {count} a number) in LOCALE
 * with bp_tmpl_render_pattern once per COUNT and prints one line each.
 * tests/integration/test_tmpl_oracle.py compares the lines with the npm
 * package intl-messageformat (an independent implementation).
 */
#include <stdio.h>
#include <stdlib.h>

#include "bp/tmpl.h"

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: oracle_plural LOCALE PATTERN COUNT...\n");
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        struct bp_tmpl_arg a = {.name = "count", .type = BP_TMPL_INT};
        struct bp_errbuf eb = {{0}, {0}};
        struct bp_buf out;

        a.v.i64 = strtoll(argv[i], NULL, 10);
        bp_buf_init(&out, 1 << 16);
        if (bp_tmpl_render_pattern(argv[1], argv[2], &a, 1, "UTC", &out, &eb) < 0) {
            fprintf(stderr, "render %s: %s\n", argv[i], eb.msg);
            bp_buf_free(&out);
            return 1;
        }
        printf("%s\n", out.data ? out.data : "");
        bp_buf_free(&out);
    }
    return 0;
}
