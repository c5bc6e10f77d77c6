/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * HTML mail to readable text.
 *
 * Parents' clients send HTML-only mail (Outlook desktop, some phones), and
 * the dashboard shows text.  Parsing HTML correctly is libxml2's job (its
 * HTML parser recovers from the tag soup mail clients write); this file
 * walks the resulting tree and lays out text:
 *   - head, script, style, title, template, noscript: dropped;
 *   - block elements end the current line, <p>/<h*>/<table> also leave a
 *     blank line (except Word's <p class=MsoNormal>, which are lines), <br> is a line break, <li> starts "- ", <hr> is a rule;
 *   - runs of white space collapse (except inside <pre>), &nbsp; is a space;
 *   - links keep their target: "text (url)" unless the text already is the
 *     url (mailto: and cid: are not repeated);
 *   - <blockquote> lines get "> " (one per level), so quoted history looks
 *     the same as in plain-text mail and the reply extractor needs one
 *     code path.
 * The result has no trailing spaces, at most one blank line in a row and no
 * leading/trailing blank lines.  Input must be UTF-8 (parse.c converts it
 * first); the output is sanitised to valid UTF-8 anyway.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "mime_int.h"

struct out {
    char *p;
    size_t len, alloc, cap;
    int quote;          /* blockquote depth */
    int pre;            /* inside <pre> */
    bool at_bol;        /* at the beginning of a line */
    bool space;         /* a collapsed space is pending */
    int newlines;       /* newlines pending (block boundaries) */
    bool full;
};

static void put_raw(struct out *o, const char *s, size_t n)
{
    if (o->full)
        return;
    if (o->len + n + 1 > o->cap) {
        o->full = true;
        return;
    }
    if (o->len + n + 1 > o->alloc) {
        size_t a = o->alloc ? o->alloc * 2 : 1024;
        while (a < o->len + n + 1)
            a *= 2;
        o->p = bp_xrealloc(o->p, a);
        o->alloc = a;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void flush_breaks(struct out *o)
{
    if (o->len == 0) {
        o->newlines = 0;            /* no leading blank lines */
        return;
    }
    for (int i = 0; i < o->newlines; i++) {
        if (!o->at_bol || i > 0)
            put_raw(o, "\n", 1);
        o->at_bol = true;
    }
    o->newlines = 0;
}

/* Emits visible characters (no newlines inside s unless in <pre>). */
static void put_text(struct out *o, const char *s, size_t n)
{
    if (n == 0)
        return;
    flush_breaks(o);
    if (o->at_bol) {
        for (int q = 0; q < o->quote; q++)
            put_raw(o, "> ", 2);
        o->at_bol = false;
        o->space = false;
    } else if (o->space) {
        put_raw(o, " ", 1);
    }
    o->space = false;
    put_raw(o, s, n);
}

/* Asks for at least n line ends before the next text (max 2). */
static void want_break(struct out *o, int n)
{
    if (o->newlines < n)
        o->newlines = n;
    o->space = false;
}

static void put_pre_text(struct out *o, const char *s)
{
    const char *p = s;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l)
            put_text(o, p, l);
        if (!nl)
            break;
        want_break(o, 1);
        flush_breaks(o);
        if (!o->at_bol) {
            put_raw(o, "\n", 1);
            o->at_bol = true;
        } else if (nl == p) {
            o->newlines = 0;
            put_raw(o, "\n", 1);
        }
        p = nl + 1;
    }
}

/* Collapses white space (ASCII ws and U+00A0) between words. */
static void put_flow_text(struct out *o, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t ws = 0;
        for (;;) {
            if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
                *p == '\f')
                p++, ws++;
            else if (p[0] == 0xC2 && p[1] == 0xA0)
                p += 2, ws++;
            else
                break;
        }
        if (ws && !o->at_bol)
            o->space = true;
        const unsigned char *w = p;
        while (*p && !(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
                       *p == '\f' || (p[0] == 0xC2 && p[1] == 0xA0)))
            p++;
        if (p > w)
            put_text(o, (const char *)w, (size_t)(p - w));
    }
}

static bool name_in(const char *name, const char *const *set)
{
    for (; *set; set++)
        if (strcasecmp(name, *set) == 0)
            return true;
    return false;
}

static const char *const SKIP[] = {"head", "script", "style", "title",
    "template", "noscript", "object", "iframe", "svg", "xml", NULL};
static const char *const PARA[] = {"p", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "ul", "ol", "dl", "pre", "blockquote", NULL};
static const char *const LINE[] = {"div", "tr", "li", "dt", "dd", "address",
    "section", "article", "header", "footer", "center", "form", "fieldset",
    "figure", "main", "nav", "aside", "caption", "body", "html", NULL};

static void walk(struct out *o, xmlNode *n);

/*
 * Word-generated HTML (Outlook desktop) writes every line as
 * <p class=MsoNormal> with zero margins and blank lines as empty
 * paragraphs; those <p> are lines, not paragraphs.
 */
static bool word_paragraph(xmlNode *n)
{
    xmlChar *cls = xmlGetProp(n, (const xmlChar *)"class");
    bool mso = cls && strncmp((const char *)cls, "Mso", 3) == 0;
    xmlFree(cls);
    return mso;
}

static void walk_link(struct out *o, xmlNode *n)
{
    xmlChar *href = xmlGetProp(n, (const xmlChar *)"href");
    size_t start = o->len;
    walk(o, n->children);
    if (href == NULL)
        return;
    const char *h = (const char *)href;
    const char *shown = h;
    if (strncasecmp(h, "mailto:", 7) == 0)
        shown = h + 7;
    bool skip = *h == '#' || *h == '\0' || strncasecmp(h, "cid:", 4) == 0 ||
                strncasecmp(h, "javascript:", 11) == 0;
    if (!skip && o->len > start) {
        /* The link text, without the pending space/prefix noise. */
        const char *t = o->p + start;
        while (*t == ' ' || *t == '>' || *t == '\n')
            t++;
        if (strcmp(t, shown) == 0 || strcmp(t, h) == 0)
            skip = true;
    }
    if (!skip && o->len == start) {
        put_text(o, shown, strlen(shown));     /* image-only link */
    } else if (!skip) {
        o->space = true;
        put_text(o, "(", 1);
        put_raw(o, shown, strlen(shown));
        put_raw(o, ")", 1);
    }
    xmlFree(href);
}

static void walk_element(struct out *o, xmlNode *n)
{
    const char *name = (const char *)n->name;
    if (name_in(name, SKIP))
        return;
    if (strcasecmp(name, "br") == 0) {
        if (o->at_bol && o->newlines == 0 && o->len > 0)
            o->newlines = 1;    /* <br> on an empty line: a blank line */
        if (!o->at_bol || o->newlines == 0)
            o->newlines++;
        flush_breaks(o);
        o->space = false;
        return;
    }
    if (strcasecmp(name, "hr") == 0) {
        want_break(o, 1);
        put_text(o, "---", 3);
        want_break(o, 1);
        return;
    }
    if (strcasecmp(name, "a") == 0) {
        walk_link(o, n);
        return;
    }
    bool para = name_in(name, PARA), line = name_in(name, LINE);
    bool word = para && word_paragraph(n);
    size_t start = o->len;
    if (word)
        para = false, line = true;
    /* libxml2 drops the prefix of Word's <o:p>, leaving a <p> inside a
     * <p> (impossible in real HTML): it is inline. */
    if (strcasecmp(name, "p") == 0 && n->parent &&
        n->parent->type == XML_ELEMENT_NODE && n->parent->name &&
        strcasecmp((const char *)n->parent->name, "p") == 0)
        para = line = false;
    bool quote = strcasecmp(name, "blockquote") == 0;
    bool pre = strcasecmp(name, "pre") == 0;
    if (para)
        want_break(o, 2);
    else if (line)
        want_break(o, 1);
    if (quote) {
        flush_breaks(o);
        o->quote++;
    }
    if (pre)
        o->pre++;
    if (strcasecmp(name, "li") == 0)
        put_text(o, "-", 1), o->space = true;
    if ((strcasecmp(name, "td") == 0 || strcasecmp(name, "th") == 0) &&
        !o->at_bol)
        o->space = true;
    walk(o, n->children);
    if (pre)
        o->pre--;
    if (quote) {
        want_break(o, 1);
        flush_breaks(o);
        o->quote--;
    }
    if (para || (word && o->len == start))
        want_break(o, 2);       /* an empty Word paragraph is a blank line */
    else if (line)
        want_break(o, 1);
}

static void walk(struct out *o, xmlNode *n)
{
    for (; n && !o->full; n = n->next) {
        if (n->type == XML_ELEMENT_NODE)
            walk_element(o, n);
        else if ((n->type == XML_TEXT_NODE ||
                  n->type == XML_CDATA_SECTION_NODE) && n->content) {
            if (o->pre)
                put_pre_text(o, (const char *)n->content);
            else
                put_flow_text(o, (const char *)n->content);
        }
    }
}

/* Trailing spaces off, at most one blank line, no blank lines at the ends. */
static char *tidy(const char *s, size_t n, size_t *len_out)
{
    char *out = bp_xmalloc(n + 1);
    size_t o = 0;
    int blank = 0;
    const char *p = s, *end = s + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *e = le;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e == p) {
            blank++;
        } else {
            if (o > 0)
                out[o++] = '\n';
            if (blank && o > 0)
                out[o++] = '\n';
            blank = 0;
            memcpy(out + o, p, (size_t)(e - p));
            o += (size_t)(e - p);
        }
        p = nl ? nl + 1 : end;
    }
    out[o] = '\0';
    *len_out = o;
    return out;
}

char *bp__mime_html_to_text(const char *html, size_t n, size_t cap)
{
    struct out o = {.cap = cap ? cap : 1, .at_bol = true};
    if (n > (size_t)0x7fffffff)
        n = 0x7fffffff;
    htmlDocPtr doc = htmlReadMemory(html, (int)n, NULL, "UTF-8",
        HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
        HTML_PARSE_NONET | HTML_PARSE_COMPACT);
    if (doc) {
        walk(&o, xmlDocGetRootElement(doc));
        xmlFreeDoc(doc);
    }
    size_t tl, cl;
    char *t = tidy(o.p ? o.p : "", o.len, &tl);
    free(o.p);
    char *clean = bp__mime_utf8_sanitize(t, tl, &cl);
    free(t);
    return clean;
}
