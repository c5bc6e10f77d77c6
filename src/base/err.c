/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Error code tables, generated from err.def, plus the errbuf helper.
 * Codes that are not ours are handed to libuv, which knows both its own
 * UV_E* values and plain negative errno values.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "bp/err.h"

const char *bp_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define BP_ERR(name, code, text) case code: return text;
#include "err.def"
#undef BP_ERR
    default:
        return uv_strerror(err);
    }
}

const char *bp_err_name(int err)
{
    switch (err) {
    case 0:
        return "OK";
#define BP_ERR(name, code, text) case code: return "BP_" #name;
#include "err.def"
#undef BP_ERR
    default:
        return uv_err_name(err);
    }
}

void bp_errbuf_set(struct bp_errbuf *eb, const char *where, const char *fmt, ...)
{
    va_list ap;

    if (eb == NULL)
        return;
    snprintf(eb->where, sizeof eb->where, "%s", where ? where : "");
    va_start(ap, fmt);
    vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
    va_end(ap);
}
