//! Codes, tokens and consents of the OpenID Connect provider on SQLite.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use tweestap_core::ports::{
    Grant, GrantKind, GrantRecord, IssueFn, OidcStore, Redeemed, StoreError,
};
use tweestap_core::{ClientId, Timestamp, UserId};

use crate::SqliteStore;
use crate::rows::backend;

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

fn grant_row(row: &SqliteRow) -> Result<Row_, StoreError> {
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

async fn insert(conn: &mut sqlx::SqliteConnection, r: &GrantRecord) -> Result<(), StoreError> {
    let json = serde_json::to_string(&r.grant).map_err(|e| StoreError::Backend(e.to_string()))?;
    sqlx::query(
        "INSERT INTO oidc_grants (token_hash, kind, family, client_id, user_id, grant_json, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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

#[async_trait]
impl OidcStore for SqliteStore {
    async fn grant_put(&self, record: &GrantRecord) -> Result<(), StoreError> {
        let mut conn = self.db.acquire().await?;
        insert(&mut conn, record).await
    }

    async fn grant_redeem(
        &self,
        token_hash: &str,
        kind: GrantKind,
        now: Timestamp,
        issue: &IssueFn<'_>,
    ) -> Result<Redeemed, StoreError> {
        let mut conn = self.db.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(backend)?;
        // Claiming first takes the write lock: two requests with the same token are
        // serialised here, and exactly one of them sees it unused.
        let claimed = sqlx::query(
            "UPDATE oidc_grants SET used_at = ?
             WHERE token_hash = ? AND kind = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
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
            "SELECT {GRANT_COLUMNS} FROM oidc_grants WHERE token_hash = ? AND kind = ?"
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
                    "UPDATE oidc_grants SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL",
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
             WHERE token_hash = ? AND kind = ? AND revoked_at IS NULL AND expires_at > ?"
        ))
        .bind(token_hash)
        .bind(kind.as_str())
        .bind(now.0)
        .fetch_optional(&mut *self.db.acquire().await?)
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
        let mut conn = self.db.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(backend)?;
        let done = sqlx::query(
            "UPDATE oidc_grants SET revoked_at = COALESCE(revoked_at, ?) WHERE token_hash = ? AND client_id = ?",
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
            "UPDATE oidc_grants SET revoked_at = ?
             WHERE revoked_at IS NULL AND family IN
               (SELECT family FROM oidc_grants WHERE token_hash = ? AND kind = 'refresh')",
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
            "UPDATE oidc_grants SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
        )
        .bind(now.0)
        .bind(user.0)
        .execute(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn grants_revoke_client(
        &self,
        client: &ClientId,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut conn = self.db.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(backend)?;
        let done = sqlx::query(
            "UPDATE oidc_grants SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL",
        )
        .bind(now.0)
        .bind(client.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query("DELETE FROM oidc_consents WHERE client_id = ?")
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
            sqlx::query("SELECT scopes FROM oidc_consents WHERE user_id = ? AND client_id = ?")
                .bind(user.0)
                .bind(client.as_str())
                .fetch_optional(&mut *self.db.acquire().await?)
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
            "INSERT INTO oidc_consents (user_id, client_id, scopes, granted_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
        )
        .bind(user.0)
        .bind(client.as_str())
        .bind(serde_json::to_string(scopes).map_err(|e| StoreError::Backend(e.to_string()))?)
        .bind(now.0)
        .execute(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?;
        Ok(())
    }
}
