//! Running totals of text messages (`sms_tallies`), kept in the transaction that queues a
//! message. A window's count is the newest total minus the last total before the window, two
//! index lookups, so a budget check costs the same at 08:00 and at 08:59 whatever the hour's
//! traffic. Exact, not bucketed: each row is one second of one scope's running total.

use sqlx::SqliteConnection;
use tweestap_core::Timestamp;
use tweestap_core::ports::{NewQueuedSms, StoreError};

pub(crate) use crate::tally::{Scope, Window, account_key};

use super::rows::backend;

/// Counts one message at `at` in a scope.
async fn add(
    conn: &mut SqliteConnection,
    scope: Scope,
    key: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sms_tallies (scope, key, at, total)
         VALUES (?1, ?2, ?3, COALESCE((SELECT total FROM sms_tallies
                                        WHERE scope = ?1 AND key = ?2 AND at <= ?3
                                        ORDER BY at DESC LIMIT 1), 0) + 1)
         ON CONFLICT (scope, key, at) DO UPDATE SET total = total + 1",
    )
    .bind(scope.name())
    .bind(key)
    .bind(at.0)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    // Only when the clock stepped back: totals after `at` include this message too. In the
    // normal case the range is empty and this is one index probe.
    sqlx::query("UPDATE sms_tallies SET total = total + 1 WHERE scope = ? AND key = ? AND at > ?")
        .bind(scope.name())
        .bind(key)
        .bind(at.0)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(())
}

/// Counts a message being queued: in the installation's, its network's and its country's
/// totals, and, when it carries a code, in the account's and the number's.
pub(crate) async fn count_message(
    conn: &mut SqliteConnection,
    sms: &NewQueuedSms,
    code: bool,
) -> Result<(), StoreError> {
    let at = sms.created_at;
    add(conn, Scope::All, "", at).await?;
    // A message without a known network (an import's notice) is in no network's total, as
    // it was in no network's count of rows.
    if let Some(network) = &sms.network {
        add(conn, Scope::Network, network, at).await?;
    }
    add(conn, Scope::Country, sms.phone.country(), at).await?;
    if code {
        if let Some(user) = sms.user_id {
            add(conn, Scope::Account, &account_key(user), at).await?;
        }
        add(conn, Scope::Number, sms.phone.e164(), at).await?;
    }
    Ok(())
}

/// Messages in a scope from the start of a window until now.
pub(crate) async fn since(
    conn: &mut SqliteConnection,
    scope: Scope,
    key: &str,
    from: Window,
) -> Result<u64, StoreError> {
    // The baseline is the last total recorded before the window began.
    let (op, at) = match from {
        Window::AtOrAfter(t) => ("<", t),
        Window::After(t) => ("<=", t),
    };
    let sql = format!(
        "SELECT COALESCE((SELECT total FROM sms_tallies WHERE scope = ?1 AND key = ?2
                          ORDER BY at DESC LIMIT 1), 0)
              - COALESCE((SELECT total FROM sms_tallies WHERE scope = ?1 AND key = ?2 AND at {op} ?3
                          ORDER BY at DESC LIMIT 1), 0) AS n"
    );
    let n: i64 = sqlx::query_scalar(&sql)
        .bind(scope.name())
        .bind(key)
        .bind(at.0)
        .fetch_one(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(n.max(0) as u64)
}

/// The second of the newest message counted in a scope, while its total is kept.
pub(crate) async fn latest(
    conn: &mut SqliteConnection,
    scope: Scope,
    key: &str,
) -> Result<Option<Timestamp>, StoreError> {
    let at: Option<i64> = sqlx::query_scalar(
        "SELECT at FROM sms_tallies WHERE scope = ? AND key = ? ORDER BY at DESC LIMIT 1",
    )
    .bind(scope.name())
    .bind(key)
    .fetch_optional(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(at.map(Timestamp))
}

/// Forgets what no window starting at `before` or later needs: of the totals older than
/// `before`, only each scope's last one stays, as the baseline, and only while newer ones
/// follow it.
pub(crate) async fn purge(
    conn: &mut SqliteConnection,
    before: Timestamp,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM sms_tallies AS t
         WHERE t.at < ?1
           AND (EXISTS (SELECT 1 FROM sms_tallies n
                        WHERE n.scope = t.scope AND n.key = t.key AND n.at > t.at AND n.at < ?1)
                OR NOT EXISTS (SELECT 1 FROM sms_tallies n
                               WHERE n.scope = t.scope AND n.key = t.key AND n.at > t.at))",
    )
    .bind(before.0)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected())
}
