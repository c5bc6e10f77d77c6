/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Reply extraction (src/mime/reply.c): markers, quotes, signatures. */
#include "bp_test.h"
#include "bp/mime.h"

#define CHECK(text, want)                                                  \
    do {                                                                   \
        char *got_ = bp_mime_extract_reply(text);                          \
        int ok_ = strcmp(got_, (want)) == 0;                               \
        if (!ok_)                                                          \
            printf("# got:\n%s\n# want:\n%s\n", got_, (want));             \
        free(got_);                                                        \
        ASSERT_TRUE(ok_);                                                  \
    } while (0)

static void test_gmail_attribution(void)
{
    CHECK("Yes, he will be there.\n\nOn Mon, Mar 3, 2025 at 10:15 AM "
          "Lincoln Office <office@lincoln.example.org> wrote:\n\n> Field "
          "trip on Friday.\n> Thanks\n",
          "Yes, he will be there.");
    /* Wrapped over two lines by Gmail's plain-text formatter. */
    CHECK("OK thanks\n\nOn Mon, Mar 3, 2025 at 10:15 AM Lincoln Elementary "
          "School Office <\noffice@lincoln.example.org> wrote:\n\n> quoted\n",
          "OK thanks");
}

static void test_localized_attributions(void)
{
    CHECK("Sí, gracias.\n\nEl lun, 3 mar 2025 a las 10:15, Oficina "
          "(<office@x.example>) escribió:\n> hola\n", "Sí, gracias.");
    CHECK("Oui merci.\n\nLe lun. 3 mars 2025 à 10:15, Bureau "
          "<office@x.example> a écrit\xc2\xa0:\n> bonjour\n", "Oui merci.");
    CHECK("Sim.\n\nEm seg., 3 de mar. de 2025 às 10:15, Escola "
          "<office@x.example> escreveu:\n> oi\n", "Sim.");
    CHECK("Vâng.\n\nVào Th 2, 3 thg 3, 2025 vào lúc 10:15 Trường "
          "<office@x.example> đã viết:\n> chào\n", "Vâng.");
    CHECK("好的。\n\n学校 <office@x.example> 于2025年3月3日周一 10:15写道："
          "\n> 你好\n", "好的。");
    CHECK("收到\n\n在 2025年3月3日，10:15，学校 <office@x.example> 写道:\n\n"
          "> 你好\n", "收到");
}

static void test_not_an_attribution(void)
{
    /* No date or address: a sentence, not a marker. */
    CHECK("My son wrote:\nI like school\n", "My son wrote:\nI like school");
    CHECK("On Monday he wrote:\nhi", "On Monday he wrote:\nhi");
}

static void test_bare_attribution_before_a_quote(void)
{
    /* No date or address, but a '>' quote follows at once: a marker. */
    CHECK("Thank you, he will bring his lunch.\n\nOn Mon, Riverside wrote:\n"
          "> Field trip tomorrow!\n", "Thank you, he will bring his lunch.");
    CHECK("Gracias.\n\nEl lunes, la escuela escribió:\n\n> Excursión\n", "Gracias.");
}

static void test_outlook_blocks(void)
{
    CHECK("Thanks!\n\n________________________________\nFrom: Lincoln "
          "<office@x.example>\nSent: Monday, March 3, 2025 10:15 AM\nTo: "
          "Jane <jane@y.example>\nSubject: Field trip\n\nBody of original\n",
          "Thanks!");
    CHECK("Gracias\n\nDe: Escuela <office@x.example>\nEnviado: lunes, 3 de "
          "marzo de 2025 10:15\nPara: jane@y.example\nAsunto: Excursión\n\n"
          "original\n", "Gracias");
    CHECK("Merci\n\nDe : École <office@x.example>\nEnvoyé : lundi 3 mars "
          "2025 10:15\nÀ : jane@y.example\nObjet : Sortie\n", "Merci");
    CHECK("Obrigado\n\nDe: Escola <office@x.example>\nEnviada em: segunda-"
          "feira, 3 de março de 2025 10:15\nPara: jane@y.example\nAssunto: "
          "Passeio\n", "Obrigado");
    CHECK("Cảm ơn\n\nTừ: Trường <office@x.example>\nĐã gửi: Thứ Hai, 3 "
          "tháng 3, 2025 10:15\nĐến: jane@y.example\nChủ đề: Dã ngoại\n",
          "Cảm ơn");
    CHECK("谢谢\n\n发件人: 学校 <office@x.example>\n发送时间: 2025年3月3日 "
          "10:15\n收件人: jane@y.example\n主题: 郊游\n", "谢谢");
    CHECK("Bold\n\n*From:* Lincoln <office@x.example>\n*Sent:* Monday\n"
          "*To:* jane@y.example\n*Subject:* Trip\n", "Bold");
    /* "From:" in the reply itself is not a block without other keys. */
    CHECK("From: my husband\nHe says yes.", "From: my husband\nHe says yes.");
}

static void test_separators(void)
{
    CHECK("See below\n\n-----Original Message-----\nFrom: a\nquoted\n",
          "See below");
    CHECK("Ver abajo\n\n-----Mensaje original-----\nDe: a\n", "Ver abajo");
    CHECK("Voir\n\n-------- Message d'origine --------\nDe : a\n", "Voir");
    CHECK("FYI\n\n---------- Forwarded message ---------\nFrom: a\n", "FYI");
    CHECK("Look\n\nBegin forwarded message:\n\nFrom: a\n", "Look");
    CHECK("看\n\n------------------ 原始邮件 ------------------\n发件人: a\n",
          "看");
    /* A forward without comment has no reply. */
    CHECK("---------- Forwarded message ---------\nFrom: a\nhello\n", "");
}

static void test_signatures(void)
{
    CHECK("Yes\n\nSent from my iPhone", "Yes");
    CHECK("Yes\n\nEnviado desde mi iPhone\n", "Yes");
    CHECK("Oui\n\nEnvoyé de mon iPhone\n", "Oui");
    CHECK("Sim\n\nEnviado do meu iPhone\n", "Sim");
    CHECK("Ok\n\nGet Outlook for Android<https://aka.ms/ghei36>\n", "Ok");
    CHECK("Ok\n\nSent from Yahoo Mail on Android\n", "Ok");
    CHECK("Ok\n\n-- \nJane Doe\n555 Street\n", "Ok");
    CHECK("Ok\n--\nJane", "Ok");
    /* Dashes inside text are not a delimiter. */
    CHECK("a -- b\nc", "a -- b\nc");
}

static void test_quotes_and_bottom_posting(void)
{
    CHECK("> Will he come?\nYes.\n> And lunch?\nNo lunch.\n",
          "Yes.\n\nNo lunch.");
    CHECK("On Mon, Mar 3, 2025, 10:15 AM, Office <o@x.example> wrote:\n\n"
          "> Will he come?\n\nYes he will.\n\n> Lunch?\n\nPacked.\n\n-- \n"
          "Jane\n", "Yes he will.\n\nPacked.");
    CHECK("Thanks\n\nSent from my iPhone\n\n> On Mar 3, 2025, at 10:15 AM, "
          "Office <o@x.example> wrote:\n> \n> Trip\n", "Thanks");
}

static void test_edges(void)
{
    CHECK("", "");
    CHECK("\n\n\n", "");
    CHECK("> only quotes\n> here\n", "");
    CHECK("  indented\n\n\n\ntext  \n", "  indented\n\ntext");
    char *r = bp_mime_extract_reply(NULL);
    ASSERT_STR_EQ(r, "");
    free(r);
}

int main(void)
{
    BP_TEST(test_gmail_attribution);
    BP_TEST(test_localized_attributions);
    BP_TEST(test_not_an_attribution);
    BP_TEST(test_bare_attribution_before_a_quote);
    BP_TEST(test_outlook_blocks);
    BP_TEST(test_separators);
    BP_TEST(test_signatures);
    BP_TEST(test_quotes_and_bottom_posting);
    BP_TEST(test_edges);
    return bp_test_done();
}
