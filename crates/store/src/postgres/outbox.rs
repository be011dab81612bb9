//! The SMS outbox on PostgreSQL: queueing in the code's transaction and the counts the budgets
//! are decided on.

use sqlx::postgres::PgConnection;
use sqlx::{Postgres, Row, Transaction};
use tweestap_core::ports::{
    ChallengeId, NewQueuedSms, ResendState, SendCounts, SendCountsQuery, SmsId, StoreError,
};
use tweestap_core::{PhoneNumber, Timestamp, UserId};

use super::rows::backend;
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
