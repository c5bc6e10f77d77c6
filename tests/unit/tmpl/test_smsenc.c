/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* SMS encoding and segment counting (src/tmpl/smsenc.c). */
#include <stdio.h>
#include <string.h>

#include "bp/smsenc.h"
#include "bp_test.h"

static char big[4096];

/* Repeats unit n times into big (returns big). */
static const char *rep(const char *unit, int n)
{
    big[0] = '\0';
    for (int i = 0; i < n; i++)
        strcat(big, unit);
    return big;
}

static int an(const char *s, unsigned flags, struct bp_smsenc_info *i)
{
    return bp_smsenc_analyze(s, strlen(s), flags, i, NULL);
}

static void test_gsm_single_and_multi(void)
{
    struct bp_smsenc_info i;
    ASSERT_OK(an("", 0, &i));
    ASSERT_EQ(i.segments, 0);
    ASSERT_OK(an(rep("a", 160), 0, &i));
    ASSERT_EQ(i.encoding, BP_SMSENC_GSM7);
    ASSERT_EQ(i.units, 160);
    ASSERT_EQ(i.segments, 1);
    ASSERT_OK(an(rep("a", 161), 0, &i));
    ASSERT_EQ(i.segments, 2);
    ASSERT_EQ(i.per_segment, 153);
    ASSERT_OK(an(rep("a", 306), 0, &i));
    ASSERT_EQ(i.segments, 2);
    ASSERT_OK(an(rep("a", 307), 0, &i));
    ASSERT_EQ(i.segments, 3);
}

static void test_extension_counts_double(void)
{
    struct bp_smsenc_info i;
    ASSERT_OK(an(rep("€", 80), 0, &i));
    ASSERT_EQ(i.encoding, BP_SMSENC_GSM7);
    ASSERT_EQ(i.units, 160);
    ASSERT_EQ(i.segments, 1);
    ASSERT_OK(an("[x]{y}|~^\\", 0, &i));
    ASSERT_EQ(i.units, 18);
    /* 152a + € + 152a = 306 septets, but € cannot straddle: 3 segments */
    char s[400];
    snprintf(s, sizeof s, "%s€", rep("a", 152));
    strcat(s, rep("a", 152));
    ASSERT_OK(an(s, 0, &i));
    ASSERT_EQ(i.units, 306);
    ASSERT_EQ(i.segments, 3);
}

static void test_ucs2_and_surrogates(void)
{
    struct bp_smsenc_info i;
    ASSERT_OK(an(rep("ż", 70), 0, &i));
    ASSERT_EQ(i.encoding, BP_SMSENC_UCS2);
    ASSERT_EQ(i.segments, 1);
    ASSERT_OK(an(rep("ż", 71), 0, &i));
    ASSERT_EQ(i.segments, 2);
    ASSERT_EQ(i.per_segment, 67);
    char s[600];
    snprintf(s, sizeof s, "%s😀", rep("ż", 66));
    strcat(s, rep("ż", 66));
    ASSERT_OK(an(s, 0, &i));
    ASSERT_EQ(i.units, 134);
    ASSERT_EQ(i.chars, 133);
    ASSERT_EQ(i.segments, 3);             /* naive ceil(134/67) says 2 */
    ASSERT_OK(an(rep("😀", 35), 0, &i));
    ASSERT_EQ(i.units, 70);
    ASSERT_EQ(i.segments, 1);
    ASSERT_OK(an(rep("😀", 36), 0, &i));   /* 72 units: 33 + 3 emoji */
    ASSERT_EQ(i.segments, 2);
}

static void test_forcing_characters_reported(void)
{
    struct bp_smsenc_info i;
    ASSERT_OK(an("Hola, mañana está cerrado. Gracias á á", 0, &i));
    /* ñ is GSM-7, á is not */
    ASSERT_EQ(i.encoding, BP_SMSENC_UCS2);
    ASSERT_EQ(i.n_forcing, 1);
    ASSERT_EQ(i.forcing[0], 0xE1);
    ASSERT_EQ(i.n_forcing_total, 3);
    ASSERT_OK(an("Ça va? ç", 0, &i));
    ASSERT_EQ(i.n_forcing, 1);
    ASSERT_EQ(i.forcing[0], 0xE7);
}

static void test_nfc_first(void)
{
    struct bp_smsenc_info i;
    struct bp_buf out;
    bp_buf_init(&out, 1024);
    const char *decomposed = "Caf" "e\xcc\x81";     /* e + U+0301 */
    ASSERT_OK(bp_smsenc_analyze(decomposed, strlen(decomposed), 0, &i, &out));
    ASSERT_EQ(i.encoding, BP_SMSENC_GSM7);
    ASSERT_EQ(i.chars, 4);
    ASSERT_STR_EQ(out.data, "Café");
    bp_buf_free(&out);
}

static void test_transliteration_flag(void)
{
    struct bp_smsenc_info i;
    struct bp_buf out;
    const char *s = "“Don’t forget” – field trip… tomorrow";
    ASSERT_OK(an(s, 0, &i));
    ASSERT_EQ(i.encoding, BP_SMSENC_UCS2);
    ASSERT_EQ(i.n_forcing, 5);
    bp_buf_init(&out, 1024);
    ASSERT_OK(bp_smsenc_analyze(s, strlen(s), BP_SMSENC_TRANSLITERATE, &i, &out));
    ASSERT_EQ(i.encoding, BP_SMSENC_GSM7);
    ASSERT_STR_EQ(out.data, "\"Don't forget\" - field trip... tomorrow");
    bp_buf_free(&out);
    /* the flag does not touch anything else */
    ASSERT_OK(an("Vâng ạ", BP_SMSENC_TRANSLITERATE, &i));
    ASSERT_EQ(i.encoding, BP_SMSENC_UCS2);
}

static void test_invalid_utf8(void)
{
    struct bp_smsenc_info i;
    ASSERT_EQ(bp_smsenc_analyze("\xff\xfe", 2, 0, &i, NULL), BP_EINVAL_INPUT);
}

static void test_arabic_vietnamese(void)
{
    struct bp_smsenc_info i;
    ASSERT_OK(an("مدرسة", 0, &i));
    ASSERT_EQ(i.encoding, BP_SMSENC_UCS2);
    ASSERT_EQ(i.units, 5);
    ASSERT_OK(an("Trường học đóng cửa", 0, &i));
    ASSERT_EQ(i.encoding, BP_SMSENC_UCS2);
    ASSERT_EQ(i.units, 19);
}

int main(void)
{
    BP_TEST(test_gsm_single_and_multi);
    BP_TEST(test_extension_counts_double);
    BP_TEST(test_ucs2_and_surrogates);
    BP_TEST(test_forcing_characters_reported);
    BP_TEST(test_nfc_first);
    BP_TEST(test_transliteration_flag);
    BP_TEST(test_invalid_utf8);
    BP_TEST(test_arabic_vietnamese);
    return bp_test_done();
}
