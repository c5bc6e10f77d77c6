-- SPDX-License-Identifier: AGPL-3.0-or-later
-- 0008: delivery_due (state, next_attempt_at) holds only the rows the outbox
-- can still move: queued, retry_wait and sending.  It held every delivery
-- ever made, so each row's last steps (sending -> sent on the store writer
-- once per message sent, sent -> delivered on every status callback) moved
-- an index entry that no query reads, and the index grew with every
-- announcement of the year.  The outbox's queries name one state each
-- (state = 'queued', = 'retry_wait', = 'sending'), which SQLite proves
-- implies this WHERE (an OR of equalities), so they keep the index
-- (checked in tests/unit/store/test_schema.c).
DROP INDEX delivery_due;
CREATE INDEX delivery_due ON delivery(state, next_attempt_at)
  WHERE state = 'queued' OR state = 'retry_wait' OR state = 'sending';
