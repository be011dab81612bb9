-- "Don't ask again on this device": a browser's token, stored as SHA-256, bound to one user.
-- It only ever skips the second factor, never the password.
CREATE TABLE remembered_devices (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   TEXT    NOT NULL UNIQUE,
    user_agent   TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX remembered_devices_user ON remembered_devices (user_id);
