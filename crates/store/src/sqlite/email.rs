//! The e-mail outbox on SQLite.

use async_trait::async_trait;
use sqlx::Row;
use tweestap_core::ports::{EmailOutbox, EmailStatus, NewEmail, QueuedEmail, StoreError};
use tweestap_core::{Timestamp, UserId};

use super::SqliteStore;
use super::rows::{backend, count};

#[async_trait]
impl EmailOutbox for SqliteStore {
    async fn email_enqueue(&self, e: &NewEmail) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO email_outbox (reference, user_id, to_address, subject, body, next_attempt_at, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&e.reference)
        .bind(e.user_id.map(|u| u.0))
        .bind(&e.to)
        .bind(&e.subject)
        .bind(&e.body)
        .bind(e.created_at.0)
        .bind(e.created_at.0)
        .bind(e.expires_at.0)
        .execute(&mut *self.db.acquire().await?)
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
        // One statement: two workers (or nodes) never claim the same message.
        let rows = sqlx::query(
            "UPDATE email_outbox SET state = 'sending', lease_until = ?
             WHERE id IN (SELECT id FROM email_outbox
                          WHERE (state = 'queued' AND next_attempt_at <= ?)
                             OR (state = 'sending' AND lease_until <= ?)
                          ORDER BY next_attempt_at LIMIT ?)
             RETURNING id, reference, to_address, subject, body, attempts, expires_at",
        )
        .bind(lease_until.0)
        .bind(now.0)
        .bind(now.0)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.db.acquire().await?)
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
            "UPDATE email_outbox SET state = 'sent', sent_at = ?, body = NULL, lease_until = NULL,
                 attempts = attempts + 1, last_error = NULL
             WHERE id = ?",
        )
        .bind(now.0)
        .bind(id)
        .execute(&mut *self.db.acquire().await?)
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
            "UPDATE email_outbox SET state = 'queued', next_attempt_at = ?, lease_until = NULL,
                 attempts = attempts + 1, last_error = ?
             WHERE id = ?",
        )
        .bind(next_at.0)
        .bind(error)
        .bind(id)
        .execute(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn email_failed(&self, id: i64, error: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE email_outbox SET state = 'failed', body = NULL, lease_until = NULL,
                 attempts = attempts + 1, last_error = ?
             WHERE id = ?",
        )
        .bind(error)
        .bind(id)
        .execute(&mut *self.db.acquire().await?)
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
             WHERE ? IS NULL OR user_id = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(user.map(|u| u.0))
        .bind(user.map(|u| u.0))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.db.acquire().await?)
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
