use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::Timestamp;

/// An OpenID Connect client (relying party) as registered by an administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub client_id: ClientId,
    pub name: String,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_uris: Vec<RedirectUri>,
    /// A public client (mobile app, single-page app) has no secret and must use PKCE.
    pub public: bool,
    /// First-party applications skip the consent page.
    pub first_party: bool,
    pub scopes: Vec<String>,
    /// Refuse codes for sign-ins without a second factor, whatever the policy says.
    pub require_mfa: bool,
    /// How this client's ID tokens are signed.
    pub id_token_alg: SigningAlg,
    /// SHA-256 (hex) of the secret: secrets are 256 random bits, so a fast hash suffices.
    pub secret_hash: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ClientError {
    #[error("a client id is 1 to 64 letters, digits, '.', '_' or '-'")]
    BadClientId,
    #[error("redirect URI {0:?}: {1}")]
    BadRedirectUri(String, &'static str),
    #[error("a client needs at least one redirect URI")]
    NoRedirectUri,
    #[error("the client name is empty")]
    EmptyName,
    #[error("unknown scope {0:?} (known: openid, profile, email, phone, offline_access)")]
    UnknownScope(String),
    #[error("unknown signing algorithm {0:?} (known: ES256, RS256)")]
    UnknownAlg(String),
}

impl ClientId {
    pub fn parse(input: &str) -> Result<ClientId, ClientError> {
        let ok = !input.is_empty()
            && input.len() <= 64
            && input
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if ok {
            Ok(ClientId(input.to_string()))
        } else {
            Err(ClientError::BadClientId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientId {
    type Error = ClientError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        ClientId::parse(&value)
    }
}

impl From<ClientId> for String {
    fn from(value: ClientId) -> String {
        value.0
    }
}

/// A redirect URI as registered: compared exactly, character for character (RFC 9700), so it
/// is stored exactly as given once it passes these checks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUri(String);

impl RedirectUri {
    pub fn parse(input: &str) -> Result<RedirectUri, ClientError> {
        let bad = |why| Err(ClientError::BadRedirectUri(input.to_string(), why));
        if input.contains('#') {
            return bad("must not contain a fragment (#)");
        }
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("must not contain spaces");
        }
        if !input.is_ascii() {
            return bad("must be ASCII (write other characters percent-encoded, e.g. %C3%A9)");
        }
        let Some((scheme, rest)) = input.split_once(':') else {
            return bad("must be an absolute URL such as https://app.school.nl/callback");
        };
        // Native apps use a private-use scheme in reverse-domain form (RFC 8252 §7.1).
        let private_use = scheme.contains('.')
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
        if private_use {
            return if rest.starts_with('/') && !rest.starts_with("//") {
                Ok(RedirectUri(input.to_string()))
            } else {
                bad(
                    "a private-use scheme is followed by a single '/', e.g. nl.school.app:/callback",
                )
            };
        }
        let Some(rest) = rest.strip_prefix("//") else {
            return bad("must be an absolute URL such as https://app.school.nl/callback");
        };
        let host = rest.split(['/', '?']).next().unwrap_or("");
        if host.contains('@') {
            return bad("must not contain user information");
        }
        if host.is_empty() {
            return bad("has no host");
        }
        let loopback = ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .any(|h| host == *h || host.starts_with(&format!("{h}:")));
        match scheme {
            "https" => {}
            "http" if loopback => {}
            "http" => return bad("must use https (plain http only for localhost)"),
            _ => return bad("must use https"),
        }
        Ok(RedirectUri(input.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a redirect URI sent by a client is this registered one: the same string, except
    /// that a loopback IP address may come with any port (a native app listens on whatever
    /// port is free; RFC 8252 §7.3).
    pub fn matches(&self, given: &str) -> bool {
        if self.0 == given {
            return true;
        }
        let without_port = |uri: &str| -> Option<(String, String)> {
            for host in ["http://127.0.0.1", "http://[::1]"] {
                if let Some(rest) = uri.strip_prefix(host) {
                    let path_start = rest.find(['/', '?']).unwrap_or(rest.len());
                    let (port, path) = rest.split_at(path_start);
                    let port_ok = port.is_empty()
                        || port.strip_prefix(':').is_some_and(|p| {
                            !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())
                        });
                    return port_ok.then(|| (host.to_string(), path.to_string()));
                }
            }
            None
        };
        match (without_port(&self.0), without_port(given)) {
            (Some(registered), Some(sent)) => registered == sent,
            _ => false,
        }
    }
}

impl TryFrom<String> for RedirectUri {
    type Error = ClientError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        RedirectUri::parse(&value)
    }
}

impl From<RedirectUri> for String {
    fn from(value: RedirectUri) -> String {
        value.0
    }
}

/// The algorithms ID tokens can be signed with: ES256 by default, RS256 for clients that
/// cannot verify anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SigningAlg {
    #[default]
    #[serde(rename = "ES256")]
    Es256,
    #[serde(rename = "RS256")]
    Rs256,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 2] = [SigningAlg::Es256, SigningAlg::Rs256];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Es256 => "ES256",
            SigningAlg::Rs256 => "RS256",
        }
    }

    pub fn parse(input: &str) -> Result<SigningAlg, ClientError> {
        SigningAlg::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(input))
            .ok_or_else(|| ClientError::UnknownAlg(input.to_string()))
    }
}

pub const KNOWN_SCOPES: [&str; 5] = ["openid", "profile", "email", "phone", "offline_access"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_https_or_loopback_without_fragments() {
        for ok in [
            "https://moodle.school.nl/auth/oidc/",
            "http://localhost:3000/callback",
            "http://127.0.0.1:8080/cb?x=1",
            "nl.school.app:/oauth2redirect",
        ] {
            assert!(RedirectUri::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "moodle.school.nl/callback",
            "http://moodle.school.nl/callback",
            "https://app.school.nl/cb#frag",
            "https://user@evil.example/cb",
            "https:///cb",
            "javascript://alert(1)",
            "https://app.school.nl/c b",
            "https://app.school.nl/café",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_redirects_may_use_any_port_and_nothing_else_varies() {
        let loopback = RedirectUri::parse("http://127.0.0.1:8400/callback").unwrap();
        assert!(loopback.matches("http://127.0.0.1:8400/callback"));
        assert!(loopback.matches("http://127.0.0.1:51234/callback"));
        assert!(loopback.matches("http://127.0.0.1/callback"));
        assert!(!loopback.matches("http://127.0.0.1:51234/other"));
        assert!(!loopback.matches("http://127.0.0.1:51234/callback/"));
        assert!(!loopback.matches("http://127.0.0.1.evil.example/callback"));
        assert!(!loopback.matches("http://127.0.0.1:1@evil.example/callback"));
        let named = RedirectUri::parse("http://localhost:8400/callback").unwrap();
        assert!(!named.matches("http://localhost:9999/callback"));
        let https = RedirectUri::parse("https://app.example/cb").unwrap();
        assert!(!https.matches("https://app.example:8443/cb"));
    }

    #[test]
    fn client_ids_are_simple_tokens() {
        assert!(ClientId::parse("moodle-prod").is_ok());
        assert_eq!(ClientId::parse(""), Err(ClientError::BadClientId));
        assert_eq!(ClientId::parse("a b"), Err(ClientError::BadClientId));
        assert_eq!(
            ClientId::parse(&"x".repeat(65)),
            Err(ClientError::BadClientId)
        );
    }
}
