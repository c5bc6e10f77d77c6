/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Save-time validation of a custom template (PUT /api/templates/<key>):
 * everything that could make a send fail is refused here, with a message
 * an admin can act on.  Each variant is compiled into a scratch catalogue
 * (locale tag, ICU syntax, named arguments, no date inside plural/select),
 * the source-locale variant ([school] default_locale) must exist, and every
 * other variant must use exactly its argument names and kinds
 * (bp_tmpl_api_args).  Missing CLDR plural categories only warn: ICU falls
 * back to "other", which reads wrong but still sends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tmpl_api_int.h"

#define MAX_VARIANTS 64
#define MAX_PATTERN 4000
#define MAX_SUBJECT 200
#define MAX_DESCRIPTION 1000

static int fail(int *status, json_t **err, int code, json_t *o)
{
    *status = code;
    *err = o;
    return BP_EINVAL_INPUT;
}

static int fail_msg(int *status, json_t **err, int code, const char *msg)
{
    return fail(status, err, code, json_pack("{s:s}", "error", msg));
}

/* The code-point offset ICU reported ("... at offset 17 near ..."), or -1. */
static long error_offset(const char *msg)
{
    const char *p = strstr(msg, "at offset ");

    return p ? strtol(p + 10, NULL, 10) : -1;
}

/* Checks one variant and adds it to the scratch catalogue and c->vars. */
static int one_variant(struct bp__tmpl_api_call *c, struct bp_tmpl_catalog *scratch,
                       const char *loc, json_t *v, int *status, json_t **err)
{
    json_t *jp = json_object_get(v, "pattern"), *js = json_object_get(v, "subject");
    struct bp_store_template_variant *out = &c->vars[c->t.nvariants];
    struct bp_errbuf eb = {{0}, {0}};
    int rc;

    if (!json_is_object(v) || !json_is_string(jp))
        return fail_msg(status, err, 400, "each variant needs a string \"pattern\"");
    if (js != NULL && !json_is_null(js) &&
        (!json_is_string(js) || json_string_length(js) > MAX_SUBJECT))
        return fail_msg(status, err, 400, "subject must be a string of at most 200 bytes");
    if (json_string_length(jp) == 0 || json_string_length(jp) > MAX_PATTERN)
        return fail_msg(status, err, 400, "pattern must be 1 to 4000 bytes");
    if (bp_tmpl_catalog_add_locale(scratch, loc, NULL, false, &eb) < 0)
        return fail(status, err, 400, json_pack("{s:s,s:s}", "error",
                    "not a usable BCP 47 language tag", "locale", loc));
    if (bp_tmpl_validate(loc, json_string_value(jp), &eb) < 0)
        return fail(status, err, 422, json_pack("{s:s,s:s,s:I}", "error", eb.msg,
                    "locale", loc, "position", (json_int_t)error_offset(eb.msg)));
    rc = bp_tmpl_catalog_add(scratch, loc, c->key, json_string_value(jp), &eb);
    if (rc == BP_EDUPLICATE)
        return fail(status, err, 400, json_pack("{s:s,s:s}", "error",
                    "locale given twice (tags are case-insensitive)", "locale", loc));
    if (rc < 0)
        return fail(status, err, 422, json_pack("{s:s,s:s,s:I}", "error", eb.msg,
                    "locale", loc, "position", (json_int_t)error_offset(eb.msg)));
    out->locale = loc;
    out->pattern = json_string_value(jp);
    out->subject = json_is_string(js) ? json_string_value(js) : NULL;
    c->t.nvariants++;
    return 0;
}

/* Every variant must use the source variant's argument set. */
static int same_args(struct bp__tmpl_api_call *c, const char *src_loc,
                     const char *src_pattern, int *status, json_t **err)
{
    char want[2048], got[2048];
    struct bp_errbuf eb = {{0}, {0}};

    if (bp_tmpl_api_args(src_pattern, want, sizeof want, &eb) < 0)
        return fail_msg(status, err, 422, "cannot read the source variant's arguments");
    for (size_t i = 0; i < c->t.nvariants; i++) {
        if (bp_tmpl_api_args(c->vars[i].pattern, got, sizeof got, &eb) < 0)
            return fail_msg(status, err, 422, "cannot read a variant's arguments");
        if (strcmp(want, got) != 0)
            return fail(status, err, 422, json_pack("{s:s,s:s,s:s,s:s,s:s}", "error",
                        "the variant's arguments differ from the source locale's",
                        "locale", c->vars[i].locale, "source_locale", src_loc,
                        "expected", want, "got", got));
    }
    return 0;
}

static int check_variants(struct bp__tmpl_api_call *c, json_t *vars,
                          struct bp_tmpl_catalog *scratch, int *status, json_t **err)
{
    const char *src = c->api->live->source_locale, *loc, *src_pattern = NULL;
    const char *src_loc = NULL;
    json_t *v;
    int rc;

    c->vars = bp_xcalloc(json_object_size(vars), sizeof *c->vars);
    json_object_foreach(vars, loc, v) {
        if ((rc = one_variant(c, scratch, loc, v, status, err)) < 0)
            return rc;
        if (strcasecmp(loc, src) == 0) {
            src_loc = loc;
            src_pattern = c->vars[c->t.nvariants - 1].pattern;
        }
    }
    if (src_pattern == NULL)
        return fail(status, err, 422, json_pack("{s:s,s:s}", "error",
                    "a variant in the source locale is required", "source_locale", src));
    if ((rc = same_args(c, src_loc, src_pattern, status, err)) < 0)
        return rc;
    c->warnings = json_array();
    for (size_t i = 0; i < c->t.nvariants; i++) {
        struct bp_errbuf eb = {{0}, {0}};
        if (bp_tmpl_check_plurals(scratch, c->vars[i].locale, c->key, &eb) < 0)
            json_array_append_new(c->warnings, json_pack("{s:s,s:s}", "locale",
                                  c->vars[i].locale, "warning", eb.msg));
    }
    return 0;
}

int bp__tmpl_api_parse_put(struct bp__tmpl_api_call *c, const char *body, size_t len,
                           int *status, json_t **err)
{
    struct bp_tmpl_catalog *scratch;
    json_t *vars, *desc;
    json_error_t jerr;
    int rc;

    c->doc = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(c->doc))
        return fail_msg(status, err, 400, "the body must be a JSON object");
    desc = json_object_get(c->doc, "description");
    if (desc != NULL && (!json_is_string(desc) ||
                         json_string_length(desc) > MAX_DESCRIPTION))
        return fail_msg(status, err, 400, "description must be a string (at most 1000 bytes)");
    vars = json_object_get(c->doc, "variants");
    if (!json_is_object(vars) || json_object_size(vars) == 0 ||
        json_object_size(vars) > MAX_VARIANTS)
        return fail_msg(status, err, 400,
                        "variants must be an object of 1 to 64 locale -> {pattern, subject}");
    scratch = bp_tmpl_catalog_new();
    rc = check_variants(c, vars, scratch, status, err);
    bp_tmpl_catalog_free(scratch);
    if (rc < 0)
        return rc;
    c->t.key = c->key;
    c->t.description = desc ? json_string_value(desc) : "";
    c->t.variants = c->vars;
    c->t.actor = "api";
    c->t.now_ms = bp_clock_now_ms();
    return 0;
}
