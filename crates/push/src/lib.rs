//! Web Push for sign-in approvals: a message to a browser's push subscription, encrypted so
//! the push service cannot read it (RFC 8291, `aes128gcm`), and signed with the server's
//! VAPID key so the push service knows who sends (RFC 8292). The payload carries only a
//! request id and display text; the approval itself goes back over an authenticated request.

mod encrypt;
mod send;

pub use encrypt::{EncryptError, encrypt};
pub use send::{
    DEFAULT_PUSH_SERVICES, PushError, PushOutcome, PushSender, Subscription, Urgency, vapid_header,
};

/// The VAPID key pair from 32 secret bytes (derived from the server's secret key, so every
/// node signs with the same key and nothing more has to be stored). The bytes are the P-256
/// private scalar, wrapped in PKCS#8.
pub fn vapid_key(seed: &[u8; 32]) -> Result<tweestap_oidc::SigningKey, tweestap_oidc::KeyError> {
    // PKCS#8 v1 { ecPublicKey, prime256v1 } holding an RFC 5915 ECPrivateKey without the
    // optional public key (the library computes it).
    const PREFIX: [u8; 36] = [
        0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
        0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25,
        0x02, 0x01, 0x01, 0x04, 0x20, 0x00,
    ];
    let mut der = PREFIX[..35].to_vec();
    der.extend_from_slice(seed);
    tweestap_oidc::SigningKey::from_pkcs8("vapid".into(), tweestap_core::SigningAlg::Es256, &der)
}
