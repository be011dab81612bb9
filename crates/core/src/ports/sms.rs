//! The SMS side of the ports: gateways that send, and the durable outbox they are fed from.

use async_trait::async_trait;
use thiserror::Error;

use super::{ChallengeId, StoreError};
use crate::domain::{PhoneNumber, Timestamp, UserId};

/// A text message on its way to a gateway. `Debug` hides the text: it holds a code.
#[derive(Clone)]
pub struct OutgoingSms {
    pub to: PhoneNumber,
    pub text: String,
    /// Our own id for the message, for delivery reports and support.
    pub reference: String,
    /// How long the code stays valid: gateways that can are told not to deliver it later.
    pub valid_for_secs: i64,
}

impl std::fmt::Debug for OutgoingSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingSms")
            .field("to", &self.to.masked())
            .field("reference", &self.reference)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SmsError {
    /// The gateway could not be reached, timed out, or answered 5xx/429: it may work later,
    /// and another gateway may work now.
    #[error("gateway unavailable: {0}")]
    Unavailable(String),
    /// The gateway refused this message (4xx): retrying the same request there will not help.
    #[error("gateway refused the message: {0}")]
    Rejected(String),
    /// The request went out but no answer came (a timeout after sending): the gateway may
    /// have taken the message, so it must not get it again.
    #[error("no answer from the gateway: {0}")]
    Uncertain(String),
}

/// What a gateway said when it took a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// The provider's id for the message, when it gives one.
    pub provider_id: Option<String>,
}

#[async_trait]
pub trait SmsGateway: Send + Sync {
    /// A short name for logs and the SMS status ("outbox", "kannel", "twilio"…).
    fn name(&self) -> &str;
    async fn send(&self, sms: &OutgoingSms) -> Result<Accepted, SmsError>;
}

/// Wakes the worker that empties an outbox (texts, e-mail), so a new message need not wait
/// for its next poll.
pub trait QueueWaker: Send + Sync {
    fn wake(&self);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SmsId(pub i64);

/// Where a message is. Only `Queued` messages are picked up; `Sending` means a worker holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsState {
    Queued,
    Sending,
    /// A gateway accepted it.
    Sent,
    /// The operator reported it delivered to the phone.
    Delivered,
    Failed,
    /// Its code expired before any gateway took it: dropped, never sent late.
    Expired,
}

impl SmsState {
    pub fn as_str(self) -> &'static str {
        match self {
            SmsState::Queued => "queued",
            SmsState::Sending => "sending",
            SmsState::Sent => "sent",
            SmsState::Delivered => "delivered",
            SmsState::Failed => "failed",
            SmsState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<SmsState> {
        Some(match s {
            "queued" => SmsState::Queued,
            "sending" => SmsState::Sending,
            "sent" => SmsState::Sent,
            "delivered" => SmsState::Delivered,
            "failed" => SmsState::Failed,
            "expired" => SmsState::Expired,
            _ => return None,
        })
    }

    /// No gateway will touch it again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            SmsState::Sent | SmsState::Delivered | SmsState::Failed | SmsState::Expired
        )
    }
}

/// A message to queue, with its text sealed (encrypted) because it holds a code.
#[derive(Debug, Clone)]
pub struct NewQueuedSms {
    pub reference: String,
    pub user_id: Option<UserId>,
    pub phone: PhoneNumber,
    pub sealed_text: Vec<u8>,
    /// The requesting client's network (IPv4 address or IPv6 /64), for budgets.
    pub network: Option<String>,
    /// SHA-256 (hex) of the token in the "didn't ask for this?" link, when there is one.
    pub report_token_hash: Option<String>,
    pub created_at: Timestamp,
    /// Not sent after this: a code that arrives too late is worse than none.
    pub expires_at: Timestamp,
}

/// A message a worker has claimed.
#[derive(Debug, Clone)]
pub struct QueuedSms {
    pub id: SmsId,
    pub reference: String,
    pub phone: PhoneNumber,
    pub sealed_text: Vec<u8>,
    pub expires_at: Timestamp,
    /// Which configured gateway to try next.
    pub gateway_index: u32,
    /// How many times the whole gateway list has been tried.
    pub round: u32,
    /// It was being sent when the process stopped: the gateway may or may not have taken it.
    pub interrupted: bool,
    /// Gateways that may already hold it: never again these.
    pub avoid: Vec<u32>,
}

/// A message's history, for administrators and for the page that waits on it.
#[derive(Debug, Clone)]
pub struct SmsStatus {
    pub id: SmsId,
    pub reference: String,
    pub user_id: Option<UserId>,
    pub phone: PhoneNumber,
    pub state: SmsState,
    pub gateway: Option<String>,
    pub attempts: u32,
    pub round: u32,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
}

/// Sends counted for one decision (the message being queued not included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendCounts {
    /// The newest code sent to the account (notices of changed methods are not codes).
    pub last_sent_to_account: Option<Timestamp>,
    /// Codes sent to the account after its last successful one (within a day), that is codes
    /// nobody used: they drive the growing wait between resends.
    pub sent_to_account_since_success: u64,
    /// Unused codes to the account, and to the number, in the last hour.
    pub sent_to_account_last_hour: u64,
    pub sent_to_number_last_hour: u64,
    /// All codes, used or not, to the account and to the number in the last hour.
    pub all_to_account_last_hour: u64,
    pub all_to_number_last_hour: u64,
    pub sent_from_network_last_hour: u64,
    pub sent_to_country_last_hour: u64,
    pub sent_last_hour: u64,
    pub sent_last_day: u64,
    pub account_failures_in_window: u64,
    pub oldest_failure_in_window: Option<Timestamp>,
    /// Sends to this account are blocked until then (the owner reported an unrequested code).
    pub blocked_until: Option<Timestamp>,
}

/// How soon an account may ask for another code: its newest code and the codes nobody used
/// since its last successful one (within a day).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResendState {
    pub last_sent: Option<Timestamp>,
    pub sent_since_success: u64,
}

/// What to count for one send decision.
#[derive(Debug, Clone)]
pub struct SendCountsQuery<'a> {
    pub user: UserId,
    pub phone: &'a PhoneNumber,
    pub network: &'a str,
    pub now: Timestamp,
    /// The account's code-failure counter and its window.
    pub failure_key: &'a str,
    pub failure_since: Timestamp,
}

/// The durable outbox between the sign-in and the gateways.
#[async_trait]
pub trait SmsOutbox: Send + Sync {
    /// Takes up to `limit` messages that are due (queued and not waiting for a retry, or left
    /// `sending` by a worker that died before `lease_until` of theirs), marking them `sending`
    /// until `lease_until`. Each message goes to one worker only.
    async fn sms_claim(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<QueuedSms>, StoreError>;
    /// A gateway accepted the message; its text is erased.
    async fn sms_mark_sent(
        &self,
        id: SmsId,
        gateway: &str,
        provider_id: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// Back to the queue, for `gateway_index` at `next_attempt_at`, never to the gateways in
    /// `avoid`. A message cancelled meanwhile (newer code, report) fails instead.
    async fn sms_mark_retry(
        &self,
        id: SmsId,
        gateway_index: u32,
        round: u32,
        next_attempt_at: Timestamp,
        error: &str,
        avoid: &[u32],
    ) -> Result<(), StoreError>;
    /// Failed or expired for good; its text is erased.
    async fn sms_mark_final(
        &self,
        id: SmsId,
        state: SmsState,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// A delivery report from `gateway`. Only the gateway that took the message may say it
    /// failed. Returns `false` when the report changed nothing.
    async fn sms_delivery_report(
        &self,
        reference: &str,
        gateway: &str,
        delivered: bool,
        detail: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    async fn sms_for_challenge(
        &self,
        challenge: ChallengeId,
    ) -> Result<Option<SmsStatus>, StoreError>;
    async fn sms_by_reference(&self, reference: &str) -> Result<Option<SmsStatus>, StoreError>;
    async fn sms_list(
        &self,
        user: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<SmsStatus>, StoreError>;
    async fn sms_send_counts(&self, query: &SendCountsQuery<'_>) -> Result<SendCounts, StoreError>;
    /// The account's resend state alone, for the code page's countdown.
    async fn sms_resend_state(
        &self,
        user: UserId,
        now: Timestamp,
    ) -> Result<ResendState, StoreError>;
    /// Codes sent and codes verified since `since`, for the conversion alert.
    async fn sms_conversion_since(&self, since: Timestamp) -> Result<(u64, u64), StoreError>;

    // "I didn't ask for this" reports.
    /// The message whose report link has this token hash, if the link is still valid.
    async fn sms_report_lookup(&self, token_hash: &str) -> Result<Option<SmsStatus>, StoreError>;
    /// Blocks sends to the account until `until`, and marks the report link used.
    async fn sms_block(
        &self,
        user: UserId,
        until: Timestamp,
        token_hash: Option<&str>,
        reason: &str,
    ) -> Result<(), StoreError>;
    async fn sms_unblock(&self, user: UserId) -> Result<bool, StoreError>;
    /// Queues a message that carries no code (a notice to the account's phone).
    async fn sms_enqueue_notice(&self, sms: &NewQueuedSms) -> Result<SmsId, StoreError>;
}
