/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Mail status codes (RFC 3463 enhanced codes) that say a recipient's address
 * itself is bad, as opposed to a refusal for another reason.  One rule for
 * the two places that mark a family's e-mail contact "bounced" (never e-mailed
 * again): an SMTP relay refusing RCPT (src/outbox/sched.c) and a delivery
 * status notification (src/mime/robot.c).
 */
#ifndef BP_MAILSTATUS_H
#define BP_MAILSTATUS_H

#include <stdbool.h>

/*
 * True when status starts with an enhanced code that condemns the address:
 * 5.1.1 (no such mailbox), 5.1.2 (no such domain), 5.1.3 (bad address
 * syntax), 5.1.6 (mailbox moved, no forwarding), 5.1.10 (RFC 7505 null MX;
 * Exchange Online's "recipient not found") or 5.2.1 (mailbox disabled).
 * The code must end at the end of the string or before a non-digit.  False
 * for everything else: policy, spam and block lists (5.7.x), quotas
 * (Exchange Online's 5.1.90), the sender's address (5.1.7, 5.1.8), a full
 * mailbox (x.2.2), any 4.x.x, and no code at all.
 */
bool bp_mail_status_bad_address(const char *status);

#endif
