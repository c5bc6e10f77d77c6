/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests of src/http: a real server on 127.0.0.1:0 in a loop thread and
 * real sockets (see http_fixture.c).  Every test ends by closing the server
 * and asserting uv_loop_close() == 0; ASan builds also check for leaks.
 */
#include <string.h>
#include <sys/socket.h>

#include "bp_test.h"
#include "http_fixture.h"

static struct fx F;
static struct client C, D;

#define START(lim)                                                         \
    do {                                                                   \
        ASSERT_OK(fx_start(&F, (lim)));                                    \
        ASSERT_OK(cli_connect(&C, F.port));                                \
    } while (0)
#define STOP()                                                             \
    do {                                                                   \
        cli_close(&C);                                                     \
        ASSERT_EQ(fx_stop(&F), 0);                                         \
    } while (0)

static struct bp_http_limits deflim(void)
{
    struct bp_http_limits l;
    fx_default_limits(&l);
    return l;
}

static void test_get(void)
{
    struct bp_http_limits l = deflim();
    struct resp r;

    START(&l);
    ASSERT_OK(cli_sends(&C, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 200);
    ASSERT_STR_EQ(r.body, "hello");
    ASSERT_STR_EQ(resp_header(&r, "Content-Type"), "text/plain");
    ASSERT_STR_EQ(resp_header(&r, "content-length"), "5");
    ASSERT_TRUE(resp_header(&r, "Date") != NULL);
    ASSERT_TRUE(resp_header(&r, "Connection") == NULL);
    /* HEAD on a GET route: headers, no body */
    ASSERT_OK(cli_sends(&C, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    C.no_body = true;
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 200);
    ASSERT_STR_EQ(resp_header(&r, "Content-Length"), "5");
    /* no body bytes may follow: the next response must parse */
    ASSERT_OK(cli_sends(&C, "GET /hello HTTP/1.1\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_STR_EQ(r.body, "hello");
    STOP();
}

static void test_keepalive_and_echo(void)
{
    struct bp_http_limits l = deflim();
    struct resp r;

    START(&l);
    ASSERT_OK(cli_sends(&C, "POST /echo?a=1&b=%20 HTTP/1.1\r\nHost: x\r\n"
                            "X-Test:   spaced value  \r\nContent-Length: 3\r\n\r\nabc"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 200);
    ASSERT_STR_EQ(r.body, "abc");
    ASSERT_STR_EQ(resp_header(&r, "X-Query"), "a=1&b=%20");
    ASSERT_STR_EQ(resp_header(&r, "X-Test"), "spaced value");
    /* second request on the same connection, chunked body */
    ASSERT_OK(cli_sends(&C, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "3\r\nfoo\r\n4\r\nbar!\r\n0\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 200);
    ASSERT_STR_EQ(r.body, "foobar!");
    ASSERT_STR_EQ(resp_header(&r, "X-Query"), "");
    ASSERT_STR_EQ(resp_header(&r, "X-Test"), "-");
    STOP();
}

static void test_pipelining_order(void)
{
    struct bp_http_limits l = deflim();
    struct resp r;
    char many[64 * 40 + 1] = "";

    START(&l);
    /* /late answers 10 ms later; the ones behind it answer at once but
     * must wait for their turn. */
    ASSERT_OK(cli_sends(&C, "GET /late HTTP/1.1\r\n\r\n"
                            "GET /hello HTTP/1.1\r\n\r\n"
                            "POST /echo?n=3 HTTP/1.1\r\nContent-Length: 1\r\n\r\nz"
                            "GET /nope HTTP/1.1\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_STR_EQ(r.body, "late");
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_STR_EQ(r.body, "hello");
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_STR_EQ(r.body, "z");
    ASSERT_STR_EQ(resp_header(&r, "X-Query"), "n=3");
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 404);
    /* more than the pipeline cap in one go: reads pause and resume */
    for (int i = 0; i < 40; i++)
        strcat(many, i % 2 ? "GET /late HTTP/1.1\r\n\r\n"
                           : "GET /hello HTTP/1.1\r\n\r\n");
    ASSERT_OK(cli_sends(&C, many));
    for (int i = 0; i < 40; i++) {
        ASSERT_OK(cli_read(&C, &r));
        ASSERT_STR_EQ(r.body, i % 2 ? "late" : "hello");
    }
    STOP();
}

static void test_header_too_big(void)
{
    struct bp_http_limits l = deflim();
    struct resp r;
    static char big[8000];

    START(&l);
    memset(big, 'a', sizeof big - 1);
    ASSERT_OK(cli_sends(&C, "GET /hello HTTP/1.1\r\nX-Big: "));
    ASSERT_OK(cli_sends(&C, big));
    ASSERT_OK(cli_sends(&C, "\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 431);
    ASSERT_STR_EQ(resp_header(&r, "Connection"), "close");
    ASSERT_TRUE(cli_eof(&C));
    cli_close(&C);
    /* too many header lines */
    ASSERT_OK(cli_connect(&C, F.port));
    ASSERT_OK(cli_sends(&C, "GET /hello HTTP/1.1\r\n"));
    for (int i = 0; i < BP_HTTP_MAX_HEADERS + 1; i++)
        ASSERT_OK(cli_sends(&C, "A: b\r\n"));
    ASSERT_OK(cli_sends(&C, "\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 431);
    STOP();
}

static void test_body_too_big(void)
{
    struct bp_http_limits l = deflim();
    struct resp r;
    static char chunk[700];

    START(&l);
    ASSERT_OK(cli_sends(&C, "POST /echo HTTP/1.1\r\nContent-Length: 100000\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 413);
    ASSERT_TRUE(cli_eof(&C));
    cli_close(&C);
    /* chunked: each chunk fits, the sum does not */
    ASSERT_OK(cli_connect(&C, F.port));
    memset(chunk, 'x', sizeof chunk);
    ASSERT_OK(cli_sends(&C, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"));
    for (int i = 0; i < 2; i++) {
        ASSERT_OK(cli_sends(&C, "2bc\r\n"));
        ASSERT_OK(cli_send(&C, chunk, sizeof chunk));
        ASSERT_OK(cli_sends(&C, "\r\n"));
    }
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 413);
    /* exactly at the limit is fine */
    cli_close(&C);
    ASSERT_OK(cli_connect(&C, F.port));
    ASSERT_OK(cli_sends(&C, "POST /echo HTTP/1.1\r\nContent-Length: 1024\r\n\r\n"));
    {
        static char body[1024];
        memset(body, 'y', sizeof body);
        ASSERT_OK(cli_send(&C, body, sizeof body));
    }
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.body_len, 1024);
    STOP();
}

static void expect_status(const char *req, size_t len, int status)
{
    struct resp r;

    ASSERT_OK(cli_connect(&D, F.port));
    ASSERT_OK(cli_send(&D, req, len));
    ASSERT_OK(cli_read(&D, &r));
    ASSERT_TRUE(cli_eof(&D));
    cli_close(&D);
    if (r.status != status)
        printf("# request: %.*s\n", (int)strcspn(req, "\r"), req);
    ASSERT_EQ(r.status, status);
}

static void expect_400(const char *req, size_t len)
{
    expect_status(req, len, 400);
}

static void test_malformed(void)
{
    struct bp_http_limits l = deflim();
    static const char nul_hdr[] = "GET /hello HTTP/1.1\r\nX-A: a\0b\r\n\r\n";
    static const char nul_url[] = "GET /he\0llo HTTP/1.1\r\n\r\n";
    struct resp r;

    START(&l);
    expect_400("GARBAGE\r\n\r\n", 11);
    expect_status("GET /hello HTTP/9.9\r\n\r\n", 23, 505);
    expect_400("FOO /hello HTTP/1.1\r\n\r\n", 23);
    expect_400("GET /hello HTTP/1.1\r\nBad Header: x\r\n\r\n", 38);
    expect_400(nul_hdr, sizeof nul_hdr - 1);
    expect_400(nul_url, sizeof nul_url - 1);
    expect_400("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 55);
    expect_400("POST /echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 64);
    expect_400("POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 44);
    expect_400("GET http://host HTTP/1.1\r\n\r\n", 28);
    /* the server is still fine */
    ASSERT_OK(cli_sends(&C, "GET /hello HTTP/1.1\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 200);
    /* absolute-form URL is accepted */
    ASSERT_OK(cli_sends(&C, "GET http://example.org/hello?q HTTP/1.1\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 200);
    STOP();
}

static void test_timeouts(void)
{
    struct bp_http_limits l = deflim();
    struct resp r;

    l.header_timeout_ms = 100;
    l.request_timeout_ms = 150;
    l.idle_timeout_ms = 100;
    START(&l);
    /* head never completes */
    ASSERT_OK(cli_sends(&C, "GET /hello HTTP/1.1\r\nHost:"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 408);
    ASSERT_TRUE(cli_eof(&C));
    cli_close(&C);
    /* a connection that sends nothing */
    ASSERT_OK(cli_connect(&C, F.port));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 408);
    cli_close(&C);
    /* body never completes */
    ASSERT_OK(cli_connect(&C, F.port));
    ASSERT_OK(cli_sends(&C, "POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 408);
    cli_close(&C);
    /* idle keep-alive: closed without a response */
    ASSERT_OK(cli_connect(&C, F.port));
    ASSERT_OK(cli_sends(&C, "GET /hello HTTP/1.1\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 200);
    ASSERT_TRUE(cli_eof(&C));
    STOP();
}

static void test_connection_cap(void)
{
    struct bp_http_limits l = deflim();
    struct client more[3];
    struct resp r;

    l.max_connections = 3;
    START(&l);
    ASSERT_OK(cli_sends(&C, "GET /hello HTTP/1.1\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    for (int i = 0; i < 2; i++) {
        ASSERT_OK(cli_connect(&more[i], F.port));
        ASSERT_OK(cli_sends(&more[i], "GET /hello HTTP/1.1\r\n\r\n"));
        ASSERT_OK(cli_read(&more[i], &r));
        ASSERT_EQ(r.status, 200);
    }
    /* the fourth is accepted and closed at once */
    ASSERT_OK(cli_connect(&more[2], F.port));
    ASSERT_TRUE(cli_eof(&more[2]));
    cli_close(&more[2]);
    fx_cmd(&F, FX_CMD_METRICS);
    ASSERT_STR_CONTAINS(F.metrics, "backpack_http_connections_rejected_total 1\n");
    ASSERT_STR_CONTAINS(F.metrics, "backpack_http_connections_open 3\n");
    /* once one leaves, a new one gets in */
    cli_close(&more[0]);
    for (int tries = 0;; tries++) {
        ASSERT_TRUE(tries < 1000);
        ASSERT_OK(cli_connect(&more[2], F.port));
        if (cli_sends(&more[2], "GET /hello HTTP/1.1\r\n\r\n") == 0 &&
            cli_read(&more[2], &r) == 0)
            break;
        cli_close(&more[2]);   /* the close of more[0] was not seen yet */
    }
    ASSERT_EQ(r.status, 200);
    cli_close(&more[1]);
    cli_close(&more[2]);
    STOP();
}

static void test_404_405_prefix(void)
{
    struct bp_http_limits l = deflim();
    struct resp r;

    START(&l);
    ASSERT_OK(cli_sends(&C, "GET /nope HTTP/1.1\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 404);
    ASSERT_OK(cli_sends(&C, "POST /hello HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 405);
    ASSERT_STR_EQ(resp_header(&r, "Allow"), "GET, HEAD");
    ASSERT_OK(cli_sends(&C, "POST /webhooks/sms/twilio/status HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 200);
    ASSERT_STR_EQ(r.body, "/webhooks/sms/twilio/status");
    ASSERT_OK(cli_sends(&C, "POST /webhooks/sms HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 404);
    ASSERT_OK(cli_sends(&C, "GET /webhooks/sms/x HTTP/1.1\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 405);
    ASSERT_STR_EQ(resp_header(&r, "Allow"), "POST");
    /* still keep-alive after 404/405 */
    ASSERT_OK(cli_sends(&C, "GET /hello HTTP/1.1\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 200);
    fx_cmd(&F, FX_CMD_METRICS);
    ASSERT_STR_CONTAINS(F.metrics, "backpack_http_requests_total{route=\"hello\",code=\"200\"} 1\n");
    ASSERT_STR_CONTAINS(F.metrics, "backpack_http_requests_total{route=\"sms\",code=\"200\"} 1\n");
    ASSERT_STR_CONTAINS(F.metrics, "backpack_http_requests_total{route=\"none\",code=\"404\"} 2\n");
    ASSERT_STR_CONTAINS(F.metrics, "backpack_http_requests_total{route=\"none\",code=\"405\"} 2\n");
    ASSERT_STR_CONTAINS(F.metrics, "# TYPE backpack_http_requests_total counter\n");
    STOP();
}

static void test_connection_close_and_http10(void)
{
    struct bp_http_limits l = deflim();
    struct resp r;

    START(&l);
    ASSERT_OK(cli_sends(&C, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n"
                            "GET /hello HTTP/1.1\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 200);
    ASSERT_STR_EQ(resp_header(&r, "Connection"), "close");
    ASSERT_TRUE(cli_eof(&C));
    cli_close(&C);
    ASSERT_OK(cli_connect(&C, F.port));
    ASSERT_OK(cli_sends(&C, "GET /hello HTTP/1.0\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 200);
    ASSERT_TRUE(cli_eof(&C));
    cli_close(&C);
    ASSERT_OK(cli_connect(&C, F.port));
    ASSERT_OK(cli_sends(&C, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_STR_EQ(resp_header(&r, "Connection"), "keep-alive");
    ASSERT_OK(cli_sends(&C, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 200);
    STOP();
}

static void test_expect_continue(void)
{
    struct bp_http_limits l = deflim();
    struct resp r;

    START(&l);
    ASSERT_OK(cli_sends(&C, "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\n"
                            "Content-Length: 4\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 100);
    ASSERT_OK(cli_sends(&C, "data"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 200);
    ASSERT_STR_EQ(r.body, "data");
    ASSERT_OK(cli_sends(&C, "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\n"
                            "Content-Length: 5000\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 413);
    cli_close(&C);
    ASSERT_OK(cli_connect(&C, F.port));
    ASSERT_OK(cli_sends(&C, "POST /echo HTTP/1.1\r\nExpect: something-else\r\n"
                            "Content-Length: 4\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 417);
    STOP();
}

static void test_late_response(void)
{
    struct bp_http_limits l = deflim();
    struct resp r;

    START(&l);
    ASSERT_OK(cli_sends(&C, "GET /late HTTP/1.1\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 200);
    ASSERT_STR_EQ(r.body, "late");
    /* a held request answered on command */
    ASSERT_OK(cli_sends(&C, "GET /hold HTTP/1.1\r\n\r\n"));
    uv_sem_wait(&F.held_sem);
    fx_cmd(&F, FX_CMD_RESPOND_HELD);
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_STR_EQ(r.body, "held");
    STOP();
}

static void test_disconnect_before_response(void)
{
    struct bp_http_limits l = deflim();
    struct resp r;

    START(&l);
    ASSERT_OK(cli_sends(&C, "GET /hold HTTP/1.1\r\n\r\n"));
    uv_sem_wait(&F.held_sem);
    cli_close(&C);
    /* the handler answers once the server has seen the client go */
    fx_cmd(&F, FX_CMD_RESPOND_WHEN_ORPHAN);
    ASSERT_OK(cli_connect(&C, F.port));
    ASSERT_OK(cli_sends(&C, "GET /hello HTTP/1.1\r\n\r\n"));
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_EQ(r.status, 200);
    fx_cmd(&F, FX_CMD_METRICS);
    ASSERT_STR_CONTAINS(F.metrics, "backpack_http_requests_total{route=\"hold\",code=\"200\"} 1\n");
    STOP();
}

static void test_close_with_held_request(void)
{
    struct bp_http_limits l = deflim();

    START(&l);
    ASSERT_OK(cli_sends(&C, "GET /hold HTTP/1.1\r\n\r\n"));
    uv_sem_wait(&F.held_sem);
    /* fx_stop closes the server while the handler holds the request; the
     * close callback answers it (dropped) and the loop must close clean */
    ASSERT_EQ(fx_stop(&F), 0);
    cli_close(&C);
}

static void test_drain(void)
{
    struct bp_http_limits l = deflim();
    struct resp r;

    START(&l);
    ASSERT_OK(cli_connect(&D, F.port));
    ASSERT_OK(cli_sends(&D, "GET /hello HTTP/1.1\r\n\r\n"));
    ASSERT_OK(cli_read(&D, &r));
    ASSERT_OK(cli_sends(&C, "GET /hold HTTP/1.1\r\n\r\n"));
    uv_sem_wait(&F.held_sem);
    fx_cmd(&F, FX_CMD_DRAIN);
    /* the idle connection is closed at once; new ones are refused */
    ASSERT_TRUE(cli_eof(&D));
    cli_close(&D);
    ASSERT_TRUE(cli_connect(&D, F.port) != 0);
    cli_close(&D);
    /* the request in flight completes, with Connection: close */
    fx_cmd(&F, FX_CMD_RESPOND_HELD);
    ASSERT_OK(cli_read(&C, &r));
    ASSERT_STR_EQ(r.body, "held");
    ASSERT_STR_EQ(resp_header(&r, "Connection"), "close");
    ASSERT_TRUE(cli_eof(&C));
    uv_sem_wait(&F.drained_sem);
    ASSERT_EQ(F.drained, 1);
    STOP();
}

int main(void)
{
    BP_TEST(test_get);
    BP_TEST(test_keepalive_and_echo);
    BP_TEST(test_pipelining_order);
    BP_TEST(test_header_too_big);
    BP_TEST(test_body_too_big);
    BP_TEST(test_malformed);
    BP_TEST(test_timeouts);
    BP_TEST(test_connection_cap);
    BP_TEST(test_404_405_prefix);
    BP_TEST(test_connection_close_and_http10);
    BP_TEST(test_expect_continue);
    BP_TEST(test_late_response);
    BP_TEST(test_disconnect_before_response);
    BP_TEST(test_close_with_held_request);
    BP_TEST(test_drain);
    return bp_test_done();
}
