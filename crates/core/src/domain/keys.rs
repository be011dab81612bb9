use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::Zeroizing;

use super::CodeKey;

/// The keys derived from the one secret key file, each for one purpose, so a key can never be
/// misused for another (HMAC-SHA-256 of the master key with a label).
pub struct Keys {
    pub code: CodeKey,
    pub seal: SealKey,
    pub callback: CallbackKey,
    /// The private scalar of the Web Push (VAPID) key: derived here, never through the
    /// callback key, which signs attacker-chosen strings (typed usernames) into the audit log.
    pub vapid_seed: Zeroizing<[u8; 32]>,
}

fn derive(master: &[u8], label: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(b"tweestap/");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

impl Keys {
    pub fn derive(master: &[u8]) -> Keys {
        Keys {
            code: CodeKey::new(derive(master, "otp-code").to_vec()),
            seal: SealKey(Zeroizing::new(derive(master, "seal"))),
            callback: CallbackKey(Zeroizing::new(derive(master, "callback").to_vec())),
            vapid_seed: Zeroizing::new(derive(master, "vapid")),
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("sealed data could not be opened (wrong key, or altered)")]
pub struct SealError;

/// Encrypts data at rest (AES-256-GCM): queued text messages now, authenticator secrets later.
/// The sealed form is nonce ‖ ciphertext; `aad` binds it to its owner (e.g. the message id),
/// so a sealed value copied to another row does not open.
pub struct SealKey(Zeroizing<[u8; 32]>);

impl SealKey {
    pub fn seal(&self, plaintext: &[u8], aad: &[u8], nonce: [u8; 12]) -> Vec<u8> {
        let cipher = Aes256Gcm::new_from_slice(self.0.as_ref()).expect("32-byte key");
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("AES-GCM encryption does not fail for in-memory data");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        out
    }

    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < 12 + 16 {
            return Err(SealError);
        }
        let (nonce, ciphertext) = sealed.split_at(12);
        let cipher = Aes256Gcm::new_from_slice(self.0.as_ref()).expect("32-byte key");
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| SealError)
    }
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(***)")
    }
}

/// Signs values that travel through other systems and come back to us, such as the message
/// reference in a delivery-report URL, so nobody else can forge a report.
pub struct CallbackKey(Zeroizing<Vec<u8>>);

impl CallbackKey {
    pub fn sign(&self, value: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(value.as_bytes());
        let tag = mac.finalize().into_bytes();
        tag[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn verify(&self, value: &str, signature: &str) -> bool {
        let expected = self.sign(value);
        expected.len() == signature.len()
            && bool::from(expected.as_bytes().ct_eq(signature.as_bytes()))
    }
}

impl std::fmt::Debug for CallbackKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallbackKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_opens_only_with_the_same_key_and_owner() {
        let keys = Keys::derive(&[7; 32]);
        let sealed = keys.seal.seal(b"123456 is je code", b"ref-1", [1; 12]);
        assert!(
            !sealed.windows(6).any(|w| w == b"123456"),
            "the plaintext must not show"
        );
        assert_eq!(
            keys.seal.open(&sealed, b"ref-1").unwrap(),
            b"123456 is je code"
        );
        assert_eq!(keys.seal.open(&sealed, b"ref-2"), Err(SealError));
        let other = Keys::derive(&[8; 32]);
        assert_eq!(other.seal.open(&sealed, b"ref-1"), Err(SealError));
        let mut tampered = sealed.clone();
        tampered[20] ^= 1;
        assert_eq!(keys.seal.open(&tampered, b"ref-1"), Err(SealError));
    }

    #[test]
    fn callback_signatures_verify_and_differ_per_value() {
        let keys = Keys::derive(&[7; 32]);
        let sig = keys.callback.sign("ref-1");
        assert!(keys.callback.verify("ref-1", &sig));
        assert!(!keys.callback.verify("ref-2", &sig));
        assert!(!keys.callback.verify("ref-1", "00"));
    }

    #[test]
    fn derived_keys_differ_by_purpose() {
        let keys = Keys::derive(&[7; 32]);
        let code = crate::OtpCode::parse("123456").unwrap();
        let other = Keys::derive(&[9; 32]);
        assert!(
            !keys
                .code
                .hash("f", &code)
                .matches(&other.code.hash("f", &code))
        );
    }
}
