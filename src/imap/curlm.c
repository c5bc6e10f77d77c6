/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libcurl multi on the libuv loop for the IMAP poller, and runners that
 * each execute one IMAP command at a time on their own easy handle (one
 * IMAP connection each, reused between commands).
 *
 * The glue follows docs/examples/multi-uv.c with the fixes of
 * DEPENDENCY-NOTES §2 (the same shape as src/sms/sms.c):
 *   CURLMOPT_SOCKETFUNCTION -> one uv_poll_t per socket, closed on
 *       CURL_POLL_REMOVE and freed in its close callback;
 *   CURLMOPT_TIMERFUNCTION  -> one uv_timer_t; socket_action runs from the
 *       timer callback, never from inside the timer function;
 *   uv_poll status < 0      -> CURL_CSELECT_ERR;
 *   curl_multi_info_read    -> the finished command, handed to its callback.
 *
 * Why a multi handle of its own rather than the SMS sender's: the SMS glue
 * is private to src/sms/ (its life cycle is the sender's), and IMAP needs
 * exactly one connection used serially, so sharing would only couple two
 * shutdown orders.  DESIGN.md §2 wants one multi handle; merging the two
 * into a shared src/curlm/ is noted in docs/imap.md.
 *
 * Each runner (struct bp__imap_conn) reuses its easy handle for every
 * command: libcurl then keeps the IMAP connection (login, selected
 * mailbox) between commands (DEPENDENCY-NOTES §3: 50 NOOPs in 2.3 ms).
 * The poller uses one runner for control commands and a few more to fetch
 * messages in parallel.  The answer is collected into a capped buffer;
 * over the cap the write callback refuses (CURLE_WRITE_ERROR).
 *
 * Clipped lines: libcurl 7.88's line reader (pingpong.c) keeps only the
 * first 40 bytes of a response line longer than half its buffer (8 KiB by
 * default; the poller gives its control runner 128 KiB) and drops the rest without an error; it says so only in an
 * informational text ("Excessive server response line length received").
 * A clipped `* SEARCH` line silently loses UIDs (issue 5: 6,752 of 10,000
 * messages skipped), so the debug callback watches for that text and a
 * command run with BP__IMAP_STRICT whose answer was clipped fails with
 * CURLE_WEIRD_SERVER_REPLY instead of returning a mangled answer.
 */
#include <stdlib.h>
#include <string.h>

#include "imap_int.h"

struct curl_poll {
    uv_poll_t h;
    struct bp__imap_curl *c;
    curl_socket_t fd;
    struct curl_poll *prev, *next;
};

struct bp__imap_conn {
    struct bp__imap_curl *c;
    CURL *easy;
    bool running;                  /* easy is in the multi */
    bool clipped;                  /* libcurl clipped a line of this answer */
    bool strict;
    struct bp_buf resp;
    char *url;
    bp__imap_cmd_cb cb;
    void *cb_arg;
};

struct bp__imap_curl {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    struct curl_poll *polls;
    int open_handles;
    bool closing;
    size_t nconns;
    struct bp__imap_conn *conns;
    void (*done)(void *);
    void *done_arg;
};

static void handle_closed(struct bp__imap_curl *c)
{
    if (--c->open_handles > 0)
        return;
    void (*done)(void *) = c->done;
    void *arg = c->done_arg;
    for (size_t i = 0; i < c->nconns; i++) {
        bp_buf_free(&c->conns[i].resp);
        free(c->conns[i].url);
    }
    free(c->conns);
    free(c);
    if (done != NULL)
        done(arg);
}

static void on_poll_closed(uv_handle_t *h)
{
    struct curl_poll *p = BP_CONTAINER_OF((uv_poll_t *)h, struct curl_poll, h);
    struct bp__imap_curl *c = p->c;
    free(p);
    handle_closed(c);
}

static void poll_close(struct curl_poll *p)
{
    struct bp__imap_curl *c = p->c;
    if (p->prev)
        p->prev->next = p->next;
    else
        c->polls = p->next;
    if (p->next)
        p->next->prev = p->prev;
    uv_poll_stop(&p->h);
    uv_close((uv_handle_t *)&p->h, on_poll_closed);
}

/* Hands finished commands to their callbacks (loop thread, outside curl). */
static void collect(struct bp__imap_curl *c)
{
    CURLMsg *msg;
    int left;

    while (!c->closing && (msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        struct bp__imap_conn *k = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&k);
        if (k == NULL || !k->running)
            continue;
        CURLcode rc = msg->data.result;
        curl_multi_remove_handle(c->multi, k->easy);
        k->running = false;
        if (rc == CURLE_OK && k->clipped && k->strict)
            rc = CURLE_WEIRD_SERVER_REPLY;
        bp__imap_cmd_cb cb = k->cb;
        k->cb = NULL;
        if (cb != NULL)
            cb(k->cb_arg, rc, &k->resp);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct curl_poll *p = BP_CONTAINER_OF(h, struct curl_poll, h);
    struct bp__imap_curl *c = p->c;
    int flags = 0, running;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    curl_multi_socket_action(c->multi, p->fd, flags, &running);
    collect(c);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct bp__imap_curl *c = userp;
    struct curl_poll *p = socketp;
    int ev = 0;

    (void)e;
    if (what == CURL_POLL_REMOVE) {
        if (p != NULL) {
            curl_multi_assign(c->multi, fd, NULL);
            poll_close(p);
        }
        return 0;
    }
    if (p == NULL) {
        p = bp_xcalloc(1, sizeof *p);
        p->c = c;
        p->fd = fd;
        if (uv_poll_init_socket(c->loop, &p->h, fd) != 0) {
            free(p);
            return -1;
        }
        c->open_handles++;
        p->next = c->polls;
        if (p->next)
            p->next->prev = p;
        c->polls = p;
        curl_multi_assign(c->multi, fd, p);
    }
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    return uv_poll_start(&p->h, ev, on_poll) == 0 ? 0 : -1;
}

static void on_curl_timer(uv_timer_t *t)
{
    struct bp__imap_curl *c = BP_CONTAINER_OF(t, struct bp__imap_curl, timer);
    int running;

    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect(c);
}

static int on_timer_set(CURLM *m, long timeout_ms, void *userp)
{
    struct bp__imap_curl *c = userp;

    (void)m;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_curl_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static size_t on_write(char *p, size_t size, size_t n, void *userp)
{
    struct bp__imap_conn *k = userp;

    if (bp_buf_append(&k->resp, p, size * n) < 0)
        return 0;              /* over the cap: CURLE_WRITE_ERROR */
    return size * n;
}

/* Only the informational texts matter: see "Clipped lines" above. */
static int on_debug(CURL *e, curl_infotype type, char *data, size_t size, void *userp)
{
    static const char clip[] = "Excessive server response line";
    struct bp__imap_conn *k = userp;

    (void)e;
    if (type == CURLINFO_TEXT && size >= sizeof clip - 1 &&
        memcmp(data, clip, sizeof clip - 1) == 0)
        k->clipped = true;
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void conn_init(struct bp__imap_curl *c, struct bp__imap_conn *k,
                      const struct bp_imap_opts *o)
{
    static const long use_ssl[] = {
        [BP_IMAP_TLS_TRY] = CURLUSESSL_TRY,
        [BP_IMAP_TLS_NO] = CURLUSESSL_NONE,
        [BP_IMAP_TLS_REQUIRED] = CURLUSESSL_ALL,
    };

    k->c = c;
    k->easy = curl_easy_init();
    if (k->easy == NULL)
        abort();               /* out of memory (STYLE.md C3.8) */
    curl_easy_setopt(k->easy, CURLOPT_PRIVATE, (char *)k);
    curl_easy_setopt(k->easy, CURLOPT_USERNAME, o->username ? o->username : "");
    curl_easy_setopt(k->easy, CURLOPT_PASSWORD, o->password ? o->password : "");
    /* STARTTLS on imap:// as configured; the certificate and host name are
     * always verified (libcurl's defaults, never switched off) */
    curl_easy_setopt(k->easy, CURLOPT_USE_SSL, use_ssl[o->starttls]);
    if (o->ca_file != NULL && o->ca_file[0] != '\0')
        curl_easy_setopt(k->easy, CURLOPT_CAINFO, o->ca_file);
    curl_easy_setopt(k->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    /* a stalled server: less than 1 byte/s for 60 s ends the command */
    curl_easy_setopt(k->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(k->easy, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(k->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k->easy, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(k->easy, CURLOPT_WRITEDATA, k);
    /* VERBOSE only feeds on_debug (nothing is printed) */
    curl_easy_setopt(k->easy, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(k->easy, CURLOPT_DEBUGDATA, k);
    curl_easy_setopt(k->easy, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(k->easy, CURLOPT_PROTOCOLS_STR, "imap,imaps");
    bp_buf_init(&k->resp, 1024);
}

struct bp__imap_curl *bp__imap_curl_new(uv_loop_t *loop, size_t nconns,
                                        const struct bp_imap_opts *o)
{
    static uv_once_t once = UV_ONCE_INIT;
    struct bp__imap_curl *c = bp_xcalloc(1, sizeof *c);

    uv_once(&once, global_init);
    c->loop = loop;
    c->multi = curl_multi_init();
    if (c->multi == NULL)
        abort();               /* out of memory (STYLE.md C3.8) */
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer_set);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    /* one cached connection per runner: a fresh connect evicts the oldest
     * idle one, so the previous cycle's connections go away */
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)nconns);
    c->nconns = nconns;
    c->conns = bp_xcalloc(nconns, sizeof *c->conns);
    for (size_t i = 0; i < nconns; i++)
        conn_init(c, &c->conns[i], o);
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->open_handles = 1;
    return c;
}

void bp__imap_conn_set_buffer(struct bp__imap_conn *k, long bytes)
{
    curl_easy_setopt(k->easy, CURLOPT_BUFFERSIZE, bytes);
}

struct bp__imap_conn *bp__imap_curl_conn(struct bp__imap_curl *c, size_t i)
{
    return i < c->nconns ? &c->conns[i] : NULL;
}

int bp__imap_conn_run(struct bp__imap_conn *k, const char *url, const char *custom,
                      unsigned flags, size_t cap, bp__imap_cmd_cb cb, void *arg)
{
    CURLMcode mrc;

    if (k->c->closing)
        return BP_ECLOSED;
    if (k->running)
        return BP_EBUSY;
    free(k->url);
    k->url = bp_xstrdup(url);
    bp_buf_free(&k->resp);
    bp_buf_init(&k->resp, cap);
    k->clipped = false;
    k->strict = (flags & BP__IMAP_STRICT) != 0;
    curl_easy_setopt(k->easy, CURLOPT_URL, k->url);
    curl_easy_setopt(k->easy, CURLOPT_CUSTOMREQUEST, custom);
    curl_easy_setopt(k->easy, CURLOPT_FRESH_CONNECT, (flags & BP__IMAP_FRESH) ? 1L : 0L);
    k->cb = cb;
    k->cb_arg = arg;
    mrc = curl_multi_add_handle(k->c->multi, k->easy);
    if (mrc != CURLM_OK) {
        k->cb = NULL;
        return BP_EPROVIDER;
    }
    k->running = true;
    return 0;
}

int64_t bp__imap_conn_time_us(const struct bp__imap_conn *k)
{
    curl_off_t t = 0;

    if (k->easy != NULL)
        curl_easy_getinfo(k->easy, CURLINFO_TOTAL_TIME_T, &t);
    return (int64_t)t;
}

bool bp__imap_conn_busy(const struct bp__imap_conn *k)
{
    return k->running;
}

bool bp__imap_curl_busy(const struct bp__imap_curl *c)
{
    for (size_t i = 0; i < c->nconns; i++)
        if (c->conns[i].running)
            return true;
    return false;
}

void bp__imap_curl_close(struct bp__imap_curl *c, void (*done)(void *), void *arg)
{
    if (c->closing)
        return;
    c->closing = true;
    c->done = done;
    c->done_arg = arg;
    for (size_t i = 0; i < c->nconns; i++) {
        struct bp__imap_conn *k = &c->conns[i];
        k->cb = NULL;
        if (k->running)
            curl_multi_remove_handle(c->multi, k->easy);
        k->running = false;
        curl_easy_cleanup(k->easy);
        k->easy = NULL;
    }
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    while (c->polls != NULL)          /* sockets curl did not remove itself */
        poll_close(c->polls);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}
