// SPDX-License-Identifier: AGPL-3.0-or-later
/*
 * The one C++ file of Backpack's template module: a thin wrapper around
 * icu::MessageFormat so that patterns can use NAMED arguments
 * ({student}, {count, plural, ...}).  ICU's C API (umsg_*) only binds
 * numbered arguments and silently prints "{count}" for named ones
 * (DEPENDENCY-NOTES §5), so this is the accepted way.
 *
 * Compile (load/save time): the pattern is parsed twice, once with
 * icu::MessagePattern to enforce our rules (named arguments only; no
 * date/time argument nested in plural/select, because only top-level
 * sub-formats can be given a time zone) and to learn the argument names,
 * and once with icu::MessageFormat for ICU's own checks (unknown styles,
 * bad skeletons).  Errors carry the code-point offset of the fault.
 *
 * Format (send time, any thread): ICU documents MessageFormat::format as
 * const, but the object lazily builds default sub-formatters and an alias
 * table inside itself, so one object must not be used by two threads at
 * once.  Each compiled pattern therefore owns a pool of clones: a render
 * pops one under a mutex (or clones the prototype when the pool is empty),
 * sets the time zone of its date/time sub-formats if it differs from the
 * last use, formats, and pushes it back.  The pool never holds more clones
 * than the number of threads that rendered at once.  Measured cost: see
 * docs/locales.md (tests/bench/tmpl_render).
 *
 * Dates and money passed to an UNTYPED placeholder ({date}) would be
 * formatted by ICU's hidden default formatter in the process time zone;
 * they are pre-formatted here (medium date / short time, currency style)
 * in the requested zone and passed as strings instead.
 */
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include <unicode/curramt.h>
#include <unicode/datefmt.h>
#include <unicode/fmtable.h>
#include <unicode/locid.h>
#include <unicode/messagepattern.h>
#include <unicode/msgfmt.h>
#include <unicode/numfmt.h>
#include <unicode/plurrule.h>
#include <unicode/timezone.h>
#include <unicode/unistr.h>

#include "tmpl_int.h"

namespace {

struct pooled {
    icu::MessageFormat *mf;
    std::string tz;            // zone last set on its date sub-formats
};

struct argname {
    std::string name;
    bool untyped;              // appears at least once as plain {name}
};

}  // namespace

struct bp__tmpl_fmt {
    icu::Locale locale;
    std::unique_ptr<icu::MessageFormat> proto;
    std::vector<argname> args;
    bool has_dates = false;    // typed date/time sub-formats exist
    std::mutex mu;
    std::vector<pooled> pool;
};

static void set_pattern_error(struct bp_errbuf *eb, const icu::UnicodeString &pat,
                              int32_t idx, const char *what)
{
    if (idx < 0)
        idx = 0;
    if (idx > pat.length())
        idx = pat.length();
    int32_t cp = pat.countChar32(0, idx);
    int32_t from = idx >= 12 ? idx - 12 : 0;
    std::string near;
    pat.tempSubStringBetween(from, idx + 12 < pat.length() ? idx + 12 : pat.length())
        .toUTF8String(near);
    bp_errbuf_set(eb, NULL, "%s at offset %d near '%s'", what, (int)cp, near.c_str());
}

static bool is_date_type(const icu::UnicodeString &t)
{
    return t == icu::UnicodeString(u"date") || t == icu::UnicodeString(u"time");
}

// Walks the parsed pattern: names, numbered args, nested dates.
static int check_parts(const icu::MessagePattern &mp, const icu::UnicodeString &pat,
                       struct bp__tmpl_fmt *f, struct bp_errbuf *eb)
{
    std::vector<UMessagePatternArgType> stack;
    UMessagePatternArgType pending = UMSGPAT_ARG_TYPE_NONE;
    int32_t n = mp.countParts();
    for (int32_t i = 0; i < n; i++) {
        const icu::MessagePattern::Part &p = mp.getPart(i);
        switch (p.getType()) {
        case UMSGPAT_PART_TYPE_ARG_START:
            pending = p.getArgType();
            stack.push_back(pending);
            break;
        case UMSGPAT_PART_TYPE_ARG_LIMIT:
            if (!stack.empty())
                stack.pop_back();
            break;
        case UMSGPAT_PART_TYPE_ARG_NUMBER:
            set_pattern_error(eb, pat, p.getIndex(),
                              "numbered argument (use a name such as {student})");
            return BP_EINVAL_INPUT;
        case UMSGPAT_PART_TYPE_ARG_NAME: {
            std::string name;
            mp.getSubstring(p).toUTF8String(name);
            bool untyped = pending == UMSGPAT_ARG_TYPE_NONE;
            bool found = false;
            for (auto &a : f->args)
                if (a.name == name) {
                    a.untyped = a.untyped || untyped;
                    found = true;
                }
            if (!found)
                f->args.push_back({name, untyped});
            break;
        }
        case UMSGPAT_PART_TYPE_ARG_TYPE:
            if (is_date_type(mp.getSubstring(p))) {
                f->has_dates = true;
                for (size_t k = 0; k + 1 < stack.size(); k++)
                    if (stack[k] != UMSGPAT_ARG_TYPE_NONE &&
                        stack[k] != UMSGPAT_ARG_TYPE_SIMPLE) {
                        set_pattern_error(eb, pat, p.getIndex(),
                                          "date/time argument inside plural/select "
                                          "(move it outside the branch)");
                        return BP_EINVAL_INPUT;
                    }
            }
            break;
        default:
            break;
        }
    }
    return 0;
}

static int compile(const char *icu_locale, const char *pattern,
                   struct bp__tmpl_fmt *f, struct bp_errbuf *eb)
{
    if (!bp_utf8_valid(pattern, strlen(pattern))) {
        bp_errbuf_set(eb, NULL, "pattern is not valid UTF-8");
        return BP_EINVAL_INPUT;
    }
    icu::UnicodeString pat = icu::UnicodeString::fromUTF8(pattern);
    UParseError pe{};
    UErrorCode st = U_ZERO_ERROR;
    icu::MessagePattern mp(pat, &pe, st);
    if (U_FAILURE(st)) {
        set_pattern_error(eb, pat, pe.offset, u_errorName(st));
        return BP_EINVAL_INPUT;
    }
    int rc = check_parts(mp, pat, f, eb);
    if (rc < 0)
        return rc;
    f->locale = icu::Locale::createCanonical(icu_locale);
    if (f->locale.isBogus()) {
        bp_errbuf_set(eb, NULL, "bad ICU locale '%s'", icu_locale);
        return BP_EINVAL_INPUT;
    }
    pe = UParseError{};
    f->proto.reset(new icu::MessageFormat(pat, f->locale, pe, st));
    if (U_FAILURE(st)) {
        set_pattern_error(eb, pat, pe.offset, u_errorName(st));
        return BP_EINVAL_INPUT;
    }
    return 0;
}

extern "C" int bp__tmpl_fmt_compile(const char *icu_locale, const char *pattern,
                                    struct bp__tmpl_fmt **out, struct bp_errbuf *eb)
{
    *out = nullptr;
    try {
        std::unique_ptr<bp__tmpl_fmt> f(new bp__tmpl_fmt());
        int rc = compile(icu_locale, pattern, f.get(), eb);
        if (rc < 0)
            return rc;
        *out = f.release();
        return 0;
    } catch (const std::bad_alloc &) {
        return BP_ENOMEM;
    }
}

extern "C" void bp__tmpl_fmt_free(struct bp__tmpl_fmt *f)
{
    if (f == nullptr)
        return;
    for (auto &p : f->pool)
        delete p.mf;
    delete f;
}

static icu::TimeZone *open_zone(const char *tz, struct bp_errbuf *eb)
{
    icu::TimeZone *z = icu::TimeZone::createTimeZone(
        icu::UnicodeString::fromUTF8(tz ? tz : "UTC"));
    if (z == nullptr || *z == icu::TimeZone::getUnknown()) {
        delete z;
        bp_errbuf_set(eb, NULL, "unknown time zone '%s'", tz);
        return nullptr;
    }
    return z;
}

// Pre-formats a date or money value for an untyped placeholder.
static int preformat(const bp__tmpl_fmt *f, const struct bp_tmpl_arg *a,
                     const icu::TimeZone *zone, icu::Formattable &out)
{
    icu::UnicodeString s;
    UErrorCode st = U_ZERO_ERROR;
    if (a->type == BP_TMPL_DATE) {
        std::unique_ptr<icu::DateFormat> df(icu::DateFormat::createDateTimeInstance(
            icu::DateFormat::kMedium, icu::DateFormat::kShort, f->locale));
        if (!df)
            return BP_ENOMEM;
        df->setTimeZone(*zone);
        df->format((UDate)a->v.epoch_ms, s);
    } else {
        std::unique_ptr<icu::NumberFormat> nf(
            icu::NumberFormat::createCurrencyInstance(f->locale, st));
        if (U_FAILURE(st))
            return BP_EINVAL_INPUT;
        icu::UnicodeString cur(a->v.money.currency, -1, US_INV);
        nf->setCurrency(cur.getTerminatedBuffer(), st);
        if (U_FAILURE(st))
            return BP_EINVAL_INPUT;
        nf->format(a->v.money.amount, s);
    }
    out.setString(s);
    return 0;
}

static bool currency_ok(const char *c)
{
    for (int i = 0; i < 3; i++)
        if (c[i] < 'A' || c[i] > 'Z')
            return false;
    return c[3] == '\0';
}

// Fills names/values for every argument the pattern uses.
static int bind_args(const bp__tmpl_fmt *f, const struct bp_tmpl_arg *args, size_t nargs,
                     std::unique_ptr<icu::TimeZone> &zone, const std::string &zone_id,
                     icu::UnicodeString *names, icu::Formattable *vals,
                     struct bp_errbuf *eb)
{
    for (size_t i = 0; i < f->args.size(); i++) {
        const argname &an = f->args[i];
        const struct bp_tmpl_arg *a = nullptr;
        for (size_t k = 0; k < nargs && a == nullptr; k++)
            if (args[k].name != nullptr && an.name == args[k].name)
                a = &args[k];
        if (a == nullptr) {
            bp_errbuf_set(eb, NULL, "missing argument '%s'", an.name.c_str());
            return BP_EINVAL_INPUT;
        }
        names[i] = icu::UnicodeString::fromUTF8(an.name);
        UErrorCode st = U_ZERO_ERROR;
        switch (a->type) {
        case BP_TMPL_STR:
            vals[i].setString(icu::UnicodeString::fromUTF8(a->v.str ? a->v.str : ""));
            break;
        case BP_TMPL_INT:
            vals[i].setInt64(a->v.i64);
            break;
        case BP_TMPL_DOUBLE:
            vals[i].setDouble(a->v.num);
            break;
        case BP_TMPL_DATE:
            if (an.untyped) {
                if (!zone)
                    zone.reset(open_zone(zone_id.c_str(), eb));
                if (!zone)
                    return BP_EINVAL_INPUT;
                if (preformat(f, a, zone.get(), vals[i]) < 0)
                    return BP_ENOMEM;
            } else {
                vals[i].setDate((UDate)a->v.epoch_ms);
            }
            break;
        case BP_TMPL_MONEY: {
            if (!currency_ok(a->v.money.currency)) {
                bp_errbuf_set(eb, NULL, "argument '%s': bad currency code",
                              an.name.c_str());
                return BP_EINVAL_INPUT;
            }
            if (an.untyped) {
                if (preformat(f, a, zone.get(), vals[i]) < 0)
                    return BP_EINVAL_INPUT;
                break;
            }
            icu::UnicodeString cur(a->v.money.currency, -1, US_INV);
            icu::CurrencyAmount *ca =
                new icu::CurrencyAmount(a->v.money.amount, cur.getTerminatedBuffer(), st);
            if (U_FAILURE(st)) {
                delete ca;
                bp_errbuf_set(eb, NULL, "argument '%s': bad currency", an.name.c_str());
                return BP_EINVAL_INPUT;
            }
            vals[i].adoptObject(ca);
            break;
        }
        default:
            bp_errbuf_set(eb, NULL, "argument '%s': bad type", an.name.c_str());
            return BP_EINVAL_INPUT;
        }
    }
    return 0;
}

static pooled take_clone(bp__tmpl_fmt *f)
{
    {
        std::lock_guard<std::mutex> g(f->mu);
        if (!f->pool.empty()) {
            pooled p = f->pool.back();
            f->pool.pop_back();
            return p;
        }
    }
    return pooled{f->proto->clone(), std::string()};
}

static void give_back(bp__tmpl_fmt *f, pooled p)
{
    std::lock_guard<std::mutex> g(f->mu);
    f->pool.push_back(p);
}

static void set_zone(pooled &p, const icu::TimeZone &zone, const std::string &id)
{
    int32_t n = 0;
    const icu::Format **fmts = p.mf->getFormats(n);
    for (int32_t i = 0; fmts != nullptr && i < n; i++) {
        const icu::DateFormat *df = dynamic_cast<const icu::DateFormat *>(fmts[i]);
        if (df != nullptr)
            const_cast<icu::DateFormat *>(df)->setTimeZone(zone);
    }
    p.tz = id;
}

static int format(bp__tmpl_fmt *f, const struct bp_tmpl_arg *args, size_t nargs,
                  const char *tz, struct bp_buf *out, struct bp_errbuf *eb)
{
    std::string zone_id(tz ? tz : "UTC");
    std::unique_ptr<icu::TimeZone> zone;
    // Opening a zone costs microseconds: only when a clone needs a new one
    // or an untyped date/money must be pre-formatted.
    pooled p = take_clone(f);
    if (p.mf == nullptr)
        return BP_ENOMEM;
    if (f->has_dates && p.tz != zone_id) {
        zone.reset(open_zone(zone_id.c_str(), eb));
        if (!zone) {
            give_back(f, p);
            return BP_EINVAL_INPUT;
        }
    }
    size_t n = f->args.size();
    std::unique_ptr<icu::UnicodeString[]> names(new icu::UnicodeString[n ? n : 1]);
    std::unique_ptr<icu::Formattable[]> vals(new icu::Formattable[n ? n : 1]);
    int rc = bind_args(f, args, nargs, zone, zone_id, names.get(), vals.get(), eb);
    if (rc < 0) {
        give_back(f, p);
        return rc;
    }
    if (f->has_dates && p.tz != zone_id)
        set_zone(p, *zone, zone_id);
    icu::UnicodeString res;
    UErrorCode st = U_ZERO_ERROR;
    p.mf->format(names.get(), vals.get(), (int32_t)n, res, st);
    give_back(f, p);
    if (U_FAILURE(st)) {
        bp_errbuf_set(eb, NULL, "render failed: %s", u_errorName(st));
        return BP_EINVAL_INPUT;
    }
    std::string utf8;
    res.toUTF8String(utf8);
    return bp_buf_append(out, utf8.data(), utf8.size());
}

extern "C" int bp__tmpl_fmt_format(struct bp__tmpl_fmt *f, const struct bp_tmpl_arg *args,
                                   size_t nargs, const char *tz, struct bp_buf *out,
                                   struct bp_errbuf *eb)
{
    try {
        return format(f, args, nargs, tz, out, eb);
    } catch (const std::bad_alloc &) {
        return BP_ENOMEM;
    }
}

// Selectors written directly in the complex argument starting at part i.
static std::vector<std::string> selectors(const icu::MessagePattern &mp, int32_t i)
{
    std::vector<std::string> out;
    int32_t limit = mp.getLimitPartIndex(i);
    for (int32_t j = i + 1; j < limit; j++) {
        const icu::MessagePattern::Part &p = mp.getPart(j);
        if (p.getType() == UMSGPAT_PART_TYPE_ARG_SELECTOR) {
            std::string s;
            mp.getSubstring(p).toUTF8String(s);
            out.push_back(s);
        } else if (p.getType() == UMSGPAT_PART_TYPE_MSG_START) {
            j = mp.getLimitPartIndex(j);
        }
    }
    return out;
}

// Every CLDR category of the locale has a branch in every plural block.
static int check_plurals(const char *icu_locale, const char *pattern, struct bp_errbuf *eb)
{
    icu::UnicodeString pat = icu::UnicodeString::fromUTF8(pattern);
    UErrorCode st = U_ZERO_ERROR;
    UParseError pe{};
    icu::MessagePattern mp(pat, &pe, st);
    if (U_FAILURE(st)) {
        set_pattern_error(eb, pat, pe.offset, u_errorName(st));
        return BP_EINVAL_INPUT;
    }
    icu::Locale loc = icu::Locale::createCanonical(icu_locale);
    for (int32_t i = 0; i < mp.countParts(); i++) {
        const icu::MessagePattern::Part &p = mp.getPart(i);
        if (p.getType() != UMSGPAT_PART_TYPE_ARG_START ||
            (p.getArgType() != UMSGPAT_ARG_TYPE_PLURAL &&
             p.getArgType() != UMSGPAT_ARG_TYPE_SELECTORDINAL))
            continue;
        UPluralType type = p.getArgType() == UMSGPAT_ARG_TYPE_PLURAL
                               ? UPLURAL_TYPE_CARDINAL : UPLURAL_TYPE_ORDINAL;
        std::unique_ptr<icu::PluralRules> rules(
            icu::PluralRules::forLocale(loc, type, st));
        std::unique_ptr<icu::StringEnumeration> kw(
            U_SUCCESS(st) ? rules->getKeywords(st) : nullptr);
        if (U_FAILURE(st) || !kw)
            return BP_EINVAL_INPUT;
        std::vector<std::string> have = selectors(mp, i);
        const char *k;
        while ((k = kw->next(nullptr, st)) != nullptr && U_SUCCESS(st)) {
            bool found = false;
            for (const auto &h : have)
                found = found || h == k;
            if (!found) {
                std::string what = std::string("plural category '") + k +
                                   "' missing for " + icu_locale;
                set_pattern_error(eb, pat, p.getIndex(), what.c_str());
                return BP_EINVAL_INPUT;
            }
        }
    }
    return 0;
}

extern "C" int bp__tmpl_plural_check(const char *icu_locale, const char *pattern,
                                     struct bp_errbuf *eb)
{
    try {
        return check_plurals(icu_locale, pattern, eb);
    } catch (const std::bad_alloc &) {
        return BP_ENOMEM;
    }
}
