//! E-mail: the durable queue of messages (written in the transaction of what they announce,
//! or right after it; sent by a worker, retried, never lost by a restart) and the port the
//! SMTP adapter implements.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Timestamp, UserId};

/// A message to queue. Security notices carry no secrets, so the text is kept as it is.
#[derive(Debug, Clone)]
pub struct NewEmail {
    pub reference: String,
    pub user_id: Option<UserId>,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub created_at: Timestamp,
    /// Not sent after this (a notice days late only confuses).
    pub expires_at: Timestamp,
}

/// A queued message, claimed by a worker for a while (its lease).
#[derive(Debug, Clone)]
pub struct QueuedEmail {
    pub id: i64,
    pub reference: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Tries made before this one.
    pub attempts: u32,
    pub expires_at: Timestamp,
}

/// Where a message is, for the helpdesk and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailStatus {
    pub reference: String,
    pub to: String,
    pub subject: String,
    /// queued, sending, sent, failed
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

#[async_trait]
pub trait EmailOutbox: Send + Sync {
    async fn email_enqueue(&self, email: &NewEmail) -> Result<(), StoreError>;
    /// Takes up to `limit` messages that are due (queued, or sending with a lapsed lease: a
    /// worker died) until `lease_until`.
    async fn email_claim(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<QueuedEmail>, StoreError>;
    async fn email_sent(&self, id: i64, now: Timestamp) -> Result<(), StoreError>;
    /// Tried and failed for a passing reason: again at `next_at`.
    async fn email_retry(&self, id: i64, next_at: Timestamp, error: &str)
    -> Result<(), StoreError>;
    /// Given up (refused for good, or expired).
    async fn email_failed(&self, id: i64, error: &str) -> Result<(), StoreError>;
    /// The newest messages, for one account or all.
    async fn email_list(
        &self,
        user: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<EmailStatus>, StoreError>;
}

/// Why an e-mail did not go out.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MailError {
    /// Worth another try later (server down, timeout, 4xx).
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Refused for good (5xx: no such mailbox, not allowed): trying again changes nothing.
    #[error("refused: {0}")]
    Permanent(String),
}

/// Sends one message (the SMTP adapter).
#[async_trait]
pub trait MailSender: Send + Sync {
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError>;
}
