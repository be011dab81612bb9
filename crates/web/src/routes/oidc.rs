use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::error::WebError;

/// The public signing keys (JWKS): the current key and those rotated out but still within
/// their overlap, so tokens they signed keep verifying.
pub async fn get_jwks(State(app): State<AppState>) -> Result<Response, WebError> {
    let published = app.store.signing_keys_published(app.clock.now()).await?;
    let keys: Vec<serde_json::Value> = published
        .iter()
        .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
        .collect();
    Ok((
        [(header::CONTENT_TYPE, "application/jwk-set+json")],
        serde_json::json!({ "keys": keys }).to_string(),
    )
        .into_response())
}
