/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests of src/roster/csv.c: the libcsv-based reader. */
#include <stdlib.h>
#include <string.h>

#include "bp/roster.h"
#include "bp_test.h"

struct rec {
    long line;
    int n;
    char f[8][64];
};
struct got {
    struct rec r[16];
    int n;
};

static int collect(const struct bp_roster_csv_row *row, void *arg)
{
    struct got *g = arg;
    struct rec *r = &g->r[g->n++];

    r->line = row->line;
    r->n = row->nfields;
    for (int i = 0; i < row->nfields && i < 8; i++)
        snprintf(r->f[i], sizeof r->f[i], "%s", row->fields[i]);
    return 0;
}

static int parse(const char *text, struct got *g, struct bp_errbuf *eb)
{
    memset(g, 0, sizeof *g);
    memset(eb, 0, sizeof *eb);
    return bp_roster_csv_read_mem("t.csv", text, strlen(text), collect, g, eb);
}

static void test_quoted_fields(void)
{
    struct got g;
    struct bp_errbuf eb;

    ASSERT_OK(parse("a,b,c\n\"x, y\",\"say \"\"hi\"\"\",z\n", &g, &eb));
    ASSERT_EQ(g.n, 2);
    ASSERT_EQ(g.r[1].n, 3);
    ASSERT_STR_EQ(g.r[1].f[0], "x, y");
    ASSERT_STR_EQ(g.r[1].f[1], "say \"hi\"");
    ASSERT_STR_EQ(g.r[1].f[2], "z");
    ASSERT_EQ(g.r[1].line, 2);
}

static void test_embedded_newlines_keep_line_numbers(void)
{
    struct got g;
    struct bp_errbuf eb;

    ASSERT_OK(parse("h1,h2\n\"line one\nline two\nline three\",x\nnext,y\n"
                    "\nafter blank,z\n", &g, &eb));
    ASSERT_EQ(g.n, 4);
    ASSERT_STR_EQ(g.r[1].f[0], "line one\nline two\nline three");
    ASSERT_EQ(g.r[1].line, 2);
    ASSERT_EQ(g.r[2].line, 5);
    ASSERT_STR_EQ(g.r[2].f[0], "next");
    ASSERT_EQ(g.r[3].line, 7);
    ASSERT_STR_EQ(g.r[3].f[1], "z");
}

static void test_crlf_and_bom(void)
{
    struct got g;
    struct bp_errbuf eb;
    struct bp_roster_csv_row hdr;
    const char *fields[3];

    ASSERT_OK(parse("\xEF\xBB\xBFsourcedId,name\r\n1,Ana\r\n\"2\",\"Bé\r\nB\"\r\n",
                    &g, &eb));
    ASSERT_EQ(g.n, 3);
    ASSERT_STR_EQ(g.r[0].f[0], "sourcedId");
    ASSERT_STR_EQ(g.r[1].f[1], "Ana");
    ASSERT_STR_EQ(g.r[2].f[1], "Bé\r\nB");
    ASSERT_EQ(g.r[2].line, 3);
    for (int i = 0; i < 2; i++)
        fields[i] = g.r[0].f[i];
    hdr.line = 1;
    hdr.nfields = 2;
    hdr.fields = fields;
    ASSERT_EQ(bp_roster_csv_col(&hdr, "sourcedId"), 0);
    ASSERT_EQ(bp_roster_csv_col(&hdr, "name"), 1);
    ASSERT_EQ(bp_roster_csv_col(&hdr, "email"), -1);
}

static void test_bad_utf8_reports_line(void)
{
    struct got g;
    struct bp_errbuf eb;

    ASSERT_EQ(parse("a,b\n\"multi\nline\",ok\nbad,\xC3\x28\n", &g, &eb),
              BP_EINVAL_INPUT);
    ASSERT_STR_EQ(eb.where, "t.csv:4");
    ASSERT_STR_CONTAINS(eb.msg, "UTF-8");
    /* Overlong encoding and a lone continuation byte too. */
    ASSERT_EQ(parse("a\n\xC0\xAF\n", &g, &eb), BP_EINVAL_INPUT);
    ASSERT_STR_EQ(eb.where, "t.csv:2");
    ASSERT_EQ(parse("\x80\n", &g, &eb), BP_EINVAL_INPUT);
    ASSERT_STR_EQ(eb.where, "t.csv:1");
}

static void test_broken_quoting(void)
{
    struct got g;
    struct bp_errbuf eb;

    ASSERT_EQ(parse("a,b\nx,\"unterminated\ny,z\n", &g, &eb), BP_EINVAL_INPUT);
    ASSERT_STR_EQ(eb.where, "t.csv:2");
    ASSERT_EQ(parse("a,b\n\"x\"junk,y\n", &g, &eb), BP_EINVAL_INPUT);
    ASSERT_STR_EQ(eb.where, "t.csv:2");
}

static void test_empty_file(void)
{
    struct got g;
    struct bp_errbuf eb;

    ASSERT_OK(parse("", &g, &eb));
    ASSERT_EQ(g.n, 0);
    ASSERT_OK(parse("\n\r\n", &g, &eb));
    ASSERT_EQ(g.n, 0);
}

static int stop_at_second(const struct bp_roster_csv_row *row, void *arg)
{
    (void)arg;
    return row->line == 2 ? BP_ECANCELED : 0;
}

static void test_callback_error_and_missing_file(void)
{
    struct bp_errbuf eb;
    const char *t = "a\nb\nc\n";

    memset(&eb, 0, sizeof eb);
    ASSERT_EQ(bp_roster_csv_read_mem("t.csv", t, strlen(t), stop_at_second,
                                     NULL, &eb), BP_ECANCELED);
    ASSERT_STR_EQ(eb.where, "t.csv:2");
    ASSERT_TRUE(bp_roster_csv_read_file("/nonexistent/dir/users.csv",
                                        stop_at_second, NULL, &eb) < 0);
    ASSERT_STR_EQ(eb.where, "users.csv");
}

int main(void)
{
    BP_TEST(test_quoted_fields);
    BP_TEST(test_embedded_newlines_keep_line_numbers);
    BP_TEST(test_crlf_and_bom);
    BP_TEST(test_bad_utf8_reports_line);
    BP_TEST(test_broken_quoting);
    BP_TEST(test_empty_file);
    BP_TEST(test_callback_error_and_missing_file);
    return bp_test_done();
}
