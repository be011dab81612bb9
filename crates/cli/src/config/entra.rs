//! `[entra]`: tweestap as the external MFA method of Microsoft Entra ID tenants.

use serde::{Deserialize, Serialize};
use tweestap_core::eam::config::is_tenant_id;
use tweestap_core::eam::{Cloud, EamConfig, Tenant, UnknownUsers};

use super::{ConfigError, invalid};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EntraConfig {
    /// The issuer Entra is told (its discovery document is `<issuer>/.well-known/
    /// openid-configuration`). Default `<public_url>/entra`. It must be below public_url.
    pub issuer: Option<String>,
    pub tenants: Vec<EntraTenant>,
    /// Tests only: an Entra stand-in at this loopback address replaces every Microsoft cloud.
    /// Refused unless public_url is a loopback address too, so a production server cannot
    /// have it.
    pub test_authority: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EntraTenant {
    /// Shown to administrators only.
    pub name: String,
    /// The tenant (directory) ids whose users may come here.
    pub tenant_ids: Vec<String>,
    /// The Application (client) ID of tweestap's app registration: the hints' audience.
    pub app_id: String,
    /// The client id the tenant's administrator enters in "Add external method".
    pub client_id: String,
    /// "global" (default), "us_government", "china".
    pub clouds: Vec<String>,
    /// "refuse" (default): a user without an account here gets a page saying so;
    /// "register": an account is made and the user registers a method on the spot.
    pub unknown_users: String,
    /// Link an unlinked Entra user to the account whose username is their
    /// `preferred_username` (once; then only the object id counts). Off by default.
    pub link_by_username: bool,
}

const KEY: &str = "entra.tenants";

fn is_loopback_url(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl EntraConfig {
    /// The checked settings, or `None` when no tenant is configured.
    pub fn settings(&self, public_url: &str) -> Result<Option<EamConfig>, ConfigError> {
        if self.tenants.is_empty() {
            return Ok(None);
        }
        let public =
            url::Url::parse(public_url).map_err(|e| invalid("public_url", e.to_string()))?;
        let base = public_url.trim_end_matches('/');
        let issuer = self
            .issuer
            .clone()
            .unwrap_or_else(|| format!("{base}/entra"));
        let path = issuer.strip_prefix(base).unwrap_or_default();
        if !issuer.starts_with(base)
            || !path.starts_with('/')
            || path.len() < 2
            || issuer.ends_with('/')
            || issuer.contains(['?', '#'])
        {
            return Err(invalid(
                "entra.issuer",
                format!(
                    "{issuer:?} must be public_url followed by a path, without a trailing slash, query or fragment (e.g. {base}/entra)"
                ),
            ));
        }
        if public.scheme() != "https" && !is_loopback_url(&public) {
            return Err(invalid(
                "entra.issuer",
                "Entra accepts only https issuers: public_url must be https",
            ));
        }
        let test_authority = match &self.test_authority {
            None => None,
            Some(text) => {
                let parsed = url::Url::parse(text)
                    .map_err(|e| invalid("entra.test_authority", e.to_string()))?;
                if !is_loopback_url(&parsed) || !is_loopback_url(&public) {
                    return Err(invalid(
                        "entra.test_authority",
                        "replaces Microsoft and is for tests only: both it and public_url must be loopback addresses. Remove it in production",
                    ));
                }
                Some(text.trim_end_matches('/').to_string())
            }
        };
        let mut tenants: Vec<Tenant> = Vec::new();
        for t in &self.tenants {
            let named = |problem: String| invalid(KEY, format!("tenant {:?}: {problem}", t.name));
            if t.client_id.trim().is_empty() || t.app_id.trim().is_empty() {
                return Err(named("client_id and app_id are required".into()));
            }
            if t.tenant_ids.is_empty() {
                return Err(named("tenant_ids must name at least one tenant id".into()));
            }
            let tenant_ids: Vec<String> = t.tenant_ids.iter().map(|id| id.to_lowercase()).collect();
            if let Some(bad) = tenant_ids.iter().find(|id| !is_tenant_id(id)) {
                return Err(named(format!(
                    "{bad:?} is not a tenant id (a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47)"
                )));
            }
            let clouds = if t.clouds.is_empty() {
                vec![Cloud::Global]
            } else {
                t.clouds
                    .iter()
                    .map(|c| {
                        Cloud::parse(c).ok_or_else(|| {
                            named(format!(
                                "cloud {c:?} is not \"global\", \"us_government\" or \"china\""
                            ))
                        })
                    })
                    .collect::<Result<_, _>>()?
            };
            let unknown_users = match t.unknown_users.as_str() {
                "" | "refuse" => UnknownUsers::Refuse,
                "register" => UnknownUsers::Register,
                other => {
                    return Err(named(format!(
                        "unknown_users {other:?} is not \"refuse\" or \"register\""
                    )));
                }
            };
            for other in &tenants {
                if other.client_id == t.client_id {
                    return Err(named(format!("client_id {:?} is used twice", t.client_id)));
                }
                if let Some(id) = other.tenant_ids.iter().find(|id| tenant_ids.contains(id)) {
                    return Err(named(format!("tenant id {id} is listed twice")));
                }
            }
            tenants.push(Tenant {
                name: t.name.clone(),
                tenant_ids,
                app_id: t.app_id.trim().to_string(),
                client_id: t.client_id.trim().to_string(),
                clouds,
                unknown_users,
                link_by_username: t.link_by_username,
            });
        }
        Ok(Some(EamConfig {
            issuer,
            tenants,
            test_authority,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> EntraTenant {
        EntraTenant {
            name: "school".into(),
            tenant_ids: vec!["72F988BF-86F1-41AF-91AB-2D7CD011DB47".into()],
            app_id: "11111111-2222-3333-4444-555555555555".into(),
            client_id: "school-eam".into(),
            ..Default::default()
        }
    }

    fn config(t: Vec<EntraTenant>) -> EntraConfig {
        EntraConfig {
            tenants: t,
            ..Default::default()
        }
    }

    fn problem(c: &EntraConfig, public: &str) -> String {
        c.settings(public).unwrap_err().to_string()
    }

    #[test]
    fn a_tenant_gets_the_defaults() {
        let settings = config(vec![tenant()])
            .settings("https://mfa.school.nl/")
            .unwrap()
            .unwrap();
        assert_eq!(settings.issuer, "https://mfa.school.nl/entra");
        assert_eq!(
            settings.tenants[0].tenant_ids[0],
            "72f988bf-86f1-41af-91ab-2d7cd011db47"
        );
        assert_eq!(settings.tenants[0].clouds, [Cloud::Global]);
        assert_eq!(settings.tenants[0].unknown_users, UnknownUsers::Refuse);
        assert!(config(vec![]).settings("https://x.nl").unwrap().is_none());
    }

    #[test]
    fn mistakes_are_named() {
        let mut c = config(vec![tenant()]);
        c.issuer = Some("https://mfa.school.nl".into());
        assert!(problem(&c, "https://mfa.school.nl").contains("followed by a path"));
        c.issuer = Some("https://elsewhere.nl/entra".into());
        assert!(problem(&c, "https://mfa.school.nl").contains("followed by a path"));
        let c = config(vec![tenant()]);
        assert!(problem(&c, "http://mfa.school.nl").contains("https"));
        let mut bad = tenant();
        bad.tenant_ids = vec!["school.onmicrosoft.com".into()];
        assert!(problem(&config(vec![bad]), "https://x.nl").contains("is not a tenant id"));
        let mut bad = tenant();
        bad.clouds = vec!["mars".into()];
        assert!(problem(&config(vec![bad]), "https://x.nl").contains("cloud \"mars\""));
        assert!(problem(&config(vec![tenant(), tenant()]), "https://x.nl").contains("used twice"));
    }

    #[test]
    fn the_test_authority_is_refused_outside_loopback() {
        let mut c = config(vec![tenant()]);
        c.test_authority = Some("http://localhost:9999".into());
        assert!(problem(&c, "https://mfa.school.nl").contains("tests only"));
        c.test_authority = Some("http://entra.example:9999".into());
        assert!(problem(&c, "http://127.0.0.1:8080").contains("tests only"));
        c.test_authority = Some("http://localhost:9999/".into());
        let settings = c.settings("http://127.0.0.1:8080").unwrap().unwrap();
        assert_eq!(
            settings.test_authority.as_deref(),
            Some("http://localhost:9999")
        );
    }
}
