//! Accounts on SQLite.

use async_trait::async_trait;
use tweestap_core::ports::{AccountStore, StoreError};
use tweestap_core::{NewUser, Timestamp, User, UserId, Username};

use super::SqliteStore;
use super::insert_user;
use super::rows::{self, backend};

pub(crate) const USER_COLUMNS: &str =
    "id, subject, username, display_name, email, password_hash, created_at, language";

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_users(
        &self,
        users: &[(NewUser, String)],
        now: Timestamp,
    ) -> Result<Vec<UserId>, StoreError> {
        let mut conn = self.db.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(backend)?;
        let mut ids = Vec::with_capacity(users.len());
        for (user, subject) in users {
            let id = insert_user(&mut tx, user, subject, now).await?.0;
            if let Some(phone) = &user.phone {
                sqlx::query("INSERT INTO mfa_methods (user_id, kind, phone, created_at, confirmed_at) VALUES (?, 'sms', ?, ?, ?)")
                    .bind(id)
                    .bind(phone.e164())
                    .bind(now.0)
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
            ids.push(UserId(id));
        }
        tx.commit().await.map_err(backend)?;
        Ok(ids)
    }

    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = ?"
        ))
        .bind(username.as_str())
        .fetch_optional(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?
        .map(|r| rows::user(&r))
        .transpose()
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?"))
            .bind(id.0)
            .fetch_optional(&mut *self.db.acquire().await?)
            .await
            .map_err(backend)?
            .map(|r| rows::user(&r))
            .transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY username"
        ))
        .fetch_all(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?
        .iter()
        .map(rows::user)
        .collect()
    }

    async fn set_password_hash(&self, id: UserId, phc: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(phc)
            .bind(id.0)
            .execute(&mut *self.db.acquire().await?)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn user_set_language(&self, id: UserId, language: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET language = ? WHERE id = ? AND language IS NOT ?")
            .bind(language)
            .bind(id.0)
            .bind(language)
            .execute(&mut *self.db.acquire().await?)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
