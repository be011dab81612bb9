//! The audit trail on PostgreSQL.

use async_trait::async_trait;
use tweestap_core::UserId;
use tweestap_core::audit::{AuditEvent, AuditRecord};
use tweestap_core::ports::{AuditLog, StoreError};

use super::PgStore;
use super::rows::{self, backend};

/// Audit lines per statement: nine parameters each, well inside PostgreSQL's 65,535.
const AUDIT_LINES_PER_STATEMENT: usize = 500;

/// Writes audit lines, several to a statement (one round trip each).
async fn insert_audits(
    conn: &mut sqlx::PgConnection,
    events: &[AuditEvent],
) -> Result<(), StoreError> {
    for chunk in events.chunks(AUDIT_LINES_PER_STATEMENT) {
        let mut insert = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "INSERT INTO audit_events (at, kind, outcome, user_id, username, actor, ip, detail, user_agent) ",
        );
        insert.push_values(chunk, |mut row, e| {
            row.push_bind(e.at.0)
                .push_bind(e.kind.as_str())
                .push_bind(e.outcome)
                .push_bind(e.user_id.map(|u| u.0))
                .push_bind(&e.username)
                .push_bind(e.actor.as_string())
                .push_bind(&e.ip)
                .push_bind(&e.detail)
                .push_bind(&e.user_agent);
        });
        insert.build().execute(&mut *conn).await.map_err(backend)?;
    }
    Ok(())
}

#[async_trait]
impl AuditLog for PgStore {
    async fn audit(&self, e: &AuditEvent) -> Result<(), StoreError> {
        self.audit_all(std::slice::from_ref(e)).await
    }

    async fn audit_all(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        if events.len() <= AUDIT_LINES_PER_STATEMENT {
            // One statement is all or nothing by itself.
            let mut conn = self.pool.acquire().await.map_err(backend)?;
            return insert_audits(&mut conn, events).await;
        }
        let mut tx = self.pool.begin().await.map_err(backend)?;
        insert_audits(&mut tx, events).await?;
        tx.commit().await.map_err(backend)
    }

    async fn audit_list(
        &self,
        user: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        // Newest first.
        let rows = match user {
            Some(u) => sqlx::query(
                "SELECT at, kind, outcome, user_id, username, actor, ip, detail, user_agent FROM audit_events
                 WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(u.0),
            None => sqlx::query(
                "SELECT at, kind, outcome, user_id, username, actor, ip, detail, user_agent FROM audit_events
                 WHERE $1::BIGINT IS NULL ORDER BY id DESC LIMIT $2",
            )
            .bind(None::<i64>),
        }
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(rows::audit).collect()
    }
}
