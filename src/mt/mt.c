/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * LibreTranslate-compatible machine translation over libcurl (see
 * include/bp/mt.h for the API and the threading decision).  One easy handle
 * per request: the request is rare and short, and a fresh handle keeps
 * concurrent callers (CLI, worker pool) independent.  Classification: a
 * timeout, a connection failure, 429 and 5xx are temporary; any other
 * non-200 status and a malformed answer are permanent.  Texts never reach
 * the log (they are messages to families); only sizes, languages, status
 * and duration do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "bp/log.h"
#include "bp/mt.h"

#define MAX_ANSWER (1024 * 1024)

struct bp_mt {
    char *url;                 /* {base}/translate */
    char *api_key;
    long timeout_ms;
};

static uv_once_t curl_once = UV_ONCE_INIT;

static void init_curl(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int bp_mt_new(const struct bp_mt_opts *o, struct bp_mt **out, struct bp_errbuf *eb)
{
    struct bp_mt *mt;
    size_t n;

    *out = NULL;
    if (o->url == NULL || o->url[0] == '\0' || o->timeout_ms <= 0) {
        bp_errbuf_set(eb, "translate", "url and timeout are required");
        return BP_EINVAL_INPUT;
    }
    uv_once(&curl_once, init_curl);
    mt = bp_xcalloc(1, sizeof *mt);
    n = strlen(o->url);
    while (n > 0 && o->url[n - 1] == '/')
        n--;
    mt->url = bp_xmalloc(n + sizeof "/translate");
    memcpy(mt->url, o->url, n);
    memcpy(mt->url + n, "/translate", sizeof "/translate");
    mt->api_key = bp_xstrdup(o->api_key ? o->api_key : "");
    mt->timeout_ms = o->timeout_ms;
    *out = mt;
    return 0;
}

int bp_mt_from_conf(const struct bp_conf *conf, struct bp_mt **out,
                    struct bp_errbuf *eb)
{
    struct bp_mt_opts o = {
        .url = conf->translate_url,
        .api_key = conf->translate_api_key,
        .timeout_ms = (long)conf->translate_timeout,
    };

    *out = NULL;
    if (!conf->translate_enabled)
        return 0;
    return bp_mt_new(&o, out, eb);
}

void bp_mt_free(struct bp_mt *mt)
{
    if (mt == NULL)
        return;
    free(mt->url);
    free(mt->api_key);
    free(mt);
}

void bp_mt_lang_code(const char *tag, char *out, size_t n)
{
    char lang[12] = "";
    size_t i = 0;

    if (n == 0)
        return;
    for (; tag != NULL && tag[i] && tag[i] != '-' && tag[i] != '_' &&
           i + 1 < sizeof lang; i++)
        lang[i] = (char)((tag[i] >= 'A' && tag[i] <= 'Z') ? tag[i] + 32 : tag[i]);
    lang[i] = '\0';
    if (strcmp(lang, "zh") == 0 &&
        (strcasestr(tag, "hant") || strcasestr(tag, "-tw") || strcasestr(tag, "-hk") ||
         strcasestr(tag, "-mo")))
        snprintf(out, n, "zt");
    else if (strcmp(lang, "fil") == 0)
        snprintf(out, n, "tl");
    else
        snprintf(out, n, "%s", lang);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    struct bp_buf *b = arg;
    size_t n = size * nmemb;

    return bp_buf_append(b, p, n) == 0 ? n : 0;
}

/* The JSON request body (new string). */
static char *request_body(const struct bp_mt *mt, const char *text, const char *src,
                          const char *tgt)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "q", text, "source", src, "target", tgt,
                          "format", "text");
    char *s;

    if (o != NULL && mt->api_key[0] != '\0')
        json_object_set_new(o, "api_key", json_string(mt->api_key));
    s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

static int classify(CURLcode cc, long status, const struct bp_buf *ans,
                    struct bp_buf *out, struct bp_errbuf *eb)
{
    json_t *doc, *t;
    int rc;

    if (cc != CURLE_OK) {
        bp_errbuf_set(eb, "translate", "%s", curl_easy_strerror(cc));
        return BP_ETEMPFAIL;
    }
    if (status == 429 || status >= 500) {
        bp_errbuf_set(eb, "translate", "HTTP %ld", status);
        return BP_ETEMPFAIL;
    }
    if (status != 200) {
        bp_errbuf_set(eb, "translate", "HTTP %ld", status);
        return BP_EPERMFAIL;
    }
    doc = json_loadb(ans->data ? ans->data : "", ans->len, 0, NULL);
    t = json_object_get(doc, "translatedText");
    if (!json_is_string(t)) {
        bp_errbuf_set(eb, "translate", "answer without translatedText");
        json_decref(doc);
        return BP_EPERMFAIL;
    }
    rc = bp_buf_append(out, json_string_value(t), json_string_length(t));
    json_decref(doc);
    return rc;
}

int bp_mt_translate(struct bp_mt *mt, const char *text, const char *source,
                    const char *target, struct bp_buf *out, struct bp_errbuf *eb)
{
    char src[12], tgt[12], *body;
    struct curl_slist *hdr = NULL;
    struct bp_buf ans;
    uint64_t t0 = uv_hrtime();
    long status = 0;
    CURLcode cc;
    CURL *h;
    int rc;

    if (text == NULL || *text == '\0' || !bp_utf8_valid(text, strlen(text))) {
        bp_errbuf_set(eb, "translate", "text must be non-empty UTF-8");
        return BP_EINVAL_INPUT;
    }
    bp_mt_lang_code(source, src, sizeof src);
    bp_mt_lang_code(target, tgt, sizeof tgt);
    if ((body = request_body(mt, text, src, tgt)) == NULL || (h = curl_easy_init()) == NULL) {
        free(body);
        return BP_ENOMEM;
    }
    bp_buf_init(&ans, MAX_ANSWER);
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, "Accept: application/json");
    curl_easy_setopt(h, CURLOPT_URL, mt->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, mt->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, mt->timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ans);
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    rc = classify(cc, status, &ans, out, eb);
    if (rc == 0)
        bp_log_info("mt", "translated", "source=%s target=%s status=%ld bytes_in=%zu ms=%llu",
                    src, tgt, status, strlen(text),
                    (unsigned long long)((uv_hrtime() - t0) / 1000000));
    else
        bp_log_warn("mt", "translate_failed", "source=%s target=%s status=%ld err=%s msg=\"%s\"",
                    src, tgt, status, bp_err_name(rc), eb ? eb->msg : "");
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    bp_buf_free(&ans);
    free(body);
    return rc;
}

static void on_work(uv_work_t *w)
{
    struct bp_mt_job *j = BP_CONTAINER_OF(w, struct bp_mt_job, _work);

    j->rc = bp_mt_translate(j->_mt, j->text, j->source, j->target, &j->out, &j->eb);
}

static void on_work_done(uv_work_t *w, int status)
{
    struct bp_mt_job *j = BP_CONTAINER_OF(w, struct bp_mt_job, _work);

    if (status == UV_ECANCELED)
        j->rc = BP_ECANCELED;
    j->cb(j);
}

int bp_mt_translate_async(struct bp_mt *mt, uv_loop_t *loop, struct bp_mt_job *job)
{
    job->_mt = mt;
    job->rc = 0;
    memset(&job->eb, 0, sizeof job->eb);
    bp_buf_init(&job->out, 64 * 1024);
    return uv_queue_work(loop, &job->_work, on_work, on_work_done);
}
