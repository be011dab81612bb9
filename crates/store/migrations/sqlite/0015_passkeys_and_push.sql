-- NOTE for later migrations: approvals reference mfa_methods with ON DELETE CASCADE, and
-- migrations run with foreign keys on. Rebuilding mfa_methods again (DROP TABLE) would empty
-- approvals: copy them aside first, or turn foreign keys off around the rebuild.
--
-- Passkeys and the tweestap app (push approval with number matching) as methods. SQLite cannot
-- change a CHECK constraint, so mfa_methods is rebuilt once more (as in 0008).
-- credential: the WebAuthn credential as webauthn-rs stores it (a public key and its counter;
-- nothing secret). credential_id: its id, base64url, as browsers send it. device_token_hash:
-- SHA-256 of the cookie the linked phone's app shows requests with. subscription: the app's
-- Web Push subscription (endpoint and keys), JSON.
CREATE TABLE mfa_methods_new (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id           INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind              TEXT    NOT NULL CHECK (kind IN ('sms', 'totp', 'passkey', 'push')),
    phone             TEXT,
    label             TEXT,
    secret            BLOB,
    last_step         INTEGER,
    created_at        INTEGER NOT NULL,
    confirmed_at      INTEGER,
    last_used_at      INTEGER,
    is_default        INTEGER NOT NULL DEFAULT 0,
    credential_id     TEXT,
    credential        TEXT,
    device_token_hash TEXT UNIQUE,
    subscription      TEXT,
    -- A phone linked again: its earlier link (same account), removed once this one works.
    replaces_method   INTEGER,
    CHECK ((kind = 'sms' AND phone IS NOT NULL)
        OR (kind = 'totp' AND secret IS NOT NULL)
        OR (kind IN ('passkey', 'push') AND credential IS NOT NULL AND credential_id IS NOT NULL))
);
INSERT INTO mfa_methods_new (id, user_id, kind, phone, label, secret, last_step, created_at,
                             confirmed_at, last_used_at, is_default)
    SELECT id, user_id, kind, phone, label, secret, last_step, created_at, confirmed_at,
           last_used_at, is_default FROM mfa_methods;
-- Keep AUTOINCREMENT's promise across the rebuild: ids of removed methods are not given again.
UPDATE sqlite_sequence
   SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'mfa_methods'), 0))
 WHERE name = 'mfa_methods_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'mfa_methods_new', seq FROM sqlite_sequence
     WHERE name = 'mfa_methods'
       AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'mfa_methods_new');
DROP TABLE mfa_methods;
ALTER TABLE mfa_methods_new RENAME TO mfa_methods;
CREATE INDEX mfa_methods_user ON mfa_methods (user_id);
-- A credential counts once. (A phone linked again may bring the same credential while its
-- earlier link still counts: unique among confirmed methods only.)
CREATE UNIQUE INDEX mfa_methods_credential ON mfa_methods (credential_id)
    WHERE confirmed_at IS NOT NULL;

-- A WebAuthn ceremony between its start and the browser's answer: taken (deleted) once.
CREATE TABLE webauthn_ceremonies (
    id         TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);

-- The one-time link a phone opens to link the tweestap app (only its SHA-256 is kept).
CREATE TABLE app_links (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

-- Push approval requests. status: pending, approved, denied, wrong_number, reported.
-- consumed_at: the sign-in page went on with an approval (once).
CREATE TABLE approvals (
    id          TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- A removed phone takes its requests with it: nothing it was asked can still count.
    method_id   INTEGER NOT NULL REFERENCES mfa_methods (id) ON DELETE CASCADE,
    purpose     TEXT    NOT NULL CHECK (purpose IN ('sign_in', 'link')),
    number      INTEGER NOT NULL,
    offered     TEXT    NOT NULL,
    context     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'pending',
    answered_at INTEGER,
    consumed_at INTEGER
);
CREATE INDEX approvals_user ON approvals (user_id, created_at);
-- The phone's page asks for its pending requests every few seconds while open.
CREATE INDEX approvals_method ON approvals (method_id, status, expires_at);

-- "This wasn't me" on a push: push stops for the account until then, and administrators see
-- the flag (`tweestap user show`, cleared with `tweestap user unflag`).
ALTER TABLE users ADD COLUMN push_blocked_until INTEGER;
ALTER TABLE users ADD COLUMN flagged_at INTEGER;
ALTER TABLE users ADD COLUMN flag_reason TEXT;
