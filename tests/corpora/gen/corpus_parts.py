# SPDX-License-Identifier: AGPL-3.0-or-later
"""charsets/, html-only/, attachments/, forwarded/."""
from corpus_lib import ORIG_TEXT, alt, b64, esc, hdr, part, quote, write

SUBJ = "Re: Field trip permission slip"


def parts_messages():
    C = "charsets"
    # Outlook plain text: windows-1252 bytes labelled iso-8859-1 (QP).
    reply = "I’m sorry – the form is “lost”. Can you resend it? It costs 5 €?"
    body = (reply.encode("cp1252") + b"\n\n-----Original Message-----\nFrom:"
            b" Lincoln Elementary <office@lincoln.example.org>\n\n" +
            ORIG_TEXT.encode() + b"\n")
    import quopri
    write(C, "201-cp1252-labelled-latin1",
          hdr("Helen Ward <h.ward@example.org>", SUBJ,
              "Mon, 3 Mar 2025 10:40:00 -0500", "000001db8c2a$1@example.org",
              "X-Mailer: Microsoft Outlook 16.0\n") +
          'Content-Type: text/plain; charset="iso-8859-1"\n'
          "Content-Transfer-Encoding: quoted-printable\n\n" +
          quopri.encodestring(body).decode() + "\n", reply)
    # Big5 (Traditional Chinese), base64.
    reply = "好的，謝謝學校通知。"
    write(C, "202-big5",
          hdr("=?big5?B?" + b64("陳小姐".encode("big5")) +
              "?= <chen.tw@example.com>", SUBJ,
              "Mon, 3 Mar 2025 23:50:00 +0800", "big5.1@example.com") +
          'Content-Type: text/plain; charset="big5"\n'
          "Content-Transfer-Encoding: base64\n\n" +
          b64((reply + "\n\n" + quote(ORIG_TEXT) + "\n").encode("big5")) +
          "\n", reply)
    # UTF-8 base64, emoji and accents.
    reply = "¡Perfecto! 👍 Gracias."
    write(C, "203-utf8-base64",
          hdr("Inés Vega <ines.vega@example.com>", SUBJ,
              "Mon, 3 Mar 2025 11:00:00 -0600", "b64.utf8@example.com") +
          part("text/plain", reply + "\n\nEnviado desde mi iPhone\n", "utf-8",
               "base64"), reply)
    # QP with soft line breaks in a long paragraph.
    reply = ("We will be out of town that week visiting grandparents, so "
             "Noah will miss the trip, sorry about that. Is there any "
             "homework he should do instead?")
    write(C, "204-qp-soft-breaks",
          hdr("Eva Stone <eva.stone@example.net>", SUBJ,
              "Mon, 3 Mar 2025 12:00:00 -0500", "qp.soft@example.net") +
          part("text/plain", reply + "\n\n" + quote(ORIG_TEXT) + "\n",
               "utf-8"), reply, ["text_lacks=="])
    # Broken charset label: the bytes are windows-1252.
    reply = "Très bien, merci à vous."
    raw = (hdr("Paul Roy <paul.roy@example.org>", SUBJ,
               "Mon, 3 Mar 2025 12:05:00 -0500", "broken.cs@example.org")
           .encode() +
           b'Content-Type: text/plain; charset="x-user-defined-garbage"\n'
           b"Content-Transfer-Encoding: 8bit\n\n" + reply.encode("cp1252") +
           b"\n")
    write(C, "205-broken-charset-label", raw, reply)
    # Raw 8-bit headers (no RFC 2047): UTF-8 name, windows-1252 subject.
    raw = (b"From: Jos\xc3\xa9 P\xc3\xa9rez <jose.perez@example.com>\n"
           b"To: <office+r7k2m9@reply.lincoln.example.org>\n"
           b"Subject: Re: Excursi\xf3n \x80 5\n"
           b"Date: Mon, 3 Mar 2025 12:10:00 -0600\n"
           b"Message-ID: <raw8bit@example.com>\nMIME-Version: 1.0\n"
           b"Content-Type: text/plain; charset=utf-8\n"
           b"Content-Transfer-Encoding: 8bit\n\nS\xc3\xad.\n")
    write(C, "206-raw-8bit-headers", raw, "Sí.",
          ["subject=Re: Excursión € 5"])
    # Mislabelled: UTF-8 bytes under a us-ascii label.
    raw = (hdr("Zoë Adams <zoe@example.net>", SUBJ,
               "Mon, 3 Mar 2025 12:20:00 -0500", "ascii.lie@example.net")
           .encode() + b"Content-Type: text/plain; charset=us-ascii\n"
           b"Content-Transfer-Encoding: 8bit\n\nZo\xc3\xab says ok \xe2\x80"
           b"\x94 thanks\n")
    write(C, "207-utf8-labelled-ascii", raw, "Zoë says ok — thanks")

    H = "html-only"
    html = ('<!DOCTYPE html><html><head><style>body{font:14px Arial}</style>'
            '<script>var x=1;</script></head><body><p>Hi Ms.&nbsp;Lee,</p>'
            '<p>Please see the <a href="https://docs.example.com/f/123">'
            'signed form</a> &amp; the doctor&#39;s note.</p><ul><li>Form'
            '</li><li>Note</li></ul><p>Thanks,<br>Rita</p></body></html>')
    write(H, "301-links-lists-entities",
          hdr("Rita Cole <rita.cole@example.com>", SUBJ,
              "Mon, 3 Mar 2025 13:00:00 -0500", "html.only.1@example.com") +
          part("text/html", html, "utf-8"),
          "Hi Ms. Lee,\n\nPlease see the signed form (https://docs.example."
          "com/f/123) & the doctor's note.\n\n- Form\n- Note\n\nThanks,\n"
          "Rita", ["text_lacks=var x", "text_lacks=font:"])
    # HTML-only with Gmail-style blockquote and a latin-1 meta charset.
    html = ('<html><head><meta http-equiv="Content-Type" content="text/html; '
            'charset=iso-8859-1"></head><body><div>Oui, c\'est sign\xe9.</div>'
            '<div><br></div><div>Le lun. 3 mars 2025 \xe0 16:15, Lincoln '
            'Elementary &lt;office@lincoln.example.org&gt; a \xe9crit :</div>'
            '<blockquote style="margin:0 0 0 .8ex">' +
            "<br>".join(esc(l) for l in ORIG_TEXT.split("\n")) +
            '</blockquote></body></html>')
    raw = (hdr("Marc Dubois <marc.dubois@example.net>", "Re: Sortie",
               "Mon, 3 Mar 2025 17:00:00 +0100", "html.latin1@example.net")
           .encode() + b"Content-Type: text/html\n"
           b"Content-Transfer-Encoding: 8bit\n\n" + html.encode("latin-1") +
           b"\n")
    write(H, "302-meta-charset-blockquote", raw, "Oui, c'est signé.")

    A = "attachments"
    jpeg = bytes(range(256)) * 12          # 3072 bytes of "photo"
    pdf = b"%PDF-1.4\n" + b"0" * 2000 + b"\n%%EOF\n"
    reply = "Here is the signed form and a photo of the doctor's note."
    write(A, "401-gmail-photo-and-pdf",
          hdr("Maria Garcia <maria.garcia@example.com>", SUBJ,
              "Mon, 3 Mar 2025 14:00:00 -0500", "CAatt1@mail.gmail.com") +
          'Content-Type: multipart/mixed; boundary="000000000000aaaa"\n\n'
          "--000000000000aaaa\n" +
          alt(reply + "\n", f'<div dir="ltr">{reply}</div>\n',
              "000000000000bbbb") +
          "--000000000000aaaa\nContent-Type: image/jpeg; name=\"IMG_2041.jpg\""
          "\nContent-Disposition: attachment; filename=\"IMG_2041.jpg\"\n"
          "Content-Transfer-Encoding: base64\nX-Attachment-Id: f_m7t1\n\n" +
          b64(jpeg) + "\n--000000000000aaaa\nContent-Type: application/pdf; "
          "name=\"permission slip.pdf\"\nContent-Disposition: attachment; "
          "filename=\"permission slip.pdf\"\nContent-Transfer-Encoding: "
          "base64\n\n" + b64(pdf) + "\n--000000000000aaaa--\n",
          reply, ["attachments=2", "attachment=0|IMG_2041.jpg|image/jpeg|3072|1",
                  f"attachment=1|permission slip.pdf|application/pdf|"
                  f"{len(pdf)}|1"])
    # RFC 2231 encoded file name (Thunderbird), inline text attachment.
    write(A, "402-rfc2231-filename",
          hdr("Jean Blanc <jean.blanc@example.org>", "Re: Sortie",
              "Mon, 3 Mar 2025 18:00:00 +0100", "rfc2231@example.org",
              "User-Agent: Mozilla Thunderbird\n") +
          'Content-Type: multipart/mixed; boundary="------------x1y2z3"\n\n'
          "--------------x1y2z3\n" + part("text/plain", "Voici "
                                          "l'autorisation.\n", "UTF-8", "7bit") +
          "--------------x1y2z3\nContent-Type: application/pdf; name*=UTF-8''"
          "Autorisation%20sign%C3%A9e.pdf\nContent-Disposition: attachment; "
          "filename*=UTF-8''Autorisation%20sign%C3%A9e.pdf\n"
          "Content-Transfer-Encoding: base64\n\n" + b64(pdf) + "\n"
          "--------------x1y2z3\nContent-Type: text/plain; charset=UTF-8; "
          "name=\"notes.txt\"\nContent-Disposition: inline; filename="
          "\"notes.txt\"\n\nallergies: none\n--------------x1y2z3--\n",
          "Voici l'autorisation.",
          ["attachments=2",
           f"attachment=0|Autorisation signée.pdf|application/pdf|{len(pdf)}|1",
           "attachment=1|notes.txt|text/plain|15|1",
           "text_lacks=allergies"])
    # An attachment over the runner's 64 KiB limit: recorded, not kept.
    big = bytes((i * 7) & 0xFF for i in range(100000))
    write(A, "403-over-limit",
          hdr("Ken Ito <ken.ito@example.com>", SUBJ,
              "Mon, 3 Mar 2025 14:30:00 -0500", "big.att@example.com") +
          'Content-Type: multipart/mixed; boundary="bb"\n\n--bb\n' +
          part("text/plain", "Scan attached.\n", "us-ascii", "7bit") +
          "--bb\nContent-Type: image/png\nContent-Disposition: attachment; "
          "filename=\"scan.png\"\nContent-Transfer-Encoding: base64\n\n" +
          b64(big) + "\n--bb--\n", "Scan attached.",
          ["attachment=0|scan.png|image/png|100000|0"])
    # Outlook "forward as attachment": message/rfc822 part.
    inner = ("From: Coach <coach@lincoln.example.org>\nSubject: Practice\n"
             "Message-ID: <inner.1@lincoln.example.org>\n\nPractice moved.\n")
    write(A, "404-forward-as-attachment",
          hdr("Nora Quinn <nora.quinn@example.org>", "FW: Practice",
              "Mon, 3 Mar 2025 15:00:00 -0500", "fwd.att@example.org") +
          'Content-Type: multipart/mixed; boundary="_004_"\n\n--_004_\n' +
          part("text/plain", "Is this still right?\n", "us-ascii", "7bit") +
          "--_004_\nContent-Type: message/rfc822\nContent-Disposition: "
          "attachment; filename=\"Practice.eml\"\n\n" + inner + "\n--_004_--\n",
          "Is this still right?",
          ["attachments=1", "attachment=0|Practice.eml|message/rfc822|" +
           str(len(inner.encode())) + "|1", "text_lacks=Practice moved"])
    # Apple Mail: multipart/related HTML with an inline image (cid:).
    html = ('<html><body><div>Lost tooth today!</div><div><img src="cid:'
            'A1B2@example.net" alt="tooth"></div></body></html>')
    write(A, "405-related-inline-image",
          hdr("Amy Ross <amy.ross@example.net>", SUBJ,
              "Mon, 3 Mar 2025 16:00:00 -0500", "related@example.net") +
          'Content-Type: multipart/alternative; boundary="alt1"\n\n--alt1\n' +
          part("text/plain", "Lost tooth today!\n", "us-ascii", "7bit") +
          '--alt1\nContent-Type: multipart/related; type="text/html"; '
          'boundary="rel1"\n\n--rel1\n' + part("text/html", html, "us-ascii",
                                               "7bit") +
          "--rel1\nContent-Type: image/png; name=\"tooth.png\"\n"
          "Content-Id: <A1B2@example.net>\nContent-Disposition: inline; "
          "filename=\"tooth.png\"\nContent-Transfer-Encoding: base64\n\n" +
          b64(b"\x89PNG\r\n\x1a\n" + b"\0" * 100) + "\n--rel1--\n--alt1--\n",
          "Lost tooth today!", ["attachments=0"])

    F = "forwarded"
    write(F, "501-gmail-forward-with-comment",
          hdr("Leo Grant <leo.grant@example.com>", "Fwd: Field trip",
              "Mon, 3 Mar 2025 17:00:00 -0500", "CAfwd1@mail.gmail.com",
              reply=False) +
          part("text/plain", "My husband never got this one, can you add his "
               "address?\n\n---------- Forwarded message ---------\nFrom: "
               "Lincoln Elementary <office@lincoln.example.org>\nDate: Mon, "
               "Mar 3, 2025 at 10:15 AM\nSubject: Field trip permission slip\n"
               "To: <leo.grant@example.com>\n\n\n" + ORIG_TEXT + "\n", "UTF-8",
               "7bit"),
          "My husband never got this one, can you add his address?")
    write(F, "502-apple-forward-no-comment",
          hdr("Ivy Hart <ivy.hart@example.net>", "Fwd: Field trip",
              "Mon, 3 Mar 2025 17:30:00 -0500", "fwd.apple@example.net",
              reply=False) +
          part("text/plain", "\n\nBegin forwarded message:\n\n> From: Lincoln "
               "Elementary <office@lincoln.example.org>\n> Subject: Field trip"
               "\n\n" + ORIG_TEXT + "\n", "utf-8", "7bit"),
          "")
    write(F, "503-outlook-forward-es",
          hdr("Raúl Soto <raul.soto@example.org>", "RV: Excursión",
              "Mon, 3 Mar 2025 18:00:00 -0600", "fwd.es@example.org",
              reply=False) +
          part("text/plain", "Para tu información.\n\n-----Mensaje original"
               "-----\nDe: Lincoln Elementary <office@lincoln.example.org>\n"
               "Enviado el: lunes, 3 de marzo de 2025 10:15\nPara: Raúl\n"
               "Asunto: Excursión\n\n" + ORIG_TEXT + "\n", "windows-1252",
               "quoted-printable"),
          "Para tu información.")
