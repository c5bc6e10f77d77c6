/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `backpack serve [-c FILE]`: runs the daemon.  Loads the configuration,
 * builds the app (migrations, store writer, HTTP server with /healthz and
 * /metrics) and runs its loop until SIGTERM/SIGINT.  Exit status: 0 after a
 * clean stop (uv_loop_close() returned 0), 1 on a runtime failure, 2 on a
 * usage or configuration error.
 */
#include <getopt.h>
#include <stdio.h>

#include "bp/app.h"
#include "bp/cli.h"
#include "bp/log.h"
#include "bp_build.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: backpack serve [-c FILE]\n"
            "\n"
            "Runs the daemon: applies pending database migrations, starts the\n"
            "store writer and serves HTTP on [server] listen (/healthz,\n"
            "/metrics, webhooks).  Logs go to standard error (journald) or\n"
            "[log] file.  SIGTERM or SIGINT stops it cleanly (in-flight\n"
            "requests finish, queued writes are committed); SIGHUP reopens\n"
            "the log file.\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE   configuration file (default: $BACKPACK_CONFIG,\n"
            "                      else " BP_CONF_DEFAULT_PATH ")\n"
            "  -h, --help          show this help\n");
}

int bp_cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_conf *conf = NULL;
    struct bp_app *app = NULL;
    const char *path = NULL;
    int opt, rc;

    optind = 1;
    opterr = 1;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 'h': usage(stdout); return BP_EXIT_OK;
        default: usage(stderr); return BP_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "backpack serve: unexpected argument '%s'\n",
                argv[optind]);
        usage(stderr);
        return BP_EXIT_USAGE;
    }
    rc = bp_cli_load_conf(path, &conf);
    if (rc != 0)
        return rc;
    bp_log_info("app", "starting", "version=%s", BP_VERSION);
    rc = bp_app_new(conf, &app, &eb);
    if (rc < 0) {
        bp_log_error("app", "start_failed", "err=%s where=%s msg=\"%s\"",
                     bp_err_name(rc), eb.where, eb.msg);
        bp_conf_free(conf);
        bp_log_close();
        return BP_EXIT_FAIL;
    }
    rc = bp_app_modules_start(app, &eb);
    if (rc < 0) {
        bp_log_error("app", "start_failed", "err=%s where=%s msg=\"%s\"",
                     bp_err_name(rc), eb.where, eb.msg);
        bp_app_stop(app);
        if (bp_app_run(app, &eb) < 0)   /* only drains and closes */
            bp_log_warn("app", "stop_after_failed_start", NULL);
        bp_app_free(app);
        bp_conf_free(conf);
        bp_log_close();
        return BP_EXIT_FAIL;
    }
    rc = bp_app_run(app, &eb);
    bp_app_free(app);
    bp_conf_free(conf);
    bp_log_close();
    return rc == 0 ? BP_EXIT_OK : BP_EXIT_FAIL;
}
