# SPDX-License-Identifier: AGPL-3.0-or-later
"""Helpers shared by the corpus generators (see make_corpus.py)."""
import base64
import os
import quopri

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHOOL = "Lincoln Elementary <office@lincoln.example.org>"
REPLY_TO = "office+r7k2m9@reply.lincoln.example.org"
TO = "Lincoln Elementary <" + REPLY_TO + ">"
ORIG_ID = "bp.20250303151500.a1b2c3@lincoln.example.org"

ORIG_TEXT = """Dear families,

Our 3rd grade field trip to the Science Museum is on Friday, March 7.
Please sign the permission slip and return it by Wednesday.

Thank you,
Lincoln Elementary"""


def qp(text, charset="utf-8"):
    return quopri.encodestring(text.encode(charset)).decode("ascii")


def b64(data):
    s = base64.b64encode(data).decode("ascii")
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def quote(text, prefix="> "):
    return "\n".join((prefix + l).rstrip() if l else prefix.rstrip()
                     for l in text.split("\n"))


def write(theme, name, raw, expected, meta=None):
    """raw is str (UTF-8) or bytes; LF line ends become CRLF."""
    d = os.path.join(ROOT, theme)
    os.makedirs(d, exist_ok=True)
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with open(os.path.join(d, name + ".eml"), "wb") as f:
        f.write(raw)
    with open(os.path.join(d, name + ".expected.txt"), "w") as f:
        f.write(expected + ("\n" if expected else ""))
    mp = os.path.join(d, name + ".meta")
    if meta:
        with open(mp, "w") as f:
            f.write("\n".join(meta) + "\n")
    elif os.path.exists(mp):
        os.remove(mp)


def hdr(frm, subject, date, msgid, extra="", to=TO, reply=True):
    refs = (f"In-Reply-To: <{ORIG_ID}>\nReferences: <{ORIG_ID}>\n"
            if reply else "")
    return (f"From: {frm}\nTo: {to}\nSubject: {subject}\nDate: {date}\n"
            f"Message-ID: <{msgid}>\n{refs}MIME-Version: 1.0\n{extra}")


def part(ctype, body, charset="UTF-8", enc="quoted-printable"):
    if enc == "quoted-printable":
        data = qp(body, charset)
    elif enc == "base64":
        data = b64(body.encode(charset))
    else:
        data = body
    return (f'Content-Type: {ctype}; charset="{charset}"\n'
            f"Content-Transfer-Encoding: {enc}\n\n{data}\n")


def alt(plain, html, boundary, charset="UTF-8", enc="quoted-printable"):
    return (f'Content-Type: multipart/alternative; boundary="{boundary}"\n\n'
            f"--{boundary}\n{part('text/plain', plain, charset, enc)}"
            f"--{boundary}\n{part('text/html', html, charset, enc)}"
            f"--{boundary}--\n")


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def gmail_html(reply_html, attrib, quoted):
    q = "<br>".join(esc(l) for l in quoted.split("\n"))
    return (f'<div dir="ltr">{reply_html}</div><br><div class="gmail_quote">'
            f'<div dir="ltr" class="gmail_attr">{esc(attrib)}<br></div>'
            f'<blockquote class="gmail_quote" style="margin:0px 0px 0px '
            f'0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">'
            f'{q}</blockquote></div>\n')


def outlook_html(reply_paras, block, quoted, lang="en-US"):
    """Outlook desktop (Word HTML): MsoNormal paragraphs, o:p, From block."""
    ps = "".join(f"<p class=MsoNormal>{esc(p)}<o:p></o:p></p>\n"
                 if p else "<p class=MsoNormal><o:p>&nbsp;</o:p></p>\n"
                 for p in reply_paras)
    blk = "<br>\n".join(f"<b>{esc(k)}</b> {esc(v)}" for k, v in block)
    q = "".join(f"<p class=MsoNormal>{esc(l) if l else '<o:p>&nbsp;</o:p>'}"
                f"</p>\n" for l in quoted.split("\n"))
    return (f'<html xmlns:v="urn:schemas-microsoft-com:vml" '
            f'xmlns:o="urn:schemas-microsoft-com:office:office">\n'
            f'<head><meta http-equiv="Content-Type" content="text/html; '
            f'charset=utf-8"><meta name=Generator content="Microsoft Word 15 '
            f'(filtered medium)"><style><!--\n/* Style Definitions */\n'
            f'p.MsoNormal {{margin:0in;font-size:11.0pt;font-family:"Calibri",'
            f'sans-serif;}}\n--></style></head>\n'
            f'<body lang={lang} link="#0563C1" vlink="#954F72" '
            f'style="word-wrap:break-word"><div class=WordSection1>\n{ps}'
            f'<div style="border:none;border-top:solid #E1E1E1 1.0pt;'
            f'padding:3.0pt 0in 0in 0in"><p class=MsoNormal>{blk}<o:p></o:p>'
            f'</p></div>\n<p class=MsoNormal><o:p>&nbsp;</o:p></p>\n{q}'
            f'</div></body></html>\n')
