/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Test helper: prints the Twilio signature Backpack computes, and whether
 * Backpack's verifier accepts a given signature, for
 *   sig_tool TOKEN URL FORM_BODY [SIGNATURE]
 * Used by tests/integration/test_twilio_signature_oracle.py to compare with
 * the official `twilio` npm package.
 */
#include <stdio.h>
#include <string.h>

#include "bp/ingest_prov.h"

int main(int argc, char **argv)
{
    struct bp_form f;
    struct bp_errbuf eb;
    char sig[29];

    if (argc < 4) {
        fprintf(stderr, "usage: sig_tool TOKEN URL FORM [SIGNATURE]\n");
        return 2;
    }
    if (bp_form_parse(argv[3], strlen(argv[3]), 1000, &f, &eb) < 0) {
        fprintf(stderr, "bad form: %s\n", eb.msg);
        bp_form_free(&f);
        return 2;
    }
    bp_twilio_signature(argv[1], argv[2], &f, sig);
    printf("%s\n", sig);
    if (argc > 4)
        printf("%s\n", bp_ingest_provider_find("twilio")->verify(argv[1], argv[2], &f, argv[4])
                           ? "valid" : "invalid");
    bp_form_free(&f);
    return 0;
}
