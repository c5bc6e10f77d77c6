/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Round trip of the outgoing MIME text (src/smtp/smtp_mime.c, written by
 * hand for speed) through an independent parser, GMime's: for a table of
 * awkward inputs (scripts split across encoded-words, ASCII names that need
 * quoting, "=?" in plain text, long words, lines starting with '.',
 * trailing blanks, no final newline, lone CR, CRLF input, long lines, an
 * HTML alternative, many references) every decoded value must equal the
 * input, and the text must keep the line limits (CRLF only, header lines
 * <= 998, encoded-words <= 75, quoted-printable lines <= 76).
 */
#include <string.h>

#include <gmime/gmime.h>

#include "bp_test.h"
#include "bp/base.h"
#include "bp/smtp.h"

static const char *FROM = "office@school.example";

/* a copy with every CRLF turned into LF (hard line breaks come back as CRLF) */
static char *lf(const char *s)
{
    char *o = bp_xstrdup(s), *w = o;
    for (const char *p = s; *p; p++)
        if (!(p[0] == '\r' && p[1] == '\n'))
            *w++ = *p;
    *w = '\0';
    return o;
}

static char *part_text(GMimeObject *o)
{
    GMimeDataWrapper *w = g_mime_part_get_content((GMimePart *)o);
    GMimeStream *mem = g_mime_stream_mem_new();
    g_mime_data_wrapper_write_to_stream(w, mem);           /* decodes the CTE */
    GByteArray *a = g_mime_stream_mem_get_byte_array((GMimeStreamMem *)mem);
    char *t = a->len ? bp_xstrndup((const char *)a->data, a->len) : bp_xstrdup("");
    g_object_unref(mem);
    char *r = lf(t);
    free(t);
    return r;
}

static void check_lines(const char *t, size_t len)
{
    const char *body = strstr(t, "\r\n\r\n");
    ASSERT_TRUE(body != NULL);
    for (size_t i = 0, start = 0; i < len; i++) {
        if (t[i] == '\n') {
            ASSERT_TRUE(i > 0 && t[i - 1] == '\r');          /* CRLF only */
            size_t n = i - 1 - start;
            ASSERT_TRUE(n <= 998);
            if (t + start > body && memchr(t + start, '=', n) != NULL)
                ASSERT_TRUE(n <= 76);                        /* quoted-printable */
            start = i + 1;
        }
    }
    for (const char *p = t; (p = strstr(p, "=?utf-8?B?")) != NULL && p < body; p++)
        ASSERT_TRUE(strstr(p, "?=") - p + 2 <= 75);
}

static void check_mailbox(InternetAddressList *l, const char *name, const char *addr)
{
    ASSERT_EQ(internet_address_list_length(l), 1);
    InternetAddress *a = internet_address_list_get_address(l, 0);
    ASSERT_STR_EQ(internet_address_mailbox_get_addr((InternetAddressMailbox *)a), addr);
    const char *got = internet_address_get_name(a);
    ASSERT_STR_EQ(got ? got : "", name ? name : "");
}

static void round_trip(const char *from_name, const struct bp_send_job *j)
{
    char err[128];
    size_t len;
    char *t = bp_smtp_mime_build(from_name, FROM, j, 1700000000000LL, &len, err, sizeof err);
    ASSERT_TRUE(t != NULL);
    ASSERT_EQ(strlen(t), len);
    check_lines(t, len);
    GMimeStream *st = g_mime_stream_mem_new_with_buffer(t, len);
    GMimeParser *p = g_mime_parser_new_with_stream(st);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    ASSERT_TRUE(m != NULL);
    ASSERT_STR_EQ(g_mime_message_get_subject(m) ? g_mime_message_get_subject(m) : "",
                  j->subject);
    check_mailbox(g_mime_message_get_from(m), from_name, FROM);
    check_mailbox(g_mime_message_get_to(m), j->to_name, j->to);
    if (j->reply_to)
        check_mailbox(g_mime_message_get_reply_to(m), NULL, j->reply_to);
    ASSERT_STR_EQ(g_mime_message_get_message_id(m), j->message_id);
    if (j->references) {
        GMimeReferences *r = g_mime_references_parse(NULL,
            g_mime_object_get_header((GMimeObject *)m, "References"));
        ASSERT_EQ(g_mime_references_length(r), 3);
        ASSERT_STR_EQ(g_mime_references_get_message_id(r, 2), "r3@x.example");
        g_mime_references_free(r);
    }
    ASSERT_TRUE(g_mime_message_get_date(m) != NULL);
    GMimeObject *body = g_mime_message_get_mime_part(m);
    GMimeObject *plain = body, *html = NULL;
    if (j->html_body) {
        ASSERT_TRUE(GMIME_IS_MULTIPART(body));
        ASSERT_EQ(g_mime_multipart_get_count((GMimeMultipart *)body), 2);
        plain = g_mime_multipart_get_part((GMimeMultipart *)body, 0);
        html = g_mime_multipart_get_part((GMimeMultipart *)body, 1);
    }
    char *type = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(plain));
    ASSERT_STR_EQ(type, "text/plain");
    g_free(type);
    ASSERT_STR_EQ(g_mime_object_get_content_type_parameter(plain, "charset"), "utf-8");
    char *want = lf(j->body), *got = part_text(plain);
    ASSERT_STR_EQ(got, want);
    free(want);
    free(got);
    if (html) {
        want = lf(j->html_body);
        got = part_text(html);
        ASSERT_STR_EQ(got, want);
        free(want);
        free(got);
    }
    g_object_unref(m);
    g_object_unref(p);
    g_object_unref(st);
    free(t);
}

static void test_round_trip(void)
{
    static const char *subjects[] = {
        "", "Plain words only", "Thông báo: họp phụ huynh 学校 اجتماع",
        "家长会通知：星期四下午家长会通知：星期四下午家长会通知：星期四下午家长会通知",
        "ascii =?utf-8?B?YWJj?= lookalike", "two  spaces", " leading", "trailing ",
        "tab\there", "averyveryveryveryveryveryveryveryveryveryveryveryveryveryverylongwordx"
        "yz and more",
        "اجتماع أولياء الأمور يوم الخميس اجتماع أولياء الأمور يوم الخميس 😀😀😀",
    };
    static const char *names[] = {
        NULL, "", "Mary O'Brien", "Smith, John \"JJ\" \\ Jr.", "Nguyễn Thị Hoa",
        "=?utf-8?B?YWJj?=", "two  spaces", "陈小明", "Ёж 😀 Ёж 😀 Ёж 😀 Ёж 😀 Ёж 😀 Ёж 😀 Ёж 😀 Ёж 😀 Ёж 😀",
    };
    static const char *bodies[] = {
        "", "Hello\nWorld\n", "no final newline", ".leading dot\n..two\n.\n",
        "trailing blank \nand tab\t\n", "Xin chào,\r\nBuổi họp\r\n", "lone\rCR\n",
        "=3D not an escape = sign\n",
        "a long line a long line a long line a long line a long line a long line a long"
        " line a long line ending here\n",
        "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé\n",
        "您好，\n家长会在星期四下午六点举行。\n", "   \n\n\n",
    };
    struct bp_send_job j = {
        .to = "parent@example.org", .message_id = "m1.abc@school.example",
        .reply_to = "replies+t42@school.example", .in_reply_to = "<r3@x.example>",
        .references = "<r1@x.example> <r2@x.example>   <r3@x.example>",
        .unsubscribe_url = "https://school.example/unsubscribe/abcdefabcdefabcdefabcdef",
        .unsubscribe_mailto = "replies+unsubscribe-abcdefabcdefabcdef@school.example" };
    size_t ns = BP_ARRAY_LEN(subjects), nn = BP_ARRAY_LEN(names), nb = BP_ARRAY_LEN(bodies);
    for (size_t i = 0; i < ns * nb; i++) {
        j.subject = subjects[i % ns];
        j.to_name = names[i % nn];
        j.body = bodies[i / ns];
        j.html_body = i % 3 == 0 ? bodies[(i + 1) % nb] : NULL;
        j.automatic = i % 2;
        round_trip(names[(i + 3) % nn], &j);
    }
    j.references = NULL;
    j.reply_to = NULL;
    round_trip("École", &j);
}

/* The parts a real client checks first are where they were with GMime. */
static void test_headers(void)
{
    char err[128];
    size_t len;
    struct bp_send_job j = { .to = "p@example.org", .subject = "S", .body = "b\n",
                             .message_id = "id@x", .unsubscribe_url = "https://x/u/1",
                             .automatic = true };
    char *t = bp_smtp_mime_build(NULL, FROM, &j, 1700000000000LL, &len, err, sizeof err);
    ASSERT_TRUE(t != NULL);
    ASSERT_STR_CONTAINS(t, "\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n");
    ASSERT_STR_CONTAINS(t, "\r\nList-Unsubscribe: <https://x/u/1>\r\n"
                           "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    ASSERT_STR_CONTAINS(t, "\r\nContent-Transfer-Encoding: 7bit\r\n\r\nb\r\n");
    ASSERT_TRUE(strncmp(t, "From: office@school.example\r\n", 29) == 0);
    free(t);
    j.unsubscribe_url = NULL;
    j.automatic = false;
    j.body = "é";
    t = bp_smtp_mime_build(NULL, FROM, &j, 0, &len, err, sizeof err);
    ASSERT_TRUE(strstr(t, "List-Unsubscribe") == NULL && strstr(t, "Auto-Submitted") == NULL);
    ASSERT_STR_CONTAINS(t, "quoted-printable\r\n\r\n=C3=A9=\r\n");
    free(t);
    j.to = "parent@exämple.org";                  /* IDNA for a non-ASCII domain */
    j.to_name = "Élodie";
    t = bp_smtp_mime_build(NULL, FROM, &j, 0, &len, err, sizeof err);
    ASSERT_STR_CONTAINS(t, "\r\nTo: =?utf-8?B?w4lsb2RpZQ==?= <parent@xn--exmple-cua.org>\r\n");
    free(t);
}

int main(void)
{
    g_mime_init();
    BP_TEST(test_round_trip);
    BP_TEST(test_headers);
    g_mime_shutdown();
    return bp_test_done();
}
