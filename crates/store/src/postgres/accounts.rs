//! Accounts on PostgreSQL.

use async_trait::async_trait;
use sqlx::Row;
use tweestap_core::ports::{AccountStore, StoreError};
use tweestap_core::{NewUser, Timestamp, User, UserId, Username};

use super::rows::{self, backend};
use super::{PgStore, is_unique_violation};

const USER_COLUMNS: &str =
    "id, subject, username, display_name, email, password_hash, created_at, language";

/// Adds an account (without its phone) in `tx`; a taken username is a `Conflict` naming it.
pub(crate) async fn insert_user(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    user: &NewUser,
    subject: &str,
    now: Timestamp,
) -> Result<UserId, StoreError> {
    let id: i64 = sqlx::query(
        "INSERT INTO users (subject, username, display_name, email, password_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(subject)
    .bind(user.username.as_str())
    .bind(&user.display_name)
    .bind(&user.email)
    .bind(&user.password_hash)
    .bind(now.0)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(user.username.as_str().to_string())
        } else {
            backend(e)
        }
    })?
    .try_get("id")
    .map_err(backend)?;
    Ok(UserId(id))
}

#[async_trait]
impl AccountStore for PgStore {
    async fn create_users(
        &self,
        users: &[(NewUser, String)],
        now: Timestamp,
    ) -> Result<Vec<UserId>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let mut ids = Vec::with_capacity(users.len());
        for (user, subject) in users {
            let id = insert_user(&mut tx, user, subject, now).await?;
            if let Some(phone) = &user.phone {
                sqlx::query(
                    "INSERT INTO mfa_methods (user_id, kind, phone, created_at, confirmed_at)
                     VALUES ($1, 'sms', $2, $3, $3)",
                )
                .bind(id.0)
                .bind(phone.e164())
                .bind(now.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            }
            ids.push(id);
        }
        tx.commit().await.map_err(backend)?;
        Ok(ids)
    }

    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
        ))
        .bind(username.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(|r| rows::user(&r))
        .transpose()
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .map(|r| rows::user(&r))
            .transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY username COLLATE \"C\""
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(rows::user)
        .collect()
    }

    async fn set_password_hash(&self, id: UserId, phc: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(phc)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn user_set_language(&self, id: UserId, language: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET language = $1 WHERE id = $2 AND language IS DISTINCT FROM $1",
        )
        .bind(language)
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }
}
