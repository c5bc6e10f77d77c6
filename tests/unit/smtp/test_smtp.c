/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests of src/smtp: the one classification of SMTP outcomes, the MIME
 * text (CRLF only, encoded subject and names, threading and unsubscribe
 * headers, refusal of header injection and invalid UTF-8), and the sender
 * on a real loop against a refused loopback port (TRANSIENT "connect",
 * close cancels queued jobs exactly once, uv_loop_close == 0).  The full
 * exchange with a real SMTP server (aiosmtpd) and a strict parser is in
 * tests/integration/test_smtp_sender.py.
 */
#include <uv.h>

#include "bp_test.h"
#include "bp/smtp.h"
#include "smtp_int.h"

static void test_classify(void)
{
    struct bp_send_result r;
    struct bp__smtp_reply ok = { 250, { 2, 0, 0 }, "OK" }, none = { 0, { 0 }, NULL };
    struct bp__smtp_reply r550 = { 550, { 5, 1, 1 }, "<a@b.example>: no such user" };
    struct bp__smtp_reply r451 = { 451, { 4, 3, 0 }, "try later" };
    bp__smtp_classify(&ok, &ok, &ok, 0, "", &r);
    ASSERT_EQ(r.cls, BP_SEND_OK);
    bp__smtp_classify(&ok, &r550, &none, 0, "", &r);
    ASSERT_EQ(r.cls, BP_SEND_PERMANENT);
    ASSERT_STR_EQ(r.error_code, "550");
    ASSERT_TRUE(strncmp(r.error_detail, "5.1.1 RCPT", 10) == 0);
    ASSERT_TRUE(strstr(r.error_detail, "a@b.example") == NULL);     /* scrubbed */
    struct bp__smtp_reply plain550 = { 550, { 0, 0, 0 }, "5.7.1 relay denied" };
    bp__smtp_classify(&ok, &plain550, &none, 0, "", &r);
    ASSERT_STR_EQ(r.error_detail, "5.7.1 RCPT: relay denied");
    bp__smtp_classify(&ok, &r451, &none, 0, "", &r);
    ASSERT_EQ(r.cls, BP_SEND_TRANSIENT);
    ASSERT_STR_EQ(r.error_code, "451");
    bp__smtp_classify(&ok, &ok, &r451, 0, "", &r);
    ASSERT_EQ(r.cls, BP_SEND_TRANSIENT);
    /* A timeout "succeeds" with code 0: never OK. */
    bp__smtp_classify(&ok, &ok, &none, 0, "", &r);
    ASSERT_EQ(r.cls, BP_SEND_TRANSIENT);
    ASSERT_STR_EQ(r.error_code, "timeout");
    bp__smtp_classify(&none, &none, &none, 111, "Connection refused", &r);
    ASSERT_EQ(r.cls, BP_SEND_TRANSIENT);
    ASSERT_STR_EQ(r.error_code, "connect");
    /* The school's own sender address refused: the school's configuration,
     * retried (smtp_classify.c); a 4xx at MAIL keeps its code. */
    struct bp__smtp_reply sender = { 550, { 5, 1, 8 }, "<office@district.example>: Sender"
                                     " address rejected: Domain not found" };
    bp__smtp_classify(&sender, &none, &none, 0, "", &r);
    ASSERT_EQ(r.cls, BP_SEND_TRANSIENT);
    ASSERT_STR_EQ(r.error_code, "sender_refused");
    ASSERT_TRUE(strncmp(r.error_detail, "5.1.8 MAIL: ", 12) == 0);
    ASSERT_TRUE(strstr(r.error_detail, "office@district.example") == NULL);   /* scrubbed */
    bp__smtp_classify(&r451, &none, &none, 0, "", &r);
    ASSERT_EQ(r.cls, BP_SEND_TRANSIENT);
    ASSERT_STR_EQ(r.error_code, "451");
}

static struct bp_send_job mkjob(void)
{
    return (struct bp_send_job){
        .to = "parent@example.org", .to_name = "Nguyễn Thị Hoa",
        .subject = "Thông báo: họp phụ huynh 学校 اجتماع", .body = "Xin chào,\nline two\n",
        .message_id = "m1.abc@school.example", .reply_to = "replies+t42@school.example",
        .in_reply_to = "<p1@parent.example>", .references = "<r0@x.example> <p1@parent.example>",
        .unsubscribe_url = "https://school.example/u/t42",
        .unsubscribe_mailto = "unsub+t42@school.example", .automatic = true };
}

static void test_mime(void)
{
    char err[128];
    size_t len;
    struct bp_send_job j = mkjob();
    char *t = bp_smtp_mime_build("École Ste-Anne", "office@school.example", &j,
                                 1700000000000LL, &len, err, sizeof err);
    ASSERT_TRUE(t != NULL);
    ASSERT_EQ(strlen(t), len);
    for (size_t i = 0; i < len; i++)          /* every LF is part of a CRLF */
        if (t[i] == '\n')
            ASSERT_TRUE(i > 0 && t[i - 1] == '\r');
    ASSERT_STR_CONTAINS(t, "Message-Id: <m1.abc@school.example>");
    ASSERT_STR_CONTAINS(t, "Subject: =?");
    ASSERT_STR_CONTAINS(t, "In-Reply-To: <p1@parent.example>");
    ASSERT_STR_CONTAINS(t, "List-Unsubscribe: <mailto:unsub+t42@school.example>,");
    ASSERT_STR_CONTAINS(t, "<https://school.example/u/t42>\r\n");   /* may be folded */
    ASSERT_STR_CONTAINS(t, "List-Unsubscribe-Post: List-Unsubscribe=One-Click");
    ASSERT_STR_CONTAINS(t, "Auto-Submitted: auto-generated");
    ASSERT_STR_CONTAINS(t, "charset=utf-8");
    ASSERT_TRUE(strstr(t, "Nguyễn") == NULL);   /* display name encoded */
    free(t);
    j.subject = "x\r\nBcc: victim@example.org";
    ASSERT_TRUE(bp_smtp_mime_build(NULL, "office@school.example", &j, 0, &len, err,
                                   sizeof err) == NULL);
    j = mkjob();
    j.body = "bad \xff utf8";
    ASSERT_TRUE(bp_smtp_mime_build(NULL, "office@school.example", &j, 0, &len, err,
                                   sizeof err) == NULL);
    ASSERT_STR_CONTAINS(err, "UTF-8");
}

static int calls[8];
static struct bp_send_result last[8];
static bool closed;

static void on_done(struct bp_send_job *job, const struct bp_send_result *r, void *arg)
{
    (void)arg;
    calls[job->delivery_id]++;
    last[job->delivery_id] = *r;
}

static void on_closed(void *arg)
{
    (void)arg;
    closed = true;
}

static int refused_port(void)
{
    uv_loop_t l;
    uv_tcp_t t;
    struct sockaddr_in a;
    int len = sizeof a;
    uv_loop_init(&l);
    uv_tcp_init(&l, &t);
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_bind(&t, (struct sockaddr *)&a, 0);
    uv_tcp_getsockname(&t, (struct sockaddr *)&a, &len);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&l, UV_RUN_DEFAULT);
    uv_loop_close(&l);
    return ntohs(a.sin_port);
}

static void run(bool close_at_once)
{
    uv_loop_t loop;
    struct bp_sender s;
    struct bp_send_job jobs[6];
    memset(calls, 0, sizeof calls);
    closed = false;
    struct bp_smtp_opts o = { .host = "127.0.0.1", .port = (unsigned)refused_port(),
                              .from_address = "office@school.example", .workers = 1,
                              .timeout_ms = 2000, .batch_max = 1 };
    uv_loop_init(&loop);
    ASSERT_OK(bp_smtp_sender_new(&loop, &o, &s, NULL));
    for (int i = 1; i <= 5; i++) {
        jobs[i] = mkjob();
        jobs[i].delivery_id = i;
        ASSERT_OK(s.submit(s.self, &jobs[i], on_done, NULL));
    }
    ASSERT_EQ(calls[1], 0);
    if (close_at_once) {
        s.close(s.self, on_closed, NULL);
        ASSERT_EQ(s.submit(s.self, &jobs[1], on_done, NULL), BP_ECLOSED);
    } else {
        while (s.in_flight(s.self) > 0 && uv_run(&loop, UV_RUN_ONCE))
            ;
        s.close(s.self, on_closed, NULL);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_TRUE(closed);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    int canceled = 0;
    for (int i = 1; i <= 5; i++) {
        ASSERT_EQ(calls[i], 1);
        ASSERT_EQ(last[i].cls, BP_SEND_TRANSIENT);
        if (!strcmp(last[i].error_code, "canceled"))
            canceled++;
        else
            ASSERT_STR_EQ(last[i].error_code, "connect");
    }
    if (!close_at_once)
        ASSERT_EQ(canceled, 0);
}

static void test_refused_is_transient(void) { run(false); }
static void test_close_cancels_each_once(void) { run(true); }

int main(void)
{
    BP_TEST(test_classify);
    BP_TEST(test_mime);
    BP_TEST(test_refused_is_transient);
    BP_TEST(test_close_cancels_each_once);
    return bp_test_done();
}
