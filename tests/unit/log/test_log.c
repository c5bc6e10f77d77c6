/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests of src/log: masking of personal data, quoting, levels, sink. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bp/log.h"
#include "bp_test.h"

static const char *scrub(const char *in)
{
    static char out[512];
    bp_log_scrub(in, out, sizeof out);
    return out;
}

static void test_scrub_phone(void)
{
    ASSERT_STR_EQ(scrub("from=+15551234567 x"), "from=+1******4567 x");
    ASSERT_STR_EQ(scrub("phone=5551234567"), "phone=55****4567");
    ASSERT_STR_EQ(scrub("to=\"+447700900123\""), "to=\"+4*******0123\"");
}

static void test_scrub_keeps_ids_and_times(void)
{
    const char *line = "2026-11-23T12:00:00.123Z sid=SM0123456789abcdef0123456789 n=12 port=8080";
    ASSERT_STR_EQ(scrub(line), line);
    ASSERT_STR_EQ(scrub("ms=1795435200123x"), "ms=1795435200123x");
    /* src/imap logs IMAP UIDVALIDITY values (10 digits, like a national
     * phone number) glued to a 'u' so that they stay readable (issue 5) */
    line = "event=imap_connected mailbox=INBOX uidvalidity=u1795441371 last_uid=42";
    ASSERT_STR_EQ(scrub(line), line);
    ASSERT_STR_EQ(scrub("old=u1795441371 new=u1795441999"), "old=u1795441371 new=u1795441999");
}

static void test_scrub_email(void)
{
    ASSERT_STR_EQ(scrub("to=ana.diaz@example.org rest"), "to=a***@example.org rest");
    ASSERT_STR_EQ(scrub("reply+tok42@school.example.org"), "r***@school.example.org");
    ASSERT_STR_EQ(scrub("not an address: a@b"), "not an address: a@b");
}

static void test_quote(void)
{
    char out[64];
    ASSERT_STR_EQ(bp_log_quote("simple", out, sizeof out), "simple");
    ASSERT_STR_EQ(bp_log_quote("two words", out, sizeof out), "\"two words\"");
    ASSERT_STR_EQ(bp_log_quote("say \"hi\"", out, sizeof out), "\"say \\\"hi\\\"\"");
    ASSERT_STR_EQ(bp_log_quote("", out, sizeof out), "\"\"");
}

static void test_levels_and_file(void)
{
    char path[300], buf[2048];
    const char *dir = bp_test_tmpdir();
    snprintf(path, sizeof path, "%s/log.txt", dir);
    ASSERT_EQ(bp_log_level_parse("warn"), BP_LOG_WARN);
    ASSERT_EQ(bp_log_level_parse("bogus"), -1);
    ASSERT_OK(bp_log_setup(BP_LOG_INFO, path));
    bp_log_debug("test", "hidden", "x=1");
    bp_log_info("test", "shown", "to=+15551234567 mail=bob@example.com");
    ASSERT_OK(bp_log_reopen());
    bp_log_warn("test", "after_reopen", "multi=%s", "line\nbreak");
    bp_log_close();
    int fd = open(path, O_RDONLY);
    ASSERT_TRUE(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    ASSERT_TRUE(n > 0);
    buf[n] = '\0';
    ASSERT_TRUE(strstr(buf, "hidden") == NULL);
    ASSERT_STR_CONTAINS(buf, "level=info mod=test event=shown to=+1******4567 mail=b***@example.com\n");
    ASSERT_STR_CONTAINS(buf, "event=after_reopen multi=line break\n");
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    BP_TEST(test_scrub_phone);
    BP_TEST(test_scrub_keeps_ids_and_times);
    BP_TEST(test_scrub_email);
    BP_TEST(test_quote);
    BP_TEST(test_levels_and_file);
    return bp_test_done();
}
