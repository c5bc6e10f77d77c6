/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Twilio (and Twilio-compatible) webhooks: signature verification and the
 * fields of an incoming message and of a status callback.
 *
 * Signature (Twilio "Webhooks security"): HMAC-SHA1 keyed with the auth
 * token over the full URL the provider was told (scheme, host, port as
 * configured, path and query string) followed by every POST parameter's
 * name and value, sorted by name; base64.  Like Twilio's own helper
 * libraries we accept the URL with and without the scheme's default port
 * (Twilio may sign either form).  Repeated names (MediaUrl...) are sorted by
 * value too, and a name+value pair that repeats counts once, as twilio-node
 * does for array parameters (Array.from(new Set(values)).sort()).
 * Field names: "Receive an incoming SMS" and "Outbound message status
 * callback" in Twilio's messaging webhook documentation.
 */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bp/base.h"
#include "bp/ingest_prov.h"

static int cmp_field(const void *a, const void *b)
{
    const struct bp_form_field *x = *(const struct bp_form_field *const *)a;
    const struct bp_form_field *y = *(const struct bp_form_field *const *)b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : strcmp(x->value, y->value);
}

/* The HMAC implementation is fetched once: EVP_Q_mac fetches it on every
 * call, which was most of the cost of verifying a webhook (callgrind). */
static EVP_MAC *hmac_impl;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void fetch_hmac(void)
{
    hmac_impl = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static size_t hmac_sha1(const char *key, const struct bp_buf *data,
                        unsigned char *mac, size_t cap)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_MAC_CTX *ctx;
    size_t len = 0;

    pthread_once(&hmac_once, fetch_hmac);
    if (hmac_impl == NULL || (ctx = EVP_MAC_CTX_new(hmac_impl)) == NULL)
        return 0;
    if (EVP_MAC_init(ctx, (const unsigned char *)key, strlen(key), params) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)data->data, data->len) != 1 ||
        EVP_MAC_final(ctx, mac, &len, cap) != 1)
        len = 0;
    EVP_MAC_CTX_free(ctx);
    return len;
}

void bp_twilio_signature(const char *token, const char *url,
                         const struct bp_form *form, char out[29])
{
    const struct bp_form_field **sorted;
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t maclen;
    struct bp_buf data;

    sorted = bp_xcalloc(form->n ? form->n : 1, sizeof *sorted);
    for (size_t i = 0; i < form->n; i++)
        sorted[i] = &form->fields[i];
    qsort(sorted, form->n, sizeof *sorted, cmp_field);
    bp_buf_init(&data, SIZE_MAX / 2);
    if (bp_buf_appends(&data, url) < 0)
        abort();
    for (size_t i = 0; i < form->n; i++)
        if (i > 0 && cmp_field(&sorted[i - 1], &sorted[i]) == 0)
            continue;       /* a repeated name+value counts once */
        else if (bp_buf_appends(&data, sorted[i]->name) < 0 ||
                 bp_buf_appends(&data, sorted[i]->value) < 0)
            abort();
    free(sorted);
    maclen = hmac_sha1(token, &data, mac, sizeof mac);
    bp_buf_free(&data);
    EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
}

static bool sig_equal(const char *token, const char *url,
                      const struct bp_form *form, const char *sig)
{
    char want[29];

    bp_twilio_signature(token, url, form, want);
    return strlen(sig) == 28 && CRYPTO_memcmp(want, sig, 28) == 0;
}

/* Writes url with its default port added (or removed) into out; false when
 * there is no other form. */
static bool other_port_form(const char *url, char *out, size_t n)
{
    const char *def = NULL, *host, *end, *colon;

    if (bp_str_starts_with(url, "https://"))
        def = "443";
    else if (bp_str_starts_with(url, "http://"))
        def = "80";
    else
        return false;
    host = strstr(url, "://") + 3;
    end = host + strcspn(host, "/?#");
    colon = memchr(host, ':', (size_t)(end - host));
    if (colon == NULL) {
        snprintf(out, n, "%.*s:%s%s", (int)(end - url), url, def, end);
        return true;
    }
    if ((size_t)(end - colon - 1) == strlen(def) &&
        strncmp(colon + 1, def, strlen(def)) == 0) {
        snprintf(out, n, "%.*s%s", (int)(colon - url), url, end);
        return true;
    }
    return false;
}

static bool twilio_verify(const char *secret, const char *url,
                          const struct bp_form *form, const char *sig)
{
    char alt[2048];

    if (secret == NULL || secret[0] == '\0' || sig == NULL)
        return false;
    if (sig_equal(secret, url, form, sig))
        return true;
    return strlen(url) < sizeof alt - 8 &&
           other_port_form(url, alt, sizeof alt) &&
           sig_equal(secret, alt, form, sig);
}

static const char *required(const struct bp_form *f, const char *name,
                            struct bp_errbuf *eb, int *rc)
{
    const char *v = bp_form_get(f, name);
    if ((v == NULL || v[0] == '\0') && *rc == 0) {
        bp_errbuf_set(eb, name, "missing field %s", name);
        *rc = BP_EINVAL_INPUT;
    }
    return v;
}

static int twilio_parse_inbound(const struct bp_form *f,
                                struct bp_sms_inbound *in,
                                struct bp_errbuf *eb)
{
    const char *v;
    char name[32];
    int rc = 0;

    memset(in, 0, sizeof *in);
    in->provider_msg_id = required(f, "MessageSid", eb, &rc);
    in->account_id = required(f, "AccountSid", eb, &rc);
    in->from = required(f, "From", eb, &rc);
    in->to = required(f, "To", eb, &rc);
    if (rc < 0)
        return rc;
    in->body = (v = bp_form_get(f, "Body")) ? v : "";
    if ((v = bp_form_get(f, "NumSegments")) != NULL)
        in->num_segments = atoi(v);
    if ((v = bp_form_get(f, "NumMedia")) != NULL) {
        char *end;
        long nm = strtol(v, &end, 10);
        if (*end != '\0' || nm < 0 || nm > BP_INGEST_MAX_MEDIA) {
            bp_errbuf_set(eb, "NumMedia", "NumMedia must be 0..%d",
                          BP_INGEST_MAX_MEDIA);
            return BP_EINVAL_INPUT;
        }
        in->num_media = (int)nm;
    }
    for (int i = 0; i < in->num_media; i++) {
        snprintf(name, sizeof name, "MediaUrl%d", i);
        in->media_url[i] = required(f, name, eb, &rc);
        snprintf(name, sizeof name, "MediaContentType%d", i);
        v = bp_form_get(f, name);
        in->media_type[i] = v ? v : "application/octet-stream";
    }
    if (in->body[0] == '\0' && in->num_media == 0 && rc == 0) {
        /* An empty text is possible on some carriers; keep it, never drop. */
    }
    return rc;
}

static int twilio_parse_status(const struct bp_form *f, struct bp_sms_status *st,
                               struct bp_errbuf *eb)
{
    const char *v;
    int rc = 0;

    memset(st, 0, sizeof *st);
    st->provider_msg_id = required(f, "MessageSid", eb, &rc);
    st->account_id = required(f, "AccountSid", eb, &rc);
    st->status = bp_form_get(f, "MessageStatus");
    if (st->status == NULL)
        st->status = bp_form_get(f, "SmsStatus");
    if (st->status == NULL && rc == 0) {
        bp_errbuf_set(eb, "MessageStatus", "missing field MessageStatus");
        rc = BP_EINVAL_INPUT;
    }
    v = bp_form_get(f, "ErrorCode");
    st->error_code = (v != NULL && v[0] != '\0') ? v : NULL;
    return rc;
}

const struct bp_ingest_provider bp_ingest_prov_twilio = {
    .name = "twilio",
    .signature_header = "X-Twilio-Signature",
    .verify = twilio_verify,
    .parse_inbound = twilio_parse_inbound,
    .parse_status = twilio_parse_status,
};
