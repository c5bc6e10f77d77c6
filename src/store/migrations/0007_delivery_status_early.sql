-- SPDX-License-Identifier: AGPL-3.0-or-later
-- 0007: provider delivery statuses that arrive before the send's own result
-- is recorded.  The provider may call back ("sent", "delivered", "undelivered"
-- with 21610...) before the store writer has written the message sid it
-- answered with: until now such a callback found no delivery and was dropped
-- (the demo's imitation provider calls back at once: about one "sent" in
-- ten).  It is kept here and applied, in order, in the transaction that
-- records the sid (src/store/status.c); rows for sids that never come are
-- pruned after 7 days.
CREATE TABLE delivery_status_early (
  id              INTEGER PRIMARY KEY,
  provider        TEXT NOT NULL,
  provider_msg_id TEXT NOT NULL,
  status          TEXT NOT NULL,
  error_code      TEXT,
  received_at     INTEGER NOT NULL
);
CREATE INDEX delivery_status_early_msg ON delivery_status_early (provider, provider_msg_id);
CREATE INDEX delivery_status_early_age ON delivery_status_early (received_at);
