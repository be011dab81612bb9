-- Authenticator apps (TOTP) beside SMS. SQLite cannot change a CHECK constraint, so the table
-- is rebuilt. The secret is sealed (AES-256-GCM, key outside the database, the method's user
-- as associated data); last_step is the last accepted time step, so a code works once. An
-- app being set up has no confirmed_at yet and does not count as a method.
CREATE TABLE mfa_methods_new (
    -- AUTOINCREMENT: an id is never given again, so a sign-in or set-up that names a removed
    -- method can never land on a newer one.
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('sms', 'totp')),
    phone        TEXT,
    label        TEXT,
    secret       BLOB,
    last_step    INTEGER,
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER,
    last_used_at INTEGER,
    CHECK ((kind = 'sms' AND phone IS NOT NULL) OR (kind = 'totp' AND secret IS NOT NULL))
);
INSERT INTO mfa_methods_new (id, user_id, kind, phone, created_at, confirmed_at, last_used_at)
    SELECT id, user_id, kind, phone, created_at, created_at, last_used_at FROM mfa_methods;
DROP TABLE mfa_methods;
ALTER TABLE mfa_methods_new RENAME TO mfa_methods;
CREATE INDEX mfa_methods_user ON mfa_methods (user_id);
