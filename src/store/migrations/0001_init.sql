-- SPDX-License-Identifier: AGPL-3.0-or-later
-- 0001: the whole data model (DESIGN.md section 3).
-- Times are INTEGER milliseconds since the Unix epoch (UTC).
-- Enumerations are TEXT with CHECK constraints, so bad data cannot be stored.
-- They are written as OR chains, not `x IN (...)`: SQLite evaluates an IN list
-- of more than two constants through a temporary b-tree built on every row
-- written, which made inserts several times slower (measured with callgrind).
-- Runs inside one transaction; the runner sets PRAGMA user_version = 1.

CREATE TABLE school (
    id              INTEGER PRIMARY KEY,
    sourced_id      TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL CHECK (length(name) > 0),
    timezone        TEXT NOT NULL DEFAULT 'America/New_York',
    default_locale  TEXT NOT NULL DEFAULT 'en',
    phone           TEXT,
    email           TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE staff (
    id              INTEGER PRIMARY KEY,
    school_id       INTEGER REFERENCES school(id) ON DELETE SET NULL,
    sourced_id      TEXT UNIQUE,
    email           TEXT NOT NULL UNIQUE CHECK (email = lower(email) AND email LIKE '%_@_%'),
    display_name    TEXT NOT NULL DEFAULT '',
    role            TEXT NOT NULL CHECK ((role = 'teacher' OR role = 'admin' OR role = 'monitor')),
    password_hash   TEXT CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%'),
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE section (
    id              INTEGER PRIMARY KEY,
    school_id       INTEGER NOT NULL REFERENCES school(id) ON DELETE CASCADE,
    sourced_id      TEXT NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX section_school ON section(school_id);

CREATE TABLE section_staff (
    section_id      INTEGER NOT NULL REFERENCES section(id) ON DELETE CASCADE,
    staff_id        INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    PRIMARY KEY (section_id, staff_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX section_staff_staff ON section_staff(staff_id);

CREATE TABLE student (
    id              INTEGER PRIMARY KEY,
    school_id       INTEGER NOT NULL REFERENCES school(id) ON DELETE CASCADE,
    sourced_id      TEXT NOT NULL UNIQUE,
    given_name      TEXT NOT NULL,
    family_name     TEXT NOT NULL,
    preferred_name  TEXT,
    grade           TEXT,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX student_school ON student(school_id);

CREATE TABLE enrollment (
    section_id      INTEGER NOT NULL REFERENCES section(id) ON DELETE CASCADE,
    student_id      INTEGER NOT NULL REFERENCES student(id) ON DELETE CASCADE,
    PRIMARY KEY (section_id, student_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX enrollment_student ON enrollment(student_id);

CREATE TABLE guardian (
    id                INTEGER PRIMARY KEY,
    sourced_id        TEXT NOT NULL UNIQUE,
    given_name        TEXT NOT NULL,
    family_name       TEXT NOT NULL,
    locale            TEXT NOT NULL DEFAULT 'en' CHECK (length(locale) BETWEEN 2 AND 35),
    preferred_channel TEXT NOT NULL DEFAULT 'sms' CHECK (preferred_channel IN ('sms', 'email')),
    timezone          TEXT,
    digest            TEXT NOT NULL DEFAULT 'none' CHECK ((digest = 'none' OR digest = 'daily' OR digest = 'weekly')),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;

CREATE TABLE student_guardian (
    student_id      INTEGER NOT NULL REFERENCES student(id) ON DELETE CASCADE,
    guardian_id     INTEGER NOT NULL REFERENCES guardian(id) ON DELETE CASCADE,
    relationship    TEXT NOT NULL DEFAULT 'guardian'
                    CHECK ((relationship = 'parent' OR relationship = 'guardian' OR relationship = 'relative' OR relationship = 'other')),
    may_receive     INTEGER NOT NULL DEFAULT 1 CHECK (may_receive IN (0, 1)),
    PRIMARY KEY (student_id, guardian_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX student_guardian_guardian ON student_guardian(guardian_id);

-- A contact is one address (a phone number in E.164 or a lower-cased e-mail
-- address).  It is unique: a phone shared by two guardians of a household is
-- one contact linked to both, so an opt-out of that number holds for both.
CREATE TABLE contact (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('sms', 'email')),
    address         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'active'
                    CHECK ((status = 'active' OR status = 'opted_out' OR status = 'invalid' OR status = 'bounced')),
    consent_source  TEXT CHECK (consent_source IS NULL OR
                    (consent_source = 'roster' OR consent_source = 'sms_keyword' OR consent_source = 'staff' OR consent_source = 'carrier' OR consent_source = 'email' OR consent_source = 'api')),
    consent_at      INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (kind, address),
    CHECK ((kind = 'sms' AND address GLOB '+[1-9]*' AND address NOT GLOB '+*[^0-9]*'
                         AND length(address) BETWEEN 8 AND 16)
        OR (kind = 'email' AND address = lower(address) AND address LIKE '%_@_%'))
) STRICT;

CREATE TABLE guardian_contact (
    guardian_id     INTEGER NOT NULL REFERENCES guardian(id) ON DELETE CASCADE,
    contact_id      INTEGER NOT NULL REFERENCES contact(id) ON DELETE CASCADE,
    PRIMARY KEY (guardian_id, contact_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX guardian_contact_contact ON guardian_contact(contact_id);

CREATE TABLE conversation (
    id              INTEGER PRIMARY KEY,
    student_id      INTEGER NOT NULL UNIQUE REFERENCES student(id) ON DELETE CASCADE,
    reply_token     TEXT NOT NULL UNIQUE,
    last_message_at INTEGER,
    created_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE announcement (
    id              INTEGER PRIMARY KEY,
    school_id       INTEGER REFERENCES school(id) ON DELETE SET NULL,
    author_staff_id INTEGER REFERENCES staff(id) ON DELETE SET NULL,
    audience_kind   TEXT NOT NULL CHECK ((audience_kind = 'student' OR audience_kind = 'section' OR audience_kind = 'school' OR audience_kind = 'custom')),
    audience_ref    TEXT,
    template_key    TEXT,
    template_args   TEXT CHECK (template_args IS NULL OR json_valid(template_args)),
    body            TEXT,
    urgency         TEXT NOT NULL DEFAULT 'normal' CHECK (urgency IN ('normal', 'urgent')),
    allow_fallback  INTEGER NOT NULL DEFAULT 0 CHECK (allow_fallback IN (0, 1)),
    send_at         INTEGER,
    created_at      INTEGER NOT NULL,
    CHECK (template_key IS NOT NULL OR body IS NOT NULL)
) STRICT;

-- Every message, in or out, belongs to one student's conversation; an inbound
-- message nobody could match has conversation_id NULL and a row in
-- inbound_unmatched (triage).
CREATE TABLE message (
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
    email_message_id TEXT UNIQUE,
    in_reply_to      TEXT,
    references_hdr   TEXT,
    raw_sha256       TEXT UNIQUE,
    media            TEXT CHECK (media IS NULL OR json_valid(media)),
    match_rule       TEXT CHECK (match_rule IS NULL OR match_rule = 'reply_token'
                     OR match_rule = 'email_header' OR match_rule = 'single_student'
                     OR match_rule = 'recent_outbound' OR match_rule = 'triage'
                     OR match_rule = 'assigned' OR match_rule = 'outbound'),
    created_at       INTEGER NOT NULL,
    UNIQUE (provider, provider_msg_id),
    CHECK ((provider IS NULL) = (provider_msg_id IS NULL)),
    -- outbound messages belong to a student's conversation, except system
    -- replies (STOP/HELP confirmations) to numbers no student is linked to
    CHECK (direction <> 'out' OR conversation_id IS NOT NULL OR kind = 'system')
) STRICT;
CREATE INDEX message_conversation ON message(conversation_id, created_at);
CREATE INDEX message_contact ON message(contact_id, direction, created_at);

-- The outbox: one row per (message, contact).
CREATE TABLE delivery (
    id               INTEGER PRIMARY KEY,
    message_id       INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
    contact_id       INTEGER NOT NULL REFERENCES contact(id),
    channel          TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    locale           TEXT,
    body             TEXT NOT NULL,
    encoding         TEXT CHECK (encoding IS NULL OR encoding IN ('gsm7', 'ucs2')),
    segments         INTEGER CHECK (segments IS NULL OR segments >= 1),
    state            TEXT NOT NULL DEFAULT 'queued'
                     CHECK ((state = 'queued' OR state = 'sending' OR state = 'sent' OR state = 'delivered' OR state = 'retry_wait' OR state = 'failed' OR state = 'undeliverable' OR state = 'held')),
    held_reason      TEXT CHECK (held_reason IS NULL OR held_reason = 'quiet_hours'
                     OR held_reason = 'no_translation' OR held_reason = 'scheduled'
                     OR held_reason = 'opted_out'),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  INTEGER,
    idempotency_key  TEXT NOT NULL UNIQUE,
    provider         TEXT,
    provider_msg_id  TEXT,
    email_message_id TEXT UNIQUE,
    error_code       TEXT,
    error_class      TEXT CHECK (error_class IS NULL OR error_class IN ('transient', 'permanent')),
    error_detail     TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (message_id, contact_id),
    UNIQUE (provider, provider_msg_id),
    CHECK (state <> 'held' OR held_reason IS NOT NULL)
) STRICT;
CREATE INDEX delivery_due ON delivery(state, next_attempt_at);
CREATE INDEX delivery_contact ON delivery(contact_id, created_at);

CREATE TABLE template (
    id              INTEGER PRIMARY KEY,
    school_id       INTEGER REFERENCES school(id) ON DELETE CASCADE,
    key             TEXT NOT NULL CHECK (key GLOB '[a-z]*' AND key NOT GLOB '*[^a-z0-9_.]*'),
    description     TEXT NOT NULL DEFAULT '',
    system          INTEGER NOT NULL DEFAULT 0 CHECK (system IN (0, 1)),
    created_by      INTEGER REFERENCES staff(id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (school_id, key)
) STRICT;

CREATE TABLE template_variant (
    template_id     INTEGER NOT NULL REFERENCES template(id) ON DELETE CASCADE,
    locale          TEXT NOT NULL CHECK (length(locale) BETWEEN 2 AND 35),
    subject         TEXT,
    pattern         TEXT NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (template_id, locale)
) STRICT, WITHOUT ROWID;

CREATE TABLE consent_event (
    id              INTEGER PRIMARY KEY,
    contact_id      INTEGER NOT NULL REFERENCES contact(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK ((kind = 'opt_in' OR kind = 'opt_out' OR kind = 'help' OR kind = 'carrier_opt_out' OR kind = 'invalid' OR kind = 'bounced' OR kind = 'possible_revocation')),
    source          TEXT NOT NULL CHECK ((source = 'roster' OR source = 'sms_keyword' OR source = 'staff' OR source = 'carrier' OR source = 'email' OR source = 'api')),
    message_id      INTEGER REFERENCES message(id) ON DELETE SET NULL,
    staff_id        INTEGER REFERENCES staff(id) ON DELETE SET NULL,
    detail          TEXT,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX consent_event_contact ON consent_event(contact_id, created_at);

-- Append-only, hash-chained audit log: hash = SHA-256(prev_hash || row text),
-- computed by the store writer.  Updates and deletes are refused.
CREATE TABLE audit (
    id              INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    actor_staff_id  INTEGER REFERENCES staff(id) ON DELETE SET NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    object_type     TEXT,
    object_id       INTEGER,
    detail          TEXT CHECK (detail IS NULL OR json_valid(detail)),
    prev_hash       BLOB,
    hash            BLOB NOT NULL
) STRICT;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;

-- Dashboard sessions: only a hash of the cookie token is stored.
CREATE TABLE session (
    token_hash      TEXT PRIMARY KEY,
    staff_id        INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    csrf_token      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    CHECK (expires_at > created_at)
) STRICT;
CREATE INDEX session_staff ON session(staff_id);

CREATE TABLE imap_cursor (
    account         TEXT NOT NULL,
    mailbox         TEXT NOT NULL,
    uidvalidity     INTEGER NOT NULL CHECK (uidvalidity > 0),
    last_uid        INTEGER NOT NULL DEFAULT 0 CHECK (last_uid >= 0),
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (account, mailbox)
) STRICT;

-- Triage: inbound messages no rule could thread to one student.
CREATE TABLE inbound_unmatched (
    id              INTEGER PRIMARY KEY,
    message_id      INTEGER NOT NULL UNIQUE REFERENCES message(id) ON DELETE CASCADE,
    reason          TEXT NOT NULL CHECK ((reason = 'unknown_sender' OR reason = 'ambiguous' OR reason = 'no_student')),
    candidates      TEXT CHECK (candidates IS NULL OR json_valid(candidates)),
    resolved_at     INTEGER,
    resolved_by     INTEGER REFERENCES staff(id) ON DELETE SET NULL,
    resolved_student_id INTEGER REFERENCES student(id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL,
    CHECK ((resolved_at IS NULL) = (resolved_student_id IS NULL))
) STRICT;
CREATE INDEX inbound_unmatched_open ON inbound_unmatched(resolved_at);

-- One row per roster import run, for the administrator's record.
CREATE TABLE roster_import (
    id              INTEGER PRIMARY KEY,
    source          TEXT NOT NULL CHECK (source IN ('oneroster', 'simple_csv')),
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER NOT NULL,
    rows_read       INTEGER NOT NULL,
    rows_rejected   INTEGER NOT NULL,
    summary         TEXT CHECK (summary IS NULL OR json_valid(summary))
) STRICT;
