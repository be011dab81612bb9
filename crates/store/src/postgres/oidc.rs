//! The OpenID Connect provider's clients, signing keys, codes, tokens and consents on PostgreSQL.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;
use tweestap_core::ports::{
    Grant, GrantKind, GrantRecord, IssueFn, OidcStore, Redeemed, SigningKeyRecord, StoreError,
};
use tweestap_core::{Client, ClientId, RedirectUri, Timestamp, UserId};

use super::rows::{self, backend};
use super::{PgStore, is_unique_violation};

const GRANT_COLUMNS: &str = "token_hash, kind, family, client_id, user_id, grant_json, created_at, expires_at, used_at, revoked_at";

struct Row_ {
    record: GrantRecord,
    used: bool,
    revoked: bool,
}

fn kind(text: &str) -> Result<GrantKind, StoreError> {
    match text {
        "code" => Ok(GrantKind::Code),
        "access" => Ok(GrantKind::Access),
        "refresh" => Ok(GrantKind::Refresh),
        other => Err(StoreError::Backend(format!("unknown grant kind {other:?}"))),
    }
}

fn grant_row(row: &PgRow) -> Result<Row_, StoreError> {
    let client: String = row.try_get("client_id").map_err(backend)?;
    let json: String = row.try_get("grant_json").map_err(backend)?;
    let grant: Grant =
        serde_json::from_str(&json).map_err(|e| StoreError::Backend(format!("grant_json: {e}")))?;
    Ok(Row_ {
        record: GrantRecord {
            token_hash: row.try_get("token_hash").map_err(backend)?,
            kind: kind(&row.try_get::<String, _>("kind").map_err(backend)?)?,
            family: row.try_get("family").map_err(backend)?,
            client_id: ClientId::parse(&client)
                .map_err(|e| StoreError::Backend(format!("client_id: {e}")))?,
            user_id: UserId(row.try_get("user_id").map_err(backend)?),
            grant,
            created_at: Timestamp(row.try_get("created_at").map_err(backend)?),
            expires_at: Timestamp(row.try_get("expires_at").map_err(backend)?),
        },
        used: row
            .try_get::<Option<i64>, _>("used_at")
            .map_err(backend)?
            .is_some(),
        revoked: row
            .try_get::<Option<i64>, _>("revoked_at")
            .map_err(backend)?
            .is_some(),
    })
}

async fn insert(conn: &mut sqlx::PgConnection, r: &GrantRecord) -> Result<(), StoreError> {
    let json = serde_json::to_string(&r.grant).map_err(|e| StoreError::Backend(e.to_string()))?;
    sqlx::query(
        "INSERT INTO oidc_grants (token_hash, kind, family, client_id, user_id, grant_json, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&r.token_hash)
    .bind(r.kind.as_str())
    .bind(&r.family)
    .bind(r.client_id.as_str())
    .bind(r.user_id.0)
    .bind(json)
    .bind(r.created_at.0)
    .bind(r.expires_at.0)
    .execute(conn)
    .await
    .map_err(backend)?;
    Ok(())
}

const CLIENT_COLUMNS: &str = "client_id, name, redirect_uris, post_logout_uris, public, first_party, scopes, require_mfa, id_token_alg, secret_hash, created_at";

#[async_trait]
impl OidcStore for PgStore {
    async fn client_add(&self, c: &Client) -> Result<(), StoreError> {
        let list = |uris: &[RedirectUri]| {
            serde_json::to_string(&uris.iter().map(|u| u.as_str()).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        sqlx::query(
            "INSERT INTO oidc_clients (client_id, name, redirect_uris, post_logout_uris, public, first_party, scopes,
                                       require_mfa, id_token_alg, secret_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(c.client_id.as_str())
        .bind(&c.name)
        .bind(list(&c.redirect_uris))
        .bind(list(&c.post_logout_uris))
        .bind(c.public)
        .bind(c.first_party)
        .bind(serde_json::to_string(&c.scopes).unwrap_or_default())
        .bind(c.require_mfa)
        .bind(c.id_token_alg.as_str())
        .bind(&c.secret_hash)
        .bind(c.created_at.0)
        .execute(&self.pool)
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict(c.client_id.as_str().to_string()) } else { backend(e) })?;
        Ok(())
    }

    async fn client_get(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE client_id = $1"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(|r| rows::client(&r))
        .transpose()
    }

    async fn client_list(&self) -> Result<Vec<Client>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CLIENT_COLUMNS} FROM oidc_clients ORDER BY client_id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(rows::client)
        .collect()
    }

    async fn client_remove(&self, id: &ClientId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM oidc_clients WHERE client_id = $1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn signing_key_add(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, sealed_private, public_jwk, created_at, activate_at, retire_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.sealed_private)
        .bind(&key.public_jwk)
        .bind(key.created_at.0)
        .bind(key.activate_at.0)
        .bind(key.retire_at.map(|t| t.0))
        .execute(&self.pool)
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict(key.kid.clone()) } else { backend(e) })?;
        Ok(())
    }

    async fn signing_keys_published(
        &self,
        now: Timestamp,
    ) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, alg, sealed_private, public_jwk, created_at, activate_at, retire_at FROM signing_keys
             WHERE retire_at IS NULL OR retire_at > $1 ORDER BY retire_at IS NOT NULL, alg, activate_at DESC, created_at DESC, seq DESC",
        )
        .bind(now.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(SigningKeyRecord {
                    kid: r.try_get("kid").map_err(backend)?,
                    alg: r.try_get("alg").map_err(backend)?,
                    sealed_private: r.try_get("sealed_private").map_err(backend)?,
                    public_jwk: r.try_get("public_jwk").map_err(backend)?,
                    created_at: Timestamp(r.try_get("created_at").map_err(backend)?),
                    activate_at: Timestamp(r.try_get("activate_at").map_err(backend)?),
                    retire_at: r
                        .try_get::<Option<i64>, _>("retire_at")
                        .map_err(backend)?
                        .map(Timestamp),
                })
            })
            .collect()
    }

    async fn signing_key_set_public_jwk(&self, kid: &str, jwk: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE signing_keys SET public_jwk = $1 WHERE kid = $2")
            .bind(jwk)
            .bind(kid)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn signing_keys_retire_others(
        &self,
        kid: &str,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE signing_keys SET retire_at = $1
             WHERE kid != $2 AND (retire_at IS NULL OR retire_at > $3)
               AND alg = (SELECT alg FROM signing_keys WHERE kid = $4)",
        )
        .bind(at.0)
        .bind(kid)
        .bind(at.0)
        .bind(kid)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn grant_put(&self, record: &GrantRecord) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        insert(&mut conn, record).await
    }

    async fn grant_redeem(
        &self,
        token_hash: &str,
        kind: GrantKind,
        now: Timestamp,
        issue: &IssueFn<'_>,
    ) -> Result<Redeemed, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // Claiming first takes the row's lock: two requests with the same token (on any node)
        // are serialised here, and the second, once the first has committed, sees it used.
        let claimed = sqlx::query(
            "UPDATE oidc_grants SET used_at = $1
             WHERE token_hash = $2 AND kind = $3 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $4",
        )
        .bind(now.0)
        .bind(token_hash)
        .bind(kind.as_str())
        .bind(now.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected()
            == 1;
        let row = sqlx::query(&format!(
            "SELECT {GRANT_COLUMNS} FROM oidc_grants WHERE token_hash = $1 AND kind = $2"
        ))
        .bind(token_hash)
        .bind(kind.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Ok(Redeemed::Unknown);
        };
        let found = grant_row(&row)?;
        if !claimed {
            let outcome = if found.revoked {
                Redeemed::Revoked
            } else if found.used {
                sqlx::query(
                    "UPDATE oidc_grants SET revoked_at = $1 WHERE family = $2 AND revoked_at IS NULL",
                )
                .bind(now.0)
                .bind(&found.record.family)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                Redeemed::Replayed
            } else {
                Redeemed::Expired
            };
            tx.commit().await.map_err(backend)?;
            return Ok(outcome);
        }
        match issue(&found.record) {
            Ok(new) => {
                for record in &new {
                    insert(&mut tx, record).await?;
                }
                tx.commit().await.map_err(backend)?;
                Ok(Redeemed::Done(found.record))
            }
            Err(refusal) => {
                tx.rollback().await.map_err(backend)?;
                Ok(Redeemed::Refused(refusal))
            }
        }
    }

    async fn grant_active(
        &self,
        token_hash: &str,
        kind: GrantKind,
        now: Timestamp,
    ) -> Result<Option<GrantRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {GRANT_COLUMNS} FROM oidc_grants
             WHERE token_hash = $1 AND kind = $2 AND revoked_at IS NULL AND expires_at > $3"
        ))
        .bind(token_hash)
        .bind(kind.as_str())
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(|r| grant_row(&r).map(|g| g.record)).transpose()
    }

    async fn grant_revoke(
        &self,
        token_hash: &str,
        client: &ClientId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let done = sqlx::query(
            "UPDATE oidc_grants SET revoked_at = COALESCE(revoked_at, $1) WHERE token_hash = $2 AND client_id = $3",
        )
        .bind(now.0)
        .bind(token_hash)
        .bind(client.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            tx.rollback().await.map_err(backend)?;
            return Ok(false);
        }
        // A refresh token takes its family with it (RFC 7009 §2.1: "SHOULD also invalidate
        // all access tokens based on the same authorization grant").
        sqlx::query(
            "UPDATE oidc_grants SET revoked_at = $1
             WHERE revoked_at IS NULL AND family IN
               (SELECT family FROM oidc_grants WHERE token_hash = $2 AND kind = 'refresh')",
        )
        .bind(now.0)
        .bind(token_hash)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn grants_revoke_user(&self, user: UserId, now: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE oidc_grants SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(now.0)
        .bind(user.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn grants_revoke_client(
        &self,
        client: &ClientId,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let done = sqlx::query(
            "UPDATE oidc_grants SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL",
        )
        .bind(now.0)
        .bind(client.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query("DELETE FROM oidc_consents WHERE client_id = $1")
            .bind(client.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn consent_get(
        &self,
        user: UserId,
        client: &ClientId,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let row =
            sqlx::query("SELECT scopes FROM oidc_consents WHERE user_id = $1 AND client_id = $2")
                .bind(user.0)
                .bind(client.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        row.map(|r| {
            let text: String = r.try_get("scopes").map_err(backend)?;
            serde_json::from_str(&text).map_err(|e| StoreError::Backend(e.to_string()))
        })
        .transpose()
    }

    async fn consent_put(
        &self,
        user: UserId,
        client: &ClientId,
        scopes: &[String],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oidc_consents (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
        )
        .bind(user.0)
        .bind(client.as_str())
        .bind(serde_json::to_string(scopes).map_err(|e| StoreError::Backend(e.to_string()))?)
        .bind(now.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }
}
