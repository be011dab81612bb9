//! The sign-in: a state machine kept on the server (so no step can be skipped by typing a URL)
//! and the use cases that move it forward.

mod code_check;
mod error;
mod request;
mod send_limits;
mod service;
mod state;

pub use code_check::{CodeCheck, check_code};
pub use error::{SendRefusal, SignInError};
pub use request::RequestContext;
pub use send_limits::{SendCounts, may_send};
pub use service::{SignInService, SmsText};
pub use state::{CodeTarget, Page, SignInState};
