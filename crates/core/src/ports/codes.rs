//! One-time codes sent by SMS, and the failure counters that limit guessing (codes and
//! passwords alike).

use async_trait::async_trait;

use super::StoreError;
use super::{NewQueuedSms, SendCounts, SendCountsQuery};
use crate::domain::{CodeHash, MethodId, PhoneNumber, Timestamp, UserId};
use crate::signin::SendRefusal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ChallengeId(pub i64);

/// A code sent by SMS, as stored: only its keyed hash, never the digits.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub id: ChallengeId,
    pub flow: String,
    pub user_id: UserId,
    pub phone: PhoneNumber,
    pub code_hash: CodeHash,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Verification attempts made against this code so far (the current one included).
    pub attempts: u32,
    pub used_at: Option<Timestamp>,
    /// A newer code was sent for the same sign-in; this one no longer counts.
    pub superseded: bool,
}

#[derive(Debug, Clone)]
pub struct NewChallenge {
    pub flow: String,
    pub user_id: UserId,
    pub phone: PhoneNumber,
    pub code_hash: CodeHash,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What consuming a code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumed {
    Done {
        new_method: Option<MethodId>,
    },
    AlreadyUsed,
    /// Registration refused: the user has a method by now.
    AlreadyRegistered,
}

#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Stores a new code and queues its text message in one transaction, so neither exists
    /// without the other. Earlier unused codes of the same sign-in are superseded, and their
    /// messages still waiting in the queue are cancelled.
    ///
    /// `check` decides on the budgets with counts taken inside the same transaction, after the
    /// new rows hold the write lock: parallel requests cannot all slip under a limit. When it
    /// refuses, nothing is written.
    async fn challenge_create(
        &self,
        challenge: &NewChallenge,
        sms: &NewQueuedSms,
        counts: &SendCountsQuery<'_>,
        check: &(dyn for<'c> Fn(&'c SendCounts) -> Result<(), SendRefusal> + Sync),
    ) -> Result<Result<ChallengeId, SendRefusal>, StoreError>;
    async fn challenge_get(&self, id: ChallengeId) -> Result<Option<Challenge>, StoreError>;
    /// Counts one verification attempt, atomically, and returns the challenge as it is after it.
    /// Concurrent attempts cannot slip past the per-code limit: each one is counted first.
    async fn challenge_attempt(&self, id: ChallengeId) -> Result<Option<Challenge>, StoreError>;
    /// Marks the code used and, for a registration, adds the phone as the user's first method,
    /// in one transaction. A code used already (a concurrent request won) or a user who has
    /// a method by now changes nothing.
    async fn challenge_consume(
        &self,
        id: ChallengeId,
        now: Timestamp,
        register: Option<(UserId, &PhoneNumber)>,
    ) -> Result<Consumed, StoreError>;

    // Failure counters for throttling (keys such as "pwd:user:jan" or "code:user:7").
    async fn failure_record(&self, key: &str, at: Timestamp) -> Result<(), StoreError>;
    /// Records a failure only if fewer than `limit` were recorded since `since`, atomically;
    /// `false` means the limit is reached (and nothing was recorded).
    async fn failure_reserve(
        &self,
        key: &str,
        at: Timestamp,
        since: Timestamp,
        limit: u32,
    ) -> Result<bool, StoreError>;
    /// Takes back one failure recorded at `at` (an attempt that turned out to succeed).
    async fn failure_unreserve(&self, key: &str, at: Timestamp) -> Result<(), StoreError>;
    async fn failure_count_since(&self, key: &str, since: Timestamp) -> Result<u64, StoreError>;
    async fn failure_oldest_since(
        &self,
        key: &str,
        since: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError>;
    async fn failure_latest_since(
        &self,
        key: &str,
        since: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError>;
    async fn failure_clear(&self, key: &str) -> Result<(), StoreError>;
    /// Forgets the failures of every key that starts with `prefix` (hex and ':' only).
    async fn failure_clear_prefix(&self, prefix: &str) -> Result<(), StoreError>;
    /// Forgets failure counts and one-time codes older than `before`; returns rows removed.
    async fn purge_before(&self, before: Timestamp) -> Result<u64, StoreError>;
}
