use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use tweestap_core::oidc::OidcService;
use tweestap_core::policy::Policy;
use tweestap_core::ports::{Clock, Entropy, Store};
use tweestap_core::signin::SignInService;

use crate::i18n::Lang;
use crate::templates::Templates;

/// What the web layer needs to know about the deployment.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The address users reach tweestap at; its scheme decides whether cookies are `Secure`
    /// and its host goes into the WebOTP line of text messages.
    pub public_url: url::Url,
    /// The organisation's name as shown on every page ("mboRijnland").
    pub organisation: String,
    pub default_language: Lang,
    /// The organisation's help page, linked from "sign in another way".
    pub help_url: Option<String>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Besides loopback, who may read /metrics.
    pub metrics_allow: Vec<std::net::IpAddr>,
    /// A request from loopback comes from this machine. `false` behind a reverse proxy on
    /// this machine that is not in `trusted_proxies` (it cannot be told apart).
    pub loopback_is_local: bool,
    /// Set in demo mode only: the outbox file whose messages the demo phone page shows.
    pub demo_outbox: Option<PathBuf>,
    /// Reverse proxies ask tweestap whether a request may pass (nginx `auth_request`, Traefik
    /// `forwardAuth`, Caddy `forward_auth`).
    pub forward_auth: Option<ForwardAuthConfig>,
    /// A location database for "approximate place" on the security-info page.
    pub geoip: Option<std::sync::Arc<crate::geo::GeoIp>>,
    /// Passkeys and the tweestap app; `None` when the public URL has no host name (WebAuthn
    /// refuses IP addresses).
    pub webauthn: Option<Arc<tweestap_webauthn::WebAuthn>>,
    /// Web Push to the tweestap app on phones.
    pub push: Option<Arc<PushNotifier>>,
    /// Notified by the SMS worker each time it recorded a message's outcome.
    pub sms_progress: Option<Arc<tokio::sync::Notify>>,
}

/// Sends the "approve this sign-in?" notification.
pub struct PushNotifier {
    pub sender: tweestap_push::PushSender,
    /// The VAPID public key (uncompressed point, base64url) the app subscribes with.
    pub public_key: String,
}

impl std::fmt::Debug for PushNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PushNotifier")
    }
}

#[derive(Debug, Clone, Default)]
pub struct ForwardAuthConfig {
    /// Hosts (and their subdomains) a sign-in may return to.
    pub domains: Vec<String>,
    /// The session cookie is set for this parent domain, so the protected sites' proxies see
    /// it too. `None`: host-only (the proxy and tweestap share a host name).
    pub cookie_domain: Option<String>,
    /// A sign-in that skipped the second factor on a remembered device passes too.
    pub accept_remembered_devices: bool,
}

impl WebConfig {
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// The OpenID Connect issuer: the public URL without a trailing slash.
    pub fn issuer(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_string()
    }

    pub fn host(&self) -> String {
        self.public_url
            .host_str()
            .unwrap_or("localhost")
            .to_string()
    }
}

pub struct Inner {
    pub signin: SignInService,
    pub oidc: OidcService,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub policy: Arc<Policy>,
    pub metrics: Arc<tweestap_core::metrics::Metrics>,
    pub config: WebConfig,
    pub templates: Templates,
    /// Entra's external MFA method, when tenants are configured.
    pub eam: Option<Arc<tweestap_core::eam::EamService>>,
    /// The discovery documents, made once (they depend on the configuration only).
    pub discovery: std::sync::OnceLock<String>,
    pub entra_discovery: std::sync::OnceLock<String>,
    /// When the warning about forwarding headers from an untrusted peer was last logged
    /// (Unix seconds): at most once an hour, so one stranger's header cannot use it up.
    pub warned_untrusted_proxy: std::sync::atomic::AtomicI64,
}

/// Shared by every request; cheap to clone.
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

impl AppState {
    pub fn new(
        signin: SignInService,
        oidc: OidcService,
        config: WebConfig,
        metrics: Arc<tweestap_core::metrics::Metrics>,
        eam: Option<tweestap_core::eam::EamService>,
    ) -> AppState {
        AppState(Arc::new(Inner {
            oidc,
            store: signin.store.clone(),
            clock: signin.clock.clone(),
            entropy: signin.entropy.clone(),
            policy: signin.policy.clone(),
            metrics,
            signin,
            config,
            templates: Templates::new(),
            eam: eam.map(Arc::new),
            discovery: std::sync::OnceLock::new(),
            entra_discovery: std::sync::OnceLock::new(),
            warned_untrusted_proxy: std::sync::atomic::AtomicI64::new(i64::MIN),
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    crate::routes::router(state)
}
