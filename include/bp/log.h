/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Logging: one line per event, `key=value` fields, to stderr (journald) or a
 * file that SIGHUP reopens.
 *
 *   2026-11-23T12:00:00.123Z level=info mod=http event=listen addr=127.0.0.1:8080
 *
 * The caller writes the event name and the fields; values with spaces must be
 * quoted by the caller (use bp_log_quote()).  At info level and above every
 * line is scrubbed before it is written: phone numbers and e-mail addresses
 * are masked wherever they appear (this is student data; PRODUCT.md, STYLE.md
 * C9).  At debug level lines are written as they are, for developers.
 * The level is checked before formatting.  Thread-safe (one write(2) a line).
 */
#ifndef BP_LOG_H
#define BP_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum bp_log_level {
    BP_LOG_DEBUG = 0,
    BP_LOG_INFO,
    BP_LOG_NOTICE,
    BP_LOG_WARN,
    BP_LOG_ERROR,
};

/* Sets the minimum level and the sink (NULL or "" = stderr).  Returns 0 or a
 * negative errno when the file cannot be opened (stderr stays in use). */
int bp_log_setup(enum bp_log_level min, const char *path);
/* Reopens the log file (SIGHUP, after logrotate).  No-op for stderr. */
int bp_log_reopen(void);
void bp_log_close(void);
enum bp_log_level bp_log_min_level(void);
/* "debug" -> BP_LOG_DEBUG...  Returns -1 for an unknown name. */
int bp_log_level_parse(const char *name);
const char *bp_log_level_name(enum bp_log_level level);

void bp_log_write(enum bp_log_level level, const char *mod, const char *event,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define bp_log(level, mod, event, ...)                      \
    do {                                                    \
        if ((level) >= bp_log_min_level())                  \
            bp_log_write((level), (mod), (event), __VA_ARGS__); \
    } while (0)
#define bp_log_debug(mod, event, ...)  bp_log(BP_LOG_DEBUG, mod, event, __VA_ARGS__)
#define bp_log_info(mod, event, ...)   bp_log(BP_LOG_INFO, mod, event, __VA_ARGS__)
#define bp_log_notice(mod, event, ...) bp_log(BP_LOG_NOTICE, mod, event, __VA_ARGS__)
#define bp_log_warn(mod, event, ...)   bp_log(BP_LOG_WARN, mod, event, __VA_ARGS__)
#define bp_log_error(mod, event, ...)  bp_log(BP_LOG_ERROR, mod, event, __VA_ARGS__)

/*
 * Masks phone numbers and e-mail addresses in text, in place of a copy:
 * "+15551234567" -> "+1******4567", "ana.diaz@example.org" -> "a***@example.org".
 * Writes at most n-1 bytes and a NUL to out.  Exposed for tests.
 */
void bp_log_scrub(const char *in, char *out, size_t n);

/* Copies s into out as a log value: bare when safe, otherwise in double quotes
 * with \" and \\ escaped and control characters dropped.  Returns out. */
const char *bp_log_quote(const char *s, char *out, size_t n);

#endif
