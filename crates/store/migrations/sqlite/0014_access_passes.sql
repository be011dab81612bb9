-- Temporary access passes issued by the helpdesk (a user who lost their phone signs in with
-- one and registers a new method). Only the SHA-256 of the pass is kept.
CREATE TABLE access_passes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    pass_hash  TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    once       INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX access_passes_user ON access_passes (user_id);
