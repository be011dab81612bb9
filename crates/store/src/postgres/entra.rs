//! Entra users linked to accounts, answered hints and imported numbers, on PostgreSQL.

use async_trait::async_trait;
use sqlx::Row;
use tweestap_core::ports::{EntraStore, PhoneImport, PhoneImported, StoreError};
use tweestap_core::{NewUser, Timestamp, UserId};

use super::PgStore;
use super::accounts::insert_user;
use super::rows::backend;

type Tx<'a> = sqlx::Transaction<'a, sqlx::Postgres>;

async fn linked(tx: &mut Tx<'_>, tenant: &str, object: &str) -> Result<Option<UserId>, StoreError> {
    sqlx::query("SELECT user_id FROM entra_links WHERE tenant_id = $1 AND object_id = $2")
        .bind(tenant)
        .bind(object)
        .fetch_optional(&mut **tx)
        .await
        .map_err(backend)?
        .map(|r| r.try_get::<i64, _>("user_id").map(UserId))
        .transpose()
        .map_err(backend)
}

/// Links unless the Entra user is linked already, or the account is linked to any Entra user
/// (in any tenant): one account, one Entra user. Both are unique indexes here, so two nodes
/// linking at once cannot both succeed.
async fn link(
    tx: &mut Tx<'_>,
    tenant: &str,
    object: &str,
    user: UserId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO entra_links (tenant_id, object_id, user_id, linked_at)
         SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM entra_links WHERE user_id = $5)
         ON CONFLICT DO NOTHING",
    )
    .bind(tenant)
    .bind(object)
    .bind(user.0)
    .bind(now.0)
    .bind(user.0)
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl EntraStore for PgStore {
    async fn entra_user(
        &self,
        tenant_id: &str,
        object_id: &str,
    ) -> Result<Option<UserId>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        linked(&mut tx, tenant_id, object_id).await
    }

    async fn entra_link(
        &self,
        tenant_id: &str,
        object_id: &str,
        user: UserId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let done = link(&mut tx, tenant_id, object_id, user, now).await?;
        tx.commit().await.map_err(backend)?;
        Ok(done)
    }

    async fn entra_create_user(
        &self,
        tenant_id: &str,
        object_id: &str,
        user: &NewUser,
        subject: &str,
        now: Timestamp,
    ) -> Result<UserId, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let id = insert_user(&mut tx, user, subject, now).await?;
        if !link(&mut tx, tenant_id, object_id, id, now).await? {
            // Another request linked this Entra user meanwhile: theirs stands.
            return Err(StoreError::Conflict(format!("{tenant_id}/{object_id}")));
        }
        tx.commit().await.map_err(backend)?;
        Ok(id)
    }

    async fn entra_hint_use(
        &self,
        hint_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("DELETE FROM entra_hints_used WHERE expires_at < $1")
            .bind(now.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let done = sqlx::query(
            "INSERT INTO entra_hints_used (hint_hash, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(hint_hash)
        .bind(expires_at.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn entra_import_phones(
        &self,
        rows: &[(PhoneImport, String)],
        link_existing: bool,
        now: Timestamp,
    ) -> Result<Vec<PhoneImported>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let mut outcomes = Vec::with_capacity(rows.len());
        for (row, subject) in rows {
            let conflict = |why: &str| StoreError::Conflict(format!("line {}: {why}", row.line));
            let existing = match linked(&mut tx, &row.tenant_id, &row.object_id).await? {
                Some(user) => Some(user),
                None => {
                    let by_name: Option<i64> =
                        sqlx::query("SELECT id FROM users WHERE username = $1")
                            .bind(row.user.username.as_str())
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(backend)?
                            .map(|r| r.try_get("id"))
                            .transpose()
                            .map_err(backend)?;
                    match by_name {
                        Some(_) if !link_existing => {
                            outcomes.push(PhoneImported::Unlinked);
                            continue;
                        }
                        Some(id) => {
                            if !link(&mut tx, &row.tenant_id, &row.object_id, UserId(id), now)
                                .await?
                            {
                                return Err(conflict(&format!(
                                    "the account {} is linked to another Entra user",
                                    row.user.username.as_str()
                                )));
                            }
                            Some(UserId(id))
                        }
                        None => None,
                    }
                }
            };
            let Some(user) = existing else {
                let id = insert_user(&mut tx, &row.user, subject, now).await?;
                if !link(&mut tx, &row.tenant_id, &row.object_id, id, now).await? {
                    // A sign-in linked this Entra user meanwhile (on another node).
                    return Err(conflict(
                        "the Entra user was linked meanwhile; run the import again",
                    ));
                }
                add_phone(&mut tx, id, &row.phone, now).await?;
                outcomes.push(PhoneImported::Created);
                continue;
            };
            // The account's own methods: a number is only added to an account without any, and
            // not while a registration on another node adds its first one.
            super::lock_account(&mut tx, user).await?;
            let phones: Vec<Option<String>> = sqlx::query(
                "SELECT phone FROM mfa_methods WHERE user_id = $1 AND confirmed_at IS NOT NULL",
            )
            .bind(user.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| r.try_get("phone"))
            .collect::<Result<_, _>>()
            .map_err(backend)?;
            outcomes.push(if phones.iter().flatten().any(|p| p == row.phone.e164()) {
                PhoneImported::Unchanged
            } else if !phones.is_empty() {
                PhoneImported::KeptOther
            } else {
                add_phone(&mut tx, user, &row.phone, now).await?;
                PhoneImported::Added
            });
        }
        tx.commit().await.map_err(backend)?;
        Ok(outcomes)
    }
}

async fn add_phone(
    tx: &mut Tx<'_>,
    user: UserId,
    phone: &tweestap_core::PhoneNumber,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO mfa_methods (user_id, kind, phone, created_at, confirmed_at) VALUES ($1, 'sms', $2, $3, $4)",
    )
    .bind(user.0)
    .bind(phone.e164())
    .bind(now.0)
    .bind(now.0)
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(())
}
