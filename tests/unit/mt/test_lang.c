/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* BCP 47 -> LibreTranslate language codes (src/mt/mt.c). */
#include <string.h>

#include "bp/mt.h"
#include "bp_test.h"

static const char *code(const char *tag, char *out, size_t n)
{
    bp_mt_lang_code(tag, out, n);
    return out;
}

static void test_codes(void)
{
    static const char *const cases[][2] = {
        {"es", "es"}, {"es-MX", "es"}, {"pt_BR", "pt"}, {"EN-us", "en"},
        {"zh-Hans", "zh"}, {"zh-CN", "zh"}, {"zh", "zh"}, {"zh-Hant", "zt"},
        {"zh-TW", "zt"}, {"zh-HK", "zt"}, {"fil", "tl"}, {"tl", "tl"},
        {"ar", "ar"}, {"", ""},
    };
    char out[12];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ASSERT_STR_EQ(code(cases[i][0], out, sizeof out), cases[i][1]);
}

static void test_truncation(void)
{
    char tiny[3];

    ASSERT_STR_EQ(code("fil-PH", tiny, sizeof tiny), "tl");
    ASSERT_STR_EQ(code("haw", tiny, sizeof tiny), "ha");   /* cut, NUL-terminated */
}

int main(void)
{
    BP_TEST(test_codes);
    BP_TEST(test_truncation);
    return bp_test_done();
}
