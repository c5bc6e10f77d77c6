/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests of src/sms: form encoding, Retry-After parsing, the one
 * classification of Messages API outcomes, the token bucket, and the sender
 * on a real libuv loop against a refused loopback port (connect error is
 * TRANSIENT; close cancels queued jobs exactly once; uv_loop_close == 0),
 * and [sms] rate_per_second = 0 meaning "no limit" (schema and sender).
 * The full exchange with the imitation Twilio is in
 * tests/integration/test_sms_sender.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <curl/curl.h>
#include <uv.h>

#include "bp_test.h"
#include "bp/conf.h"
#include "bp/sms.h"
#include "sms_int.h"
#include "sms_req.h"

static void test_form_encoding(void)
{
    struct bp_buf b;
    bp_buf_init(&b, 4096);
    ASSERT_OK(bp__sms_form_add(&b, "To", "+15005550006"));
    ASSERT_OK(bp__sms_form_add(&b, "Body", "a&b=c d\xc3\xa9~"));
    ASSERT_STR_EQ(b.data, "To=%2B15005550006&Body=a%26b%3Dc%20d%C3%A9~");
    bp_buf_free(&b);
    bp_buf_init(&b, 8);
    ASSERT_EQ(bp__sms_form_add(&b, "Body", "0123456789"), BP_ETOOBIG);
    bp_buf_free(&b);
}

static void test_retry_after(void)
{
    ASSERT_EQ(bp__sms_retry_after_ms("2", 0), 2000);
    ASSERT_EQ(bp__sms_retry_after_ms(" 17 ", 0), 17000);
    ASSERT_EQ(bp__sms_retry_after_ms("x1", 0), 0);
    ASSERT_EQ(bp__sms_retry_after_ms(NULL, 0), 0);
    /* HTTP-date: 2015-10-21 07:28:00 GMT = 1445412480 s */
    ASSERT_EQ(bp__sms_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470000LL), 10000);
    ASSERT_EQ(bp__sms_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490000LL), 0);
}

static void classify(int cc, long st, const char *body, const char *ra, struct bp_send_result *r)
{
    bp__sms_classify(cc, st, body, body ? strlen(body) : 0, ra, 0, r);
}

static void test_classify(void)
{
    struct bp_send_result r;
    classify(0, 201, "{\"sid\":\"SM0123\",\"status\":\"queued\"}", NULL, &r);
    ASSERT_EQ(r.cls, BP_SEND_OK);
    ASSERT_STR_EQ(r.provider_msg_id, "SM0123");
    classify(0, 201, "{\"status\":\"queued\"}", NULL, &r);
    ASSERT_EQ(r.cls, BP_SEND_TRANSIENT);
    classify(0, 429, "{\"code\":20429,\"message\":\"Too Many Requests\",\"status\":429}", "3", &r);
    ASSERT_EQ(r.cls, BP_SEND_TRANSIENT);
    ASSERT_STR_EQ(r.error_code, "20429");
    ASSERT_EQ(r.retry_after_ms, 3000);
    classify(0, 400, "{\"code\":20429,\"message\":\"x\",\"status\":400}", NULL, &r);
    ASSERT_EQ(r.cls, BP_SEND_TRANSIENT);
    classify(0, 503, "<html>", NULL, &r);
    ASSERT_EQ(r.cls, BP_SEND_TRANSIENT);
    ASSERT_STR_EQ(r.error_code, "503");
    classify(0, 400, "{\"code\":21211,\"message\":\"The 'To' number +15551234567 is not a valid "
             "phone number.\",\"more_info\":\"https://www.twilio.com/docs/errors/21211\","
             "\"status\":400}", NULL, &r);
    ASSERT_EQ(r.cls, BP_SEND_PERMANENT);
    ASSERT_STR_EQ(r.error_code, "21211");
    ASSERT_TRUE(strstr(r.error_detail, "+15551234567") == NULL);   /* scrubbed */
    classify(0, 401, "{\"code\":20003,\"message\":\"Authenticate\",\"status\":401}", NULL, &r);
    ASSERT_EQ(r.cls, BP_SEND_TRANSIENT);        /* the school's configuration */
    ASSERT_STR_EQ(r.error_code, "auth");
    classify(0, 404, "not json", NULL, &r);
    ASSERT_EQ(r.cls, BP_SEND_PERMANENT);
    ASSERT_STR_EQ(r.error_code, "404");
    classify(CURLE_OPERATION_TIMEDOUT, 0, NULL, NULL, &r);
    ASSERT_EQ(r.cls, BP_SEND_TRANSIENT);
    ASSERT_STR_EQ(r.error_code, "timeout");
    classify(CURLE_COULDNT_CONNECT, 0, NULL, NULL, &r);
    ASSERT_STR_EQ(r.error_code, "connect");
    classify(CURLE_RECV_ERROR, 0, NULL, NULL, &r);
    ASSERT_STR_EQ(r.error_code, "network");
}

/* The reply reader (simdjson, sms_reply.cc) on Twilio's whole 201 reply,
 * as its documentation prints it, and on replies that are not usable. */
static const char TWILIO_201[] =
    "{\"account_sid\": \"ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\", \"api_version\": \"2010-04-01\","
    " \"body\": \"Ecole Lincoln : r\u00e9union jeudi \u2014 \u4f60\u597d \\\"merci\\\"\","
    " \"date_created\": \"Thu, 24 Aug 2023 05:01:45 +0000\", \"date_sent\": null,"
    " \"date_updated\": \"Thu, 24 Aug 2023 05:01:45 +0000\", \"direction\": \"outbound-api\","
    " \"error_code\": null, \"error_message\": null, \"from\": \"+14155552345\","
    " \"num_media\": \"0\", \"num_segments\": \"1\", \"price\": null, \"price_unit\": null,"
    " \"messaging_service_sid\": \"MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
    " \"sid\": \"SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"status\": \"queued\","
    " \"subresource_uris\": {\"media\": \"/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
    "/Messages/SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Media.json\"}, \"to\": \"+14155552345\","
    " \"uri\": \"/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Messages/"
    "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json\"}";

static void test_reply_reader(void)
{
    struct bp__sms_reply rp;
    struct bp_send_result r;
    ASSERT_EQ(bp__sms_reply_read(TWILIO_201, strlen(TWILIO_201), &rp), 0);
    ASSERT_STR_EQ(rp.sid, "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    ASSERT_EQ(rp.sid_len, 34);
    ASSERT_STR_EQ(rp.status, "queued");
    ASSERT_FALSE(rp.has_code);
    classify(0, 201, TWILIO_201, NULL, &r);
    ASSERT_EQ(r.cls, BP_SEND_OK);
    ASSERT_STR_EQ(r.provider_msg_id, "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    ASSERT_STR_EQ(r.error_detail, "queued");
    /* Escapes in the sid are decoded, as by any JSON reader. */
    classify(0, 201, "{\"sid\":\"SM\\u0030\\/1\"}", NULL, &r);
    ASSERT_EQ(r.cls, BP_SEND_OK);
    ASSERT_STR_EQ(r.provider_msg_id, "SM0/1");

    /* The document is validated whole: a broken end, a byte that is not
     * UTF-8, or trailing garbage after the sid has been seen is no reply. */
    char buf[sizeof TWILIO_201];
    size_t n = strlen(TWILIO_201);
    ASSERT_EQ(bp__sms_reply_read(TWILIO_201, n - 1, &rp), -1);
    ASSERT_EQ(rp.sid_len, 0);
    memcpy(buf, TWILIO_201, n + 1);
    buf[strstr(buf, "Ecole") - buf] = (char)0xff;
    ASSERT_EQ(bp__sms_reply_read(buf, n, &rp), -1);
    classify(0, 201, buf, NULL, &r);
    ASSERT_EQ(r.cls, BP_SEND_TRANSIENT);
    ASSERT_STR_EQ(r.error_code, "bad_reply");
    classify(0, 201, "{\"sid\":\"SM1\"} x", NULL, &r);
    ASSERT_STR_EQ(r.error_code, "bad_reply");
    classify(0, 201, "[\"SM1\"]", NULL, &r);         /* not an object */
    ASSERT_STR_EQ(r.error_code, "bad_reply");
    classify(0, 201, "{\"sid\":17}", NULL, &r);      /* not a string */
    ASSERT_STR_EQ(r.error_code, "bad_reply");
    classify(0, 201, "{\"sid\":\"\"}", NULL, &r);
    ASSERT_STR_EQ(r.error_code, "bad_reply");
    classify(0, 201, "{\"sid\":\"SM\\u0000x\"}", NULL, &r);   /* would be cut short */
    ASSERT_STR_EQ(r.error_code, "bad_reply");
    snprintf(buf, sizeof buf, "{\"sid\":\"SM%080d\"}", 7);  /* longer than a sid can be */
    classify(0, 201, buf, NULL, &r);
    ASSERT_STR_EQ(r.error_code, "bad_reply");

    /* Twilio's error JSON: "code" must be an integer. */
    classify(0, 400, "{\"code\":21211.0,\"message\":\"m\",\"status\":400}", NULL, &r);
    ASSERT_EQ(r.cls, BP_SEND_PERMANENT);
    ASSERT_STR_EQ(r.error_code, "400");
    classify(0, 400, "{\"code\":\"21211\",\"status\":400}", NULL, &r);
    ASSERT_STR_EQ(r.error_code, "400");
    classify(0, 400, "{\"code\":21610,\"message\":\"Attempt to send to unsubscribed "
             "recipient\",\"more_info\":\"https://www.twilio.com/docs/errors/21610\","
             "\"status\":400}", NULL, &r);
    ASSERT_EQ(r.cls, BP_SEND_PERMANENT);
    ASSERT_STR_EQ(r.error_code, "21610");
    ASSERT_STR_EQ(r.error_detail, "Attempt to send to unsubscribed recipient");
    ASSERT_EQ(bp__sms_reply_read(NULL, 0, &rp), -1);

    /* A refusal of the school's From number waits for an admin (TRANSIENT
     * "sender_refused", Twilio's code first in the detail); the number
     * quoted in the message is scrubbed. */
    classify(0, 400, "{\"code\":21606,\"message\":\"The 'From' phone number provided"
             " (+15550109999) is not a valid message-capable Twilio phone number for this"
             " destination.\",\"more_info\":\"https://www.twilio.com/docs/errors/21606\","
             "\"status\":400}", NULL, &r);
    ASSERT_EQ(r.cls, BP_SEND_TRANSIENT);
    ASSERT_STR_EQ(r.error_code, "sender_refused");
    ASSERT_TRUE(strncmp(r.error_detail, "21606 The 'From' phone number", 29) == 0);
    ASSERT_TRUE(strstr(r.error_detail, "+15550109999") == NULL);
    classify(0, 400, "{\"code\":21660,\"message\":\"Mismatch between the 'From' number"
             " and the account\",\"status\":400}", NULL, &r);
    ASSERT_STR_EQ(r.error_code, "sender_refused");
    classify(0, 400, "{\"code\":21614,\"message\":\"'To' number is not a valid mobile"
             " number\",\"status\":400}", NULL, &r);    /* the family's number: final */
    ASSERT_EQ(r.cls, BP_SEND_PERMANENT);
    ASSERT_STR_EQ(r.error_code, "21614");
}

static void test_bucket(void)
{
    struct bp__sms_bucket b;
    bp__sms_bucket_init(&b, 10, 2, 1000);
    ASSERT_TRUE(bp__sms_bucket_take(&b, 1000));
    ASSERT_TRUE(bp__sms_bucket_take(&b, 1000));
    ASSERT_FALSE(bp__sms_bucket_take(&b, 1000));       /* burst of 2 used up */
    ASSERT_EQ(bp__sms_bucket_wait_ms(&b, 1000), 100);
    ASSERT_FALSE(bp__sms_bucket_take(&b, 1099));
    ASSERT_TRUE(bp__sms_bucket_take(&b, 1100));
    ASSERT_TRUE(bp__sms_bucket_take(&b, 5000));
    ASSERT_TRUE(bp__sms_bucket_take(&b, 5000));
    ASSERT_FALSE(bp__sms_bucket_take(&b, 5000));       /* never more than the burst */
    bp__sms_bucket_init(&b, 5, 0, 0);                  /* burst 0 -> rate */
    int n = 0;
    while (bp__sms_bucket_take(&b, 0))
        n++;
    ASSERT_EQ(n, 5);
}

/* ---- the sender on a loop ---------------------------------------------- */

struct seen {
    int calls[8];
    struct bp_send_result last[8];
    bool closed;
};
static struct seen seen;

static void on_done(struct bp_send_job *job, const struct bp_send_result *r, void *arg)
{
    (void)arg;
    seen.calls[job->delivery_id]++;
    seen.last[job->delivery_id] = *r;
}

static void on_closed(void *arg)
{
    (void)arg;
    seen.closed = true;
}

static int refused_port(void)
{
    /* Bind, read the port, close: nothing listens there afterwards. */
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

/* A sender (max_in_flight 4, burst 1) against a refused port, with njobs
 * submitted. */
static void start_sender(uv_loop_t *loop, struct bp_sender *s, char *base, size_t cap,
                         unsigned rate, struct bp_send_job *jobs, int njobs)
{
    memset(&seen, 0, sizeof seen);
    snprintf(base, cap, "http://127.0.0.1:%d", refused_port());
    struct bp_sms_opts o = { .api_base = base, .account_sid = "AC0123", .auth_token = "t",
                             .from_number = "+15005550001", .rate_per_second = rate,
                             .burst = 1, .max_in_flight = 4, .request_timeout_ms = 2000 };
    uv_loop_init(loop);
    ASSERT_OK(bp_sms_sender_new(loop, &o, s, NULL));
    for (int i = 1; i <= njobs; i++) {
        jobs[i] = (struct bp_send_job){ .delivery_id = i, .to = "+15005550006", .body = "hi",
                                        .idempotency_key = "k" };
        ASSERT_OK(s->submit(s->self, &jobs[i], on_done, NULL));
    }
}

static void run_sender(bool close_at_once, int njobs)
{
    uv_loop_t loop;
    struct bp_sender s;
    char base[64];
    struct bp_send_job jobs[8];
    start_sender(&loop, &s, base, sizeof base, 1, jobs, njobs);
    ASSERT_EQ(seen.calls[1], 0);                      /* never from inside submit */
    ASSERT_EQ(s.in_flight(s.self), (unsigned)njobs);
    if (close_at_once) {
        s.close(s.self, on_closed, NULL);
        ASSERT_EQ(s.submit(s.self, &jobs[1], on_done, NULL), BP_ECLOSED);
    } else {
        while (seen.calls[1] == 0 && uv_run(&loop, UV_RUN_ONCE))
            ;
        s.close(s.self, on_closed, NULL);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_TRUE(seen.closed);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    for (int i = 1; i <= njobs; i++)
        ASSERT_EQ(seen.calls[i], 1);
    if (!close_at_once) {
        ASSERT_EQ(seen.last[1].cls, BP_SEND_TRANSIENT);
        ASSERT_STR_EQ(seen.last[1].error_code, "connect");
    }
    for (int i = close_at_once ? 1 : 2; i <= njobs; i++)
        ASSERT_STR_EQ(seen.last[i].error_code, "canceled");
}

static void test_refused_is_transient_then_close_cancels(void) { run_sender(false, 5); }
static void test_close_at_once_cancels_each_once(void) { run_sender(true, 5); }

/* [sms] rate_per_second = 0 is accepted and means "no limit": every job
 * goes on the wire at submit time up to max_in_flight, where a rate of 1
 * (burst 1) lets exactly one go. */
static void started_at_submit(unsigned rate, unsigned *active)
{
    uv_loop_t loop;
    struct bp_sender s;
    char base[64];
    struct bp_send_job jobs[8];
    start_sender(&loop, &s, base, sizeof base, rate, jobs, 6);
    *active = ((struct bp_sms *)s.self)->active;
    s.close(s.self, on_closed, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_TRUE(seen.closed);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    for (int i = 1; i <= 6; i++)
        ASSERT_EQ(seen.calls[i], 1);
}

static void test_rate_zero_is_no_limit(void)
{
    unsigned active = 0;
    started_at_submit(0, &active);
    ASSERT_EQ(active, 4);                  /* only max_in_flight holds them */
    started_at_submit(1, &active);
    ASSERT_EQ(active, 1);                  /* the bucket holds them */
}

static bool conf_accepts_rate(const char *rate, int64_t *got)
{
    char path[] = "/tmp/bp-test-sms-conf.XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    struct bp_conf *c = NULL;
    struct bp_errbuf eb;
    fprintf(f, "[store]\npath = /tmp/unused.db\n[school]\nname = T\n"
               "[sms]\nrate_per_second = %s\n", rate);
    fclose(f);
    int rc = bp_conf_load(path, &c, &eb);
    unlink(path);
    if (rc == 0) {
        *got = c->sms_rate_per_second;
        bp_conf_free(c);
    }
    return rc == 0;
}

static void test_conf_rate_range(void)
{
    int64_t v = -1;
    ASSERT_TRUE(conf_accepts_rate("0", &v));
    ASSERT_EQ(v, 0);
    ASSERT_TRUE(conf_accepts_rate("10000", &v));
    ASSERT_EQ(v, 10000);
    ASSERT_FALSE(conf_accepts_rate("-1", &v));
    ASSERT_FALSE(conf_accepts_rate("10001", &v));
}

static void test_bad_options(void)
{
    uv_loop_t loop;
    struct bp_sender s;
    struct bp_errbuf eb;
    struct bp_sms_opts o = { .api_base = "http://127.0.0.1:1", .account_sid = "AC1",
                             .auth_token = "t", .max_in_flight = 1, .request_timeout_ms = 10 };
    uv_loop_init(&loop);
    ASSERT_EQ(bp_sms_sender_new(&loop, &o, &s, &eb), BP_ECONFIG);   /* no From nor MSS */
    ASSERT_EQ(uv_loop_close(&loop), 0);
}

int main(void)
{
    BP_TEST(test_form_encoding);
    BP_TEST(test_retry_after);
    BP_TEST(test_classify);
    BP_TEST(test_reply_reader);
    BP_TEST(test_bucket);
    BP_TEST(test_refused_is_transient_then_close_cancels);
    BP_TEST(test_close_at_once_cancels_each_once);
    BP_TEST(test_bad_options);
    BP_TEST(test_rate_zero_is_no_limit);
    BP_TEST(test_conf_rate_range);
    return bp_test_done();
}
