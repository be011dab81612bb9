-- OpenID Connect clients. Lists are JSON arrays; the secret only as SHA-256.
CREATE TABLE oidc_clients (
    client_id        TEXT    PRIMARY KEY,
    name             TEXT    NOT NULL,
    redirect_uris    TEXT    NOT NULL,
    post_logout_uris TEXT    NOT NULL,
    public           INTEGER NOT NULL,
    first_party      INTEGER NOT NULL,
    scopes           TEXT    NOT NULL,
    secret_hash      TEXT,
    created_at       INTEGER NOT NULL
);
