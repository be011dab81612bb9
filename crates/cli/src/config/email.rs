//! `[email]`: the SMTP server that carries security notices to accounts with an address.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tweestap_email::{Security, SmtpSettings};

use super::{ConfigError, Redacted, SecretSource, invalid};

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EmailSecurity {
    /// Upgrade with STARTTLS, which must succeed (submission, port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only for a relay on this machine.
    None,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    /// The SMTP server. E-mail notices are off while this is not set.
    pub host: Option<String>,
    /// Default: 587 for starttls, 465 for tls, 25 for none.
    pub port: Option<u16>,
    pub security: EmailSecurity,
    pub username: Option<String>,
    pub password: Option<Redacted>,
    pub password_file: Option<PathBuf>,
    pub password_env: Option<String>,
    /// The sender, e.g. "mboRijnland <noreply@mborijnland.nl>".
    pub from: Option<String>,
    /// A CA certificate (PEM) to trust besides the public ones: a relay with its own CA.
    pub ca_file: Option<PathBuf>,
    pub timeout_secs: Option<u64>,
}

impl EmailConfig {
    /// The SMTP settings, or `None` when e-mail is not configured. `hello_name`: the name
    /// tweestap gives itself (its public host).
    pub fn settings(&self, hello_name: &str) -> Result<Option<SmtpSettings>, ConfigError> {
        let Some(host) = self
            .host
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
        else {
            return Ok(None);
        };
        let local = matches!(host, "localhost" | "127.0.0.1" | "::1");
        if self.security == EmailSecurity::None && !local {
            return Err(invalid(
                "email.security",
                "\"none\" sends passwords and notices in the clear; it is only allowed for a \
                 relay on this machine (host = \"localhost\"). Use \"starttls\" or \"tls\"",
            ));
        }
        let from = self.from.clone().ok_or_else(|| {
            invalid(
                "email.from",
                "is needed with email.host, e.g. \"School <noreply@school.nl>\"",
            )
        })?;
        let credentials = match &self.username {
            Some(user) => {
                let password = SecretSource {
                    password: self.password.as_ref(),
                    password_file: self.password_file.as_ref(),
                    password_env: self.password_env.as_ref(),
                }
                .resolve("email.password")?;
                Some((user.clone(), password))
            }
            None => None,
        };
        let extra_root_pem = match &self.ca_file {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                invalid(
                    "email.ca_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?),
            None => None,
        };
        let (security, default_port) = match self.security {
            EmailSecurity::Starttls => (Security::StartTls, 587),
            EmailSecurity::Tls => (Security::Tls, 465),
            EmailSecurity::None => (Security::None, 25),
        };
        let settings = SmtpSettings {
            host: host.to_string(),
            port: self.port.unwrap_or(default_port),
            security,
            credentials,
            from,
            extra_root_pem,
            timeout: Duration::from_secs(self.timeout_secs.unwrap_or(10)),
            hello_name: hello_name.to_string(),
        };
        // Checked now (the sender, the CA file), not at the first notice.
        tweestap_email::SmtpMailer::new(&settings).map_err(|e| match e {
            tweestap_email::SmtpError::From(_) => invalid("email.from", e.to_string()),
            _ => invalid("email.ca_file", e.to_string()),
        })?;
        Ok(Some(settings))
    }
}
