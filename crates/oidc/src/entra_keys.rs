//! Entra's signing keys, for checking `id_token_hint`s: fetched from the tenant's JWKS URL,
//! cached for a day (Microsoft's own advice), fetched again when a hint names a key we have
//! not seen (keys rotate), but at most once per `REFETCH_SECS` per URL, so that hints with
//! made-up key ids cannot make tweestap hammer Microsoft.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tweestap_core::Timestamp;
use tweestap_core::ports::{Clock, HintSignatures, SignatureProblem};

/// Keys are kept this long before they are fetched again anyway.
const KEEP_SECS: i64 = 24 * 3600;
/// The least time between two fetches of one URL for an unknown key id.
pub const REFETCH_SECS: i64 = 300;
/// A JWKS larger than this is not Entra's.
const MAX_JWKS_BYTES: usize = 256 * 1024;

struct Cached {
    keys: Vec<Jwk>,
    fetched_at: Timestamp,
}

#[derive(Default)]
struct Entry {
    cached: Option<Cached>,
    /// The last time a fetch of this URL started (succeeded or not).
    tried_at: Option<Timestamp>,
}

pub struct EntraKeys {
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<String, Entry>>,
}

impl EntraKeys {
    pub fn new(clock: Arc<dyn Clock>) -> EntraKeys {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        EntraKeys {
            http,
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached key with `kid`, and whether the cache is due for a fetch: too old, or the
    /// kid unknown and the last fetch long enough ago. Marks a due fetch as started, so that
    /// parallel requests do not all fetch.
    fn lookup(&self, url: &str, kid: &str) -> (Option<Jwk>, bool) {
        let now = self.clock.now();
        let mut entries = self.lock();
        let entry = entries.entry(url.to_string()).or_default();
        let found = entry
            .cached
            .as_ref()
            .and_then(|c| {
                c.keys
                    .iter()
                    .find(|k| k.common.key_id.as_deref() == Some(kid))
            })
            .cloned();
        let stale = entry
            .cached
            .as_ref()
            .is_none_or(|c| c.fetched_at.secs_until(now) >= KEEP_SECS);
        let may_try = entry
            .tried_at
            .is_none_or(|t| t.secs_until(now) >= REFETCH_SECS);
        let due = (stale || found.is_none()) && may_try;
        if due {
            entry.tried_at = Some(now);
        }
        (found, due)
    }

    async fn fetch(&self, url: &str) -> Option<Vec<Jwk>> {
        let response = self.http.get(url).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        let body = response.bytes().await.ok()?;
        if body.len() > MAX_JWKS_BYTES {
            return None;
        }
        let set: JwkSet = serde_json::from_slice(&body).ok()?;
        Some(set.keys)
    }
}

#[async_trait]
impl HintSignatures for EntraKeys {
    async fn verify(
        &self,
        hint: &str,
        keys_url: &str,
    ) -> Result<serde_json::Value, SignatureProblem> {
        let header = jsonwebtoken::decode_header(hint).map_err(|_| SignatureProblem::Invalid)?;
        if header.alg != Algorithm::RS256 {
            return Err(SignatureProblem::Invalid);
        }
        let kid = header.kid.ok_or(SignatureProblem::UnknownKey)?;
        let (mut key, due) = self.lookup(keys_url, &kid);
        if due {
            match self.fetch(keys_url).await {
                Some(keys) => {
                    key = keys
                        .iter()
                        .find(|k| k.common.key_id.as_deref() == Some(kid.as_str()))
                        .cloned();
                    let cached = Cached {
                        keys,
                        fetched_at: self.clock.now(),
                    };
                    self.lock().entry(keys_url.to_string()).or_default().cached = Some(cached);
                }
                None => {
                    tracing::warn!(url = keys_url, "Entra's signing keys could not be fetched");
                    let nothing_cached =
                        self.lock().get(keys_url).is_none_or(|e| e.cached.is_none());
                    if nothing_cached {
                        return Err(SignatureProblem::Unavailable);
                    }
                }
            }
        }
        let key = key.ok_or(SignatureProblem::UnknownKey)?;
        let decoding = DecodingKey::from_jwk(&key).map_err(|_| SignatureProblem::Invalid)?;
        let mut validation = Validation::new(Algorithm::RS256);
        // Hints are issued expired; the claims are checked by the caller.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<serde_json::Value>(hint, &decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| SignatureProblem::Invalid)
    }
}
