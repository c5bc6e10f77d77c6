/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Carrier keywords: STOP / START / HELP and their equivalents in the
 * languages of a US district (CTIA handbook, FCC 24-18; PRODUCT.md §3.1).
 *
 * How a body is read:
 *  1. NFKC case folding with ICU (so "ＳＴＯＰ", "Stop" and "STOP" agree and
 *     "ARRÊT" becomes "arrêt"; composed accents are kept: "dừng" and "dung"
 *     are different words in Vietnamese).
 *  2. Split into words at white space, punctuation and symbols (emoji too).
 *  3. Polite words on either side are dropped ("Stop. Thank you",
 *     "Alto por favor", "停止，谢谢").
 *  4. What remains, joined by single spaces, is compared with the phrase
 *     lists below.  Anything else is a normal message; if one of its words
 *     is an opt-out word it is flagged as a possible revocation for staff.
 * "Yes"-like words only mean START for a contact that is opted out; the
 * caller decides that from `weak` (the classifier cannot know the state).
 *
 * Cost (this runs for every inbound webhook): a plain ASCII body skips ICU.
 * NFKC case folding of an ASCII string is the concatenation of the folds of
 * its characters (no ASCII character composes with another), so step 1 is a
 * table lookup per byte; the table and the ASCII separator table are built
 * once from ICU itself (fold() and is_separator() on each of the 128
 * characters), so both paths agree by construction.  Words are looked up
 * in a hash set of the phrases and polite words built at the same time.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#include "bp/base.h"
#include "bp/ingest.h"

#define MAX_BODY 2048          /* longer bodies are never keywords */
#define MAX_WORDS 12

struct phrase {
    const char *text;          /* NFKC-casefolded UTF-8 */
    enum bp_keyword kw;
    bool weak;                 /* START only when the contact opted out */
};

static const struct phrase phrases[] = {
    /* opt-out: CTIA/Twilio list, then district languages */
    {"stop", BP_KEYWORD_STOP, 0}, {"stopall", BP_KEYWORD_STOP, 0},
    {"stop all", BP_KEYWORD_STOP, 0}, {"unsubscribe", BP_KEYWORD_STOP, 0},
    {"cancel", BP_KEYWORD_STOP, 0}, {"end", BP_KEYWORD_STOP, 0},
    {"quit", BP_KEYWORD_STOP, 0}, {"revoke", BP_KEYWORD_STOP, 0},
    {"optout", BP_KEYWORD_STOP, 0}, {"opt out", BP_KEYWORD_STOP, 0},
    {"alto", BP_KEYWORD_STOP, 0}, {"parar", BP_KEYWORD_STOP, 0},          /* es */
    {"no más", BP_KEYWORD_STOP, 0}, {"no mas", BP_KEYWORD_STOP, 0},
    {"baja", BP_KEYWORD_STOP, 0}, {"cancelar", BP_KEYWORD_STOP, 0},
    {"detener", BP_KEYWORD_STOP, 0},
    {"arrêt", BP_KEYWORD_STOP, 0}, {"arret", BP_KEYWORD_STOP, 0},         /* fr */
    {"arrêter", BP_KEYWORD_STOP, 0}, {"arreter", BP_KEYWORD_STOP, 0},
    {"désabonner", BP_KEYWORD_STOP, 0}, {"desabonner", BP_KEYWORD_STOP, 0},
    {"pare", BP_KEYWORD_STOP, 0}, {"sair", BP_KEYWORD_STOP, 0},           /* pt */
    {"停止", BP_KEYWORD_STOP, 0}, {"退订", BP_KEYWORD_STOP, 0},            /* zh */
    {"退訂", BP_KEYWORD_STOP, 0}, {"取消", BP_KEYWORD_STOP, 0},
    {"dừng", BP_KEYWORD_STOP, 0}, {"dừng lại", BP_KEYWORD_STOP, 0},       /* vi */
    {"ngừng", BP_KEYWORD_STOP, 0}, {"hủy", BP_KEYWORD_STOP, 0},
    {"huỷ", BP_KEYWORD_STOP, 0},
    {"rete", BP_KEYWORD_STOP, 0}, {"kanpe", BP_KEYWORD_STOP, 0},          /* ht */
    {"sispann", BP_KEYWORD_STOP, 0},
    {"jooji", BP_KEYWORD_STOP, 0}, {"ka bax", BP_KEYWORD_STOP, 0},        /* so */
    {"توقف", BP_KEYWORD_STOP, 0}, {"إلغاء", BP_KEYWORD_STOP, 0},          /* ar */
    {"الغاء", BP_KEYWORD_STOP, 0}, {"إيقاف", BP_KEYWORD_STOP, 0},
    {"ايقاف", BP_KEYWORD_STOP, 0},
    {"стоп", BP_KEYWORD_STOP, 0}, {"отписаться", BP_KEYWORD_STOP, 0},     /* ru */
    {"отмена", BP_KEYWORD_STOP, 0},
    {"중지", BP_KEYWORD_STOP, 0}, {"정지", BP_KEYWORD_STOP, 0},            /* ko */
    {"수신거부", BP_KEYWORD_STOP, 0},
    {"itigil", BP_KEYWORD_STOP, 0}, {"tigil", BP_KEYWORD_STOP, 0},        /* tl */
    {"hinto", BP_KEYWORD_STOP, 0},
    /* opt back in */
    {"start", BP_KEYWORD_START, 0}, {"unstop", BP_KEYWORD_START, 0},
    {"subscribe", BP_KEYWORD_START, 0}, {"yes", BP_KEYWORD_START, 1},
    {"comenzar", BP_KEYWORD_START, 0}, {"iniciar", BP_KEYWORD_START, 0},
    {"sí", BP_KEYWORD_START, 1}, {"si", BP_KEYWORD_START, 1},
    {"commencer", BP_KEYWORD_START, 0}, {"oui", BP_KEYWORD_START, 1},
    {"começar", BP_KEYWORD_START, 0}, {"sim", BP_KEYWORD_START, 1},
    {"开始", BP_KEYWORD_START, 0}, {"開始", BP_KEYWORD_START, 0},
    {"是", BP_KEYWORD_START, 1}, {"bắt đầu", BP_KEYWORD_START, 0},
    {"có", BP_KEYWORD_START, 1}, {"kòmanse", BP_KEYWORD_START, 0},
    {"wi", BP_KEYWORD_START, 1}, {"bilow", BP_KEYWORD_START, 0},
    {"haa", BP_KEYWORD_START, 1}, {"ابدأ", BP_KEYWORD_START, 0},
    {"نعم", BP_KEYWORD_START, 1}, {"старт", BP_KEYWORD_START, 0},
    {"начать", BP_KEYWORD_START, 0}, {"да", BP_KEYWORD_START, 1},
    {"시작", BP_KEYWORD_START, 0}, {"네", BP_KEYWORD_START, 1},
    {"simula", BP_KEYWORD_START, 0}, {"oo", BP_KEYWORD_START, 1},
    /* help */
    {"help", BP_KEYWORD_HELP, 0}, {"info", BP_KEYWORD_HELP, 0},
    {"ayuda", BP_KEYWORD_HELP, 0}, {"aide", BP_KEYWORD_HELP, 0},
    {"ajuda", BP_KEYWORD_HELP, 0}, {"帮助", BP_KEYWORD_HELP, 0},
    {"幫助", BP_KEYWORD_HELP, 0}, {"giúp", BP_KEYWORD_HELP, 0},
    {"giúp đỡ", BP_KEYWORD_HELP, 0}, {"èd", BP_KEYWORD_HELP, 0},
    {"caawimaad", BP_KEYWORD_HELP, 0}, {"مساعدة", BP_KEYWORD_HELP, 0},
    {"помощь", BP_KEYWORD_HELP, 0}, {"도움", BP_KEYWORD_HELP, 0},
    {"도움말", BP_KEYWORD_HELP, 0}, {"tulong", BP_KEYWORD_HELP, 0},
};

/* Words that may surround a keyword without changing its meaning. */
static const char *const polite[] = {
    "thank", "you", "thanks", "thx", "ty", "please", "pls", "plz", "ok",
    "okay", "gracias", "por", "favor", "merci", "obrigado", "obrigada",
    "cảm", "ơn", "谢谢", "謝謝", "mèsi", "mahadsanid", "شكرا", "спасибо",
    "пожалуйста", "감사합니다", "salamat", "now",
};

/* Built once (tables_init): the fold of each ASCII character when it is
 * one ASCII character (0 when not: such a body takes the ICU path), whether
 * it separates words (both from ICU itself), and a hash set of the phrases
 * and polite words. */
#define NSLOTS 512             /* a power of two, > 2 x the entries */
struct slot {
    const char *text;
    const struct phrase *phrase;
    bool polite;
};
static char ascii_fold[128];
static bool ascii_sep[128];
static struct slot slots[NSLOTS];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static size_t hash(const char *s)
{
    return bp_str_hash(s) & (NSLOTS - 1);
}

static struct slot *find_slot(const char *text)
{
    size_t i = hash(text);

    while (slots[i].text != NULL && strcmp(slots[i].text, text) != 0)
        i = (i + 1) & (NSLOTS - 1);
    return &slots[i];
}

static const struct slot *find(const char *text)
{
    const struct slot *sl = find_slot(text);
    return sl->text != NULL ? sl : NULL;
}

/* Single opt-out words whose presence in a sentence deserves review.  A word
 * never contains a space (a separator), so phrases of several words never
 * match here. */
static bool is_optout_word(const char *w)
{
    const struct slot *sl = find(w);
    return sl != NULL && sl->phrase != NULL && sl->phrase->kw == BP_KEYWORD_STOP;
}

static bool is_polite(const char *w)
{
    const struct slot *sl = find(w);
    return sl != NULL && sl->polite;
}

/* NFKC-casefolds UTF-8 in into out; returns false on any error. */
static bool fold(const char *in, char *out, size_t outcap)
{
    UChar src[MAX_BODY], dst[MAX_BODY * 2];
    UErrorCode st = U_ZERO_ERROR;
    int32_t srclen, dstlen, outlen;
    const UNormalizer2 *n2 = unorm2_getNFKCCasefoldInstance(&st);

    if (U_FAILURE(st))
        return false;
    u_strFromUTF8(src, MAX_BODY, &srclen, in, -1, &st);
    if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING)
        return false;
    dstlen = unorm2_normalize(n2, src, srclen, dst, MAX_BODY * 2, &st);
    if (U_FAILURE(st))
        return false;
    u_strToUTF8(out, (int32_t)outcap, &outlen, dst, dstlen, &st);
    return U_SUCCESS(st) && st != U_STRING_NOT_TERMINATED_WARNING;
}

static bool icu_is_separator(UChar32 c)
{
    int8_t t = (int8_t)u_charType(c);
    return u_isUWhiteSpace(c) || u_ispunct(c) || t == U_MATH_SYMBOL ||
           t == U_CURRENCY_SYMBOL || t == U_MODIFIER_SYMBOL ||
           t == U_OTHER_SYMBOL || t == U_CONTROL_CHAR || t == U_FORMAT_CHAR ||
           c == 0xFE0F;
}

static bool is_separator(UChar32 c)
{
    return c >= 0 && c < 128 ? ascii_sep[c] : icu_is_separator(c);
}

static void tables_init(void)
{
    for (int c = 1; c < 128; c++) {
        char in[2] = {(char)c, '\0'}, out[8];
        ascii_sep[c] = icu_is_separator(c);
        if (fold(in, out, sizeof out) && out[0] != '\0' &&
            (unsigned char)out[0] < 128 && out[1] == '\0')
            ascii_fold[c] = out[0];
    }
    for (size_t i = 0; i < BP_ARRAY_LEN(phrases); i++) {
        struct slot *sl = find_slot(phrases[i].text);
        sl->text = phrases[i].text;
        if (sl->phrase == NULL)            /* the first entry wins, as before */
            sl->phrase = &phrases[i];
    }
    for (size_t i = 0; i < BP_ARRAY_LEN(polite); i++) {
        struct slot *sl = find_slot(polite[i]);
        sl->text = polite[i];
        sl->polite = true;
    }
}

/* Folds a plain ASCII body with the table; false when it is not one. */
static bool fold_ascii(const char *in, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 128 || ascii_fold[c] == 0)
            return false;
        out[i] = ascii_fold[c];
    }
    out[len] = '\0';
    return true;
}

/* Splits s in place into words; returns how many (at most max). */
static size_t split_words(char *s, char **words, size_t max, bool *more)
{
    int32_t i = 0, len = (int32_t)strlen(s);
    size_t n = 0;
    int32_t start = -1;

    *more = false;
    while (i <= len) {
        int32_t at = i;
        UChar32 c = 0;
        if (i < len)
            U8_NEXT(s, i, len, c);
        else
            i++;
        bool sep = at >= len || c < 0 || is_separator(c);
        if (sep && start >= 0) {
            s[at] = '\0';
            if (n < max)
                words[n++] = s + start;
            else
                *more = true;
            start = -1;
        } else if (!sep && start < 0) {
            start = at;
        }
    }
    return n;
}

static const struct phrase *lookup(const char *text)
{
    const struct slot *sl = find(text);
    return sl != NULL ? sl->phrase : NULL;
}

void bp_ingest_keyword_classify(const char *body, struct bp_keyword_result *out)
{
    char folded[MAX_BODY * 3], joined[MAX_BODY * 3];
    char *words[MAX_WORDS];
    size_t n, first = 0, last, len = strlen(body);
    bool more;
    const struct phrase *p;

    memset(out, 0, sizeof *out);
    if (len == 0 || len >= MAX_BODY)
        return;
    pthread_once(&tables_once, tables_init);
    if (!fold_ascii(body, len, folded) &&
        (!bp_utf8_valid(body, len) || !fold(body, folded, sizeof folded)))
        return;
    n = split_words(folded, words, MAX_WORDS, &more);
    for (size_t i = 0; i < n; i++)
        if (is_optout_word(words[i]))
            out->possible_revocation = true;
    if (n == 0 || more)
        return;
    last = n;
    while (first < last && is_polite(words[first]))
        first++;
    while (last > first && is_polite(words[last - 1]))
        last--;
    if (first == last)
        return;
    joined[0] = '\0';
    for (size_t i = first; i < last; i++) {
        if (i > first)
            strcat(joined, " ");
        strcat(joined, words[i]);
    }
    p = lookup(joined);
    if (p == NULL)
        return;
    out->keyword = p->kw;
    out->weak = p->weak;
    out->matched = p->text;
    out->possible_revocation = false;
}

const char *bp_ingest_keyword_name(enum bp_keyword k)
{
    switch (k) {
    case BP_KEYWORD_STOP:
        return "stop";
    case BP_KEYWORD_START:
        return "start";
    case BP_KEYWORD_HELP:
        return "help";
    default:
        return "none";
    }
}
