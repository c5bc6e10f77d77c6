/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Machine translation of free text (src/mt/): a pluggable adapter speaking
 * the LibreTranslate API, which self-hosted LibreTranslate, Argos-based
 * servers and several hosted services accept:
 *
 *   POST {url}/translate  {"q": text, "source": "en", "target": "es",
 *                          "format": "text", "api_key": "..."}
 *   200 {"translatedText": "..."}
 *
 * The ORIGINAL IS ALWAYS KEPT by the caller (message.original_body,
 * original_locale, machine_translated = 1); this module only translates.
 * A failure never falls back to the original language silently: the caller
 * holds the delivery (no_translation), exactly as when no adapter is
 * configured (docs/translation.md).
 *
 * Threading model (decision): a translation is one short blocking libcurl
 * "easy" request with a hard timeout ([translate] timeout).  The CLI calls
 * bp_mt_translate directly.  The daemon must not block its loop, so it uses
 * bp_mt_translate_async, which runs the same request on libuv's worker
 * pool (uv_queue_work) and calls back on the loop thread.  Translations are
 * few (one per target language of an announcement, not one per family), so
 * the multi interface the SMS sender needs for thousands of requests would
 * add complexity for nothing here.
 */
#ifndef BP_MT_H
#define BP_MT_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "bp/base.h"
#include "bp/conf.h"
#include "bp/err.h"

struct bp_mt;

struct bp_mt_opts {
    const char *url;          /* base URL, e.g. http://127.0.0.1:5000 (copied) */
    const char *api_key;      /* "" or NULL: none (copied) */
    long timeout_ms;          /* whole request, > 0 */
};

/* *out is new (bp_mt_free).  BP_EINVAL_INPUT for an empty url or timeout.
 * Calls curl_global_init once per process (thread-safe in libcurl 7.88). */
BP_WUR int bp_mt_new(const struct bp_mt_opts *o, struct bp_mt **out,
                     struct bp_errbuf *eb);
/* From [translate]: *out = NULL (and 0) when translation is not enabled. */
BP_WUR int bp_mt_from_conf(const struct bp_conf *conf, struct bp_mt **out,
                           struct bp_errbuf *eb);
void bp_mt_free(struct bp_mt *mt);        /* NULL-safe; no job may be running */

/*
 * The LibreTranslate language code for a BCP 47 tag: the primary language
 * subtag lower-cased ("es-MX" -> "es", "pt-BR" -> "pt"), except Chinese:
 * zh-Hant / zh-TW / zh-HK -> "zt", other zh -> "zh"; "fil" -> "tl".
 * Writes at most n bytes (NUL included).  Pure.
 */
void bp_mt_lang_code(const char *tag, char *out, size_t n);

/*
 * Translates text (UTF-8) from source to target (BCP 47 tags, mapped with
 * bp_mt_lang_code) and appends the translation to out.  Blocking (at most
 * the timeout); any thread; several calls may run at once.  Returns 0;
 * BP_ETEMPFAIL for a timeout, a connection error, 429 or 5xx (try again
 * later); BP_EPERMFAIL for another HTTP status or an answer without
 * translatedText (eb says which); BP_EINVAL_INPUT for invalid UTF-8 or an
 * empty text; BP_ETOOBIG when out's cap is reached.  Logs the outcome
 * (status, languages, duration; never the text) at info/warn.
 */
BP_WUR int bp_mt_translate(struct bp_mt *mt, const char *text, const char *source,
                           const char *target, struct bp_buf *out,
                           struct bp_errbuf *eb);

/* An asynchronous translation: fill the inputs, call bp_mt_translate_async,
 * read rc/out/eb in cb (loop thread).  The caller owns the job until cb. */
struct bp_mt_job;
typedef void (*bp_mt_done_cb)(struct bp_mt_job *job);
struct bp_mt_job {
    /* input (borrowed until cb) */
    const char *text, *source, *target;
    bp_mt_done_cb cb;
    void *data;
    /* output */
    int rc;
    struct bp_buf out;        /* initialised by bp_mt_translate_async; caller frees */
    struct bp_errbuf eb;
    /* private */
    struct bp_mt *_mt;
    uv_work_t _work;
};

/* Queues job on loop's worker pool.  Loop thread.  Returns 0 or a libuv
 * error (then cb is not called). */
BP_WUR int bp_mt_translate_async(struct bp_mt *mt, uv_loop_t *loop,
                                 struct bp_mt_job *job);

#endif
