//! A software authenticator for tests that cannot run a browser (feature `soft-authenticator`,
//! never in the binary).
//!
//! It plays browser and authenticator at once: it reads the options JSON the server sent and
//! answers with the JSON a browser's `PublicKeyCredential` serialises to, built from the real
//! WebAuthn wire format (clientDataJSON, authenticator data, a CBOR `none` attestation, ES256
//! signatures). It holds one P-256 credential, created with the authenticator; registering
//! binds it to the relying party and user of the options, and every use increments its
//! signature counter.
//!
//! Unlike a conforming authenticator it answers even when it cannot meet the request (no user
//! verification, a foreign origin), so tests check what the server refuses. It does refuse to
//! register when its credential is in `excludeCredentials`, as a browser would; see
//! [`SoftAuthenticator::register_ignoring_exclusions`] to test the server's own check.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Authenticator data flags.
const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_AT: u8 = 0x40;
/// COSE algorithm ES256.
const ES256: i64 = -7;

/// Why the soft authenticator would not answer (where a browser would reject the promise).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SoftError {
    #[error("the options JSON could not be read: {0}")]
    Malformed(String),
    /// `excludeCredentials` lists this authenticator's credential (`InvalidStateError`).
    #[error("the authenticator's credential is excluded")]
    Excluded,
    /// The options do not offer ES256 among `pubKeyCredParams`.
    #[error("ES256 is not among the accepted algorithms")]
    Unsupported,
    /// Nothing registered for this relying party, or `allowCredentials` does not list the
    /// credential (`NotAllowedError`).
    #[error("no credential for this request")]
    NoCredential,
}

/// A software WebAuthn authenticator with one ES256 credential.
#[derive(Debug)]
pub struct SoftAuthenticator {
    key: EcdsaKeyPair,
    credential_id: Vec<u8>,
    /// Set by registration: the relying party id and `user.id` the credential belongs to.
    registered: Option<(String, Vec<u8>)>,
    /// The counter as last used; a response carries it incremented.
    sign_count: u32,
    user_verification: bool,
    rng: SystemRandom,
}

impl Default for SoftAuthenticator {
    fn default() -> Self {
        Self::new()
    }
}

impl SoftAuthenticator {
    /// An authenticator that verifies its user (UV and UP set), like a phone or passkey.
    pub fn new() -> Self {
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
            .expect("generate a P-256 key pair");
        let mut credential_id = vec![0u8; 32];
        rng.fill(&mut credential_id)
            .expect("random bytes for the credential id");
        SoftAuthenticator {
            key,
            credential_id,
            registered: None,
            sign_count: 0,
            user_verification: true,
            rng,
        }
    }

    /// An authenticator that only proves presence (UP set, UV not), like a plain security key
    /// without a PIN.
    pub fn without_user_verification() -> Self {
        let mut authenticator = Self::new();
        authenticator.user_verification = false;
        authenticator
    }

    /// Turns user verification on or off for the responses that follow.
    pub fn set_user_verification(&mut self, on: bool) {
        self.user_verification = on;
    }

    /// Sets the signature counter as the authenticator holds it; the next response carries
    /// `value + 1`. Setting it back imitates a cloned authenticator.
    pub fn set_sign_count(&mut self, value: u32) {
        self.sign_count = value;
    }

    /// The counter carried by the last response (0 before the first).
    pub fn sign_count(&self) -> u32 {
        self.sign_count
    }

    /// The credential id, base64url without padding (as `id` in the responses).
    pub fn credential_id(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.credential_id)
    }

    /// The answer to `navigator.credentials.create(options)`: `options_json` is what the server
    /// sent (`{"publicKey": {...}}`), `origin` the page's origin as the browser reports it.
    ///
    /// # Panics
    /// When the authenticator would refuse; see [`Self::try_register`].
    #[track_caller]
    pub fn register(&mut self, options_json: &str, origin: &str) -> String {
        match self.try_register(options_json, origin) {
            Ok(response) => response,
            Err(e) => panic!("the soft authenticator refused to register: {e}"),
        }
    }

    /// Like [`Self::register`], but with the refusals of a browser as errors.
    pub fn try_register(&mut self, options_json: &str, origin: &str) -> Result<String, SoftError> {
        self.create(options_json, origin, true)
    }

    /// Registers even when `excludeCredentials` lists this credential, as a broken or hostile
    /// client could: for testing that the server enforces its exclusion list.
    #[track_caller]
    pub fn register_ignoring_exclusions(&mut self, options_json: &str, origin: &str) -> String {
        match self.create(options_json, origin, false) {
            Ok(response) => response,
            Err(e) => panic!("the soft authenticator refused to register: {e}"),
        }
    }

    /// The answer to `navigator.credentials.get(options)` with the credential registered
    /// earlier.
    ///
    /// # Panics
    /// When the authenticator would refuse; see [`Self::try_authenticate`].
    #[track_caller]
    pub fn authenticate(&mut self, options_json: &str, origin: &str) -> String {
        match self.try_authenticate(options_json, origin) {
            Ok(response) => response,
            Err(e) => panic!("the soft authenticator refused to authenticate: {e}"),
        }
    }

    /// Like [`Self::authenticate`], but with the refusals of a browser as errors.
    pub fn try_authenticate(
        &mut self,
        options_json: &str,
        origin: &str,
    ) -> Result<String, SoftError> {
        let options = public_key_options(options_json)?;
        let challenge = str_field(&options, "challenge")?;
        let rp_id = str_field(&options, "rpId")?;
        let (registered_rp, user_handle) =
            self.registered.clone().ok_or(SoftError::NoCredential)?;
        if registered_rp != rp_id {
            return Err(SoftError::NoCredential);
        }
        let own_id = self.credential_id();
        let allowed = match options.get("allowCredentials") {
            None | Some(serde_json::Value::Null) => true,
            Some(list) => listed_ids(list)?.contains(&own_id),
        };
        if !allowed {
            return Err(SoftError::NoCredential);
        }

        let client_data = client_data_json("webauthn.get", challenge, origin);
        let auth_data = self.authenticator_data(rp_id, 0, None);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(client_data.as_bytes()));
        let signature = self.key.sign(&self.rng, &signed).expect("ECDSA signature");

        Ok(json!({
            "id": own_id,
            "rawId": own_id,
            "type": "public-key",
            "response": {
                "authenticatorData": URL_SAFE_NO_PAD.encode(&auth_data),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data.as_bytes()),
                "signature": URL_SAFE_NO_PAD.encode(signature.as_ref()),
                "userHandle": URL_SAFE_NO_PAD.encode(&user_handle),
            },
            "extensions": {},
        })
        .to_string())
    }

    fn create(
        &mut self,
        options_json: &str,
        origin: &str,
        honour_exclusions: bool,
    ) -> Result<String, SoftError> {
        let options = public_key_options(options_json)?;
        let challenge = str_field(&options, "challenge")?;
        let rp_id = str_field(options.get("rp").unwrap_or(&serde_json::Value::Null), "id")?;
        let user_id = str_field(
            options.get("user").unwrap_or(&serde_json::Value::Null),
            "id",
        )?;
        let user_handle = URL_SAFE_NO_PAD
            .decode(user_id)
            .map_err(|e| SoftError::Malformed(format!("user.id: {e}")))?;

        let es256 = options
            .get("pubKeyCredParams")
            .and_then(|p| p.as_array())
            .is_some_and(|params| {
                params
                    .iter()
                    .any(|p| p.get("alg").and_then(|a| a.as_i64()) == Some(ES256))
            });
        if !es256 {
            return Err(SoftError::Unsupported);
        }
        let excluded = match options.get("excludeCredentials") {
            Some(list) if honour_exclusions && !list.is_null() => {
                listed_ids(list)?.contains(&self.credential_id())
            }
            _ => false,
        };
        if excluded {
            return Err(SoftError::Excluded);
        }

        let client_data = client_data_json("webauthn.create", challenge, origin);
        let attested = self.attested_credential_data();
        let auth_data = self.authenticator_data(rp_id, FLAG_AT, Some(&attested));
        let attestation_object = cbor(&Value::Map(vec![
            (Value::from("fmt"), Value::from("none")),
            (Value::from("attStmt"), Value::Map(Vec::new())),
            (Value::from("authData"), Value::Bytes(auth_data)),
        ]));
        self.registered = Some((rp_id.to_owned(), user_handle));

        let id = self.credential_id();
        Ok(json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "attestationObject": URL_SAFE_NO_PAD.encode(attestation_object),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data.as_bytes()),
                "transports": ["internal"],
            },
            "extensions": {},
        })
        .to_string())
    }

    /// rpIdHash | flags | signCount, then what `extra_flags` announces. Increments the counter.
    fn authenticator_data(
        &mut self,
        rp_id: &str,
        extra_flags: u8,
        attested: Option<&[u8]>,
    ) -> Vec<u8> {
        self.sign_count = self.sign_count.wrapping_add(1);
        let mut flags = FLAG_UP | extra_flags;
        if self.user_verification {
            flags |= FLAG_UV;
        }
        let mut data = Sha256::digest(rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend_from_slice(&self.sign_count.to_be_bytes());
        if let Some(attested) = attested {
            data.extend_from_slice(attested);
        }
        data
    }

    /// AAGUID (zeros) | credential id length | credential id | COSE_Key.
    fn attested_credential_data(&self) -> Vec<u8> {
        let point = self.key.public_key().as_ref();
        assert_eq!(point.len(), 65, "uncompressed P-256 point");
        assert_eq!(point[0], 0x04, "uncompressed P-256 point");
        let cose_key = cbor(&Value::Map(vec![
            (Value::from(1), Value::from(2)),                       // kty: EC2
            (Value::from(3), Value::from(ES256)),                   // alg: ES256
            (Value::from(-1), Value::from(1)),                      // crv: P-256
            (Value::from(-2), Value::Bytes(point[1..33].to_vec())), // x
            (Value::from(-3), Value::Bytes(point[33..].to_vec())),  // y
        ]));
        let id_len = u16::try_from(self.credential_id.len()).expect("short credential id");
        let mut data = vec![0u8; 16];
        data.extend_from_slice(&id_len.to_be_bytes());
        data.extend_from_slice(&self.credential_id);
        data.extend_from_slice(&cose_key);
        data
    }
}

/// The response with one bit of its signature flipped (an assertion, from
/// [`SoftAuthenticator::authenticate`]); the DER structure stays intact, so the server gets as
/// far as checking the signature.
///
/// # Panics
/// When the response has no signature (registration responses carry a `none` attestation).
pub fn tamper(response_json: &str) -> String {
    let mut response: serde_json::Value =
        serde_json::from_str(response_json).expect("a response JSON");
    let field = response
        .pointer_mut("/response/signature")
        .expect("an assertion response with a signature");
    let mut signature = URL_SAFE_NO_PAD
        .decode(field.as_str().expect("signature as a string"))
        .expect("signature in base64url");
    let last = signature.last_mut().expect("a non-empty signature");
    *last ^= 0x01;
    *field = serde_json::Value::String(URL_SAFE_NO_PAD.encode(&signature));
    response.to_string()
}

fn client_data_json(type_: &str, challenge: &str, origin: &str) -> String {
    // Field order as browsers write it; values escaped as JSON strings.
    format!(
        r#"{{"type":{},"challenge":{},"origin":{},"crossOrigin":false}}"#,
        serde_json::Value::from(type_),
        serde_json::Value::from(challenge),
        serde_json::Value::from(origin),
    )
}

fn public_key_options(options_json: &str) -> Result<serde_json::Value, SoftError> {
    let mut options: serde_json::Value =
        serde_json::from_str(options_json).map_err(|e| SoftError::Malformed(e.to_string()))?;
    match options.get_mut("publicKey") {
        Some(inner) => Ok(inner.take()),
        None => Err(SoftError::Malformed("no publicKey member".into())),
    }
}

fn str_field<'a>(value: &'a serde_json::Value, name: &str) -> Result<&'a str, SoftError> {
    value
        .get(name)
        .and_then(|v| v.as_str())
        .ok_or_else(|| SoftError::Malformed(format!("no string {name}")))
}

/// The ids of a list of credential descriptors (`excludeCredentials`, `allowCredentials`).
fn listed_ids(list: &serde_json::Value) -> Result<Vec<String>, SoftError> {
    list.as_array()
        .ok_or_else(|| SoftError::Malformed("credential list is not an array".into()))?
        .iter()
        .map(|d| str_field(d, "id").map(str::to_owned))
        .collect()
}

fn cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("CBOR into a Vec");
    out
}
