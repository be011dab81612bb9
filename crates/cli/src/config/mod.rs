//! Configuration: defaults, then the TOML file, then `TWEESTAP_…` environment variables
//! (nested keys with `__`, e.g. `TWEESTAP_POLICY__MFA=optional`). Every key and its default is
//! documented in `tweestap.example.toml`. Invalid configuration is refused with the key named.

mod email;
mod entra;
mod oidc;
mod sms;

pub use email::{EmailConfig, EmailSecurity};
pub use entra::{EntraConfig, EntraTenant};
pub use oidc::{DeclaredClient, ForwardAuthConfig, OidcConfig, PushConfig};
pub use sms::{GatewayConfig, HeaderValues, HttpGatewayConfig, Redacted, SecretSource, SmsConfig};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use tweestap_core::policy::Policy;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address and port the HTTP server listens on.
    pub listen: String,
    /// The address users reach tweestap at (behind a proxy: the proxy's https address).
    pub public_url: String,
    /// Where the database, the secret key and (by default) the outbox live.
    pub data_dir: PathBuf,
    /// The SQLite database file; default `<data_dir>/tweestap.db`.
    pub database_path: Option<PathBuf>,
    /// Or a PostgreSQL database (`postgres://user:password@host/database`), shared by several
    /// tweestap nodes.
    pub database_url: Option<Redacted>,
    /// Key for hashing one-time codes; default `<data_dir>/secret.key`, created on first start.
    /// Several nodes must share the same file.
    pub secret_key_file: Option<PathBuf>,
    /// Or: the name of an environment variable that holds the key (64 hex characters).
    pub secret_key_env: Option<String>,
    pub organisation: String,
    pub default_language: String,
    pub help_url: Option<String>,
    /// Reverse proxies in front of tweestap (IP addresses). Only from these is the client
    /// address taken from `X-Forwarded-For`; from anyone else that header is ignored.
    pub trusted_proxies: Vec<String>,
    /// Who may read /metrics (IP addresses); loopback always may. Everyone else gets 404.
    pub metrics_allow: Vec<String>,
    /// A MaxMind-format location database (GeoLite2 or DB-IP City/Country, .mmdb): recent
    /// sign-ins then show an approximate place beside the address.
    pub geoip_database: Option<PathBuf>,
    #[serde(skip_serializing)]
    pub policy: PolicySection,
    pub sms: SmsConfig,
    pub forward_auth: ForwardAuthConfig,
    pub oidc: OidcConfig,
    pub push: PushConfig,
    pub email: EmailConfig,
    pub entra: EntraConfig,
}

/// `Policy` lives in the core and is only deserialised; wrapping it keeps `Config` serialisable
/// for the defaults layer without teaching the core to serialise.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct PolicySection(pub Policy);

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            public_url: "http://localhost:8080".into(),
            data_dir: PathBuf::from("data"),
            database_path: None,
            database_url: None,
            secret_key_file: None,
            secret_key_env: None,
            organisation: "tweestap".into(),
            default_language: "nl".into(),
            help_url: None,
            trusted_proxies: Vec::new(),
            metrics_allow: Vec::new(),
            geoip_database: None,
            policy: PolicySection::default(),
            sms: SmsConfig::default(),
            forward_auth: ForwardAuthConfig::default(),
            oidc: OidcConfig::default(),
            push: PushConfig::default(),
            email: EmailConfig::default(),
            entra: EntraConfig::default(),
        }
    }
}

/// The keys at the top of the file; `TWEESTAP_<KEY>` variables for anything else are ignored.
const TOP_LEVEL_KEYS: [&str; 20] = [
    "entra",
    "listen",
    "geoip_database",
    "secret_key_env",
    "public_url",
    "data_dir",
    "database_path",
    "database_url",
    "secret_key_file",
    "organisation",
    "default_language",
    "help_url",
    "trusted_proxies",
    "metrics_allow",
    "policy",
    "sms",
    "forward_auth",
    "oidc",
    "push",
    "email",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    Missing(PathBuf),
    #[error("configuration: {0}")]
    Parse(String),
    #[error("configuration key `{key}`: {problem}")]
    Invalid { key: &'static str, problem: String },
}

fn ip_list(key: &'static str, list: &[String]) -> Result<Vec<std::net::IpAddr>, ConfigError> {
    list.iter()
        .map(|p| {
            p.parse().map_err(|_| {
                invalid(
                    key,
                    format!("{p:?} is not an IP address, e.g. \"127.0.0.1\""),
                )
            })
        })
        .collect()
}

pub(crate) fn invalid(key: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        problem: problem.into(),
    }
}

impl Config {
    /// The host of the public URL ("localhost" when it cannot be read).
    pub fn public_url_host(&self) -> String {
        url::Url::parse(&self.public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "localhost".into())
    }

    /// Reads the configuration: the file (when given) and the environment over the defaults.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let config = Config::read(file)?;
        config.validate()?;
        Ok(config)
    }

    /// Like [`Config::load`], without the final checks (the demo overrides what they cover).
    pub fn read(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Missing(path.to_path_buf()));
            }
            figment = figment.merge(Toml::file(path));
        }
        // Environment variables for keys tweestap does not know are ignored (with a warning),
        // not fatal: the environment is shared with other programs and scripts.
        for (name, _) in std::env::vars() {
            if let Some(key) = name.strip_prefix("TWEESTAP_") {
                let top = key.split("__").next().unwrap_or("").to_ascii_lowercase();
                if top != "config" && !TOP_LEVEL_KEYS.contains(&top.as_str()) {
                    tracing::warn!(variable = %name, "ignoring an environment variable that names no configuration key");
                }
            }
        }
        figment = figment.merge(
            Env::prefixed("TWEESTAP_")
                .filter(|k| {
                    let top = k
                        .as_str()
                        .split("__")
                        .next()
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    TOP_LEVEL_KEYS.contains(&top.as_str())
                })
                .split("__"),
        );
        let config: Config = figment.extract().map_err(|e| {
            // figment's message names the key path; say which file it was in too.
            let messages: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
            ConfigError::Parse(messages.join("; "))
        })?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        self.database()?;
        let url = url::Url::parse(&self.public_url).map_err(|e| {
            invalid(
                "public_url",
                format!("{e} (expected e.g. https://login.school.nl)"),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(invalid(
                "public_url",
                "must be an http:// or https:// address with a host",
            ));
        }
        if self.organisation.trim().is_empty() {
            return Err(invalid(
                "organisation",
                "must not be empty; it is shown on every page",
            ));
        }
        if !matches!(self.default_language.as_str(), "nl" | "en") {
            return Err(invalid(
                "default_language",
                format!(
                    "{:?} is not supported; use \"nl\" or \"en\"",
                    self.default_language
                ),
            ));
        }
        self.email.settings(&self.public_url_host())?;
        self.entra.settings(&self.public_url)?;
        if let Some(help) = &self.help_url {
            url::Url::parse(help).map_err(|e| invalid("help_url", e.to_string()))?;
        }
        self.trusted_proxy_addrs()?;
        self.metrics_allow_addrs()?;
        for client in &self.oidc.clients {
            client.input()?;
        }
        if let Some(domain) = &self.forward_auth.cookie_domain {
            let host = url.host_str().unwrap_or("");
            let d = domain.trim_start_matches('.');
            if host != d && !host.ends_with(&format!(".{d}")) {
                return Err(invalid(
                    "forward_auth.cookie_domain",
                    format!("{domain:?} is not a parent domain of public_url's host {host:?}"),
                ));
            }
        }
        let policy = &self.policy.0;
        if policy.allowed_countries.is_empty() {
            return Err(invalid(
                "policy.allowed_countries",
                "must name at least one country, e.g. [\"NL\"]",
            ));
        }
        for code in &policy.allowed_countries {
            if tweestap_core::country(code).is_none() {
                return Err(invalid(
                    "policy.allowed_countries",
                    format!("{code:?} is not an ISO 3166-1 country code with phone numbers"),
                ));
            }
        }
        if !policy
            .allowed_countries
            .iter()
            .any(|c| c.eq_ignore_ascii_case(&policy.default_country))
        {
            return Err(invalid(
                "policy.default_country",
                format!(
                    "{:?} is not in policy.allowed_countries",
                    policy.default_country
                ),
            ));
        }
        let code = &policy.code;
        for (key, value) in [
            ("policy.code.ttl_secs", code.ttl_secs),
            ("policy.code.failure_window_secs", code.failure_window_secs),
            ("policy.throttle.window_secs", policy.throttle.window_secs),
            (
                "policy.throttle.password_delay_secs",
                policy.throttle.password_delay_secs,
            ),
            (
                "policy.throttle.password_max_delay_secs",
                policy.throttle.password_max_delay_secs,
            ),
            (
                "policy.throttle.password_window_secs",
                policy.throttle.password_window_secs,
            ),
            (
                "policy.session.idle_timeout_secs",
                policy.session.idle_timeout_secs,
            ),
            (
                "policy.session.absolute_timeout_secs",
                policy.session.absolute_timeout_secs,
            ),
            ("policy.oidc.code_ttl_secs", policy.oidc.code_ttl_secs),
            (
                "policy.oidc.access_token_ttl_secs",
                policy.oidc.access_token_ttl_secs,
            ),
            (
                "policy.oidc.id_token_ttl_secs",
                policy.oidc.id_token_ttl_secs,
            ),
            (
                "policy.oidc.refresh_token_ttl_secs",
                policy.oidc.refresh_token_ttl_secs,
            ),
        ] {
            if value <= 0 {
                return Err(invalid(key, "must be more than 0"));
            }
        }
        if code.ttl_secs > 3600 {
            return Err(invalid(
                "policy.code.ttl_secs",
                "must be at most 3600 (NIST allows 10 minutes; we allow up to an hour)",
            ));
        }
        if code.resend_cooldown_secs < 0 {
            return Err(invalid(
                "policy.code.resend_cooldown_secs",
                "must not be negative",
            ));
        }
        for (key, value) in [
            (
                "policy.code.max_attempts_per_code",
                code.max_attempts_per_code,
            ),
            (
                "policy.code.max_failures_per_account",
                code.max_failures_per_account,
            ),
            (
                "policy.code.max_sends_per_account_per_hour",
                code.max_sends_per_account_per_hour,
            ),
            (
                "policy.code.max_sends_per_number_per_hour",
                code.max_sends_per_number_per_hour,
            ),
            ("policy.code.max_codes_per_hour", code.max_codes_per_hour),
            (
                "policy.throttle.password_failures_per_username",
                policy.throttle.password_failures_per_username,
            ),
            (
                "policy.throttle.password_failures_per_ip",
                policy.throttle.password_failures_per_ip,
            ),
            (
                "policy.throttle.known_device_days",
                policy.throttle.known_device_days,
            ),
            (
                "policy.throttle.password_failures_per_username_total",
                policy.throttle.password_failures_per_username_total,
            ),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be at least 1"));
            }
        }
        tweestap_core::password::argon2(&policy.password)
            .map_err(|e| invalid("policy.password", e.to_string()))?;
        if policy.password.argon2_memory_kib < 8 * 1024 {
            return Err(invalid(
                "policy.password.argon2_memory_kib",
                "must be at least 8192 (OWASP's minimum is 19456)",
            ));
        }
        for gateway in &self.sms.gateways {
            if let GatewayConfig::Kannel {
                url,
                password,
                password_file,
                password_env,
                ..
            } = gateway
            {
                let parsed = url::Url::parse(url)
                    .map_err(|e| invalid("sms.gateways.url", format!("{url:?}: {e}")))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(invalid(
                        "sms.gateways.url",
                        "must be an http:// or https:// address",
                    ));
                }
                let source = SecretSource {
                    password: password.as_ref(),
                    password_file: password_file.as_ref(),
                    password_env: password_env.as_ref(),
                };
                source.resolve("sms.gateways.password")?;
            }
        }
        for gateway in &self.sms.gateways {
            if let GatewayConfig::Http(http) = gateway {
                let template = http.template()?;
                url::Url::parse(&template.url.replace("{account}", "x"))
                    .map_err(|e| invalid("sms.gateways.url", format!("{:?}: {e}", template.url)))?;
                http.secret()?;
            }
        }
        if self.sms.gateways.is_empty() {
            return Err(invalid(
                "sms.gateways",
                "no SMS gateway is configured; add at least one [[sms.gateways]] (kind = \"outbox\" for testing)",
            ));
        }
        Ok(())
    }

    /// Listening on loopback while people reach tweestap at a public name, with no
    /// `trusted_proxies`: a reverse proxy is in front that tweestap cannot tell apart from
    /// this machine.
    pub fn behind_unconfigured_proxy(&self, listening: SocketAddr) -> bool {
        let public_host = url::Url::parse(&self.public_url)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
            })
            .unwrap_or_default();
        let public_is_local = public_host == "localhost"
            || public_host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        listening.ip().is_loopback() && !public_is_local && self.trusted_proxies.is_empty()
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|_| {
            invalid(
                "listen",
                format!(
                    "{:?} is not an address and port, e.g. 127.0.0.1:8080",
                    self.listen
                ),
            )
        })
    }

    pub fn trusted_proxy_addrs(&self) -> Result<Vec<std::net::IpAddr>, ConfigError> {
        ip_list("trusted_proxies", &self.trusted_proxies)
    }

    pub fn metrics_allow_addrs(&self) -> Result<Vec<std::net::IpAddr>, ConfigError> {
        ip_list("metrics_allow", &self.metrics_allow)
    }

    /// The database the configuration chose: PostgreSQL when `database_url` names one, else
    /// the SQLite file.
    pub fn database(&self) -> Result<tweestap_store::Database, ConfigError> {
        let Some(Redacted(url)) = &self.database_url else {
            return Ok(tweestap_store::Database::Sqlite(self.database_path()));
        };
        if self.database_path.is_some() {
            return Err(invalid(
                "database_url",
                "set either database_url (PostgreSQL) or database_path (SQLite), not both",
            ));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Ok(tweestap_store::Database::Sqlite(PathBuf::from(path)));
        }
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(invalid(
                "database_url",
                "must start with postgres:// (e.g. postgres://tweestap:secret@db.school.nl/tweestap), \
                 or sqlite:// followed by a file path",
            ));
        }
        let parsed = url::Url::parse(url).map_err(|e| {
            invalid(
                "database_url",
                format!("{e} (expected postgres://user:password@host/database)"),
            )
        })?;
        let host = parsed.host_str().unwrap_or("");
        let local = host.is_empty()
            || host == "localhost"
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        let sslmode = parsed
            .query_pairs()
            .find(|(key, _)| key == "sslmode")
            .map(|(_, value)| value.into_owned());
        // Password hashes, phone numbers and tokens cross that connection: across a network
        // it is encrypted and the server checked, unless the operator writes otherwise.
        if !local
            && !matches!(
                sslmode.as_deref(),
                Some("verify-full" | "verify-ca" | "disable")
            )
        {
            return Err(invalid(
                "database_url",
                format!(
                    "the database at {host} is reached over the network: add \
                     ?sslmode=verify-full (with &sslrootcert=/path/to/ca.pem for your own \
                     certificate authority) so the connection is encrypted and the server \
                     checked; only sslmode=disable, written out, sends it unencrypted"
                ),
            ));
        }
        Ok(tweestap_store::Database::Postgres(url.clone()))
    }

    pub fn database_path(&self) -> PathBuf {
        self.database_path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("tweestap.db"))
    }

    pub fn secret_key_path(&self) -> PathBuf {
        self.secret_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("secret.key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("t.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    const GATEWAY: &str = "[[sms.gateways]]\nkind = \"outbox\"\npath = \"o.jsonl\"\n";

    #[test]
    fn the_example_file_is_valid_and_matches_the_defaults() {
        let example = include_str!("../../../../tweestap.example.toml");
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load(Some(&write(dir.path(), example))).unwrap();
        let defaults = Config::default();
        assert_eq!(config.listen, defaults.listen);
        assert_eq!(config.organisation, defaults.organisation);
        assert_eq!(config.policy.0.code.ttl_secs, 600);
        assert_eq!(config.policy.0.password.argon2_memory_kib, 19_456);
        assert_eq!(config.policy.0.oidc.code_ttl_secs, 60);
        let throttle = &config.policy.0.throttle;
        let throttle_defaults = tweestap_core::policy::ThrottlePolicy::default();
        assert_eq!(
            (
                throttle.password_failures_per_username,
                throttle.password_failures_per_username_total,
                throttle.password_delay_secs,
                throttle.password_max_delay_secs,
                throttle.password_window_secs,
                throttle.known_device_days,
                throttle.password_failures_per_ip,
                throttle.window_secs
            ),
            (
                throttle_defaults.password_failures_per_username,
                throttle_defaults.password_failures_per_username_total,
                throttle_defaults.password_delay_secs,
                throttle_defaults.password_max_delay_secs,
                throttle_defaults.password_window_secs,
                throttle_defaults.known_device_days,
                throttle_defaults.password_failures_per_ip,
                throttle_defaults.window_secs
            )
        );
        assert!(config.forward_auth.domains.is_empty());
        let push = &config.policy.0.push;
        let push_defaults = tweestap_core::approval::ApprovalPolicy::default();
        assert_eq!(
            (
                push.ttl_secs,
                push.max_per_hour,
                push.pause_after_denials,
                push.pause_secs,
                push.report_block_secs
            ),
            (
                push_defaults.ttl_secs,
                push_defaults.max_per_hour,
                push_defaults.pause_after_denials,
                push_defaults.pause_secs,
                push_defaults.report_block_secs
            )
        );
        assert!(!config.push.allow_loopback_endpoints);
    }

    #[test]
    fn http_gateways_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let ok = "[[sms.gateways]]\nkind = \"http\"\npreset = \"vonage\"\naccount = \"k\"\nsecret = \"s\"\n";
        let config = Config::load(Some(&write(dir.path(), ok))).unwrap();
        assert!(
            format!("{config:?}").contains("***") && !format!("{config:?}").contains("\"s\""),
            "secrets are redacted"
        );
        let no_secret = "[[sms.gateways]]\nkind = \"http\"\npreset = \"spryng\"\n";
        let err = Config::load(Some(&write(dir.path(), no_secret))).unwrap_err();
        assert!(err.to_string().contains("sms.gateways.secret"), "{err}");
        let no_text = "[[sms.gateways]]\nkind = \"http\"\nurl = \"https://x.example/sms\"\nbody = '{\"to\":\"{to}\"}'\nsecret = \"s\"\n";
        let err = Config::load(Some(&write(dir.path(), no_text))).unwrap_err();
        assert!(err.to_string().contains("{text}"), "{err}");
        let bad_preset = "[[sms.gateways]]\nkind = \"http\"\npreset = \"acme\"\nsecret = \"s\"\n";
        assert!(Config::load(Some(&write(dir.path(), bad_preset))).is_err());
    }

    #[test]
    fn unknown_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = Config::load(Some(&write(
            dir.path(),
            &format!("listn = \"x\"\n{GATEWAY}"),
        )))
        .unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
    }

    #[test]
    fn bad_values_are_named_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        for (toml, key) in [
            ("listen = \"localhost\"", "listen"),
            ("public_url = \"login.school.nl\"", "public_url"),
            ("default_language = \"de\"", "default_language"),
            (
                "[policy]\nallowed_countries = [\"XX\"]",
                "policy.allowed_countries",
            ),
            (
                "[policy]\ndefault_country = \"BE\"",
                "policy.default_country",
            ),
            ("[policy.code]\nttl_secs = 0", "policy.code.ttl_secs"),
            ("trusted_proxies = [\"proxy.local\"]", "trusted_proxies"),
        ] {
            let err =
                Config::load(Some(&write(dir.path(), &format!("{toml}\n{GATEWAY}")))).unwrap_err();
            assert!(err.to_string().contains(key), "{toml}: {err}");
        }
        let err = Config::load(Some(&write(dir.path(), ""))).unwrap_err();
        assert!(err.to_string().contains("sms.gateways"), "{err}");
        let err =
            Config::load(Some(&write(dir.path(), "[policy]\nmfa = \"sometimes\"\n"))).unwrap_err();
        assert!(err.to_string().contains("sometimes"), "{err}");
    }

    #[test]
    fn the_database_is_sqlite_unless_a_postgres_url_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let load =
            |toml: &str| Config::load(Some(&write(dir.path(), &format!("{toml}\n{GATEWAY}"))));
        let default = load("data_dir = \"/srv/t\"").unwrap();
        assert_eq!(
            default.database().unwrap(),
            tweestap_store::Database::Sqlite("/srv/t/tweestap.db".into())
        );
        let url = "postgres://t:geheim@db.school.nl/tweestap?sslmode=verify-full";
        let pg = load(&format!("database_url = \"{url}\"")).unwrap();
        assert_eq!(
            pg.database().unwrap(),
            tweestap_store::Database::Postgres(url.into())
        );
        assert_eq!(
            pg.database().unwrap().to_string(),
            "postgres://t@db.school.nl:5432/tweestap",
            "shown without the password"
        );
        assert!(
            !format!("{pg:?}").contains("geheim"),
            "nor in the debug output"
        );
        let local = load("database_url = \"postgres://postgres@127.0.0.1/tweestap\"").unwrap();
        assert!(local.database().is_ok(), "loopback needs no TLS");
        let file = load("database_url = \"sqlite:///srv/t/other.db\"").unwrap();
        assert_eq!(
            file.database().unwrap(),
            tweestap_store::Database::Sqlite("/srv/t/other.db".into())
        );
        for toml in [
            "database_url = \"mysql://db/t\"",
            "database_url = \"postgres://t@db.school.nl/tweestap\"",
            "database_url = \"postgres://t@db.school.nl/tweestap?sslmode=require\"",
            "database_url = \"postgres://db/t\"\ndatabase_path = \"/srv/t.db\"",
        ] {
            let err = load(toml).unwrap_err();
            assert!(err.to_string().contains("database_url"), "{toml}: {err}");
        }
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let err = Config::load(Some(Path::new("/nonexistent/tweestap.toml"))).unwrap_err();
        assert!(matches!(err, ConfigError::Missing(_)));
    }
}
