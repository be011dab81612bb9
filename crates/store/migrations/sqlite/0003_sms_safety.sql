-- Gateways that may already hold a message (a send interrupted or timed out after the request
-- went out) are never given it again; cancelled messages (a newer code, an owner's report)
-- are not retried even when they were being sent at the time.
ALTER TABLE sms_outbox ADD COLUMN avoid_gateways TEXT NOT NULL DEFAULT '';
ALTER TABLE sms_outbox ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0;
