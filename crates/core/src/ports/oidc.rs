//! What the OpenID Connect provider stores and the signer it uses.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::{Client, ClientId, SigningAlg, Timestamp, UserId};
use crate::oidc::TokenError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    Code,
    Access,
    Refresh,
}

impl GrantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantKind::Code => "code",
            GrantKind::Access => "access",
            GrantKind::Refresh => "refresh",
        }
    }
}

/// What a user allowed a client, carried from the authorization code to every token that
/// descends from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub scopes: Vec<String>,
    pub auth_time: Timestamp,
    pub amr: Vec<String>,
    /// Codes only: checked again at the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    /// Echoed in the ID token issued for the code (not in refreshed ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// A code or token as stored: its SHA-256, never its value.
#[derive(Debug, Clone)]
pub struct GrantRecord {
    pub token_hash: String,
    pub kind: GrantKind,
    pub family: String,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub grant: Grant,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What redeeming a code or refresh token found.
#[derive(Debug)]
pub enum Redeemed {
    /// It was valid; it is now used and what `issue` returned is stored.
    Done(GrantRecord),
    Unknown,
    Expired,
    /// Revoked earlier (by its own reuse, a sibling's, or the client).
    Revoked,
    /// Used before: a replay. Everything in its family is revoked now.
    Replayed,
    /// The caller's check refused it; nothing changed.
    Refused(TokenError),
}

/// The check and the new tokens of a redemption, decided inside its transaction.
pub type IssueFn<'a> = dyn Fn(&GrantRecord) -> Result<Vec<GrantRecord>, TokenError> + Sync + 'a;

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

#[async_trait]
pub trait OidcStore: Send + Sync {
    // Clients.
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

    // Grants.
    async fn grant_put(&self, record: &GrantRecord) -> Result<(), StoreError>;
    /// Uses a code or refresh token once, atomically: marks it used and stores what `issue`
    /// returns in the same transaction. A second use revokes its whole family.
    async fn grant_redeem(
        &self,
        token_hash: &str,
        kind: GrantKind,
        now: Timestamp,
        issue: &IssueFn<'_>,
    ) -> Result<Redeemed, StoreError>;
    /// An access token that is neither expired nor revoked.
    async fn grant_active(
        &self,
        token_hash: &str,
        kind: GrantKind,
        now: Timestamp,
    ) -> Result<Option<GrantRecord>, StoreError>;
    /// Revokes one token, and with a refresh token its whole family. Only the client's own.
    async fn grant_revoke(
        &self,
        token_hash: &str,
        client: &ClientId,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Revokes every token a user holds (sign-out everywhere, MFA reset).
    async fn grants_revoke_user(&self, user: UserId, now: Timestamp) -> Result<u64, StoreError>;
    /// Revokes every token of a client and forgets what users allowed it (client removed).
    async fn grants_revoke_client(
        &self,
        client: &ClientId,
        now: Timestamp,
    ) -> Result<u64, StoreError>;
    async fn consent_get(
        &self,
        user: UserId,
        client: &ClientId,
    ) -> Result<Option<Vec<String>>, StoreError>;
    async fn consent_put(
        &self,
        user: UserId,
        client: &ClientId,
        scopes: &[String],
        now: Timestamp,
    ) -> Result<(), StoreError>;
}

#[derive(Debug, thiserror::Error)]
#[error("signing failed: {0}")]
pub struct SignError(pub String);

/// Signs and checks the provider's JWTs. The `tweestap-oidc` crate implements it with the
/// keyring (keys sealed in the database).
#[async_trait]
pub trait TokenSigner: Send + Sync {
    async fn sign(&self, alg: SigningAlg, claims: &serde_json::Value) -> Result<String, SignError>;
    /// The claims of a token one of the published keys signed. Expiry is not checked: an
    /// `id_token_hint` at logout is usually expired.
    async fn verify(&self, token: &str) -> Option<serde_json::Value>;
    /// The published public keys (of one algorithm, or all) as a JWKS document.
    async fn jwks(&self, alg: Option<SigningAlg>) -> Result<serde_json::Value, SignError>;
}
