/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * One SMS request through libcurl: the recycled easy handle and its
 * options (HTTP/1.1, keep-alive, the URL parsed once, timeouts), the form
 * body (To, From or MessagingServiceSid, Body, StatusCallback), the header
 * lines (I-Twilio-Idempotency-Token, basic auth built once in sms.c, no
 * "Expect:"), collection of finished transfers, the
 * single place that calls a job's callback, and cancellation on close.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bp/log.h"
#include "sms_req.h"

#define SMS_REPLY_CAP (64 * 1024)
#define SMS_FORM_CAP (16 * 1024)

void bp__sms_fifo_push(struct sms_fifo *f, struct sms_req *r)
{
    r->next = NULL;
    if (f->tail)
        f->tail->next = r;
    else
        f->head = r;
    f->tail = r;
}

struct sms_req *bp__sms_fifo_pop(struct sms_fifo *f)
{
    struct sms_req *r = f->head;
    if (r) {
        f->head = r->next;
        if (!f->head)
            f->tail = NULL;
        r->next = NULL;
    }
    return r;
}

void bp__sms_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *p, size_t size, size_t n, void *userp)
{
    struct sms_req *r = userp;
    size_t len = size * n;
    /* Over the cap: keep what fits; the classification reads a prefix. */
    if (bp_buf_append(&r->reply, p, len) != 0)
        return len;
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *userp)
{
    struct sms_req *r = userp;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name && strncasecmp(p, name, sizeof name - 1) == 0) {
        size_t v = len - (sizeof name - 1);
        if (v >= sizeof r->retry_after)
            v = sizeof r->retry_after - 1;
        memcpy(r->retry_after, p + sizeof name - 1, v);
        r->retry_after[v] = '\0';
        r->retry_after[strcspn(r->retry_after, "\r\n")] = '\0';
    }
    return len;
}

static CURL *new_easy(struct bp_sms *s, struct sms_req *r)
{
    CURL *e = curl_easy_init();
    if (!e)
        abort();
    if (s->curlu)
        curl_easy_setopt(e, CURLOPT_CURLU, s->curlu);
    else
        curl_easy_setopt(e, CURLOPT_URL, s->url);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(s->timeout_ms < 10000 ? s->timeout_ms : 10000));
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_PROXY, "");   /* no proxy, and no getenv per request */
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, bp__sms_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, s);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, bp__sms_close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, s);
    return e;
}

struct sms_req *bp__sms_req_get(struct bp_sms *s)
{
    struct sms_req *r = bp__sms_fifo_pop(&s->spare);
    if (!r) {
        r = bp_xcalloc(1, sizeof *r);
        r->s = s;
        bp_buf_init(&r->form, SMS_FORM_CAP);
        bp_buf_init(&r->reply, SMS_REPLY_CAP);
    }
    return r;
}

static int build(struct bp_sms *s, struct sms_req *r)
{
    const struct bp_send_job *j = r->job;
    int rc = bp__sms_form_add(&r->form, "To", j->to);
    if (!rc)
        rc = s->mss ? bp__sms_form_add(&r->form, "MessagingServiceSid", s->mss)
                    : bp__sms_form_add(&r->form, "From", s->from);
    if (!rc)
        rc = bp__sms_form_add(&r->form, "Body", j->body);
    if (!rc && s->callback)
        rc = bp__sms_form_add(&r->form, "StatusCallback", s->callback);
    if (rc)
        return rc;
    /* The header list lives in r (curl only reads it, until the transfer
     * is removed): three curl_slist_append calls were six allocations.
     * Basic auth and the user agent are lines built once (sms.c), not
     * CURLOPT_USERPWD / CURLOPT_USERAGENT, which curl formats again for
     * every transfer. */
    static char expect[] = "Expect:", accept[] = "Accept: application/json",
                agent[] = "User-Agent: backpack-sms/1";
    snprintf(r->token_hdr, sizeof r->token_hdr, "I-Twilio-Idempotency-Token: %s",
             j->idempotency_key);
    r->hdr_nodes[0] = (struct curl_slist){r->token_hdr, &r->hdr_nodes[1]};
    r->hdr_nodes[1] = (struct curl_slist){s->auth_hdr, &r->hdr_nodes[2]};
    r->hdr_nodes[2] = (struct curl_slist){agent, &r->hdr_nodes[3]};
    r->hdr_nodes[3] = (struct curl_slist){expect, &r->hdr_nodes[4]};
    r->hdr_nodes[4] = (struct curl_slist){accept, NULL};
    r->hdrs = r->hdr_nodes;
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->form.data);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)r->form.len);
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
    return 0;
}

static void fail_now(struct bp_sms *s, struct sms_req *r, const char *code, const char *detail,
                     enum bp_send_class cls)
{
    memset(&r->res, 0, sizeof r->res);
    r->res.cls = cls;
    snprintf(r->res.error_code, sizeof r->res.error_code, "%s", code);
    snprintf(r->res.error_detail, sizeof r->res.error_detail, "%s", detail);
    bp__sms_defer(s, r);
}

void bp__sms_req_start(struct bp_sms *s, struct sms_req *r)
{
    if (!r->easy)
        r->easy = new_easy(s, r);   /* only requests on the wire own one */
    if (build(s, r) != 0) {
        fail_now(s, r, "too_big", "request body over the limit", BP_SEND_PERMANENT);
        return;
    }
    if (curl_multi_add_handle(s->multi, r->easy) != CURLM_OK) {
        fail_now(s, r, "internal", "curl_multi_add_handle failed", BP_SEND_TRANSIENT);
        return;
    }
    r->anext = s->active_list;
    r->aprev = NULL;
    if (r->anext)
        r->anext->aprev = r;
    s->active_list = r;
    s->active++;
}

static void unlink_active(struct bp_sms *s, struct sms_req *r)
{
    if (r->aprev)
        r->aprev->anext = r->anext;
    else
        s->active_list = r->anext;
    if (r->anext)
        r->anext->aprev = r->aprev;
    r->aprev = r->anext = NULL;
    s->active--;
    curl_multi_remove_handle(s->multi, r->easy);
}

/* Calls the job's callback (the only place that does) and recycles r. */
void bp__sms_req_complete(struct bp_sms *s, struct sms_req *r, const struct bp_send_result *res)
{
    struct bp_send_job *job = r->job;
    bp_send_done_fn cb = r->cb;
    void *arg = r->arg;
    struct bp_send_result copy = *res;
    r->hdrs = NULL;
    bp_buf_reset(&r->form);
    bp_buf_reset(&r->reply);
    r->retry_after[0] = '\0';
    r->job = NULL;
    bp__sms_fifo_push(&s->spare, r);
    s->jobs--;
    cb(job, &copy, arg);
}

/* The school's configuration refused (the token, the From number): said
 * once per process at error level, whichever sender thread meets it first;
 * every SMS after it would say the same until an admin fixes it. */
static atomic_bool auth_said, sender_said;

static void finish(struct bp_sms *s, struct sms_req *r, CURLcode code)
{
    long status = 0;
    struct bp_send_result res;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    unlink_active(s, r);
    bp__sms_classify((int)code, status, r->reply.data, r->reply.len,
                     r->retry_after[0] ? r->retry_after : NULL, bp_clock_now_ms(), &res);
    if (status == 401 && !atomic_exchange(&auth_said, true))
        bp_log_error("sms", "auth_failed", "status=401 code=%s", res.error_code);
    if (strcmp(res.error_code, "sender_refused") == 0 && !atomic_exchange(&sender_said, true)) {
        bp_log_error("sms", "sender_refused", "status=%ld detail=\"%s\" hint=\"check [sms]"
                     " from_number (or messaging_service_sid): the provider does not send"
                     " from it for this account\"", status, res.error_detail);
    }
    bp__sms_req_complete(s, r, &res);
}

void bp__sms_collect(struct bp_sms *s)
{
    CURLMsg *m;
    int left;
    while (s->multi && (m = curl_multi_info_read(s->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct sms_req *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        finish(s, r, m->data.result);
    }
    bp__sms_pump(s);
}

static void cancel(struct bp_sms *s, struct sms_req *r)
{
    struct bp_send_result res;
    memset(&res, 0, sizeof res);
    res.cls = BP_SEND_TRANSIENT;
    snprintf(res.error_code, sizeof res.error_code, "canceled");
    snprintf(res.error_detail, sizeof res.error_detail, "sender closed");
    bp__sms_req_complete(s, r, &res);
}

void bp__sms_cancel_all(struct bp_sms *s)
{
    struct sms_req *r;
    while ((r = s->active_list) != NULL) {
        unlink_active(s, r);
        cancel(s, r);
    }
    while ((r = bp__sms_fifo_pop(&s->pend)) != NULL)
        cancel(s, r);
    while ((r = bp__sms_fifo_pop(&s->done)) != NULL)
        bp__sms_req_complete(s, r, &r->res);
}

void bp__sms_req_free_all(struct bp_sms *s)
{
    struct sms_req *r;
    while ((r = bp__sms_fifo_pop(&s->spare)) != NULL) {
        if (r->easy)
            curl_easy_cleanup(r->easy);
        bp_buf_free(&r->form);
        bp_buf_free(&r->reply);
        free(r);
    }
}
