use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;

const CSS: &str = include_str!("../../static/app.css");
const JS: &str = include_str!("../../static/app.js");

pub async fn get_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

pub async fn get_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        JS,
    )
}

/// The tweestap app's web-app manifest (what makes it installable).
pub async fn get_manifest(State(app): State<AppState>) -> Response {
    let manifest = serde_json::json!({
        "name": format!("tweestap · {}", app.config.organisation),
        "short_name": "tweestap",
        "start_url": super::phone_app::APP_HOME,
        "scope": super::phone_app::APP_HOME,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1f4e79",
        "icons": [{ "src": "/app/icon.svg", "sizes": "any", "type": "image/svg+xml" }],
    });
    (
        [(header::CONTENT_TYPE, "application/manifest+json")],
        manifest.to_string(),
    )
        .into_response()
}

const SERVICE_WORKER: &str = include_str!("../../static/sw.js");
const ICON: &str = include_str!("../../static/icon.svg");

pub async fn get_service_worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SERVICE_WORKER,
    )
        .into_response()
}

pub async fn get_icon() -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml")], ICON).into_response()
}
