use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppState;

/// No inline scripts or styles, nothing from elsewhere, never inside a frame.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Origins a page's forms may end up at after redirects: browsers apply `form-action` to the
/// whole redirect chain, and a sign-in for an application ends at that application.
#[derive(Clone, Debug, Default)]
pub struct FormTargets(pub Vec<String>);

/// The CSP source for where a URL leads: its origin, or its scheme for a native app's
/// private-use scheme. `None` for relative URLs (they stay here).
pub fn form_target(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let source = match parsed.scheme() {
        "http" | "https" => parsed.origin().ascii_serialization(),
        scheme => format!("{scheme}:"),
    };
    // Never let a crafted URL add directives.
    (!source.contains([';', ',', ' ', '\'', '\n'])).then_some(source)
}

/// Appends an HttpOnly cookie for the whole site, `Secure` when tweestap is served over https.
/// `same_site` is the SameSite value, followed by any further attributes ("Lax; Max-Age=60").
pub fn append_cookie(
    app: &AppState,
    response: &mut Response,
    name: &str,
    value: &str,
    same_site: &str,
) {
    let secure = if app.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}{secure}");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Security headers on every response; `no-store` on everything but static assets, because
/// every page is about someone's sign-in.
pub async fn headers(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let is_static = request.uri().path().starts_with("/static/");
    let mut response = next.run(request).await;
    let csp = match response.extensions_mut().remove::<FormTargets>() {
        Some(FormTargets(targets)) if !targets.is_empty() => HeaderValue::from_str(&CSP.replace(
            "form-action 'self'",
            &format!("form-action 'self' {}", targets.join(" ")),
        ))
        .unwrap_or(HeaderValue::from_static(CSP)),
        _ => HeaderValue::from_static(CSP),
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if app.config.secure_cookies() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    if !is_static {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
