use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// One log line per request: method, path (never the query, which may carry return URLs),
/// status and time taken. Form bodies — passwords and codes — are never logged.
pub async fn log_requests(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    // A report link's token lets anyone block an account's codes: never log it.
    let path = match request.uri().path() {
        p if p.starts_with("/r/") => "/r/…".to_string(),
        p => p.to_string(),
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(%method, %path, status, ms, "request");
    } else {
        tracing::info!(%method, %path, status, ms, "request");
    }
    response
}
