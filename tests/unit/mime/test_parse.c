/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * bp_mime_parse on synthetic messages: headers, ids, addresses, body
 * selection, attachments and limits (including a 10 MB attachment that must
 * be counted, not kept), raw hash and raw bound.
 */
#include "bp_test.h"
#include "bp/base.h"
#include "bp/mime.h"

static const struct bp_mime_limits LIM = {
    .max_raw_kept = 64, .max_attachment = 1000, .max_attachments = 2,
    .max_text = 4096,
};

static struct bp_mime_msg *parse(const char *raw, const struct bp_mime_limits *l)
{
    struct bp_mime_msg *m = NULL;
    struct bp_errbuf eb;
    if (bp_mime_parse(raw, strlen(raw), l, &m, &eb) != 0)
        return NULL;
    return m;
}

static void test_headers(void)
{
    const char *raw =
        "From: =?utf-8?B?UmVuw6llIE3DvGxsZXI=?= <Renee.Muller@Example.ORG>\r\n"
        "To: \"Office\" <office+Tok123@school.example>, b@x.example\r\n"
        "Cc: Undisclosed:;, C@X.example\r\n"
        "Delivered-To: office+tok123@school.example\r\n"
        "X-Original-To: reply+abc@school.example\r\n"
        "Subject: =?iso-8859-1?Q?Re=3A_Caf=E9_=80?= \xe2\x82\xac ok\r\n"
        "Date: Mon, 03 Mar 2025 10:15:30 -0500\r\n"
        "Message-ID: <reply-7@example.org>\r\n"
        "In-Reply-To: <orig-6@school.example>\r\n"
        "References: <root-1@school.example>\r\n <orig-6@school.example>\r\n"
        "\r\n"
        "Hello\r\n";
    struct bp_mime_msg *m = parse(raw, &LIM);
    ASSERT_TRUE(m != NULL);
    ASSERT_STR_EQ(m->from_addr, "renee.muller@example.org");
    ASSERT_STR_EQ(m->from_name, "Renée Müller");
    ASSERT_STR_EQ(m->message_id, "reply-7@example.org");
    ASSERT_STR_EQ(m->in_reply_to, "orig-6@school.example");
    ASSERT_EQ(m->nreferences, 2);
    ASSERT_STR_EQ(m->references[0], "root-1@school.example");
    ASSERT_STR_EQ(m->references[1], "orig-6@school.example");
    ASSERT_STR_EQ(m->subject, "Re: Café € € ok");
    ASSERT_EQ(m->date_ms, 1741014930000LL);
    ASSERT_EQ(m->nrecipients, 4);
    ASSERT_STR_EQ(m->recipients[0], "office+tok123@school.example");
    ASSERT_STR_EQ(m->recipients[1], "b@x.example");
    ASSERT_STR_EQ(m->recipients[2], "c@x.example");
    ASSERT_STR_EQ(m->recipients[3], "reply+abc@school.example");
    ASSERT_STR_EQ(m->text, "Hello");
    ASSERT_STR_EQ(m->reply, "Hello");
    ASSERT_EQ(m->kind, BP_MIME_NORMAL);
    bp_mime_msg_free(m);
}

static void test_missing_headers(void)
{
    struct bp_mime_msg *m = parse("Subject: x\r\n\r\nhi\r\n", &LIM);
    ASSERT_TRUE(m != NULL);
    ASSERT_TRUE(m->message_id == NULL);
    ASSERT_TRUE(m->from_addr == NULL);
    ASSERT_EQ(m->date_ms, 0);
    ASSERT_EQ(m->nrecipients, 0);
    ASSERT_STR_EQ(m->raw_sha256,
        "16d0aafc65f80ffca30071595ed78b10f6f18d7390599c35ec9ae3f00dd28122");
    ASSERT_EQ(m->raw_len, 18);
    bp_mime_msg_free(m);
    struct bp_mime_msg *none = NULL;
    ASSERT_EQ(bp_mime_parse("", 0, &LIM, &none, NULL), BP_EINVAL_INPUT);
    ASSERT_TRUE(none == NULL);
}

static void test_alternative(void)
{
    const char *alt =
        "Content-Type: multipart/alternative; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain one\r\n"
        "--b\r\nContent-Type: text/html\r\n\r\n<p>html one</p>\r\n--b--\r\n";
    struct bp_mime_msg *m = parse(alt, &LIM);
    ASSERT_TRUE(m != NULL);
    ASSERT_STR_EQ(m->text, "plain one");
    bp_mime_msg_free(m);
    /* A blank text/plain (some phones) yields to the HTML. */
    const char *blank =
        "Content-Type: multipart/alternative; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\n \r\n"
        "--b\r\nContent-Type: text/html\r\n\r\n<p>html &amp; one</p>\r\n"
        "--b--\r\n";
    m = parse(blank, &LIM);
    ASSERT_TRUE(m != NULL);
    ASSERT_STR_EQ(m->text, "html & one");
    bp_mime_msg_free(m);
}

/* Appends or aborts (the test message is built in a capped bp_buf). */
static void put(struct bp_buf *b, const char *s)
{
    if (bp_buf_appends(b, s) != 0)
        abort();
}

/* Builds a multipart/mixed message with a base64 attachment of n bytes. */
static char *with_attachment(size_t n, int count)
{
    struct bp_buf b;
    bp_buf_init(&b, (size_t)count * (n * 2 + 1024) + 1024);
    put(&b, "Content-Type: multipart/mixed; boundary=zz\r\n\r\n"
            "--zz\r\nContent-Type: text/plain\r\n\r\nSee file\r\n");
    for (int k = 0; k < count; k++) {
        if (bp_buf_printf(&b, "--zz\r\nContent-Type: application/pdf; "
                          "name=\"=?utf-8?Q?d=C3=A9cl_%d.pdf?=\"\r\n"
                          "Content-Disposition: attachment\r\n"
                          "Content-Transfer-Encoding: base64\r\n\r\n", k))
            abort();
        /* 'AAAA' decodes to three zero bytes; pad the tail exactly. */
        size_t full = n / 3, col = 0;
        for (size_t i = 0; i < full; i++) {
            put(&b, "AAAA");
            col += 4;
            if (col == 76) {
                put(&b, "\r\n");
                col = 0;
            }
        }
        if (n % 3 == 1)
            put(&b, "AA==");
        else if (n % 3 == 2)
            put(&b, "AAA=");
        put(&b, "\r\n");
    }
    put(&b, "--zz--\r\n");
    return bp_buf_take(&b, NULL);
}

static void test_attachments_and_limits(void)
{
    char *raw = with_attachment(700, 3);
    struct bp_mime_msg *m = parse(raw, &LIM);
    ASSERT_TRUE(m != NULL);
    ASSERT_STR_EQ(m->text, "See file");
    ASSERT_EQ(m->nattachments, 2);             /* max_attachments */
    ASSERT_STR_EQ(m->attachments[0].filename, "décl 0.pdf");
    ASSERT_STR_EQ(m->attachments[0].content_type, "application/pdf");
    ASSERT_EQ(m->attachments[0].size, 700);
    ASSERT_EQ(m->attachments[0].data_len, 700);
    ASSERT_TRUE(m->attachments[0].data != NULL);
    ASSERT_EQ(m->attachments[0].data[699], 0);
    ASSERT_EQ(m->raw_len, 64);                 /* max_raw_kept */
    ASSERT_TRUE(memcmp(m->raw, raw, 64) == 0);
    bp_mime_msg_free(m);
    free(raw);
}

static void test_ten_megabytes(void)
{
    size_t n = 10 * 1024 * 1024 + 1;
    char *raw = with_attachment(n, 1);
    struct bp_mime_msg *m = parse(raw, &LIM);
    ASSERT_TRUE(m != NULL);
    ASSERT_EQ(m->nattachments, 1);
    ASSERT_EQ(m->attachments[0].size, n);
    ASSERT_TRUE(m->attachments[0].data == NULL);   /* over the limit */
    ASSERT_EQ(m->attachments[0].data_len, 0);
    ASSERT_EQ(m->raw_len, 64);
    bp_mime_msg_free(m);
    free(raw);
}

static void test_text_cap(void)
{
    struct bp_mime_limits l = LIM;
    l.max_text = 10;
    struct bp_mime_msg *m = parse("Content-Type: text/plain; charset=utf-8"
                                  "\r\n\r\n\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                  "\xc3\xa9\xc3\xa9 and more\r\n", &l);
    ASSERT_TRUE(m != NULL);
    ASSERT_STR_EQ(m->text, "ééééé");
    bp_mime_msg_free(m);
}

static void test_null_limits_and_garbage(void)
{
    struct bp_mime_msg *m = parse("\x01\x02\xff garbage without headers",
                                  NULL);
    if (m) {
        ASSERT_TRUE(bp_utf8_valid(m->text, strlen(m->text)));
        ASSERT_TRUE(bp_utf8_valid(m->reply, strlen(m->reply)));
        bp_mime_msg_free(m);
    }
    bp_mime_msg_free(NULL);
}

int main(void)
{
    bp_mime_init();
    BP_TEST(test_headers);
    BP_TEST(test_missing_headers);
    BP_TEST(test_alternative);
    BP_TEST(test_attachments_and_limits);
    BP_TEST(test_ten_megabytes);
    BP_TEST(test_text_cap);
    BP_TEST(test_null_limits_and_garbage);
    return bp_test_done();
}
