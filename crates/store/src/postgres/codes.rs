//! One-time codes and failure counters on PostgreSQL.

use async_trait::async_trait;
use sqlx::Row;
use tweestap_core::ports::{
    Challenge, ChallengeId, CodeStore, Consumed, NewChallenge, NewQueuedSms, SendCounts,
    SendCountsQuery, StoreError,
};
use tweestap_core::signin::SendRefusal;
use tweestap_core::{MethodId, PhoneNumber, Timestamp, UserId};

use super::PgStore;
use super::rows::{self, backend};

const CHALLENGE_COLUMNS: &str =
    "id, flow, user_id, phone, code_hash, created_at, expires_at, attempts, used_at, superseded";

impl PgStore {
    /// The oldest (`MIN`) or newest (`MAX`) failure of a key since `since`.
    async fn failure_edge(
        &self,
        key: &str,
        since: Timestamp,
        edge: &'static str,
    ) -> Result<Option<Timestamp>, StoreError> {
        let at: Option<i64> = sqlx::query(&format!(
            "SELECT {edge}(at) AS at FROM auth_failures WHERE key = $1 AND at >= $2"
        ))
        .bind(key)
        .bind(since.0)
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?
        .try_get("at")
        .map_err(backend)?;
        Ok(at.map(Timestamp))
    }
}

#[async_trait]
impl CodeStore for PgStore {
    async fn challenge_create(
        &self,
        c: &NewChallenge,
        sms: &NewQueuedSms,
        counts: &SendCountsQuery<'_>,
        check: &(dyn for<'c> Fn(&'c SendCounts) -> Result<(), SendRefusal> + Sync),
    ) -> Result<Result<ChallengeId, SendRefusal>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // One node at a time: the counts below cannot change under us.
        super::outbox::lock_budgets(&mut tx).await?;
        sqlx::query(
            "UPDATE sms_challenges SET superseded = TRUE WHERE flow = $1 AND used_at IS NULL",
        )
        .bind(&c.flow)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query(
            "UPDATE sms_outbox SET cancelled = TRUE,
                 state = CASE WHEN state = 'queued' THEN 'failed' ELSE state END,
                 sealed_text = CASE WHEN state = 'queued' THEN NULL ELSE sealed_text END,
                 last_error = 'replaced by a newer code'
             WHERE state IN ('queued', 'sending')
               AND challenge_id IN (SELECT id FROM sms_challenges WHERE flow = $1 AND superseded = TRUE)",
        )
        .bind(&c.flow)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let id: i64 = sqlx::query(
            "INSERT INTO sms_challenges (flow, user_id, phone, code_hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&c.flow)
        .bind(c.user_id.0)
        .bind(c.phone.e164())
        .bind(&c.code_hash.0[..])
        .bind(c.created_at.0)
        .bind(c.expires_at.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?
        .try_get("id")
        .map_err(backend)?;
        let found = super::outbox::send_counts(&mut tx, counts).await?;
        if let Err(refusal) = check(&found) {
            tx.rollback().await.map_err(backend)?;
            return Ok(Err(refusal));
        }
        super::outbox::enqueue(&mut tx, sms, ChallengeId(id)).await?;
        tx.commit().await.map_err(backend)?;
        Ok(Ok(ChallengeId(id)))
    }

    async fn challenge_get(&self, id: ChallengeId) -> Result<Option<Challenge>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CHALLENGE_COLUMNS} FROM sms_challenges WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(|r| rows::challenge(&r))
        .transpose()
    }

    async fn challenge_attempt(&self, id: ChallengeId) -> Result<Option<Challenge>, StoreError> {
        sqlx::query(&format!(
            "UPDATE sms_challenges SET attempts = attempts + 1 WHERE id = $1 RETURNING {CHALLENGE_COLUMNS}"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(|r| rows::challenge(&r))
        .transpose()
    }

    async fn challenge_consume(
        &self,
        id: ChallengeId,
        now: Timestamp,
        register: Option<(UserId, &PhoneNumber)>,
    ) -> Result<Consumed, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        if let Some((user, _)) = register {
            // Two codes of one account consumed at once (two tabs, two nodes): the account's
            // row lock, taken first as everywhere, lets only the first add a first method.
            super::lock_account(&mut tx, user).await?;
        }
        let done = sqlx::query(
            "UPDATE sms_challenges SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND superseded = FALSE",
        )
        .bind(now.0)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if done.rows_affected() != 1 {
            return Ok(Consumed::AlreadyUsed);
        }
        let mut new_method = None;
        if let Some((user, phone)) = register {
            let existing: i64 =
                sqlx::query("SELECT COUNT(*) AS n FROM mfa_methods WHERE user_id = $1 AND confirmed_at IS NOT NULL")
                    .bind(user.0)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(backend)?
                    .try_get("n")
                    .map_err(backend)?;
            if existing > 0 {
                tx.rollback().await.map_err(backend)?;
                return Ok(Consumed::AlreadyRegistered);
            }
            let method: i64 = sqlx::query(
                "INSERT INTO mfa_methods (user_id, kind, phone, created_at, confirmed_at, last_used_at) VALUES ($1, 'sms', $2, $3, $4, $5) RETURNING id",
            )
            .bind(user.0)
            .bind(phone.e164())
            .bind(now.0)
            .bind(now.0)
            .bind(now.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?
            .try_get("id")
            .map_err(backend)?;
            new_method = Some(MethodId(method));
        }
        tx.commit().await.map_err(backend)?;
        Ok(Consumed::Done { new_method })
    }

    async fn failure_record(&self, key: &str, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO auth_failures (key, at) VALUES ($1, $2)")
            .bind(key)
            .bind(at.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn failure_reserve(
        &self,
        key: &str,
        at: Timestamp,
        since: Timestamp,
        limit: u32,
    ) -> Result<bool, StoreError> {
        // Parallel attempts on one key (on any node) wait for each other: check and insert
        // are atomic per key, as SQLite's single writer makes them there.
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let done = sqlx::query(
            "INSERT INTO auth_failures (key, at)
             SELECT $1, $2 WHERE (SELECT COUNT(*) FROM auth_failures WHERE key = $3 AND at >= $4) < $5",
        )
        .bind(key)
        .bind(at.0)
        .bind(key)
        .bind(since.0)
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn failure_unreserve(&self, key: &str, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM auth_failures WHERE id = (SELECT id FROM auth_failures WHERE key = $1 AND at = $2 LIMIT 1)")
            .bind(key)
            .bind(at.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn failure_count_since(&self, key: &str, since: Timestamp) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM auth_failures WHERE key = $1 AND at >= $2")
                .bind(key)
                .bind(since.0)
                .fetch_one(&self.pool)
                .await
                .map_err(backend)?
                .try_get("n")
                .map_err(backend)?;
        Ok(n as u64)
    }

    async fn failure_oldest_since(
        &self,
        key: &str,
        since: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        self.failure_edge(key, since, "MIN").await
    }

    async fn failure_latest_since(
        &self,
        key: &str,
        since: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        self.failure_edge(key, since, "MAX").await
    }

    async fn failure_clear_prefix(&self, prefix: &str) -> Result<(), StoreError> {
        // substr, not LIKE: the prefix is taken literally.
        sqlx::query("DELETE FROM auth_failures WHERE substr(key, 1, length($1)) = $1")
            .bind(prefix)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn failure_clear(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM auth_failures WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn purge_before(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // The running totals are only ever changed under the budget lock: a purge that took a
        // scope's last total while a send read it would make the window count all history.
        super::outbox::lock_budgets(&mut tx).await?;
        let failures = sqlx::query("DELETE FROM auth_failures WHERE at < $1")
            .bind(before.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        let messages = sqlx::query("DELETE FROM sms_outbox WHERE created_at < $1")
            .bind(before.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        let codes = sqlx::query("DELETE FROM sms_challenges WHERE expires_at < $1")
            .bind(before.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        let tallies = super::tallies::purge(&mut tx, before).await?;
        // Used codes and refresh tokens stay until they expire, so a replay is still recognised.
        let grants = sqlx::query("DELETE FROM oidc_grants WHERE expires_at < $1")
            .bind(before.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        // Push requests keep the address and browser of a sign-in: not longer than the rest.
        let mut webauthn = 0;
        for sql in [
            "DELETE FROM approvals WHERE expires_at < $1",
            "DELETE FROM webauthn_ceremonies WHERE expires_at < $1",
            "DELETE FROM app_links WHERE expires_at < $1",
        ] {
            webauthn += sqlx::query(sql)
                .bind(before.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
        }
        tx.commit().await.map_err(backend)?;
        Ok(failures + messages + codes + tallies + grants + webauthn)
    }
}
