/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Parent replies in another language, translated for the teacher (issue 6,
 * item 7).  The app tells the outbox about each new inbound message, SMS
 * or e-mail, after its commit (bp_app_on_inbound_message); when
 * [translate] is enabled and
 * the sender guardian's language is not the school's, the text is
 * translated on libuv's worker pool (bp_mt_translate_async) and written
 * back as a SECOND write: body = translation, original_body = the parent's
 * text, original_locale = the guardian's locale, machine_translated = 1.
 * The webhook's answer never waits for the translation.  A failed
 * translation leaves the message as the parent wrote it (the teacher still
 * reads the original; logged at warn, never the text).  Keyword messages
 * (STOP/START/HELP), auto-replies and bounces are not translated.  Of an
 * e-mail only the reply extracted by the MIME parser (message.body) is
 * translated, never the quoted history (body_full is left as received);
 * a reply longer than MAX_TEXT is left untranslated rather than sent whole
 * to the translator (an e-mail body may be up to 1 MiB; the answer is
 * capped at 1 MiB too, and public LibreTranslate instances refuse much
 * less).
 */
#include <stdlib.h>
#include <string.h>

#include "bp/log.h"
#include "outbox_int.h"

#define MAX_TEXT (32 * 1024)      /* bytes of the parent's text sent to translate */

struct inbound_mt {
    struct bp_mt_job job;
    struct bp_store_wreq wreq;
    struct bp_store_mt_inbound m;
    struct bp_outbox *ob;
};

static void im_free(struct inbound_mt *t)
{
    free(t->m.body);
    bp_buf_free(&t->job.out);
    free(t);
}

/* A translation that was queued is over (written, failed or dropped): the
 * outbox's stop waits for these, since they write through the writer. */
static void im_done(struct inbound_mt *t)
{
    struct bp_outbox *ob = t->ob;

    im_free(t);
    if (--ob->mt_inflight == 0)
        bp__outbox_maybe_stopped(ob);
}

static void on_written(struct bp_store_wreq *w, int status)
{
    struct inbound_mt *t = BP_CONTAINER_OF(w, struct inbound_mt, wreq);

    if (status < 0)
        bp_log_warn("outbox", "mt_inbound_not_written", "msg=%lld err=%s",
                    (long long)t->m.message_id, bp_err_name(status));
    else
        bp_log_info("outbox", "mt_inbound", "msg=%lld locale=%s",
                    (long long)t->m.message_id, t->m.locale);
    im_done(t);
}

static void on_translated(struct bp_mt_job *job)
{
    struct inbound_mt *t = BP_CONTAINER_OF(job, struct inbound_mt, job);

    if (job->rc < 0 || job->out.data == NULL) {
        bp_log_warn("outbox", "mt_inbound_failed", "msg=%lld locale=%s err=%s",
                    (long long)t->m.message_id, t->m.locale, bp_err_name(job->rc));
        im_done(t);
        return;
    }
    t->m.translation = job->out.data;
    t->wreq.fn = bp_store_mt_inbound_set;
    t->wreq.arg = &t->m;
    t->wreq.done = on_written;
    bp_store_writer_submit(t->ob->env.writer, &t->wreq);
}

void bp_outbox_inbound_message(void *outbox, int64_t message_id)
{
    struct bp_outbox *ob = outbox;
    struct inbound_mt *t;
    char a[16], b[16];

    if (ob == NULL || ob->env.mt == NULL || ob->stopping || ob->env.store_ro == NULL)
        return;
    t = bp_xcalloc(1, sizeof *t);
    t->ob = ob;
    t->m.message_id = message_id;
    bp_buf_init(&t->job.out, 0);
    if (bp_store_mt_inbound_get(ob->env.store_ro, &t->m) < 0 || t->m.locale[0] == '\0' ||
        bp_str_eq(t->m.locale, "und") || t->m.body[0] == '\0') {
        im_free(t);
        return;
    }
    bp_mt_lang_code(t->m.locale, a, sizeof a);
    bp_mt_lang_code(ob->conf->school_default_locale, b, sizeof b);
    if (bp_str_eq(a, b)) {            /* the school's language already */
        im_free(t);
        return;
    }
    if (strlen(t->m.body) > MAX_TEXT) {
        bp_log_warn("outbox", "mt_inbound_skipped", "msg=%lld reason=too_long bytes=%zu max=%d",
                    (long long)message_id, strlen(t->m.body), MAX_TEXT);
        im_free(t);
        return;
    }
    t->job.text = t->m.body;
    t->job.source = t->m.locale;
    t->job.target = ob->conf->school_default_locale;
    t->job.cb = on_translated;
    t->job.data = t;
    if (bp_mt_translate_async(ob->env.mt, ob->env.loop, &t->job) < 0) {
        bp_log_warn("outbox", "mt_queue_failed", "msg=%lld", (long long)message_id);
        im_free(t);
        return;
    }
    ob->mt_inflight++;
}
