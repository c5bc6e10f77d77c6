/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * MIME for outgoing e-mail, written straight into one buffer with CRLF line
 * ends (libesmtp needs them: DEPENDENCY-NOTES §4).  It used to be built as a
 * GMime object tree and serialised: ~430k instructions per e-mail, 87 % of
 * the sender's CPU (callgrind), for a message of a dozen short headers and
 * one text part.  The encodings are the few that such a message needs, each
 * one pass in smtp_mime_enc.c; this file puts the message together:
 *
 *  - Subject and display names: as-is when they are plain ASCII words, a
 *    quoted-string for ASCII names with specials, otherwise RFC 2047
 *    encoded-words (`=?utf-8?B?...?=`, at most 39 bytes of whole UTF-8
 *    characters each, so every word stays under 75 columns; base64 padding
 *    only in the last word, see ew_take).  The whole value is
 *    encoded, so decoders give back exactly the original text.
 *  - Folding at 78 columns, only between words (CRLF before a space).
 *  - Body: `text/plain; charset=utf-8`, 7bit when it is short-lined ASCII
 *    ending in a newline with no line starting with '.', otherwise
 *    quoted-printable (RFC 2045 6.7: lines <= 76, trailing blanks encoded,
 *    a leading '.' encoded, "=" soft break at the end when the text has no
 *    final newline so that none is added).  With an HTML alternative both
 *    parts are quoted-printable, so the boundary, which starts with "=_",
 *    cannot occur in them (RFC 2046 5.1.1).
 *  - Addresses are ASCII in practice; one with non-ASCII bytes gets its
 *    domain IDNA-encoded by GMime (the only GMime call left, off the common
 *    path), exactly as the GMime-built messages had it.
 *
 * Headers: From, To, Reply-To, Subject, Date, Message-Id, In-Reply-To,
 * References, List-Unsubscribe (<mailto:..>, <https://..>) with
 * List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058, only with an
 * https target), Auto-Submitted: auto-generated, MIME-Version.  Jobs with
 * CR/LF in a header value or invalid UTF-8 are refused.  The unit test
 * parses what this writes with GMime's parser and checks that every value
 * comes back unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gmime/gmime.h>

#include "bp/base.h"
#include "bp/smtp.h"
#include "smtp_int.h"

static bool has_8bit(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return true;
    return false;
}

/* "name <addr>" or "addr"; a non-ASCII domain IDNA-encoded (GMime). */
static void put_mailbox(struct bp__mime_out *o, const char *name, const char *addr)
{
    char *idn = NULL;
    if (has_8bit(addr)) {
        InternetAddressMailbox *m =
            (InternetAddressMailbox *)internet_address_mailbox_new(NULL, addr);
        idn = bp_xstrdup(internet_address_mailbox_get_idn_addr(m));
        g_object_unref(m);
        addr = idn;
    }
    if (name && *name) {
        bp__mime_phrase(o, name);
        size_t n = strlen(addr);
        char *w = bp_xmalloc(n + 3);
        w[0] = '<';
        memcpy(w + 1, addr, n);
        memcpy(w + 1 + n, ">", 2);
        bp__mime_word(o, w, n + 2);
        free(w);
    } else {
        bp__mime_word(o, addr, strlen(addr));
    }
    free(idn);
}

static void put_part_headers(struct bp__mime_out *o, const char *subtype, bool seven)
{
    bp__mime_puts(o, "Content-Type: text/");
    bp__mime_puts(o, subtype);
    bp__mime_puts(o, "; charset=utf-8");
    bp__mime_crlf(o);
    bp__mime_puts(o, seven ? "Content-Transfer-Encoding: 7bit" :
                     "Content-Transfer-Encoding: quoted-printable");
    bp__mime_crlf(o);
}

static void put_body(struct bp__mime_out *o, const struct bp_send_job *j)
{
    size_t n = strlen(j->body);
    if (!j->html_body || !*j->html_body) {
        bool seven = bp__mime_7bit_ok(j->body, n);
        put_part_headers(o, "plain", seven);
        bp__mime_crlf(o);
        if (seven)
            bp__mime_7bit(o, j->body, n);
        else
            bp__mime_qp(o, j->body, n);
        return;
    }
    /* "=_" never occurs in quoted-printable text; the rest names the message. */
    char bnd[40];
    snprintf(bnd, sizeof bnd, "=_bp_alt_%08x", (unsigned)bp_str_hash(j->message_id));
    bp__mime_puts(o, "Content-Type: multipart/alternative; boundary=\"");
    bp__mime_puts(o, bnd);
    bp__mime_puts(o, "\"");
    bp__mime_crlf(o);
    bp__mime_crlf(o);
    const char *sub[2] = { "plain", "html" }, *txt[2] = { j->body, j->html_body };
    for (int k = 0; k < 2; k++) {
        bp__mime_puts(o, "--");
        bp__mime_puts(o, bnd);
        bp__mime_crlf(o);
        put_part_headers(o, sub[k], false);
        bp__mime_crlf(o);
        bp__mime_qp(o, txt[k], strlen(txt[k]));
        bp__mime_crlf(o);                        /* the delimiter's CRLF */
    }
    bp__mime_puts(o, "--");
    bp__mime_puts(o, bnd);
    bp__mime_puts(o, "--");
    bp__mime_crlf(o);
}

/* ---- headers ------------------------------------------------------------- */

static void put_date(struct bp__mime_out *o, int64_t date_ms)
{
    static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char mons[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t t = (time_t)(date_ms / 1000);
    struct tm tm;
    char v[64];
    gmtime_r(&t, &tm);
    snprintf(v, sizeof v, "Date: %s, %d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
             tm.tm_mday, mons[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
    bp__mime_puts(o, v);
    bp__mime_crlf(o);
}

/* A header whose value is space-separated words (message ids, URIs). */
static void put_words_header(struct bp__mime_out *o, const char *name, const char *v)
{
    bp__mime_hdr(o, name);
    for (const char *p = v; *p;) {
        p += strspn(p, " \t");
        size_t n = strcspn(p, " \t");
        if (n)
            bp__mime_word(o, p, n);
        p += n;
    }
    bp__mime_crlf(o);
}

static void put_list_unsubscribe(struct bp__mime_out *o, const struct bp_send_job *j)
{
    const char *m = j->unsubscribe_mailto, *u = j->unsubscribe_url;
    bool hm = m && *m, hu = u && *u;
    if (!hm && !hu)
        return;
    bp__mime_hdr(o, "List-Unsubscribe");
    if (hm) {
        char *w = bp_xmalloc(strlen(m) + 16);
        int n = sprintf(w, "<%s%s>%s", strncmp(m, "mailto:", 7) == 0 ? "" : "mailto:", m,
                        hu ? "," : "");
        bp__mime_word(o, w, (size_t)n);
        free(w);
    }
    if (hu) {
        char *w = bp_xmalloc(strlen(u) + 3);
        int n = sprintf(w, "<%s>", u);
        bp__mime_word(o, w, (size_t)n);
        free(w);
    }
    bp__mime_crlf(o);
    if (hu) {
        bp__mime_puts(o, "List-Unsubscribe-Post: List-Unsubscribe=One-Click");
        bp__mime_crlf(o);
    }
}

static void put_headers(struct bp__mime_out *o, const char *from_name, const char *from_address,
                        const struct bp_send_job *j, int64_t date_ms)
{
    bp__mime_hdr(o, "From");
    put_mailbox(o, from_name, from_address);
    bp__mime_crlf(o);
    bp__mime_hdr(o, "To");
    put_mailbox(o, j->to_name, j->to);
    bp__mime_crlf(o);
    if (j->reply_to && *j->reply_to) {
        bp__mime_hdr(o, "Reply-To");
        put_mailbox(o, NULL, j->reply_to);
        bp__mime_crlf(o);
    }
    bp__mime_hdr(o, "Subject");
    bp__mime_text(o, j->subject ? j->subject : "");
    bp__mime_crlf(o);
    put_date(o, date_ms);
    bp__mime_hdr(o, "Message-Id");
    bp__mime_put(o, " <", 2);
    bp__mime_puts(o, j->message_id);
    bp__mime_put(o, ">", 1);
    bp__mime_crlf(o);
    if (j->in_reply_to && *j->in_reply_to)
        put_words_header(o, "In-Reply-To", j->in_reply_to);
    if (j->references && *j->references)
        put_words_header(o, "References", j->references);
    put_list_unsubscribe(o, j);
    if (j->automatic) {
        bp__mime_puts(o, "Auto-Submitted: auto-generated");
        bp__mime_crlf(o);
    }
    bp__mime_puts(o, "MIME-Version: 1.0");
    bp__mime_crlf(o);
}

/* ---- entry --------------------------------------------------------------- */

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

char *bp_smtp_mime_build(const char *from_name, const char *from_address,
                         const struct bp_send_job *j, int64_t date_ms,
                         size_t *len, char *err, size_t errlen)
{
    static uv_once_t once = UV_ONCE_INIT;
    const char *why = check_job(j);
    if (!why && (!from_address || !strchr(from_address, '@') || !one_line(from_address) ||
                 !one_line(from_name) ||
                 (from_name && !bp_utf8_valid(from_name, strlen(from_name)))))
        why = "bad from address";
    if (why) {
        snprintf(err, errlen, "%s", why);
        return NULL;
    }
    uv_once(&once, gmime_init_once);   /* for IDNA of a non-ASCII address */
    struct bp__mime_out o;
    bp__mime_init(&o, 2048 + 4 * (strlen(j->body) + (j->html_body ? strlen(j->html_body) : 0)));
    put_headers(&o, from_name, from_address, j, date_ms);
    put_body(&o, j);
    o.p[o.len] = '\0';
    *len = o.len;
    return o.p;
}
