/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Walks the MIME tree GMime built and turns it into plain bp structs: the
 * readable body text, the attachment records and, for delivery reports, the
 * machine-readable parts.
 *
 *   multipart/alternative  one child: text/plain unless it is blank, else
 *                          the HTML (or the multipart holding it)
 *   multipart/report       first child is the body; message/delivery-status
 *                          and the returned message (message/rfc822 or
 *                          text/rfc822-headers) feed robot.c
 *   multipart/signed       first child only
 *   other multipart        every child, in order
 *   text/plain, text/html  body text when inline and without a file name
 *   anything else          an attachment record
 *
 * Content is read through a decoding filter stream in 64 KiB chunks, so a
 * 10 MB attachment is counted without being held: only up to
 * lim->max_attachment bytes are kept, and the data is dropped (NULL) once
 * the part proves bigger.  Body text is capped at lim->max_text bytes in
 * total.  Nesting deeper than MAX_DEPTH is ignored (hostile input).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime_int.h"

#define MAX_DEPTH 32
#define CHUNK 65536
#define DSN_CAP (64 * 1024)

/*
 * Reads the decoded content of a leaf part.  Counts every byte into *total;
 * keeps the first `keep` bytes in *data (NUL-terminated) unless
 * drop_when_over is set and the content is longer, then *data is NULL.
 */
static void read_content(GMimePart *part, size_t keep, bool drop_when_over,
                         char **data, size_t *kept, size_t *total)
{
    *data = NULL;
    *kept = 0;
    *total = 0;
    GMimeDataWrapper *dw = g_mime_part_get_content(part);
    if (dw == NULL)
        return;
    GMimeStream *src = g_mime_data_wrapper_get_stream(dw);
    if (src == NULL)
        return;
    g_mime_stream_reset(src);
    GMimeStream *fs = g_mime_stream_filter_new(src);
    GMimeContentEncoding enc = g_mime_data_wrapper_get_encoding(dw);
    if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
        enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
        enc == GMIME_CONTENT_ENCODING_UUENCODE) {
        GMimeFilter *f = g_mime_filter_basic_new(enc, FALSE);
        g_mime_stream_filter_add(GMIME_STREAM_FILTER(fs), f);
        g_object_unref(f);
    }
    char *buf = NULL;
    size_t alloc = 0;
    bool dropped = false;
    char chunk[CHUNK];
    for (;;) {
        ssize_t n = g_mime_stream_read(fs, chunk, sizeof chunk);
        if (n <= 0)
            break;
        size_t un = (size_t)n;
        *total += un;
        if (dropped || *kept >= keep)
            continue;
        if (drop_when_over && *total > keep) {
            bp_free_and_null(buf);
            *kept = 0;
            dropped = true;
            continue;
        }
        size_t take = un < keep - *kept ? un : keep - *kept;
        if (*kept + take + 1 > alloc) {
            alloc = (*kept + take + 1) * 2;
            if (alloc > keep + 1)
                alloc = keep + 1;
            buf = bp_xrealloc(buf, alloc);
        }
        memcpy(buf + *kept, chunk, take);
        *kept += take;
        buf[*kept] = '\0';
    }
    g_object_unref(fs);
    *data = buf;
}

static char *lower_dup(const char *s)
{
    char *d = bp_xstrdup(s ? s : "");
    bp_str_lower_ascii(d);
    return d;
}

static void add_attachment(struct bp__mime_walk *w, char *ctype,
                           char *filename, size_t size, char *data,
                           size_t data_len)
{
    struct bp_mime_msg *m = w->m;
    size_t max = w->lim->max_attachments;
    if (m->nattachments >= max) {
        free(ctype);
        free(filename);
        free(data);
        return;
    }
    if (m->nattachments == w->att_alloc) {
        w->att_alloc = w->att_alloc ? w->att_alloc * 2 : 4;
        m->attachments = bp_xrealloc(m->attachments,
                                     w->att_alloc * sizeof *m->attachments);
    }
    struct bp_mime_attachment *a = &m->attachments[m->nattachments++];
    a->content_type = ctype;
    a->filename = filename;
    a->size = size;
    a->data = (unsigned char *)data;
    a->data_len = data ? data_len : 0;
}

static void append_text(struct bp__mime_walk *w, const char *t, size_t n)
{
    size_t cap = w->lim->max_text;
    while (n && (t[n - 1] == '\n' || t[n - 1] == ' '))
        n--;
    if (n == 0 || w->text_len >= cap)
        return;
    size_t sep = w->text_len ? 2 : 0;
    w->text = bp_xrealloc(w->text, w->text_len + sep + n + 1);
    memcpy(w->text + w->text_len, "\n\n", sep);
    memcpy(w->text + w->text_len + sep, t, n);
    w->text_len += sep + n;
    w->text[w->text_len] = '\0';
    bp__mime_utf8_truncate(w->text, &w->text_len, cap);
}

/* A charset named in an HTML <meta>, for HTML parts without a label. */
static char *html_meta_charset(const char *p, size_t n)
{
    size_t lim = n < 2048 ? n : 2048;
    for (size_t i = 0; i + 8 < lim; i++) {
        if (strncasecmp(p + i, "charset=", 8) != 0)
            continue;
        size_t s = i + 8, e;
        while (s < lim && (p[s] == '"' || p[s] == '\''))
            s++;
        for (e = s; e < lim && e - s < 40 &&
             (g_ascii_isalnum(p[e]) || strchr("-_:.", p[e])); e++)
            ;
        return e > s ? bp_xstrndup(p + s, e - s) : NULL;
    }
    return NULL;
}

/*
 * RFC 3676 format=flowed (Thunderbird, Apple Mail): a line ending in a
 * space continues on the next line of the same quote depth; one leading
 * space is stuffing; "-- " stays a signature line.  Rewrites t (new).
 */
static char *unflow(char *t, bool delsp)
{
    size_t n = strlen(t), o = 0;
    char *out = bp_xmalloc(n * 2 + 1);  /* ">x" becomes "> x" */
    int prev_depth = -1;
    bool joining = false;
    for (char *p = t; *p;) {
        char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        int depth = 0;
        while (depth < (int)len && p[depth] == '>')
            depth++;
        char *c = p + depth;
        size_t cl = len - (size_t)depth;
        if (cl && *c == ' ')
            c++, cl--;
        bool sig = cl == 3 && memcmp(c, "-- ", 3) == 0;
        if (!(joining && depth == prev_depth)) {
            if (o)
                out[o++] = '\n';
            for (int d = 0; d < depth; d++)
                out[o++] = '>';
            if (depth && cl)
                out[o++] = ' ';
        }
        bool flowed = cl && c[cl - 1] == ' ' && !sig;
        size_t keep = (flowed && delsp) ? cl - 1 : cl;
        memcpy(out + o, c, keep);
        o += keep;
        joining = flowed;
        prev_depth = depth;
        if (!nl)
            break;
        p = nl + 1;
    }
    out[o] = '\0';
    free(t);
    return out;
}

/* Converts a text/plain or text/html leaf to UTF-8 text (new string). */
static char *part_text(struct bp__mime_walk *w, GMimePart *part, bool html)
{
    size_t cap = w->lim->max_text;
    size_t keep = html ? (cap < 1048576 ? 4 * 1048576 : cap * 4) : cap + 16;
    char *raw;
    size_t kept, total, len;
    read_content(part, keep, false, &raw, &kept, &total);
    const char *cs = g_mime_object_get_content_type_parameter(
        GMIME_OBJECT(part), "charset");
    char *meta = (html && cs == NULL && raw) ? html_meta_charset(raw, kept)
                                             : NULL;
    char *u = bp__mime_to_utf8(raw ? raw : "", kept, meta ? meta : cs,
                               html ? keep * 3 : cap, &len);
    free(raw);
    free(meta);
    if (!html) {
        GMimeObject *o = GMIME_OBJECT(part);
        const char *fmt = g_mime_object_get_content_type_parameter(o, "format");
        const char *dsp = g_mime_object_get_content_type_parameter(o, "delsp");
        if (fmt && g_ascii_strcasecmp(fmt, "flowed") == 0)
            u = unflow(u, dsp && g_ascii_strcasecmp(dsp, "yes") == 0);
        return u;
    }
    char *t = bp__mime_html_to_text(u, len, cap);
    free(u);
    return t;
}

static bool ct_is(GMimeContentType *ct, const char *type, const char *sub)
{
    return ct && g_mime_content_type_is_type(ct, type, sub);
}

static bool is_body_text(GMimeObject *o, bool *html)
{
    GMimeContentType *ct = g_mime_object_get_content_type(o);
    if (!GMIME_IS_PART(o) || !ct_is(ct, "text", "*"))
        return false;
    *html = ct_is(ct, "text", "html");
    if (!*html && !ct_is(ct, "text", "plain"))
        return false;
    GMimePart *p = GMIME_PART(o);
    return !g_mime_part_is_attachment(p) && g_mime_part_get_filename(p) == NULL;
}

static void walk_leaf(struct bp__mime_walk *w, GMimePart *part)
{
    GMimeObject *o = GMIME_OBJECT(part);
    GMimeContentType *ct = g_mime_object_get_content_type(o);
    bool html;
    if (is_body_text(o, &html)) {
        char *t = part_text(w, part, html);
        append_text(w, t, strlen(t));
        free(t);
        return;
    }
    bool dsn = ct_is(ct, "message", "delivery-status") ||
               ct_is(ct, "message", "global-delivery-status");
    bool hdrs = ct_is(ct, "text", "rfc822-headers") ||
                ct_is(ct, "message", "global-headers");
    if ((dsn && w->dsn == NULL) || (hdrs && w->orig_msgid == NULL)) {
        char *raw;
        size_t kept, total;
        read_content(part, DSN_CAP, false, &raw, &kept, &total);
        if (dsn)
            w->dsn = bp__mime_utf8_sanitize(raw ? raw : "", kept, NULL);
        else
            w->orig_msgid = bp__mime_msgid_from_headers(raw ? raw : "", kept);
        free(raw);
        return;
    }
    char *data;
    size_t kept, total;
    size_t keep = w->lim->max_attachment;
    if (w->m->nattachments >= w->lim->max_attachments)
        return;
    read_content(part, keep, true, &data, &kept, &total);
    const char *fn = g_mime_part_get_filename(part);
    char *ctype = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
    add_attachment(w, lower_dup(ctype ? ctype : "application/octet-stream"),
                   bp__mime_header_utf8(fn),
                   total, data, kept);
    g_free(ctype);
}

/* message/rfc822 inside a message: an attachment (or the bounced mail). */
static void walk_message_part(struct bp__mime_walk *w, GMimeMessagePart *mp)
{
    GMimeMessage *inner = g_mime_message_part_get_message(mp);
    if (w->report_type && w->orig_msgid == NULL && inner) {
        const char *id = g_mime_message_get_message_id(inner);
        if (id)
            w->orig_msgid = bp__mime_utf8_sanitize(id, strlen(id), NULL);
    }
    if (w->m->nattachments >= w->lim->max_attachments || inner == NULL)
        return;
    GMimeStream *null = g_mime_stream_null_new();
    g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, null);
    size_t size = (size_t)GMIME_STREAM_NULL(null)->written;
    g_object_unref(null);
    char *data = NULL;
    size_t kept = 0;
    if (size <= w->lim->max_attachment && size > 0) {
        GByteArray *arr = g_byte_array_new();
        GMimeStream *ms = g_mime_stream_mem_new_with_byte_array(arr);
        g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(ms), FALSE);
        g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, ms);
        g_object_unref(ms);
        kept = arr->len;
        data = bp_xmalloc(kept + 1);
        memcpy(data, arr->data, kept);
        data[kept] = '\0';
        g_byte_array_free(arr, TRUE);
    }
    const char *fn = g_mime_object_get_content_disposition_parameter(
        GMIME_OBJECT(mp), "filename");
    add_attachment(w, bp_xstrdup("message/rfc822"),
                   bp__mime_header_utf8(fn),
                   size, data, kept);
}

static void walk_alternative(struct bp__mime_walk *w, GMimeMultipart *mp,
                             int depth)
{
    int n = g_mime_multipart_get_count(mp);
    GMimeObject *plain = NULL, *rich = NULL;
    for (int i = 0; i < n; i++) {
        GMimeObject *c = g_mime_multipart_get_part(mp, i);
        GMimeContentType *ct = g_mime_object_get_content_type(c);
        if (plain == NULL && GMIME_IS_PART(c) && ct_is(ct, "text", "plain"))
            plain = c;
        else if (GMIME_IS_MULTIPART(c) || ct_is(ct, "text", "html"))
            rich = c;
    }
    if (plain) {
        char *t = part_text(w, GMIME_PART(plain), false);
        bool blank = strspn(t, " \t\n") == strlen(t);
        if (!blank || rich == NULL)
            append_text(w, t, strlen(t));
        free(t);
        if (!blank || rich == NULL)
            return;
    }
    if (rich)
        bp__mime_walk(w, rich, depth + 1);
}

static void walk_multipart(struct bp__mime_walk *w, GMimeMultipart *mp,
                           int depth)
{
    GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(mp));
    int n = g_mime_multipart_get_count(mp);
    if (ct_is(ct, "multipart", "alternative")) {
        walk_alternative(w, mp, depth);
        return;
    }
    if (ct_is(ct, "multipart", "signed") && n > 0)
        n = 1;
    if (ct_is(ct, "multipart", "encrypted"))
        return;
    if (ct_is(ct, "multipart", "report") && w->report_type == NULL) {
        const char *rt = g_mime_content_type_get_parameter(ct, "report-type");
        w->report_type = lower_dup(rt);
    }
    for (int i = 0; i < n; i++)
        bp__mime_walk(w, g_mime_multipart_get_part(mp, i), depth + 1);
}

void bp__mime_walk(struct bp__mime_walk *w, GMimeObject *obj, int depth)
{
    if (obj == NULL || depth > MAX_DEPTH)
        return;
    if (GMIME_IS_MULTIPART(obj))
        walk_multipart(w, GMIME_MULTIPART(obj), depth);
    else if (GMIME_IS_MESSAGE_PART(obj))
        walk_message_part(w, GMIME_MESSAGE_PART(obj));
    else if (GMIME_IS_PART(obj))
        walk_leaf(w, GMIME_PART(obj));
}

void bp__mime_walk_deinit(struct bp__mime_walk *w)
{
    free(w->text);
    free(w->report_type);
    free(w->dsn);
    free(w->orig_msgid);
    memset(w, 0, sizeof *w);
}
