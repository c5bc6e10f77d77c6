/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Machine translation of an announcement's free text (issue 6, item 7).
 *
 * Free text is written in the school's default language.  When [translate]
 * is enabled, the outbox first asks the store which guardian locales the
 * announcement reaches (bp_store_announce_locales), picks the languages
 * that need a translation (bp_outbox_mt_targets), translates the text ONCE
 * PER LANGUAGE (blocking in the CLI, on libuv's worker pool in the daemon:
 * src/outbox/api.c), and only then creates the deliveries: the render
 * callback (render.c) gives each family the text of its language.  The
 * family's copy ends with the catalogue's `note.machine_translated` in the
 * same language, so the family knows a machine wrote it; the message keeps
 * the teacher's text (original_body / original_locale, machine_translated).
 * A language whose translation failed (timeout, 5xx, garbage) -- or that
 * has no note in the catalogue -- is held no_translation: never sent
 * untranslated, never sent unmarked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bp/log.h"
#include "outbox_int.h"

#define NOTE_KEY "note.machine_translated"

void bp_outbox_mt_targets(struct bp_outbox_policy *pol, char *const *locales, size_t n)
{
    enum bp_tmpl_match m;
    char tag[36];

    if (pol->text == NULL || pol->catalog == NULL || pol->school_lang == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        bool have = false;

        if (bp_tmpl_negotiate(pol->school_lang, locales[i], NULL, pol->default_locale,
                              tag, sizeof tag, &m) < 0 ||
            m == BP_TMPL_MATCH_EXACT || m == BP_TMPL_MATCH_LANGUAGE)
            continue;               /* reads the school's language already */
        if (bp_tmpl_negotiate(pol->catalog, locales[i], NOTE_KEY, pol->default_locale,
                              tag, sizeof tag, &m) < 0 ||
            (m != BP_TMPL_MATCH_EXACT && m != BP_TMPL_MATCH_LANGUAGE))
            continue;               /* no note in that language: held */
        for (size_t j = 0; j < pol->nmt && !have; j++)
            have = bp_str_eq(pol->mt[j].locale, tag);
        if (have)
            continue;
        pol->mt = bp_xrealloc(pol->mt, (pol->nmt + 1) * sizeof *pol->mt);
        memset(&pol->mt[pol->nmt], 0, sizeof *pol->mt);
        snprintf(pol->mt[pol->nmt].locale, sizeof pol->mt[0].locale, "%s", tag);
        pol->mt[pol->nmt++].rc = BP_ETEMPFAIL;
    }
}

int bp_outbox_mt_result(struct bp_outbox_policy *pol, size_t i, int rc,
                        const char *translation, size_t len)
{
    struct bp_outbox_mt_lang *l = &pol->mt[i];
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_buf b;

    free(l->text);
    l->text = NULL;
    l->rc = rc;
    if (rc < 0)
        return 0;
    bp_buf_init(&b, 256 * 1024);
    if ((rc = bp_buf_append(&b, translation, len)) == 0 &&
        (rc = bp_buf_appends(&b, "\n\n")) == 0)
        rc = bp_tmpl_render(pol->catalog, NOTE_KEY, l->locale, NULL, 0,
                            pol->default_tz, &b, &eb);
    if (rc < 0) {
        bp_log_error("outbox", "mt_note_failed", "locale=%s err=%s", l->locale,
                     bp_err_name(rc));
        l->rc = rc;
        bp_buf_free(&b);
        return rc;
    }
    l->text = bp_xstrdup(b.data);
    bp_buf_free(&b);
    return 0;
}

void bp_outbox_mt_translate_all(struct bp_outbox_policy *pol, struct bp_mt *mt)
{
    for (size_t i = 0; i < pol->nmt && mt != NULL; i++) {
        struct bp_errbuf eb = {{0}, {0}};
        struct bp_buf out;
        int rc;

        bp_buf_init(&out, 256 * 1024);
        rc = bp_mt_translate(mt, pol->text, pol->default_locale, pol->mt[i].locale,
                             &out, &eb);
        if (bp_outbox_mt_result(pol, i, rc, out.data ? out.data : "", out.len) < 0)
            bp_log_warn("outbox", "mt_held", "locale=%s", pol->mt[i].locale);
        bp_buf_free(&out);
    }
}

const char *bp__outbox_mt_text(const struct bp_outbox_policy *pol, const char *locale)
{
    for (size_t i = 0; i < pol->nmt; i++)
        if (pol->mt[i].rc == 0 && bp_str_eq(pol->mt[i].locale, locale))
            return pol->mt[i].text;
    return NULL;
}
