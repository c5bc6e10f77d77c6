#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Writes the mail corpus (tests/corpora/<theme>/NNN-name.{eml,expected.txt,meta}).

Each message mirrors the header layout, MIME structure, quoting and charset
habits of one real client (see ../README.md).  The .eml files are committed;
this script documents how they were made and regenerates them:
    /usr/bin/python3 tests/corpora/gen/make_corpus.py
Addresses are fictitious (example.com/.net/.org).
"""
from corpus_threading import threading_messages
from corpus_i18n import i18n_messages
from corpus_robots import robot_messages
from corpus_parts import parts_messages

if __name__ == "__main__":
    for gen in (threading_messages, i18n_messages, robot_messages,
                parts_messages):
        gen()
