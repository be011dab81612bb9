//! tweestap's OpenID Connect signing keys: ES256 (default) and RS256 keys generated here,
//! sealed at rest with the core's `SealKey`, published as a JWKS, rotated with an overlap.
//! The [`Keyring`] implements the core's `TokenSigner` port; the protocol rules live in
//! `tweestap_core::oidc`.
//!
//! Heavy cryptography (aws-lc, jsonwebtoken) lives in this crate so the core stays light.

pub mod certificate;
pub mod entra_keys;
pub mod keyring;
pub mod keys;

pub use entra_keys::EntraKeys;
pub use keyring::{Keyring, KeyringError};
pub use keys::{KeyError, SigningKey};
