/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The configuration schema as data: conf_schema.def expanded into a table
 * of keys with their type, default, range, flags, help and the offset of
 * their field in struct bp_conf.  The loader, the dump and the example
 * writer all walk this one table, so they cannot disagree (STYLE.md C8).
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "conf_int.h"

const struct bp__conf_key bp__conf_keys[] = {
#define BP_CONF(sec, key, type, def, min, max, allowed, flags, help)        \
    {#sec, #key, BP__CONF_##type, def, (min), (max), allowed, (flags), help, \
     offsetof(struct bp_conf, sec##_##key)},
#include "conf_schema.def"
#undef BP_CONF
};

const int bp__conf_nkeys = (int)(sizeof bp__conf_keys / sizeof bp__conf_keys[0]);

int bp__conf_find(const char *section, const char *key)
{
    for (int i = 0; i < bp__conf_nkeys; i++)
        if (strcmp(bp__conf_keys[i].section, section) == 0 &&
            strcmp(bp__conf_keys[i].key, key) == 0)
            return i;
    return -1;
}

bool bp__conf_section_known(const char *section)
{
    for (int i = 0; i < bp__conf_nkeys; i++)
        if (strcmp(bp__conf_keys[i].section, section) == 0)
            return true;
    return false;
}

void bp__conf_env_name(const struct bp__conf_key *k, char *out, size_t n)
{
    snprintf(out, n, "BACKPACK_%s_%s", k->section, k->key);
    for (char *p = out; *p; p++)
        *p = (char)toupper((unsigned char)*p);
}

const char *bp__conf_type_name(enum bp__conf_type t)
{
    switch (t) {
    case BP__CONF_STR: return "string";
    case BP__CONF_PATH: return "path";
    case BP__CONF_SECRET: return "secret";
    case BP__CONF_ADDR: return "address";
    case BP__CONF_INT: return "integer";
    case BP__CONF_BOOL: return "boolean";
    case BP__CONF_DURATION: return "duration";
    case BP__CONF_SIZE: return "size";
    case BP__CONF_ENUM: return "one of";
    }
    return "?";
}
