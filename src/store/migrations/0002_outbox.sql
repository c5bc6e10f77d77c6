-- SPDX-License-Identifier: AGPL-3.0-or-later
-- 0002: the outbox's record of guardians an announcement did not reach.
-- Every guardian of an announcement's audience who ends up with no delivery
-- row gets one row here with the reason (reach preview, reports).  A held
-- delivery (no_translation) is a delivery, so it is not repeated here.
CREATE TABLE delivery_skip (
    announcement_id INTEGER NOT NULL REFERENCES announcement(id) ON DELETE CASCADE,
    guardian_id     INTEGER NOT NULL REFERENCES guardian(id) ON DELETE CASCADE,
    reason          TEXT NOT NULL CHECK (reason IN
                    ('opted_out', 'no_contact', 'may_not_receive', 'no_translation',
                     'no_student')),
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (announcement_id, guardian_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX delivery_skip_guardian ON delivery_skip(guardian_id);
-- Deliveries of one announcement are found through their messages.
CREATE INDEX message_announcement ON message(announcement_id)
    WHERE announcement_id IS NOT NULL;
