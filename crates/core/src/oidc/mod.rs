//! The OpenID Connect provider's rules: which authorization requests are acceptable, when a
//! browser gets a code, what codes and tokens stand for, and what an ID token says. Signing
//! happens behind the [`crate::ports::TokenSigner`] port and storage behind the
//! [`crate::ports::OidcStore`]; the web crate only parses HTTP and renders.

mod authorize;
mod claims;
mod decide;
mod error;
mod pkce;
mod service;
mod urlencode;

pub use authorize::{AuthRequest, AuthorizeError, AuthorizeParams, PageProblem, Prompt};
pub use claims::{ACR_MFA, ACR_PWD, acr_for, has_mfa};
pub use decide::{Next, SignedInView, consent_counts, decide};
pub use error::TokenError;
pub use pkce::{pkce_matches, valid_challenge, valid_verifier};
pub use service::{ClientAuth, OidcService, TokenResponse, UserinfoError};
pub use urlencode::{append_query, percent_encode};
