//! WebAuthn for tweestap: passkeys as a sign-in method, and the credential that the tweestap
//! app on a phone approves sign-ins with. Both always require user verification (fingerprint,
//! face or PIN), so a stolen unlocked phone alone is not enough.
//!
//! The rest of tweestap sees JSON strings only: the options for the browser, the ceremony state
//! to keep server-side until the answer comes, and the stored credential. The ceremony state
//! goes into the database (not memory) so a second node can finish what the first started.

#[cfg(feature = "soft-authenticator")]
pub mod soft;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::Digest;
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Uuid, Webauthn, WebauthnBuilder,
};

#[derive(Debug, thiserror::Error)]
pub enum WebAuthnError {
    #[error("WebAuthn needs a public URL with a host name (not an IP address): {0}")]
    Config(String),
    #[error("the browser's answer could not be read: {0}")]
    Malformed(String),
    /// Signature, challenge, origin, user verification or counter: the answer does not prove
    /// what it must. Deliberately one variant: the caller never tells the browser which.
    #[error("the WebAuthn answer was refused: {0}")]
    Refused(String),
    #[error("a stored credential or ceremony state is damaged: {0}")]
    Stored(String),
}

/// A credential just registered: its id (base64url, as browsers send it) and what to store.
#[derive(Debug, Clone)]
pub struct NewCredential {
    pub id: String,
    pub stored: String,
}

/// A successful authentication.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub credential_id: String,
    /// The stored credential with its new signature counter, when it changed.
    pub updated: Option<String>,
}

/// One relying party: tweestap at its public URL.
pub struct WebAuthn {
    inner: Webauthn,
}

impl std::fmt::Debug for WebAuthn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebAuthn")
    }
}

impl WebAuthn {
    /// The relying party id is the public URL's host; browsers refuse IP addresses, so tests
    /// run on `http://localhost:PORT`.
    pub fn new(public_url: &url::Url, rp_name: &str) -> Result<WebAuthn, WebAuthnError> {
        let host = public_url
            .domain()
            .ok_or_else(|| WebAuthnError::Config(public_url.to_string()))?;
        let origin = url::Url::parse(public_url.origin().ascii_serialization().as_str())
            .map_err(|e| WebAuthnError::Config(e.to_string()))?;
        let inner = WebauthnBuilder::new(host, &origin)
            .and_then(|b| b.rp_name(rp_name).build())
            .map_err(|e| WebAuthnError::Config(format!("{public_url}: {e}")))?;
        Ok(WebAuthn { inner })
    }

    /// Starts registering a credential for a user. `user_handle` is any stable, opaque id of
    /// the account (never the username); `exclude` holds the user's credentials already
    /// registered, so the same authenticator is not added twice.
    pub fn start_registration(
        &self,
        user_handle: &str,
        name: &str,
        display_name: &str,
        exclude: &[String],
    ) -> Result<(String, String), WebAuthnError> {
        let exclude = exclude
            .iter()
            .map(|s| parse_stored(s).map(|p| p.cred_id().clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let (options, state) = self
            .inner
            .start_passkey_registration(
                handle_uuid(user_handle),
                name,
                display_name,
                (!exclude.is_empty()).then_some(exclude),
            )
            .map_err(|e| WebAuthnError::Refused(e.to_string()))?;
        Ok((to_json(&options)?, to_json(&state)?))
    }

    pub fn finish_registration(
        &self,
        state: &str,
        response: &str,
    ) -> Result<NewCredential, WebAuthnError> {
        let state: PasskeyRegistration =
            serde_json::from_str(state).map_err(|e| WebAuthnError::Stored(e.to_string()))?;
        let response: RegisterPublicKeyCredential =
            serde_json::from_str(response).map_err(|e| WebAuthnError::Malformed(e.to_string()))?;
        let passkey = self
            .inner
            .finish_passkey_registration(&response, &state)
            .map_err(|e| WebAuthnError::Refused(e.to_string()))?;
        Ok(NewCredential {
            id: b64(passkey.cred_id()),
            stored: to_json(&passkey)?,
        })
    }

    /// Starts an authentication that only these credentials can answer.
    pub fn start_authentication(
        &self,
        credentials: &[String],
    ) -> Result<(String, String), WebAuthnError> {
        let passkeys = credentials
            .iter()
            .map(|s| parse_stored(s))
            .collect::<Result<Vec<_>, _>>()?;
        let (options, state) = self
            .inner
            .start_passkey_authentication(&passkeys)
            .map_err(|e| WebAuthnError::Refused(e.to_string()))?;
        Ok((to_json(&options)?, to_json(&state)?))
    }

    /// Checks an answer against the state of the ceremony it belongs to. The caller must make
    /// sure a state is used once (take it from storage before calling).
    pub fn finish_authentication(
        &self,
        state: &str,
        response: &str,
        stored: &[String],
    ) -> Result<Authenticated, WebAuthnError> {
        let state: PasskeyAuthentication =
            serde_json::from_str(state).map_err(|e| WebAuthnError::Stored(e.to_string()))?;
        let response: PublicKeyCredential =
            serde_json::from_str(response).map_err(|e| WebAuthnError::Malformed(e.to_string()))?;
        let result = self
            .inner
            .finish_passkey_authentication(&response, &state)
            .map_err(|e| WebAuthnError::Refused(e.to_string()))?;
        if !result.user_verified() {
            return Err(WebAuthnError::Refused("no user verification".into()));
        }
        let credential_id = b64(result.cred_id());
        // The credential that answered must be one of those offered (and its new counter is
        // kept, so a clone of the authenticator shows up as a counter that went back).
        let mut passkey = stored
            .iter()
            .map(|s| parse_stored(s))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .find(|p| p.cred_id() == result.cred_id())
            .ok_or_else(|| WebAuthnError::Refused("not one of the offered credentials".into()))?;
        let updated = match passkey.update_credential(&result) {
            Some(true) => Some(to_json(&passkey)?),
            _ => None,
        };
        Ok(Authenticated {
            credential_id,
            updated,
        })
    }
}

/// The id of a stored credential, base64url.
pub fn credential_id(stored: &str) -> Result<String, WebAuthnError> {
    Ok(b64(parse_stored(stored)?.cred_id()))
}

fn b64(id: &webauthn_rs::prelude::CredentialID) -> String {
    let bytes: &[u8] = id.as_ref();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn parse_stored(s: &str) -> Result<Passkey, WebAuthnError> {
    serde_json::from_str(s).map_err(|e| WebAuthnError::Stored(e.to_string()))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, WebAuthnError> {
    serde_json::to_string(value).map_err(|e| WebAuthnError::Stored(e.to_string()))
}

/// WebAuthn wants a UUID as the user handle; derived from the account's opaque handle so it is
/// stable (an authenticator keeps one passkey per account) and reveals nothing.
fn handle_uuid(user_handle: &str) -> Uuid {
    let digest = sha2::Sha256::digest(format!("tweestap-user:{user_handle}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}
