/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Error codes shared by every module.
 *
 * Convention (STYLE.md C3): a fallible function returns int, 0 on success,
 * a negative BP_E... code on failure.  libuv's negative errno values pass
 * through unchanged; the project's own codes live in src/base/err.def and sit
 * below -4000 so they never collide with errno or UV_E* values.
 */
#ifndef BP_ERR_H
#define BP_ERR_H

#include <stddef.h>

enum bp_err {
    BP_OK = 0,
#define BP_ERR(name, code, text) BP_##name = (code),
#include "../../src/base/err.def"
#undef BP_ERR
};

/* Human text for an error code (ours, libuv's or errno's).  Never NULL. */
const char *bp_strerror(int err);
/* Symbolic name ("BP_ENOTFOUND", "ENOENT"...).  Never NULL. */
const char *bp_err_name(int err);

/*
 * Human detail for parse/config/provider errors (STYLE.md C3.3): a short
 * message plus where it happened (file:line, JSON path).  Callers may pass
 * NULL when they do not care.
 */
struct bp_errbuf {
    char msg[256];
    char where[256];
};

void bp_errbuf_set(struct bp_errbuf *eb, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define BP_WUR __attribute__((warn_unused_result))

#endif
