//! The sign-in: a state machine kept on the server (so no step can be skipped by typing a URL)
//! and the use cases that move it forward.

mod access_pass;
mod add_phone;
mod app;
mod app_link;
mod code_check;
mod error;
mod manage;
mod passkey;
mod password_throttle;
mod push;
mod request;
mod send;
mod send_limits;
mod service;
mod state;
mod verify;

pub use access_pass::{normalize_pass, pass_hash};
pub use app::{APP_SETUP_SECS, AppSetup};
pub use app_link::{APP_LINK_SECS, LinkStatus};
pub use code_check::{CodeCheck, check_code};
pub use error::{SendRefusal, SignInError};
pub use passkey::{CEREMONY_SECS, WebAuthnProof};
pub use password_throttle::{KNOWN_DEVICE_ENTRIES, clear_name_waits, password_wait};
pub use push::{PushAnswer, PushStarted, PushStatus};
pub use request::RequestContext;
pub use send::{ReportOutcome, SmsText};
pub use send_limits::{may_send, resend_wait};
pub use service::{SignInService, device_token_hash};
pub use state::{CodeTarget, Page, SignInState};
