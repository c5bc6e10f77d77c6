# SPDX-License-Identifier: AGPL-3.0-or-later
"""bounces/ and auto-replies/: robots that must never look like parents."""
from corpus_lib import ORIG_ID, ORIG_TEXT, SCHOOL, hdr, part, write

ORIG_HEADERS = (f"From: {SCHOOL}\nTo: <nobody.here@example.com>\n"
                "Subject: Field trip permission slip\n"
                "Date: Mon, 3 Mar 2025 10:15:00 -0500\n"
                f"Message-ID: <{ORIG_ID}>\nMIME-Version: 1.0\n"
                "Content-Type: text/plain; charset=utf-8\n")


def report(boundary, human, dsn, returned, returned_type="message/rfc822",
           human_type="text/plain"):
    return (f"Content-Type: multipart/report; report-type=delivery-status;\n"
            f'\tboundary="{boundary}"\n\n'
            "This is a MIME-encapsulated message.\n\n"
            f"--{boundary}\nContent-Description: Notification\n"
            f"{part(human_type, human, 'us-ascii', '7bit')}"
            f"--{boundary}\nContent-Description: Delivery report\n"
            f"Content-Type: message/delivery-status\n\n{dsn}\n"
            f"--{boundary}\nContent-Description: Undelivered Message\n"
            f"Content-Type: {returned_type}\n\n{returned}\n"
            f"--{boundary}--\n")


def robot_messages():
    # Postfix: unknown user, 5.1.1, the whole message returned.
    human = ("This is the mail system at host mx1.example.com.\n\nI'm sorry "
             "to have to inform you that your message could not\nbe "
             "delivered to one or more recipients. It's attached below.\n\n"
             "                   The mail system\n\n<nobody.here@example.com>:"
             " host mx.example.com[192.0.2.10] said: 550\n    5.1.1 "
             "<nobody.here@example.com>: Recipient address rejected: User\n"
             "    unknown in virtual mailbox table (in reply to RCPT TO "
             "command)")
    dsn = ("Reporting-MTA: dns; mx1.lincoln.example.org\n"
           "X-Postfix-Queue-ID: 4Z7Qm12Kp3z9t\n"
           "X-Postfix-Sender: rfc822; office@lincoln.example.org\n"
           "Arrival-Date: Mon,  3 Mar 2025 10:15:01 -0500 (EST)\n\n"
           "Final-Recipient: rfc822; nobody.here@example.com\n"
           "Original-Recipient: rfc822;Nobody.Here@example.com\n"
           "Action: failed\nStatus: 5.1.1\n"
           "Remote-MTA: dns; mx.example.com\n"
           "Diagnostic-Code: smtp; 550 5.1.1 <nobody.here@example.com>:\n"
           "    Recipient address rejected: User unknown in virtual mailbox "
           "table\n")
    write("bounces", "601-postfix-5.1.1",
          "From: MAILER-DAEMON@lincoln.example.org (Mail Delivery System)\n"
          "Subject: Undelivered Mail Returned to Sender\n"
          f"To: office@lincoln.example.org\nAuto-Submitted: auto-replied\n"
          "Date: Mon,  3 Mar 2025 10:15:03 -0500 (EST)\n"
          "Message-Id: <20250303151503.9A1B2C3D4E@mx1.lincoln.example.org>\n"
          "MIME-Version: 1.0\n" +
          report("4Z7Qm12Kp3z9t.1741014903/mx1.lincoln.example.org", human,
                 dsn, ORIG_HEADERS + "\n" + ORIG_TEXT + "\n"),
          human.split("\n\n")[0] + "\n\n" + human.split("\n\n", 1)[1],
          ["kind=bounce", "bounce.status=5.1.1", "bounce.hard=1",
           "bounce.action=failed",
           "bounce.recipient=nobody.here@example.com",
           f"bounce.original_message_id={ORIG_ID}", "attachments=1",
           # GMime re-serialises the returned message with LF line ends.
           "attachment=0||message/rfc822|" +
           str(len((ORIG_HEADERS + "\n" + ORIG_TEXT + "\n").encode())) +
           "|1"])

    # Exchange Online NDR: HTML + text, headers only, 5.1.10.
    human = ("Your message to parent@example.org couldn't be delivered.\n"
             "parent wasn't found at example.org.\n\nRemote Server returned "
             "'550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not "
             "found by SMTP address lookup'")
    dsn = ("Reporting-MTA: dns;BN8PR12MB3300.namprd12.prod.outlook.com\n"
           "Received-From-MTA: dns;mx1.lincoln.example.org\n"
           "Arrival-Date: Mon, 3 Mar 2025 15:15:02 +0000\n\n"
           "Final-Recipient: rfc822;parent@example.org\nAction: failed\n"
           "Status: 5.1.10\nDiagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR."
           "RecipientNotFound; Recipient not found by SMTP address lookup\n")
    write("bounces", "602-exchange-5.1.10",
          "From: Microsoft Outlook\n <MicrosoftExchange329e71ec88ae4615bbc36ab6"
          "ce41109e@example.org>\nTo: <office@lincoln.example.org>\n"
          "Subject: Undeliverable: Field trip permission slip\n"
          "Date: Mon, 3 Mar 2025 15:15:04 +0000\n"
          "Message-ID: <a1b2c3d4-0000-4e5f-9a8b-7c6d5e4f3a2b@BN8PR12MB3300."
          "namprd12.prod.outlook.com>\nAuto-Submitted: auto-replied\n"
          "X-MS-Exchange-Message-Is-Ndr:\nContent-Language: en-US\n"
          "MIME-Version: 1.0\n" +
          report("9B095B5ADSN=_01D3F2A1B0C9E8D7BN8PR12MB3300namp", human,
                 dsn, ORIG_HEADERS, "text/rfc822-headers"),
          human,
          ["kind=bounce", "bounce.status=5.1.10", "bounce.hard=1",
           "bounce.recipient=parent@example.org",
           f"bounce.original_message_id={ORIG_ID}", "attachments=0"])

    # Postfix delay warning: a robot, but not a bounce.
    dsn = ("Reporting-MTA: dns; mx1.lincoln.example.org\n\n"
           "Final-Recipient: rfc822; slow@example.net\nAction: delayed\n"
           "Status: 4.4.1\nWill-Retry-Until: Mon, 8 Mar 2025 10:15:01 -0500\n")
    write("bounces", "603-postfix-delayed-4.4.1",
          "From: MAILER-DAEMON@lincoln.example.org (Mail Delivery System)\n"
          "Subject: Delayed Mail (still being retried)\n"
          "To: office@lincoln.example.org\n"
          "Date: Mon,  3 Mar 2025 14:15:03 -0500 (EST)\n"
          "Message-Id: <20250303191503.1F2E3D4C5B@mx1.lincoln.example.org>\n"
          "MIME-Version: 1.0\n" +
          report("1F2E3D4C5B.1741029303/mx1", "This is the mail system.\n\n"
                 "Your message could not be delivered for 4.0 hours.\nIt "
                 "will be retried until it is 5.0 days old.", dsn,
                 ORIG_HEADERS, "text/rfc822-headers"),
          "This is the mail system.\n\nYour message could not be delivered "
          "for 4.0 hours.\nIt will be retried until it is 5.0 days old.",
          ["kind=auto_reply", "bounce.status=4.4.1", "bounce.hard=0",
           "bounce.action=delayed"])

    # Gmail: mailbox full (4.2.2 failed after retries: soft bounce).
    dsn = ("Reporting-MTA: dns; googlemail.com\n"
           "Arrival-Date: Mon, 03 Mar 2025 07:15:01 -0800 (PST)\n"
           "X-Original-Message-ID: <" + ORIG_ID + ">\n\n"
           "Final-Recipient: rfc822; full.box@example.com\nAction: failed\n"
           "Status: 4.2.2\nRemote-MTA: dns; mx.example.com. (192.0.2.7)\n"
           "Diagnostic-Code: smtp; 452 4.2.2 The recipient's inbox is out "
           "of storage space.\nLast-Attempt-Date: Thu, 06 Mar 2025 07:15:09 "
           "-0800 (PST)\n")
    write("bounces", "604-gmail-mailbox-full",
          "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
          "To: office@lincoln.example.org\nAuto-Submitted: auto-replied\n"
          "Subject: Delivery Status Notification (Failure)\n"
          "Date: Thu, 06 Mar 2025 07:15:10 -0800 (PST)\n"
          "Message-ID: <67c9bc9e.050a0220.1a2b3c.0001.GMR@mx.google.com>\n"
          "MIME-Version: 1.0\n" +
          report("000000000000f0e1d2c3b4a5", "** Message not delivered **\n"
                 "\nThe recipient's inbox is full.", dsn, ORIG_HEADERS,
                 "text/rfc822-headers"),
          "** Message not delivered **\n\nThe recipient's inbox is full.",
          ["kind=bounce", "bounce.status=4.2.2", "bounce.hard=0",
           "bounce.recipient=full.box@example.com",
           f"bounce.original_message_id={ORIG_ID}"])

    A = "auto-replies"
    # Exchange out-of-office.
    write(A, "701-exchange-oof",
          hdr("Karen White <karen.white@example.org>",
              "Automatic reply: Field trip permission slip",
              "Mon, 3 Mar 2025 15:15:09 +0000",
              "0a1b2c3d4e5f4a3b2c1d0e9f8a7b6c5d@CH0PR11MB5380.namprd11.prod."
              "outlook.com", "Auto-Submitted: auto-generated\n"
              "X-Auto-Response-Suppress: All\nX-MS-Exchange-Inbox-Rules-Loop:"
              " karen.white@example.org\nContent-Language: en-US\n") +
          part("text/plain", "I am out of the office until March 10 with "
               "limited access to e-mail.\n", "us-ascii", "7bit"),
          "I am out of the office until March 10 with limited access to "
          "e-mail.", ["kind=auto_reply"])
    # Gmail vacation responder: subject chosen by the user.
    write(A, "702-gmail-vacation",
          hdr("Mike Chen <mike.chen@example.com>", "Traveling this week",
              "Mon, 3 Mar 2025 10:15:30 -0500",
              "CAPvXq7Lmw0=vacation@mail.gmail.com",
              "Auto-Submitted: auto-replied\n") +
          part("text/plain", "I'm traveling until Friday. For anything "
               "urgent call my wife.\n", "UTF-8", "7bit"),
          "I'm traveling until Friday. For anything urgent call my wife.",
          ["kind=auto_reply"])
    # Old server: Spanish subject only, no headers.
    write(A, "703-subject-only-es",
          hdr("Carmen Ortiz <carmen@example.net>",
              "=?utf-8?Q?Respuesta_autom=C3=A1tica=3A_Excursi=C3=B3n?=",
              "Mon, 3 Mar 2025 10:16:00 -0600", "oof.7731@example.net") +
          part("text/plain", "Estoy de vacaciones.\n", "utf-8",
               "quoted-printable"),
          "Estoy de vacaciones.",
          ["kind=auto_reply", "subject=Respuesta automática: Excursión"])
    # cPanel autoresponder.
    write(A, "704-x-autoreply",
          hdr("Bob Lee <bob@example.com>", "Out of Office",
              "Mon, 3 Mar 2025 10:16:10 -0500", "autorespond.1741@example.com",
              "X-Autoreply: yes\nX-Autorespond: yes\n") +
          part("text/plain", "Away.\n", "us-ascii", "7bit"),
          "Away.", ["kind=auto_reply"])
    # French, encoded-word subject only.
    write(A, "705-subject-only-fr",
          hdr("Luc Petit <luc.petit@example.net>",
              "=?iso-8859-1?Q?R=E9ponse_automatique_:_Sortie_scolaire?=",
              "Mon, 3 Mar 2025 16:16:00 +0100", "rep.auto.88@example.net") +
          part("text/plain", "Je suis absent.\n", "iso-8859-1",
               "quoted-printable"),
          "Je suis absent.", ["kind=auto_reply"])
    # A list/newsletter.
    write(A, "706-precedence-bulk",
          hdr("PTA News <news@pta.example.org>", "PTA newsletter",
              "Mon, 3 Mar 2025 09:00:00 -0500", "news.2025.03@pta.example.org",
              "Precedence: bulk\nList-Unsubscribe: <mailto:unsub@pta.example."
              "org>\n", reply=False) +
          part("text/plain", "Bake sale on Friday!\n", "us-ascii", "7bit"),
          "Bake sale on Friday!", ["kind=auto_reply"])
    # A parent whose subject merely mentions "out of office".
    write(A, "707-parent-mentions-out-of-office",
          hdr("Dana Fox <dana.fox@example.com>",
              "Re: out of office tomorrow?", "Mon, 3 Mar 2025 10:30:00 -0500",
              "CAN7y4Wq2Po@mail.gmail.com") +
          part("text/plain", "Is the office closed tomorrow? I need to drop "
               "off the form.\n", "UTF-8", "7bit"),
          "Is the office closed tomorrow? I need to drop off the form.",
          ["kind=normal"])
    # Chinese auto-reply subject.
    write(A, "708-subject-only-zh",
          hdr("刘洋 <liu.yang@example.com>", "=?utf-8?B?6Ieq5Yqo5Zue5aSN77ya"
              "5pil5ri46YCa55+l?=", "Mon, 3 Mar 2025 23:16:00 +0800",
              "auto.1@example.com") +
          part("text/plain", "我正在休假。\n", "utf-8", "base64"),
          "我正在休假。", ["kind=auto_reply", "subject=自动回复：春游通知"])
