-- SPDX-License-Identifier: AGPL-3.0-or-later
-- bp:foreign_keys=off
-- 0005: message's three unique keys that are NULL on most rows (the e-mail
-- Message-ID and raw SHA-256 of an inbound e-mail, the provider's id of an
-- SMS) become partial unique indexes.  An announcement writes one message
-- per student with all three NULL (~150,000 rows for 100,000 families), an
-- inbound SMS two of them: each NULL was an index entry.  Same uniqueness
-- (NULLs were never equal); lookups by `col = ?` imply the WHERE clauses,
-- so the planner still uses them (tests/unit/store/test_schema.c); the
-- inbound SMS upsert names the partial index's WHERE in its ON CONFLICT.
-- SQLite cannot drop a column constraint, so the table is rebuilt by the
-- 12-step procedure.  delivery, consent_event and inbound_unmatched
-- reference message: dropping it with foreign keys on would delete or
-- change their rows (ON DELETE CASCADE / SET NULL), hence the marker above:
-- the runner switches foreign keys off around this migration and checks them
-- (PRAGMA foreign_key_check) before the commit (src/store/migrate.c).
CREATE TABLE message_new (
    id               INTEGER PRIMARY KEY,
    conversation_id  INTEGER REFERENCES conversation(id) ON DELETE CASCADE,
    direction        TEXT NOT NULL CHECK ((direction = 'in' OR direction = 'out' OR direction = 'note')),
    channel          TEXT NOT NULL CHECK ((channel = 'sms' OR channel = 'email' OR channel = 'dashboard')),
    kind             TEXT NOT NULL DEFAULT 'normal'
                     CHECK ((kind = 'normal' OR kind = 'keyword_stop' OR kind = 'keyword_start' OR kind = 'keyword_help' OR kind = 'auto_reply' OR kind = 'bounce' OR kind = 'system')),
    possible_revocation INTEGER NOT NULL DEFAULT 0 CHECK (possible_revocation IN (0, 1)),
    author_staff_id  INTEGER REFERENCES staff(id) ON DELETE SET NULL,
    guardian_id      INTEGER REFERENCES guardian(id) ON DELETE SET NULL,
    contact_id       INTEGER REFERENCES contact(id) ON DELETE SET NULL,
    announcement_id  INTEGER REFERENCES announcement(id) ON DELETE SET NULL,
    from_address     TEXT,
    to_address       TEXT,
    subject          TEXT,
    body             TEXT NOT NULL,
    body_full        TEXT,
    original_locale  TEXT,
    original_body    TEXT,
    machine_translated INTEGER NOT NULL DEFAULT 0 CHECK (machine_translated IN (0, 1)),
    provider         TEXT,
    provider_msg_id  TEXT,
    email_message_id TEXT,
    in_reply_to      TEXT,
    references_hdr   TEXT,
    raw_sha256       TEXT,
    media            TEXT CHECK (media IS NULL OR json_valid(media)),
    match_rule       TEXT CHECK (match_rule IS NULL OR match_rule = 'reply_token'
                     OR match_rule = 'email_header' OR match_rule = 'single_student'
                     OR match_rule = 'recent_outbound' OR match_rule = 'triage'
                     OR match_rule = 'assigned' OR match_rule = 'outbound'),
    created_at       INTEGER NOT NULL,
    CHECK ((provider IS NULL) = (provider_msg_id IS NULL)),
    -- outbound messages belong to a student's conversation, except system
    -- replies (STOP/HELP confirmations) to numbers no student is linked to
    CHECK (direction <> 'out' OR conversation_id IS NOT NULL OR kind = 'system')
) STRICT;
INSERT INTO message_new SELECT * FROM message;
DROP TABLE message;
ALTER TABLE message_new RENAME TO message;
CREATE INDEX message_conversation ON message(conversation_id, created_at);
CREATE INDEX message_announcement ON message(announcement_id)
    WHERE announcement_id IS NOT NULL;
CREATE INDEX message_contact ON message(contact_id, direction, created_at)
    WHERE contact_id IS NOT NULL;
CREATE UNIQUE INDEX message_provider_msg ON message(provider, provider_msg_id)
    WHERE provider_msg_id IS NOT NULL;
CREATE UNIQUE INDEX message_email_message_id ON message(email_message_id)
    WHERE email_message_id IS NOT NULL;
CREATE UNIQUE INDEX message_raw_sha256 ON message(raw_sha256)
    WHERE raw_sha256 IS NOT NULL;
