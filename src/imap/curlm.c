/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libcurl multi on the libuv loop for the IMAP poller, and a runner that
 * executes one IMAP command at a time on a single easy handle.
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
 * One easy handle is reused for every command: libcurl then keeps the IMAP
 * connection (login, selected mailbox) between commands (DEPENDENCY-NOTES
 * §3: 50 NOOPs in 2.3 ms).  The answer is collected into a capped buffer;
 * over the cap the write callback refuses (CURLE_WRITE_ERROR).
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

struct bp__imap_curl {
    uv_loop_t *loop;
    CURLM *multi;
    CURL *easy;
    uv_timer_t timer;
    struct curl_poll *polls;
    int open_handles;
    bool running;                  /* easy is in the multi */
    bool closing;
    struct bp_buf resp;
    char *url;
    bp__imap_cmd_cb cb;
    void *cb_arg;
    void (*done)(void *);
    void *done_arg;
};

static void handle_closed(struct bp__imap_curl *c)
{
    if (--c->open_handles > 0)
        return;
    void (*done)(void *) = c->done;
    void *arg = c->done_arg;
    bp_buf_free(&c->resp);
    free(c->url);
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

/* Hands a finished command to its callback (loop thread, outside curl). */
static void collect(struct bp__imap_curl *c)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE || msg->easy_handle != c->easy)
            continue;
        CURLcode rc = msg->data.result;
        curl_multi_remove_handle(c->multi, c->easy);
        c->running = false;
        bp__imap_cmd_cb cb = c->cb;
        c->cb = NULL;
        if (cb != NULL)
            cb(c->cb_arg, rc, &c->resp);
        if (c->closing)
            return;
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
    struct bp__imap_curl *c = userp;

    if (bp_buf_append(&c->resp, p, size * n) < 0)
        return 0;              /* over the cap: CURLE_WRITE_ERROR */
    return size * n;
}

static void on_timer_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct bp__imap_curl *bp__imap_curl_new(uv_loop_t *loop, const char *user,
                                        const char *password)
{
    static uv_once_t once = UV_ONCE_INIT;
    struct bp__imap_curl *c = bp_xcalloc(1, sizeof *c);

    uv_once(&once, global_init);
    c->loop = loop;
    c->multi = curl_multi_init();
    c->easy = curl_easy_init();
    if (c->multi == NULL || c->easy == NULL)
        abort();               /* out of memory (STYLE.md C3.8) */
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer_set);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 1L);
    curl_easy_setopt(c->easy, CURLOPT_USERNAME, user ? user : "");
    curl_easy_setopt(c->easy, CURLOPT_PASSWORD, password ? password : "");
    curl_easy_setopt(c->easy, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    /* a stalled server: less than 1 byte/s for 60 s ends the command */
    curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "imap,imaps");
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->open_handles = 1;
    bp_buf_init(&c->resp, 1024);
    return c;
}

int bp__imap_curl_run(struct bp__imap_curl *c, const char *url,
                      const char *custom, bool fresh, size_t cap,
                      bp__imap_cmd_cb cb, void *arg)
{
    CURLMcode mrc;

    if (c->closing)
        return BP_ECLOSED;
    if (c->running)
        return BP_EBUSY;
    free(c->url);
    c->url = bp_xstrdup(url);
    bp_buf_free(&c->resp);
    bp_buf_init(&c->resp, cap);
    curl_easy_setopt(c->easy, CURLOPT_URL, c->url);
    curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, custom);
    curl_easy_setopt(c->easy, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L);
    c->cb = cb;
    c->cb_arg = arg;
    mrc = curl_multi_add_handle(c->multi, c->easy);
    if (mrc != CURLM_OK) {
        c->cb = NULL;
        return BP_EPROVIDER;
    }
    c->running = true;
    return 0;
}

bool bp__imap_curl_busy(const struct bp__imap_curl *c)
{
    return c->running;
}

void bp__imap_curl_close(struct bp__imap_curl *c, void (*done)(void *), void *arg)
{
    if (c->closing)
        return;
    c->closing = true;
    c->done = done;
    c->done_arg = arg;
    c->cb = NULL;
    if (c->running)
        curl_multi_remove_handle(c->multi, c->easy);
    c->running = false;
    curl_easy_cleanup(c->easy);
    c->easy = NULL;
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    while (c->polls != NULL)          /* sockets curl did not remove itself */
        poll_close(c->polls);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}
