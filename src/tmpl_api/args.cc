// SPDX-License-Identifier: AGPL-3.0-or-later
/*
 * The argument set of an ICU MessageFormat pattern, for the rule "every
 * locale variant of a custom template uses exactly the arguments of its
 * source-locale variant" (the catalogue lint applies the same rule to
 * locales/NN.json in Python).  icu::MessagePattern parses the pattern; each
 * ARG_START part gives the argument's kind (plural, select... or, for a
 * simple argument, the ARG_TYPE word: number, date, time...) and the next
 * part its name.  The set is written sorted and de-duplicated so two
 * variants compare with strcmp.  C++ only because MessagePattern is a C++
 * class; the interface is C (include/bp/tmpl_api.h).
 */
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <unicode/messagepattern.h>
#include <unicode/unistr.h>

extern "C" {
#include "bp/tmpl_api.h"
}

static std::string kind_of(const icu::MessagePattern &mp, int32_t start)
{
    const icu::MessagePattern::Part &p = mp.getPart(start);
    switch (p.getArgType()) {
    case UMSGPAT_ARG_TYPE_PLURAL: return "plural";
    case UMSGPAT_ARG_TYPE_SELECT: return "select";
    case UMSGPAT_ARG_TYPE_SELECTORDINAL: return "selectordinal";
    case UMSGPAT_ARG_TYPE_CHOICE: return "choice";
    case UMSGPAT_ARG_TYPE_SIMPLE: {
        // ARG_START, ARG_NAME|ARG_NUMBER, ARG_TYPE
        if (start + 2 < mp.countParts() &&
            mp.getPart(start + 2).getType() == UMSGPAT_PART_TYPE_ARG_TYPE) {
            std::string t;
            mp.getSubstring(mp.getPart(start + 2)).toUTF8String(t);
            return t;
        }
        return "?";
    }
    default:
        return "";
    }
}

static int collect(const char *pattern, std::vector<std::string> &out,
                   struct bp_errbuf *eb)
{
    UErrorCode st = U_ZERO_ERROR;
    UParseError pe;
    icu::UnicodeString pat = icu::UnicodeString::fromUTF8(pattern);
    icu::MessagePattern mp(pat, &pe, st);

    if (U_FAILURE(st)) {
        bp_errbuf_set(eb, NULL, "syntax error at offset %d", (int)pe.offset);
        return BP_EINVAL_INPUT;
    }
    int32_t n = mp.countParts();
    for (int32_t i = 0; i + 1 < n; i++) {
        const icu::MessagePattern::Part &p = mp.getPart(i);
        if (p.getType() != UMSGPAT_PART_TYPE_ARG_START)
            continue;
        std::string name;
        mp.getSubstring(mp.getPart(i + 1)).toUTF8String(name);
        out.push_back(name + ":" + kind_of(mp, i));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return 0;
}

extern "C" int bp_tmpl_api_args(const char *pattern, char *out, size_t n,
                                struct bp_errbuf *eb)
{
    std::vector<std::string> v;
    std::string s;
    int rc;

    if (pattern == NULL || n == 0)
        return BP_EINVAL_INPUT;
    try {
        if ((rc = collect(pattern, v, eb)) < 0)
            return rc;
        for (size_t i = 0; i < v.size(); i++)
            s += (i ? "," : "") + v[i];
    } catch (...) {
        return BP_ENOMEM;
    }
    if (s.size() + 1 > n)
        return BP_ETOOBIG;
    memcpy(out, s.c_str(), s.size() + 1);
    return 0;
}
