//! The `[sms]` section: the gateways in order, and secrets that may live in files or the
//! environment.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsConfig {
    /// Tried in order; a gateway that is down passes the message to the next.
    pub gateways: Vec<GatewayConfig>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum GatewayConfig {
    /// Development sink: one JSON line per message in `path`.
    Outbox { path: PathBuf },
    /// Kannel's smsbox `sendsms` interface.
    Kannel {
        /// e.g. "http://127.0.0.1:13013/cgi-bin/sendsms"
        url: String,
        username: String,
        /// The sendsms-user password: inline, from a file, or from an environment variable.
        password: Option<Redacted>,
        password_file: Option<PathBuf>,
        password_env: Option<String>,
        /// Sender name or number shown on the phone.
        from: Option<String>,
        #[serde(default = "default_timeout")]
        timeout_secs: u64,
        /// Ask Kannel for delivery reports (sent to <public_url>/sms/dlr/kannel).
        #[serde(default = "yes")]
        delivery_reports: bool,
    },
    /// Any HTTP SMS provider; presets for CM.com, Bird, Spryng, Twilio and Vonage.
    Http(HttpGatewayConfig),
}

/// A configurable HTTP provider, for the part a preset does not fix.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct HttpGatewayConfig {
    /// A label for logs and `sms status` (default: the preset's name, or "http").
    pub name: Option<String>,
    /// "cm", "messagebird", "spryng", "twilio" or "vonage": the provider's documented request.
    pub preset: Option<tweestap_sms::Preset>,
    /// Overrides (or, without a preset, defines) the request. Placeholders: {to} {to_digits}
    /// {text} {reference} {from} {account} {secret} {basic} {report_url}.
    pub url: Option<String>,
    pub method: Option<String>,
    pub format: Option<tweestap_sms::BodyFormat>,
    pub headers: Option<HeaderValues>,
    pub body: Option<String>,
    /// HTTP statuses that mean "accepted" (default 200, 201, 202).
    pub success_status: Option<Vec<u16>>,
    /// A JSON pointer in the answer that must equal `success_json_equals`.
    pub success_json_pointer: Option<String>,
    pub success_json_equals: Option<String>,
    /// Account id (Twilio account SID, Vonage API key).
    pub account: Option<String>,
    /// The token, key or password: inline, from a file, or from an environment variable.
    pub secret: Option<Redacted>,
    pub secret_file: Option<PathBuf>,
    pub secret_env: Option<String>,
    /// Sender name or number.
    pub from: Option<String>,
    pub timeout_secs: Option<u64>,
    /// Ask for delivery reports at <public_url>/sms/dlr/http (Bird, Twilio, Vonage).
    pub delivery_reports: Option<bool>,
}

impl HttpGatewayConfig {
    pub fn template(&self) -> Result<tweestap_sms::HttpTemplate, ConfigError> {
        let mut t = match self.preset {
            Some(p) => p.template(),
            None => tweestap_sms::HttpTemplate {
                method: "POST".into(),
                url: self.url.clone().ok_or_else(|| {
                    invalid(
                        "sms.gateways.url",
                        "an http gateway without a preset needs url",
                    )
                })?,
                headers: Default::default(),
                format: tweestap_sms::BodyFormat::Json,
                body: self.body.clone().ok_or_else(|| {
                    invalid(
                        "sms.gateways.body",
                        "an http gateway without a preset needs a body template",
                    )
                })?,
                success_status: vec![200, 201, 202],
                success_json: None,
                provider_id_pointer: None,
            },
        };
        if let Some(v) = &self.url {
            t.url = v.clone();
        }
        if let Some(v) = &self.method {
            t.method = v.to_ascii_uppercase();
        }
        if let Some(v) = self.format {
            t.format = v;
        }
        if let Some(v) = &self.headers {
            t.headers.extend(v.0.clone());
        }
        if let Some(v) = &self.body {
            t.body = v.clone();
        }
        if let Some(v) = &self.success_status {
            t.success_status = v.clone();
        }
        match (&self.success_json_pointer, &self.success_json_equals) {
            (Some(p), Some(e)) => t.success_json = Some((p.clone(), e.clone())),
            (None, None) => {}
            _ => {
                return Err(invalid(
                    "sms.gateways.success_json_pointer",
                    "give both success_json_pointer and success_json_equals",
                ));
            }
        }
        if !t.body.contains("{text}") {
            return Err(invalid(
                "sms.gateways.body",
                "the body template must contain {text}",
            ));
        }
        if !t.body.contains("{to}") && !t.body.contains("{to_digits}") {
            return Err(invalid(
                "sms.gateways.body",
                "the body template must contain {to} or {to_digits}",
            ));
        }
        Ok(t)
    }

    pub fn secret(&self) -> Result<String, ConfigError> {
        SecretSource {
            password: self.secret.as_ref(),
            password_file: self.secret_file.as_ref(),
            password_env: self.secret_env.as_ref(),
        }
        .resolve("sms.gateways.secret")
    }
}

fn default_timeout() -> u64 {
    10
}

fn yes() -> bool {
    true
}

/// Extra request headers; their values may hold tokens, so `Debug` shows names only.
#[derive(Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(transparent)]
pub struct HeaderValues(pub std::collections::BTreeMap<String, String>);

impl std::fmt::Debug for HeaderValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// A secret in the configuration. `Debug` never shows it.
#[derive(Clone, Deserialize, Serialize, PartialEq)]
#[serde(transparent)]
pub struct Redacted(pub String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

/// Where a secret comes from: given inline, in a file, or in an environment variable.
pub struct SecretSource<'a> {
    pub password: Option<&'a Redacted>,
    pub password_file: Option<&'a PathBuf>,
    pub password_env: Option<&'a String>,
}

impl SecretSource<'_> {
    /// Reads the secret; `key` names the setting in error messages.
    pub fn resolve(&self, key: &'static str) -> Result<String, ConfigError> {
        match (&self.password, &self.password_file, &self.password_env) {
            (Some(p), None, None) => Ok(p.0.clone()),
            (None, Some(path), None) => std::fs::read_to_string(path)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|e| {
                    invalid(
                        key,
                        format!("cannot read the secret file {}: {e}", path.display()),
                    )
                }),
            (None, None, Some(var)) => std::env::var(var)
                .map_err(|_| invalid(key, format!("environment variable {var} is not set"))),
            (None, None, None) => Err(invalid(
                key,
                "needs the secret inline, in a file (…_file) or in an environment variable (…_env)",
            )),
            _ => Err(invalid(
                key,
                "give the secret only once: inline, as a file or as an environment variable",
            )),
        }
    }
}
