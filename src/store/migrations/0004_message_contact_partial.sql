-- SPDX-License-Identifier: AGPL-3.0-or-later
-- 0004: message_contact indexes only the messages that have a contact
-- (inbound ones, replies to one family).  An announcement writes one message
-- per student with contact_id NULL (its deliveries carry the contacts): up to
-- ~150,000 index entries of NULLs in one transaction.  A lookup by contact
-- (`contact_id = ?`) implies the WHERE clause, so it can still use the index
-- (checked in tests/unit/store/test_schema.c).
DROP INDEX message_contact;
CREATE INDEX message_contact ON message(contact_id, direction, created_at)
    WHERE contact_id IS NOT NULL;
