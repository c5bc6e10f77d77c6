// SPDX-License-Identifier: AGPL-3.0-or-later
/*
 * Phone numbers to E.164 with libphonenumber (C++), behind the C function
 * bp_phone_normalize declared in include/bp/roster.h.
 *
 * Why libphonenumber: it knows every country's numbering plan, so "(201)
 * 555-0123", "201.555.0123 x45" and "+1 201 555 0123" all become
 * "+12015550123", and numbers that cannot exist (wrong length, unassigned
 * area code) are refused before an SMS provider charges for them.  It
 * cannot tell landlines from mobiles in the US (FIXED_LINE_OR_MOBILE), so
 * landlines are kept; delivery errors mark them invalid later.
 *
 * No C++ exception crosses into C: libphonenumber reports errors by return
 * value, and the std::string allocations are the only thing that can throw
 * (bad_alloc), which is caught and reported as BP_ENOMEM.
 */
#include <phonenumbers/phonenumberutil.h>

#include <cstring>
#include <string>

extern "C" {
#include "bp/roster.h"
}

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

extern "C" int bp_phone_normalize(const char *in, const char *default_region,
                                  char *out, size_t n)
{
    if (n > 0)
        out[0] = '\0';
    if (in == nullptr || default_region == nullptr || n == 0)
        return BP_EINVAL_INPUT;
    try {
        const PhoneNumberUtil *u = PhoneNumberUtil::GetInstance();
        PhoneNumber num;
        std::string e164;
        std::string region(default_region);

        for (char &c : region)
            if (c >= 'a' && c <= 'z')
                c = static_cast<char>(c - 'a' + 'A');
        if (u->Parse(in, region, &num) != PhoneNumberUtil::NO_PARSING_ERROR)
            return BP_EINVAL_INPUT;
        /* Checking the default region first is much cheaper than
         * IsValidNumber, which tries every region of the country code
         * (25 for +1) with ICU regular expressions. */
        if (!u->IsValidNumberForRegion(num, region) && !u->IsValidNumber(num))
            return BP_EINVAL_INPUT;
        num.clear_extension();
        u->Format(num, PhoneNumberUtil::E164, &e164);
        if (e164.size() + 1 > n)
            return BP_ETOOBIG;
        std::memcpy(out, e164.c_str(), e164.size() + 1);
        return 0;
    } catch (...) {
        return BP_ENOMEM;
    }
}
