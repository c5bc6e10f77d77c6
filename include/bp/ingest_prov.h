/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * SMS provider adapters for the inbound path (STYLE.md C1: "provider
 * adapters are files plus a function table").  Adding a provider means one
 * new file src/ingest/prov_<name>.c defining a struct bp_ingest_provider and
 * one line in the table of prov.c.
 *
 * Adapters are pure: they see the public URL the provider was told, the
 * decoded form and the signature header value, and return plain structs
 * whose strings are borrowed from the form (valid until bp_form_free).
 */
#ifndef BP_INGEST_PROV_H
#define BP_INGEST_PROV_H

#include <stdbool.h>

#include "bp/ingest.h"

#define BP_INGEST_MAX_MEDIA 10

struct bp_sms_inbound {
    const char *provider_msg_id;   /* MessageSid */
    const char *account_id;        /* AccountSid */
    const char *from;              /* E.164 as the provider sends it */
    const char *to;
    const char *body;              /* "" when the message has only media */
    int num_segments;              /* 0 when unknown */
    int num_media;
    const char *media_url[BP_INGEST_MAX_MEDIA];
    const char *media_type[BP_INGEST_MAX_MEDIA];
};

struct bp_sms_status {
    const char *provider_msg_id;
    const char *account_id;
    const char *status;            /* queued|sending|sent|delivered|undelivered|failed|... */
    const char *error_code;        /* NULL when absent */
};

struct bp_ingest_provider {
    const char *name;              /* "twilio": the URL segment and message.provider */
    const char *signature_header;  /* request header carrying the signature */
    /* true when sig is valid for url + form under secret */
    bool (*verify)(const char *secret, const char *url,
                   const struct bp_form *form, const char *sig);
    /* BP_EINVAL_INPUT with a reason in eb when a required field is missing */
    int (*parse_inbound)(const struct bp_form *form, struct bp_sms_inbound *out,
                         struct bp_errbuf *eb);
    int (*parse_status)(const struct bp_form *form, struct bp_sms_status *out,
                        struct bp_errbuf *eb);
};

/* The provider named name, or NULL. */
const struct bp_ingest_provider *bp_ingest_provider_find(const char *name);

/*
 * Twilio's request signature: base64(HMAC-SHA1(token, url + for each
 * parameter sorted by name (then value): name + value)).  out must hold 29
 * bytes.  Exposed for tests and for the outbound side's callbacks.
 */
void bp_twilio_signature(const char *token, const char *url,
                         const struct bp_form *form, char out[29]);

#endif
