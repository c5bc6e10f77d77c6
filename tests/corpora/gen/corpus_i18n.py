# SPDX-License-Identifier: AGPL-3.0-or-later
"""i18n/: replies whose quote headers are in es/fr/pt/vi/zh."""
from corpus_lib import ORIG_TEXT, alt, b64, gmail_html, hdr, part, quote, write

T = "i18n"


def gmail(name, frm, subj, date, msgid, reply, attrib, wrap=None):
    plain = (reply + "\n\n" + (wrap or attrib) + "\n\n" + quote(ORIG_TEXT) +
             "\n")
    write(T, name, hdr(frm, subj, date, msgid) +
          alt(plain, gmail_html(reply.replace("\n", "<br>"), attrib,
                                ORIG_TEXT), "00000000000012ab34cd56ef"),
          reply)


def outlook(name, frm, subj, date, msgid, reply, block, charset="utf-8",
            enc="quoted-printable"):
    plain = (reply + "\n\n________________________________\n" + block +
             "\n\n" + ORIG_TEXT + "\n")
    write(T, name, hdr(frm, subj, date, msgid, "Content-Language: es-US\n") +
          part("text/plain", plain, charset, enc), reply)


def i18n_messages():
    gmail("101-gmail-es", "Lucía Hernández <lucia.hdz@example.com>",
          "Re: Excursión", "Mon, 3 Mar 2025 11:20:00 -0600",
          "CAM5s1Kq2Wz8xP0a@mail.gmail.com",
          "Sí, mi hija puede ir. Mañana le mando el permiso firmado.\n\n"
          "Gracias,\nLucía",
          "El lun, 3 mar 2025 a las 10:15, Lincoln Elementary (<office@"
          "lincoln.example.org>) escribió:")
    outlook("102-outlook-es", "Pedro Ruiz <pruiz@example.org>",
            "RE: Excursión", "Mon, 3 Mar 2025 18:02:00 +0000",
            "BN7PR02MB4020A1@BN7PR02MB4020.namprd02.prod.outlook.com",
            "¿A qué hora regresan del museo?",
            "De: Lincoln Elementary <office@lincoln.example.org>\nEnviado: "
            "lunes, 3 de marzo de 2025 10:15\nPara: Pedro Ruiz <pruiz@"
            "example.org>\nAsunto: Excursión")
    gmail("103-gmail-fr", "Claire Martin <claire.martin@example.net>",
          "Re: Sortie scolaire", "Mon, 3 Mar 2025 17:40:12 +0100",
          "CAF7pZ2m1Lq9@mail.gmail.com",
          "Bonjour,\n\nC’est signé, Hugo le rapporte demain.\n\nCordialement",
          "Le lun. 3 mars 2025 à 16:15, Lincoln Elementary <office@lincoln."
          "example.org> a écrit\u00a0:")
    outlook("104-outlook-fr", "Julien Moreau <j.moreau@example.net>",
            "RE: Sortie scolaire", "Mon, 3 Mar 2025 17:55:00 +0000",
            "PR3P195MB0734B2@PR3P195MB0734.EURP195.PROD.OUTLOOK.COM",
            "Merci, bien reçu.",
            "De : Lincoln Elementary <office@lincoln.example.org>\nEnvoyé : "
            "lundi 3 mars 2025 16:15\nÀ : Julien Moreau <j.moreau@example."
            "net>\nObjet : Sortie scolaire")
    gmail("105-gmail-pt", "Ana Souza <ana.souza@example.com>",
          "Re: Passeio escolar", "Mon, 3 Mar 2025 12:10:00 -0300",
          "CAB1x0Zq7Yt@mail.gmail.com",
          "Olá! Ele vai sim. Já assinei a autorização.",
          "Em seg., 3 de mar. de 2025 às 12:15, Lincoln Elementary <"
          "office@lincoln.example.org> escreveu:")
    write(T, "106-outlook-pt-iphone",
          hdr("Marcos Lima <marcos.lima@example.org>", "RES: Passeio escolar",
              "Mon, 3 Mar 2025 15:30:00 +0000",
              "CP4P284MB1720C3@CP4P284MB1720.BRAP284.PROD.OUTLOOK.COM") +
          part("text/plain", "Obrigado pelo aviso.\n\nEnviado do meu iPhone\n"
               "\nDe: Lincoln Elementary <office@lincoln.example.org>\n"
               "Enviada em: segunda-feira, 3 de março de 2025 12:15\nPara: "
               "Marcos Lima <marcos.lima@example.org>\nAssunto: Passeio "
               "escolar\n\n" + ORIG_TEXT + "\n", "iso-8859-1",
               "quoted-printable"),
          "Obrigado pelo aviso.")
    gmail("107-gmail-vi", "Trần Thị Mai <mai.tran@example.com>",
          "Re: Chuyến đi dã ngoại", "Mon, 3 Mar 2025 22:15:00 +0700",
          "CAG0vN3w5Rk@mail.gmail.com",
          "Dạ, cháu sẽ đi. Tôi đã ký giấy phép rồi ạ.",
          "Vào Th 2, 3 thg 3, 2025 vào lúc 22:15 Lincoln Elementary <"
          "office@lincoln.example.org> đã viết:")
    outlook("108-outlook-vi", "Nguyễn Văn An <an.nguyen@example.net>",
            "RE: Chuyến đi dã ngoại", "Mon, 3 Mar 2025 16:00:00 +0000",
            "SG2PR04MB5506D4@SG2PR04MB5506.apcprd04.prod.outlook.com",
            "Cảm ơn cô, con tôi sẽ mang giấy về.",
            "Từ: Lincoln Elementary <office@lincoln.example.org>\nĐã gửi: "
            "Thứ Hai, 3 tháng 3, 2025 10:15 SA\nĐến: Nguyễn Văn An <an."
            "nguyen@example.net>\nChủ đề: Chuyến đi dã ngoại", "utf-8",
            "base64")
    # Gmail in Chinese: wrapped attribution with 于...写道：
    gmail("109-gmail-zh", "王芳 <wang.fang@example.com>", "Re: 春游通知",
          "Mon, 3 Mar 2025 23:20:00 +0800", "CAD2m8Rp4Xs@mail.gmail.com",
          "好的，谢谢老师！明天交回同意书。",
          "Lincoln Elementary <office@lincoln.example.org> 于2025年3月3日周一 "
          "23:15写道：",
          "Lincoln Elementary <office@lincoln.example.org> "
          "于2025年3月3日周一\n23:15写道：")
    # Outlook in Chinese, GB2312 label, base64.
    block = ("发件人: Lincoln Elementary <office@lincoln.example.org>\n"
             "发送时间: 2025年3月3日 23:15\n收件人: 李伟 <li.wei@example.org>\n"
             "主题: 春游通知")
    reply = "收到，孩子会参加。"
    write(T, "110-outlook-zh-gb2312",
          hdr("=?gb2312?B?" + b64("李伟".encode("gb2312")) +
              "?= <li.wei@example.org>",
              "=?gb2312?B?" + b64("回复: 春游通知".encode("gb2312")) + "?=",
              "Mon, 3 Mar 2025 15:40:00 +0000",
              "TYCPR01MB8473E5@TYCPR01MB8473.jpnprd01.prod.outlook.com") +
          'Content-Type: text/plain; charset="gb2312"\n'
          "Content-Transfer-Encoding: base64\n\n" +
          b64((reply + "\n\n" + block + "\n\n" + ORIG_TEXT + "\n")
              .encode("gb2312")) + "\n",
          reply, ["subject=回复: 春游通知"])
    # Apple Mail in Chinese: 在 ... 写道： and 发自我的iPhone.
    write(T, "111-apple-zh",
          hdr("张伟 <zhang.wei@example.net>", "Re: 春游通知",
              "Mon, 3 Mar 2025 23:30:00 +0800",
              "A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF@example.net",
              "X-Mailer: iPhone Mail (22D72)\n") +
          part("text/plain", "没问题。\n\n发自我的iPhone\n\n> 在 2025年3月3日，"
               "23:15，Lincoln Elementary <office@lincoln.example.org> 写道："
               "\n> \n" + quote(ORIG_TEXT) + "\n", "utf-8", "base64"),
          "没问题。")
    # QQ Mail: GBK text labelled gb2312, dashed 原始邮件 separator.
    reply = "谢谢，已签字。镕"   # 镕 is in GBK but not in GB2312
    body = (reply + "\n\n\n------------------ 原始邮件 ------------------\n"
            "发件人: \"Lincoln Elementary\"<office@lincoln.example.org>;\n"
            "发送时间: 2025年3月3日(星期一) 晚上11:15\n收件人: \"陈静\"<chen."
            "jing@example.com>;\n主题: 春游通知\n\n" + ORIG_TEXT + "\n")
    write(T, "112-qq-mail-gbk",
          hdr("\"=?gb18030?B?" + b64("陈静".encode("gb18030")) +
              "?=\" <chen.jing@example.com>", "=?gb18030?B?" +
              b64("回复：春游通知".encode("gb18030")) + "?=",
              "Mon, 3 Mar 2025 23:40:00 +0800",
              "tencent_5F3B2A1C0D9E8F7A6B5C4D3E2F1A0B9C8D07@qq.com",
              "X-QQ-MIME: TCMime 1.0 by Tencent\nX-Mailer: QQMail 2.x\n") +
          'Content-Type: text/plain; charset="gb2312"\n'
          "Content-Transfer-Encoding: base64\n\n" +
          b64(body.encode("gbk")) + "\n",
          reply)
