/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Parse-rate benchmark: bp_mime_parse (which includes HTML conversion,
 * classification and reply extraction) over every corpus message, repeated
 * N times.  Prints messages/s, MB/s and the peak RSS.
 *   mime_bench tests/corpora 200
 */
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

#include "bp/mime.h"
#include "corpus_util.h"

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/corpora";
    long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 100;
    struct corpus_list l = {0};
    corpus_scan(dir, &l);
    if (l.n == 0) {
        fprintf(stderr, "no .eml under %s\n", dir);
        return 1;
    }
    char **raw = calloc(l.n, sizeof *raw);
    size_t *len = calloc(l.n, sizeof *len), bytes = 0;
    for (size_t i = 0; i < l.n; i++) {
        raw[i] = corpus_read(l.paths[i], &len[i]);
        bytes += len[i];
    }
    bp_mime_init();
    struct bp_mime_limits lim = {256 * 1024, 1024 * 1024, 32, 256 * 1024};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t done = 0;
    for (long r = 0; r < rounds; r++) {
        for (size_t i = 0; i < l.n; i++) {
            struct bp_mime_msg *m = NULL;
            if (bp_mime_parse(raw[i], len[i], &lim, &m, NULL) == 0)
                done++;
            bp_mime_msg_free(m);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) +
               (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("mime_bench: %zu messages (%zu distinct, %.1f KiB avg) in %.3f s: "
           "%.0f messages/s, %.1f MB/s, peak RSS %ld KiB\n",
           done, l.n, (double)bytes / (double)l.n / 1024.0, s,
           (double)done / s, (double)bytes * (double)rounds / s / 1e6,
           ru.ru_maxrss);
    for (size_t i = 0; i < l.n; i++) {
        free(raw[i]);
        free(l.paths[i]);
    }
    free(raw);
    free(len);
    free(l.paths);
    return 0;
}
