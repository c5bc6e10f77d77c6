/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * MIME for outgoing e-mail, built with GMime 3 (which does the RFC 2047
 * encoding of the subject and display names, header folding and the body
 * transfer encoding) and serialised with CRLF line ends, which libesmtp
 * needs (DEPENDENCY-NOTES §4).  GObjects never leave this file.
 *
 * Headers: From, To, Reply-To, Subject, Date, Message-ID, In-Reply-To,
 * References, List-Unsubscribe (<mailto:..>, <https://..>) with
 * List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058, only with an
 * https target), Auto-Submitted: auto-generated, MIME-Version.  Body:
 * text/plain; charset=utf-8 (quoted-printable when not 7-bit), plus a
 * text/html alternative when given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "bp/base.h"
#include "bp/smtp.h"

static void gmime_init_once(void)
{
    g_mime_init();
}

static bool one_line(const char *s)
{
    return !s || !strpbrk(s, "\r\n");
}

static const char *check_job(const struct bp_send_job *j)
{
    const char *hdrs[] = { j->to, j->to_name, j->subject, j->message_id, j->reply_to,
                           j->in_reply_to, j->references, j->unsubscribe_url,
                           j->unsubscribe_mailto };
    if (!j->to || !*j->to || !strchr(j->to, '@'))
        return "bad recipient address";
    if (!j->body || !j->message_id || !*j->message_id)
        return "body and message_id are required";
    for (size_t i = 0; i < BP_ARRAY_LEN(hdrs); i++) {
        if (!one_line(hdrs[i]))
            return "CR or LF in a header value";
        if (hdrs[i] && !bp_utf8_valid(hdrs[i], strlen(hdrs[i])))
            return "header value is not UTF-8";
    }
    if (!bp_utf8_valid(j->body, strlen(j->body)) ||
        (j->html_body && !bp_utf8_valid(j->html_body, strlen(j->html_body))))
        return "body is not UTF-8";
    return NULL;
}

static GMimePart *text_part(const char *subtype, const char *text)
{
    GMimeTextPart *tp = g_mime_text_part_new_with_subtype(subtype);
    GMimeStream *st = g_mime_stream_mem_new_with_buffer(text, strlen(text));
    GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(st, GMIME_CONTENT_ENCODING_DEFAULT);
    g_mime_part_set_content((GMimePart *)tp, w);
    g_object_unref(w);
    g_object_unref(st);
    g_mime_object_set_content_type_parameter((GMimeObject *)tp, "charset", "utf-8");
    GMimeContentEncoding enc =
        g_mime_part_get_best_content_encoding((GMimePart *)tp, GMIME_ENCODING_CONSTRAINT_7BIT);
    if (enc == GMIME_CONTENT_ENCODING_BASE64)
        enc = GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;   /* text stays readable */
    g_mime_part_set_content_encoding((GMimePart *)tp, enc);
    return (GMimePart *)tp;
}

static void set_list_unsubscribe(GMimeObject *o, const struct bp_send_job *j)
{
    char v[1024];
    const char *m = j->unsubscribe_mailto, *u = j->unsubscribe_url;
    bool hm = m && *m, hu = u && *u;
    size_t n = 0;
    if (!hm && !hu)
        return;
    v[0] = '\0';
    if (hm)
        n = (size_t)snprintf(v, sizeof v, "<%s%s>",
                             strncmp(m, "mailto:", 7) == 0 ? "" : "mailto:", m);
    if (hu && n < sizeof v)
        snprintf(v + n, sizeof v - n, "%s<%s>", n ? ", " : "", u);
    g_mime_object_set_header(o, "List-Unsubscribe", v, NULL);
    if (hu)
        g_mime_object_set_header(o, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click", NULL);
}

static void set_headers(GMimeMessage *msg, const char *from_name, const char *from_address,
                        const struct bp_send_job *j, int64_t date_ms)
{
    GMimeObject *o = (GMimeObject *)msg;
    g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM,
                               from_name && *from_name ? from_name : NULL, from_address);
    g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO,
                               j->to_name && *j->to_name ? j->to_name : NULL, j->to);
    if (j->reply_to && *j->reply_to)
        g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_REPLY_TO, NULL, j->reply_to);
    g_mime_message_set_subject(msg, j->subject ? j->subject : "", "utf-8");
    GDateTime *dt = g_date_time_new_from_unix_utc(date_ms / 1000);
    g_mime_message_set_date(msg, dt);
    g_date_time_unref(dt);
    g_mime_message_set_message_id(msg, j->message_id);
    if (j->in_reply_to && *j->in_reply_to)
        g_mime_object_set_header(o, "In-Reply-To", j->in_reply_to, NULL);
    if (j->references && *j->references)
        g_mime_object_set_header(o, "References", j->references, NULL);
    set_list_unsubscribe(o, j);
    if (j->automatic)
        g_mime_object_set_header(o, "Auto-Submitted", "auto-generated", NULL);
    g_mime_object_set_header(o, "MIME-Version", "1.0", NULL);
}

char *bp_smtp_mime_build(const char *from_name, const char *from_address,
                         const struct bp_send_job *j, int64_t date_ms,
                         size_t *len, char *err, size_t errlen)
{
    static uv_once_t once = UV_ONCE_INIT;
    const char *why = check_job(j);
    if (!why && (!from_address || !strchr(from_address, '@') || !one_line(from_address) ||
                 !one_line(from_name)))
        why = "bad from address";
    if (why) {
        snprintf(err, errlen, "%s", why);
        return NULL;
    }
    uv_once(&once, gmime_init_once);
    GMimeMessage *msg = g_mime_message_new(TRUE);
    set_headers(msg, from_name, from_address, j, date_ms);
    GMimePart *plain = text_part("plain", j->body);
    if (j->html_body && *j->html_body) {
        GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
        GMimePart *html = text_part("html", j->html_body);
        g_mime_multipart_add(alt, (GMimeObject *)plain);
        g_mime_multipart_add(alt, (GMimeObject *)html);
        g_object_unref(html);
        g_mime_message_set_mime_part(msg, (GMimeObject *)alt);
        g_object_unref(alt);
    } else {
        g_mime_message_set_mime_part(msg, (GMimeObject *)plain);
    }
    g_object_unref(plain);
    GMimeFormatOptions *fo = g_mime_format_options_new();
    g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
    char *text = g_mime_object_to_string((GMimeObject *)msg, fo);
    g_mime_format_options_free(fo);
    g_object_unref(msg);
    char *out = bp_xstrdup(text);
    g_free(text);
    *len = strlen(out);
    return out;
}
