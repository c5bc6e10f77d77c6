/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests of src/ingest: form decoding, Twilio signatures and fields,
 * carrier keywords in several languages. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "bp/ingest.h"
#include "bp/ingest_prov.h"
#include "bp_test.h"

static int parse(const char *s, struct bp_form *f)
{
    struct bp_errbuf eb;
    return bp_form_parse(s, strlen(s), 100, f, &eb);
}

static void test_form_decode(void)
{
    struct bp_form f;
    ASSERT_OK(parse("Body=Hola+Se%C3%B1ora%21&From=%2B15551234567&Empty=&Flag", &f));
    ASSERT_EQ(f.n, 4);
    ASSERT_STR_EQ(bp_form_get(&f, "Body"), "Hola Señora!");
    ASSERT_STR_EQ(bp_form_get(&f, "From"), "+15551234567");
    ASSERT_STR_EQ(bp_form_get(&f, "Empty"), "");
    ASSERT_STR_EQ(bp_form_get(&f, "Flag"), "");
    ASSERT_EQ(bp_form_get(&f, "Missing"), NULL);
    bp_form_free(&f);
}

static void test_form_repeated_and_empty_segments(void)
{
    struct bp_form f;
    ASSERT_OK(parse("a=1&&a=2&", &f));
    ASSERT_EQ(f.n, 2);
    ASSERT_STR_EQ(f.fields[1].value, "2");
    bp_form_free(&f);
    ASSERT_OK(parse("", &f));
    ASSERT_EQ(f.n, 0);
    bp_form_free(&f);
}

static void test_form_rejects(void)
{
    struct bp_form f;
    ASSERT_EQ(parse("a=%zz", &f), BP_EINVAL_INPUT);
    bp_form_free(&f);
    ASSERT_EQ(parse("a=%4", &f), BP_EINVAL_INPUT);
    bp_form_free(&f);
    ASSERT_EQ(parse("a=%00", &f), BP_EINVAL_INPUT);       /* NUL */
    bp_form_free(&f);
    ASSERT_EQ(parse("a=caf%E9", &f), BP_EINVAL_INPUT);    /* latin-1, not UTF-8 */
    bp_form_free(&f);
    struct bp_errbuf eb;
    ASSERT_EQ(bp_form_parse("a&b&c", 5, 2, &f, &eb), BP_EINVAL_INPUT);
    bp_form_free(&f);
}

/* Twilio's published example (api-snippets, security/signature_validation). */
static void test_twilio_signature_vector(void)
{
    struct bp_form f;
    char sig[29];
    const struct bp_ingest_provider *p = bp_ingest_provider_find("twilio");
    ASSERT_TRUE(p != NULL);
    ASSERT_OK(parse("CallSid=CA1234567890ABCDE&Caller=%2B14158675310&Digits=1234"
                    "&From=%2B14158675310&To=%2B18005551212", &f));
    bp_twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", &f, sig);
    ASSERT_STR_EQ(sig, "GvWf1cFY/Q7PnoempGyD5oXAezc=");
    ASSERT_TRUE(p->verify("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", &f,
                          "GvWf1cFY/Q7PnoempGyD5oXAezc="));
    /* the same URL with its default port written out also verifies */
    ASSERT_TRUE(p->verify("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", &f,
                          "GvWf1cFY/Q7PnoempGyD5oXAezc="));
    ASSERT_FALSE(p->verify("12346", "https://mycompany.com/myapp.php?foo=1&bar=2", &f,
                           "GvWf1cFY/Q7PnoempGyD5oXAezc="));
    ASSERT_FALSE(p->verify("12345", "https://mycompany.com/myapp.php?foo=1&bar=3", &f,
                           "GvWf1cFY/Q7PnoempGyD5oXAezc="));
    ASSERT_FALSE(p->verify("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", &f, ""));
    ASSERT_FALSE(p->verify("", "https://mycompany.com/myapp.php?foo=1&bar=2", &f,
                           "GvWf1cFY/Q7PnoempGyD5oXAezc="));
    bp_form_free(&f);
    ASSERT_OK(parse("CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234"
                    "&From=%2B14158675309&To=%2B18005551212", &f));
    bp_twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", &f, sig);
    ASSERT_STR_EQ(sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    bp_form_free(&f);
}

/* More fields and text than the signature keeps on the stack: the same
 * HMAC as OpenSSL's one-shot HMAC() over the text built here. */
static void test_twilio_signature_large(void)
{
    static char body[16384], text[16384];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char sig[29], want[29];
    size_t bo = 0, to;
    struct bp_form f;
    const char *url = "https://example.org/hook";

    to = (size_t)snprintf(text, sizeof text, "%s", url);
    for (int i = 69; i >= 0; i--) {     /* sent unsorted */
        bo += (size_t)snprintf(body + bo, sizeof body - bo, "%sF%02d=", bo ? "&" : "", i);
        for (int k = 0; k < 100; k++)
            body[bo++] = (char)('a' + (i + k) % 26);
        body[bo] = '\0';
    }
    for (int i = 0; i < 70; i++) {
        to += (size_t)snprintf(text + to, sizeof text - to, "F%02d", i);
        for (int k = 0; k < 100; k++)
            text[to++] = (char)('a' + (i + k) % 26);
    }
    ASSERT_OK(parse(body, &f));
    bp_twilio_signature("tok-large", url, &f, sig);
    ASSERT_TRUE(HMAC(EVP_sha1(), "tok-large", 9, (const unsigned char *)text, to, mac,
                     &maclen) != NULL);
    EVP_EncodeBlock((unsigned char *)want, mac, (int)maclen);
    ASSERT_STR_EQ(sig, want);
    bp_form_free(&f);
}

static void test_twilio_parse_inbound(void)
{
    struct bp_form f;
    struct bp_sms_inbound in;
    struct bp_errbuf eb;
    const struct bp_ingest_provider *p = bp_ingest_provider_find("twilio");
    ASSERT_OK(parse("MessageSid=SM1&AccountSid=AC1&From=%2B15551230001&To=%2B15551230000"
                    "&Body=Hi&NumMedia=2&MediaUrl0=https%3A%2F%2Fm%2F0&MediaContentType0=image%2Fjpeg"
                    "&MediaUrl1=https%3A%2F%2Fm%2F1&NumSegments=1&ToCountry=US", &f));
    ASSERT_OK(p->parse_inbound(&f, &in, &eb));
    ASSERT_STR_EQ(in.provider_msg_id, "SM1");
    ASSERT_EQ(in.num_media, 2);
    ASSERT_STR_EQ(in.media_type[0], "image/jpeg");
    ASSERT_STR_EQ(in.media_url[1], "https://m/1");
    bp_form_free(&f);
    ASSERT_OK(parse("AccountSid=AC1&From=%2B1&To=%2B2&Body=x", &f));
    ASSERT_EQ(p->parse_inbound(&f, &in, &eb), BP_EINVAL_INPUT);
    ASSERT_STR_CONTAINS(eb.msg, "MessageSid");
    bp_form_free(&f);
    ASSERT_OK(parse("MessageSid=SM1&AccountSid=AC1&From=a&To=b&NumMedia=99", &f));
    ASSERT_EQ(p->parse_inbound(&f, &in, &eb), BP_EINVAL_INPUT);
    bp_form_free(&f);
}

static enum bp_keyword kw(const char *body)
{
    struct bp_keyword_result r;
    bp_ingest_keyword_classify(body, &r);
    return r.keyword;
}

static bool revocation(const char *body)
{
    struct bp_keyword_result r;
    bp_ingest_keyword_classify(body, &r);
    return r.possible_revocation;
}

static void test_keywords_stop(void)
{
    const char *stops[] = {
        "STOP", "stop", " Stop. ", "STOP!!", "Stop. Thank you", "stop all",
        "STOPALL", "UNSUBSCRIBE", "Cancel", "END", "quit", "REVOKE", "OPTOUT",
        "opt-out", "Opt out please", "ALTO", "Alto por favor", "PARAR", "No más",
        "ARRÊT", "Arret", "停止", "停止，谢谢", "DỪNG", "Dừng lại", "ＳＴＯＰ",
        "Kanpe", "Jooji", "توقف", "Стоп", "중지", "Itigil", "STOP 🛑",
    };
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
        if (kw(stops[i]) != BP_KEYWORD_STOP)
            BP_TEST__FAIL("\"%s\" should be STOP", stops[i]);
    }
}

static void test_keywords_start_help(void)
{
    struct bp_keyword_result r;
    ASSERT_EQ(kw("START"), BP_KEYWORD_START);
    ASSERT_EQ(kw("unstop"), BP_KEYWORD_START);
    bp_ingest_keyword_classify("Yes", &r);
    ASSERT_EQ(r.keyword, BP_KEYWORD_START);
    ASSERT_TRUE(r.weak);
    bp_ingest_keyword_classify("START", &r);
    ASSERT_FALSE(r.weak);
    ASSERT_EQ(kw("HELP"), BP_KEYWORD_HELP);
    ASSERT_EQ(kw("info"), BP_KEYWORD_HELP);
    ASSERT_EQ(kw("Ayuda"), BP_KEYWORD_HELP);
    ASSERT_EQ(kw("帮助"), BP_KEYWORD_HELP);
}

static void test_keywords_normal_messages(void)
{
    ASSERT_EQ(kw("Please stop by the office tomorrow"), BP_KEYWORD_NONE);
    ASSERT_TRUE(revocation("Please stop by the office tomorrow"));
    ASSERT_EQ(kw("STOP 12345"), BP_KEYWORD_NONE);
    ASSERT_TRUE(revocation("STOP 12345"));
    ASSERT_EQ(kw("Maria will be late today"), BP_KEYWORD_NONE);
    ASSERT_FALSE(revocation("Maria will be late today"));
    ASSERT_EQ(kw("Thank you"), BP_KEYWORD_NONE);
    ASSERT_EQ(kw(""), BP_KEYWORD_NONE);
    ASSERT_EQ(kw("stop\xff"), BP_KEYWORD_NONE);            /* invalid UTF-8 */
    ASSERT_EQ(kw("Stopping by at 3"), BP_KEYWORD_NONE);
    ASSERT_FALSE(revocation("Stopping by at 3"));
}

/* A plain ASCII body takes a table-driven path; the same body with an
 * emoji (a separator: no new word) takes the ICU path.  They must agree,
 * for every ASCII character between and around the words; and ASCII word
 * separators are what Unicode says. */
static void test_keywords_ascii_path_matches_icu(void)
{
    static const char *const shapes[] = {       /* '#' is the character */
        "stop#", "#STOP#", "Stop#thank you", "please#stop by", "HELP#",
        "opt#out", "Yes#", "a#b c d e f g h i j k l stop", "#", "end##",
    };
    char ascii[64], icu[80];
    struct bp_keyword_result a, b;

    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        for (int c = 1; c < 128; c++) {
            size_t n = strlen(shapes[i]);
            for (size_t k = 0; k <= n; k++)
                ascii[k] = shapes[i][k] == '#' ? (char)c : shapes[i][k];
            snprintf(icu, sizeof icu, "%s \xF0\x9F\x9B\x91", ascii);
            bp_ingest_keyword_classify(ascii, &a);
            bp_ingest_keyword_classify(icu, &b);
            if (a.keyword != b.keyword || a.weak != b.weak ||
                a.possible_revocation != b.possible_revocation)
                BP_TEST__FAIL("shape %zu char %d: ASCII path %d/%d/%d, ICU path %d/%d/%d",
                              i, c, a.keyword, a.weak, a.possible_revocation,
                              b.keyword, b.weak, b.possible_revocation);
        }
    }
    /* Unicode: every ASCII character but letters and digits is white space,
     * punctuation, a symbol or a control character, so it separates words. */
    for (int c = 1; c < 128; c++) {
        bool sep = !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                     (c >= 'A' && c <= 'Z'));
        snprintf(ascii, sizeof ascii, "Stop%cthanks", c);
        if ((kw(ascii) == BP_KEYWORD_STOP) != sep)
            BP_TEST__FAIL("character %d: separator should be %d", c, sep);
    }
    ASSERT_EQ(kw("STOP\t"), BP_KEYWORD_STOP);
    ASSERT_EQ(kw("stop-all"), BP_KEYWORD_STOP);
    ASSERT_EQ(kw("stop_1"), BP_KEYWORD_NONE);
    ASSERT_TRUE(revocation("a b c d e f g h i j k stop"));      /* 12th word */
    ASSERT_FALSE(revocation("a b c d e f g h i j k l stop"));   /* 13th: not read */
}

int main(void)
{
    BP_TEST(test_form_decode);
    BP_TEST(test_form_repeated_and_empty_segments);
    BP_TEST(test_form_rejects);
    BP_TEST(test_twilio_signature_vector);
    BP_TEST(test_twilio_signature_large);
    BP_TEST(test_twilio_parse_inbound);
    BP_TEST(test_keywords_stop);
    BP_TEST(test_keywords_start_help);
    BP_TEST(test_keywords_normal_messages);
    BP_TEST(test_keywords_ascii_path_matches_icu);
    return bp_test_done();
}
