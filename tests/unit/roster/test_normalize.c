/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests of src/roster/phone.cc, email.c and lang.c. */
#include <string.h>

#include "bp/roster.h"
#include "bp_test.h"

static void phone_ok(const char *in, const char *region, const char *want,
                     int *failed)
{
    char out[32];
    int rc = bp_phone_normalize(in, region, out, sizeof out);

    if (rc != 0 || strcmp(out, want) != 0) {
        printf("# phone \"%s\" (%s): rc=%d out=\"%s\" want \"%s\"\n", in,
               region, rc, out, want);
        *failed = 1;
    }
}

static void test_phone_formats(void)
{
    int failed = 0;

    phone_ok("(201) 555-0123", "US", "+12015550123", &failed);
    phone_ok("201-555-0123", "US", "+12015550123", &failed);
    phone_ok("201.555.0123", "US", "+12015550123", &failed);
    phone_ok("2015550123", "US", "+12015550123", &failed);
    phone_ok("1-201-555-0123", "US", "+12015550123", &failed);
    phone_ok("+1 (201) 555-0123", "US", "+12015550123", &failed);
    phone_ok("+1 201 555 0123", "GB", "+12015550123", &failed);
    phone_ok("(201) 555-0123 ext. 45", "US", "+12015550123", &failed);
    phone_ok("201-555-0123 x7", "us", "+12015550123", &failed);
    phone_ok("+44 20 7946 0958", "US", "+442079460958", &failed);
    phone_ok("020 7946 0958", "GB", "+442079460958", &failed);
    phone_ok("+52 55 1234 5678", "US", "+525512345678", &failed);
    phone_ok("011 44 20 7946 0958", "US", "+442079460958", &failed);
    ASSERT_FALSE(failed);
}

static void test_phone_rejects(void)
{
    char out[32];
    const char *bad[] = {"555-12", "abc", "", "(555) 010-1234", "12345678901234567890",
                         "+44 7700 900123 0", "not a phone 2"};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (bp_phone_normalize(bad[i], "US", out, sizeof out) != BP_EINVAL_INPUT)
            BP_TEST__FAIL("\"%s\" accepted as %s", bad[i], out);
        ASSERT_STR_EQ(out, "");
    }
    /* The default region decides how a national number is read. */
    ASSERT_EQ(bp_phone_normalize("020 7946 0958", "US", out, sizeof out),
              BP_EINVAL_INPUT);
    ASSERT_EQ(bp_phone_normalize("(201) 555-0123", "US", out, 5), BP_ETOOBIG);
}

static void test_email(void)
{
    char out[300];

    ASSERT_OK(bp_email_normalize("  Ana.Diaz@Example.ORG \t", out, sizeof out));
    ASSERT_STR_EQ(out, "ana.diaz@example.org");
    ASSERT_OK(bp_email_normalize("o'brien+school@mail.example.com", out,
                                 sizeof out));
    ASSERT_STR_EQ(out, "o'brien+school@mail.example.com");
    const char *bad[] = {"", "plain", "@example.org", "a@", "a@b", "a@@b.org",
                         "a b@example.org", "a@exa mple.org", ".a@example.org",
                         "a..b@example.org", "a.@example.org",
                         "a@-example.org", "a@example-.org", "a@example..org",
                         "\"q\"@example.org", "a@example.org.", "é@example.org"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (bp_email_normalize(bad[i], out, sizeof out) != BP_EINVAL_INPUT)
            BP_TEST__FAIL("\"%s\" accepted as %s", bad[i], out);
    ASSERT_EQ(bp_email_normalize("ana@example.org", out, 5), BP_ETOOBIG);
}

static void lang_ok(const char *in, const char *want, int *failed)
{
    char out[40];
    int rc = bp_lang_to_bcp47(in, out, sizeof out);

    if (rc != 0 || strcmp(out, want) != 0) {
        printf("# lang \"%s\": rc=%d out=\"%s\" want \"%s\"\n", in, rc, out, want);
        *failed = 1;
    }
}

static void test_language(void)
{
    int failed = 0;

    lang_ok("es", "es", &failed);
    lang_ok("ES-mx", "es-MX", &failed);
    lang_ok("zh_hant", "zh-Hant", &failed);
    lang_ok("zh-Hans-CN", "zh-Hans-CN", &failed);
    lang_ok("es-419", "es-419", &failed);
    lang_ok("ht", "ht", &failed);
    lang_ok("spa", "es", &failed);
    lang_ok("Spanish", "es", &failed);
    lang_ok(" SPANISH ", "es", &failed);
    lang_ok("Español", "es", &failed);
    lang_ok("ESPAÑOL", "es", &failed);
    lang_ok("Vietnamese", "vi", &failed);
    lang_ok("Tiếng Việt", "vi", &failed);
    lang_ok("Haitian Creole", "ht", &failed);
    lang_ok("Kreyòl", "ht", &failed);
    lang_ok("Somali", "so", &failed);
    lang_ok("Af-Soomaali", "so", &failed);
    lang_ok("Arabic", "ar", &failed);
    lang_ok("العربية", "ar", &failed);
    lang_ok("Chinese (Traditional)", "zh-Hant", &failed);
    lang_ok("中文", "zh", &failed);
    lang_ok("Русский", "ru", &failed);
    lang_ok("Cantonese", "yue", &failed);
    lang_ok("Lao", "lo", &failed);
    lang_ok("Filipino", "fil", &failed);
    ASSERT_FALSE(failed);
}

static void test_language_unknown(void)
{
    char out[40];
    const char *bad[] = {"Klingon", "Other", "", "xx", "e", "es-", "es--MX",
                         "english please", "zz-ZZ", "es-toolongsubtag"};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (bp_lang_to_bcp47(bad[i], out, sizeof out) != BP_ENOTFOUND)
            BP_TEST__FAIL("\"%s\" mapped to %s", bad[i], out);
        ASSERT_STR_EQ(out, "und");
    }
}

int main(void)
{
    BP_TEST(test_phone_formats);
    BP_TEST(test_phone_rejects);
    BP_TEST(test_email);
    BP_TEST(test_language);
    BP_TEST(test_language_unknown);
    return bp_test_done();
}
