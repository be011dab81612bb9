//! The traits through which the core reaches the outside world. Adapters implement them:
//! `tweestap-store` the [`Store`], `tweestap-sms` the [`SmsGateway`], the web crate the clock,
//! randomness and the password-hashing pool.

mod accounts;
mod approvals;
mod audit;
mod codes;
mod email;
mod entra;
mod methods;
mod oidc;
mod sessions;
mod sms;

use async_trait::async_trait;
use thiserror::Error;

pub use accounts::*;
pub use approvals::*;
pub use audit::*;
pub use codes::*;
pub use email::*;
pub use entra::*;
pub use methods::*;
pub use oidc::*;
pub use sessions::*;
pub use sms::*;

use crate::domain::{Secret, Timestamp};

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

/// Everything tweestap keeps, part by part; a backend implements each part.
pub trait Store:
    AccountStore
    + MethodStore
    + SessionStore
    + CodeStore
    + AuditLog
    + SmsOutbox
    + EmailOutbox
    + OidcStore
    + ApprovalStore
    + EntraStore
    + Send
    + Sync
{
}

impl<T> Store for T where
    T: AccountStore
        + MethodStore
        + SessionStore
        + CodeStore
        + AuditLog
        + SmsOutbox
        + EmailOutbox
        + OidcStore
        + ApprovalStore
        + EntraStore
        + Send
        + Sync
{
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
