//! What the external-method use cases need from outside: Entra's signing keys (fetched over
//! HTTPS and cached by an adapter) and the links between Entra users and accounts.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{NewUser, PhoneNumber, Timestamp, UserId};

/// Why a hint's signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureProblem {
    /// The keys could not be fetched (and none are cached).
    Unavailable,
    /// No published key has the hint's `kid`, even after fetching the keys again.
    UnknownKey,
    /// Not RS256, or the signature does not verify.
    Invalid,
}

#[async_trait]
pub trait HintSignatures: Send + Sync {
    /// The hint's claims when a key published at `keys_url` signed it with RS256. Expiry is
    /// not checked (hints are issued expired); the caller checks the claims.
    async fn verify(
        &self,
        hint: &str,
        keys_url: &str,
    ) -> Result<serde_json::Value, SignatureProblem>;
}

/// One pre-registered number from an export of a tenant's phone methods.
#[derive(Debug, Clone)]
pub struct PhoneImport {
    pub line: usize,
    pub tenant_id: String,
    pub object_id: String,
    /// Made if no account is linked or has the username yet.
    pub user: NewUser,
    pub phone: PhoneNumber,
}

/// What importing one row did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneImported {
    /// A new account, linked, with the number.
    Created,
    /// The number was added to an existing account (linked now if it was not).
    Added,
    /// The account has this number already.
    Unchanged,
    /// The account has methods of its own (another number, an app, a passkey): left alone.
    KeptOther,
    /// An account has this username but is not linked to this Entra user, and linking
    /// existing accounts was not asked for: left alone.
    Unlinked,
}

#[async_trait]
pub trait EntraStore: Send + Sync {
    /// The account linked to an Entra user.
    async fn entra_user(
        &self,
        tenant_id: &str,
        object_id: &str,
    ) -> Result<Option<UserId>, StoreError>;
    /// Links an existing account, unless the Entra user or the account (in this tenant) is
    /// linked already: `false` then.
    async fn entra_link(
        &self,
        tenant_id: &str,
        object_id: &str,
        user: UserId,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Makes an account for an Entra user and links it, in one transaction. A clash names
    /// the username (`StoreError::Conflict`).
    async fn entra_create_user(
        &self,
        tenant_id: &str,
        object_id: &str,
        user: &NewUser,
        subject: &str,
        now: Timestamp,
    ) -> Result<UserId, StoreError>;
    /// Records a hint (its keyed hash) as answered until `expires_at`: `false` when it was
    /// already. Forgets hints that expired.
    async fn entra_hint_use(
        &self,
        hint_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Imports pre-registered numbers, all or nothing: on a conflict (an account linked to
    /// another Entra user) nothing is written and the error names the line. An existing
    /// account with the row's username is linked only with `link_existing`.
    async fn entra_import_phones(
        &self,
        rows: &[(PhoneImport, String)],
        link_existing: bool,
        now: Timestamp,
    ) -> Result<Vec<PhoneImported>, StoreError>;
}
