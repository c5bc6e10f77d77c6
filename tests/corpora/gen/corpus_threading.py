# SPDX-License-Identifier: AGPL-3.0-or-later
"""threading/: English replies as the major clients write them."""
from corpus_lib import (ORIG_TEXT, SCHOOL, alt, esc, gmail_html, hdr,
                        outlook_html, part, quote, write)

SUBJ = "Re: Field trip permission slip"
T = "threading"


def threading_messages():
    # Gmail web: plain + HTML, attribution wrapped at 76 columns, U+202F
    # before AM (Gmail since 2023).
    reply = ("Yes, Sofia can go on the field trip. I signed the form and put "
             "it in her\nbackpack.\n\nThank you!\nMaria")
    attrib = ("On Mon, Mar 3, 2025 at 10:15\u202fAM Lincoln Elementary <"
              "office@lincoln.example.org> wrote:")
    plain = (reply + "\n\nOn Mon, Mar 3, 2025 at 10:15\u202fAM Lincoln "
             "Elementary <\noffice@lincoln.example.org> wrote:\n\n" +
             quote(ORIG_TEXT) + "\n")
    html = gmail_html(reply.replace("\n\n", "</div><div><br></div><div>")
                      .replace("\n", " "), attrib, ORIG_TEXT)
    write(T, "001-gmail-web",
          hdr("Maria Garcia <maria.garcia@example.com>", SUBJ,
              "Mon, 3 Mar 2025 11:02:17 -0500",
              "CAH2k4pQx9Lr0=ZtM8yF6sZb1oV3+gk2v1NcQeW@mail.gmail.com") +
          alt(plain, html, "000000000000a1b2c3d4e5f6a7"),
          reply,
          ["from=maria.garcia@example.com", f"subject={SUBJ}",
           "in_reply_to=bp.20250303151500.a1b2c3@lincoln.example.org",
           "references=1", "kind=normal",
           "recipient=office+r7k2m9@reply.lincoln.example.org",
           "text_contains=> Our 3rd grade field trip"])

    # Gmail Android app: short reply, "On <date>, <time> <name> wrote:".
    reply = "Ok thank you, he will bring it tomorrow."
    attrib = ("On Mon, Mar 3, 2025, 10:15 AM Lincoln Elementary "
              "<office@lincoln.example.org> wrote:")
    write(T, "002-gmail-mobile",
          hdr("James Okafor <j.okafor@example.net>", SUBJ,
              "Mon, 3 Mar 2025 12:40:55 -0600",
              "CAKx7Qm1Ld3pSR4uV0P9zMCZt5JeW2qNfA@mail.gmail.com") +
          alt(reply + "\n\n" + attrib + "\n\n" + quote(ORIG_TEXT) + "\n",
              gmail_html(reply, attrib, ORIG_TEXT), "0000000000007f3e9b05"),
          reply)

    # Outlook desktop (Word HTML only), From/Sent/To/Subject block.
    paras = ["Hello,", "", "I have signed the slip, Daniel will hand it in "
             "tomorrow morning. Does he need a packed lunch?", "",
             "Best regards,", "Ana Lopez"]
    block = [("From:", SCHOOL), ("Sent:", "Monday, March 3, 2025 10:15 AM"),
             ("To:", "Ana Lopez <ana.lopez@example.org>"),
             ("Subject:", "Field trip permission slip")]
    html = outlook_html(paras, block, ORIG_TEXT)
    write(T, "003-outlook-desktop-html-only",
          hdr("Ana Lopez <ana.lopez@example.org>", "RE: Field trip "
              "permission slip", "Mon, 3 Mar 2025 16:20:04 +0000",
              "DM6PR11MB4091C2F0E3A5B7D8E9F0A1B2C3D4@DM6PR11MB4091."
              "namprd11.prod.outlook.com",
              "Thread-Topic: Field trip permission slip\nThread-Index: "
              "AQHbjF2kq3Hn0b6VZkC1bZ3qfQWxTQ==\nContent-Language: en-US\n"
              "X-MS-Has-Attach:\nX-MS-TNEF-Correlator:\n") +
          part("text/html", html, "utf-8"),
          "Hello,\n\nI have signed the slip, Daniel will hand it in tomorrow "
          "morning. Does he need a packed lunch?\n\nBest regards,\nAna Lopez",
          ["text_lacks=o:p", "text_lacks=MsoNormal",
           "text_contains=From: Lincoln Elementary"])

    # Outlook on the web: plain part with the underscore rule and block.
    reply = "Thanks, we will send it back on Wednesday."
    block = ("From: Lincoln Elementary <office@lincoln.example.org>\n"
             "Sent: Monday, March 3, 2025 10:15 AM\n"
             "To: Priya Shah <priya.shah@example.com>\n"
             "Subject: Field trip permission slip")
    plain = (reply + "\n\n________________________________\n" + block +
             "\n\n" + ORIG_TEXT + "\n")
    html = ('<html><head><meta http-equiv="Content-Type" content="text/html;'
            ' charset=us-ascii"><style type="text/css" style="display:none;">'
            ' P {margin-top:0;margin-bottom:0;} </style></head><body dir="ltr">'
            f'<div class="elementToProof" style="font-family: Aptos">{reply}'
            '</div><div id="appendonsend"></div><hr style="display:inline-block;'
            'width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr">'
            '<font face="Calibri, sans-serif" style="font-size:11pt">'
            + "<br>".join("<b>" + l.split(":", 1)[0] + ":</b>" +
                          esc(l.split(":", 1)[1]) for l in block.split("\n"))
            + '</font><div>&nbsp;</div></div><div>' +
            "<br>".join(esc(l) for l in ORIG_TEXT.split("\n")) +
            "</div></body></html>")
    write(T, "004-outlook-web",
          hdr("Priya Shah <priya.shah@example.com>", "Re: Field trip "
              "permission slip", "Mon, 3 Mar 2025 17:05:44 +0000",
              "PH0PR07MB8512E4A1B9C3D2F6A7B8C9D0E1F2@PH0PR07MB8512."
              "namprd07.prod.outlook.com",
              "Thread-Topic: Field trip permission slip\n") +
          alt(plain, html, "_000_PH0PR07MB8512E4A1B9C3D2F6A7B8C9D0E1F2_",
              "us-ascii", "quoted-printable"),
          reply)

    # Apple Mail on iPhone: "Sent from my iPhone", quoted attribution.
    reply = "Yes he can go. Form is signed."
    plain = (reply + "\n\nSent from my iPhone\n\n> On Mar 3, 2025, at "
             "10:15\u202fAM, Lincoln Elementary <office@lincoln.example.org> "
             "wrote:\n>\n> \ufeff" + quote(ORIG_TEXT)[2:] + "\n")
    html = ('<html><head><meta http-equiv="content-type" content="text/html; '
            'charset=utf-8"></head><body dir="auto"><div dir="ltr">' + reply +
            '</div><div dir="ltr"><br></div><div dir="ltr">Sent from my iPhone'
            '</div><div dir="ltr"><br><blockquote type="cite">On Mar 3, 2025, '
            'at 10:15\u202fAM, Lincoln Elementary &lt;office@lincoln.example.'
            'org&gt; wrote:<br><br></blockquote></div><blockquote type="cite">'
            '<div dir="ltr">' + "<br>".join(esc(l) for l in
                                            ORIG_TEXT.split("\n")) +
            '</div></blockquote></body></html>')
    write(T, "005-apple-iphone",
          hdr("Kim Nguyen <kim.nguyen@example.com>", SUBJ,
              "Mon, 3 Mar 2025 10:31:09 -0500",
              "8E1C2A4B-77D0-4F9B-A5C3-19E2D6F0B8A1@example.com",
              "X-Mailer: iPhone Mail (22D72)\n") +
          alt(plain, html, "Apple-Mail-3F2A9C41-7B6E-4D1A-9E8F-0C5B2D7A6E13",
              "utf-8"),
          reply)

    # Apple Mail on a Mac: plain only, us-ascii, 7bit.
    reply = ("Hi,\n\nLucas has a dentist appointment that morning, can he "
             "join the group\nat the museum at 11?\n\nThanks,\nTom")
    write(T, "006-apple-mail-mac",
          hdr("Tom Becker <tom.becker@example.net>", SUBJ,
              "Mon, 3 Mar 2025 15:48:30 +0100",
              "3A7F9E12-5C4B-4D8E-B1A6-2F0C9D8E7B65@example.net",
              "X-Mailer: Apple Mail (2.3776.700.51)\n"
              "Content-Type: text/plain;\n\tcharset=us-ascii\n"
              "Content-Transfer-Encoding: 7bit\n") +
          "\n" + reply + "\n\n> On 3 Mar 2025, at 16:15, Lincoln Elementary "
          "<office@lincoln.example.org> wrote:\n> \n" + quote(ORIG_TEXT) +
          "\n\n",
          reply)

    # Yahoo Mail web: reply above "On <weekday>, ... wrote:" and "> ".
    reply = "I will send the form with Emma tomorrow."
    plain = (reply + "\n\n\n\n    On Monday, March 3, 2025 at 10:15:00 AM "
             "EST, Lincoln Elementary <office@lincoln.example.org> wrote:  \n"
             "\n" + quote(ORIG_TEXT) + "\n")
    html = ('<html><head></head><body><div class="ydp1c2d3e4fyahoo-style-wrap"'
            f' style="font-family:Helvetica Neue"><div dir="ltr">{reply}</div>'
            '</div><div id="yahoo_quoted_5518" class="yahoo_quoted"><div '
            'style="font-family:\'Helvetica Neue\'"><div>On Monday, March 3, '
            '2025 at 10:15:00 AM EST, Lincoln Elementary &lt;office@lincoln.'
            'example.org&gt; wrote:</div><div><br></div><div><br></div><div>'
            + "<br>".join(esc(l) for l in ORIG_TEXT.split("\n")) +
            '</div></div></div></body></html>')
    write(T, "007-yahoo-web",
          hdr("Linda Park <linda.park@example.com>", SUBJ,
              "Mon, 3 Mar 2025 16:11:02 +0000 (UTC)",
              "1928374655.1234567.1741018262000@mail.yahoo.com",
              "X-Mailer: WebService/1.1.23187 YMailNorrin\n") +
          alt(plain, html, "----=_Part_1234566_998877665.1741018261999",
              "UTF-8", "7bit"),
          reply)

    # Yahoo Mail Android: signature line, then the unquoted history.
    reply = "Got it, thanks!"
    plain = (reply + "\n\nSent from Yahoo Mail on Android\n \n  On Mon, Mar "
             "3, 2025 at 10:15 AM, Lincoln Elementary<office@lincoln.example."
             "org> wrote:   " + ORIG_TEXT.replace("\n", " ") + "\n")
    write(T, "008-yahoo-android",
          hdr("Rosa Diaz <rosa.diaz@example.com>", SUBJ,
              "Mon, 3 Mar 2025 18:20:41 +0000 (UTC)",
              "620193847.2233445.1741026041222@mail.yahoo.com",
              "X-Mailer: YahooMailAndroidMobile YMobile/1.0\n") +
          part("text/plain", plain, "UTF-8", "7bit"),
          reply)

    # Thunderbird: bottom-posted, format=flowed, signature.
    flowed = ("On 3/3/25 10:15 AM, Lincoln Elementary wrote:\n" +
              quote(ORIG_TEXT) + "\n\nSigned and in his folder. He is very "
              "excited about the \ndinosaur hall.\n\n-- \nPeter Novak\n")
    write(T, "009-thunderbird-bottom-posted",
          hdr("Peter Novak <peter.novak@example.org>", SUBJ,
              "Mon, 3 Mar 2025 20:02:13 +0100",
              "5b1e2c7a-9f0d-4e3b-8a61-2c4d7e9f0b13@example.org",
              "User-Agent: Mozilla Thunderbird\nContent-Language: en-US\n"
              "Content-Type: text/plain; charset=UTF-8; format=flowed\n"
              "Content-Transfer-Encoding: 7bit\n") + "\n" + flowed,
          "Signed and in his folder. He is very excited about the dinosaur "
          "hall.")

    # Interleaved answers (mutt style).
    body = ("On Mon, Mar 03, 2025 at 10:15:00AM -0500, Lincoln Elementary "
            "wrote:\n> Dear families,\n>\n> Our 3rd grade field trip to the "
            "Science Museum is on Friday, March 7.\n\nGreat, she is already "
            "talking about it.\n\n> Please sign the permission slip and "
            "return it by Wednesday.\n\nSigned, it is in her red folder.\n\n"
            "> Thank you,\n> Lincoln Elementary\n")
    write(T, "010-interleaved",
          hdr("Sam Wilson <sam@example.net>", SUBJ,
              "Mon, 3 Mar 2025 21:30:00 -0500",
              "20250304023000.GA12345@example.net",
              "User-Agent: Mutt/2.2.9 (2022-11-12)\n"
              "Content-Type: text/plain; charset=us-ascii\n"
              "Content-Disposition: inline\n") + "\n" + body,
          "Great, she is already talking about it.\n\nSigned, it is in her "
          "red folder.")

    # Outlook for iOS: "Get Outlook for iOS" then the block.
    reply = "Yes. Thank you"
    plain = (reply + "\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n"
             "________________________________\nFrom: Lincoln Elementary "
             "<office@lincoln.example.org>\nSent: Monday, March 3, 2025 "
             "10:15:02 AM\nTo: Grace Kim <grace.kim@example.com>\nSubject: "
             "Field trip permission slip\n\n" + ORIG_TEXT + "\n")
    write(T, "011-outlook-ios",
          hdr("Grace Kim <grace.kim@example.com>", SUBJ,
              "Mon, 3 Mar 2025 15:22:10 +0000",
              "SA1PR12MB7099A6C3C2B1E0F9D8C7B6A5F4E3@SA1PR12MB7099."
              "namprd12.prod.outlook.com") +
          part("text/plain", plain, "us-ascii", "quoted-printable"),
          reply)

    # Samsung Email: "-------- Original message --------".
    reply = "Can I pay the $5 in cash?"
    plain = (reply + "\n\n\n\nSent from my Galaxy\n\n\n-------- Original "
             "message --------\nFrom: Lincoln Elementary <office@lincoln."
             "example.org> \nDate: 3/3/25 10:15 AM (GMT-05:00) \nTo: "
             "jmorales@example.com \nSubject: Field trip permission slip \n\n"
             + ORIG_TEXT + "\n")
    write(T, "012-samsung-email",
          hdr("Jorge Morales <jmorales@example.com>", SUBJ,
              "Mon, 3 Mar 2025 13:09:51 -0500",
              "bf3a91c2e7d54b8f.9a1c@email.android.com") +
          part("text/plain", plain, "UTF-8", "8bit"),
          reply)

    # Gmail, bottom-posted below the full quote.
    reply = "Thanks! Signed."
    write(T, "013-gmail-bottom-posted",
          hdr("Olga Ivanova <olga.iv@example.com>", SUBJ,
              "Mon, 3 Mar 2025 19:45:10 -0500",
              "CAJ9r2Lw8fZq5M0kT7x3bQv1NdE6pHs4YcU@mail.gmail.com") +
          part("text/plain", "On Mon, Mar 3, 2025 at 10:15 AM Lincoln "
               "Elementary <office@lincoln.example.org> wrote:\n\n" +
               quote(ORIG_TEXT) + "\n\n" + reply + "\n", "UTF-8", "7bit"),
          reply)
