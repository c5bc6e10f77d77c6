/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The HTML of the unsubscribe pages (include/bp/unsub.h).  Catalogue texts
 * are rendered with the school name and the address replaced by private-use
 * markers, the result is HTML-escaped, and only then are the markers
 * replaced by the escaped values inside <bdi> (an e-mail address inside
 * Arabic text keeps its own direction).  So nothing from the catalogue, the
 * configuration or the database reaches the page unescaped.  The page has
 * no script, no external resource and an inline style only (the daemon's
 * Content-Security-Policy allows exactly that).
 */
#include <string.h>

#include "bp/unsub.h"

#define MARK_SCHOOL "\xee\x80\x80"    /* U+E000 */
#define MARK_ADDR "\xee\x80\x81"      /* U+E001 */
#define MARK_LEN 3

static const char STYLE[] =
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;"
    "font-size:1.125rem;line-height:1.5;color:#1b1b1b;background:#fff;"
    "max-width:36rem;margin:2rem auto;padding:0 1rem}"
    "h1{font-size:1.5rem}"
    "button{font:inherit;padding:.6rem 1.4rem;color:#fff;background:#0b4f8a;"
    "border:2px solid #0b4f8a;border-radius:.3rem;cursor:pointer}"
    "button:focus-visible{outline:3px solid #e8a317;outline-offset:2px}";

static int escape(struct bp_buf *out, const char *s, size_t n)
{
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        switch (s[i]) {
        case '&': rc = bp_buf_appends(out, "&amp;"); break;
        case '<': rc = bp_buf_appends(out, "&lt;"); break;
        case '>': rc = bp_buf_appends(out, "&gt;"); break;
        case '"': rc = bp_buf_appends(out, "&quot;"); break;
        case '\'': rc = bp_buf_appends(out, "&#39;"); break;
        default: rc = bp_buf_append(out, s + i, 1);
        }
    }
    return rc;
}

static int escape_str(struct bp_buf *out, const char *s)
{
    return escape(out, s, strlen(s));
}

/* Appends text escaped, each marker replaced by its escaped value (inside
 * <bdi> when bdi is true). */
static int put_text(struct bp_buf *out, const char *text, const char *school,
                    const char *address, bool bdi)
{
    const char *p = text;
    int rc = 0;

    while (rc == 0 && *p) {
        const char *m = strstr(p, "\xee\x80");
        const char *v;

        if (m == NULL || (m[2] != '\x80' && m[2] != '\x81')) {
            size_t n = m ? (size_t)(m - p) + 2 : strlen(p);
            rc = escape(out, p, n);
            p += n;
            continue;
        }
        rc = escape(out, p, (size_t)(m - p));
        v = m[2] == '\x80' ? school : address;
        if (rc == 0 && bdi)
            rc = bp_buf_appends(out, "<bdi>");
        if (rc == 0)
            rc = escape_str(out, v ? v : "");
        if (rc == 0 && bdi)
            rc = bp_buf_appends(out, "</bdi>");
        p = m + MARK_LEN;
    }
    return rc;
}

static int render_key(const struct bp_tmpl_catalog *cat, const char *key,
                      const char *tag, struct bp_buf *text, struct bp_errbuf *eb)
{
    struct bp_tmpl_arg args[] = {
        BP_TMPL_ARG_STR("school", MARK_SCHOOL),
        BP_TMPL_ARG_STR("address", MARK_ADDR),
    };

    bp_buf_reset(text);
    return bp_tmpl_render(cat, key, tag, args, BP_ARRAY_LEN(args), NULL, text, eb);
}

static int put_head(struct bp_buf *out, const struct bp_tmpl_catalog *cat,
                    const char *tag, const char *title, const char *school)
{
    int rc = bp_buf_appends(out, "<!DOCTYPE html>\n<html lang=\"");

    if (rc == 0)
        rc = escape_str(out, tag);
    if (rc == 0)
        rc = bp_buf_printf(out, "\" dir=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
                           "<meta name=\"viewport\" content=\"width=device-width, "
                           "initial-scale=1\">\n<meta name=\"robots\" content=\"noindex, "
                           "nofollow\">\n<title>",
                           bp_tmpl_catalog_locale_rtl(cat, tag) ? "rtl" : "ltr");
    if (rc == 0)
        rc = put_text(out, title, school, NULL, false);
    if (rc == 0)
        rc = bp_buf_printf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n<h1>",
                           STYLE);
    if (rc == 0)
        rc = put_text(out, title, school, NULL, true);
    if (rc == 0)
        rc = bp_buf_appends(out, "</h1>\n<p>");
    return rc;
}

int bp_unsub_page_render(const struct bp_tmpl_catalog *cat, enum bp_unsub_page kind,
                         const char *locale, const char *default_locale,
                         const char *school, const char *address, struct bp_buf *out,
                         struct bp_errbuf *eb)
{
    const char *key = kind == BP_UNSUB_PAGE_CONFIRM ? "web.unsubscribe_confirm"
                      : kind == BP_UNSUB_PAGE_DONE  ? "web.unsubscribe_done"
                                                    : "web.unsubscribe_unknown";
    struct bp_buf title, text;
    enum bp_tmpl_match match;
    size_t start = out->len;
    char tag[64];
    int rc;

    rc = bp_tmpl_negotiate(cat, locale, key, default_locale, tag, sizeof tag, &match);
    if (rc < 0) {
        bp_errbuf_set(eb, key, "no catalogue entry");
        return rc;
    }
    bp_buf_init(&title, 4096);
    bp_buf_init(&text, 8192);
    if ((rc = render_key(cat, "web.unsubscribe_title", tag, &title, eb)) == 0 &&
        (rc = render_key(cat, key, tag, &text, eb)) == 0 &&
        (rc = put_head(out, cat, tag, title.data, school)) == 0 &&
        (rc = put_text(out, text.data, school, address, true)) == 0)
        rc = bp_buf_appends(out, "</p>\n");
    if (rc == 0 && kind == BP_UNSUB_PAGE_CONFIRM) {
        /* No action attribute: the form posts to the page's own URL, which
         * is right behind any reverse-proxy prefix. */
        rc = bp_buf_appends(out, "<form method=\"post\">\n<input type=\"hidden\" "
                            "name=\"List-Unsubscribe\" value=\"One-Click\">\n"
                            "<button type=\"submit\">");
        if (rc == 0 && (rc = render_key(cat, "web.unsubscribe_button", tag, &text, eb)) == 0)
            rc = put_text(out, text.data, school, address, false);
        if (rc == 0)
            rc = bp_buf_appends(out, "</button>\n</form>\n");
    }
    if (rc == 0)
        rc = bp_buf_appends(out, "</main>\n</body>\n</html>\n");
    bp_buf_free(&title);
    bp_buf_free(&text);
    if (rc < 0 && out->len > start) {
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}
