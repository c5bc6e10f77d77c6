/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * bp_mime_extract_reply: what the parent actually wrote, without the quoted
 * history and the signature (issue 5, item 3).
 *
 * The text (UTF-8, LF; HTML already made text with <blockquote> as "> ")
 * is cut into lines and scanned for the first *history marker* on an
 * unquoted line:
 *   attribution  "On <date>, <name> <addr> wrote:" and its translations
 *                (El ... escribió: / Le ... a écrit : / Em ... escreveu: /
 *                Vào ... đã viết: / ... 写道：), possibly wrapped over up
 *                to three lines; it must start a paragraph and contain a
 *                digit or '@' (dates do) or be followed at once by a '>'
 *                quote, so "my son wrote:" in a sentence is no marker;
 *   header block "From:" (De:, De :, Từ:, 发件人:, Von:...) followed within
 *                eight lines by two of Sent/Date/To/Subject/Cc in the same
 *                languages (Outlook desktop, web, mobile), together with a
 *                "____" or "----" rule just above it;
 *   separator    "-----Original Message-----", "---------- Forwarded
 *                message ---------", "Begin forwarded message:" and their
 *                translations.
 * Text above the marker is the reply (top posting).  When nothing is above
 * an attribution, the parent answered below or between the quotes (bottom
 * posting / interleaving): the reply is the unquoted lines after it,
 * scanned again for a further marker.  Nothing above a header block or a
 * separator means a forward without comment: the reply is empty.  In all
 * cases '>'-quoted lines are dropped (a blank line stands for each quote
 * run), then the signature is cut: from a "-- " line, or from a mobile
 * sign-off ("Sent from my iPhone", "Enviado desde mi iPhone", "Envoyé de
 * mon iPhone", "Enviado do meu iPhone", "Get Outlook for iOS", "Sent from
 * Yahoo Mail"...).  Finally lines lose trailing blanks, blank runs shrink
 * to one, and blank or rule-only lines at either end go.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime_int.h"

struct line {
    const char *p;
    size_t n;
};

struct lines {
    struct line *v;
    size_t n;
};

enum marker { M_NONE, M_ATTRIB, M_BLOCK };

static void split(const char *text, struct lines *ls)
{
    size_t cnt = 1;
    for (const char *p = text; *p; p++)
        cnt += *p == '\n';
    ls->v = bp_xmalloc(cnt * sizeof *ls->v);
    ls->n = 0;
    const char *p = text;
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        ls->v[ls->n++] = (struct line){p, n};
        if (!nl)
            break;
        p = nl + 1;
    }
}

/* Length of a white-space character at p (ASCII, NBSP, U+202F), or 0. */
static size_t ws_len(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    if (n >= 1 && (u[0] == ' ' || u[0] == '\t' || u[0] == '\r'))
        return 1;
    if (n >= 2 && u[0] == 0xC2 && u[1] == 0xA0)
        return 2;
    if (n >= 3 && u[0] == 0xE2 && u[1] == 0x80 && u[2] == 0xAF)
        return 3;
    if (n >= 3 && u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80)
        return 3;                   /* ideographic space */
    return 0;
}

/* Trims white space (incl. NBSP) at both ends. */
static struct line trim(struct line l)
{
    size_t k;
    while (l.n && (k = ws_len(l.p, l.n)) > 0)
        l.p += k, l.n -= k;
    for (;;) {
        if (l.n >= 1 && ws_len(l.p + l.n - 1, 1))
            l.n--;
        else if (l.n >= 2 && ws_len(l.p + l.n - 2, 2) == 2)
            l.n -= 2;
        else if (l.n >= 3 && ws_len(l.p + l.n - 3, 3) == 3)
            l.n -= 3;
        else
            break;
    }
    return l;
}

static bool blank(struct line l)
{
    return trim(l).n == 0;
}

static bool quoted(struct line l)
{
    l = trim(l);
    return l.n > 0 && l.p[0] == '>';
}

static bool ends_with(struct line l, const char *suf)
{
    size_t s = strlen(suf);
    return l.n >= s && memcmp(l.p + l.n - s, suf, s) == 0;
}

static bool has_attrib_suffix(struct line l)
{
    static const char *const words[] = {"wrote", "writes", "escribió",
        "escribio", "a écrit", "a ecrit", "escreveu", "đã viết",
        "写道", "寫道", "schrieb", "ha scritto", "schreef", "skrev", NULL};
    l = trim(l);
    if (ends_with(l, ":"))
        l.n -= 1;
    else if (ends_with(l, "\xEF\xBC\x9A"))      /* full-width colon */
        l.n -= 3;
    else if (!ends_with(l, "写道") && !ends_with(l, "寫道"))
        return false;
    l = trim(l);
    for (size_t i = 0; words[i]; i++)
        if (ends_with(l, words[i]))
            return true;
    return false;
}

static bool has_date_or_addr(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((p[i] >= '0' && p[i] <= '9') || p[i] == '@')
            return true;
    return false;
}

/* Number of lines (1..3) of an attribution starting at i, or 0. */
static size_t attribution_at(const struct lines *ls, size_t i)
{
    if (quoted(ls->v[i]) || blank(ls->v[i]))
        return 0;
    if (i > 0 && !blank(ls->v[i - 1]))
        return 0;                   /* must start a paragraph */
    size_t total = 0;
    bool digits = false;
    for (size_t k = 0; k < 3 && i + k < ls->n; k++) {
        struct line l = ls->v[i + k];
        if (blank(l) || quoted(l))
            return 0;
        total += l.n;
        digits = digits || has_date_or_addr(l.p, l.n);
        if (total > 400)
            return 0;
        if (has_attrib_suffix(l)) {
            size_t next = i + k + 1;
            if (digits)
                return k + 1;
            /* no date or address ("On Monday, Ms Lee wrote:"): still an
             * attribution when a '>' quote follows at once */
            if (next < ls->n && blank(ls->v[next]))
                next++;
            return next < ls->n && quoted(ls->v[next]) ? k + 1 : 0;
        }
    }
    return 0;
}

/* Strips "*" (bold in text conversions) and white space at the start. */
static struct line unbold(struct line l)
{
    l = trim(l);
    while (l.n && l.p[0] == '*')
        l.p++, l.n--;
    return trim(l);
}

/* True when l starts with one of keys followed by optional space and ':'. */
static bool key_is(struct line l, const char *const *keys)
{
    l = unbold(l);
    for (size_t i = 0; keys[i]; i++) {
        size_t k = strlen(keys[i]);
        if (l.n <= k || strncasecmp(l.p, keys[i], k) != 0)
            continue;
        struct line r = {l.p + k, l.n - k};
        size_t w;
        while (r.n && (w = ws_len(r.p, r.n)) > 0)
            r.p += w, r.n -= w;
        while (r.n && r.p[0] == '*')
            r.p++, r.n--;
        if (r.n && (r.p[0] == ':' ||
                    (r.n >= 3 && memcmp(r.p, "\xEF\xBC\x9A", 3) == 0)))
            return true;
    }
    return false;
}

static const char *const K_FROM[] = {"From", "De", "Từ", "发件人", "寄件者",
    "寄件人", "Von", "Da", "Van", NULL};
static const char *const K_SENT[] = {"Sent", "Date", "Enviado", "Fecha",
    "Envoyé", "Enviada em", "Data", "Đã gửi", "Ngày", "发送时间", "日期",
    "時間", "寄件日期", "Gesendet", "Datum", "Inviato", NULL};
static const char *const K_TO[] = {"To", "Para", "À", "A", "Đến", "Tới",
    "收件人", "收件者", "An", "Aan", NULL};
static const char *const K_SUBJ[] = {"Subject", "Asunto", "Objet",
    "Assunto", "Chủ đề", "Tiêu đề", "主题", "主旨", "Betreff", "Oggetto",
    "Onderwerp", NULL};
static const char *const K_CC[] = {"Cc", "CC", "抄送", "副本", NULL};

static bool header_block_at(const struct lines *ls, size_t i)
{
    if (quoted(ls->v[i]) || !key_is(ls->v[i], K_FROM))
        return false;
    int sent = 0, to = 0, subj = 0, cc = 0;
    for (size_t k = i + 1; k < ls->n && k <= i + 8; k++) {
        struct line l = ls->v[k];
        sent |= key_is(l, K_SENT);
        to |= key_is(l, K_TO);
        subj |= key_is(l, K_SUBJ);
        cc |= key_is(l, K_CC);
    }
    return sent + to + subj + cc >= 2;
}

/* Case-insensitive (ASCII) substring search. */
static bool contains(struct line l, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= l.n; i++)
        if (strncasecmp(l.p + i, needle, k) == 0)
            return true;
    return false;
}

static bool separator_at(struct line l)
{
    static const char *const dashed[] = {"original message",
        "mensaje original", "message d'origine", "message original",
        "mensagem original", "thư gốc", "原始邮件", "原始郵件",
        "forwarded message", "mensaje reenviado", "message transféré",
        "mensagem encaminhada", "thư chuyển tiếp", "转发邮件", "轉寄郵件",
        NULL};
    static const char *const plain[] = {"begin forwarded message",
        "inicio del mensaje reenviado", "comienzo del mensaje reenviado",
        "début du message réexpédié", "début du message transféré",
        "início da mensagem reencaminhada", "início da mensagem encaminhada",
        "bắt đầu thư được chuyển tiếp", "转发的邮件", NULL};
    l = trim(l);
    if (l.n < 6 || l.n > 200)
        return false;
    const char *const *set = (l.p[0] == '-' && l.p[1] == '-') ? dashed
                                                               : plain;
    for (size_t i = 0; set[i]; i++)
        if (set == plain ? (l.n >= strlen(set[i]) &&
                            strncasecmp(l.p, set[i], strlen(set[i])) == 0)
                         : contains(l, set[i]))
            return true;
    return false;
}

static bool rule_only(struct line l)
{
    l = trim(l);
    if (l.n < 3)
        return false;
    for (size_t i = 0; i < l.n; i++)
        if (l.p[i] != '_' && l.p[i] != '-' && l.p[i] != '=' && l.p[i] != '*')
            return false;
    return true;
}

/* First marker in [from, to): its line, its length and its kind. */
static enum marker find_marker(const struct lines *ls, size_t from, size_t to,
                               size_t *at, size_t *len)
{
    for (size_t i = from; i < to; i++) {
        size_t a = attribution_at(ls, i);
        if (a) {
            *at = i, *len = a;
            return M_ATTRIB;
        }
        if (separator_at(ls->v[i]) || header_block_at(ls, i)) {
            size_t s = i;
            while (s > from && blank(ls->v[s - 1]))
                s--;
            if (s > from && rule_only(ls->v[s - 1]))
                s--;
            *at = s, *len = i - s + 1;
            return M_BLOCK;
        }
    }
    return M_NONE;
}

static bool signature_at(struct line l)
{
    static const char *const sigs[] = {"sent from my ", "sent from yahoo",
        "sent from outlook", "sent from mail for windows",
        "sent from samsung", "sent from the all new aol", "sent via ",
        "sent from gmail", "get outlook for ", "enviado desde mi ",
        "enviado desde yahoo", "enviado desde outlook", "obtener outlook",
        "envoyé de mon ", "envoyé depuis ", "envoye de mon ",
        "télécharger outlook", "enviado do meu ", "enviado do yahoo",
        "enviado do outlook", "obter o outlook", "gửi từ ", "được gửi từ ",
        "发自我的", "從我的", "从我的", "發自我的", NULL};
    if (l.n >= 2 && l.p[0] == '-' && l.p[1] == '-' &&
        trim(l).n == 2 && (l.n == 2 || l.p[2] == ' '))
        return true;                /* "-- " (RFC 3676) or "--" */
    l = unbold(l);
    if (l.n > 120)
        return false;
    for (size_t i = 0; sigs[i]; i++) {
        size_t k = strlen(sigs[i]);
        if (l.n >= k && strncasecmp(l.p, sigs[i], k) == 0)
            return true;
    }
    return false;
}

/* Appends the unquoted lines of [from, to) to out (a blank per quote run). */
static void collect(const struct lines *ls, size_t from, size_t to,
                    struct lines *out)
{
    bool in_quote = false;
    for (size_t i = from; i < to; i++) {
        if (quoted(ls->v[i])) {
            in_quote = true;
            continue;
        }
        if (in_quote && out->n && !blank(out->v[out->n - 1]))
            out->v[out->n++] = (struct line){"", 0};
        in_quote = false;
        out->v[out->n++] = ls->v[i];
    }
}

/* Final layout: signature cut, trailing blanks, single blank lines. */
static char *render(struct lines *out)
{
    size_t n = out->n;
    for (size_t i = 0; i < n; i++)
        if (signature_at(out->v[i]))
            n = i;
    while (n && (blank(out->v[n - 1]) || rule_only(out->v[n - 1])))
        n--;
    size_t b = 0;
    while (b < n && blank(out->v[b]))
        b++;
    size_t total = 1;
    for (size_t i = b; i < n; i++)
        total += out->v[i].n + 1;
    char *s = bp_xmalloc(total);
    size_t o = 0;
    bool prev_blank = false;
    for (size_t i = b; i < n; i++) {
        struct line l = out->v[i];
        /* Keep leading indentation, drop trailing blanks. */
        size_t lead = (size_t)(trim(l).p - l.p);
        size_t len = blank(l) ? 0 : lead + trim(l).n;
        if (len == 0 && prev_blank)
            continue;
        prev_blank = len == 0;
        if (o)
            s[o++] = '\n';
        memcpy(s + o, l.p, len);
        o += len;
    }
    s[o] = '\0';
    return s;
}

char *bp_mime_extract_reply(const char *text)
{
    if (text == NULL)
        return bp_xstrdup("");
    struct lines ls, out;
    split(text, &ls);
    out.v = bp_xmalloc((ls.n * 2 + 1) * sizeof *out.v);
    out.n = 0;
    size_t from = 0;
    for (;;) {
        size_t at = 0, len = 0;
        enum marker mk = find_marker(&ls, from, ls.n, &at, &len);
        if (mk == M_NONE) {
            collect(&ls, from, ls.n, &out);
            break;
        }
        bool above = false;
        for (size_t i = from; i < at && !above; i++)
            above = !blank(ls.v[i]) && !quoted(ls.v[i]);
        if (above || mk == M_BLOCK) {
            collect(&ls, from, at, &out);
            break;
        }
        from = at + len;            /* bottom posting: look below */
    }
    char *s = render(&out);
    free(out.v);
    free(ls.v);
    return s;
}
