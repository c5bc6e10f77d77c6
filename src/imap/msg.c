/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * One fetched message on its way to the store: parsed with bp_mime_parse
 * on libuv's thread pool (a 10 MB message takes tens of milliseconds, too
 * long for the loop), then turned into the plain struct bp_store_email_in
 * the store writer threads (src/store/email_in.c).
 *
 * Ownership: struct bp__imap_msg belongs to the poller; during the parse
 * it belongs to the worker thread (uv_queue_work hands it over and back).
 * The raw bytes are freed as soon as they are parsed (the parse result
 * keeps at most raw_keep_bytes of them), so a batch in flight holds parsed
 * text, not whole messages.
 */
#include <stdlib.h>
#include <string.h>

#include "imap_int.h"

/* Appends s as a JSON string. */
static int json_str(struct bp_buf *b, const char *s)
{
    int rc = bp_buf_append(b, "\"", 1);

    for (const unsigned char *p = (const unsigned char *)(s ? s : "");
         rc == 0 && *p; p++) {
        if (*p == '"' || *p == '\\')
            rc = bp_buf_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            rc = bp_buf_printf(b, "\\u%04x", *p);
        else
            rc = bp_buf_append(b, p, 1);
    }
    return rc == 0 ? bp_buf_append(b, "\"", 1) : rc;
}

char *bp__imap_media_json(const struct bp_mime_msg *mm)
{
    struct bp_buf b;
    char *out = NULL;
    int rc;

    if (mm->nattachments == 0)
        return NULL;
    bp_buf_init(&b, 256 * 1024);
    rc = bp_buf_append(&b, "[", 1);
    for (size_t i = 0; i < mm->nattachments && rc == 0; i++) {
        const struct bp_mime_attachment *a = &mm->attachments[i];
        if ((rc = bp_buf_appends(&b, i ? ",{\"name\":" : "{\"name\":")) == 0 &&
            (rc = a->filename ? json_str(&b, a->filename) : bp_buf_appends(&b, "null")) == 0 &&
            (rc = bp_buf_appends(&b, ",\"type\":")) == 0 &&
            (rc = json_str(&b, a->content_type ? a->content_type
                                               : "application/octet-stream")) == 0)
            rc = bp_buf_printf(&b, ",\"size\":%zu,\"kept\":%s}", a->size,
                               a->data != NULL ? "true" : "false");
    }
    if (rc == 0)
        rc = bp_buf_append(&b, "]", 1);
    if (rc == 0)
        out = bp_buf_take(&b, NULL);
    bp_buf_free(&b);
    return out;
}

static void on_parse_work(uv_work_t *w)
{
    struct bp__imap_msg *m = BP_CONTAINER_OF(w, struct bp__imap_msg, work);
    const struct bp__imap_parse_conf *pc = bp__imap_parse_conf(m->im);

    m->parse_rc = bp_mime_parse(m->raw, m->raw_len, &pc->lim, &m->mime, NULL);
    free(m->raw);
    m->raw = NULL;
    if (m->parse_rc < 0)
        return;
    if (pc->own_address != NULL && bp_str_eq(m->mime->from_addr, pc->own_address)) {
        m->ignored = true;
        return;
    }
    m->media_json = bp__imap_media_json(m->mime);
}

static void on_parse_done(uv_work_t *w, int status)
{
    struct bp__imap_msg *m = BP_CONTAINER_OF(w, struct bp__imap_msg, work);

    if (status < 0 && m->parse_rc == 0)
        m->parse_rc = status;          /* UV_ECANCELED */
    bp__imap_msg_parsed(m);
}

int bp__imap_msg_parse(uv_loop_t *loop, struct bp__imap_msg *m)
{
    return uv_queue_work(loop, &m->work, on_parse_work, on_parse_done);
}

void bp__imap_msg_fill(struct bp__imap_msg *m, int64_t now_ms, int64_t window_ms)
{
    const struct bp_mime_msg *mm = m->mime;
    struct bp_store_email_in *in = &m->in;

    memset(in, 0, sizeof *in);
    in->email_message_id = mm->message_id;
    in->in_reply_to = mm->in_reply_to;
    in->references = (const char *const *)mm->references;
    in->nreferences = mm->nreferences;
    in->from_addr = mm->from_addr;
    in->recipients = (const char *const *)mm->recipients;
    in->nrecipients = mm->nrecipients;
    in->subject = mm->subject;
    in->body = mm->reply ? mm->reply : (mm->text ? mm->text : "");
    in->body_full = mm->text;
    in->media_json = m->media_json;
    in->raw_sha256 = mm->raw_sha256[0] ? mm->raw_sha256 : NULL;
    switch (mm->kind) {
    case BP_MIME_AUTO_REPLY:
        in->kind = BP_STORE_EMAIL_AUTO_REPLY;
        break;
    case BP_MIME_BOUNCE:
        in->kind = BP_STORE_EMAIL_BOUNCE;
        in->bounce_message_id = mm->bounce.original_message_id;
        in->bounce_recipient = mm->bounce.recipient;
        in->bounce_status = mm->bounce.status[0] ? mm->bounce.status : NULL;
        in->bounce_hard = mm->bounce.hard;
        break;
    default:
        in->kind = BP_STORE_EMAIL_NORMAL;
    }
    in->now_ms = now_ms;
    in->recent_window_ms = window_ms;
}

void bp__imap_msg_free(struct bp__imap_msg *m)
{
    if (m == NULL)
        return;
    free(m->raw);
    bp_mime_msg_free(m->mime);
    free(m->media_json);
    free(m);
}
