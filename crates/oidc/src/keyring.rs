use std::sync::Arc;

use tweestap_core::Keys;
use tweestap_core::ports::{Clock, Entropy, SigningKeyRecord, Store, StoreError, random_hex};

use crate::{KeyError, SigningKey};

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("signing key {0} cannot be unsealed (was the secret key file replaced?)")]
    Sealed(String),
}

/// The signing keys in the database: one current key signs; after a rotation the previous
/// ones stay published until their retirement, so tokens they signed still verify.
pub struct Keyring {
    pub store: Arc<dyn Store>,
    pub keys: Arc<Keys>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
}

impl Keyring {
    /// The key that signs now; the first call on a new installation creates it.
    pub async fn current(&self) -> Result<SigningKey, KeyringError> {
        let now = self.clock.now();
        let published = self.store.signing_keys_published(now).await?;
        match published.iter().find(|k| k.retire_at.is_none()) {
            Some(record) => self.open(record),
            None => {
                let kid = self.rotate(0).await?;
                let published = self.store.signing_keys_published(now).await?;
                let record = published
                    .iter()
                    .find(|k| k.kid == kid)
                    .ok_or(KeyringError::Sealed(kid))?;
                self.open(record)
            }
        }
    }

    /// Makes a new current key; the others stay published for `overlap_secs` more.
    pub async fn rotate(&self, overlap_secs: i64) -> Result<String, KeyringError> {
        let now = self.clock.now();
        let kid = random_hex(self.entropy.as_ref(), 8);
        let key = SigningKey::generate(kid.clone())?;
        let mut nonce = [0u8; 12];
        self.entropy.fill(&mut nonce);
        self.store
            .signing_key_add(&SigningKeyRecord {
                kid: kid.clone(),
                alg: "ES256".into(),
                sealed_private: self.keys.seal.seal(key.pkcs8(), kid.as_bytes(), nonce),
                public_jwk: key.public_jwk().to_string(),
                created_at: now,
                retire_at: None,
            })
            .await?;
        self.store
            .signing_keys_retire_others(&kid, now.plus_secs(overlap_secs))
            .await?;
        Ok(kid)
    }

    /// The published public keys, as a JWKS document.
    pub async fn jwks(&self) -> Result<serde_json::Value, KeyringError> {
        let published = self.store.signing_keys_published(self.clock.now()).await?;
        let keys: Vec<serde_json::Value> = published
            .iter()
            .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
            .collect();
        Ok(serde_json::json!({ "keys": keys }))
    }

    pub async fn published(&self) -> Result<Vec<SigningKeyRecord>, KeyringError> {
        Ok(self.store.signing_keys_published(self.clock.now()).await?)
    }

    fn open(&self, record: &SigningKeyRecord) -> Result<SigningKey, KeyringError> {
        let pkcs8 = self
            .keys
            .seal
            .open(&record.sealed_private, record.kid.as_bytes())
            .map_err(|_| KeyringError::Sealed(record.kid.clone()))?;
        Ok(SigningKey::from_pkcs8(record.kid.clone(), &pkcs8)?)
    }
}
