//! tweestap's OpenID Connect provider. For now: the signing keys (ES256, generated here,
//! sealed at rest by the caller with the core's `SealKey`), their public JWKS, and signing
//! and checking tokens with them. The protocol endpoints build on this.
//!
//! Heavy cryptography (aws-lc, jsonwebtoken) lives in this crate so the core stays light.

pub mod keyring;
pub mod keys;

pub use keyring::{Keyring, KeyringError};
pub use keys::{KeyError, SigningKey};
