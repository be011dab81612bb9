//! The one place where failures become HTTP responses. Users see a translated page with a
//! generic message; the cause goes to the log with a correlation id the user can quote.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;
use tweestap_core::ports::StoreError;
use tweestap_core::signin::SignInError;

use crate::app::AppState;
use crate::context::{LANG_COOKIE, parse_cookies};
use crate::i18n::{Arg, Lang, t};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// A form without the session's CSRF token: stale page or cross-site request.
    #[error("missing or wrong CSRF token")]
    Csrf,
    #[error("not found")]
    NotFound,
    /// A request that cannot be answered; the key names the message shown.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl From<SignInError> for WebError {
    fn from(e: SignInError) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl From<tweestap_core::eam::EamFailure> for WebError {
    fn from(e: tweestap_core::eam::EamFailure) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl From<minijinja::Error> for WebError {
    fn from(e: minijinja::Error) -> Self {
        WebError::Internal(format!("template: {e:#}"))
    }
}

/// Marks a response whose page the error middleware renders (it knows the language and the
/// organisation; `into_response` does not).
#[derive(Clone, Debug)]
struct ErrorPage {
    message_key: &'static str,
    reference: Option<String>,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, page) = match self {
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                ErrorPage {
                    message_key: "error-csrf",
                    reference: None,
                },
            ),
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                ErrorPage {
                    message_key: "error-not-found",
                    reference: None,
                },
            ),
            WebError::BadRequest(message_key) => (
                StatusCode::BAD_REQUEST,
                ErrorPage {
                    message_key,
                    reference: None,
                },
            ),
            WebError::Internal(cause) => {
                let mut id = [0u8; 4];
                let _ = getrandom::fill(&mut id);
                let reference = hex::encode(id);
                tracing::error!(error_id = %reference, %cause, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorPage {
                        message_key: "error-internal",
                        reference: Some(reference),
                    },
                )
            }
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(page);
        response
    }
}

/// A request body the extractors refused before any handler ran (too large, not a form): a
/// page that says what happened, in place of axum's plain-text answer.
fn rejected_body(response: &Response) -> Option<&'static str> {
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Some("error-too-large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE if plain => Some("error-bad-form"),
        _ => None,
    }
}

pub async fn render_errors(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let cookies = parse_cookies(&parts);
    let accept = parts
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let lang = Lang::negotiate(
        cookies.get(LANG_COOKIE).map(String::as_str),
        accept.as_deref(),
        app.config.default_language,
    );
    let path = parts.uri.path().to_string();
    let mut response = next.run(Request::from_parts(parts, body)).await;
    let page = match response.extensions_mut().remove::<ErrorPage>() {
        Some(page) => page,
        None => match rejected_body(&response) {
            Some(message_key) => ErrorPage {
                message_key,
                reference: None,
            },
            None => return response,
        },
    };
    let message = match &page.reference {
        Some(id) => t(lang, page.message_key, &[("id", Arg::Str(id))]),
        None => t(lang, page.message_key, &[]),
    };
    let ctx = context! {
        lang => lang.code(),
        other_lang => lang.other().code(),
        lang_switch_href => format!("/lang/{}?next={}", lang.other().code(), if path.starts_with("/sign-in") { "/sign-in" } else { "/" }),
        org => app.config.organisation.clone(),
        demo => app.config.demo_outbox.is_some(),
        message => message,
    };
    let body = app
        .templates
        .render("error.html", ctx)
        .unwrap_or_else(|_| "Error".to_string());
    let status = response.status();
    let mut rendered = (status, Html(body)).into_response();
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rendered.headers_mut().append(name.clone(), value.clone());
        }
    }
    rendered
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    rendered
}
