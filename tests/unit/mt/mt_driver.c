/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Driver for tests/integration/test_translate.py: translates one text with
 * the real adapter (src/mt/) against a LibreTranslate-compatible server and
 * prints one JSON line {"rc": "...", "text": "...", "msg": "..."}.
 *
 *   mt_driver URL TIMEOUT_MS SOURCE TARGET TEXT [API_KEY] [--async]
 *
 * --async goes through bp_mt_translate_async on a libuv loop (the daemon's
 * path: worker pool, callback on the loop thread).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bp/mt.h"

static void print_result(int rc, const struct bp_buf *out, const struct bp_errbuf *eb)
{
    json_t *o = json_pack("{s:s,s:s,s:s}", "rc", rc == 0 ? "ok" : bp_err_name(rc),
                          "text", out->data ? out->data : "", "msg", eb->msg);
    char *s = json_dumps(o, JSON_COMPACT);

    printf("%s\n", s);
    free(s);
    json_decref(o);
}

static void on_done(struct bp_mt_job *job)
{
    print_result(job->rc, &job->out, &job->eb);
    bp_buf_free(&job->out);
}

int main(int argc, char **argv)
{
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_mt *mt;
    bool async = argc > 1 && strcmp(argv[argc - 1], "--async") == 0;
    int nargs = argc - (async ? 1 : 0);
    struct bp_mt_opts o;
    int rc;

    if (nargs < 6) {
        fprintf(stderr, "usage: mt_driver URL TIMEOUT_MS SOURCE TARGET TEXT [KEY] [--async]\n");
        return 2;
    }
    o = (struct bp_mt_opts){argv[1], nargs > 6 ? argv[6] : NULL, atol(argv[2])};
    if ((rc = bp_mt_new(&o, &mt, &eb)) < 0) {
        fprintf(stderr, "%s\n", eb.msg);
        return 2;
    }
    if (async) {
        uv_loop_t loop;
        struct bp_mt_job job = {.text = argv[5], .source = argv[3], .target = argv[4],
                                .cb = on_done};
        uv_loop_init(&loop);
        if (bp_mt_translate_async(mt, &loop, &job) == 0)
            uv_run(&loop, UV_RUN_DEFAULT);
        rc = uv_loop_close(&loop) == 0 ? 0 : 1;
    } else {
        struct bp_buf out;
        bp_buf_init(&out, 64 * 1024);
        rc = bp_mt_translate(mt, argv[5], argv[3], argv[4], &out, &eb);
        print_result(rc, &out, &eb);
        bp_buf_free(&out);
        rc = 0;
    }
    bp_mt_free(mt);
    return rc;
}
