//! Value types that can only hold valid values ("parse, don't validate").

mod client;
mod country;
mod keys;
mod label;
mod otp;
mod phone;
mod secret;
mod time;
mod totp;
mod user;
mod username;

pub use client::{Client, ClientError, ClientId, KNOWN_SCOPES, RedirectUri, SigningAlg};
pub use country::{Country, countries, country};
pub use keys::{Keys, MacKey, SealError, SealKey};
pub use label::{Label, LabelError, is_unsafe};
pub use otp::{CodeHash, CodeKey, OtpCode, OtpCodeError};
pub use phone::{PhoneError, PhoneNumber};
pub use secret::Secret;
pub use time::Timestamp;
pub use totp::{TOTP_DIGITS, TOTP_PERIOD_SECS, TOTP_SKEW_STEPS, TotpSecret, base32};
pub use user::{Method, MethodId, MethodKind, NewUser, User, UserId};
pub use username::{Username, UsernameError};
