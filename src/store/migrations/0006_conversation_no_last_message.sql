-- SPDX-License-Identifier: AGPL-3.0-or-later
-- 0006: conversation.last_message_at goes.  Nothing read it, and keeping it
-- true cost an UPDATE of every conversation an announcement reaches (~150,000
-- rows for a whole district, ~5 % of creating the deliveries) and one per
-- inbound message on the webhook writer.  A conversation's latest message is
-- one seek in message_conversation (conversation_id, created_at):
--   SELECT max(created_at) FROM message WHERE conversation_id = ?
-- (checked in tests/unit/store/test_schema.c).
ALTER TABLE conversation DROP COLUMN last_message_at;
