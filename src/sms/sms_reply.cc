// SPDX-License-Identifier: AGPL-3.0-or-later
/*
 * The provider's JSON reply to a create-message request, read with
 * simdjson (libsimdjson-dev, C++) behind the C function bp__sms_reply_read
 * (sms_int.h).  The classification itself stays in sms_twilio.c.
 *
 * Why simdjson here and jansson everywhere else: this is the one JSON
 * document the daemon reads thousands of times a second (one per SMS
 * sent).  Twilio's 201 reply is ~900 bytes (the whole Message resource:
 * body, dates, subresource_uris...), of which the sender needs three
 * fields.  jansson builds a tree of it at ~24 us a reply on this machine,
 * a fifth of the daemon's CPU per SMS; simdjson's DOM parser validates the
 * whole document just as strictly (structure and UTF-8) in ~0.7 us
 * (docs/senders.md, "The reply parser").  API bodies, catalogues and every
 * other JSON stay with jansson, where speed does not matter.
 *
 * The parser is per thread (each SMS sender thread has one) and keeps its
 * buffers, so after the first reply a parse allocates nothing.  No C++
 * exception crosses into C: simdjson reports errors by value, and a
 * bad_alloc growing the parser's buffers is caught and reported as an
 * unreadable reply.
 */
#include <simdjson.h>

#include <cstring>
#include <string_view>

extern "C" {
#include "sms_int.h"
}

namespace {

thread_local simdjson::dom::parser reply_parser;

void copy_out(std::string_view v, char *out, size_t cap)
{
    size_t n = v.size() < cap - 1 ? v.size() : cap - 1;
    std::memcpy(out, v.data(), n);
    out[n] = '\0';
}

int read_reply(const char *body, size_t len, struct bp__sms_reply *out)
{
    simdjson::dom::element root;
    simdjson::dom::object obj;
    if (reply_parser.parse(body, len).get(root) != simdjson::SUCCESS ||
        root.get_object().get(obj) != simdjson::SUCCESS)
        return -1;
    std::string_view v;
    /* A sid with a NUL in it ("\u0000") is no sid: it would be cut short
     * where it is stored. */
    if (obj["sid"].get_string().get(v) == simdjson::SUCCESS &&
        std::memchr(v.data(), '\0', v.size()) == nullptr) {
        out->sid_len = v.size();
        copy_out(v, out->sid, sizeof out->sid);
    }
    if (obj["status"].get_string().get(v) == simdjson::SUCCESS)
        copy_out(v, out->status, sizeof out->status);
    int64_t code;
    if (obj["code"].get_int64().get(code) == simdjson::SUCCESS) {
        out->has_code = true;
        out->code = code;
    }
    if (obj["message"].get_string().get(v) == simdjson::SUCCESS) {
        out->has_message = true;
        copy_out(v, out->message, sizeof out->message);
    }
    return 0;
}

} // namespace

extern "C" int bp__sms_reply_read(const char *body, size_t len, struct bp__sms_reply *out)
{
    std::memset(out, 0, sizeof *out);
    if (body == nullptr || len == 0)
        return -1;
    try {
        return read_reply(body, len, out);
    } catch (...) {
        std::memset(out, 0, sizeof *out);
        return -1;
    }
}
