/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer target for the MIME -> text path: bp_mime_parse (GMime tree
 * walk, charset conversion, HTML to text, robots) and the reply extractor
 * run on the raw bytes, and on the bytes read as a body text.  Every string
 * that comes out must be valid UTF-8; anything else aborts (a finding).
 * Built and run by tests/fuzz/run.sh (clang, -fsanitize=fuzzer,address).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bp/base.h"
#include "bp/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must_be_utf8(const char *s)
{
    if (s && !bp_utf8_valid(s, strlen(s)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct bp_mime_limits lim = {
        .max_raw_kept = 4096, .max_attachment = 4096, .max_attachments = 8,
        .max_text = 64 * 1024,
    };
    bp_mime_init();
    struct bp_mime_msg *m = NULL;
    if (bp_mime_parse((const char *)data, size, &lim, &m, NULL) == 0) {
        must_be_utf8(m->text);
        must_be_utf8(m->reply);
        must_be_utf8(m->subject);
        must_be_utf8(m->from_name);
        must_be_utf8(m->from_addr);
        for (size_t i = 0; i < m->nattachments; i++)
            must_be_utf8(m->attachments[i].filename);
        if (m->raw_len > lim.max_raw_kept || strlen(m->text) > lim.max_text)
            abort();
        bp_mime_msg_free(m);
    }
    /* The extractor alone, on the input as (sanitised-by-C-string) text. */
    char *t = malloc(size + 1);
    memcpy(t, data, size);
    t[size] = '\0';
    free(bp_mime_extract_reply(t));
    free(t);
    return 0;
}
