/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `backpack staff add --email EMAIL --role teacher|admin|monitor [--name N]
 * [--password-stdin] [--update] [-c FILE]`: creates (or with --update,
 * changes) a staff account.  The database is migrated first so this works on
 * a fresh install.
 *
 * The password is never an argument (it would show in `ps`): it is read as
 * one line from stdin when --password-stdin is given or stdin is not a
 * terminal, otherwise prompted twice on the terminal with echo off.  It is
 * read with read(2) into one buffer (no stdio copies) that is wiped before
 * returning; neither it nor its hash is ever printed or logged.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "bp/cli.h"
#include "bp/staff.h"
#include "bp/store.h"

#define PW_BUF (BP_STAFF_PW_MAX_BYTES + 2)

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: backpack staff add --email EMAIL --role teacher|admin|monitor\n"
            "                          [--name \"Display Name\"] [--password-stdin]\n"
            "                          [--update] [-c FILE]\n"
            "\n"
            "Creates a staff account (the database is created or migrated if\n"
            "needed).  The password is read as one line from standard input when\n"
            "--password-stdin is given or standard input is not a terminal;\n"
            "otherwise it is asked for twice with echo off.  It is never taken\n"
            "as an argument.  Passwords need at least %d characters.\n"
            "\n"
            "Options:\n"
            "  --email EMAIL       the account's e-mail address (login name)\n"
            "  --role ROLE         teacher, admin or monitor\n"
            "  --name NAME         display name\n"
            "  --password-stdin    read the password from standard input\n"
            "  --update            change role, name and password of an existing\n"
            "                      account instead of failing\n"
            "  -c, --config FILE   configuration file (default: $BACKPACK_CONFIG,\n"
            "                      else " BP_CONF_DEFAULT_PATH ")\n"
            "  -h, --help          show this help\n"
            "\n"
            "Exit status: 0 done, 1 failure (account exists, weak password,\n"
            "database error), 2 usage or configuration error.\n",
            BP_STAFF_PW_MIN_CHARS);
}

/* Reads one line from fd into buf (without the line end).  Returns its
 * length, -1 on a read error or EOF before any byte, or PW_BUF when the
 * line is longer than the buffer allows (the rest is consumed). */
static ssize_t read_line_fd(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    bool any = false, toolong = false;
    char ch;

    for (;;) {
        ssize_t n = read(fd, &ch, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        any = true;
        if (ch == '\n')
            break;
        if (len < cap)
            buf[len++] = ch;
        else
            toolong = true;
    }
    ch = 0;
    if (!any)
        return -1;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    return toolong ? (ssize_t)PW_BUF : (ssize_t)len;
}

/* Prompts on the terminal with echo off; restores the mode afterwards. */
static ssize_t prompt_no_echo(const char *prompt, char *buf, size_t cap)
{
    struct termios old, quiet;
    sigset_t block, saved;
    ssize_t n;

    fprintf(stderr, "%s", prompt);
    fflush(stderr);
    if (tcgetattr(STDIN_FILENO, &old) < 0)
        return -1;
    quiet = old;
    quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    /* Ctrl-C must not leave the terminal without echo: hold the signals
     * until the mode is restored. */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGTSTP);
    sigprocmask(SIG_BLOCK, &block, &saved);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    n = read_line_fd(STDIN_FILENO, buf, cap);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    sigprocmask(SIG_SETMASK, &saved, NULL);
    fputc('\n', stderr);
    return n;
}

/* Fills pw; returns its length or -1 with a message printed. */
static ssize_t get_password(bool from_stdin, char *pw, char *again)
{
    ssize_t n, m;

    if (from_stdin || !isatty(STDIN_FILENO)) {
        n = read_line_fd(STDIN_FILENO, pw, PW_BUF - 1);
        if (n < 0)
            fprintf(stderr, "backpack staff add: no password on standard input\n");
        return n;
    }
    n = prompt_no_echo("Password: ", pw, PW_BUF - 1);
    if (n < 0)
        return -1;
    m = prompt_no_echo("Password (again): ", again, PW_BUF - 1);
    if (m != n || sodium_memcmp(pw, again, (size_t)n) != 0) {
        fprintf(stderr, "backpack staff add: the passwords do not match\n");
        return -1;
    }
    return n;
}

struct args {
    const char *config, *email, *role, *name;
    bool pw_stdin, update;
};

/* Parses the options after "add".  Returns -1 to continue, else an exit
 * status. */
static int parse_args(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"email", required_argument, NULL, 'e'},
        {"role", required_argument, NULL, 'r'},
        {"name", required_argument, NULL, 'n'},
        {"password-stdin", no_argument, NULL, 'p'},
        {"update", no_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': a->config = optarg; break;
        case 'e': a->email = optarg; break;
        case 'r': a->role = optarg; break;
        case 'n': a->name = optarg; break;
        case 'p': a->pw_stdin = true; break;
        case 'u': a->update = true; break;
        case 'h': usage(stdout); return BP_EXIT_OK;
        default: usage(stderr); return BP_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "backpack staff add: unexpected argument '%s' (the "
                "password is never an argument)\n", argv[optind]);
        return BP_EXIT_USAGE;
    }
    if (a->email == NULL || a->role == NULL) {
        fprintf(stderr, "backpack staff add: --email and --role are required\n");
        return BP_EXIT_USAGE;
    }
    if (!bp_staff_role_valid(a->role)) {
        fprintf(stderr, "backpack staff add: bad --role '%s', expected "
                "teacher, admin or monitor\n", a->role);
        return BP_EXIT_USAGE;
    }
    return -1;
}

/* Opens and migrates the database named by the config. */
static int open_store(const struct bp_conf *c, struct bp_store **s)
{
    struct bp_store_opts o = {
        .path = c->store_path,
        .sync_full = c->store_synchronous == BP_CONF_SYNC_FULL,
        .busy_timeout_ms = (int)c->store_busy_timeout,
    };
    struct bp_errbuf eb = {{0}, {0}};
    int rc = bp_store_open(&o, s, &eb);

    if (rc == 0)
        rc = bp_store_migrate(*s, NULL, NULL, &eb);
    if (rc < 0)
        fprintf(stderr, "backpack staff add: %s: %s\n",
                eb.where[0] ? eb.where : c->store_path,
                eb.msg[0] ? eb.msg : bp_strerror(rc));
    return rc;
}

static int staff_add(int argc, char **argv)
{
    struct args a = {0};
    struct bp_conf *c = NULL;
    struct bp_store *s = NULL;
    struct bp_errbuf eb = {{0}, {0}};
    char pw[PW_BUF], again[PW_BUF], email[BP_STAFF_EMAIL_MAX + 1];
    bool created = false;
    ssize_t n;
    int rc = parse_args(argc, argv, &a);

    if (rc >= 0)
        return rc;
    if (bp_staff_email_normalize(a.email, email, sizeof email, &eb) < 0) {
        fprintf(stderr, "backpack staff add: bad --email: %s\n", eb.msg);
        return BP_EXIT_USAGE;
    }
    rc = bp_cli_load_conf(a.config, &c);
    if (rc != 0)
        return rc;
    rc = BP_EXIT_FAIL;
    n = get_password(a.pw_stdin, pw, again);
    if (n < 0)
        goto out;
    if (bp_staff_password_check(pw, (size_t)n, email, &eb) < 0) {
        fprintf(stderr, "backpack staff add: password %s\n", eb.msg);
        goto out;
    }
    if (open_store(c, &s) < 0)
        goto out;
    struct bp_staff_account acc = {
        .email = email, .role = a.role, .display_name = a.name,
        .password = pw, .pw_len = (size_t)n,
    };
    if (bp_staff_add(s, &acc, a.update, &created, &eb) < 0) {
        fprintf(stderr, "backpack staff add: %s: %s\n", eb.where, eb.msg);
        goto out;
    }
    printf("staff account %s: %s (%s)\n", created ? "created" : "updated",
           email, a.role);
    rc = fflush(stdout) == 0 ? BP_EXIT_OK : BP_EXIT_FAIL;
out:
    sodium_memzero(pw, sizeof pw);
    sodium_memzero(again, sizeof again);
    bp_store_close(s);
    bp_conf_free(c);
    return rc;
}

int bp_cmd_staff(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "add") == 0)
        return staff_add(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
                      strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return BP_EXIT_OK;
    }
    fprintf(stderr, "backpack staff: expected a subcommand: add\n\n");
    usage(stderr);
    return BP_EXIT_USAGE;
}
