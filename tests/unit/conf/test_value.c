/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests of src/conf/value.c: every type's parser, good and bad values,
 * and the secret indirections env:NAME and file:/path. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "bp/base.h"
#include "bp_test.h"
#include "conf_int.h"

static void test_int(void)
{
    int64_t v = 0;

    ASSERT_OK(bp__conf_parse_int("1024", &v));
    ASSERT_EQ(v, 1024);
    ASSERT_OK(bp__conf_parse_int("-7", &v));
    ASSERT_EQ(v, -7);
    ASSERT_OK(bp__conf_parse_int("9223372036854775807", &v));
    ASSERT_EQ(v, INT64_MAX);
    ASSERT_EQ(bp__conf_parse_int("9223372036854775808", &v), BP_ECONFIG);
    ASSERT_EQ(bp__conf_parse_int("", &v), BP_ECONFIG);
    ASSERT_EQ(bp__conf_parse_int("12x", &v), BP_ECONFIG);
    ASSERT_EQ(bp__conf_parse_int("0x10", &v), BP_ECONFIG);
    ASSERT_EQ(bp__conf_parse_int("1 2", &v), BP_ECONFIG);
    ASSERT_EQ(bp__conf_parse_int("-", &v), BP_ECONFIG);
}

static void test_bool(void)
{
    static const char *const yes[] = {"true", "TRUE", "yes", "on", "1", "Yes"};
    static const char *const no[] = {"false", "no", "off", "0", "OFF"};
    bool b;

    for (size_t i = 0; i < BP_ARRAY_LEN(yes); i++) {
        b = false;
        ASSERT_OK(bp__conf_parse_bool(yes[i], &b));
        ASSERT_TRUE(b);
    }
    for (size_t i = 0; i < BP_ARRAY_LEN(no); i++) {
        b = true;
        ASSERT_OK(bp__conf_parse_bool(no[i], &b));
        ASSERT_FALSE(b);
    }
    ASSERT_EQ(bp__conf_parse_bool("2", &b), BP_ECONFIG);
    ASSERT_EQ(bp__conf_parse_bool("", &b), BP_ECONFIG);
    ASSERT_EQ(bp__conf_parse_bool("yess", &b), BP_ECONFIG);
}

static void test_duration(void)
{
    int64_t ms = 0;

    ASSERT_OK(bp__conf_parse_duration("250ms", &ms));
    ASSERT_EQ(ms, 250);
    ASSERT_OK(bp__conf_parse_duration("10s", &ms));
    ASSERT_EQ(ms, 10000);
    ASSERT_OK(bp__conf_parse_duration("5m", &ms));
    ASSERT_EQ(ms, 300000);
    ASSERT_OK(bp__conf_parse_duration("1h", &ms));
    ASSERT_EQ(ms, 3600000);
    ASSERT_OK(bp__conf_parse_duration("0s", &ms));
    ASSERT_EQ(ms, 0);
    ASSERT_EQ(bp__conf_parse_duration("10", &ms), BP_ECONFIG);  /* ambiguous */
    ASSERT_EQ(bp__conf_parse_duration("10 s", &ms), BP_ECONFIG);
    ASSERT_EQ(bp__conf_parse_duration("10d", &ms), BP_ECONFIG);
    ASSERT_EQ(bp__conf_parse_duration("-1s", &ms), BP_ECONFIG);
    ASSERT_EQ(bp__conf_parse_duration("s", &ms), BP_ECONFIG);
    ASSERT_EQ(bp__conf_parse_duration("1.5s", &ms), BP_ECONFIG);
    ASSERT_EQ(bp__conf_parse_duration("9223372036854775807h", &ms), BP_ECONFIG);
}

static void test_size(void)
{
    int64_t b = 0;

    ASSERT_OK(bp__conf_parse_size("512", &b));
    ASSERT_EQ(b, 512);
    ASSERT_OK(bp__conf_parse_size("16k", &b));
    ASSERT_EQ(b, 16384);
    ASSERT_OK(bp__conf_parse_size("16K", &b));
    ASSERT_EQ(b, 16384);
    ASSERT_OK(bp__conf_parse_size("1M", &b));
    ASSERT_EQ(b, 1048576);
    ASSERT_OK(bp__conf_parse_size("2G", &b));
    ASSERT_EQ(b, 2147483648LL);
    ASSERT_EQ(bp__conf_parse_size("1m", &b), BP_ECONFIG);
    ASSERT_EQ(bp__conf_parse_size("1MB", &b), BP_ECONFIG);
    ASSERT_EQ(bp__conf_parse_size("k", &b), BP_ECONFIG);
    ASSERT_EQ(bp__conf_parse_size("-1", &b), BP_ECONFIG);
    ASSERT_EQ(bp__conf_parse_size("99999999999999999G", &b), BP_ECONFIG);
}

static void test_enum(void)
{
    char name[32];
    int v = -1;

    ASSERT_OK(bp__conf_parse_enum("full", "full|normal", &v));
    ASSERT_EQ(v, 0);
    ASSERT_OK(bp__conf_parse_enum("normal", "full|normal", &v));
    ASSERT_EQ(v, 1);
    ASSERT_OK(bp__conf_parse_enum("Warn", "debug|info|notice|warn|error", &v));
    ASSERT_EQ(v, 3);
    ASSERT_EQ(bp__conf_parse_enum("ful", "full|normal", &v), BP_ECONFIG);
    ASSERT_EQ(bp__conf_parse_enum("", "full|normal", &v), BP_ECONFIG);
    ASSERT_EQ(bp__conf_parse_enum("full|normal", "full|normal", &v), BP_ECONFIG);
    bp__conf_enum_name("debug|info|notice", 2, name, sizeof name);
    ASSERT_STR_EQ(name, "notice");
    bp__conf_enum_name("debug|info|notice", 0, name, sizeof name);
    ASSERT_STR_EQ(name, "debug");
    bp__conf_enum_name("debug|info", 5, name, sizeof name);
    ASSERT_STR_EQ(name, "");
}

static void test_addr(void)
{
    static const char *const good[] = {
        "127.0.0.1:8080", "0.0.0.0:0", "[::1]:443", "[2001:db8::1]:65535",
        "localhost:8080", "backpack.example.org:80", "a-b.c:1",
    };
    static const char *const bad[] = {
        "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
        "127.0.0.1:+80", "::1:80", "[::1]80", "[::1]", "[zz::1]:80",
        "256.1.1.1:80", "1.2.3:80", ":80", "-host:80", "host-:80",
        "ho_st:80", "a..b:80", "host:8o",
    };
    char why[200];

    for (size_t i = 0; i < BP_ARRAY_LEN(good); i++)
        if (bp__conf_parse_addr(good[i], why, sizeof why) != 0)
            BP_TEST__FAIL("rejected good address %s: %s", good[i], why);
    for (size_t i = 0; i < BP_ARRAY_LEN(bad); i++)
        if (bp__conf_parse_addr(bad[i], why, sizeof why) != BP_ECONFIG)
            BP_TEST__FAIL("accepted bad address %s", bad[i]);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        exit(99);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static void test_secret(void)
{
    const char *dir = bp_test_tmpdir();
    char path[512], spec[600], why[200];
    char *v = NULL;

    ASSERT_OK(bp__conf_resolve_secret("literal-token", &v, why, sizeof why));
    ASSERT_STR_EQ(v, "literal-token");
    free(v);

    setenv("BP_TEST_SECRET_VAR", "from-env", 1);
    ASSERT_OK(bp__conf_resolve_secret("env:BP_TEST_SECRET_VAR", &v, why,
                                      sizeof why));
    ASSERT_STR_EQ(v, "from-env");
    free(v);
    unsetenv("BP_TEST_SECRET_VAR");
    ASSERT_EQ(bp__conf_resolve_secret("env:BP_TEST_SECRET_VAR", &v, why,
                                      sizeof why), BP_ECONFIG);
    ASSERT_STR_CONTAINS(why, "BP_TEST_SECRET_VAR is not set");
    ASSERT_EQ(bp__conf_resolve_secret("env:1BAD", &v, why, sizeof why),
              BP_ECONFIG);

    snprintf(path, sizeof path, "%s/token", dir);
    write_file(path, "s3cret-from-file\n", 0600);
    snprintf(spec, sizeof spec, "file:%s", path);
    ASSERT_OK(bp__conf_resolve_secret(spec, &v, why, sizeof why));
    ASSERT_STR_EQ(v, "s3cret-from-file");       /* trailing newline stripped */
    free(v);
    write_file(path, "crlf\r\n", 0400);
    ASSERT_OK(bp__conf_resolve_secret(spec, &v, why, sizeof why));
    ASSERT_STR_EQ(v, "crlf");
    free(v);

    chmod(path, 0640);                            /* group-readable */
    ASSERT_EQ(bp__conf_resolve_secret(spec, &v, why, sizeof why), BP_ECONFIG);
    ASSERT_STR_CONTAINS(why, "readable by group or others");
    chmod(path, 0604);                            /* world-readable */
    ASSERT_EQ(bp__conf_resolve_secret(spec, &v, why, sizeof why), BP_ECONFIG);
    ASSERT_FALSE(strstr(why, "crlf") != NULL);    /* content never shown */
    unlink(path);
    ASSERT_EQ(bp__conf_resolve_secret(spec, &v, why, sizeof why), BP_ECONFIG);
    ASSERT_STR_CONTAINS(why, "cannot read secret file");
    ASSERT_EQ(bp__conf_resolve_secret("file:relative/path", &v, why, sizeof why),
              BP_ECONFIG);
    ASSERT_EQ(bp__conf_resolve_secret(spec + 5, &v, why, sizeof why), 0);
    ASSERT_STR_EQ(v, spec + 5);                   /* no prefix: a literal */
    free(v);
    rmdir(dir);
}

static void test_format(void)
{
    char out[32];

    bp__conf_fmt_duration(10000, out, sizeof out);
    ASSERT_STR_EQ(out, "10s");
    bp__conf_fmt_duration(250, out, sizeof out);
    ASSERT_STR_EQ(out, "250ms");
    bp__conf_fmt_duration(600000, out, sizeof out);
    ASSERT_STR_EQ(out, "10m");
    bp__conf_fmt_duration(3600000, out, sizeof out);
    ASSERT_STR_EQ(out, "1h");
    bp__conf_fmt_duration(0, out, sizeof out);
    ASSERT_STR_EQ(out, "0s");
    bp__conf_fmt_size(16384, out, sizeof out);
    ASSERT_STR_EQ(out, "16k");
    bp__conf_fmt_size(1048576, out, sizeof out);
    ASSERT_STR_EQ(out, "1M");
    bp__conf_fmt_size(1000, out, sizeof out);
    ASSERT_STR_EQ(out, "1000");
}

int main(void)
{
    BP_TEST(test_int);
    BP_TEST(test_bool);
    BP_TEST(test_duration);
    BP_TEST(test_size);
    BP_TEST(test_enum);
    BP_TEST(test_addr);
    BP_TEST(test_secret);
    BP_TEST(test_format);
    return bp_test_done();
}
