-- Security notices by e-mail, queued like text messages: written before anything is sent and
-- sent by a worker, so a restart loses nothing.
CREATE TABLE email_outbox (
    id              INTEGER PRIMARY KEY,
    reference       TEXT    NOT NULL UNIQUE,
    user_id         INTEGER REFERENCES users (id) ON DELETE SET NULL,
    to_address      TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body            TEXT,
    state           TEXT    NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX email_outbox_due ON email_outbox (state, next_attempt_at);
CREATE INDEX email_outbox_user ON email_outbox (user_id, id);

-- The language the account last signed in with: notices the helpdesk's actions cause (an MFA
-- reset) are written in it.
ALTER TABLE users ADD COLUMN language TEXT;
