/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The table of SMS provider adapters (one file each: prov_<name>.c). */
#include <string.h>

#include "bp/base.h"
#include "bp/ingest_prov.h"

extern const struct bp_ingest_provider bp_ingest_prov_twilio;

static const struct bp_ingest_provider *const providers[] = {
    &bp_ingest_prov_twilio,
};

const struct bp_ingest_provider *bp_ingest_provider_find(const char *name)
{
    for (size_t i = 0; i < BP_ARRAY_LEN(providers); i++)
        if (strcmp(providers[i]->name, name) == 0)
            return providers[i];
    return NULL;
}
