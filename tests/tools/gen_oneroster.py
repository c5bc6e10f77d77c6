#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Synthetic OneRoster 1.1 CSV bundle for demos, tests and benchmarks.

    gen_oneroster.py --families N --out DIR [--seed S] [--schools K]
                     [--simple-csv FILE]

Writes manifest.csv, orgs.csv, users.csv, classes.csv, enrollments.csv,
academicSessions.csv and courses.csv for N families, plus expected.json (the
row counts Backpack should hold after importing the bundle into an empty
database; the importer ignores files it does not know).  --simple-csv also
writes the same district as Backpack's simple CSV (one row per student and
guardian).  Deterministic for a given seed; standard library only.

The data imitates a US district's SIS export: home languages drawn from a
US-like mix (about 70% English, 18% Spanish, then Chinese, Vietnamese,
Arabic, Haitian Creole, Somali, Russian, Portuguese, Tagalog, Korean,
French...), written as BCP 47 tags, ISO 639-2 codes, English names or
native names; names in each language's own spelling; families with one to
three children; households with one or two guardians sharing the household
phone; some children with a second household (another guardian with
different contacts); guardians with phone only, e-mail only or both;
agentSourcedIds on the guardian rows, the student rows or both; teachers
with homeroom sections and a second class.

Phone numbers are fictional: NANP 555-0100..0199 lines in real area codes
(libphonenumber accepts them as valid US numbers), unique per household.
Past 33,700 numbers (337 area codes x 100) the generator continues with
555-0200..555-9999 lines in the same area codes: not reserved as fictional
by NANPA, but the 555 exchange is essentially unassigned; the numbers are
never dialled by the tests.  E-mail addresses use the reserved domains
example.org, example.com and example.net.
"""
import argparse
import csv
import json
import os
import random
import sys
import unicodedata

AREA_CODES = [int(x) for x in """
201 202 203 205 206 207 208 209 210 212 213 214 215 216 217 218 219 220 223 224
225 228 229 231 234 239 240 248 251 252 253 254 256 260 262 267 269 270 272 276
279 281 283 301 302 303 304 305 307 308 309 310 312 313 314 315 316 317 318 319
320 321 323 325 326 330 331 332 334 336 337 339 341 346 347 351 352 360 361 364
380 385 386 401 402 404 405 406 407 408 409 410 412 413 414 415 417 419 423 424
425 430 432 434 435 440 442 443 445 447 448 458 463 464 469 470 475 478 479 480
484 501 502 503 504 505 507 508 509 510 512 513 515 516 517 518 520 530 531 534
539 540 541 551 559 561 562 563 564 567 570 571 572 573 574 575 580 582 585 586
601 602 603 605 606 607 608 609 610 612 614 615 616 617 618 619 620 623 626 628
629 630 631 636 640 641 646 650 651 656 657 659 660 661 662 667 669 678 680 681
682 689 701 702 703 704 706 707 708 712 713 714 715 716 717 718 719 720 724 725
726 727 731 732 734 737 740 743 747 754 757 760 762 763 765 769 770 771 772 773
774 775 779 781 785 786 801 802 803 804 805 806 808 810 812 813 814 815 816 817
818 820 826 828 830 831 832 838 839 840 843 845 847 848 850 854 856 857 858 859
860 862 863 864 865 870 872 878 901 903 904 906 907 908 909 910 912 913 914 915
916 917 918 919 920 925 928 929 930 931 934 936 937 938 940 941 943 945 947 948
949 951 952 954 956 959 970 971 972 973 978 979 980 984 985 986 989""".split()]

# language: (weight, written forms of the language, given names, family names)
LANGS = {
    "en": (70.0, ["en", "English", "eng", "", "en-US"],
           "James Mary Robert Patricia John Jennifer Michael Linda David Emily "
           "Olivia Liam Noah Emma Ava Sophia Mason Ethan Harper Aiden".split(),
           "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson "
           "Taylor Thomas Moore Jackson Martin Lee Thompson White Harris "
           "O'Brien Clark".split()),
    "es": (18.0, ["es", "Spanish", "Español", "spa", "es-MX", "SPANISH"],
           "José María Juan Guadalupe Luis Carmen Sofía Mateo Valentina "
           "Santiago Camila Diego Ximena Alejandro Lucía Ángel Íñigo "
           "Dolores".split(),
           "García Rodríguez Martínez Hernández López González Pérez Sánchez "
           "Ramírez Torres Flores Rivera Gómez Díaz Muñoz Peña".split()),
    "zh-Hans": (1.5, ["zh-Hans", "Chinese (Simplified)", "简体中文", "zh-CN"],
                "伟 芳 娜 秀英 敏 静 丽 强 磊 洋 Wei Fang Jing Lei".split(),
                "王 李 张 刘 陈 杨 Wang Li Zhang Liu Chen Yang".split()),
    "zh-Hant": (1.0, ["zh-Hant", "Chinese (Traditional)", "繁體中文", "zh-TW"],
                "家豪 志明 淑芬 美玲 俊傑 Chia-Hao Mei-Ling Chun-Chieh".split(),
                "陳 林 黃 張 Chen Lin Huang Chang".split()),
    "yue": (0.3, ["Cantonese", "yue", "廣東話"],
            "Ka-Ming Wing Siu-Fung Hoi-Yan".split(),
            "Chan Wong Leung Cheung".split()),
    "vi": (1.8, ["vi", "Vietnamese", "Tiếng Việt", "vie"],
           "Anh Bảo Châu Dũng Hà Hương Khánh Linh Minh Ngọc Phương Quân "
           "Thảo Tuấn".split(),
           "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng".split()),
    "ar": (1.3, ["ar", "Arabic", "العربية", "ara"],
           "Mohammed Ahmed Fatima Aisha Omar Layla Youssef Mariam Hassan "
           "Nour محمد فاطمة".split(),
           "Al-Sayed Haddad Mansour Khalil Nasser Saleh Hamdan حداد".split()),
    "ht": (1.0, ["ht", "Haitian Creole", "Kreyòl", "Kreyòl ayisyen", "hat"],
           "Jean Marie Pierre Fabienne Jacques Nadège Wilner Rose-Carline "
           "Ketly Frantz".split(),
           "Jean-Baptiste Pierre-Louis Joseph Charles Desir Étienne "
           "Augustin".split()),
    "so": (0.8, ["so", "Somali", "Af-Soomaali", "som"],
           "Abdi Hodan Mohamed Fadumo Ayaan Hamza Ifrah Yusuf Sahra".split(),
           "Warsame Farah Hassan Abdullahi Omar Jama Osman".split()),
    "ru": (0.8, ["ru", "Russian", "Русский", "rus"],
           "Александр Мария Дмитрий Анна Ivan Olga Sergei Natalia".split(),
           "Иванов Смирнова Kuznetsov Popova Volkov Sokolova".split()),
    "pt": (0.8, ["pt", "Portuguese", "Português", "pt-BR"],
           "João Ana Pedro Beatriz Gonçalo Inês Thiago Luíza".split(),
           "Silva Santos Oliveira Souza Conceição Gonçalves".split()),
    "tl": (0.6, ["tl", "Tagalog", "Filipino", "tgl"],
           "Jose Maria Juan Rosario Mark Angelica Jericho Maricel".split(),
           "Santos Reyes Cruz Bautista Ocampo Dela Cruz Mendoza".split()),
    "ko": (0.5, ["ko", "Korean", "한국어", "kor"],
           "민준 서연 Ji-woo Seo-yeon Min-jun Ha-eun Do-yoon".split(),
           "김 이 박 Kim Lee Park Choi Jung".split()),
    "fr": (0.5, ["fr", "French", "Français", "fra"],
           "Camille Léa Hugo Chloé Mathéo Aïcha Moussa Amadou".split(),
           "Martin Bernard Dubois Diallo Traoré Lefèvre".split()),
    "am": (0.2, ["am", "Amharic", "አማርኛ"],
           "Abebe Tigist Dawit Meron Yonas".split(),
           "Tesfaye Bekele Girma Haile".split()),
    "ne": (0.2, ["ne", "Nepali", "नेपाली"],
           "Sita Ram Bishnu Gita Anish".split(),
           "Gurung Tamang Sharma Thapa".split()),
    "other": (0.2, ["Klingon", "Other", "Elvish"],
              "Kahless Martok Arwen".split(), "Sonofmogh Undomiel".split()),
}

EMAIL_DOMAINS = ["example.org", "example.com", "example.net"]
GRADES = ["KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10",
          "11", "12"]
SUBJECTS = ["Math", "ELA", "Science", "Social Studies", "Art", "Music", "PE",
            "Spanish", "Band", "Robotics"]


class Phones:
    """Unique fictional NANP numbers, in varied written formats."""

    def __init__(self, rnd):
        self.codes = AREA_CODES[:]
        rnd.shuffle(self.codes)
        self.i = 0

    def next(self, rnd):
        per = 100 * len(self.codes)
        block, rest = divmod(self.i, per)
        code = self.codes[rest // 100]
        if block >= 11:                        # keep clear of 555-1212
            block += 1
        line = 100 + block * 100 + rest % 100
        self.i += 1
        if line > 9999:
            raise SystemExit("gen_oneroster: out of phone numbers")
        e164 = "+1%d555%04d" % (code, line)
        a, l4 = str(code), "%04d" % line
        written = rnd.choice([
            "(%s) 555-%s" % (a, l4), "%s-555-%s" % (a, l4),
            "%s.555.%s" % (a, l4), "+1 %s 555 %s" % (a, l4),
            "%s555%s" % (a, l4), "1-%s-555-%s" % (a, l4),
            "+1 (%s) 555-%s" % (a, l4)])
        return written, e164


def ascii_fold(s):
    s = unicodedata.normalize("NFKD", s)
    s = "".join(ch for ch in s if ch.isascii() and (ch.isalnum()))
    return s.lower()


def pick_lang(rnd, langs, weights):
    return rnd.choices(langs, weights)[0]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--schools", type=int, default=0,
                    help="default: one per 400 families, at most 40")
    ap.add_argument("--simple-csv")
    a = ap.parse_args(argv)
    rnd = random.Random(a.seed)
    nschools = a.schools or max(1, min(40, a.families // 400))
    os.makedirs(a.out, exist_ok=True)
    gen = District(rnd, a.families, nschools)
    gen.build()
    gen.write(a.out)
    if a.simple_csv:
        gen.write_simple(a.simple_csv)
    return 0


class District:
    def __init__(self, rnd, families, nschools):
        self.rnd = rnd
        self.nfam = families
        self.nschools = nschools
        self.phones = Phones(rnd)
        self.langs = list(LANGS)
        self.weights = [LANGS[k][0] for k in self.langs]
        self.users = []          # dicts
        self.students = []       # (sid, school, grade)
        self.enrollments = []
        self.classes = []
        self.teachers = []
        self.sg = set()          # (student, guardian)
        self.gc = set()          # (guardian, e164-or-email)
        self.contacts = set()
        self.simple_rows = []
        self.n_email = 0

    def email(self, given, family):
        self.n_email += 1
        local = (ascii_fold(given)[:12] or "parent") + "." + \
            (ascii_fold(family)[:12] or "family")
        addr = "%s%d@%s" % (local, self.n_email, self.rnd.choice(EMAIL_DOMAINS))
        written = addr if self.rnd.random() < 0.8 else \
            " " + addr[0].upper() + addr[1:].replace("@E", "@e") + " "
        return written, addr.lower()

    def guardian(self, fam, k, lang, household_phone, kind, rel, kids):
        rnd = self.rnd
        forms, given, family = LANGS[lang][1], LANGS[lang][2], LANGS[lang][3]
        gid = "g-%d-%d" % (fam, k)
        g = {"sourcedId": gid, "role": rel,
             "givenName": rnd.choice(given), "familyName": rnd.choice(family),
             "metadata.homeLanguage": rnd.choice(forms)}
        sms = phone = email = ""
        if kind in ("phone", "both"):
            written, e164 = household_phone
            if rnd.random() < 0.5:
                sms = written
            else:
                phone = written
            self.gc.add((gid, e164))
            self.contacts.add(e164)
            if rnd.random() < 0.15:      # a personal mobile as well
                written2, e2 = self.phones.next(rnd)
                sms, phone = written2, written
                self.gc.add((gid, e2))
                self.contacts.add(e2)
        if kind in ("email", "both"):
            email, norm = self.email(g["givenName"], g["familyName"])
            self.gc.add((gid, norm))
            self.contacts.add(norm)
        g.update({"sms": sms, "phone": phone, "email": email})
        if kind == "both" and rnd.random() < 0.2:
            g["metadata.preferredChannel"] = "email"
        where = rnd.random()
        g["_agents_on_guardian"] = where < 0.6
        g["_agents_on_student"] = where >= 0.4
        g["agentSourcedIds"] = ",".join(kids) if where < 0.6 else ""
        for s in kids:
            self.sg.add((s, gid))
        self.users.append(g)
        return g

    def build(self):
        rnd = self.rnd
        schools = ["sch-%d" % i for i in range(1, self.nschools + 1)]
        self.schools = schools
        student_n = 0
        for fam in range(1, self.nfam + 1):
            lang = pick_lang(rnd, self.langs, self.weights)
            family = rnd.choice(LANGS[lang][3])
            nkids = rnd.choices([1, 2, 3], [60, 30, 10])[0]
            kids = []
            for _ in range(nkids):
                student_n += 1
                sid = "s-%d" % student_n
                school = rnd.choice(schools)
                grade = rnd.choice(GRADES)
                self.students.append((sid, school, grade))
                self.users.append({
                    "sourcedId": sid, "role": "student",
                    "givenName": rnd.choice(LANGS[lang][2]),
                    "familyName": family, "orgSourcedIds": school,
                    "grades": grade, "_guardians": []})
                kids.append(sid)
            kind = rnd.choices(["phone", "email", "both"], [45, 15, 40])[0]
            hphone = self.phones.next(rnd) if kind != "email" else None
            guardians = []
            ng = rnd.choices([1, 2], [45, 55])[0]
            for k in range(ng):
                rel = rnd.choices(["parent", "guardian", "relative"],
                                  [87, 8, 5])[0]
                guardians.append(self.guardian(fam, k, lang, hphone, kind,
                                               rel, kids))
            if rnd.random() < 0.10:            # a second household
                lang2 = lang if rnd.random() < 0.7 else "en"
                kind2 = rnd.choices(["phone", "email", "both"], [45, 15, 40])[0]
                hphone2 = self.phones.next(rnd) if kind2 != "email" else None
                guardians.append(self.guardian(fam, 9, lang2, hphone2, kind2,
                                               "parent", kids))
            for u in self.users[-(len(guardians) + nkids):-len(guardians)]:
                u["agentSourcedIds"] = ",".join(
                    g["sourcedId"] for g in guardians if g["_agents_on_student"])
            for g in guardians:
                for s in kids:
                    self.simple_rows.append((s, g))
        self.build_classes()

    def build_classes(self):
        rnd = self.rnd
        by_school = {}
        for sid, school, grade in self.students:
            by_school.setdefault(school, []).append(sid)
        t = 0
        for school in self.schools:
            kids = by_school.get(school, [])
            nteach = max(1, len(kids) // 22)
            homerooms = []
            for i in range(nteach):
                t += 1
                lang = "en" if rnd.random() < 0.85 else "es"
                given = rnd.choice(LANGS[lang][2])
                family = rnd.choice(LANGS[lang][3])
                tid = "t-%d" % t
                self.teachers.append(tid)
                self.users.append({
                    "sourcedId": tid, "role": "teacher", "givenName": given,
                    "familyName": family, "orgSourcedIds": school,
                    "email": "%s.%s.t%d@example.org" % (
                        ascii_fold(given)[:10] or "teacher",
                        ascii_fold(family)[:10] or "staff", t)})
                for c, subj in enumerate(("Homeroom", rnd.choice(SUBJECTS))):
                    cid = "c-%d-%d" % (t, c)
                    self.classes.append((cid, "%s %s" % (subj, family), school))
                    self.enrollments.append((cid, tid, "teacher"))
                    if c == 0:
                        homerooms.append(cid)
            for i, sid in enumerate(kids):
                self.enrollments.append((homerooms[i % nteach], sid, "student"))
                if rnd.random() < 0.5:
                    other = "c-%d-1" % (int(homerooms[rnd.randrange(nteach)]
                                            .split("-")[1]))
                    self.enrollments.append((other, sid, "student"))

    def write(self, out):
        def w(name, header, rows):
            with open(os.path.join(out, name), "w", newline="",
                      encoding="utf-8") as f:
                wr = csv.writer(f, lineterminator="\r\n")
                wr.writerow(header)
                wr.writerows(rows)
        files = ["orgs", "users", "classes", "enrollments",
                 "academicSessions", "courses"]
        w("manifest.csv", ["propertyName", "value"],
          [["manifest.version", "1.0"], ["oneroster.version", "1.1"]] +
          [["file.%s" % f, "bulk"] for f in files] +
          [["file.demographics", "absent"]])
        w("orgs.csv", ["sourcedId", "status", "dateLastModified", "name",
                       "type", "identifier", "parentSourcedId"],
          [["district-1", "", "", "Demo Unified School District", "district",
            "D1", ""]] +
          [[s, "", "", "Demo School %s" % s.split("-")[1], "school",
            s.upper(), "district-1"] for s in self.schools])
        w("academicSessions.csv", ["sourcedId", "status", "dateLastModified",
                                   "title", "type", "startDate", "endDate",
                                   "parentSourcedId", "schoolYear"],
          [["term-1", "", "", "2026-2027", "schoolYear", "2026-08-20",
            "2027-06-15", "", "2027"]])
        w("courses.csv", ["sourcedId", "status", "dateLastModified",
                          "schoolYearSourcedId", "title", "courseCode",
                          "grades", "orgSourcedId", "subjects"],
          [["course-%d" % i, "", "", "term-1", s, "C%d" % i, "", "district-1",
            s] for i, s in enumerate(SUBJECTS)])
        w("classes.csv", ["sourcedId", "status", "dateLastModified", "title",
                          "grades", "courseSourcedId", "classCode",
                          "classType", "location", "schoolSourcedId",
                          "termSourcedIds", "subjects"],
          [[c, "", "", title, "", "course-0", c, "homeroom", "", school,
            "term-1", ""] for c, title, school in self.classes])
        w("enrollments.csv", ["sourcedId", "status", "dateLastModified",
                              "classSourcedId", "schoolSourcedId",
                              "userSourcedId", "role", "primary",
                              "beginDate", "endDate"],
          [["e-%d" % i, "", "", c, "", u, role, "", "", ""]
           for i, (c, u, role) in enumerate(self.enrollments)])
        ucols = ["sourcedId", "status", "dateLastModified", "enabledUser",
                 "orgSourcedIds", "role", "username", "userIds", "givenName",
                 "familyName", "middleName", "identifier", "email", "sms",
                 "phone", "agentSourcedIds", "grades", "password",
                 "metadata.homeLanguage", "metadata.preferredChannel"]
        w("users.csv", ucols,
          [[u.get(c, "true" if c == "enabledUser" else "") for c in ucols]
           for u in self.users])
        expected = {
            "schools": self.nschools, "sections": len(self.classes),
            "staff": len(self.teachers), "students": len(self.students),
            "guardians": sum(1 for u in self.users
                             if u["role"] in ("parent", "guardian",
                                              "relative")),
            "contacts": len(self.contacts),
            "sms_contacts": sum(1 for c in self.contacts if c[0] == "+"),
            "email_contacts": sum(1 for c in self.contacts if c[0] != "+"),
            "student_guardian": len(self.sg), "guardian_contact": len(self.gc),
            "enrollments": sum(1 for e in self.enrollments
                               if e[2] == "student"),
            "section_staff": sum(1 for e in self.enrollments
                                 if e[2] == "teacher"),
            "users": len(self.users),
        }
        with open(os.path.join(out, "expected.json"), "w") as f:
            json.dump(expected, f, indent=1, sort_keys=True)

    def write_simple(self, path):
        cols = ["student_id", "student_first_name", "student_last_name",
                "grade", "guardian_id", "guardian_first_name",
                "guardian_last_name", "relationship", "phone", "email",
                "language", "preferred_channel"]
        students = {u["sourcedId"]: u for u in self.users
                    if u["role"] == "student"}
        with open(path, "w", newline="", encoding="utf-8") as f:
            wr = csv.writer(f)
            wr.writerow(cols)
            for sid, g in self.simple_rows:
                s = students[sid]
                wr.writerow([sid, s["givenName"], s["familyName"],
                             s["grades"], g["sourcedId"], g["givenName"],
                             g["familyName"], g["role"],
                             g["sms"] or g["phone"], g["email"],
                             g["metadata.homeLanguage"],
                             g.get("metadata.preferredChannel", "")])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
