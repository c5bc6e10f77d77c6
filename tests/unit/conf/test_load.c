/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests of loading a configuration file (src/conf/load.c, check.c,
 * dump.c): errors with the right FILE:LINE and key, required and duplicate
 * keys, secrets, environment overrides, the redacted dump and the example
 * parsing back. */
#include <stdlib.h>
#include <sys/stat.h>

#include "bp/base.h"
#include "bp/conf.h"
#include "bp_test.h"
#include "conf_int.h"

static char dir[256], cfg[300];

#define MINIMAL "[store]\npath = /tmp/x.db\n[school]\nname = Lincoln Elementary\n"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        exit(99);
    fputs(text, f);
    fclose(f);
}

/* Loads text; returns the status and fills eb. */
static int load_text(const char *text, struct bp_conf **c, struct bp_errbuf *eb)
{
    memset(eb, 0, sizeof *eb);
    write_file(cfg, text);
    return bp_conf_load(cfg, c, eb);
}

/* Expects text to fail at LINE (0: no line) with msg containing needle. */
#define EXPECT_ERR(text, line, needle)                                        \
    do {                                                                      \
        struct bp_conf *c_ = NULL;                                            \
        struct bp_errbuf eb_;                                                 \
        char where_[400];                                                     \
        ASSERT_EQ(load_text((text), &c_, &eb_), BP_ECONFIG);                  \
        ASSERT_TRUE(c_ == NULL);                                              \
        if ((line) > 0)                                                       \
            snprintf(where_, sizeof where_, "%s:%d", cfg, (line));            \
        else                                                                  \
            snprintf(where_, sizeof where_, "%s", cfg);                       \
        ASSERT_STR_EQ(eb_.where, where_);                                     \
        ASSERT_STR_CONTAINS(eb_.msg, (needle));                               \
    } while (0)

static void test_minimal_defaults(void)
{
    struct bp_conf *c = NULL;
    struct bp_errbuf eb;

    ASSERT_OK(load_text(MINIMAL, &c, &eb));
    ASSERT_STR_EQ(c->file, cfg);
    ASSERT_STR_EQ(c->store_path, "/tmp/x.db");
    ASSERT_STR_EQ(c->school_name, "Lincoln Elementary");
    ASSERT_STR_EQ(c->server_listen, "127.0.0.1:8080");
    ASSERT_EQ(c->server_max_connections, 1024);
    ASSERT_EQ(c->server_max_header_bytes, 16384);
    ASSERT_EQ(c->server_header_timeout, 10000);
    ASSERT_EQ(c->store_synchronous, BP_CONF_SYNC_FULL);
    ASSERT_EQ(c->log_level, 1);                   /* info */
    ASSERT_FALSE(c->sms_enabled);
    ASSERT_STR_EQ(c->sms_auth_token, "");
    ASSERT_STR_EQ(c->school_timezone, "America/New_York");
    bp_conf_free(c);
}

static void test_values(void)
{
    struct bp_conf *c = NULL;
    struct bp_errbuf eb;

    ASSERT_OK(load_text(MINIMAL
        "timezone = Europe/Paris\ndefault_country = fr\n"
        "default_locale = fr-CA\n"
        "[server]\nlisten = [::1]:0\nmax_body_bytes = 2M ; comment\n"
        "idle_timeout = 2m\npublic_url = https://backpack.example.org//\n"
        "[store]\nsynchronous = normal\n[sms]\napi_base = http://127.0.0.1:9/\n"
        "[smtp]\nhost = ::1\nusername = relay\n",   /* this machine: no TLS needed */
        &c, &eb));
    ASSERT_STR_EQ(c->server_public_url, "https://backpack.example.org");  /* no trailing / */
    ASSERT_STR_EQ(c->sms_api_base, "http://127.0.0.1:9");
    ASSERT_STR_EQ(c->smtp_host, "::1");                 /* an IPv6 address is a host */
    ASSERT_STR_EQ(c->server_listen, "[::1]:0");
    ASSERT_EQ(c->server_max_body_bytes, 2 * 1048576);
    ASSERT_EQ(c->server_idle_timeout, 120000);
    ASSERT_EQ(c->store_synchronous, BP_CONF_SYNC_NORMAL);
    ASSERT_STR_EQ(c->school_default_country, "FR");   /* upper-cased */
    ASSERT_STR_EQ(c->school_timezone, "Europe/Paris");
    bp_conf_free(c);
}

static void test_errors_name_line(void)
{
    EXPECT_ERR(MINIMAL "[server]\nlisten = 127.0.0.1:80\nbogus = 1\n", 7,
               "[server] bogus: unknown key");
    EXPECT_ERR("# comment\n\n[nope]\nkey = 1\n" MINIMAL, 3,
               "[nope]: unknown section");
    EXPECT_ERR(MINIMAL "[nope]\n", 5, "unknown section");  /* empty section */
    EXPECT_ERR("orphan = 1\n" MINIMAL, 1, "key outside of any [section]");
    EXPECT_ERR(MINIMAL "[server]\nmax_connections = 0\n", 6,
               "[server] max_connections: '0' is out of range, expected 1..100000");
    EXPECT_ERR(MINIMAL "[server]\nheader_timeout = 10\n", 6,
               "[server] header_timeout: '10' is not valid, expected a duration");
    EXPECT_ERR(MINIMAL "[server]\nmax_header_bytes = 4M\n", 6,
               "out of range, expected 1k..1M");
    EXPECT_ERR(MINIMAL "[server]\nlisten = localhost\n", 6,
               "[server] listen: 'localhost' is not an address");
    EXPECT_ERR(MINIMAL "[sms]\nenabled = maybe\n", 6, "not a boolean");
    EXPECT_ERR(MINIMAL "[store]\nsynchronous = off\n", 6,
               "expected one of: full,normal");
    EXPECT_ERR(MINIMAL "[server\nlisten = 1.2.3.4:5\n", 5, "syntax error");
    EXPECT_ERR(MINIMAL "[server]\njust words\n", 6, "syntax error");
}

static void test_duplicate_and_multiline(void)
{
    EXPECT_ERR("[store]\npath = /a\n[school]\nname = X\n[store]\npath = /b\n",
               6, "[store] path: given twice (first on line 2)");
    /* An indented line is not a continuation (inih multi-line is off). */
    EXPECT_ERR(MINIMAL "[server]\nlisten = 127.0.0.1:80\n  listen = x:1\n", 7,
               "given twice");
}

static void test_required(void)
{
    EXPECT_ERR("[store]\npath = /tmp/x.db\n", 0, "[school] name: required key is missing");
    EXPECT_ERR("[store]\npath =\n[school]\nname = X\n", 2,
               "[store] path: required key is empty");
}

static void test_long_line_and_utf8(void)
{
    char text[600];

    snprintf(text, sizeof text, MINIMAL "[school]\nwebsite = https://x/%0250d\n", 0);
    EXPECT_ERR(MINIMAL "[server]\npublic_url = http://\xff\n", 6, "not valid UTF-8");
    /* Longer than inih's 200-byte line buffer: an error, not a split. */
    EXPECT_ERR(text, 6, "line longer than");
}

static void test_semantic(void)
{
    EXPECT_ERR(MINIMAL "timezone = Mars/Olympus\n", 5, "[school] timezone: unknown time zone");
    EXPECT_ERR(MINIMAL "timezone = ../../etc/passwd\n", 5, "unknown time zone");
    EXPECT_ERR(MINIMAL "timezone = /etc/localtime\n", 5, "unknown time zone");
    EXPECT_ERR(MINIMAL "default_country = USA\n", 5, "[school] default_country");
    EXPECT_ERR(MINIMAL "default_country = U1\n", 5, "two-letter");
    EXPECT_ERR(MINIMAL "default_locale = en_US\n", 5, "BCP 47");
    EXPECT_ERR(MINIMAL "default_locale = e\n", 5, "BCP 47");
    EXPECT_ERR(MINIMAL "[server]\npublic_url = ftp://x\n", 6, "http");
    EXPECT_ERR(MINIMAL "[sms]\napi_base = api.twilio.com\n", 6, "[sms] api_base: expected an http");
    EXPECT_ERR(MINIMAL "[sms]\nenabled = true\naccount_sid = AC1\n", 0,
               "[sms] auth_token: required when");
    EXPECT_ERR(MINIMAL "[sms]\nfrom_number = 5551230000\n", 6, "E.164");
    EXPECT_ERR(MINIMAL "[smtp]\nhost = smtp.office365.com:587\n", 6,
               "[smtp] host: a host name or an address, without the port");
    EXPECT_ERR(MINIMAL "[smtp]\nport = 465\n", 6, "[smtp] port: 465 is SMTP over TLS");
    EXPECT_ERR(MINIMAL "[smtp]\nenabled = true\nfrom_address = o@x.org\n"
               "host = smtp.example.org\nusername = u\n", 0,
               "[smtp] starttls: must be required when a username is set");
    EXPECT_ERR(MINIMAL "[imap]\nenabled = true\nurl = imap://mail.example.org/INBOX\n"
               "username = u\npassword = p\n", 0, "[imap] starttls: must be required");
    EXPECT_ERR(MINIMAL "[smtp]\nca_file = /nonexistent/ca.pem\n", 6,
               "[smtp] ca_file: cannot read this file");
    EXPECT_ERR(MINIMAL "[imap]\nca_file = /nonexistent/ca.pem\n", 6,
               "[imap] ca_file: cannot read this file");
}

static void test_secrets_in_file(void)
{
    struct bp_conf *c = NULL;
    struct bp_errbuf eb;
    char text[1024], tok[300];

    setenv("BP_TEST_TOKEN", "tok-from-env", 1);
    ASSERT_OK(load_text(MINIMAL "[sms]\nauth_token = env:BP_TEST_TOKEN\n", &c, &eb));
    ASSERT_STR_EQ(c->sms_auth_token, "tok-from-env");
    bp_conf_free(c);
    unsetenv("BP_TEST_TOKEN");
    EXPECT_ERR(MINIMAL "[sms]\nauth_token = env:BP_TEST_TOKEN\n", 6,
               "[sms] auth_token: environment variable BP_TEST_TOKEN is not set");

    snprintf(tok, sizeof tok, "%s/token", dir);
    write_file(tok, "tok-from-file\n");
    chmod(tok, 0600);
    snprintf(text, sizeof text, MINIMAL "[sms]\nauth_token = file:%s\n", tok);
    ASSERT_OK(load_text(text, &c, &eb));
    ASSERT_STR_EQ(c->sms_auth_token, "tok-from-file");
    bp_conf_free(c);
    chmod(tok, 0644);
    EXPECT_ERR(text, 6, "readable by group or others");
    unlink(tok);
}

static void test_env_override(void)
{
    struct bp_conf *c = NULL;
    struct bp_errbuf eb;

    setenv("BACKPACK_SERVER_LISTEN", "127.0.0.1:9999", 1);
    setenv("BACKPACK_SMS_AUTH_TOKEN", "override-token", 1);
    setenv("BACKPACK_SCHOOL_NAME", "From Env", 1);
    ASSERT_OK(load_text(MINIMAL "[server]\nlisten = 127.0.0.1:1\n", &c, &eb));
    ASSERT_STR_EQ(c->server_listen, "127.0.0.1:9999");
    ASSERT_STR_EQ(c->sms_auth_token, "override-token");
    ASSERT_STR_EQ(c->school_name, "From Env");
    bp_conf_free(c);
    /* A required key may come from the environment alone. */
    ASSERT_OK(load_text("[store]\npath = /x\n", &c, &eb));
    bp_conf_free(c);
    setenv("BACKPACK_SERVER_LISTEN", "nope", 1);
    EXPECT_ERR(MINIMAL, 0, "[server] listen (from environment BACKPACK_SERVER_LISTEN)");
    unsetenv("BACKPACK_SERVER_LISTEN");
    unsetenv("BACKPACK_SMS_AUTH_TOKEN");
    unsetenv("BACKPACK_SCHOOL_NAME");
}

static void test_missing_file(void)
{
    struct bp_conf *c = NULL;
    struct bp_errbuf eb;

    ASSERT_EQ(bp_conf_load("/nonexistent/backpack.ini", &c, &eb), BP_ECONFIG);
    ASSERT_STR_EQ(eb.where, "/nonexistent/backpack.ini");
    ASSERT_STR_CONTAINS(eb.msg, "cannot open");
}

static FILE *test_out;

/* Runs fn with test_out open on a memory buffer; returns the text (free). */
static char *capture(void (*fn)(const void *), const void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (f == NULL)
        exit(99);
    test_out = f;
    fn(arg);
    fclose(f);
    return buf;
}

static void do_dump(const void *c) { bp_conf_dump(c, test_out); }
static void do_example(const void *unused) { bp_conf_write_example(test_out); }

static void test_dump_redacts(void)
{
    struct bp_conf *c = NULL, *c2 = NULL;
    struct bp_errbuf eb;
    char *out;

    ASSERT_OK(load_text(MINIMAL "[sms]\nauth_token = hunter2-secret\n", &c, &eb));
    out = capture(do_dump, c);
    bp_conf_free(c);
    ASSERT_STR_CONTAINS(out, "auth_token = <redacted>\n");
    ASSERT_STR_CONTAINS(out, "header_timeout = 10s\n");
    ASSERT_STR_CONTAINS(out, "synchronous = full\n");
    if (strstr(out, "hunter2") != NULL)
        BP_TEST__FAIL("dump shows the secret");
    /* The dump (secret replaced) parses back. */
    write_file(cfg, out);
    free(out);
    ASSERT_OK(bp_conf_load(cfg, &c2, &eb));
    ASSERT_STR_EQ(c2->school_name, "Lincoln Elementary");
    bp_conf_free(c2);
}

static void test_example_parses_back(void)
{
    struct bp_conf *c = NULL;
    struct bp_errbuf eb;
    char *ex = capture(do_example, NULL);
    struct bp_buf b;

    ASSERT_STR_CONTAINS(ex, "\npath =\n");
    ASSERT_STR_CONTAINS(ex, "BACKPACK_<SECTION>_<KEY>");
    ASSERT_STR_CONTAINS(ex, "#listen = 127.0.0.1:8080\n");
    for (int i = 0; i < bp__conf_nkeys; i++) {   /* every key is documented */
        char needle[128];
        snprintf(needle, sizeof needle, "%s =", bp__conf_keys[i].key);
        ASSERT_STR_CONTAINS(ex, needle);
    }
    /* As written it fails: the required keys are empty. */
    ASSERT_EQ(load_text(ex, &c, &eb), BP_ECONFIG);
    ASSERT_STR_CONTAINS(eb.msg, "required key is empty");
    /* Filled in, it loads. */
    bp_buf_init(&b, 1 << 20);
    for (char *line = strtok(ex, "\n"); line; line = strtok(NULL, "\n")) {
        if (strcmp(line, "path =") == 0)
            line = "path = /var/lib/backpack/backpack.db";
        else if (strcmp(line, "name =") == 0)
            line = "name = Example School";
        ASSERT_OK(bp_buf_printf(&b, "%s\n", line));
    }
    free(ex);
    ASSERT_OK(load_text(b.data, &c, &eb));
    bp_buf_free(&b);
    ASSERT_STR_EQ(c->school_name, "Example School");
    bp_conf_free(c);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s", bp_test_tmpdir());
    snprintf(cfg, sizeof cfg, "%s/backpack.ini", dir);
    unsetenv("BACKPACK_SERVER_LISTEN");
    BP_TEST(test_minimal_defaults);
    BP_TEST(test_values);
    BP_TEST(test_errors_name_line);
    BP_TEST(test_duplicate_and_multiline);
    BP_TEST(test_required);
    BP_TEST(test_long_line_and_utf8);
    BP_TEST(test_semantic);
    BP_TEST(test_secrets_in_file);
    BP_TEST(test_env_override);
    BP_TEST(test_missing_file);
    BP_TEST(test_dump_redacts);
    BP_TEST(test_example_parses_back);
    unlink(cfg);
    rmdir(dir);
    return bp_test_done();
}
