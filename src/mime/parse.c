/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * bp_mime_parse: a raw RFC 5322 message in, a plain struct bp_mime_msg out.
 *
 * GMime 3 does the MIME work (headers, RFC 2047/2231 decoding, transfer
 * encodings); this file reads the envelope-level headers (ids, addresses,
 * subject, date), hands the body to walk.c, lets robot.c classify the
 * message and extracts the visible reply (reply.c).  Nothing GMime-typed
 * escapes: strings are copied into malloc'd memory the caller frees with
 * bp_mime_msg_free.
 *
 * Memory: the raw bytes are not copied for parsing.  They are wrapped in a
 * GByteArray that borrows the caller's buffer (g_byte_array_new_take, then
 * g_byte_array_free(..., FALSE) hands the buffer back untouched) and GMime
 * keeps parts as substreams of it (persist-stream mode), so a 10 MB
 * attachment is read once, through walk.c's chunked decoder.
 *
 * Raw 8-bit headers are decoded with the fallback charsets utf-8 then
 * windows-1252 (DEPENDENCY-NOTES §6).
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "mime_int.h"

static GMimeParserOptions *g_opts;

void bp_mime_init(void)
{
    static gsize once;
    if (g_once_init_enter(&once)) {
        g_mime_init();
        xmlInitParser();
        GMimeParserOptions *o = g_mime_parser_options_new();
        const char *fallback[] = {"utf-8", "windows-1252", NULL};
        g_mime_parser_options_set_fallback_charsets(o, fallback);
        g_mime_parser_options_set_address_compliance_mode(
            o, GMIME_RFC_COMPLIANCE_LOOSE);
        g_mime_parser_options_set_rfc2047_compliance_mode(
            o, GMIME_RFC_COMPLIANCE_LOOSE);
        g_opts = o;
        g_once_init_leave(&once, 1);
    }
}

static char *dup_utf8(const char *s)
{
    return bp__mime_header_utf8(s);
}

static void add_recipient(struct bp_mime_msg *m, size_t *alloc,
                          const char *addr)
{
    if (addr == NULL || *addr == '\0')
        return;
    char *a = dup_utf8(addr);
    bp_str_lower_ascii(a);
    for (size_t i = 0; i < m->nrecipients; i++) {
        if (strcmp(m->recipients[i], a) == 0) {
            free(a);
            return;
        }
    }
    if (m->nrecipients == *alloc) {
        *alloc = *alloc ? *alloc * 2 : 4;
        m->recipients = bp_xrealloc(m->recipients,
                                    *alloc * sizeof *m->recipients);
    }
    m->recipients[m->nrecipients++] = a;
}

static void add_list(struct bp_mime_msg *m, size_t *alloc,
                     InternetAddressList *l, int depth)
{
    int n = l ? internet_address_list_length(l) : 0;
    for (int i = 0; i < n && m->nrecipients < 256; i++) {
        InternetAddress *ia = internet_address_list_get_address(l, i);
        if (INTERNET_ADDRESS_IS_MAILBOX(ia))
            add_recipient(m, alloc, internet_address_mailbox_get_addr(
                                        INTERNET_ADDRESS_MAILBOX(ia)));
        else if (INTERNET_ADDRESS_IS_GROUP(ia) && depth < 4)
            add_list(m, alloc, internet_address_group_get_members(
                                   INTERNET_ADDRESS_GROUP(ia)), depth + 1);
    }
}

static void read_addresses(struct bp_mime_msg *m, GMimeMessage *msg)
{
    InternetAddressList *from = g_mime_message_get_from(msg);
    int n = from ? internet_address_list_length(from) : 0;
    for (int i = 0; i < n; i++) {
        InternetAddress *ia = internet_address_list_get_address(from, i);
        if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
            continue;
        const char *addr = internet_address_mailbox_get_addr(
            INTERNET_ADDRESS_MAILBOX(ia));
        const char *name = internet_address_get_name(ia);
        m->from_addr = dup_utf8(addr ? addr : "");
        bp_str_lower_ascii(m->from_addr);
        if (name && *name)
            m->from_name = dup_utf8(name);
        break;
    }
    size_t alloc = 0;
    add_list(m, &alloc, g_mime_message_get_addresses(
                            msg, GMIME_ADDRESS_TYPE_TO), 0);
    add_list(m, &alloc, g_mime_message_get_addresses(
                            msg, GMIME_ADDRESS_TYPE_CC), 0);
    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
    int nh = g_mime_header_list_get_count(hl);
    for (int i = 0; i < nh; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        const char *hn = g_mime_header_get_name(h);
        if (!bp_str_case_eq(hn, "Delivered-To") &&
            !bp_str_case_eq(hn, "X-Original-To"))
            continue;
        InternetAddressList *l = internet_address_list_parse(
            g_opts, g_mime_header_get_value(h));
        if (l) {
            add_list(m, &alloc, l, 0);
            g_object_unref(l);
        }
    }
}

static void read_ids(struct bp_mime_msg *m, GMimeMessage *msg)
{
    m->message_id = dup_utf8(g_mime_message_get_message_id(msg));
    GMimeObject *o = GMIME_OBJECT(msg);
    const char *irt = g_mime_object_get_header(o, "In-Reply-To");
    GMimeReferences *r = irt ? g_mime_references_parse(g_opts, irt) : NULL;
    if (r && g_mime_references_length(r) > 0)
        m->in_reply_to = dup_utf8(g_mime_references_get_message_id(r, 0));
    if (r)
        g_mime_references_free(r);
    const char *refs = g_mime_object_get_header(o, "References");
    r = refs ? g_mime_references_parse(g_opts, refs) : NULL;
    int n = r ? g_mime_references_length(r) : 0;
    if (n > 256)
        n = 256;   /* hostile input; real threads are much shorter */
    if (n > 0) {
        m->references = bp_xcalloc((size_t)n, sizeof *m->references);
        for (int i = 0; i < n; i++)
            m->references[i] = dup_utf8(g_mime_references_get_message_id(r, i));
        m->nreferences = (size_t)n;
    }
    if (r)
        g_mime_references_free(r);
}

static void read_headers(struct bp_mime_msg *m, GMimeMessage *msg)
{
    read_ids(m, msg);
    read_addresses(m, msg);
    m->subject = dup_utf8(g_mime_message_get_subject(msg));
    GDateTime *d = g_mime_message_get_date(msg);
    if (d)
        m->date_ms = g_date_time_to_unix(d) * 1000 +
                     g_date_time_get_microsecond(d) / 1000;
}

static void hash_raw(struct bp_mime_msg *m, const char *raw, size_t len,
                     size_t keep)
{
    GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(ck, (const guchar *)raw, (gssize)len);
    memcpy(m->raw_sha256, g_checksum_get_string(ck), 64);
    m->raw_sha256[64] = '\0';
    g_checksum_free(ck);
    size_t k = len < keep ? len : keep;
    if (k > 0) {
        m->raw = bp_xmalloc(k + 1);
        memcpy(m->raw, raw, k);
        m->raw[k] = '\0';
        m->raw_len = k;
    }
}

static const struct bp_mime_limits default_limits = {
    .max_raw_kept = 1024 * 1024,
    .max_attachment = 1024 * 1024,
    .max_attachments = 32,
    .max_text = 256 * 1024,
};

static void fill_from_walk(struct bp_mime_msg *m, GMimeMessage *msg,
                           struct bp__mime_walk *w)
{
    GMimeObject *o = GMIME_OBJECT(msg);
    m->text = w->text ? w->text : bp_xstrdup("");
    w->text = NULL;
    struct bp__mime_robot_in in = {
        .auto_submitted = g_mime_object_get_header(o, "Auto-Submitted"),
        .x_autoreply = g_mime_object_get_header(o, "X-Autoreply"),
        .x_autorespond = g_mime_object_get_header(o, "X-Autorespond"),
        .precedence = g_mime_object_get_header(o, "Precedence"),
        .x_autogenerated = g_mime_object_get_header(o, "X-Autogenerated"),
        .report_type = w->report_type,
        .dsn = w->dsn,
        .orig_msgid = w->orig_msgid,
    };
    bp__mime_classify(m, &in);
    m->reply = bp_mime_extract_reply(m->text);
}

int bp_mime_parse(const char *raw, size_t len,
                  const struct bp_mime_limits *lim,
                  struct bp_mime_msg **out, struct bp_errbuf *eb)
{
    *out = NULL;
    if (raw == NULL || len == 0 || len > G_MAXUINT) {
        bp_errbuf_set(eb, "mime", "empty or oversized message");
        return BP_EINVAL_INPUT;
    }
    bp_mime_init();
    if (lim == NULL)
        lim = &default_limits;
    /* Borrow the caller's bytes (see the top comment): no copy. */
    GByteArray *arr = g_byte_array_new_take((guint8 *)(uintptr_t)raw, len);
    GMimeStream *st = g_mime_stream_mem_new_with_byte_array(arr);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(st), FALSE);
    GMimeParser *parser = g_mime_parser_new_with_stream(st);
    g_mime_parser_set_persist_stream(parser, TRUE);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, g_opts);
    int rc = 0;
    if (msg == NULL) {
        bp_errbuf_set(eb, "mime", "not a MIME message");
        rc = BP_EINVAL_INPUT;
        goto out;
    }
    struct bp_mime_msg *m = bp_xcalloc(1, sizeof *m);
    read_headers(m, msg);
    struct bp__mime_walk w = {.lim = lim, .m = m};
    bp__mime_walk(&w, g_mime_message_get_mime_part(msg), 0);
    fill_from_walk(m, msg, &w);
    bp__mime_walk_deinit(&w);
    hash_raw(m, raw, len, lim->max_raw_kept);
    *out = m;
out:
    if (msg)
        g_object_unref(msg);
    g_object_unref(parser);
    g_object_unref(st);
    g_byte_array_free(arr, FALSE);   /* gives the caller's buffer back */
    return rc;
}

void bp_mime_msg_free(struct bp_mime_msg *m)
{
    if (m == NULL)
        return;
    free(m->message_id);
    free(m->in_reply_to);
    for (size_t i = 0; i < m->nreferences; i++)
        free(m->references[i]);
    free(m->references);
    free(m->from_addr);
    free(m->from_name);
    for (size_t i = 0; i < m->nrecipients; i++)
        free(m->recipients[i]);
    free(m->recipients);
    free(m->subject);
    free(m->text);
    free(m->reply);
    free(m->bounce.original_message_id);
    free(m->bounce.recipient);
    for (size_t i = 0; i < m->nattachments; i++) {
        free(m->attachments[i].filename);
        free(m->attachments[i].content_type);
        free(m->attachments[i].data);
    }
    free(m->attachments);
    free(m->raw);
    free(m);
}
