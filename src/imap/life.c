/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The IMAP poller's public face (include/bp/imap.h): creation from the
 * options, start, stop, free, and the counters behind /metrics and
 * /healthz.  The poll cycle itself is in poll.c and fetch.c.
 */
#include <stdlib.h>
#include <string.h>

#include "bp/log.h"
#include "imap_int.h"

const char *bp_imap_err_kind_name(enum bp_imap_err_kind k)
{
    return (unsigned)k < BP_IMAP_ERR__COUNT ? bp__imap_kind_names[k] : "?";
}

const struct bp__imap_parse_conf *bp__imap_parse_conf(const struct bp_imap *im)
{
    return &im->pc;
}

static char *lower_dup(const char *s)
{
    char *d;

    if (s == NULL || *s == '\0')
        return NULL;
    d = bp_xstrdup(s);
    for (char *p = d; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return d;
}

/* base + the mailbox percent-encoded (a mailbox "Box A" or "Ünïcode" must
 * not reach libcurl raw: it would reject or mangle the URL). */
static char *mailbox_url(const char *base, const char *mailbox)
{
    struct bp_buf b;

    bp_buf_init(&b, 16384);
    if (bp_buf_appends(&b, base) < 0 || bp__imap_url_encode(&b, mailbox) < 0) {
        bp_buf_free(&b);
        return NULL;
    }
    return bp_buf_take(&b, NULL);
}

static void init_runners(struct bp_imap *im, const struct bp_imap_opts *o)
{
    /* Two multi handles, because libcurl's connection cache belongs to the
     * multi handle: a control command sent on a non-fresh easy handle may
     * go out on any idle cached connection.  On a shared cache the SEARCH
     * after the fresh STATUS went out on an older fetch session whose view
     * did not have the newest message yet, and its UID was skipped.  Alone
     * in its cache (MAXCONNECTS 1), the control runner's SEARCH always
     * follows its STATUS on the same fresh connection. */
    im->ctl_curl = bp__imap_curl_new(im->loop, 1, o);
    im->ctl = bp__imap_curl_conn(im->ctl_curl, 0);
    bp__imap_conn_set_buffer(im->ctl, BP__IMAP_CTL_BUFFER);
    im->curl = bp__imap_curl_new(im->loop, BP__IMAP_FETCHERS, o);
    for (size_t i = 0; i < BP__IMAP_FETCHERS; i++) {
        im->fetchers[i].im = im;
        im->fetchers[i].conn = bp__imap_curl_conn(im->curl, i);
    }
}

int bp_imap_new(uv_loop_t *loop, struct bp_store_writer *writer,
                struct bp_store *ro, const struct bp_imap_opts *o,
                struct bp_imap **out, struct bp_errbuf *eb)
{
    char *base = NULL, *mailbox = NULL, *hostport = NULL, *murl;
    struct bp_imap *im;
    size_t n;
    int rc;

    *out = NULL;
    if ((rc = bp__imap_url_split(o->url, &base, &mailbox, &hostport, eb)) < 0)
        return rc;
    murl = mailbox_url(base, mailbox);
    if (o->username == NULL || o->username[0] == '\0' || o->poll_interval_ms <= 0 ||
        o->max_message_bytes == 0 || murl == NULL) {
        bp_errbuf_set(eb, "imap", murl == NULL ? "mailbox name too long"
                      : "username, poll_interval and max_message_bytes are required");
        free(base);
        free(mailbox);
        free(hostport);
        free(murl);
        return BP_ECONFIG;
    }
    bp_mime_init();
    im = bp_xcalloc(1, sizeof *im);
    im->loop = loop;
    im->writer = writer;
    im->ro = ro;
    im->base_url = base;
    im->mailbox = mailbox;
    im->mailbox_url = murl;
    n = strlen(o->username) + strlen(hostport) + 2;
    im->account = bp_xmalloc(n);
    snprintf(im->account, n, "%s@%s", o->username, hostport);
    free(hostport);
    im->move_to = o->move_to && o->move_to[0] ? bp_xstrdup(o->move_to) : NULL;
    im->pc.own_address = lower_dup(o->own_address);
    im->pc.lim.max_raw_kept = o->raw_keep_bytes;
    im->pc.lim.max_attachment = o->max_attachment_bytes;
    im->pc.lim.max_attachments = 100;
    im->pc.lim.max_text = 1u << 20;
    im->poll_ms = o->poll_interval_ms;
    im->window_ms = o->thread_window_ms;
    im->max_msg = o->max_message_bytes;
    im->batch_max = o->batch_max ? o->batch_max : BP__IMAP_WINDOW_MAX;
    im->on_stored = o->on_stored;
    im->on_stored_arg = o->on_stored_arg;
    init_runners(im, o);
    uv_timer_init(loop, &im->timer);
    im->timer.data = im;
    *out = im;
    return 0;
}

void bp_imap_start(struct bp_imap *im)
{
    if (im->started || im->stopping)
        return;
    im->started = true;
    bp_log_info("imap", "imap_polling", "mailbox=%s interval_ms=%lld move_to=%s",
                im->mailbox, (long long)im->poll_ms, im->move_to ? im->move_to : "-");
    bp__imap_schedule(im, 0);
}

static void on_closed(void *arg)
{
    (void)arg;
}

void bp_imap_stop(struct bp_imap *im)
{
    if (im == NULL || im->stopping)
        return;
    im->stopping = true;
    uv_timer_stop(&im->timer);
    uv_close((uv_handle_t *)&im->timer, NULL);
    bp__imap_curl_close(im->ctl_curl, on_closed, im);
    bp__imap_curl_close(im->curl, on_closed, im);
    im->curl = im->ctl_curl = NULL;
    im->ctl = NULL;
    for (size_t i = 0; i < BP__IMAP_FETCHERS; i++)
        im->fetchers[i].conn = NULL;
}

void bp_imap_free(struct bp_imap *im)
{
    if (im == NULL)
        return;
    bp__imap_clear_cycle(im);
    free(im->base_url);
    free(im->mailbox);
    free(im->mailbox_url);
    free(im->account);
    free(im->move_to);
    free(im->pc.own_address);
    free(im);
}

void bp_imap_get_stats(const struct bp_imap *im, struct bp_imap_stats *out)
{
    *out = im->st;
}

int bp_imap_metrics_write(const struct bp_imap *im, struct bp_buf *o)
{
    const struct bp_imap_stats *s = &im->st;
    int rc = bp_buf_printf(o,
        "# HELP backpack_imap_up 1 when the last IMAP poll succeeded.\n"
        "# TYPE backpack_imap_up gauge\n"
        "backpack_imap_up %d\n"
        "# HELP backpack_imap_polls_total IMAP poll cycles started.\n"
        "# TYPE backpack_imap_polls_total counter\n"
        "backpack_imap_polls_total %llu\n"
        "# HELP backpack_imap_messages_total Fetched messages by outcome.\n"
        "# TYPE backpack_imap_messages_total counter\n"
        "backpack_imap_messages_total{result=\"stored\"} %llu\n"
        "backpack_imap_messages_total{result=\"duplicate\"} %llu\n"
        "backpack_imap_messages_total{result=\"ignored\"} %llu\n"
        "backpack_imap_messages_total{result=\"skipped\"} %llu\n"
        "# HELP backpack_imap_errors_total IMAP errors by kind.\n"
        "# TYPE backpack_imap_errors_total counter\n",
        s->up ? 1 : 0, (unsigned long long)s->polls, (unsigned long long)s->stored,
        (unsigned long long)s->duplicates, (unsigned long long)s->ignored,
        (unsigned long long)s->skipped);
    for (int k = 0; k < BP_IMAP_ERR__COUNT && rc == 0; k++)
        rc = bp_buf_printf(o, "backpack_imap_errors_total{kind=\"%s\"} %llu\n",
                           bp__imap_kind_names[k], (unsigned long long)s->errors[k]);
    return rc;
}

int bp_imap_health_json(const struct bp_imap *im, struct bp_buf *o)
{
    bool err = im->st.errors[im->last_err] > 0 && !im->st.up;

    return bp_buf_printf(o, "{\"up\":%s,\"failures\":%llu,\"last_error\":%s%s%s,"
                            "\"last_success_ms\":%lld}",
                         im->st.up ? "true" : "false",
                         (unsigned long long)im->st.consecutive_failures,
                         err ? "\"" : "", err ? bp__imap_kind_names[im->last_err] : "null",
                         err ? "\"" : "", (long long)im->st.last_success_ms);
}
