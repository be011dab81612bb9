//! The traits through which the core reaches the outside world. Adapters implement them:
//! `tweestap-store` the [`Store`], `tweestap-sms` the [`SmsGateway`], the web crate the clock,
//! randomness and the password-hashing pool.

mod approvals;
mod email;
mod entra;
mod methods;
mod oidc;
mod sms;

use async_trait::async_trait;
use thiserror::Error;

pub use approvals::*;
pub use email::*;
pub use entra::*;
pub use methods::*;
pub use oidc::*;
pub use sms::*;

use crate::audit::{AuditEvent, AuditRecord};
use crate::domain::{
    Client, ClientId, CodeHash, Method, MethodId, MethodKind, NewUser, PhoneNumber, Secret,
    Timestamp, User, UserId, Username,
};
use crate::signin::{SendRefusal, SignInState};

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

/// An OpenID Connect signing key as stored: the private half sealed.
#[derive(Debug, Clone)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub alg: String,
    pub sealed_private: Vec<u8>,
    /// The public JWK, as JSON text.
    pub public_jwk: String,
    pub created_at: Timestamp,
    /// Signs from then on. Published at once, but used only later, so that relying parties
    /// that cache the JWKS (Entra: 24 hours) know the key before the first token it signs.
    pub activate_at: Timestamp,
    /// Published (and usable to verify) until then; `None` while no successor is planned.
    pub retire_at: Option<Timestamp>,
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
    /// The sign-in under way must verify a real second factor: a remembered device does not
    /// stand in for it (`prompt=login`, `max_age`, "confirm it's you").
    pub strict: bool,
    /// The Entra sign-in this session answers (external MFA method), while it is under way.
    pub external: Option<crate::eam::Pending>,
}

#[async_trait]
pub trait Store:
    SmsOutbox + EmailOutbox + OidcStore + MethodStore + ApprovalStore + EntraStore + Send + Sync
{
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
    /// Remembers the language the user signs in with (for notices sent in their absence).
    async fn user_set_language(&self, id: UserId, language: &str) -> Result<(), StoreError>;

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
    /// Records that a method was used; `false` when it no longer exists.
    async fn touch_method(&self, id: MethodId, now: Timestamp) -> Result<bool, StoreError>;

    // Sessions.
    async fn session_get(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// Stores a new session.
    async fn session_insert(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// Writes a session back; `false` when it no longer exists (it ended meanwhile: signed
    /// out, or its account's methods or password changed). An ended session is never
    /// brought back by a request that read it before it ended.
    async fn session_update(&self, session: &SessionRecord) -> Result<bool, StoreError>;
    /// Gives a session a new id (and with it everything in `session`) in one write, after an
    /// authentication step; `false` when the session under `old_id_hash` had ended meanwhile
    /// (it stays ended).
    async fn session_rekey(
        &self,
        old_id_hash: &str,
        session: &SessionRecord,
    ) -> Result<bool, StoreError>;
    /// Ends a session; `false` when it had ended already.
    async fn session_delete(&self, id_hash: &str) -> Result<bool, StoreError>;
    /// Ends every session of a user (after their methods change under them), except `keep`
    /// (the id hash of the session that made the change).
    async fn sessions_delete_for_user(
        &self,
        user: UserId,
        keep: Option<&str>,
    ) -> Result<u64, StoreError>;
    /// Drops sessions idle since `idle_before` or created before `created_before`.
    async fn session_purge(
        &self,
        idle_before: Timestamp,
        created_before: Timestamp,
    ) -> Result<u64, StoreError>;

    // One-time codes.
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

    // OpenID Connect clients.
    /// A clash names the client id that clashed.
    async fn client_add(&self, client: &Client) -> Result<(), StoreError>;
    async fn client_get(&self, id: &ClientId) -> Result<Option<Client>, StoreError>;
    async fn client_list(&self) -> Result<Vec<Client>, StoreError>;
    async fn client_remove(&self, id: &ClientId) -> Result<bool, StoreError>;

    // Signing keys.
    async fn signing_key_add(&self, key: &SigningKeyRecord) -> Result<(), StoreError>;
    /// Keys still published at `now`, newest first.
    async fn signing_keys_published(
        &self,
        now: Timestamp,
    ) -> Result<Vec<SigningKeyRecord>, StoreError>;
    /// Replaces a key's published JWK (adding its certificate to a key made before them).
    async fn signing_key_set_public_jwk(&self, kid: &str, jwk: &str) -> Result<(), StoreError>;
    /// Every other key of the same algorithm is published until `at` at most (after a
    /// rotation; `at` = now withdraws them).
    async fn signing_keys_retire_others(&self, kid: &str, at: Timestamp)
    -> Result<u64, StoreError>;

    // Audit trail.
    async fn audit(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// Many events in one transaction (an import's line per account).
    async fn audit_all(&self, events: &[AuditEvent]) -> Result<(), StoreError>;
    async fn audit_list(
        &self,
        user: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError>;
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCheck {
    pub ok: bool,
    /// The hash uses other parameters than configured: store a new one.
    pub needs_rehash: bool,
}

/// A place in the hashing line, held until the check ends. Dropping it frees the place.
pub struct HashTicket(pub Box<dyn Send + Sync>);

/// Argon2id is deliberately expensive: the adapter runs it off the async runtime and bounds how
/// many run at once, so a storm of sign-ins queues instead of exhausting memory.
#[async_trait]
pub trait PasswordHashing: Send + Sync {
    /// A place in line for a [`verify`](Self::verify), or `None` when more checks wait than
    /// can be served in time (the person is asked to try again in a moment). Taken before the
    /// attempt is counted, so a full line costs no write.
    fn admit(&self) -> Option<HashTicket>;
    /// Checks `password` against `phc`. With `None` it checks against a dummy hash, so an unknown
    /// user costs the same time as a known one.
    async fn verify(
        &self,
        ticket: HashTicket,
        phc: Option<String>,
        password: Secret,
    ) -> PasswordCheck;
    async fn hash(&self, password: Secret) -> Result<String, crate::password::PasswordError>;
}
