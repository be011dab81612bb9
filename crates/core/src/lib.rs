//! tweestap's domain core: accounts, second-factor methods, one-time codes, policies and the
//! sign-in state machine, plus the use cases that drive them.
//!
//! This crate does no I/O of its own. The database, SMS gateways, the clock, randomness and the
//! (CPU-heavy) password hashing pool reach it through the ports in [`ports`]; the web and CLI
//! crates wire real adapters to them. That keeps every rule here testable with plain values and
//! keeps heavy dependencies (sqlx, axum, templates) out of the crate that changes most.
//!
//! - [`domain`]: value types that are valid by construction (`Username`, `PhoneNumber`, `OtpCode`…).
//! - [`policy`]: the knobs an organisation can turn, with safe defaults.
//! - [`signin`]: the sign-in state machine and the use cases (password, registration, codes).
//! - [`admin`]: what an administrator may do to accounts (add, import, reset, pre-register).
//! - [`ports`]: the traits adapters implement.

pub mod admin;
pub mod approval;
pub mod audit;
pub mod clients;
pub mod domain;
pub mod eam;
pub mod metrics;
pub mod notices;
pub mod oidc;
pub mod password;
pub mod policy;
pub mod ports;
pub mod revoke;
pub mod signin;

pub use domain::*;
