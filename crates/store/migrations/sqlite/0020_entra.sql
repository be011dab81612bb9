-- Signing keys can be published before they sign (Entra caches a JWKS for 24 hours). Keys
-- from before this migration have signed since they were made.
ALTER TABLE signing_keys ADD COLUMN activate_at INTEGER NOT NULL DEFAULT 0;
UPDATE signing_keys SET activate_at = created_at;

-- Microsoft Entra ID's external MFA method: an Entra user is (tenant, object id), immutable;
-- user principal names change, so they are never the link.
CREATE TABLE entra_links (
    tenant_id TEXT    NOT NULL,
    object_id TEXT    NOT NULL,
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    linked_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, object_id)
);
CREATE INDEX entra_links_user ON entra_links (user_id);

-- Hints already answered (a keyed hash, never the hint), kept until they would be refused as
-- stale anyway: one Entra sign-in, one second step.
CREATE TABLE entra_hints_used (
    hint_hash  TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
);

-- The Entra request a sign-in answers (JSON), while it is under way.
ALTER TABLE sessions ADD COLUMN external TEXT;
