//! `[forward_auth]` and `[oidc]`: reverse-proxy protection and applications declared in the
//! configuration file (beside those added with `tweestap client add`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tweestap_core::SigningAlg;
use tweestap_core::clients::ClientInput;

use super::{ConfigError, Redacted, SecretSource, invalid};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForwardAuthConfig {
    /// Hosts (and their subdomains) a sign-in started by a proxy may return to. Empty: the
    /// forward-auth endpoints are off.
    pub domains: Vec<String>,
    /// Share the session cookie with this parent domain (e.g. "school.nl"), so proxies in
    /// front of sibling hosts see it. Leave out when the proxy and tweestap share a host.
    pub cookie_domain: Option<String>,
    /// Let a browser whose sign-in skipped the second factor on a remembered device ("don't
    /// ask again") through. Off by default: the protected sites get a real second factor.
    pub accept_remembered_devices: bool,
}

/// The tweestap app's push notifications.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PushConfig {
    /// Who push services contact about our notifications (`mailto:` or `https:`); default
    /// the public URL.
    pub contact: Option<String>,
    /// Tests only: accept push subscriptions on loopback `http://` addresses (a stand-in push
    /// service). Never in production: a subscription would make tweestap call itself.
    pub allow_loopback_endpoints: bool,
    /// The push services subscriptions may point at (host names, subdomains included).
    /// Empty: the browsers' own (FCM, Mozilla, Apple, Windows).
    pub allowed_hosts: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OidcConfig {
    pub clients: Vec<DeclaredClient>,
}

/// An application declared in the file. It is written to the database at every start, so
/// the file stays the one place it is described.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeclaredClient {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_uris: Vec<String>,
    pub public: bool,
    pub first_party: bool,
    pub scopes: Vec<String>,
    pub require_mfa: bool,
    pub id_token_alg: Option<String>,
    pub secret: Option<Redacted>,
    pub secret_file: Option<PathBuf>,
    pub secret_env: Option<String>,
}

impl DeclaredClient {
    pub fn input(&self) -> Result<ClientInput, ConfigError> {
        const KEY: &str = "oidc.clients";
        let secret = if self.public {
            None
        } else {
            let secret = SecretSource {
                password: self.secret.as_ref(),
                password_file: self.secret_file.as_ref(),
                password_env: self.secret_env.as_ref(),
            }
            .resolve("oidc.clients.secret")?;
            if secret.len() < 32 {
                return Err(invalid(
                    "oidc.clients.secret",
                    format!(
                        "client {:?}: the secret must be at least 32 characters (e.g. `openssl rand -base64 32`)",
                        self.client_id
                    ),
                ));
            }
            Some(secret)
        };
        let id_token_alg = match &self.id_token_alg {
            None => SigningAlg::Es256,
            Some(alg) => SigningAlg::parse(alg).map_err(|e| invalid(KEY, e.to_string()))?,
        };
        Ok(ClientInput {
            name: self.name.clone(),
            client_id: Some(self.client_id.clone()),
            redirect_uris: self.redirect_uris.clone(),
            post_logout_uris: self.post_logout_uris.clone(),
            public: self.public,
            first_party: self.first_party,
            scopes: self.scopes.clone(),
            require_mfa: self.require_mfa,
            id_token_alg,
            secret,
        })
    }
}
