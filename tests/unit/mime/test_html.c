/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* HTML to text (src/mime/html.c). */
#include "bp_test.h"
#include "mime_int.h"

static char *h2t(const char *html)
{
    return bp__mime_html_to_text(html, strlen(html), 1 << 20);
}

#define CHECK(html, want)                                                  \
    do {                                                                   \
        char *got_ = h2t(html);                                            \
        int ok_ = strcmp(got_, (want)) == 0;                               \
        if (!ok_)                                                          \
            printf("# got:\n%s\n# want:\n%s\n", got_, (want));             \
        free(got_);                                                        \
        ASSERT_TRUE(ok_);                                                  \
    } while (0)

static void test_blocks_and_breaks(void)
{
    CHECK("<div>Hello</div><div>World</div>", "Hello\nWorld");
    CHECK("<p>One</p><p>Two</p>", "One\n\nTwo");
    CHECK("Line<br>next<br/>last", "Line\nnext\nlast");
    CHECK("<div>a</div><div><br></div><div>b</div>", "a\n\nb");
    CHECK("<h1>Title</h1>Body", "Title\n\nBody");
    CHECK("<p class=MsoNormal>Hi<o:p></o:p></p><p class=MsoNormal>"
          "<o:p>&nbsp;</o:p></p><p class=MsoNormal>Bye</p>", "Hi\n\nBye");
    CHECK("<p class=MsoNormal>A<o:p></o:p></p>\n<p class=MsoNormal>B<o:p>"
          "</o:p></p>", "A\nB");
    CHECK("<ul><li>one</li><li>two</li></ul>", "- one\n- two");
    CHECK("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>",
          "a b\nc");
}

static void test_dropped_elements(void)
{
    CHECK("<html><head><title>T</title><style>p{color:red}</style></head>"
          "<body><script>alert(1)</script><p>Visible</p></body></html>",
          "Visible");
    CHECK("<!-- comment --><p>x</p>", "x");
}

static void test_whitespace_and_entities(void)
{
    CHECK("<p>  many   \n spaces\there </p>", "many spaces here");
    CHECK("<p>caf&eacute; &amp; th&#233; &lt;ok&gt; &euro;5</p>",
          "café & thé <ok> €5");
    CHECK("<p>a&nbsp;&nbsp;b</p>", "a b");
    CHECK("<pre>keep\n  this</pre>", "keep\n  this");
    CHECK("<b>bold</b> <i>it</i>alic", "bold italic");
}

static void test_links(void)
{
    CHECK("See <a href=\"https://x.example/a\">the form</a>.",
          "See the form (https://x.example/a).");
    CHECK("<a href=\"https://x.example/\">https://x.example/</a>",
          "https://x.example/");
    CHECK("<a href=\"mailto:a@b.example\">a@b.example</a>", "a@b.example");
    CHECK("<a href=\"#top\">top</a>", "top");
    CHECK("<a href=\"cid:img1\"><img src=\"cid:img1\"></a>x", "x");
}

static void test_blockquote(void)
{
    CHECK("<div>Yes</div><div class=\"gmail_quote\">On Mon wrote:<br>"
          "<blockquote>Will he come?<br>Thanks</blockquote></div>",
          "Yes\nOn Mon wrote:\n\n> Will he come?\n> Thanks");
    CHECK("<blockquote>a<blockquote>b</blockquote></blockquote>",
          "> a\n\n> > b");
}

static void test_broken_html(void)
{
    CHECK("<p>unclosed <b>bold <div>block", "unclosed bold\nblock");
    CHECK("", "");
    char *t = h2t("<<<>>>\xff\xfe<p");   /* garbage: valid UTF-8 out */
    ASSERT_TRUE(bp_utf8_valid(t, strlen(t)));
    free(t);
    /* A meta charset must not make libxml2 re-decode our UTF-8. */
    CHECK("<meta charset=\"iso-8859-1\"><p>caf\xc3\xa9</p>", "caf\xc3\xa9");
    CHECK("<meta http-equiv=\"Content-Type\" content=\"text/html; "
          "charset=windows-1252\"><p>\xe2\x82\xac</p>", "\xe2\x82\xac");
}

static void test_cap(void)
{
    char *t = bp__mime_html_to_text("<p>abcdefghij</p><p>klmnop</p>", 29, 8);
    ASSERT_TRUE(strlen(t) <= 8);
    free(t);
}

int main(void)
{
    bp_mime_init();
    BP_TEST(test_blocks_and_breaks);
    BP_TEST(test_dropped_elements);
    BP_TEST(test_whitespace_and_entities);
    BP_TEST(test_links);
    BP_TEST(test_blockquote);
    BP_TEST(test_broken_html);
    BP_TEST(test_cap);
    return bp_test_done();
}
