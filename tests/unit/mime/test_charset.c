/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Charset conversion and UTF-8 hygiene (src/mime/charset.c). */
#include "bp_test.h"
#include "mime_int.h"

static char *conv(const char *p, const char *cs)
{
    return bp__mime_to_utf8(p, strlen(p), cs, 1 << 20, NULL);
}

#define CHECK(in, cs, want)                                                \
    do {                                                                   \
        char *got_ = conv((in), (cs));                                     \
        int ok_ = strcmp(got_, (want)) == 0;                               \
        if (!ok_)                                                          \
            printf("# got \"%s\" want \"%s\"\n", got_, (want));            \
        free(got_);                                                        \
        ASSERT_TRUE(ok_);                                                  \
    } while (0)

static void test_latin1_is_windows_1252(void)
{
    /* 0x80 euro, 0x93/0x94 curly quotes, 0xE9 e-acute. */
    CHECK("caf\xe9 \x80 \x93ok\x94", "iso-8859-1", "café € “ok”");
    CHECK("caf\xe9", "us-ascii", "café");
    CHECK("caf\xe9", NULL, "café");
    CHECK("caf\xe9", "ISO-8859-1", "café");
}

static void test_utf8_kept(void)
{
    CHECK("caf\xc3\xa9", "us-ascii", "café");   /* mislabelled UTF-8 */
    CHECK("caf\xc3\xa9", "utf-8", "café");
    CHECK("a\xff" "b", "utf-8", "a\xef\xbf\xbd" "b");
}

static void test_cjk(void)
{
    /* "你好" in GBK, and a GBK-only character (U+9555) labelled gb2312. */
    CHECK("\xc4\xe3\xba\xc3", "gb2312", "你好");
    CHECK("\x95\x55", "gb2312", "\xe6\x98\x92");
    /* "學校" in Big5. */
    CHECK("\xbe\xc7\xae\xd5", "big5", "學校");
}

static void test_broken_labels(void)
{
    CHECK("caf\xe9", "x-no-such-charset", "café");
    CHECK("caf\xc3\xa9", "x-no-such-charset", "café");
    CHECK("plain", "", "plain");
    /* Undecodable bytes become U+FFFD, never invalid UTF-8. */
    char *g = conv("\x81\x8d ok \xff", "gb2312");
    ASSERT_TRUE(bp_utf8_valid(g, strlen(g)));
    ASSERT_STR_CONTAINS(g, " ok ");
    free(g);
    g = conv("\x1b$B\x30\x21", "iso-2022-jp");    /* truncated shift */
    ASSERT_TRUE(bp_utf8_valid(g, strlen(g)));
    free(g);
}

static void test_line_ends_and_nul(void)
{
    char in[] = "a\r\nb\rc\0d";
    size_t len;
    char *g = bp__mime_to_utf8(in, sizeof in - 1, "utf-8", 100, &len);
    ASSERT_STR_EQ(g, "a\nb\ncd");
    ASSERT_EQ(len, 6);
    free(g);
}

static void test_cap_on_char_boundary(void)
{
    size_t len;
    char *g = bp__mime_to_utf8("ééééé", 10, "utf-8", 5, &len);
    ASSERT_EQ(len, 4);
    ASSERT_STR_EQ(g, "éé");
    free(g);
    g = bp__mime_to_utf8("\xe9\xe9\xe9\xe9", 4, "iso-8859-1", 3, &len);
    ASSERT_STR_EQ(g, "é");
    free(g);
}

static void test_sanitize(void)
{
    /* Overlong, surrogate, truncated sequences. */
    const char bad[] = "\xc0\xaf|\xed\xa0\x80|\xe2\x82";
    char *s = bp__mime_utf8_sanitize(bad, sizeof bad - 1, NULL);
    ASSERT_TRUE(bp_utf8_valid(s, strlen(s)));
    ASSERT_STR_CONTAINS(s, "|");
    free(s);
}

int main(void)
{
    bp_mime_init();
    BP_TEST(test_latin1_is_windows_1252);
    BP_TEST(test_utf8_kept);
    BP_TEST(test_cjk);
    BP_TEST(test_broken_labels);
    BP_TEST(test_line_ends_and_nul);
    BP_TEST(test_cap_on_char_boundary);
    BP_TEST(test_sanitize);
    return bp_test_done();
}
