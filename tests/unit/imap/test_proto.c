/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests of src/imap/proto.c: URL split, STATUS and SEARCH answers,
 * UID sets, error classification, backoff. */
#include <stdlib.h>
#include <string.h>

#include "bp_test.h"
#include "imap_int.h"

static void test_url_split(void)
{
    char *base, *box, *hp;
    struct bp_errbuf eb;
    ASSERT_OK(bp__imap_url_split("imap://127.0.0.1:1143/INBOX", &base, &box, &hp, &eb));
    ASSERT_STR_EQ(base, "imap://127.0.0.1:1143/");
    ASSERT_STR_EQ(box, "INBOX");
    ASSERT_STR_EQ(hp, "127.0.0.1:1143");
    free(base), free(box), free(hp);
    ASSERT_OK(bp__imap_url_split("imaps://mail.example.org/School%20Replies/", &base, &box,
                                 &hp, &eb));
    ASSERT_STR_EQ(base, "imaps://mail.example.org/");
    ASSERT_STR_EQ(box, "School Replies");
    free(base), free(box), free(hp);
    ASSERT_OK(bp__imap_url_split("imap://h", &base, &box, &hp, &eb));
    ASSERT_STR_EQ(box, "INBOX");
    free(base), free(box), free(hp);
    ASSERT_EQ(bp__imap_url_split("http://h/INBOX", &base, &box, &hp, &eb), BP_ECONFIG);
    ASSERT_EQ(bp__imap_url_split("imap://u@h/INBOX", &base, &box, &hp, &eb), BP_ECONFIG);
    ASSERT_EQ(bp__imap_url_split("imap:///INBOX", &base, &box, &hp, &eb), BP_ECONFIG);
}

static void test_url_encode(void)
{
    struct bp_buf b;
    bp_buf_init(&b, 1024);
    ASSERT_OK(bp__imap_url_encode(&b, "School Replies/2024;x?y#z%\xc3\xa9~a-b_c.d"));
    ASSERT_STR_EQ(b.data, "School%20Replies%2F2024%3Bx%3Fy%23z%25%C3%A9~a-b_c.d");
    bp_buf_free(&b);
    /* the split decodes what the encoder wrote: a round trip */
    char *base, *box, *hp;
    struct bp_errbuf eb;
    ASSERT_OK(bp__imap_url_split("imap://h/School%20Replies%3B1", &base, &box, &hp, &eb));
    ASSERT_STR_EQ(box, "School Replies;1");
    bp_buf_init(&b, 1024);
    ASSERT_OK(bp__imap_url_encode(&b, box));
    ASSERT_STR_EQ(b.data, "School%20Replies%3B1");
    bp_buf_free(&b);
    free(base), free(box), free(hp);
}

static void test_status(void)
{
    const char *r = "* STATUS \"INBOX\" (UIDNEXT 42 UIDVALIDITY 1700000001)\r\n";
    int64_t v, n;
    ASSERT_OK(bp__imap_parse_status(r, strlen(r), &v, &n));
    ASSERT_EQ(v, 1700000001);
    ASSERT_EQ(n, 42);
    r = "* OK nothing\r\n";
    ASSERT_EQ(bp__imap_parse_status(r, strlen(r), &v, &n), BP_EPROVIDER);
    ASSERT_EQ(bp__imap_parse_status("", 0, &v, &n), BP_EPROVIDER);
}

static void test_search(void)
{
    const char *r = "* SEARCH 9 3 4 5 3\r\n* 3 EXISTS\r\n* SEARCH 12\r\n";
    int64_t *u;
    size_t n;
    ASSERT_OK(bp__imap_parse_search(r, strlen(r), 3, &u, &n));
    ASSERT_EQ(n, 4);
    ASSERT_EQ(u[0], 4);
    ASSERT_EQ(u[1], 5);
    ASSERT_EQ(u[2], 9);
    ASSERT_EQ(u[3], 12);
    free(u);
    /* "UID 8:*" on a mailbox whose highest UID is 7 answers 7: filtered */
    r = "* SEARCH 7\r\n";
    ASSERT_OK(bp__imap_parse_search(r, strlen(r), 7, &u, &n));
    ASSERT_EQ(n, 0);
    free(u);
    ASSERT_OK(bp__imap_parse_search("* SEARCH\r\n", 10, 0, &u, &n));
    ASSERT_EQ(n, 0);
    free(u);
}

static void test_uid_set_and_quote(void)
{
    int64_t u[] = {3, 4, 5, 9, 11, 12};
    struct bp_buf b;
    bp_buf_init(&b, 1024);
    ASSERT_OK(bp__imap_uid_set(&b, u, 6));
    ASSERT_STR_EQ(b.data, "3:5,9,11:12");
    bp_buf_reset(&b);
    ASSERT_OK(bp__imap_quote(&b, "Done \"x\"\\y\r\n"));
    ASSERT_STR_EQ(b.data, "\"Done \\\"x\\\"\\\\y\"");
    bp_buf_free(&b);
}

static void test_classify_backoff(void)
{
    ASSERT_EQ(bp__imap_classify(CURLE_COULDNT_CONNECT), BP_IMAP_ERR_CONNECT);
    ASSERT_EQ(bp__imap_classify(CURLE_LOGIN_DENIED), BP_IMAP_ERR_AUTH);
    ASSERT_EQ(bp__imap_classify(CURLE_PEER_FAILED_VERIFICATION), BP_IMAP_ERR_TLS);
    ASSERT_EQ(bp__imap_classify(CURLE_WRITE_ERROR), BP_IMAP_ERR_TOO_BIG);
    ASSERT_EQ(bp__imap_classify(CURLE_QUOTE_ERROR), BP_IMAP_ERR_PROTOCOL);
    ASSERT_EQ(bp__imap_backoff_ms(1, 1000, 60000), 1000);
    ASSERT_EQ(bp__imap_backoff_ms(2, 1000, 60000), 2000);
    ASSERT_EQ(bp__imap_backoff_ms(4, 1000, 60000), 8000);
    ASSERT_EQ(bp__imap_backoff_ms(40, 1000, 60000), 60000);
    ASSERT_STR_EQ(bp_imap_err_kind_name(BP_IMAP_ERR_AUTH), "auth");
}

/* The \Seen STORE range of a window (seen.c): up to UIDNEXT - 1, at most
 * `ahead` past the cursor, never short of the window's last UID (a
 * message that arrived after the STATUS), 0 without UIDNEXT. */
static void test_seen_end(void)
{
    ASSERT_EQ(bp__imap_seen_end(0, 10001, 2000, 20000), 10000);      /* whole backlog */
    ASSERT_EQ(bp__imap_seen_end(0, 50001, 2000, 20000), 20000);      /* capped ahead */
    ASSERT_EQ(bp__imap_seen_end(4000, 50001, 6000, 20000), 24000);
    ASSERT_EQ(bp__imap_seen_end(0, 11, 12, 20000), 12);              /* past UIDNEXT */
    ASSERT_EQ(bp__imap_seen_end(2000, 2001, 2000, 20000), 2000);
    ASSERT_EQ(bp__imap_seen_end(0, 0, 2000, 20000), 0);              /* no UIDNEXT */
}

int main(void)
{
    BP_TEST(test_url_split);
    BP_TEST(test_url_encode);
    BP_TEST(test_status);
    BP_TEST(test_search);
    BP_TEST(test_uid_set_and_quote);
    BP_TEST(test_classify_backoff);
    BP_TEST(test_seen_end);
    return bp_test_done();
}
