-- Times are Unix seconds (UTC). Secrets are never stored in the clear: passwords as Argon2id
-- PHC strings, codes as keyed hashes, session ids as SHA-256.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    subject       TEXT    NOT NULL UNIQUE,
    username      TEXT    NOT NULL,
    display_name  TEXT    NOT NULL,
    email         TEXT,
    password_hash TEXT,
    created_at    INTEGER NOT NULL,
    CONSTRAINT users_username_unique UNIQUE (username)
);

CREATE TABLE mfa_methods (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('sms')),
    phone        TEXT,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX mfa_methods_user ON mfa_methods (user_id);

CREATE TABLE sessions (
    id_hash      TEXT    PRIMARY KEY,
    csrf_token   TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    return_to    TEXT,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

CREATE TABLE sms_challenges (
    id          INTEGER PRIMARY KEY,
    flow        TEXT    NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    phone       TEXT    NOT NULL,
    code_hash   BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    used_at     INTEGER,
    superseded  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sms_challenges_flow ON sms_challenges (flow);

CREATE TABLE sms_log (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    phone      TEXT    NOT NULL,
    gateway    TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX sms_log_user ON sms_log (user_id, created_at);
CREATE INDEX sms_log_phone ON sms_log (phone, created_at);

CREATE TABLE auth_failures (
    key TEXT    NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX auth_failures_key ON auth_failures (key, at);

CREATE TABLE audit_events (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    outcome  TEXT    NOT NULL,
    user_id  INTEGER,
    username TEXT,
    actor    TEXT    NOT NULL,
    ip       TEXT,
    detail   TEXT
);
CREATE INDEX audit_events_user ON audit_events (user_id, at);
