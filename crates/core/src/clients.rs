//! Registering OpenID Connect clients. Like [`crate::admin`], only the CLI constructs this.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::domain::{Client, ClientError, ClientId, KNOWN_SCOPES, RedirectUri, SigningAlg};
use crate::ports::{Clock, Entropy, Store, StoreError, random_hex};

#[derive(Debug, Error)]
pub enum ClientAdminError {
    #[error(transparent)]
    Invalid(#[from] ClientError),
    #[error("a client with id {0:?} already exists")]
    Exists(String),
    #[error("no client with id {0:?}")]
    Unknown(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ClientAdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(id) => ClientAdminError::Exists(id),
            other => ClientAdminError::Store(other),
        }
    }
}

/// A client as an administrator describes it.
#[derive(Debug, Clone, Default)]
pub struct ClientInput {
    pub name: String,
    /// Chosen by the administrator, or generated.
    pub client_id: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_uris: Vec<String>,
    pub public: bool,
    pub first_party: bool,
    /// Empty: "openid profile email".
    pub scopes: Vec<String>,
    pub require_mfa: bool,
    pub id_token_alg: SigningAlg,
    /// Set by configuration-declared clients, whose secret lives in the configuration;
    /// otherwise a confidential client's secret is generated and returned once.
    pub secret: Option<String>,
}

pub fn secret_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a presented secret is this client's, compared in constant time.
pub fn secret_matches(client: &Client, presented: &str) -> bool {
    match &client.secret_hash {
        Some(stored) => stored
            .as_bytes()
            .ct_eq(secret_hash(presented).as_bytes())
            .into(),
        None => false,
    }
}

pub struct ClientService {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub actor: String,
}

impl ClientService {
    /// Registers a client; returns it and, for a confidential client, its secret — shown once.
    pub async fn add(
        &self,
        input: ClientInput,
    ) -> Result<(Client, Option<String>), ClientAdminError> {
        let name = input.name.trim().to_string();
        if name.is_empty() {
            return Err(ClientError::EmptyName.into());
        }
        if input.redirect_uris.is_empty() {
            return Err(ClientError::NoRedirectUri.into());
        }
        let client_id = match &input.client_id {
            Some(id) => ClientId::parse(id)?,
            None => ClientId::parse(&random_hex(self.entropy.as_ref(), 12))?,
        };
        let redirect_uris = input
            .redirect_uris
            .iter()
            .map(|u| RedirectUri::parse(u))
            .collect::<Result<Vec<_>, _>>()?;
        let post_logout_uris = input
            .post_logout_uris
            .iter()
            .map(|u| RedirectUri::parse(u))
            .collect::<Result<Vec<_>, _>>()?;
        let scopes = if input.scopes.is_empty() {
            vec!["openid".into(), "profile".into(), "email".into()]
        } else {
            input.scopes.clone()
        };
        if let Some(unknown) = scopes.iter().find(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
            return Err(ClientError::UnknownScope(unknown.clone()).into());
        }
        let secret = match (&input.secret, input.public) {
            (_, true) => None,
            (Some(given), false) => Some(given.clone()),
            (None, false) => {
                let mut bytes = [0u8; 32];
                self.entropy.fill(&mut bytes);
                Some(base64url(&bytes))
            }
        };
        let client = Client {
            client_id,
            name,
            redirect_uris,
            post_logout_uris,
            public: input.public,
            first_party: input.first_party,
            scopes,
            require_mfa: input.require_mfa,
            id_token_alg: input.id_token_alg,
            secret_hash: secret.as_deref().map(secret_hash),
            created_at: self.clock.now(),
        };
        self.store.client_add(&client).await?;
        self.audit(AuditKind::ClientAdded, &client.client_id)
            .await?;
        Ok((client, secret))
    }

    pub async fn get(&self, id: &str) -> Result<Client, ClientAdminError> {
        let id = ClientId::parse(id)?;
        self.store
            .client_get(&id)
            .await?
            .ok_or_else(|| ClientAdminError::Unknown(id.as_str().to_string()))
    }

    pub async fn list(&self) -> Result<Vec<Client>, ClientAdminError> {
        Ok(self.store.client_list().await?)
    }

    /// Removes a client: its tokens stop working and what users allowed it is forgotten, so a
    /// later client with the same id starts from nothing.
    pub async fn remove(&self, id: &str) -> Result<(), ClientAdminError> {
        let id = ClientId::parse(id)?;
        if !self.store.client_remove(&id).await? {
            return Err(ClientAdminError::Unknown(id.as_str().to_string()));
        }
        self.store
            .grants_revoke_client(&id, self.clock.now())
            .await?;
        self.audit(AuditKind::ClientRemoved, &id).await
    }

    /// Writes a configuration-declared client, replacing its earlier version but keeping its
    /// users' tokens and consents (it is the same application).
    pub async fn declare(&self, input: ClientInput) -> Result<Client, ClientAdminError> {
        if let Some(id) = &input.client_id {
            self.store.client_remove(&ClientId::parse(id)?).await?;
        }
        Ok(self.add(input).await?.0)
    }

    async fn audit(&self, kind: AuditKind, id: &ClientId) -> Result<(), ClientAdminError> {
        self.store
            .audit(&AuditEvent {
                at: self.clock.now(),
                kind,
                outcome: "ok",
                user_id: None,
                username: None,
                actor: Actor::Admin(self.actor.clone()),
                ip: None,
                detail: Some(format!("client_id={}", id.as_str())),
                user_agent: None,
            })
            .await?;
        Ok(())
    }
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_without_padding() {
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(base64url(&[0u8; 32]).len(), 43);
    }

    #[test]
    fn secrets_match_only_themselves() {
        let client = Client {
            client_id: ClientId::parse("c").unwrap(),
            name: "C".into(),
            redirect_uris: vec![],
            post_logout_uris: vec![],
            public: false,
            first_party: false,
            scopes: vec![],
            require_mfa: false,
            id_token_alg: SigningAlg::Es256,
            secret_hash: Some(secret_hash("s3cret")),
            created_at: crate::Timestamp(0),
        };
        assert!(secret_matches(&client, "s3cret"));
        assert!(!secret_matches(&client, "s3cret "));
        let public = Client {
            secret_hash: None,
            ..client
        };
        assert!(!secret_matches(&public, ""));
    }
}
