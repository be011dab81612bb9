-- The durable SMS outbox replaces the plain log: a code's message is queued in the same
-- transaction as the code and sent by a worker, with retries and failover.
DROP TABLE sms_log;

CREATE TABLE sms_outbox (
    id                INTEGER PRIMARY KEY,
    reference         TEXT    NOT NULL UNIQUE,
    challenge_id      INTEGER REFERENCES sms_challenges (id) ON DELETE SET NULL,
    user_id           INTEGER REFERENCES users (id) ON DELETE SET NULL,
    phone             TEXT    NOT NULL,
    country           TEXT    NOT NULL,
    network           TEXT,
    -- AES-GCM sealed text (it holds the code); erased once the message is sent or given up.
    sealed_text       BLOB,
    report_token_hash TEXT    UNIQUE,
    report_used_at    INTEGER,
    state             TEXT    NOT NULL DEFAULT 'queued'
                      CHECK (state IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'expired')),
    gateway_index     INTEGER NOT NULL DEFAULT 0,
    round             INTEGER NOT NULL DEFAULT 0,
    attempts          INTEGER NOT NULL DEFAULT 0,
    interrupted       INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER NOT NULL,
    lease_until       INTEGER,
    gateway           TEXT,
    provider_id       TEXT,
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    sent_at           INTEGER,
    delivered_at      INTEGER
);
CREATE INDEX sms_outbox_due ON sms_outbox (state, next_attempt_at);
CREATE INDEX sms_outbox_user ON sms_outbox (user_id, created_at);
CREATE INDEX sms_outbox_phone ON sms_outbox (phone, created_at);
CREATE INDEX sms_outbox_network ON sms_outbox (network, created_at);
CREATE INDEX sms_outbox_country ON sms_outbox (country, created_at);
CREATE INDEX sms_outbox_created ON sms_outbox (created_at);
CREATE INDEX sms_outbox_challenge ON sms_outbox (challenge_id);

CREATE TABLE sms_blocks (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    until      INTEGER NOT NULL,
    reason     TEXT    NOT NULL
);

ALTER TABLE sessions ADD COLUMN user_id INTEGER;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sms_challenges_user_used ON sms_challenges (user_id, used_at);
