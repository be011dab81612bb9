//! The OpenID Connect provider's endpoints. The rules live in `tweestap_core::oidc`; these
//! handlers parse HTTP, keep the browser session and render.

pub mod authorize;
pub mod logout;
pub mod token;
pub mod userinfo;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tweestap_core::KNOWN_SCOPES;
use tweestap_core::oidc::{ACR_MFA, ACR_PWD};

use crate::app::AppState;
use crate::error::WebError;

/// Public documents any origin may read (a browser-based client fetches them).
fn public_json(body: String, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// The public signing keys (JWKS): the current keys and those rotated out but still within
/// their overlap, so tokens they signed keep verifying.
pub async fn get_jwks(State(app): State<AppState>) -> Result<Response, WebError> {
    let jwks = app
        .oidc
        .signer
        .jwks(None)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(public_json(jwks.to_string(), "application/jwk-set+json"))
}

/// OpenID Connect Discovery 1.0 §3 (and RFC 8414's additions).
pub async fn get_discovery(State(app): State<AppState>) -> Response {
    let document = app.discovery.get_or_init(|| discovery(&app));
    public_json(document.clone(), "application/json")
}

fn discovery(app: &AppState) -> String {
    let issuer = app.config.issuer();
    let at = |path: &str| format!("{issuer}{path}");
    let document = json!({
        "issuer": issuer,
        "authorization_endpoint": at("/oauth2/authorize"),
        "token_endpoint": at("/oauth2/token"),
        "userinfo_endpoint": at("/oauth2/userinfo"),
        "jwks_uri": at("/oauth2/jwks"),
        "end_session_endpoint": at("/oauth2/logout"),
        "revocation_endpoint": at("/oauth2/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": KNOWN_SCOPES,
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp",
            "name", "preferred_username", "email", "phone_number", "phone_number_verified"
        ],
        "acr_values_supported": [ACR_MFA, ACR_PWD],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "ui_locales_supported": ["nl", "en"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    });
    document.to_string()
}

/// A JSON answer that must never be cached (tokens, userinfo; RFC 6749 §5.1). Readable from
/// any origin: browser-based clients call these endpoints, and none of them trusts cookies,
/// only the credentials in the request itself.
pub fn no_store_json(status: axum::http::StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// The CORS preflight for the token, userinfo and revocation endpoints.
pub async fn preflight() -> Response {
    (
        axum::http::StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Authorization, Content-Type",
            ),
            (header::ACCESS_CONTROL_MAX_AGE, "600"),
        ],
    )
        .into_response()
}
