-- What the OpenID Connect provider hands out. One table for authorization codes, access
-- tokens and refresh tokens: each row is one token, stored as SHA-256 of its value. A
-- `family` ties together everything that descends from one authorization code, so a replayed
-- code or refresh token can revoke all of it at once.
ALTER TABLE oidc_clients ADD COLUMN require_mfa INTEGER NOT NULL DEFAULT 0;
ALTER TABLE oidc_clients ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT 'ES256';

CREATE TABLE oidc_grants (
    token_hash  TEXT    PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('code', 'access', 'refresh')),
    family      TEXT    NOT NULL,
    client_id   TEXT    NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    grant_json  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    revoked_at  INTEGER
);
CREATE INDEX oidc_grants_family ON oidc_grants (family);
CREATE INDEX oidc_grants_expiry ON oidc_grants (expires_at);

-- Scopes a user agreed to share with a client that is not first party.
CREATE TABLE oidc_consents (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL,
    scopes     TEXT    NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
