use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use crate::app::AppState;
use crate::i18n::Lang;

/// What every handler needs to know about the request it is answering.
pub struct Ctx {
    pub lang: Lang,
    pub ip: String,
    /// Path and query of this request, for the language switch to come back to.
    pub path: String,
    pub cookies: HashMap<String, String>,
    /// A GET (a page that can be linked to, e.g. by the language switch).
    pub is_get: bool,
    pub user_agent: Option<String>,
    /// Served over https: cookies are `Secure` and prefixed.
    pub secure: bool,
    /// The request came through a proxy (it carries forwarding headers): whatever its peer
    /// address, it is not a local request.
    pub proxied: bool,
}

/// Headers that say a proxy forwarded the request.
const FORWARDING_HEADERS: [&str; 4] = [
    "x-forwarded-for",
    "forwarded",
    "x-real-ip",
    "x-forwarded-host",
];

pub const LANG_COOKIE: &str = "tweestap_lang";

impl FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let cookies = parse_cookies(parts);
        let accept = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let lang = Lang::negotiate(
            cookies.get(LANG_COOKIE).map(String::as_str),
            accept,
            app.config.default_language,
        );
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let proxied = FORWARDING_HEADERS
            .iter()
            .any(|h| parts.headers.contains_key(*h));
        let ip = match peer {
            Some(peer) => {
                if proxied && !app.config.trusted_proxies.contains(&peer) {
                    warn_untrusted_proxy(app, peer);
                }
                client_ip(peer, parts, &app.config.trusted_proxies).to_string()
            }
            None => "unknown".to_string(),
        };
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".to_string());
        Ok(Ctx {
            lang,
            ip,
            path,
            cookies,
            is_get: parts.method == axum::http::Method::GET,
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            secure: app.config.secure_cookies(),
            proxied,
        })
    }
}

/// A proxy that is not in `trusted_proxies` makes every client look like the proxy: one
/// shared password limit, one SMS budget, one address in every audit line. Said loudly, at
/// most once an hour (so a stranger's header cannot use the warning up).
fn warn_untrusted_proxy(app: &AppState, peer: IpAddr) {
    use std::sync::atomic::Ordering;
    let now = app.clock.now().0;
    let last = app.warned_untrusted_proxy.load(Ordering::Relaxed);
    if now.saturating_sub(last) < 3600
        || app
            .warned_untrusted_proxy
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    tracing::warn!(
        %peer,
        "requests from {peer} carry forwarding headers (X-Forwarded-For …), but {peer} is not in \
         trusted_proxies: every client behind it counts as {peer}, so they share one password \
         limit and one SMS budget, and the audit trail cannot tell them apart. If {peer} is \
         your reverse proxy, add it to trusted_proxies (TWEESTAP_TRUSTED_PROXIES); if not, \
         someone is sending these headers themselves and they are ignored"
    );
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the right-most
/// address in `X-Forwarded-For` that is not itself a trusted proxy. Left-most entries are
/// whatever the client claimed and are never believed.
fn client_ip(peer: IpAddr, parts: &Parts, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let entries: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    // From the right: skip our own proxies; the first other address is the client. An entry
    // that is not an address ends the walk (what lies left of it is unverifiable).
    let mut client = peer;
    for entry in entries.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => client = ip,
            Ok(ip) => return ip,
            Err(_) => break,
        }
    }
    client
}

pub fn parse_cookies(parts: &Parts) -> HashMap<String, String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}
