/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Home-language values to BCP 47 tags.
 *
 * Student information systems export the home language in every form:
 * ISO 639-1 or -2 codes ("es", "spa"), BCP 47 tags in any case ("zh_hant",
 * "ES-mx"), English names ("Spanish", "Chinese (Traditional)") and names in
 * the language itself ("Español", "Tiếng Việt", "中文").  Templates are
 * chosen by BCP 47 tag, so every form is mapped here to one canonical tag.
 *
 * Order: the name table first (so "Lao" is the language, not a code), then
 * three-letter ISO 639-2 codes with a two-letter equivalent, then anything
 * shaped like a tag whose primary subtag is a known ISO 639-1 code (or a
 * three-letter code we list).  Anything else is BP_ENOTFOUND and "und": the
 * caller must never pretend such a family reads English.
 */
#include <string.h>

#include "bp/base.h"
#include "bp/roster.h"

struct lang_name {
    const char *name;          /* folded: ASCII lower case, Latin-1 folded */
    const char *tag;
};

static const struct lang_name names[] = {
    {"english", "en"}, {"spanish", "es"}, {"español", "es"}, {"espanol", "es"},
    {"castellano", "es"}, {"spanish (mexico)", "es-MX"},
    {"chinese", "zh"}, {"中文", "zh"}, {"汉语", "zh"}, {"漢語", "zh"},
    {"mandarin", "zh"}, {"普通话", "zh"}, {"普通話", "zh"},
    {"chinese (simplified)", "zh-Hans"}, {"simplified chinese", "zh-Hans"},
    {"简体中文", "zh-Hans"}, {"中文（简体）", "zh-Hans"}, {"中文 (简体)", "zh-Hans"},
    {"chinese (traditional)", "zh-Hant"}, {"traditional chinese", "zh-Hant"},
    {"繁體中文", "zh-Hant"}, {"中文（繁體）", "zh-Hant"}, {"中文 (繁體)", "zh-Hant"},
    {"cantonese", "yue"}, {"廣東話", "yue"}, {"广东话", "yue"}, {"粵語", "yue"},
    {"粤语", "yue"}, {"vietnamese", "vi"}, {"tiếng việt", "vi"},
    {"tieng viet", "vi"}, {"arabic", "ar"}, {"العربية", "ar"}, {"عربي", "ar"},
    {"haitian creole", "ht"}, {"haitian", "ht"}, {"kreyòl", "ht"},
    {"kreyol", "ht"}, {"kreyòl ayisyen", "ht"}, {"kreyol ayisyen", "ht"},
    {"creole (haitian)", "ht"}, {"somali", "so"}, {"af-soomaali", "so"},
    {"soomaali", "so"}, {"russian", "ru"}, {"русский", "ru"},
    {"русский язык", "ru"}, {"portuguese", "pt"}, {"português", "pt"},
    {"portugues", "pt"}, {"portuguese (brazil)", "pt-BR"},
    {"brazilian portuguese", "pt-BR"}, {"português (brasil)", "pt-BR"},
    {"tagalog", "tl"}, {"filipino", "fil"}, {"wikang tagalog", "tl"},
    {"korean", "ko"}, {"한국어", "ko"}, {"조선말", "ko"}, {"french", "fr"},
    {"français", "fr"}, {"francais", "fr"}, {"japanese", "ja"}, {"日本語", "ja"},
    {"hindi", "hi"}, {"हिन्दी", "hi"}, {"हिंदी", "hi"}, {"urdu", "ur"},
    {"اردو", "ur"}, {"bengali", "bn"}, {"bangla", "bn"}, {"বাংলা", "bn"},
    {"punjabi", "pa"}, {"panjabi", "pa"}, {"ਪੰਜਾਬੀ", "pa"}, {"gujarati", "gu"},
    {"ગુજરાતી", "gu"}, {"nepali", "ne"}, {"नेपाली", "ne"}, {"burmese", "my"},
    {"မြန်မာ", "my"}, {"karen", "kar"}, {"hmong", "hmn"}, {"hmoob", "hmn"},
    {"khmer", "km"}, {"cambodian", "km"}, {"ភាសាខ្មែរ", "km"}, {"ខ្មែរ", "km"},
    {"lao", "lo"}, {"laotian", "lo"}, {"ລາວ", "lo"}, {"thai", "th"},
    {"ไทย", "th"}, {"farsi", "fa"}, {"persian", "fa"}, {"فارسی", "fa"},
    {"dari", "prs"}, {"دری", "prs"}, {"pashto", "ps"}, {"پښتو", "ps"},
    {"amharic", "am"}, {"አማርኛ", "am"}, {"tigrinya", "ti"}, {"ትግርኛ", "ti"},
    {"oromo", "om"}, {"afaan oromoo", "om"}, {"swahili", "sw"},
    {"kiswahili", "sw"}, {"kinyarwanda", "rw"}, {"kirundi", "rn"},
    {"yoruba", "yo"}, {"yorùbá", "yo"}, {"igbo", "ig"}, {"hausa", "ha"},
    {"wolof", "wo"}, {"fulani", "ff"}, {"fula", "ff"}, {"pulaar", "ff"},
    {"polish", "pl"}, {"polski", "pl"}, {"ukrainian", "uk"},
    {"українська", "uk"}, {"romanian", "ro"}, {"română", "ro"},
    {"romana", "ro"}, {"albanian", "sq"}, {"shqip", "sq"}, {"bosnian", "bs"},
    {"bosanski", "bs"}, {"serbian", "sr"}, {"српски", "sr"}, {"croatian", "hr"},
    {"hrvatski", "hr"}, {"turkish", "tr"}, {"türkçe", "tr"}, {"turkce", "tr"},
    {"greek", "el"}, {"ελληνικά", "el"}, {"german", "de"}, {"deutsch", "de"},
    {"italian", "it"}, {"italiano", "it"}, {"hebrew", "he"}, {"עברית", "he"},
    {"armenian", "hy"}, {"հայերեն", "hy"}, {"georgian", "ka"},
    {"ქართული", "ka"}, {"uzbek", "uz"}, {"o'zbek", "uz"}, {"marshallese", "mh"},
    {"chuukese", "chk"}, {"samoan", "sm"}, {"gagana samoa", "sm"},
    {"tongan", "to"}, {"hawaiian", "haw"}, {"ʻōlelo hawaiʻi", "haw"},
    {"ilocano", "ilo"}, {"navajo", "nv"}, {"diné bizaad", "nv"},
    {"k'iche'", "quc"}, {"quiche", "quc"}, {"quiché", "quc"}, {"mam", "mam"},
    {"american sign language", "ase"}, {"asl", "ase"}, {"tamil", "ta"},
    {"தமிழ்", "ta"}, {"telugu", "te"}, {"తెలుగు", "te"}, {"marathi", "mr"},
    {"मराठी", "mr"}, {"kannada", "kn"}, {"ಕನ್ನಡ", "kn"}, {"malayalam", "ml"},
    {"മലയാളം", "ml"}, {"indonesian", "id"}, {"bahasa indonesia", "id"},
    {"malay", "ms"}, {"bahasa melayu", "ms"}, {"chamorro", "ch"},
    {"cape verdean creole", "kea"}, {"kriolu", "kea"}, {"kabuverdianu", "kea"},
    {"dutch", "nl"}, {"nederlands", "nl"}, {"czech", "cs"}, {"čeština", "cs"},
    {"hungarian", "hu"}, {"magyar", "hu"}, {"mongolian", "mn"},
    {"монгол", "mn"}, {"tibetan", "bo"}, {"punjabi (shahmukhi)", "pa-Arab"},
    {"kurdish", "ku"}, {"kurdî", "ku"}, {"ewe", "ee"}, {"twi", "tw"},
    {"akan", "ak"}, {"lingala", "ln"}, {"mandinka", "mnk"}, {"bambara", "bm"},
    {"sign language", "sgn"},
};

/* ISO 639-2 codes (and a few others) written by SIS exports. */
static const struct lang_name codes3[] = {
    {"eng", "en"}, {"spa", "es"}, {"chi", "zh"}, {"zho", "zh"}, {"vie", "vi"},
    {"ara", "ar"}, {"hat", "ht"}, {"som", "so"}, {"rus", "ru"}, {"por", "pt"},
    {"tgl", "tl"}, {"kor", "ko"}, {"fre", "fr"}, {"fra", "fr"}, {"jpn", "ja"},
    {"hin", "hi"}, {"urd", "ur"}, {"ben", "bn"}, {"pan", "pa"}, {"guj", "gu"},
    {"nep", "ne"}, {"bur", "my"}, {"mya", "my"}, {"khm", "km"}, {"lao", "lo"},
    {"tha", "th"}, {"per", "fa"}, {"fas", "fa"}, {"pus", "ps"}, {"amh", "am"},
    {"tir", "ti"}, {"orm", "om"}, {"swa", "sw"}, {"kin", "rw"}, {"pol", "pl"},
    {"ukr", "uk"}, {"rum", "ro"}, {"ron", "ro"}, {"alb", "sq"}, {"sqi", "sq"},
    {"tur", "tr"}, {"gre", "el"}, {"ell", "el"}, {"ger", "de"}, {"deu", "de"},
    {"ita", "it"}, {"heb", "he"}, {"arm", "hy"}, {"hye", "hy"}, {"yue", "yue"},
    {"fil", "fil"}, {"hmn", "hmn"}, {"kar", "kar"}, {"chk", "chk"},
    {"haw", "haw"}, {"ilo", "ilo"}, {"kea", "kea"}, {"prs", "prs"},
    {"ase", "ase"}, {"quc", "quc"}, {"mam", "mam"}, {"mnk", "mnk"},
    {"sgn", "sgn"},
};

/* Every ISO 639-1 code, two letters each. */
static const char iso639_1[] =
    "aaabaeafakamanarasavayazbabebgbhbibmbnbobrbscacechcocrcscucvcydadedvdz"
    "eeeleneoeseteufafffifjfofrfygagdglgngugvhahehihohrhthuhyhziaidieigiiik"
    "ioisitiujajvkakgkikjkkklkmknkokrkskukvkwkylalblglilnloltlulvmgmhmimkml"
    "mnmrmsmtmynanbndnengnlnnnonrnvnyocojomorospapiplpsptqurmrnrorurwsascsd"
    "sesgsiskslsmsnsosqsrssstsusvswtatetgthtitktltntotrtstttwtyugukuruzvevi"
    "vowawoxhyiyozazhzu";

/* Lower-cases ASCII and folds Latin-1 (À..Þ except ×) and basic Cyrillic
 * (А..Я) capitals in place; enough for the names in the table. */
static void fold(char *s)
{
    unsigned char *p = (unsigned char *)s;

    for (; *p; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (unsigned char)(*p + 32);
        else if (p[0] == 0xC3 && p[1] >= 0x80 && p[1] <= 0x9E && p[1] != 0x97)
            p[1] = (unsigned char)(p[1] + 32), p++;
        else if (p[0] == 0xD0 && p[1] >= 0x90 && p[1] <= 0x9F)
            p[1] = (unsigned char)(p[1] + 32), p++;      /* А..П -> а..п */
        else if (p[0] == 0xD0 && p[1] >= 0xA0 && p[1] <= 0xAF)
            p[0] = 0xD1, p[1] = (unsigned char)(p[1] - 32), p++; /* Р..Я */
    }
}

static bool known_2(const char *c)
{
    for (size_t i = 0; i + 1 < sizeof iso639_1; i += 2)
        if (iso639_1[i] == c[0] && iso639_1[i + 1] == c[1])
            return true;
    return false;
}

static const char *find(const struct lang_name *t, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, s) == 0)
            return t[i].tag;
    return NULL;
}

static bool alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* s is folded, '_' already '-'.  Canonicalises a tag-shaped value into out;
 * false when it is not a tag we accept. */
static bool canon_tag(const char *s, char *out, size_t n)
{
    char prim[4] = {0};
    const char *p = s, *mapped;
    size_t len = 0, o;

    while (p[len] >= 'a' && p[len] <= 'z')
        len++;
    if ((len != 2 && len != 3) || (p[len] != '\0' && p[len] != '-'))
        return false;
    memcpy(prim, p, len);
    if (len == 2 && !known_2(prim))
        return false;
    mapped = len == 3 ? find(codes3, BP_ARRAY_LEN(codes3), prim) : prim;
    if (mapped == NULL)
        return false;
    o = strlen(mapped);
    if (o + strlen(p + len) + 1 > n || o + strlen(p + len) > 35)
        return false;
    memcpy(out, mapped, o);
    p += len;
    while (*p == '-') {
        size_t k = 0;

        p++;
        while (alnum(p[k]))
            k++;
        if (k == 0 || k > 8 || (p[k] != '\0' && p[k] != '-'))
            return false;
        out[o++] = '-';
        for (size_t i = 0; i < k; i++) {
            char c = p[i];

            if ((k == 2 || (k == 4 && i == 0)) && c >= 'a' && c <= 'z')
                c = (char)(c - 32);         /* region XX, script Xxxx */
            out[o++] = c;
        }
        p += k;
    }
    out[o] = '\0';
    return *p == '\0';
}

int bp_lang_to_bcp47(const char *in, char *out, size_t n)
{
    char buf[128];
    const char *tag;
    char *s;
    size_t len;

    if (n < 4)
        return BP_ETOOBIG;
    strcpy(out, "und");
    if (in == NULL || strlen(in) >= sizeof buf)
        return BP_ENOTFOUND;
    strcpy(buf, in);
    s = bp_str_trim(buf);
    fold(s);
    tag = find(names, BP_ARRAY_LEN(names), s);
    if (tag != NULL) {
        if (strlen(tag) + 1 > n)
            return BP_ETOOBIG;
        strcpy(out, tag);
        return 0;
    }
    len = strlen(s);
    for (size_t i = 0; i < len; i++)
        if (s[i] == '_')
            s[i] = '-';
    if (canon_tag(s, out, n))
        return 0;
    strcpy(out, "und");
    return BP_ENOTFOUND;
}
