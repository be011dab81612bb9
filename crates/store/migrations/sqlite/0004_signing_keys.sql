-- OpenID Connect signing keys. The private half is sealed (AES-GCM, key outside the database,
-- the kid as associated data); the public half is published in the JWKS until retire_at.
CREATE TABLE signing_keys (
    kid            TEXT    PRIMARY KEY,
    alg            TEXT    NOT NULL,
    sealed_private BLOB    NOT NULL,
    public_jwk     TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    retire_at      INTEGER
);
