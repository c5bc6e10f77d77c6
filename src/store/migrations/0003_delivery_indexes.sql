-- SPDX-License-Identifier: AGPL-3.0-or-later
-- 0003: delivery's two unique keys that stay NULL until a send (the e-mail
-- Message-ID, minted at the first claim; the provider's message id, set when
-- the provider accepts) become partial unique indexes, so creating a
-- delivery no longer writes two index entries of NULLs (an announcement to
-- 100,000 families creates ~145,000 deliveries in one transaction).  Same
-- uniqueness (NULLs were never equal), same lookups: `email_message_id = ?`
-- and `provider = ? AND provider_msg_id = ?` imply the WHERE clauses, so
-- the planner uses the partial indexes (checked in tests/unit/store).
-- SQLite cannot drop a column constraint, so the table is rebuilt (SQLite's
-- 12-step procedure; no table references delivery, and no view or trigger
-- uses it, so foreign keys may stay on).
CREATE TABLE delivery_new (
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
    email_message_id TEXT,
    error_code       TEXT,
    error_class      TEXT CHECK (error_class IS NULL OR error_class IN ('transient', 'permanent')),
    error_detail     TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (message_id, contact_id),
    CHECK (state <> 'held' OR held_reason IS NOT NULL)
) STRICT;
INSERT INTO delivery_new (id, message_id, contact_id, channel, locale, body, encoding,
    segments, state, held_reason, attempts, next_attempt_at, idempotency_key, provider,
    provider_msg_id, email_message_id, error_code, error_class, error_detail,
    created_at, updated_at)
  SELECT id, message_id, contact_id, channel, locale, body, encoding,
    segments, state, held_reason, attempts, next_attempt_at, idempotency_key, provider,
    provider_msg_id, email_message_id, error_code, error_class, error_detail,
    created_at, updated_at FROM delivery;
DROP TABLE delivery;
ALTER TABLE delivery_new RENAME TO delivery;
CREATE INDEX delivery_due ON delivery(state, next_attempt_at);
CREATE INDEX delivery_contact ON delivery(contact_id, created_at);
CREATE UNIQUE INDEX delivery_email_message_id ON delivery(email_message_id)
    WHERE email_message_id IS NOT NULL;
CREATE UNIQUE INDEX delivery_provider_msg ON delivery(provider, provider_msg_id)
    WHERE provider_msg_id IS NOT NULL;
