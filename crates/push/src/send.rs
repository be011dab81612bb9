use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tweestap_oidc::SigningKey;

use crate::encrypt::{EncryptError, encrypt};

/// A browser's push subscription (what `PushManager.subscribe()` returns).
#[derive(Debug, Clone)]
pub struct Subscription {
    pub endpoint: String,
    /// The browser's P-256 public key, base64url (`keys.p256dh`).
    pub p256dh: String,
    /// The 16-byte authentication secret, base64url (`keys.auth`).
    pub auth: String,
}

#[derive(Debug, Clone, Copy)]
pub enum Urgency {
    High,
    Normal,
}

#[derive(Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// Accepted by the push service (201).
    Delivered,
    /// The subscription is gone (404/410): forget it.
    Gone,
    /// Slow down (429); seconds from Retry-After when given.
    RetryAfter(Option<u64>),
    /// Anything else, with the status: not retried.
    Rejected(u16),
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("push endpoint refused: {0}")]
    BadEndpoint(&'static str),
    #[error("subscription keys: {0}")]
    BadKeys(&'static str),
    #[error(transparent)]
    Encrypt(#[from] EncryptError),
    #[error("VAPID: {0}")]
    Vapid(String),
    /// The push service could not be reached (connection, timeout).
    #[error("push service unreachable")]
    Unreachable,
}

/// The VAPID `Authorization` header for an endpoint (RFC 8292): a JWT for the endpoint's
/// origin, port included, and the public key.
pub fn vapid_header(
    key: &SigningKey,
    endpoint: &url::Url,
    subject: &str,
    now: i64,
) -> Result<String, PushError> {
    let claims = serde_json::json!({
        "aud": endpoint.origin().ascii_serialization(),
        "exp": now + 12 * 3600,
        "sub": subject,
    });
    let token = key
        .sign(&claims)
        .map_err(|e| PushError::Vapid(e.to_string()))?;
    let public = key
        .public_point()
        .ok_or_else(|| PushError::Vapid("the VAPID key is not a P-256 key".into()))?;
    Ok(format!(
        "vapid t={token}, k={}",
        URL_SAFE_NO_PAD.encode(public)
    ))
}

pub struct PushSender {
    client: reqwest::Client,
    vapid: SigningKey,
    /// `mailto:` or `https:` contact for the push service's operators.
    subject: String,
    /// Tests only: accept a stand-in push service on a loopback `http://` address.
    allow_loopback: bool,
    allowed_hosts: Vec<String>,
}

/// The push services of the browsers people use: Chrome, Edge and Android (FCM), Firefox
/// (Mozilla autopush), Safari (Apple), and Windows (WNS).
pub const DEFAULT_PUSH_SERVICES: [&str; 5] = [
    "fcm.googleapis.com",
    "push.services.mozilla.com",
    "push.apple.com",
    "notify.windows.com",
    "android.googleapis.com",
];

impl PushSender {
    pub fn new(vapid: SigningKey, subject: String, allow_loopback: bool) -> PushSender {
        PushSender {
            // Endpoints come from browsers: never follow a redirect elsewhere.
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .expect("an HTTP client"),
            vapid,
            subject,
            allow_loopback,
            allowed_hosts: DEFAULT_PUSH_SERVICES.map(String::from).to_vec(),
        }
    }

    /// The push services endpoints may point at (host names; subdomains included), in place
    /// of [`DEFAULT_PUSH_SERVICES`]; an empty list keeps the defaults.
    pub fn with_allowed_hosts(mut self, hosts: Vec<String>) -> PushSender {
        if !hosts.is_empty() {
            self.allowed_hosts = hosts;
        }
        self
    }

    /// Checks an endpoint a browser gave us. Only the browser vendors' push services, over
    /// https on the standard port, by name: a subscription must not make tweestap call into
    /// its own network (a literal or DNS-resolved private address, an intranet host, another
    /// port). Loopback `http://` only for tests that stand in for a push service.
    pub fn check_endpoint(&self, endpoint: &str) -> Result<url::Url, PushError> {
        if endpoint.len() > 1000 {
            return Err(PushError::BadEndpoint("longer than 1000 characters"));
        }
        let url = url::Url::parse(endpoint).map_err(|_| PushError::BadEndpoint("not a URL"))?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => return Err(PushError::BadEndpoint("no host")),
        };
        if loopback && self.allow_loopback {
            return Ok(url);
        }
        if url.scheme() != "https" {
            return Err(PushError::BadEndpoint("not https"));
        }
        if url.port().is_some_and(|p| p != 443) {
            return Err(PushError::BadEndpoint("not the https port"));
        }
        let Some(url::Host::Domain(host)) = url.host() else {
            return Err(PushError::BadEndpoint("an IP address"));
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let known = self.allowed_hosts.iter().any(|allowed| {
            let allowed = allowed.trim_matches('.').to_ascii_lowercase();
            host == allowed || host.ends_with(&format!(".{allowed}"))
        });
        if !known {
            return Err(PushError::BadEndpoint("not a known push service"));
        }
        Ok(url)
    }

    /// Sends one encrypted message. `topic` lets a newer message replace a pending one.
    pub async fn send(
        &self,
        subscription: &Subscription,
        payload: &[u8],
        ttl_secs: u32,
        urgency: Urgency,
        topic: Option<&str>,
        now: i64,
    ) -> Result<PushOutcome, PushError> {
        let endpoint = self.check_endpoint(&subscription.endpoint)?;
        let decode = |s: &str, what| {
            URL_SAFE_NO_PAD
                .decode(s.trim_end_matches('='))
                .map_err(|_| PushError::BadKeys(what))
        };
        let ua_public = decode(&subscription.p256dh, "p256dh is not base64url")?;
        let auth = decode(&subscription.auth, "auth is not base64url")?;
        let body = encrypt(&ua_public, &auth, payload)?;
        let mut request = self
            .client
            .post(endpoint.clone())
            .header("TTL", ttl_secs.to_string())
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header(
                "Authorization",
                vapid_header(&self.vapid, &endpoint, &self.subject, now)?,
            )
            .header(
                "Urgency",
                match urgency {
                    Urgency::High => "high",
                    Urgency::Normal => "normal",
                },
            )
            .body(body);
        if let Some(topic) = topic.filter(|t| t.len() <= 32) {
            request = request.header("Topic", topic);
        }
        let response = request.send().await.map_err(|_| PushError::Unreachable)?;
        Ok(match response.status().as_u16() {
            200..=299 => PushOutcome::Delivered,
            404 | 410 => PushOutcome::Gone,
            429 => PushOutcome::RetryAfter(
                response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok()),
            ),
            other => PushOutcome::Rejected(other),
        })
    }
}
