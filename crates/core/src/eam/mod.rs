//! Microsoft Entra ID's *external MFA method* (EAM): Entra checks the password, then sends the
//! browser here with a signed hint naming the user; tweestap asks for the second factor and
//! sends the browser back with an id_token saying what the user did. The contract is an OpenID
//! Connect profile in which Entra is the client: implicit flow, form posts both ways, no
//! back channel, and Entra gives up five minutes after it sent the user.
//!
//! The rules live here, without I/O: which requests are taken ([`request`]), which hints are
//! believed ([`hint`]), what the answer says ([`answer`]), and the use cases that tie them to
//! accounts ([`service`]). Fetching Entra's keys is a port ([`crate::ports::HintSignatures`]).

pub mod answer;
pub mod config;
pub mod hint;
pub mod phones;
pub mod refusal;
pub mod request;
pub mod service;

pub use answer::{Factor, FormPost};
pub use config::{Cloud, EamConfig, Tenant, UnknownUsers};
pub use refusal::Refusal;
pub use request::{EamParams, Pending};
pub use service::{Begun, EamFailure, EamService, Refused};

/// Entra abandons the sign-in this long after it sent the user to the method.
pub const ENTRA_PATIENCE_SECS: i64 = 300;
