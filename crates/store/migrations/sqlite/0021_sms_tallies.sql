-- Running totals of text messages, so that a budget check costs two index lookups however busy
-- the hour has been: the sends in a window are the newest total minus the last total before
-- the window began. Scopes: 'all' (key ''), 'network', 'country' (every message), 'account'
-- and 'number' (codes only; notices of changed methods are not codes).
CREATE TABLE sms_tallies (
    scope TEXT    NOT NULL,
    key   TEXT    NOT NULL,
    at    INTEGER NOT NULL,
    total INTEGER NOT NULL,
    PRIMARY KEY (scope, key, at)
) WITHOUT ROWID;

-- The messages already queued keep counting after the upgrade. A message without a network
-- (a notice of a changed method) was in no network's count and is in no network's total.
INSERT INTO sms_tallies (scope, key, at, total)
SELECT 'all', '', created_at, SUM(COUNT(*)) OVER (ORDER BY created_at)
FROM sms_outbox GROUP BY created_at;
INSERT INTO sms_tallies (scope, key, at, total)
SELECT 'network', network, created_at,
       SUM(COUNT(*)) OVER (PARTITION BY network ORDER BY created_at)
FROM sms_outbox WHERE network IS NOT NULL GROUP BY network, created_at;
INSERT INTO sms_tallies (scope, key, at, total)
SELECT 'country', country, created_at,
       SUM(COUNT(*)) OVER (PARTITION BY country ORDER BY created_at)
FROM sms_outbox GROUP BY country, created_at;
INSERT INTO sms_tallies (scope, key, at, total)
SELECT 'account', CAST(user_id AS TEXT), created_at,
       SUM(COUNT(*)) OVER (PARTITION BY user_id ORDER BY created_at)
FROM sms_outbox WHERE challenge_id IS NOT NULL AND user_id IS NOT NULL GROUP BY user_id, created_at;
INSERT INTO sms_tallies (scope, key, at, total)
SELECT 'number', phone, created_at,
       SUM(COUNT(*)) OVER (PARTITION BY phone ORDER BY created_at)
FROM sms_outbox WHERE challenge_id IS NOT NULL GROUP BY phone, created_at;
