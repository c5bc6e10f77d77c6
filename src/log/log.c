/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Logging sink and line formatting.  One open fd (stderr or a file), one
 * write(2) per line so lines from several threads never interleave, and a
 * reopen for SIGHUP.  Masking of personal data lives in scrub.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bp/base.h"
#include "bp/log.h"

#define LINE_MAX_BYTES 4096

static _Atomic int min_level = BP_LOG_INFO;
static _Atomic int log_fd = 2;
static char *log_path;

static const char *const level_names[] = {
    "debug", "info", "notice", "warn", "error",
};

const char *bp_log_level_name(enum bp_log_level level)
{
    if ((unsigned)level >= BP_ARRAY_LEN(level_names))
        return "?";
    return level_names[level];
}

int bp_log_level_parse(const char *name)
{
    for (size_t i = 0; i < BP_ARRAY_LEN(level_names); i++)
        if (bp_str_case_eq(name, level_names[i]))
            return (int)i;
    if (bp_str_case_eq(name, "warning"))
        return BP_LOG_WARN;
    return -1;
}

enum bp_log_level bp_log_min_level(void)
{
    return (enum bp_log_level)atomic_load_explicit(&min_level,
                                                   memory_order_relaxed);
}

static int open_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    return fd < 0 ? -errno : fd;
}

int bp_log_setup(enum bp_log_level min, const char *path)
{
    atomic_store(&min_level, (int)min);
    bp_log_close();
    if (path == NULL || path[0] == '\0')
        return 0;
    int fd = open_file(path);
    if (fd < 0)
        return fd;
    log_path = bp_xstrdup(path);
    atomic_store(&log_fd, fd);
    return 0;
}

int bp_log_reopen(void)
{
    int fd, old;

    if (log_path == NULL)
        return 0;
    fd = open_file(log_path);
    if (fd < 0)
        return fd;
    old = atomic_exchange(&log_fd, fd);
    if (old > 2)
        close(old);
    return 0;
}

void bp_log_close(void)
{
    int old = atomic_exchange(&log_fd, 2);
    if (old > 2)
        close(old);
    bp_free_and_null(log_path);
}

void bp_log_write(enum bp_log_level level, const char *mod, const char *event,
                  const char *fmt, ...)
{
    char raw[LINE_MAX_BYTES], line[LINE_MAX_BYTES], ts[32];
    va_list ap;
    int n;
    size_t len;

    bp_clock_fmt_rfc3339(bp_clock_now_ms(), ts, sizeof ts);
    n = snprintf(raw, sizeof raw, "%s level=%s mod=%s event=%s", ts,
                 bp_log_level_name(level), mod, event);
    if (n < 0)
        return;
    len = (size_t)n < sizeof raw ? (size_t)n : sizeof raw - 1;
    if (fmt != NULL && fmt[0] != '\0' && len < sizeof raw - 2) {
        raw[len++] = ' ';
        va_start(ap, fmt);
        vsnprintf(raw + len, sizeof raw - len, fmt, ap);
        va_end(ap);
    }
    raw[sizeof raw - 1] = '\0';
    if (level >= BP_LOG_INFO)
        bp_log_scrub(raw, line, sizeof line - 1);
    else
        memcpy(line, raw, sizeof raw);
    len = strlen(line);
    for (size_t i = 0; i < len; i++)           /* one event, one line */
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len++] = '\n';
    ssize_t w = write(atomic_load(&log_fd), line, len);
    (void)w;
}

const char *bp_log_quote(const char *s, char *out, size_t n)
{
    bool bare = s[0] != '\0';
    size_t o = 0;

    for (const char *p = s; *p && bare; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' ||
            (unsigned char)*p < 0x20)
            bare = false;
    if (n == 0)
        return out;
    if (bare) {
        snprintf(out, n, "%s", s);
        return out;
    }
    if (o + 1 < n)
        out[o++] = '"';
    for (const char *p = s; *p && o + 3 < n; p++) {
        if ((unsigned char)*p < 0x20)
            continue;
        if (*p == '"' || *p == '\\')
            out[o++] = '\\';
        out[o++] = *p;
    }
    if (o + 1 < n)
        out[o++] = '"';
    out[o] = '\0';
    return out;
}
