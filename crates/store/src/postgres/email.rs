//! The e-mail outbox on PostgreSQL.

use async_trait::async_trait;
use sqlx::Row;
use tweestap_core::ports::{EmailOutbox, EmailStatus, NewEmail, QueuedEmail, StoreError};
use tweestap_core::{Timestamp, UserId};

use super::PgStore;
use super::rows::{backend, count};

#[async_trait]
impl EmailOutbox for PgStore {
    async fn email_enqueue(&self, e: &NewEmail) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO email_outbox (reference, user_id, to_address, subject, body, next_attempt_at, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&e.reference)
        .bind(e.user_id.map(|u| u.0))
        .bind(&e.to)
        .bind(&e.subject)
        .bind(&e.body)
        .bind(e.created_at.0)
        .bind(e.created_at.0)
        .bind(e.expires_at.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn email_claim(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<QueuedEmail>, StoreError> {
        // Rows another node is claiming right now are skipped: each message to one worker.
        let rows = sqlx::query(
            "UPDATE email_outbox SET state = 'sending', lease_until = $1
             WHERE id IN (SELECT id FROM email_outbox
                          WHERE (state = 'queued' AND next_attempt_at <= $2)
                             OR (state = 'sending' AND lease_until <= $3)
                          ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED)
             RETURNING id, reference, to_address, subject, body, attempts, expires_at",
        )
        .bind(lease_until.0)
        .bind(now.0)
        .bind(now.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(QueuedEmail {
                    id: r.try_get("id").map_err(backend)?,
                    reference: r.try_get("reference").map_err(backend)?,
                    to: r.try_get("to_address").map_err(backend)?,
                    subject: r.try_get("subject").map_err(backend)?,
                    body: r
                        .try_get::<Option<String>, _>("body")
                        .map_err(backend)?
                        .unwrap_or_default(),
                    attempts: count(r, "attempts")?,
                    expires_at: Timestamp(r.try_get("expires_at").map_err(backend)?),
                })
            })
            .collect()
    }

    async fn email_sent(&self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        // The text is no longer needed once it went out.
        sqlx::query(
            "UPDATE email_outbox SET state = 'sent', sent_at = $1, body = NULL, lease_until = NULL,
                 attempts = attempts + 1, last_error = NULL
             WHERE id = $2",
        )
        .bind(now.0)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn email_retry(
        &self,
        id: i64,
        next_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE email_outbox SET state = 'queued', next_attempt_at = $1, lease_until = NULL,
                 attempts = attempts + 1, last_error = $2
             WHERE id = $3",
        )
        .bind(next_at.0)
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn email_failed(&self, id: i64, error: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE email_outbox SET state = 'failed', body = NULL, lease_until = NULL,
                 attempts = attempts + 1, last_error = $1
             WHERE id = $2",
        )
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn email_list(
        &self,
        user: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<EmailStatus>, StoreError> {
        let rows = sqlx::query(
            "SELECT reference, to_address, subject, state, attempts, last_error FROM email_outbox
             WHERE $1::BIGINT IS NULL OR user_id = $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(user.map(|u| u.0))
        .bind(user.map(|u| u.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(EmailStatus {
                    reference: r.try_get("reference").map_err(backend)?,
                    to: r.try_get("to_address").map_err(backend)?,
                    subject: r.try_get("subject").map_err(backend)?,
                    state: r.try_get("state").map_err(backend)?,
                    attempts: count(r, "attempts")?,
                    last_error: r.try_get("last_error").map_err(backend)?,
                })
            })
            .collect()
    }
}
