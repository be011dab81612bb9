//! The userinfo endpoint (OpenID Connect Core §5.3), with RFC 6750 bearer-token errors.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::json;
use tweestap_core::oidc::UserinfoError;

use super::no_store_json;
use crate::app::AppState;

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
        .filter(|t| !t.is_empty())
}

fn challenge(status: StatusCode, error: Option<(&str, &str)>) -> Response {
    let mut response = match error {
        Some((code, description)) => no_store_json(
            status,
            json!({ "error": code, "error_description": description }),
        ),
        None => no_store_json(status, json!({ "error": "invalid_request" })),
    };
    let value = match error {
        Some((code, description)) => {
            format!(
                "Bearer realm=\"tweestap\", error=\"{code}\", error_description=\"{description}\""
            )
        }
        None => "Bearer realm=\"tweestap\"".to_string(),
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// GET or POST with the access token in the `Authorization: Bearer` header. (RFC 6750's
/// form-body and query variants are not accepted: tokens in URLs end up in logs.)
pub async fn userinfo(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else {
        return challenge(StatusCode::UNAUTHORIZED, None);
    };
    match app.oidc.userinfo(&token).await {
        Ok(claims) => no_store_json(StatusCode::OK, claims),
        Err(UserinfoError::InvalidToken) => challenge(
            StatusCode::UNAUTHORIZED,
            Some((
                "invalid_token",
                "the access token is unknown, expired or revoked",
            )),
        ),
        Err(UserinfoError::InsufficientScope) => challenge(
            StatusCode::FORBIDDEN,
            Some(("insufficient_scope", "the token was not issued for openid")),
        ),
        Err(UserinfoError::Store(e)) => {
            tracing::error!(error = %e, "userinfo failed");
            no_store_json(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "error": "server_error" }),
            )
        }
    }
}
