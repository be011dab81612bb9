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
///
/// Each MAC key signs one kind of value only. Several of them sign strings that others choose
/// or can read (typed usernames in the audit log, session ids, cookie values): were one key
/// shared, a value readable in one place could be replayed as a signature in another (the
/// audit table would mint delivery-report signatures).
pub struct Keys {
    pub code: CodeKey,
    pub seal: SealKey,
    /// Signs what travels through other systems and comes back: delivery-report references.
    pub callback: MacKey,
    /// Derives a session's CSRF token from its id.
    pub csrf: MacKey,
    /// Fingerprints typed usernames that are not accounts, for the audit log.
    pub audit: MacKey,
    /// Turns throttle keys (typed usernames, devices) into fixed-size keys.
    pub throttle: MacKey,
    /// Signs the "signed in here before" device cookie (per user).
    pub device: MacKey,
    /// Signs the forward-auth cookie, which names the sign-in session it belongs to.
    pub forward_auth: MacKey,
    /// The private scalar of the Web Push (VAPID) key.
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
            callback: MacKey::derived(master, "callback"),
            csrf: MacKey::derived(master, "csrf"),
            audit: MacKey::derived(master, "audit-fingerprint"),
            throttle: MacKey::derived(master, "throttle"),
            device: MacKey::derived(master, "known-device"),
            forward_auth: MacKey::derived(master, "forward-auth"),
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

/// An HMAC-SHA-256 key for one purpose (see [`Keys`]); signatures are 128 bits, as hex.
pub struct MacKey(Zeroizing<Vec<u8>>);

impl MacKey {
    fn derived(master: &[u8], label: &str) -> MacKey {
        MacKey(Zeroizing::new(derive(master, label).to_vec()))
    }

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

impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacKey(***)")
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
    fn every_purpose_has_its_own_mac_key() {
        let keys = Keys::derive(&[7; 32]);
        let signers = [
            &keys.callback,
            &keys.csrf,
            &keys.audit,
            &keys.throttle,
            &keys.device,
            &keys.forward_auth,
        ];
        let signatures: std::collections::HashSet<String> =
            signers.iter().map(|k| k.sign("ref1:kannel")).collect();
        assert_eq!(signatures.len(), signers.len());
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
