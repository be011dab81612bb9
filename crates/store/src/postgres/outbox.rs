//! The SMS outbox on PostgreSQL: queueing in the code's transaction, claiming with a lease
//! (`FOR UPDATE SKIP LOCKED`, so several nodes each take their own messages), and the counts
//! the budgets are decided on.

use async_trait::async_trait;
use sqlx::postgres::PgConnection;
use sqlx::{Postgres, Row, Transaction};
use tweestap_core::ports::{
    ChallengeId, NewQueuedSms, QueuedSms, ResendState, SendCounts, SendCountsQuery, SmsId,
    SmsOutbox, SmsState, SmsStatus, StoreError,
};
use tweestap_core::{PhoneNumber, Timestamp, UserId};

use super::PgStore;
use super::rows::{self, STATUS_COLUMNS, backend};
use super::tallies::{self, Scope, Window};

/// The advisory lock every transaction that queues a text message takes first, so the
/// budgets are counted, and the running totals moved, by one node at a time (SQLite's single
/// writer does the same there). Held until the transaction ends.
const SMS_BUDGET_LOCK: i64 = 0x7477_6565_7374_6170; // "tweestap"

pub(crate) async fn lock_budgets(conn: &mut PgConnection) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SMS_BUDGET_LOCK)
        .execute(conn)
        .await
        .map_err(backend)?;
    Ok(())
}

pub(crate) async fn enqueue(
    tx: &mut Transaction<'_, Postgres>,
    sms: &NewQueuedSms,
    challenge: ChallengeId,
) -> Result<SmsId, StoreError> {
    let id: i64 = sqlx::query(
        "INSERT INTO sms_outbox (reference, challenge_id, user_id, phone, country, network, sealed_text,
                                 report_token_hash, next_attempt_at, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(&sms.reference)
    .bind(challenge.0)
    .bind(sms.user_id.map(|u| u.0))
    .bind(sms.phone.e164())
    .bind(sms.phone.country())
    .bind(&sms.network)
    .bind(&sms.sealed_text)
    .bind(&sms.report_token_hash)
    .bind(sms.created_at.0)
    .bind(sms.created_at.0)
    .bind(sms.expires_at.0)
    .fetch_one(&mut **tx)
    .await
    .map_err(backend)?
    .try_get("id")
    .map_err(backend)?;
    tallies::count_message(tx, sms, true).await?;
    Ok(SmsId(id))
}

/// The account's resend state: its newest code and the codes nobody used since its last
/// successful one (within a day), from the account's running total.
pub(crate) async fn resend_state(
    conn: &mut PgConnection,
    user: UserId,
    now: Timestamp,
) -> Result<ResendState, StoreError> {
    let last_success: Option<i64> =
        sqlx::query_scalar("SELECT MAX(used_at) FROM sms_challenges WHERE user_id = $1")
            .bind(user.0)
            .fetch_one(&mut *conn)
            .await
            .map_err(backend)?;
    let since_success = Timestamp(last_success.unwrap_or(0).max(now.minus_secs(86_400).0));
    let key = tallies::account_key(user);
    Ok(ResendState {
        last_sent: tallies::latest(conn, Scope::Account, &key).await?,
        // Strictly after: the used code's own message may carry the same second.
        sent_since_success: tallies::since(
            conn,
            Scope::Account,
            &key,
            Window::After(since_success),
        )
        .await?,
    })
}

/// Whose unused codes to count.
enum Owner<'a> {
    Account(UserId),
    Number(&'a PhoneNumber),
}

/// Codes to an account or a number since `since` that nobody used. Walks that account's or
/// number's own messages only, which its hourly cap keeps to a handful.
async fn unused_since(
    conn: &mut PgConnection,
    owner: Owner<'_>,
    since: Timestamp,
) -> Result<u64, StoreError> {
    let column = match owner {
        Owner::Account(_) => "user_id",
        Owner::Number(_) => "phone",
    };
    let sql = format!(
        "SELECT COUNT(*) FROM sms_outbox o JOIN sms_challenges c ON c.id = o.challenge_id
         WHERE o.{column} = $1 AND o.created_at >= $2 AND c.used_at IS NULL"
    );
    let query = sqlx::query_scalar(&sql);
    let query = match owner {
        Owner::Account(user) => query.bind(user.0),
        Owner::Number(phone) => query.bind(phone.e164()),
    };
    let n: i64 = query
        .bind(since.0)
        .fetch_one(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(n as u64)
}

/// Every requested code counts, whatever became of it: a failing gateway must not turn the
/// budgets off. Sends in a window come from running totals kept as messages are queued, never
/// from counting an hour of rows; only the unused codes walk the account's or number's own.
pub(crate) async fn send_counts(
    conn: &mut PgConnection,
    q: &SendCountsQuery<'_>,
) -> Result<SendCounts, StoreError> {
    let hour_start = q.now.minus_secs(3600);
    let hour = Window::AtOrAfter(hour_start);
    let day = Window::AtOrAfter(q.now.minus_secs(86_400));
    let resend = resend_state(conn, q.user, q.now).await?;
    let blocked_until: Option<i64> =
        sqlx::query_scalar("SELECT until FROM sms_blocks WHERE user_id = $1")
            .bind(q.user.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?;
    let (failures, oldest_failure): (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), MIN(at) FROM auth_failures WHERE key = $1 AND at >= $2")
            .bind(q.failure_key)
            .bind(q.failure_since.0)
            .fetch_one(&mut *conn)
            .await
            .map_err(backend)?;
    let account = tallies::account_key(q.user);
    // The account's and the number's unused-code budgets are against pumping: a notice of a
    // changed method (which needs a second factor to cause) and a code that signed someone in
    // cost a pumper nothing, so a teacher who signs in six times in an hour is not refused.
    Ok(SendCounts {
        last_sent_to_account: resend.last_sent,
        sent_to_account_since_success: resend.sent_since_success,
        sent_to_account_last_hour: unused_since(conn, Owner::Account(q.user), hour_start).await?,
        sent_to_number_last_hour: unused_since(conn, Owner::Number(q.phone), hour_start).await?,
        all_to_account_last_hour: tallies::since(conn, Scope::Account, &account, hour).await?,
        all_to_number_last_hour: tallies::since(conn, Scope::Number, q.phone.e164(), hour).await?,
        sent_from_network_last_hour: tallies::since(conn, Scope::Network, q.network, hour).await?,
        sent_to_country_last_hour: tallies::since(conn, Scope::Country, q.phone.country(), hour)
            .await?,
        sent_last_hour: tallies::since(conn, Scope::All, "", hour).await?,
        sent_last_day: tallies::since(conn, Scope::All, "", day).await?,
        account_failures_in_window: failures as u64,
        oldest_failure_in_window: oldest_failure.map(Timestamp),
        blocked_until: blocked_until.map(Timestamp),
    })
}

#[async_trait]
impl SmsOutbox for PgStore {
    async fn sms_claim(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<QueuedSms>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // A message still "sending" after its lease ran out belonged to a worker that died
        // (on any node). Claiming skips rows another node is claiming right now: each message
        // goes to one worker.
        sqlx::query(
            "UPDATE sms_outbox SET interrupted = TRUE, state = CASE WHEN cancelled = TRUE THEN 'failed' ELSE 'queued' END,
                 last_error = CASE WHEN cancelled = TRUE THEN 'cancelled' ELSE last_error END
             WHERE state = 'sending' AND lease_until < $1",
        )
        .bind(now.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let rows = sqlx::query(
            "UPDATE sms_outbox SET state = 'sending', lease_until = $1, attempts = attempts + 1
             WHERE id IN (SELECT id FROM sms_outbox WHERE state = 'queued' AND NOT cancelled AND next_attempt_at <= $2
                          ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
             RETURNING id, reference, phone, sealed_text, expires_at, gateway_index, round, interrupted, avoid_gateways",
        )
        .bind(lease_until.0)
        .bind(now.0)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        rows.iter()
            .map(|row| {
                let phone: String = row.try_get("phone").map_err(backend)?;
                Ok(QueuedSms {
                    id: SmsId(row.try_get("id").map_err(backend)?),
                    reference: row.try_get("reference").map_err(backend)?,
                    phone: PhoneNumber::from_stored(&phone)
                        .map_err(|e| StoreError::Backend(e.to_string()))?,
                    sealed_text: row
                        .try_get::<Option<Vec<u8>>, _>("sealed_text")
                        .map_err(backend)?
                        .unwrap_or_default(),
                    expires_at: Timestamp(row.try_get("expires_at").map_err(backend)?),
                    gateway_index: row.try_get::<i64, _>("gateway_index").map_err(backend)? as u32,
                    round: row.try_get::<i64, _>("round").map_err(backend)? as u32,
                    interrupted: row.try_get::<bool, _>("interrupted").map_err(backend)?,
                    avoid: row
                        .try_get::<String, _>("avoid_gateways")
                        .map_err(backend)?
                        .split(',')
                        .filter_map(|g| g.parse().ok())
                        .collect(),
                })
            })
            .collect()
    }

    async fn sms_mark_sent(
        &self,
        id: SmsId,
        gateway: &str,
        provider_id: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        // A delivery report can overtake this update: "delivered" stays "delivered".
        sqlx::query(
            "UPDATE sms_outbox SET state = CASE WHEN state = 'delivered' THEN 'delivered' ELSE 'sent' END,
                 gateway = $1, provider_id = $2, sent_at = $3, sealed_text = NULL, lease_until = NULL, interrupted = FALSE,
                 last_error = NULL
             WHERE id = $4",
        )
        .bind(gateway)
        .bind(provider_id)
        .bind(now.0)
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn sms_mark_retry(
        &self,
        id: SmsId,
        gateway_index: u32,
        round: u32,
        next_attempt_at: Timestamp,
        error: &str,
        avoid: &[u32],
    ) -> Result<(), StoreError> {
        let avoid: Vec<String> = avoid.iter().map(u32::to_string).collect();
        sqlx::query(
            "UPDATE sms_outbox SET state = CASE WHEN cancelled = TRUE THEN 'failed' ELSE 'queued' END,
                 sealed_text = CASE WHEN cancelled = TRUE THEN NULL ELSE sealed_text END,
                 gateway_index = $1, round = $2, next_attempt_at = $3, last_error = $4, avoid_gateways = $5,
                 lease_until = NULL, interrupted = FALSE
             WHERE id = $6 AND state = 'sending'",
        )
        .bind(i64::from(gateway_index))
        .bind(i64::from(round))
        .bind(next_attempt_at.0)
        .bind(error)
        .bind(avoid.join(","))
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn sms_mark_final(
        &self,
        id: SmsId,
        state: SmsState,
        reason: &str,
        _now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sms_outbox SET state = $1, last_error = $2, sealed_text = NULL, lease_until = NULL, interrupted = FALSE
             WHERE id = $3",
        )
        .bind(state.as_str())
        .bind(reason)
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn sms_delivery_report(
        &self,
        reference: &str,
        gateway: &str,
        delivered: bool,
        detail: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        // "Delivered" from the gateway that has it (or from the one still being answered);
        // "failed" only from the gateway that took it: a late report from a gateway we failed
        // over from must not undo the send that worked.
        let done = if delivered {
            sqlx::query(
                "UPDATE sms_outbox SET state = 'delivered', delivered_at = $1, sealed_text = NULL
                 WHERE reference = $2 AND (state IN ('sent', 'delivered') AND gateway = $3 OR state = 'sending')",
            )
            .bind(now.0)
            .bind(reference)
            .bind(gateway)
            .execute(&self.pool)
            .await
        } else {
            sqlx::query(
                "UPDATE sms_outbox SET state = 'failed', last_error = $1, sealed_text = NULL
                 WHERE reference = $2 AND state = 'sent' AND gateway = $3",
            )
            .bind(format!("delivery failed: {detail}"))
            .bind(reference)
            .bind(gateway)
            .execute(&self.pool)
            .await
        }
        .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn sms_for_challenge(
        &self,
        challenge: ChallengeId,
    ) -> Result<Option<SmsStatus>, StoreError> {
        sqlx::query(&format!("SELECT {STATUS_COLUMNS} FROM sms_outbox WHERE challenge_id = $1 ORDER BY id DESC LIMIT 1"))
            .bind(challenge.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .map(|r| rows::sms_status(&r))
            .transpose()
    }

    async fn sms_by_reference(&self, reference: &str) -> Result<Option<SmsStatus>, StoreError> {
        sqlx::query(&format!(
            "SELECT {STATUS_COLUMNS} FROM sms_outbox WHERE reference = $1"
        ))
        .bind(reference)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(|r| rows::sms_status(&r))
        .transpose()
    }

    async fn sms_list(
        &self,
        user: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<SmsStatus>, StoreError> {
        let by_user = format!(
            "SELECT {STATUS_COLUMNS} FROM sms_outbox WHERE user_id = $1 ORDER BY id DESC LIMIT $2"
        );
        let all = format!("SELECT {STATUS_COLUMNS} FROM sms_outbox ORDER BY id DESC LIMIT $1");
        let query = match user {
            Some(u) => sqlx::query(&by_user).bind(u.0),
            None => sqlx::query(&all),
        };
        let rows = query
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(rows::sms_status).collect()
    }

    async fn sms_send_counts(&self, query: &SendCountsQuery<'_>) -> Result<SendCounts, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        send_counts(&mut conn, query).await
    }

    async fn sms_resend_state(
        &self,
        user: UserId,
        now: Timestamp,
    ) -> Result<ResendState, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        resend_state(&mut conn, user, now).await
    }

    async fn sms_conversion_since(&self, since: Timestamp) -> Result<(u64, u64), StoreError> {
        // The background alert's look at the hour, not the sign-in's: rows are counted.
        // Handed over, whatever the delivery report said later: those were paid for, and
        // pumped numbers often end "undelivered".
        let (sent, verified): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM sms_outbox WHERE sent_at IS NOT NULL AND created_at >= $1),
                    (SELECT COUNT(*) FROM sms_challenges WHERE used_at >= $1)",
        )
        .bind(since.0)
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        let (sent, verified) = (sent as u64, verified as u64);
        Ok((sent, verified))
    }

    async fn sms_report_lookup(&self, token_hash: &str) -> Result<Option<SmsStatus>, StoreError> {
        sqlx::query(&format!(
            "SELECT {STATUS_COLUMNS} FROM sms_outbox WHERE report_token_hash = $1 AND report_used_at IS NULL"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(|r| rows::sms_status(&r))
        .transpose()
    }

    async fn sms_block(
        &self,
        user: UserId,
        until: Timestamp,
        token_hash: Option<&str>,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // Sends check the block under this lock: none can slip past a block being set.
        lock_budgets(&mut tx).await?;
        sqlx::query(
            "INSERT INTO sms_blocks (user_id, until, reason) VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE SET until = GREATEST(sms_blocks.until, excluded.until), reason = excluded.reason",
        )
        .bind(user.0)
        .bind(until.0)
        .bind(reason)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if let Some(hash) = token_hash {
            sqlx::query("UPDATE sms_outbox SET report_used_at = $1 WHERE report_token_hash = $2")
                .bind(until.0)
                .bind(hash)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        // Whatever is still waiting for this account is not sent either, nor retried if it
        // is being sent right now.
        sqlx::query(
            "UPDATE sms_outbox SET cancelled = TRUE,
                 state = CASE WHEN state = 'queued' THEN 'failed' ELSE state END,
                 sealed_text = CASE WHEN state = 'queued' THEN NULL ELSE sealed_text END,
                 last_error = 'account blocked'
             WHERE user_id = $1 AND state IN ('queued', 'sending')",
        )
        .bind(user.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(())
    }

    async fn sms_unblock(&self, user: UserId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM sms_blocks WHERE user_id = $1")
            .bind(user.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn sms_enqueue_notice(&self, sms: &NewQueuedSms) -> Result<SmsId, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        lock_budgets(&mut tx).await?;
        let id: i64 = sqlx::query(
            "INSERT INTO sms_outbox (reference, user_id, phone, country, network, sealed_text,
                                     next_attempt_at, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(&sms.reference)
        .bind(sms.user_id.map(|u| u.0))
        .bind(sms.phone.e164())
        .bind(sms.phone.country())
        .bind(&sms.network)
        .bind(&sms.sealed_text)
        .bind(sms.created_at.0)
        .bind(sms.created_at.0)
        .bind(sms.expires_at.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?
        .try_get("id")
        .map_err(backend)?;
        tallies::count_message(&mut tx, sms, false).await?;
        tx.commit().await.map_err(backend)?;
        Ok(SmsId(id))
    }
}
