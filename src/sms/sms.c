/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * SMS sender on the loop: libcurl's multi-socket API driven by libuv
 * (docs/examples/multi-uv.c, with the fixes of DEPENDENCY-NOTES §2).
 *
 *   CURLMOPT_SOCKETFUNCTION -> one uv_poll_t per socket (struct sms_poll);
 *       a connection socket's handle lives as long as the socket (made in
 *       CURLOPT_OPENSOCKETFUNCTION, closed in CURLOPT_CLOSESOCKETFUNCTION
 *       before the close(2)), and CURL_POLL_REMOVE only parks it; any other
 *       socket's handle is closed on CURL_POLL_REMOVE;
 *   CURLMOPT_TIMERFUNCTION  -> one uv_timer_t; socket_action is called from
 *       the timer's callback, never from inside the timer function;
 *   uv_poll status < 0      -> CURL_CSELECT_ERR;
 *   curl_multi_info_read    -> finished transfers, classified once by
 *       bp__sms_classify (sms_twilio.c) and handed to the job's callback.
 *
 * A job waits in a FIFO until both the token bucket of the sender number
 * (one uv_timer_t when it runs dry) and the in-flight cap let it go.
 * Connections are kept alive and reused (HTTP/1.1, CURLMOPT_MAX_HOST_
 * CONNECTIONS = max_in_flight); easy handles are recycled.  Results that
 * must not be delivered from inside submit/close go through a done list
 * drained by a uv_idle_t ("kick"), so every callback is asynchronous and runs
 * exactly once.  Close: cancel in-flight and queued jobs, curl cleanup, close
 * every handle, and call the close callback from the last close_cb.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "bp/log.h"
#include "bp/sms.h"
#include "sms_int.h"
#include "sms_req.h"

static void sms_kick(struct bp_sms *s)
{
    if (!uv_is_active((uv_handle_t *)&s->kick))
        uv_idle_start(&s->kick, bp__sms_on_kick);
}

static void handle_closed(struct bp_sms *s)
{
    if (--s->open_handles > 0)
        return;
    void (*cb)(void *) = s->close_cb;
    void *arg = s->close_arg;
    free(s->url);
    if (s->curlu)
        curl_url_cleanup(s->curlu);
    if (s->auth_hdr) {
        OPENSSL_cleanse(s->auth_hdr, strlen(s->auth_hdr));
        free(s->auth_hdr);
    }
    free(s->from);
    free(s->mss);
    free(s->callback);
    free(s);
    if (cb)
        cb(arg);
}

static void on_handle_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

/* ---- curl <-> libuv ---------------------------------------------------- */

static void on_poll_closed(uv_handle_t *h)
{
    struct sms_poll *p = BP_CONTAINER_OF(h, struct sms_poll, h);
    struct bp_sms *s = p->s;
    free(p);
    handle_closed(s);
}

static void on_poll(uv_poll_t *h, int status, int events);

static void poll_close(struct sms_poll *p)
{
    struct bp_sms *s = p->s;
    if (p->prev)
        p->prev->next = p->next;
    else
        s->polls = p->next;
    if (p->next)
        p->next->prev = p->prev;
    uv_poll_stop(&p->h);
    uv_close((uv_handle_t *)&p->h, on_poll_closed);
}

/*
 * Parking.  curl says CURL_POLL_REMOVE for a kept-alive connection after
 * every transfer and CURL_POLL_IN (or OUT) again when the next one reuses
 * it.  Closing the uv_poll_t on REMOVE and making a new one for the next
 * transfer cost five system calls a send (libuv's check of a new fd: an
 * epoll ADD and DEL and an FIONBIO ioctl; then the DEL of the closed handle
 * and the ADD of the new one), and any uv_poll_start, even with unchanged
 * events, costs two (libuv forgets the registration on stop: ADD, EEXIST,
 * MOD).  A parked handle stays started for reading only, which an idle
 * connection never triggers: it costs nothing until it is reused with the
 * same events.  Should the server close or write to a parked connection,
 * the handle stops (curl finds the connection dead at its next reuse and
 * closes it through bp__sms_close_socket).  Only sockets curl opened through
 * bp__sms_open_socket are parked: curl closes others (its resolver's
 * socketpair) without telling us, and a parked handle on a closed fd would
 * be mistaken for the next socket that gets the same number.
 */
static struct sms_poll *poll_new(struct bp_sms *s, curl_socket_t fd, bool conn)
{
    struct sms_poll *p = bp_xcalloc(1, sizeof *p);
    p->s = s;
    p->fd = fd;
    p->conn = conn;
    if (uv_poll_init_socket(s->loop, &p->h, fd) != 0) {
        free(p);
        return NULL;
    }
    s->open_handles++;
    p->next = s->polls;
    if (p->next)
        p->next->prev = p;
    s->polls = p;
    return p;
}

static struct sms_poll *poll_find_conn(struct bp_sms *s, curl_socket_t fd)
{
    for (struct sms_poll *p = s->polls; p; p = p->next)
        if (p->conn && p->fd == fd)
            return p;
    return NULL;
}

static int poll_set(struct sms_poll *p, int events)
{
    if (p->events == events)
        return 0;
    if (uv_poll_start(&p->h, events, on_poll) != 0) {
        p->events = 0;
        return -1;
    }
    p->events = events;
    return 0;
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct sms_poll *p = BP_CONTAINER_OF(h, struct sms_poll, h);
    struct bp_sms *s = p->s;
    int flags = 0, running;
    if (p->parked) {             /* closed or written to by the server */
        uv_poll_stop(&p->h);
        p->events = 0;
        return;
    }
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    curl_multi_socket_action(s->multi, p->fd, flags, &running);
    bp__sms_collect(s);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct bp_sms *s = userp;
    struct sms_poll *p = socketp;
    (void)e;
    if (what == CURL_POLL_REMOVE) {
        if (p) {
            curl_multi_assign(s->multi, fd, NULL);
            if (!p->conn)
                poll_close(p);
            else {
                p->parked = true;
                if (poll_set(p, UV_READABLE) != 0)
                    uv_poll_stop(&p->h);
            }
        }
        return 0;
    }
    if (!p) {
        p = poll_find_conn(s, fd);
        if (!p && !(p = poll_new(s, fd, false)))
            return -1;
        p->parked = false;
        curl_multi_assign(s->multi, fd, p);
    }
    int ev = 0;
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    return poll_set(p, ev);
}

curl_socket_t bp__sms_open_socket(void *clientp, curlsocktype purpose,
                                  struct curl_sockaddr *a)
{
    struct bp_sms *s = clientp;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd < 0)
        return CURL_SOCKET_BAD;
    if (!poll_new(s, fd, true)) {
        close(fd);
        return CURL_SOCKET_BAD;
    }
    return fd;
}

int bp__sms_close_socket(void *clientp, curl_socket_t fd)
{
    struct sms_poll *p = poll_find_conn(clientp, fd);
    if (p)
        poll_close(p);      /* uv_close takes fd out of epoll before close(2) */
    return close(fd);
}

static void on_curl_timer(uv_timer_t *t)
{
    struct bp_sms *s = BP_CONTAINER_OF(t, struct bp_sms, curl_timer);
    int running;
    curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    bp__sms_collect(s);
}

static int on_timer_set(CURLM *m, long timeout_ms, void *userp)
{
    struct bp_sms *s = userp;
    (void)m;
    if (timeout_ms < 0)
        uv_timer_stop(&s->curl_timer);
    else
        uv_timer_start(&s->curl_timer, on_curl_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---- queue and rate limit ------------------------------------------------ */

static void on_bucket_timer(uv_timer_t *t)
{
    bp__sms_pump(BP_CONTAINER_OF(t, struct bp_sms, bucket_timer));
}

void bp__sms_pump(struct bp_sms *s)
{
    while (!s->closing && s->pend.head && s->active < s->max_in_flight) {
        if (s->rate_on) {
            uint64_t now = uv_now(s->loop);
            if (!bp__sms_bucket_take(&s->bucket, now)) {
                if (!uv_is_active((uv_handle_t *)&s->bucket_timer))
                    uv_timer_start(&s->bucket_timer, on_bucket_timer,
                                   bp__sms_bucket_wait_ms(&s->bucket, now), 0);
                return;
            }
        }
        struct sms_req *r = bp__sms_fifo_pop(&s->pend);
        bp__sms_req_start(s, r);
    }
}

/* Queues a finished request for delivery from the kick handle. */
void bp__sms_defer(struct bp_sms *s, struct sms_req *r)
{
    bp__sms_fifo_push(&s->done, r);
    sms_kick(s);
}

/* ---- struct bp_sender functions ----------------------------------------- */

static int sms_submit(void *self, struct bp_send_job *job, bp_send_done_fn cb, void *arg)
{
    struct bp_sms *s = self;
    if (s->closing)
        return BP_ECLOSED;
    struct sms_req *r = bp__sms_req_get(s);
    r->job = job;
    r->cb = cb;
    r->arg = arg;
    s->jobs++;
    if (!job || !job->to || !job->body || !job->idempotency_key ||
        strpbrk(job->idempotency_key, "\r\n") || !*job->idempotency_key) {
        memset(&r->res, 0, sizeof r->res);
        r->res.cls = BP_SEND_PERMANENT;
        snprintf(r->res.error_code, sizeof r->res.error_code, "bad_job");
        snprintf(r->res.error_detail, sizeof r->res.error_detail,
                 "job lacks to, body or a one-line idempotency key");
        bp__sms_defer(s, r);
        return 0;
    }
    bp__sms_fifo_push(&s->pend, r);
    bp__sms_pump(s);
    return 0;
}

static unsigned sms_in_flight(void *self)
{
    return ((struct bp_sms *)self)->jobs;
}

static void close_handles(struct bp_sms *s)
{
    bp__sms_cancel_all(s);
    curl_multi_cleanup(s->multi);
    s->multi = NULL;
    while (s->polls)
        poll_close(s->polls);
    bp__sms_req_free_all(s);
    uv_close((uv_handle_t *)&s->curl_timer, on_handle_closed);
    uv_close((uv_handle_t *)&s->bucket_timer, on_handle_closed);
    uv_close((uv_handle_t *)&s->kick, on_handle_closed);
}

void bp__sms_on_kick(uv_idle_t *h)
{
    struct bp_sms *s = BP_CONTAINER_OF(h, struct bp_sms, kick);
    uv_idle_stop(h);
    struct sms_req *r;
    while ((r = bp__sms_fifo_pop(&s->done)) != NULL)
        bp__sms_req_complete(s, r, &r->res);
    if (s->closing && !s->torn_down) {
        s->torn_down = true;
        close_handles(s);
    } else if (!s->closing) {
        bp__sms_pump(s);
    }
}

static void sms_close(void *self, void (*cb)(void *arg), void *arg)
{
    struct bp_sms *s = self;
    if (s->closing)
        return;
    s->closing = true;
    s->close_cb = cb;
    s->close_arg = arg;
    uv_timer_stop(&s->bucket_timer);
    sms_kick(s);
}

/* ---- creation ------------------------------------------------------------ */

static int check_opts(const struct bp_sms_opts *o, struct bp_errbuf *eb)
{
    if (!o->api_base || !*o->api_base || !o->account_sid || !*o->account_sid ||
        !o->auth_token || !*o->auth_token) {
        bp_errbuf_set(eb, "sms", "api_base, account_sid and auth_token are required");
        return BP_ECONFIG;
    }
    if ((!o->from_number || !*o->from_number) &&
        (!o->messaging_service_sid || !*o->messaging_service_sid)) {
        bp_errbuf_set(eb, "sms", "from_number or messaging_service_sid is required");
        return BP_ECONFIG;
    }
    if (strpbrk(o->account_sid, "/?#%") || o->max_in_flight == 0 || o->request_timeout_ms <= 0) {
        bp_errbuf_set(eb, "sms", "bad account_sid, max_in_flight or request_timeout");
        return BP_EINVAL_INPUT;
    }
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? bp_xstrdup(s) : NULL;
}

/* "Authorization: Basic base64(sid:token)", which CURLOPT_USERPWD made
 * again for every transfer (the pair, its base64 and the header line:
 * ~20,000 instructions a send with the user agent's line). */
static char *basic_auth_header(const char *sid, const char *token)
{
    static const char name[] = "Authorization: Basic ";
    size_t n = strlen(sid) + 1 + strlen(token);
    char *pair = bp_xmalloc(n + 1);
    snprintf(pair, n + 1, "%s:%s", sid, token);
    char *h = bp_xmalloc(sizeof name + 4 * ((n + 2) / 3));
    memcpy(h, name, sizeof name - 1);
    EVP_EncodeBlock((unsigned char *)h + sizeof name - 1, (const unsigned char *)pair, (int)n);
    OPENSSL_cleanse(pair, n);
    free(pair);
    return h;
}

static void init_multi(struct bp_sms *s)
{
    s->multi = curl_multi_init();
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, on_timer_set);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
    curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)s->max_in_flight);
    curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)s->max_in_flight);
    curl_multi_setopt(s->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
}

int bp_sms_sender_new(uv_loop_t *loop, const struct bp_sms_opts *o,
                      struct bp_sender *out, struct bp_errbuf *eb)
{
    int rc = check_opts(o, eb);
    if (rc)
        return rc;
    static uv_once_t once = UV_ONCE_INIT;
    uv_once(&once, bp__sms_global_init);
    struct bp_sms *s = bp_xcalloc(1, sizeof *s);
    s->loop = loop;
    size_t n = strlen(o->api_base) + strlen(o->account_sid) + 64;
    s->url = bp_xmalloc(n);
    snprintf(s->url, n, "%s/2010-04-01/Accounts/%s/Messages.json", o->api_base, o->account_sid);
    /* Parsed once: with a URL string curl parses it again and rebuilds
     * it for every transfer (~19,000 instructions a send by callgrind);
     * with CURLOPT_CURLU it copies the parsed handle.  A URL curl cannot
     * parse stays a string, so each request fails as it did before. */
    s->curlu = curl_url();
    if (s->curlu && curl_url_set(s->curlu, CURLUPART_URL, s->url, 0) != CURLUE_OK) {
        curl_url_cleanup(s->curlu);
        s->curlu = NULL;
    }
    s->auth_hdr = basic_auth_header(o->account_sid, o->auth_token);
    s->from = dup_or_null(o->from_number);
    s->mss = dup_or_null(o->messaging_service_sid);
    s->callback = dup_or_null(o->status_callback);
    s->max_in_flight = o->max_in_flight;
    s->timeout_ms = o->request_timeout_ms;
    s->rate_on = o->rate_per_second > 0;
    bp__sms_bucket_init(&s->bucket, o->rate_per_second, o->burst, uv_now(loop));
    init_multi(s);
    uv_timer_init(loop, &s->curl_timer);
    uv_timer_init(loop, &s->bucket_timer);
    uv_idle_init(loop, &s->kick);
    s->curl_timer.data = s->bucket_timer.data = s->kick.data = s;
    s->open_handles = 3;
    out->self = s;
    out->submit = sms_submit;
    out->in_flight = sms_in_flight;
    out->close = sms_close;
    return 0;
}
