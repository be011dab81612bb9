//! Passkeys and the tweestap app: WebAuthn ceremonies between start and answer, the phone's
//! one-time link, push approval requests, and the "this wasn't me" flag.

use async_trait::async_trait;

use super::StoreError;
use crate::approval::{ApprovalHistory, ApprovalStatus};
use crate::domain::{Method, MethodId, Timestamp, UserId};

/// What a ceremony is for; an answer is only accepted for the purpose it was started for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyPurpose {
    AddPasskey,
    SignInPasskey,
    LinkApp,
    Approve,
}

impl CeremonyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CeremonyPurpose::AddPasskey => "add_passkey",
            CeremonyPurpose::SignInPasskey => "sign_in_passkey",
            CeremonyPurpose::LinkApp => "link_app",
            CeremonyPurpose::Approve => "approve",
        }
    }
}

/// Why a request was made: to sign in, or the test approval that finishes linking a phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalPurpose {
    SignIn,
    Link,
}

/// A push approval request as stored.
#[derive(Debug, Clone)]
pub struct StoredApproval {
    pub id: String,
    pub user_id: UserId,
    /// The tweestap app (phone) that is asked.
    pub method_id: MethodId,
    pub purpose: ApprovalPurpose,
    pub number: u8,
    pub offered: [u8; 3],
    /// What the phone shows about the sign-in (application, browser, place, address), JSON.
    pub context: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub status: ApprovalStatus,
    pub consumed: bool,
    /// A link's test approval waits for the computer that showed the QR code to confirm the
    /// phone; until then it cannot be answered. Sign-in requests are confirmed from the start.
    pub confirmed: bool,
}

#[async_trait]
pub trait ApprovalStore: Send + Sync {
    // WebAuthn ceremonies.
    async fn ceremony_put(
        &self,
        id: &str,
        user: UserId,
        purpose: CeremonyPurpose,
        state: &str,
        expires_at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Takes a ceremony's state, once: `None` when unknown, someone else's, for another
    /// purpose, expired, or taken before.
    async fn ceremony_take(
        &self,
        id: &str,
        user: UserId,
        purpose: CeremonyPurpose,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError>;

    /// Adds a passkey (it counts at once) or a tweestap app (pending until its test approval;
    /// `device_token_hash` set), in place of `replaces` (the same phone linked before, if it
    /// is this user's) in one transaction. Fails when the credential is registered already.
    async fn credential_method_add(
        &self,
        user: UserId,
        kind: &crate::domain::MethodKind,
        device_token_hash: Option<&str>,
        replaces: Option<MethodId>,
        now: Timestamp,
    ) -> Result<MethodId, StoreError>;
    /// Stores a credential's new signature counter.
    async fn credential_update(&self, id: MethodId, credential: &str) -> Result<(), StoreError>;
    /// The tweestap app a phone's cookie belongs to, confirmed or still linking.
    async fn push_method_by_device(&self, token_hash: &str) -> Result<Option<Method>, StoreError>;
    /// Makes a linked app count, once its test approval came back.
    async fn push_method_confirm(&self, id: MethodId, now: Timestamp) -> Result<bool, StoreError>;
    async fn push_subscription_set(
        &self,
        id: MethodId,
        subscription: Option<&str>,
    ) -> Result<(), StoreError>;

    // The one-time link a phone opens.
    /// Stores a new link; earlier unused links and phones still being linked are dropped.
    async fn app_link_put(
        &self,
        user: UserId,
        token_hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError>;
    /// The user a live, unused link belongs to (without using it).
    async fn app_link_user(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<UserId>, StoreError>;
    /// The user of a link that was used already (or replaced by a newer one) and has not
    /// expired: someone opening it again may be its owner, beaten to it by another phone.
    async fn app_link_spent(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<UserId>, StoreError>;
    /// Closes every link request of the account still waiting for an answer.
    async fn approvals_link_cancel(&self, user: UserId, now: Timestamp) -> Result<u64, StoreError>;
    /// Uses a link, atomically: `false` when unknown, expired or used.
    async fn app_link_use(&self, token_hash: &str, now: Timestamp) -> Result<bool, StoreError>;

    // Approval requests.
    /// An account's recent requests; denials and wrong numbers count only within the last
    /// `failure_window_secs` (once a pause has run its course, they are forgotten).
    async fn approval_history(
        &self,
        user: UserId,
        now: Timestamp,
        failure_window_secs: i64,
    ) -> Result<ApprovalHistory, StoreError>;
    /// Stores a request. With `max_per_hour` (sign-in requests), only if no other sign-in
    /// request of the account is pending and fewer than that many were made in the last hour,
    /// decided in one statement so parallel sign-ins cannot all pass the check; `false` when
    /// refused.
    async fn approval_insert(
        &self,
        approval: &StoredApproval,
        max_per_hour: Option<u32>,
    ) -> Result<bool, StoreError>;
    async fn approval_get(&self, id: &str) -> Result<Option<StoredApproval>, StoreError>;
    /// Requests still waiting for an answer from this phone.
    async fn approvals_pending(
        &self,
        method: MethodId,
        now: Timestamp,
    ) -> Result<Vec<StoredApproval>, StoreError>;
    /// The newest test approval of a phone being linked to this user.
    async fn approval_latest_link(
        &self,
        user: UserId,
    ) -> Result<Option<StoredApproval>, StoreError>;
    /// The computer's answer to "a phone wants to link: is it yours?", for a link request of
    /// `user`: yes (once, before it expires) makes it answerable until `expires_at`; no (also
    /// after a yes, while it is unanswered) closes it and drops the phone that was linking.
    /// `false` when there was nothing to decide (answered, expired, someone else's).
    async fn approval_link_decide(
        &self,
        id: &str,
        user: UserId,
        yes: bool,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Records an answer if the request is still pending (and confirmed) at that moment: one
    /// answer counts.
    async fn approval_answer(
        &self,
        id: &str,
        status: ApprovalStatus,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// The sign-in goes on with an approved request, once, and no later than `until`.
    async fn approval_consume(
        &self,
        id: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError>;
    /// "This wasn't me": every request of the account that could still sign someone in
    /// (pending, or approved and not yet used) is closed as reported.
    async fn approvals_report_all(&self, user: UserId, now: Timestamp) -> Result<u64, StoreError>;

    // "This wasn't me".
    async fn push_block(
        &self,
        user: UserId,
        until: Timestamp,
        flag_reason: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    async fn push_blocked_until(&self, user: UserId) -> Result<Option<Timestamp>, StoreError>;
    /// The administrators' flag: when and why.
    async fn user_flag(&self, user: UserId) -> Result<Option<(Timestamp, String)>, StoreError>;
    /// Clears the flag and the push block (an administrator looked into it).
    async fn user_unflag(&self, user: UserId) -> Result<bool, StoreError>;
}
