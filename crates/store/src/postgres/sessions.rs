//! Sessions on PostgreSQL.

use async_trait::async_trait;
use tweestap_core::ports::{SessionRecord, SessionStore, StoreError};
use tweestap_core::{Timestamp, UserId};

use super::PgStore;
use super::rows::{self, backend};

#[async_trait]
impl SessionStore for PgStore {
    async fn session_get(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        sqlx::query(
            "SELECT id_hash, csrf_token, state, return_to, created_at, last_seen_at, strict, external
             FROM sessions WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(|r| rows::session(&r))
        .transpose()
    }

    async fn session_insert(&self, s: &SessionRecord) -> Result<(), StoreError> {
        let state =
            serde_json::to_string(&s.state).map_err(|e| StoreError::Backend(e.to_string()))?;
        sqlx::query(
            "INSERT INTO sessions (id_hash, csrf_token, state, return_to, created_at, last_seen_at, user_id, strict, external)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&s.id_hash)
        .bind(&s.csrf_token)
        .bind(state)
        .bind(&s.return_to)
        .bind(s.created_at.0)
        .bind(s.last_seen_at.0)
        .bind(s.state.user().map(|u| u.0))
        .bind(s.strict)
        .bind(external_json(s)?)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn session_update(&self, s: &SessionRecord) -> Result<bool, StoreError> {
        let state =
            serde_json::to_string(&s.state).map_err(|e| StoreError::Backend(e.to_string()))?;
        let done = sqlx::query(
            "UPDATE sessions SET csrf_token = $1, state = $2, return_to = $3, last_seen_at = $4,
                 user_id = $5, strict = $6, external = $7
             WHERE id_hash = $8",
        )
        .bind(&s.csrf_token)
        .bind(state)
        .bind(&s.return_to)
        .bind(s.last_seen_at.0)
        .bind(s.state.user().map(|u| u.0))
        .bind(s.strict)
        .bind(external_json(s)?)
        .bind(&s.id_hash)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn session_rekey(
        &self,
        old_id_hash: &str,
        s: &SessionRecord,
    ) -> Result<bool, StoreError> {
        let state =
            serde_json::to_string(&s.state).map_err(|e| StoreError::Backend(e.to_string()))?;
        let done = sqlx::query(
            "UPDATE sessions SET id_hash = $1, csrf_token = $2, state = $3, return_to = $4, created_at = $5,
                 last_seen_at = $6, user_id = $7, strict = $8, external = $9
             WHERE id_hash = $10",
        )
        .bind(&s.id_hash)
        .bind(&s.csrf_token)
        .bind(state)
        .bind(&s.return_to)
        .bind(s.created_at.0)
        .bind(s.last_seen_at.0)
        .bind(s.state.user().map(|u| u.0))
        .bind(s.strict)
        .bind(external_json(s)?)
        .bind(old_id_hash)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn session_delete(&self, id_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn sessions_delete_for_user(
        &self,
        user: UserId,
        keep: Option<&str>,
    ) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash IS DISTINCT FROM $2")
                .bind(user.0)
                .bind(keep)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn session_purge(
        &self,
        idle_before: Timestamp,
        created_before: Timestamp,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2")
            .bind(idle_before.0)
            .bind(created_before.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }
}

fn external_json(s: &SessionRecord) -> Result<Option<String>, StoreError> {
    s.external
        .as_ref()
        .map(|e| serde_json::to_string(e).map_err(|e| StoreError::Backend(e.to_string())))
        .transpose()
}
