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

/*
 * HMAC-SHA1 with one context kept keyed: EVP_MAC_init with a NULL key
 * starts a new MAC with the key already set, so a request pays for neither
 * fetching SHA-1, nor hashing the key, nor allocating and cleansing a
 * context (together 40% of the loop thread's instructions per webhook,
 * callgrind).  The context is re-keyed when the token changes; the mutex
 * keeps it correct should two threads verify at once.  The keyed context
 * lives until the process exits, like the token in the configuration.
 */
static struct {
    pthread_mutex_t mu;
    EVP_MAC *impl;
    EVP_MAC_CTX *ctx;
    char *key;                       /* the key set in ctx, or NULL */
    size_t klen;
} hmac = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, NULL, 0};

/* Keys the context with key unless it already has it.  Under hmac.mu. */
static bool hmac_key(const char *key)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0),
        OSSL_PARAM_construct_end(),
    };
    size_t klen = strlen(key);

    if (hmac.key != NULL && hmac.klen == klen && CRYPTO_memcmp(hmac.key, key, klen) == 0)
        return EVP_MAC_init(hmac.ctx, NULL, 0, NULL) == 1;
    if (hmac.key != NULL) {
        OPENSSL_cleanse(hmac.key, hmac.klen);
        free(hmac.key);
        hmac.key = NULL;
    }
    if (hmac.impl == NULL && (hmac.impl = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
        return false;
    if (hmac.ctx == NULL && (hmac.ctx = EVP_MAC_CTX_new(hmac.impl)) == NULL)
        return false;
    if (EVP_MAC_init(hmac.ctx, (const unsigned char *)key, klen, params) != 1)
        return false;
    hmac.key = bp_xstrdup(key);
    hmac.klen = klen;
    return true;
}

static size_t hmac_sha1(const char *key, const char *data, size_t n,
                        unsigned char *mac, size_t cap)
{
    size_t len = 0;

    pthread_mutex_lock(&hmac.mu);
    if (!hmac_key(key) ||
        EVP_MAC_update(hmac.ctx, (const unsigned char *)data, n) != 1 ||
        EVP_MAC_final(hmac.ctx, mac, &len, cap) != 1)
        len = 0;
    pthread_mutex_unlock(&hmac.mu);
    return len;
}

/* Sorted fields and the signed text: on the stack for a usual webhook. */
#define SIG_STACK_FIELDS 64
#define SIG_STACK_TEXT 4096

void bp_twilio_signature(const char *token, const char *url,
                         const struct bp_form *form, char out[29])
{
    const struct bp_form_field *sorted_st[SIG_STACK_FIELDS], **sorted = sorted_st;
    unsigned char mac[EVP_MAX_MD_SIZE];
    char text_st[SIG_STACK_TEXT], *text = text_st;
    size_t maclen, need = strlen(url), off;

    if (form->n > SIG_STACK_FIELDS)
        sorted = bp_xcalloc(form->n, sizeof *sorted);
    for (size_t i = 0; i < form->n; i++) {
        sorted[i] = &form->fields[i];
        need += strlen(form->fields[i].name) + strlen(form->fields[i].value);
    }
    qsort(sorted, form->n, sizeof *sorted, cmp_field);
    if (need >= SIG_STACK_TEXT)
        text = bp_xmalloc(need + 1);
    off = strlen(url);
    memcpy(text, url, off);
    for (size_t i = 0; i < form->n; i++) {
        size_t nl, vl;
        if (i > 0 && cmp_field(&sorted[i - 1], &sorted[i]) == 0)
            continue;       /* a repeated name+value counts once */
        nl = strlen(sorted[i]->name);
        vl = strlen(sorted[i]->value);
        memcpy(text + off, sorted[i]->name, nl);
        memcpy(text + off + nl, sorted[i]->value, vl);
        off += nl + vl;
    }
    maclen = hmac_sha1(token, text, off, mac, sizeof mac);
    if (sorted != sorted_st)
        free(sorted);
    if (text != text_st)
        free(text);
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
