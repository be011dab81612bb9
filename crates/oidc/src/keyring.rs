use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jsonwebtoken::{Algorithm, Validation};
use tweestap_core::ports::{
    Clock, Entropy, SignError, SigningKeyRecord, Store, StoreError, TokenSigner, random_hex,
};
use tweestap_core::{Keys, SigningAlg};

use crate::keys::verify_with_jwk;
use crate::{KeyError, SigningKey};

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("signing key {0} cannot be unsealed (was the secret key file replaced?)")]
    Sealed(String),
    #[error("signing key {0} has an unknown algorithm")]
    UnknownAlg(String),
    #[error(
        "the next key {kid} is already published and waits to sign (from Unix time {at}); rotate again once it signs"
    )]
    NextWaiting { kid: String, at: i64 },
}

/// The signing keys in the database: per algorithm one current key signs; after a rotation
/// the previous ones stay published until their retirement, so tokens they signed still
/// verify. Unsealed keys are kept in memory, keyed by kid, so signing costs no decryption.
pub struct Keyring {
    store: Arc<dyn Store>,
    keys: Arc<Keys>,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    opened: Mutex<HashMap<String, Arc<SigningKey>>>,
    /// The published keys as last read, and until when that reading holds: every JWKS request
    /// and signature is served from memory, not the database.
    cached: Mutex<Option<Published>>,
}

struct Published {
    records: Vec<SigningKeyRecord>,
    until: tweestap_core::Timestamp,
}

/// Keys changed by another process (`tweestap keys rotate` beside a running server) are seen
/// within this long.
pub const REREAD_SECS: i64 = 60;

impl Keyring {
    pub fn new(
        store: Arc<dyn Store>,
        keys: Arc<Keys>,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
    ) -> Keyring {
        Keyring {
            store,
            keys,
            clock,
            entropy,
            opened: Mutex::new(HashMap::new()),
            cached: Mutex::new(None),
        }
    }

    /// The key that signs with `alg` now: the newest whose time has come (a key published
    /// ahead waits). The first call on a new installation creates it.
    pub async fn current(&self, alg: SigningAlg) -> Result<Arc<SigningKey>, KeyringError> {
        let published = self.published().await?;
        let record = match signer_among(&published, alg, self.clock.now()) {
            Some(record) => record.clone(),
            None => {
                let kid = self.rotate(alg, 0, 0).await?;
                self.published()
                    .await?
                    .into_iter()
                    .find(|k| k.kid == kid)
                    .ok_or(KeyringError::Sealed(kid))?
            }
        };
        self.open(&record)
    }

    /// Makes sure every algorithm has a current key (at start-up, not in someone's sign-in),
    /// and that every RSA key carries its certificate (keys made before `x5c` was published).
    pub async fn ensure_all(&self) -> Result<(), KeyringError> {
        for alg in SigningAlg::ALL {
            self.current(alg).await?;
        }
        for record in self.published().await? {
            let jwk: serde_json::Value = serde_json::from_str(&record.public_jwk)
                .map_err(|_| KeyringError::Sealed(record.kid.clone()))?;
            if record.alg == SigningAlg::Rs256.as_str() && jwk.get("x5c").is_none() {
                let key = self.open(&record)?;
                let jwk = key.certified_jwk(record.created_at.0)?;
                self.store
                    .signing_key_set_public_jwk(&record.kid, &jwk.to_string())
                    .await?;
                self.forget();
            }
        }
        Ok(())
    }

    /// Makes the next key for `alg`. It is published at once and signs `ahead_secs` from now;
    /// its predecessors stay published `overlap_secs` after that. One next key at a time.
    pub async fn rotate(
        &self,
        alg: SigningAlg,
        ahead_secs: i64,
        overlap_secs: i64,
    ) -> Result<String, KeyringError> {
        let now = self.clock.now();
        let published = self.published().await?;
        let own: Vec<&SigningKeyRecord> =
            published.iter().filter(|k| k.alg == alg.as_str()).collect();
        if let Some(next) = own.iter().find(|k| k.activate_at > now) {
            return Err(KeyringError::NextWaiting {
                kid: next.kid.clone(),
                at: next.activate_at.0,
            });
        }
        // The first key signs at once: nobody can have cached a key ring that had none.
        let ahead_secs = if own.is_empty() { 0 } else { ahead_secs };
        drop(own);
        let activate_at = now.plus_secs(ahead_secs);
        self.add(alg, activate_at, activate_at.plus_secs(overlap_secs))
            .await
    }

    /// A key may have leaked: a new key signs at once, and every other key of `alg` (a
    /// waiting next key too) is withdrawn now, so nothing it signs is believed any more.
    pub async fn replace_now(&self, alg: SigningAlg) -> Result<String, KeyringError> {
        let now = self.clock.now();
        self.add(alg, now, now).await
    }

    /// Stores a new key that signs from `activate_at`; the other keys of `alg` are published
    /// until `others_until` at most.
    async fn add(
        &self,
        alg: SigningAlg,
        activate_at: tweestap_core::Timestamp,
        others_until: tweestap_core::Timestamp,
    ) -> Result<String, KeyringError> {
        let now = self.clock.now();
        let kid = random_hex(self.entropy.as_ref(), 8);
        let key = SigningKey::generate(kid.clone(), alg)?;
        let mut nonce = [0u8; 12];
        self.entropy.fill(&mut nonce);
        self.store
            .signing_key_add(&SigningKeyRecord {
                kid: kid.clone(),
                alg: alg.as_str().into(),
                sealed_private: self.keys.seal.seal(key.pkcs8(), kid.as_bytes(), nonce),
                public_jwk: key.certified_jwk(now.0)?.to_string(),
                created_at: now,
                activate_at,
                retire_at: None,
            })
            .await?;
        self.store
            .signing_keys_retire_others(&kid, others_until)
            .await?;
        self.forget();
        Ok(kid)
    }

    /// The published public keys, as a JWKS document.
    pub async fn jwks(&self) -> Result<serde_json::Value, KeyringError> {
        self.jwks_of(None).await
    }

    /// The published public keys of one algorithm (all with `None`), as a JWKS document.
    pub async fn jwks_of(
        &self,
        alg: Option<SigningAlg>,
    ) -> Result<serde_json::Value, KeyringError> {
        let keys: Vec<serde_json::Value> = self
            .published()
            .await?
            .iter()
            .filter(|k| alg.is_none_or(|alg| k.alg == alg.as_str()))
            .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
            .collect();
        Ok(serde_json::json!({ "keys": keys }))
    }

    /// The published keys, from memory while the last reading holds: until another process
    /// may have changed them (`REREAD_SECS`) or a key's activation or retirement comes due.
    pub async fn published(&self) -> Result<Vec<SigningKeyRecord>, KeyringError> {
        let now = self.clock.now();
        if let Some(cached) = self
            .cached
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|c| now < c.until)
        {
            return Ok(cached.records.clone());
        }
        let records = self.store.signing_keys_published(now).await?;
        let until = records
            .iter()
            .flat_map(|k| [Some(k.activate_at), k.retire_at])
            .flatten()
            .filter(|t| *t > now)
            .fold(now.plus_secs(REREAD_SECS), std::cmp::min);
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(Published {
            records: records.clone(),
            until,
        });
        Ok(records)
    }

    /// Keys were changed here: the next reading goes to the database.
    fn forget(&self) {
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn open(&self, record: &SigningKeyRecord) -> Result<Arc<SigningKey>, KeyringError> {
        if let Some(key) = self.lock().get(&record.kid) {
            return Ok(key.clone());
        }
        let alg = SigningAlg::parse(&record.alg)
            .map_err(|_| KeyringError::UnknownAlg(record.kid.clone()))?;
        let pkcs8 = self
            .keys
            .seal
            .open(&record.sealed_private, record.kid.as_bytes())
            .map_err(|_| KeyringError::Sealed(record.kid.clone()))?;
        let key = Arc::new(SigningKey::from_pkcs8(record.kid.clone(), alg, &pkcs8)?);
        self.lock().insert(record.kid.clone(), key.clone());
        Ok(key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<SigningKey>>> {
        self.opened.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The key that signs with `alg` at `now` among published keys (newest first, as the store
/// lists them): the newest whose time has come; while none has, the one that signs soonest.
pub fn signer_among(
    published: &[SigningKeyRecord],
    alg: SigningAlg,
    now: tweestap_core::Timestamp,
) -> Option<&SigningKeyRecord> {
    let own = || published.iter().filter(|k| k.alg == alg.as_str());
    own()
        .filter(|k| k.activate_at <= now)
        .enumerate()
        .max_by_key(|(i, k)| (k.activate_at, std::cmp::Reverse(*i)))
        .map(|(_, k)| k)
        .or_else(|| own().min_by_key(|k| k.activate_at))
}

#[async_trait]
impl TokenSigner for Keyring {
    async fn sign(&self, alg: SigningAlg, claims: &serde_json::Value) -> Result<String, SignError> {
        let key = self
            .current(alg)
            .await
            .map_err(|e| SignError(e.to_string()))?;
        key.sign(claims).map_err(|e| SignError(e.to_string()))
    }

    async fn verify(&self, token: &str) -> Option<serde_json::Value> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        let kid = header.kid?;
        let published = self.published().await.ok()?;
        let record = published.iter().find(|k| k.kid == kid)?;
        let alg = match SigningAlg::parse(&record.alg).ok()? {
            SigningAlg::Es256 => Algorithm::ES256,
            SigningAlg::Rs256 => Algorithm::RS256,
        };
        let mut validation = Validation::new(alg);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let jwk: serde_json::Value = serde_json::from_str(&record.public_jwk).ok()?;
        verify_with_jwk(&jwk, token, &validation).ok()
    }

    async fn jwks(&self, alg: Option<SigningAlg>) -> Result<serde_json::Value, SignError> {
        Keyring::jwks_of(self, alg)
            .await
            .map_err(|e| SignError(e.to_string()))
    }
}
