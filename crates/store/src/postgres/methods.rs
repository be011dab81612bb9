//! Second-factor methods on PostgreSQL: the account's list, authenticator-app set-up and
//! codes, removing one (never the last, whatever node asks), remembered devices and
//! temporary access passes.

use async_trait::async_trait;
use sqlx::Row;
use tweestap_core::ports::{Device, MethodStore, NewDevice, StoreError};
use tweestap_core::{Method, MethodId, MethodKind, PhoneNumber, Timestamp, UserId};

use super::PgStore;
use super::rows::{self, backend};

#[async_trait]
impl MethodStore for PgStore {
    async fn methods(&self, user: UserId) -> Result<Vec<Method>, StoreError> {
        sqlx::query(&format!(
            "SELECT {} FROM mfa_methods
             WHERE user_id = $1 AND confirmed_at IS NOT NULL ORDER BY id",
            rows::METHOD_COLUMNS
        ))
        .bind(user.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(rows::method)
        .collect()
    }

    async fn add_method(
        &self,
        user: UserId,
        kind: &MethodKind,
        now: Timestamp,
    ) -> Result<MethodId, StoreError> {
        let (kind, phone, label, secret) = match kind {
            MethodKind::Sms { phone } => ("sms", Some(phone.e164()), None, None),
            MethodKind::Totp {
                label,
                sealed_secret,
                ..
            } => (
                "totp",
                None,
                Some(label.as_str()),
                Some(sealed_secret.as_slice()),
            ),
            MethodKind::Passkey { .. } | MethodKind::PushApp { .. } => {
                return Err(StoreError::Backend(
                    "WebAuthn credentials are added with credential_method_add".into(),
                ));
            }
        };
        let id: i64 = sqlx::query(
            "INSERT INTO mfa_methods (user_id, kind, phone, label, secret, created_at, confirmed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
            .bind(user.0)
            .bind(kind)
            .bind(phone)
            .bind(label)
            .bind(secret)
            .bind(now.0)
            .bind(now.0)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?
            .try_get("id")
            .map_err(backend)?;
        Ok(MethodId(id))
    }

    async fn replace_phone(
        &self,
        user: UserId,
        phone: &PhoneNumber,
        now: Timestamp,
    ) -> Result<MethodId, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("DELETE FROM mfa_methods WHERE user_id = $1 AND kind = 'sms'")
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let id: i64 = sqlx::query("INSERT INTO mfa_methods (user_id, kind, phone, created_at, confirmed_at) VALUES ($1, 'sms', $2, $3, $4) RETURNING id")
            .bind(user.0)
            .bind(phone.e164())
            .bind(now.0)
            .bind(now.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?
            .try_get("id")
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(MethodId(id))
    }

    async fn remove_methods(&self, user: UserId) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM mfa_methods WHERE user_id = $1")
            .bind(user.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn touch_method(&self, id: MethodId, now: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE mfa_methods SET last_used_at = $1 WHERE id = $2")
            .bind(now.0)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn app_pending_put(
        &self,
        user: UserId,
        label: &str,
        sealed_secret: &[u8],
        now: Timestamp,
    ) -> Result<MethodId, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(
            "DELETE FROM mfa_methods WHERE user_id = $1 AND kind = 'totp' AND confirmed_at IS NULL",
        )
        .bind(user.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let id: i64 = sqlx::query(
            "INSERT INTO mfa_methods (user_id, kind, label, secret, created_at) VALUES ($1, 'totp', $2, $3, $4) RETURNING id",
        )
        .bind(user.0)
        .bind(label)
        .bind(sealed_secret)
        .bind(now.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?
        .try_get("id")
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(MethodId(id))
    }

    async fn app_pending(
        &self,
        user: UserId,
        since: Timestamp,
    ) -> Result<Option<Method>, StoreError> {
        sqlx::query(&format!(
            "SELECT {} FROM mfa_methods
             WHERE user_id = $1 AND kind = 'totp' AND confirmed_at IS NULL AND created_at >= $2",
            rows::METHOD_COLUMNS
        ))
        .bind(user.0)
        .bind(since.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(|r| rows::method(&r))
        .transpose()
    }

    async fn app_confirm(
        &self,
        id: MethodId,
        step: i64,
        now: Timestamp,
        only_if_first: bool,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        if !super::lock_method_owner(&mut tx, id).await? {
            return Ok(false);
        }
        let done = sqlx::query(
            "UPDATE mfa_methods SET confirmed_at = $1, last_step = $2, last_used_at = $3
             WHERE id = $4 AND kind = 'totp' AND confirmed_at IS NULL
               AND (NOT $5 OR NOT EXISTS (SELECT 1 FROM mfa_methods other
                    WHERE other.user_id = mfa_methods.user_id AND other.confirmed_at IS NOT NULL))",
        )
        .bind(now.0)
        .bind(step)
        .bind(now.0)
        .bind(id.0)
        .bind(only_if_first)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn app_accept_step(
        &self,
        id: MethodId,
        step: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE mfa_methods SET last_step = $1, last_used_at = $2
             WHERE id = $3 AND kind = 'totp' AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $4)",
        )
        .bind(step)
        .bind(now.0)
        .bind(id.0)
        .bind(step)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn method_remove(
        &self,
        user: UserId,
        id: MethodId,
        keep_one: bool,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        super::lock_account(&mut tx, user).await?;
        let done = sqlx::query(
            "DELETE FROM mfa_methods WHERE id = $1 AND user_id = $2
               AND (NOT $3 OR (SELECT COUNT(*) FROM mfa_methods
                              WHERE user_id = $2 AND confirmed_at IS NOT NULL) > 1)",
        )
        .bind(id.0)
        .bind(user.0)
        .bind(keep_one)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn method_rename(
        &self,
        user: UserId,
        id: MethodId,
        label: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE mfa_methods SET label = $1
             WHERE id = $2 AND user_id = $3 AND kind IN ('totp', 'passkey', 'push') AND confirmed_at IS NOT NULL",
        )
        .bind(label)
        .bind(id.0)
        .bind(user.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn method_set_default(&self, user: UserId, id: MethodId) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(
            "UPDATE mfa_methods SET is_default = (id = $1) WHERE user_id = $2 AND confirmed_at IS NOT NULL",
        )
        .bind(id.0)
        .bind(user.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let found: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM mfa_methods WHERE id = $1 AND user_id = $2 AND is_default",
        )
        .bind(id.0)
        .bind(user.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?
        .try_get("n")
        .map_err(backend)?;
        if found != 1 {
            tx.rollback().await.map_err(backend)?;
            return Ok(false);
        }
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn device_add(&self, d: &NewDevice) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO remembered_devices (user_id, token_hash, user_agent, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(d.user_id.0)
        .bind(&d.token_hash)
        .bind(&d.user_agent)
        .bind(d.created_at.0)
        .bind(d.expires_at.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn device_use(
        &self,
        token_hash: &str,
        user: UserId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE remembered_devices SET last_used_at = $1
             WHERE token_hash = $2 AND user_id = $3 AND expires_at > $4",
        )
        .bind(now.0)
        .bind(token_hash)
        .bind(user.0)
        .bind(now.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn devices(&self, user: UserId, now: Timestamp) -> Result<Vec<Device>, StoreError> {
        sqlx::query(
            "SELECT id, user_agent, created_at, expires_at, last_used_at FROM remembered_devices
             WHERE user_id = $1 AND expires_at > $2 ORDER BY id",
        )
        .bind(user.0)
        .bind(now.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| {
            Ok(Device {
                id: r.try_get("id").map_err(backend)?,
                user_agent: r.try_get("user_agent").map_err(backend)?,
                created_at: Timestamp(r.try_get("created_at").map_err(backend)?),
                expires_at: Timestamp(r.try_get("expires_at").map_err(backend)?),
                last_used_at: r
                    .try_get::<Option<i64>, _>("last_used_at")
                    .map_err(backend)?
                    .map(Timestamp),
            })
        })
        .collect()
    }

    async fn device_remove(&self, user: UserId, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM remembered_devices WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn devices_remove_user(&self, user: UserId) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM remembered_devices WHERE user_id = $1")
            .bind(user.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn app_invite_skips(&self, user: UserId) -> Result<u32, StoreError> {
        let n: i64 = sqlx::query("SELECT app_invite_skips FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .map(|r| r.try_get("app_invite_skips"))
            .transpose()
            .map_err(backend)?
            .unwrap_or(0);
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn app_invite_skip(&self, user: UserId) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET app_invite_skips = app_invite_skips + 1 WHERE id = $1")
            .bind(user.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn phone_addition_put(
        &self,
        user: UserId,
        state: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO phone_additions (user_id, state, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, created_at = excluded.created_at",
        )
        .bind(user.0)
        .bind(state)
        .bind(now.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn phone_addition(
        &self,
        user: UserId,
        since: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        sqlx::query("SELECT state FROM phone_additions WHERE user_id = $1 AND created_at >= $2")
            .bind(user.0)
            .bind(since.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .map(|r| r.try_get("state").map_err(backend))
            .transpose()
    }

    async fn phone_addition_delete(&self, user: UserId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM phone_additions WHERE user_id = $1")
            .bind(user.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn access_pass_add(
        &self,
        user: UserId,
        pass_hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
        once: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO access_passes (user_id, pass_hash, created_at, expires_at, once) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(user.0)
        .bind(pass_hash)
        .bind(now.0)
        .bind(expires_at.0)
        .bind(once)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn access_pass_live(&self, user: UserId, now: Timestamp) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM access_passes
             WHERE user_id = $1 AND expires_at > $2 AND (NOT once OR used_at IS NULL)",
        )
        .bind(user.0)
        .bind(now.0)
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?
        .try_get("n")
        .map_err(backend)?;
        Ok(n > 0)
    }

    async fn access_pass_use(
        &self,
        user: UserId,
        pass_hash: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE access_passes SET used_at = $1
             WHERE user_id = $2 AND pass_hash = $3 AND expires_at > $4 AND (NOT once OR used_at IS NULL)",
        )
        .bind(now.0)
        .bind(user.0)
        .bind(pass_hash)
        .bind(now.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }
}
