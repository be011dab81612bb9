//! The traits through which the core reaches the outside world. Adapters implement them:
//! `tweestap-store` the [`Store`], `tweestap-sms` the [`SmsGateway`], the web crate the clock,
//! randomness and the password-hashing pool.

use async_trait::async_trait;
use thiserror::Error;

use crate::audit::{AuditEvent, AuditRecord};
use crate::domain::{
    CodeHash, Method, MethodId, MethodKind, NewUser, PhoneNumber, Secret, Timestamp, User, UserId,
    Username,
};
use crate::signin::SignInState;

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// A cryptographically secure source of random bytes.
pub trait Entropy: Send + Sync {
    fn fill(&self, buf: &mut [u8]);
}

/// Random bytes as lowercase hex: identifiers for sessions, flows and subjects.
pub fn random_hex(entropy: &dyn Entropy, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    entropy.fill(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; the string names what (e.g. "username").
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    /// The database itself failed; the text is for logs, never for users.
    #[error("storage failure: {0}")]
    Backend(String),
}

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

/// A browser's server-side session. The cookie holds a random id; the database only its hash.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id_hash: String,
    pub csrf_token: String,
    pub state: SignInState,
    /// Where to go after signing in: a same-site path, checked before it is stored.
    pub return_to: Option<String>,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

/// One text message handed to a gateway, kept for budgets and for administrators.
#[derive(Debug, Clone)]
pub struct SmsRecord {
    pub user_id: Option<UserId>,
    pub phone: PhoneNumber,
    pub gateway: String,
    pub status: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub enum SmsCount<'a> {
    ToUser(UserId),
    ToPhone(&'a PhoneNumber),
}

#[async_trait]
pub trait Store: Send + Sync {
    // Accounts.
    /// Creates all users or none (one transaction). A clash names the username that clashed.
    async fn create_users(
        &self,
        users: &[(NewUser, String)],
        now: Timestamp,
    ) -> Result<Vec<UserId>, StoreError>;
    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError>;
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    async fn set_password_hash(&self, id: UserId, phc: &str) -> Result<(), StoreError>;

    // Second-factor methods.
    async fn methods(&self, user: UserId) -> Result<Vec<Method>, StoreError>;
    async fn add_method(
        &self,
        user: UserId,
        kind: &MethodKind,
        now: Timestamp,
    ) -> Result<MethodId, StoreError>;
    /// Replaces every SMS method of the user with this phone (administrator pre-registration).
    async fn replace_phone(
        &self,
        user: UserId,
        phone: &PhoneNumber,
        now: Timestamp,
    ) -> Result<MethodId, StoreError>;
    /// Removes every method; returns how many there were.
    async fn remove_methods(&self, user: UserId) -> Result<u64, StoreError>;
    async fn touch_method(&self, id: MethodId, now: Timestamp) -> Result<(), StoreError>;

    // Sessions.
    async fn session_get(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError>;
    async fn session_put(&self, session: &SessionRecord) -> Result<(), StoreError>;
    async fn session_delete(&self, id_hash: &str) -> Result<(), StoreError>;
    /// Drops sessions idle since `idle_before` or created before `created_before`.
    async fn session_purge(
        &self,
        idle_before: Timestamp,
        created_before: Timestamp,
    ) -> Result<u64, StoreError>;

    // One-time codes.
    /// Stores a new code and supersedes earlier unused codes of the same sign-in, atomically.
    async fn challenge_create(&self, challenge: &NewChallenge) -> Result<ChallengeId, StoreError>;
    async fn challenge_get(&self, id: ChallengeId) -> Result<Option<Challenge>, StoreError>;
    /// Counts one verification attempt, atomically, and returns the challenge as it is after it.
    /// Concurrent attempts cannot slip past the per-code limit: each one is counted first.
    async fn challenge_attempt(&self, id: ChallengeId) -> Result<Option<Challenge>, StoreError>;
    /// Marks the code used; `false` when it already was (a concurrent request won).
    async fn challenge_consume(&self, id: ChallengeId, now: Timestamp) -> Result<bool, StoreError>;

    // SMS log and budgets.
    async fn sms_record(&self, record: &SmsRecord) -> Result<(), StoreError>;
    async fn sms_count_since(
        &self,
        what: SmsCount<'_>,
        since: Timestamp,
    ) -> Result<u64, StoreError>;
    async fn sms_last_to_user(&self, user: UserId) -> Result<Option<Timestamp>, StoreError>;

    // Failure counters for throttling (keys such as "pwd:user:jan" or "code:user:7").
    async fn failure_record(&self, key: &str, at: Timestamp) -> Result<(), StoreError>;
    async fn failure_count_since(&self, key: &str, since: Timestamp) -> Result<u64, StoreError>;
    async fn failure_oldest_since(
        &self,
        key: &str,
        since: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError>;
    async fn failure_clear(&self, key: &str) -> Result<(), StoreError>;
    /// Forgets failure counts and one-time codes older than `before`; returns rows removed.
    async fn purge_before(&self, before: Timestamp) -> Result<u64, StoreError>;

    // Audit trail.
    async fn audit(&self, event: &AuditEvent) -> Result<(), StoreError>;
    async fn audit_list(
        &self,
        user: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError>;
}

#[derive(Debug, Clone)]
pub struct OutgoingSms {
    pub to: PhoneNumber,
    pub text: String,
    /// Our own id for the message, for delivery reports and support.
    pub reference: String,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SmsError {
    /// The gateway could not be reached or failed; another gateway may succeed.
    #[error("gateway unavailable: {0}")]
    Unavailable(String),
    /// The gateway refused this message; retrying it will not help.
    #[error("gateway refused the message: {0}")]
    Rejected(String),
}

#[async_trait]
pub trait SmsGateway: Send + Sync {
    /// A short name for logs and the SMS log ("outbox", "kannel"…).
    fn name(&self) -> &str;
    async fn send(&self, sms: &OutgoingSms) -> Result<(), SmsError>;
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCheck {
    pub ok: bool,
    /// The hash uses other parameters than configured: store a new one.
    pub needs_rehash: bool,
}

/// Argon2id is deliberately expensive: the adapter runs it off the async runtime and bounds how
/// many run at once, so a storm of sign-ins queues instead of exhausting memory.
#[async_trait]
pub trait PasswordHashing: Send + Sync {
    /// Checks `password` against `phc`. With `None` it checks against a dummy hash, so an unknown
    /// user costs the same time as a known one.
    async fn verify(&self, phc: Option<String>, password: Secret) -> PasswordCheck;
    async fn hash(&self, password: Secret) -> Result<String, crate::password::PasswordError>;
}
