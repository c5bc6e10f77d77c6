/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A guardian record: its row, its contacts and their links.
 *
 * Contacts are unique addresses (table contact): a phone shared by two
 * guardians of one household is one contact linked to both, so an opt-out
 * by text holds for both.  A value that does not normalise is dropped and
 * reported, and the guardian is still imported with what remains; a
 * guardian left with no usable contact at all is rejected.  When the roster
 * changes a guardian's phone, the link to the old contact is removed but
 * the contact row stays: its opt-out history is a legal record.
 *
 * The home language is never guessed: an empty value means the school's
 * own language (o->default_locale); a value we cannot map is stored as
 * "und", which later outbound logic holds for review instead of sending
 * English to a family that may not read it.
 */
#include <stdio.h>
#include <string.h>

#include "bp/base.h"
#include "roster_int.h"

struct contact_set {
    int64_t ids[3];
    int n;
    bool has_sms, has_email;
};

static int contact(struct bp__roster_ctx *c, const char *kind,
                   const char *addr, struct contact_set *cs)
{
    char key[300];
    struct bp__roster_ent *e;
    bool created;
    int rc;

    snprintf(key, sizeof key, "%s:%s", kind, addr);
    e = bp__roster_map_put(&c->contacts, &c->arena, key, &created);
    if (!(e->flags & BP__ROSTER_EXISTED) && e->id == 0) {
        rc = bp_store_roster_contact_insert(c->s, kind, addr, c->now, &e->id);
        if (rc < 0)
            return rc;
    }
    if (!(e->flags & BP__ROSTER_SEEN)) {
        e->flags |= BP__ROSTER_SEEN;
        c->sum->contacts[e->flags & BP__ROSTER_EXISTED ? BP_ROSTER_UNCHANGED
                                                        : BP_ROSTER_CREATED]++;
    }
    for (int i = 0; i < cs->n; i++)
        if (cs->ids[i] == e->id)
            return 0;
    cs->ids[cs->n++] = e->id;
    return 0;
}

/* bp_phone_normalize with a cache keyed by the raw text: libphonenumber
 * costs tens of microseconds a number (ICU regular expressions), and the
 * guardians of one household usually carry the same phone. */
static int phone(struct bp__roster_ctx *c, const char *raw, char *out,
                 size_t n)
{
    bool created;
    struct bp__roster_ent *e = bp__roster_map_put(&c->phones, &c->arena, raw,
                                                  &created);

    if (created) {
        int rc = bp_phone_normalize(raw, c->o->default_country, out, n);

        e->val = bp__roster_arena_strdup(&c->arena, rc == 0 ? out : "");
    }
    if (e->val[0] == '\0' || strlen(e->val) + 1 > n)
        return BP_EINVAL_INPUT;
    memcpy(out, e->val, strlen(e->val) + 1);
    return 0;
}

/* Normalises the raw values; fills the e164/email buffers.  Returns how
 * many usable values there are. */
static int normalise(struct bp__roster_ctx *c, long line,
                     const struct bp__roster_guardian_in *g,
                     char phones[2][32], char *email, size_t en, int *raw)
{
    int usable = 0;

    *raw = 0;
    for (int i = 0; i < 2; i++) {
        phones[i][0] = '\0';
        if (g->phones[i] == NULL || g->phones[i][0] == '\0')
            continue;
        (*raw)++;
        if (phone(c, g->phones[i], phones[i], 32) < 0) {
            bp__roster_warn(c, line, "guardian %s: phone \"%s\" is not a valid "
                            "number for %s (dropped)", g->sourced_id,
                            g->phones[i], c->o->default_country);
            phones[i][0] = '\0';
            continue;
        }
        usable++;
    }
    email[0] = '\0';
    if (g->email != NULL && g->email[0] != '\0') {
        (*raw)++;
        if (bp_email_normalize(g->email, email, en) < 0) {
            bp__roster_warn(c, line, "guardian %s: e-mail \"%s\" is not a "
                            "valid address (dropped)", g->sourced_id, g->email);
            email[0] = '\0';
        } else {
            usable++;
        }
    }
    return usable;
}

static void language(struct bp__roster_ctx *c, long line,
                     const struct bp__roster_guardian_in *g, char *out,
                     size_t n)
{
    if (g->language == NULL || g->language[0] == '\0') {
        snprintf(out, n, "%s", c->o->default_locale);
        return;
    }
    if (bp_lang_to_bcp47(g->language, out, n) < 0) {
        snprintf(out, n, "und");
        bp__roster_warn(c, line, "guardian %s: unknown language \"%s\" "
                        "(stored as und: messages are held for review)",
                        g->sourced_id, g->language);
    }
}

static const char *channel(struct bp__roster_ctx *c, long line,
                           const struct bp__roster_guardian_in *g,
                           bool has_sms, bool has_email)
{
    const char *want = g->channel ? g->channel : "";

    if (bp_str_case_eq(want, "sms") && has_sms)
        return "sms";
    if (bp_str_case_eq(want, "email") && has_email)
        return "email";
    if (want[0] != '\0' && !bp_str_case_eq(want, "sms") &&
        !bp_str_case_eq(want, "email"))
        bp__roster_warn(c, line, "guardian %s: preferred channel \"%s\" is "
                        "not sms or email (ignored)", g->sourced_id, want);
    return has_sms ? "sms" : "email";
}

int bp__roster_guardian(struct bp__roster_ctx *c, long line,
                        const struct bp__roster_guardian_in *g, int64_t *id)
{
    char phones[2][32], email[256], locale[40];
    const char *chan, *f[4];
    struct bp_store_roster_guardian r;
    struct bp__roster_ent *e;
    struct contact_set cs = {{0}, 0, false, false};
    bool created;
    int raw, rc = 0;

    if (g->deleted) {
        e = bp__roster_map_put(&c->guardians, &c->arena, g->sourced_id,
                               &created);
        e->flags |= BP__ROSTER_SEEN | BP__ROSTER_DELETED;
        if (e->flags & BP__ROSTER_EXISTED) {
            rc = bp_store_roster_guardian_unlink_students(c->s, e->id);
            if (rc < 0)
                return rc;
            c->sum->unlinked += rc;
        }
        *id = e->id;
        return 0;
    }
    if (normalise(c, line, g, phones, email, sizeof email, &raw) == 0) {
        bp__roster_reject(c, line, "guardian %s: %s", g->sourced_id,
                          raw ? "no valid phone or e-mail"
                              : "no phone or e-mail");
        return 1;
    }
    language(c, line, g, locale, sizeof locale);
    chan = channel(c, line, g, phones[0][0] || phones[1][0], email[0] != 0);
    r = (struct bp_store_roster_guardian){g->sourced_id, g->given_name,
                                          g->family_name, locale, chan};
    f[0] = r.given_name, f[1] = r.family_name, f[2] = locale, f[3] = chan;
    e = bp__roster_map_put(&c->guardians, &c->arena, g->sourced_id, &created);
    if (e->flags & BP__ROSTER_SEEN) {
        if (!c->simple) {
            bp__roster_reject(c, line, "guardian %s: duplicate sourcedId "
                              "(first seen earlier in this import)",
                              g->sourced_id);
            return 1;
        }
        *id = e->id;       /* simple CSV: same guardian, another child */
        return 0;
    }
    e->flags |= BP__ROSTER_SEEN;
    if (!(e->flags & BP__ROSTER_EXISTED)) {
        rc = bp_store_roster_guardian_insert(c->s, &r, c->now, &e->id);
        c->sum->guardians[BP_ROSTER_CREATED]++;
    } else if (e->fp != bp__roster_fp(f, 4)) {
        rc = bp_store_roster_guardian_update(c->s, e->id, &r, c->now);
        c->sum->guardians[BP_ROSTER_UPDATED]++;
    } else {
        c->sum->guardians[BP_ROSTER_UNCHANGED]++;
    }
    if (rc < 0)
        return rc;
    e->fp = bp__roster_fp(f, 4);
    for (int i = 0; i < 2 && rc >= 0; i++)
        if (phones[i][0])
            rc = contact(c, "sms", phones[i], &cs);
    if (rc >= 0 && email[0])
        rc = contact(c, "email", email, &cs);
    for (int i = 0; i < cs.n && rc >= 0; i++)
        rc = bp_store_roster_guardian_contact_link(c->s, e->id, cs.ids[i]);
    if (rc >= 0 && (e->flags & BP__ROSTER_EXISTED)) {
        rc = bp_store_roster_guardian_contact_prune(c->s, e->id, cs.ids, cs.n);
        if (rc > 0)
            c->sum->unlinked += rc;
    }
    if (rc < 0)
        return rc;
    *id = e->id;
    return 0;
}
