/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Corpus runner: every tests/corpora/<theme>/NNN-name.eml is parsed and
 * checked against NNN-name.expected.txt (the extracted reply, exactly;
 * one trailing newline ignored) and, when present, NNN-name.meta, a list of
 * "key=value" lines:
 *   kind=normal|auto_reply|bounce      from=addr        subject=text
 *   in_reply_to=id   message_id=id     references=N     recipient=addr
 *   bounce.status=5.1.1  bounce.hard=0|1  bounce.recipient=addr
 *   bounce.original_message_id=id      bounce.action=failed
 *   attachments=N
 *   attachment=<index>|<filename>|<content type>|<size>|<kept 0/1>
 *   text_contains=<substring of the full text>
 *   text_lacks=<substring that must not be in the full text>
 * Every string out of the parser must be valid UTF-8.  One TAP line per
 * message; the directory comes from BP_CORPORA_DIR (set by meson).
 */
#include "bp_test.h"
#include "bp/base.h"
#include "bp/mime.h"
#include "corpus_util.h"

static const struct bp_mime_limits LIM = {
    .max_raw_kept = 256 * 1024, .max_attachment = 64 * 1024,
    .max_attachments = 16, .max_text = 256 * 1024,
};

static int fails;

#define EXPECT(cond, ...)                                                  \
    do {                                                                   \
        if (!(cond)) {                                                     \
            printf("# %s: ", name);                                        \
            printf(__VA_ARGS__);                                           \
            printf("\n");                                                  \
            fails++;                                                       \
        }                                                                  \
    } while (0)

static const char *kind_name(enum bp_mime_kind k)
{
    return k == BP_MIME_BOUNCE ? "bounce"
           : k == BP_MIME_AUTO_REPLY ? "auto_reply" : "normal";
}

static bool valid(const char *s)
{
    return s == NULL || bp_utf8_valid(s, strlen(s));
}

static void check_attachment(const char *name, const struct bp_mime_msg *m,
                             char *v)
{
    char *f[5] = {0};
    for (int i = 0; i < 5; i++)
        f[i] = strsep(&v, "|");
    EXPECT(f[4] != NULL, "bad attachment line");
    if (f[4] == NULL)
        return;
    size_t i = strtoul(f[0], NULL, 10);
    EXPECT(i < m->nattachments, "no attachment %zu", i);
    if (i >= m->nattachments)
        return;
    const struct bp_mime_attachment *a = &m->attachments[i];
    EXPECT(bp_str_eq(a->filename, *f[1] ? f[1] : NULL),
           "filename \"%s\" != \"%s\"", a->filename ? a->filename : "(null)",
           f[1]);
    EXPECT(bp_str_eq(a->content_type, f[2]), "type %s != %s",
           a->content_type, f[2]);
    EXPECT(a->size == strtoul(f[3], NULL, 10), "size %zu != %s", a->size,
           f[3]);
    EXPECT((a->data != NULL) == (f[4][0] == '1'), "kept %d != %s",
           a->data != NULL, f[4]);
    EXPECT(a->data == NULL || a->data_len == a->size, "data_len %zu",
           a->data_len);
}

static void check_meta_line(const char *name, const struct bp_mime_msg *m,
                            char *line)
{
    char *eq = strchr(line, '=');
    if (eq == NULL || line[0] == '#')
        return;
    *eq = '\0';
    const char *k = line, *v = eq + 1;
    const struct bp_mime_bounce *b = &m->bounce;
    if (!strcmp(k, "kind"))
        EXPECT(!strcmp(kind_name(m->kind), v), "kind %s != %s",
               kind_name(m->kind), v);
    else if (!strcmp(k, "from"))
        EXPECT(bp_str_eq(m->from_addr, v), "from %s", m->from_addr);
    else if (!strcmp(k, "subject"))
        EXPECT(bp_str_eq(m->subject, v), "subject \"%s\"", m->subject);
    else if (!strcmp(k, "message_id"))
        EXPECT(bp_str_eq(m->message_id, v), "message_id %s", m->message_id);
    else if (!strcmp(k, "in_reply_to"))
        EXPECT(bp_str_eq(m->in_reply_to, v), "in_reply_to %s",
               m->in_reply_to);
    else if (!strcmp(k, "references"))
        EXPECT(m->nreferences == strtoul(v, NULL, 10), "references %zu",
               m->nreferences);
    else if (!strcmp(k, "recipient")) {
        bool found = false;
        for (size_t i = 0; i < m->nrecipients; i++)
            found = found || !strcmp(m->recipients[i], v);
        EXPECT(found, "recipient %s missing", v);
    } else if (!strcmp(k, "bounce.status"))
        EXPECT(!strcmp(b->status, v), "status %s", b->status);
    else if (!strcmp(k, "bounce.hard"))
        EXPECT(b->hard == (v[0] == '1'), "hard %d", b->hard);
    else if (!strcmp(k, "bounce.action"))
        EXPECT(!strcmp(b->action, v), "action %s", b->action);
    else if (!strcmp(k, "bounce.recipient"))
        EXPECT(bp_str_eq(b->recipient, v), "bounce rcpt %s", b->recipient);
    else if (!strcmp(k, "bounce.original_message_id"))
        EXPECT(bp_str_eq(b->original_message_id, v), "orig id %s",
               b->original_message_id);
    else if (!strcmp(k, "attachments"))
        EXPECT(m->nattachments == strtoul(v, NULL, 10), "attachments %zu",
               m->nattachments);
    else if (!strcmp(k, "attachment"))
        check_attachment(name, m, (char *)v);
    else if (!strcmp(k, "text_contains"))
        EXPECT(strstr(m->text, v) != NULL, "text lacks \"%s\"", v);
    else if (!strcmp(k, "text_lacks"))
        EXPECT(strstr(m->text, v) == NULL, "text has \"%s\"", v);
    else
        EXPECT(0, "unknown meta key %s", k);
}

static char *sibling(const char *eml, const char *ext)
{
    size_t n = strlen(eml) - 4;
    char *p = malloc(n + strlen(ext) + 1);
    memcpy(p, eml, n);
    strcpy(p + n, ext);
    return p;
}

static void run_one(const char *path)
{
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t len;
    char *raw = corpus_read(path, &len);
    char *exp_path = sibling(path, ".expected.txt");
    char *meta_path = sibling(path, ".meta");
    char *expected = corpus_read(exp_path, NULL);
    char *meta = corpus_read(meta_path, NULL);
    struct bp_mime_msg *m = NULL;
    fails = 0;
    EXPECT(expected != NULL, "missing %s", exp_path);
    int rc = raw ? bp_mime_parse(raw, len, &LIM, &m, NULL) : -1;
    EXPECT(rc == 0 && m != NULL, "parse failed %d", rc);
    if (m && expected) {
        size_t el = strlen(expected);
        if (el && expected[el - 1] == '\n')
            expected[el - 1] = '\0';
        EXPECT(!strcmp(m->reply, expected), "reply:\n%s\n# expected:\n%s",
               m->reply, expected);
        EXPECT(valid(m->text) && valid(m->reply) && valid(m->subject) &&
               valid(m->from_name), "invalid UTF-8 out");
        EXPECT(strchr(m->text, '\r') == NULL, "CR in text");
        for (size_t i = 0; i < m->nattachments; i++)
            EXPECT(valid(m->attachments[i].filename), "bad filename");
        char *save = NULL;
        for (char *l = meta ? strtok_r(meta, "\n", &save) : NULL; l;
             l = strtok_r(NULL, "\n", &save))
            check_meta_line(name, m, l);
    }
    bp_test__n++;
    printf("%s %d - %s\n", fails ? "not ok" : "ok", bp_test__n, path);
    bp_test__failed_total += fails ? 1 : 0;
    bp_mime_msg_free(m);
    free(raw);
    free(expected);
    free(meta);
    free(exp_path);
    free(meta_path);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : getenv("BP_CORPORA_DIR");
    struct corpus_list l = {0};
    bp_mime_init();
    corpus_scan(dir ? dir : "tests/corpora", &l);
    if (l.n < 30) {
        printf("not ok 1 - corpus has %zu messages (want >= 30)\n", l.n);
        bp_test__n = 1;
        bp_test__failed_total = 1;
    }
    for (size_t i = 0; i < l.n; i++) {
        run_one(l.paths[i]);
        free(l.paths[i]);
    }
    free(l.paths);
    return bp_test_done();
}
