//! Passkeys, the tweestap app and its approval requests, on PostgreSQL. Every "once" (a ceremony
//! state, a link, an answer, the sign-in going on) is one conditional statement, so two
//! requests racing cannot both win.

use async_trait::async_trait;
use sqlx::Row;
use tweestap_core::approval::{ApprovalHistory, ApprovalStatus};
use tweestap_core::ports::{
    ApprovalPurpose, ApprovalStore, CeremonyPurpose, StoreError, StoredApproval,
};
use tweestap_core::{Method, MethodId, MethodKind, Timestamp, UserId};

use super::PgStore;
use super::rows::{self, APPROVAL_COLUMNS, backend};

/// Ceremonies kept per account and purpose (several tabs at once are fine; thousands are not).
const CEREMONIES_PER_USER: i64 = 20;

impl PgStore {
    /// The user of a live (unexpired) link, used already or not.
    async fn app_link_owner(
        &self,
        token_hash: &str,
        now: Timestamp,
        used: bool,
    ) -> Result<Option<UserId>, StoreError> {
        sqlx::query(
            "SELECT user_id FROM app_links
             WHERE token_hash = $1 AND expires_at > $2 AND (used_at IS NOT NULL) = $3",
        )
        .bind(token_hash)
        .bind(now.0)
        .bind(used)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(|r| r.try_get::<i64, _>("user_id").map(UserId))
        .transpose()
        .map_err(backend)
    }
}

#[async_trait]
impl ApprovalStore for PgStore {
    async fn ceremony_put(
        &self,
        id: &str,
        user: UserId,
        purpose: CeremonyPurpose,
        state: &str,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO webauthn_ceremonies (id, user_id, purpose, state, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(user.0)
        .bind(purpose.as_str())
        .bind(state)
        .bind(expires_at.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        // Every page load starts a ceremony: keep an account's few newest per purpose, so
        // reloading (or a script) cannot grow the table without end, and reloading the
        // passkey page cannot crowd out the phone's approval.
        sqlx::query(
            "DELETE FROM webauthn_ceremonies WHERE user_id = $1 AND purpose = $3 AND id NOT IN
               (SELECT id FROM webauthn_ceremonies WHERE user_id = $1 AND purpose = $3
                ORDER BY expires_at DESC, seq DESC LIMIT $2)",
        )
        .bind(user.0)
        .bind(CEREMONIES_PER_USER)
        .bind(purpose.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(())
    }

    async fn ceremony_take(
        &self,
        id: &str,
        user: UserId,
        purpose: CeremonyPurpose,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        // Deleted whether or not it matches: a guessed or misdirected id ends the ceremony.
        let row = sqlx::query(
            "DELETE FROM webauthn_ceremonies WHERE id = $1 RETURNING user_id, purpose, state, expires_at",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let owner: i64 = row.try_get("user_id").map_err(backend)?;
        let stored_purpose: String = row.try_get("purpose").map_err(backend)?;
        let expires: i64 = row.try_get("expires_at").map_err(backend)?;
        if owner != user.0 || stored_purpose != purpose.as_str() || now.0 >= expires {
            return Ok(None);
        }
        Ok(Some(row.try_get("state").map_err(backend)?))
    }

    async fn credential_method_add(
        &self,
        user: UserId,
        kind: &MethodKind,
        device_token_hash: Option<&str>,
        replaces: Option<MethodId>,
        now: Timestamp,
    ) -> Result<MethodId, StoreError> {
        let (kind, label, credential_id, credential, confirmed) = match kind {
            MethodKind::Passkey {
                label,
                credential_id,
                credential,
            } => ("passkey", label, credential_id, credential, Some(now.0)),
            MethodKind::PushApp {
                label,
                credential_id,
                credential,
                ..
            } => ("push", label, credential_id, credential, None),
            _ => {
                return Err(StoreError::Backend(
                    "only WebAuthn credentials are added here".into(),
                ));
            }
        };
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let id: i64 = sqlx::query(
            "INSERT INTO mfa_methods (user_id, kind, label, credential_id, credential, device_token_hash, created_at, confirmed_at, replaces_method)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(user.0)
        .bind(kind)
        .bind(label)
        .bind(credential_id)
        .bind(credential)
        .bind(device_token_hash)
        .bind(now.0)
        .bind(confirmed)
        .bind(replaces.map(|m| m.0))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict("this credential is registered already".into())
            }
            _ => backend(e),
        })?
        .try_get("id")
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(MethodId(id))
    }

    async fn credential_update(&self, id: MethodId, credential: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE mfa_methods SET credential = $1 WHERE id = $2")
            .bind(credential)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn push_method_by_device(&self, token_hash: &str) -> Result<Option<Method>, StoreError> {
        sqlx::query(&format!(
            "SELECT {} FROM mfa_methods WHERE device_token_hash = $1 AND kind = 'push'",
            rows::METHOD_COLUMNS
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .as_ref()
        .map(rows::method)
        .transpose()
    }

    async fn push_method_confirm(&self, id: MethodId, now: Timestamp) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // Under the account's lock: a new link started meanwhile (which drops this unconfirmed
        // one) cannot leave the account with the old link gone and the new one never confirmed.
        if !super::lock_method_owner(&mut tx, id).await? {
            return Ok(false);
        }
        // The phone's earlier link (same account) gives way only now that the new one works,
        // handing on "asked first". It goes first: it may hold the same credential.
        // The earlier link is the one the phone's cookie named, or any of this account's
        // links with the same key (the cookie may have been lost in between).
        let old = sqlx::query(
            "DELETE FROM mfa_methods WHERE kind = 'push' AND id != $1
               AND user_id = (SELECT new.user_id FROM mfa_methods new
                               WHERE new.id = $1 AND new.confirmed_at IS NULL)
               AND (id = (SELECT new.replaces_method FROM mfa_methods new WHERE new.id = $1)
                    OR credential_id = (SELECT new.credential_id FROM mfa_methods new WHERE new.id = $1))
             RETURNING is_default",
        )
        .bind(id.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        let mut was_default = false;
        for row in &old {
            was_default |= row.try_get::<bool, _>("is_default").map_err(backend)?;
        }
        let done = sqlx::query(
            "UPDATE mfa_methods SET confirmed_at = $1, is_default = $2
             WHERE id = $3 AND kind = 'push' AND confirmed_at IS NULL",
        )
        .bind(now.0)
        .bind(was_default)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if done.rows_affected() != 1 {
            // Gone meanwhile: the old link stays.
            tx.rollback().await.map_err(backend)?;
            return Ok(false);
        }
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn push_subscription_set(
        &self,
        id: MethodId,
        subscription: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE mfa_methods SET subscription = $1 WHERE id = $2 AND kind = 'push'")
            .bind(subscription)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn app_link_put(
        &self,
        user: UserId,
        token_hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // A new link replaces unfinished ones: their phones (linked but never approved) and
        // their unused links stop working.
        sqlx::query(
            "DELETE FROM mfa_methods WHERE user_id = $1 AND kind = 'push' AND confirmed_at IS NULL",
        )
        .bind(user.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query("UPDATE app_links SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
            .bind(now.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query(
            "INSERT INTO app_links (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user.0)
        .bind(now.0)
        .bind(expires_at.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(())
    }

    async fn app_link_user(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<UserId>, StoreError> {
        self.app_link_owner(token_hash, now, false).await
    }

    async fn app_link_use(&self, token_hash: &str, now: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE app_links SET used_at = $1 WHERE token_hash = $2 AND expires_at > $3 AND used_at IS NULL",
        )
        .bind(now.0)
        .bind(token_hash)
        .bind(now.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn approval_history(
        &self,
        user: UserId,
        now: Timestamp,
        failure_window_secs: i64,
    ) -> Result<ApprovalHistory, StoreError> {
        let row = sqlx::query(
            "SELECT
               (SELECT COUNT(*) FROM approvals WHERE user_id = $1 AND purpose = 'sign_in'
                  AND status = 'pending' AND expires_at > $2) AS pending,
               (SELECT COUNT(*) FROM approvals WHERE user_id = $1 AND purpose = 'sign_in'
                  AND created_at > $2 - 3600) AS last_hour,
               (SELECT COUNT(*) FROM approvals WHERE user_id = $1 AND purpose = 'sign_in'
                  AND status IN ('denied', 'wrong_number')
                  -- Within a pause's length before the newest failure (not before now: the
                  -- pause runs from the last denial), and since the last approval.
                  AND answered_at > (SELECT MAX(answered_at) FROM approvals
                      WHERE user_id = $1 AND purpose = 'sign_in'
                        AND status IN ('denied', 'wrong_number')) - $3
                  AND answered_at >= COALESCE((SELECT MAX(answered_at) FROM approvals
                      WHERE user_id = $1 AND purpose = 'sign_in' AND status = 'approved'), 0))
                  AS failures,
               (SELECT MAX(answered_at) FROM approvals WHERE user_id = $1 AND purpose = 'sign_in'
                  AND status IN ('denied', 'wrong_number')) AS last_failure",
        )
        .bind(user.0)
        .bind(now.0)
        .bind(failure_window_secs)
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        let count = |c: &str| -> Result<u32, StoreError> {
            let n: i64 = row.try_get(c).map_err(backend)?;
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        };
        Ok(ApprovalHistory {
            pending: count("pending")? > 0,
            started_last_hour: count("last_hour")?,
            failures_in_a_row: count("failures")?,
            last_failure_at: row
                .try_get::<Option<i64>, _>("last_failure")
                .map_err(backend)?
                .map(Timestamp),
        })
    }

    async fn approval_insert(
        &self,
        a: &StoredApproval,
        max_per_hour: Option<u32>,
    ) -> Result<bool, StoreError> {
        let offered = a.offered.map(|n| n.to_string()).join(",");
        // The account's lock makes the caps hold against parallel sign-ins on any node.
        let mut tx = self.pool.begin().await.map_err(backend)?;
        super::lock_account(&mut tx, a.user_id).await?;
        let done = sqlx::query(
            "INSERT INTO approvals (id, user_id, method_id, purpose, number, offered, context, created_at, expires_at, status, confirmed)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12
             WHERE $11::BIGINT IS NULL OR (
               NOT EXISTS (SELECT 1 FROM approvals WHERE user_id = $2 AND purpose = 'sign_in'
                             AND status = 'pending' AND expires_at > $8)
               AND (SELECT COUNT(*) FROM approvals WHERE user_id = $2 AND purpose = 'sign_in'
                      AND created_at > $8 - 3600) < $11)",
        )
        .bind(&a.id)
        .bind(a.user_id.0)
        .bind(a.method_id.0)
        .bind(match a.purpose {
            ApprovalPurpose::SignIn => "sign_in",
            ApprovalPurpose::Link => "link",
        })
        .bind(i64::from(a.number))
        .bind(offered)
        .bind(&a.context)
        .bind(a.created_at.0)
        .bind(a.expires_at.0)
        .bind(a.status.as_str())
        .bind(max_per_hour.map(i64::from))
        .bind(a.confirmed)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn approval_get(&self, id: &str) -> Result<Option<StoredApproval>, StoreError> {
        sqlx::query(&format!(
            "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .as_ref()
        .map(rows::approval)
        .transpose()
    }

    async fn approvals_pending(
        &self,
        method: MethodId,
        now: Timestamp,
    ) -> Result<Vec<StoredApproval>, StoreError> {
        sqlx::query(&format!(
            "SELECT {APPROVAL_COLUMNS} FROM approvals
             WHERE method_id = $1 AND status = 'pending' AND expires_at > $2 ORDER BY created_at DESC"
        ))
        .bind(method.0)
        .bind(now.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(rows::approval)
        .collect()
    }

    async fn approval_latest_link(
        &self,
        user: UserId,
    ) -> Result<Option<StoredApproval>, StoreError> {
        sqlx::query(&format!(
            "SELECT {APPROVAL_COLUMNS} FROM approvals
             WHERE user_id = $1 AND purpose = 'link' ORDER BY created_at DESC, seq DESC LIMIT 1"
        ))
        .bind(user.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .as_ref()
        .map(rows::approval)
        .transpose()
    }

    async fn approval_answer(
        &self,
        id: &str,
        status: ApprovalStatus,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE approvals SET status = $1, answered_at = $2
             WHERE id = $3 AND status = 'pending' AND confirmed",
        )
        .bind(status.as_str())
        .bind(now.0)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn approval_link_decide(
        &self,
        id: &str,
        user: UserId,
        yes: bool,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // Yes (once, in time): the phone may answer now, with time to walk between the
        // screens. No (also after a yes, while nothing was answered): closed, and the phone
        // that was linking is dropped.
        let done = sqlx::query(
            "UPDATE approvals
             SET confirmed = CASE WHEN $1 THEN TRUE ELSE confirmed END,
                 expires_at = CASE WHEN $1 THEN $2 ELSE expires_at END,
                 status = CASE WHEN $1 THEN status ELSE 'denied' END,
                 answered_at = CASE WHEN $1 THEN answered_at ELSE $3 END
             WHERE id = $4 AND user_id = $5 AND purpose = 'link' AND status = 'pending'
               AND (NOT $1 OR (NOT confirmed AND expires_at > $3))
             RETURNING method_id",
        )
        .bind(yes)
        .bind(expires_at.0)
        .bind(now.0)
        .bind(id)
        .bind(user.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = done else {
            return Ok(false);
        };
        if !yes {
            let method: i64 = row.try_get("method_id").map_err(backend)?;
            sqlx::query(
                "DELETE FROM mfa_methods WHERE id = $1 AND kind = 'push' AND confirmed_at IS NULL",
            )
            .bind(method)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn app_link_spent(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<UserId>, StoreError> {
        self.app_link_owner(token_hash, now, true).await
    }

    async fn approvals_link_cancel(&self, user: UserId, now: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE approvals SET status = 'denied', answered_at = $1
             WHERE user_id = $2 AND purpose = 'link' AND status = 'pending'",
        )
        .bind(now.0)
        .bind(user.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn approval_consume(
        &self,
        id: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE approvals SET consumed_at = $1
             WHERE id = $2 AND status = 'approved' AND consumed_at IS NULL AND purpose = 'sign_in'
               AND $3 <= $4",
        )
        .bind(now.0)
        .bind(id)
        .bind(now.0)
        .bind(until.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn approvals_report_all(&self, user: UserId, now: Timestamp) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE approvals SET status = 'reported', answered_at = COALESCE(answered_at, $1)
             WHERE user_id = $2 AND purpose = 'sign_in'
               AND (status = 'pending' OR (status = 'approved' AND consumed_at IS NULL))",
        )
        .bind(now.0)
        .bind(user.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?
        .rows_affected())
    }

    async fn push_block(
        &self,
        user: UserId,
        until: Timestamp,
        flag_reason: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET push_blocked_until = $1, flagged_at = $2, flag_reason = $3 WHERE id = $4",
        )
        .bind(until.0)
        .bind(now.0)
        .bind(flag_reason)
        .bind(user.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn push_blocked_until(&self, user: UserId) -> Result<Option<Timestamp>, StoreError> {
        Ok(
            sqlx::query("SELECT push_blocked_until FROM users WHERE id = $1")
                .bind(user.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?
                .map(|r| r.try_get::<Option<i64>, _>("push_blocked_until"))
                .transpose()
                .map_err(backend)?
                .flatten()
                .map(Timestamp),
        )
    }

    async fn user_flag(&self, user: UserId) -> Result<Option<(Timestamp, String)>, StoreError> {
        let row = sqlx::query("SELECT flagged_at, flag_reason FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let at: Option<i64> = row.try_get("flagged_at").map_err(backend)?;
        let reason: Option<String> = row.try_get("flag_reason").map_err(backend)?;
        Ok(at.map(|at| (Timestamp(at), reason.unwrap_or_default())))
    }

    async fn user_unflag(&self, user: UserId) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET flagged_at = NULL, flag_reason = NULL, push_blocked_until = NULL
             WHERE id = $1 AND (flagged_at IS NOT NULL OR push_blocked_until IS NOT NULL)",
        )
        .bind(user.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }
}
