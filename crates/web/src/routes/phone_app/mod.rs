//! The tweestap app: a web app (installable, served here) on the user's phone that approves
//! sign-ins with number matching. Linked from the security-info page through a one-time QR
//! link (`link`); the phone proves itself with its own WebAuthn credential (fingerprint, face
//! or PIN), and a cookie tells this server which linked phone is asking for its requests
//! (`requests`).

mod link;
mod requests;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use tweestap_core::Method;

use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;

pub use link::{get_link, get_link_status, post_link, post_link_confirm, post_link_start};
pub use requests::{
    get_home, post_approve, post_deny, post_options, post_report, post_subscription,
};

/// Where the app lives (its scope as a web app).
pub const APP_HOME: &str = "/app/";

fn device_cookie(app: &AppState) -> &'static str {
    if app.config.secure_cookies() {
        "__Host-tweestap_app"
    } else {
        "tweestap_app"
    }
}

/// The linked phone this browser is, if any.
async fn phone(app: &AppState, ctx: &Ctx) -> Result<Option<Method>, WebError> {
    let Some(token) = ctx.cookies.get(device_cookie(app)) else {
        return Ok(None);
    };
    app.signin.phone_app(token).await.map_err(super::internal)
}

fn json(value: serde_json::Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}
