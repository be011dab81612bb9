//! tweestap's web layer: routes, server-rendered pages, translations, sessions and CSRF.
//!
//! Thin by design: a handler parses the request, calls a use case in `tweestap-core`, and
//! renders the result. It knows nothing of SQL or SMS gateways: those arrive as the core's
//! ports, wired by the CLI. Every page works without JavaScript; `static/app.js` only adds
//! conveniences (auto-submit of the sixth digit, WebOTP, countdowns).

mod access_log;
mod app;
mod context;
mod error;
pub mod geo;
pub mod i18n;
pub mod notices;
pub mod passwords;
mod qr;
mod return_to;
mod routes;
mod security;
mod session;
pub mod sms_text;
pub mod system;
mod templates;
mod user_agent;
mod web_push;

pub use app::{AppState, ForwardAuthConfig, PushNotifier, WebConfig, router};
