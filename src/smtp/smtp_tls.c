/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * STARTTLS for the e-mail sender: the sender's own OpenSSL context, and the
 * libesmtp event callback that says why a relay's certificate was refused.
 *
 * Why our own context: libesmtp 1.1.0 (Debian 12) caches the SSL_CTX it
 * creates in a static without taking a reference, and every session's
 * smtp_destroy_session frees it, so the second STARTTLS session in a process
 * used freed memory (AddressSanitizer: heap-use-after-free in SSL_new; fixed
 * upstream after 1.1.0 by not caching, "an application that needs a cached
 * SSL_CTX should create its own and use smtp_starttls_set_ctx() each time it
 * creates a session").  smtp_starttls_set_ctx takes a reference, which the
 * session's destruction drops, so one context serves every session and
 * worker (an SSL_CTX is safe to share between threads once configured).
 *
 * Verification, with starttls = required: the relay's certificate must chain
 * to [smtp] ca_file, or to the system's store (ca-certificates) when that is
 * empty, and name the configured host: OpenSSL checks the host name (or an IP
 * address: libesmtp's own check reads only DNS names) through the context's
 * X509_VERIFY_PARAM.  The handshake itself does not verify (SSL_VERIFY_NONE,
 * as libesmtp): libesmtp reads the verification result right after it and
 * QUITs before any message when it is not X509_V_OK, reporting it to the
 * session's event callback, whose bp__smtp_tls_event keeps the reason for the classification ("tls");
 * no message ever goes in clear.
 *
 * With starttls = try the certificate is not checked: opportunistic
 * encryption, as MTAs do it (Postfix's "may").  A sender that would go on in
 * clear when STARTTLS is not offered gains nothing against an attacker by
 * refusing a certificate it cannot check (the attacker strips STARTTLS), and
 * would refuse the relays schools often run locally (Debian's Postfix offers
 * STARTTLS with its self-signed "snakeoil" certificate).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "smtp_int.h"             /* openssl/ssl.h, then libesmtp.h */

SSL_CTX *bp__smtp_tls_ctx(const char *host, const char *ca_file, struct bp_errbuf *eb)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        bp_errbuf_set(eb, "smtp", "cannot create a TLS context");
        return NULL;
    }
    /* TLS 1.2 exactly: libesmtp 1.1.0's socket layer mishandles TLS 1.3's
     * session tickets, which the server sends after the handshake: when they
     * arrive before libesmtp writes its EHLO, it reads them, finds no SMTP
     * data, and waits for a reply to the EHLO it has not sent (a timeout in
     * one session in three against aiosmtpd; tests/integration/
     * test_smtp_sender.py runs many sessions).  TLS 1.2 carries its ticket
     * inside the handshake; every relay a school uses speaks it. */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);   /* libesmtp reads the result */
    int loaded = ca_file != NULL && *ca_file != '\0'
                     ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(ctx);
    if (loaded != 1) {
        ERR_clear_error();
        bp_errbuf_set(eb, "smtp", "cannot read the certificate authorities in ca_file "
                                  "(a PEM file is expected)");
        SSL_CTX_free(ctx);
        return NULL;
    }
    X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int named = X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1 ||
                X509_VERIFY_PARAM_set1_host(param, host, 0) == 1;
    ERR_clear_error();                               /* the IP attempt on a name */
    if (!named) {
        bp_errbuf_set(eb, "smtp", "host is neither a host name nor an IP address");
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

void bp__smtp_tls_event(struct bp__smtp_tls_watch *w, int event, va_list ap)
{
    int accept = !w->verify;          /* starttls = try: opportunistic */
    switch (event) {
    case SMTP_EV_STARTTLS_OK:
        w->on = true;
        break;
    case SMTP_EV_INVALID_PEER_CERTIFICATE: {
        long result = va_arg(ap, long);
        int *ok = va_arg(ap, int *);
        if ((*ok = accept))
            break;
        w->refused = true;
        snprintf(w->why, sizeof w->why, "STARTTLS: the relay's certificate was refused: %s",
                 X509_verify_cert_error_string(result));
        break;
    }
    case SMTP_EV_NO_PEER_CERTIFICATE: {
        int *ok = va_arg(ap, int *);
        if ((*ok = accept))
            break;
        w->refused = true;
        snprintf(w->why, sizeof w->why, "STARTTLS: the relay sent no certificate");
        break;
    }
    case SMTP_EV_WRONG_PEER_CERTIFICATE: {
        /* libesmtp compares the host with the certificate's DNS names only;
         * it asks here after the verification above came out X509_V_OK, which
         * includes OpenSSL's check of the host (or IP address) set on the
         * context: that is the answer. */
        int *ok = va_arg(ap, int *);
        (void)va_arg(ap, char *);
        SSL *ssl = va_arg(ap, SSL *);
        *ok = accept || (ssl != NULL && SSL_get_verify_result(ssl) == X509_V_OK);
        if (!*ok) {
            w->refused = true;
            snprintf(w->why, sizeof w->why,
                     "STARTTLS: the relay's certificate does not name the host");
        }
        break;
    }
    case SMTP_EV_WEAK_CIPHER: {
        (void)va_arg(ap, int);
        int *ok = va_arg(ap, int *);
        *ok = 0;
        w->refused = true;
        snprintf(w->why, sizeof w->why, "STARTTLS: the relay chose a weak cipher");
        break;
    }
    case SMTP_EV_EXTNA_STARTTLS:
        w->not_offered = true;
        break;
    default:
        break;
    }
}
