//! The token endpoint (RFC 6749 §3.2) and token revocation (RFC 7009). Machine-to-machine:
//! JSON errors with the spec's codes, never HTML pages.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use tweestap_core::Client;
use tweestap_core::oidc::{ClientAuth, TokenError};

use super::no_store_json;
use crate::app::AppState;

/// The form's fields; one that appears twice is an error (RFC 6749 §3.2).
fn fields(body: &str) -> Result<HashMap<String, String>, TokenError> {
    let mut map = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(body.as_bytes()) {
        if map.insert(name.into_owned(), value.into_owned()).is_some() {
            return Err(TokenError::InvalidRequest(
                "a parameter appears more than once",
            ));
        }
    }
    Ok(map)
}

/// client_secret_basic (the id and secret form-urlencoded, then base64; RFC 6749 §2.3.1) or
/// client_secret_post, never both; a public client sends only its id.
fn client_auth(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<ClientAuth, TokenError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("basic")
                .then(|| rest.trim().to_string())
        });
    let Some(encoded) = basic else {
        return Ok(ClientAuth {
            client_id: form.get("client_id").cloned(),
            secret: form.get("client_secret").cloned(),
            basic: false,
        });
    };
    let invalid = TokenError::InvalidClient { basic: true };
    if form.contains_key("client_secret") {
        return Err(TokenError::InvalidRequest(
            "use one way of client authentication, not both",
        ));
    }
    let decoded = STANDARD
        .decode(encoded)
        .map_err(|_| TokenError::InvalidClient { basic: true })?;
    let text = String::from_utf8(decoded).map_err(|_| TokenError::InvalidClient { basic: true })?;
    let (id, secret) = text.split_once(':').ok_or(invalid)?;
    let (id, secret) = (percent_decode(id), percent_decode(secret));
    if form.get("client_id").is_some_and(|given| *given != id) {
        return Err(TokenError::InvalidRequest(
            "client_id differs from the authenticated client",
        ));
    }
    Ok(ClientAuth {
        client_id: Some(id),
        secret: Some(secret),
        basic: true,
    })
}

/// RFC 6749 §2.3.1 form-encodes id and secret before base64. Only %XX is decoded: many
/// clients skip the encoding, and a literal '+' in their secret must stay a '+'.
fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn error_response(error: &TokenError) -> Response {
    if error.is_internal() {
        tracing::error!(%error, "token endpoint failed");
    }
    let status = match error {
        // RFC 6749 §5.2: 401 with a challenge when the client tried HTTP authentication;
        // otherwise the usual 400.
        TokenError::InvalidClient { basic: true } => StatusCode::UNAUTHORIZED,
        e if e.is_internal() => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let description = if error.is_internal() {
        "the server could not answer; try again".to_string()
    } else {
        error.to_string()
    };
    let mut response = no_store_json(
        status,
        json!({ "error": error.code(), "error_description": description }),
    );
    if let TokenError::InvalidClient { basic: true } = error {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tweestap\""),
        );
    }
    response
}

async fn authenticated(
    app: &AppState,
    headers: &HeaderMap,
    body: &str,
) -> Result<(Client, HashMap<String, String>), TokenError> {
    let form = fields(body)?;
    let auth = client_auth(headers, &form)?;
    let client = app.oidc.authenticate(&auth).await?;
    Ok((client, form))
}

pub async fn post_token(State(app): State<AppState>, headers: HeaderMap, body: String) -> Response {
    match token(&app, &headers, &body).await {
        Ok(answer) => no_store_json(StatusCode::OK, answer),
        Err(e) => error_response(&e),
    }
}

async fn token(
    app: &AppState,
    headers: &HeaderMap,
    body: &str,
) -> Result<serde_json::Value, TokenError> {
    let (client, form) = authenticated(app, headers, body).await?;
    let get = |name: &str| form.get(name).map(String::as_str);
    let response = match get("grant_type") {
        Some("authorization_code") => {
            app.oidc
                .exchange_code(
                    &client,
                    get("code").unwrap_or(""),
                    get("redirect_uri"),
                    get("code_verifier"),
                )
                .await?
        }
        Some("refresh_token") => {
            app.oidc
                .refresh(&client, get("refresh_token").unwrap_or(""), get("scope"))
                .await?
        }
        None => return Err(TokenError::InvalidRequest("grant_type is missing")),
        Some(_) => return Err(TokenError::UnsupportedGrantType),
    };
    serde_json::to_value(response).map_err(|e| TokenError::Internal(e.to_string()))
}

/// RFC 7009: the answer is 200 whether or not the token existed.
pub async fn post_revoke(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let result = async {
        let (client, form) = authenticated(&app, &headers, &body).await?;
        let token = form
            .get("token")
            .filter(|t| !t.is_empty())
            .ok_or(TokenError::InvalidRequest("token is missing"))?;
        app.oidc.revoke(&client, token).await?;
        Ok::<_, TokenError>(())
    }
    .await;
    match result {
        Ok(()) => (
            StatusCode::OK,
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            ],
        )
            .into_response(),
        Err(e) => error_response(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn only_percent_escapes_are_decoded() {
        assert_eq!(percent_decode("a%2Bb%3Dc"), "a+b=c");
        assert_eq!(percent_decode("a+b/c="), "a+b/c=");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
