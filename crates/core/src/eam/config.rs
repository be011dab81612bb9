//! Which Entra tenants may use tweestap as their external method, and where Microsoft lives.

use serde::{Deserialize, Serialize};

/// A Microsoft cloud: where its users sign in, and so where hints come from and answers go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cloud {
    Global,
    UsGovernment,
    China,
}

impl Cloud {
    pub const ALL: [Cloud; 3] = [Cloud::Global, Cloud::UsGovernment, Cloud::China];

    pub fn authority(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::UsGovernment => "https://login.microsoftonline.us",
            Cloud::China => "https://login.partner.microsoftonline.cn",
        }
    }

    pub fn parse(name: &str) -> Option<Cloud> {
        Cloud::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::UsGovernment => "us_government",
            Cloud::China => "china",
        }
    }
}

/// What happens to an Entra user tweestap has no account for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownUsers {
    /// A page says the account is not set up; Entra hears `access_denied`.
    #[default]
    Refuse,
    /// An account is made from the hint and the user registers a method on the spot.
    Register,
}

/// One organisation's Entra tenant(s) and what tweestap issued to it.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub name: String,
    /// The directory (tenant) GUIDs whose users may come, lower case.
    pub tenant_ids: Vec<String>,
    /// The Application (client) ID of tweestap's app registration: the hint's `aud`.
    pub app_id: String,
    /// The client id the tenant's administrator typed into "Add external method".
    pub client_id: String,
    pub clouds: Vec<Cloud>,
    pub unknown_users: UnknownUsers,
    /// An unlinked Entra user whose `preferred_username` names an existing tweestap account
    /// is linked to it (once; after that only the object id counts).
    pub link_by_username: bool,
}

#[derive(Debug, Clone, Default)]
pub struct EamConfig {
    /// The issuer of tweestap's answers, exactly as in its discovery document.
    pub issuer: String,
    pub tenants: Vec<Tenant>,
    /// Tests only: an Entra stand-in at this loopback address replaces every Microsoft cloud
    /// (hint issuer, keys, the way back). The configuration refuses it unless tweestap itself
    /// runs on loopback.
    pub test_authority: Option<String>,
}

impl EamConfig {
    pub fn enabled(&self) -> bool {
        !self.tenants.is_empty()
    }

    /// The authorities a tenant's users may come from.
    pub fn authorities(&self, tenant: &Tenant) -> Vec<String> {
        match &self.test_authority {
            Some(test) => vec![test.clone()],
            None => tenant
                .clouds
                .iter()
                .map(|c| c.authority().to_string())
                .collect(),
        }
    }

    /// Every authority of every tenant: the only places an answer is ever posted to.
    pub fn all_authorities(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .tenants
            .iter()
            .flat_map(|t| self.authorities(t))
            .collect();
        all.sort();
        all.dedup();
        all
    }

    pub fn tenant_by_client(&self, client_id: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.client_id == client_id)
    }

    pub fn tenant_by_id(&self, tenant_id: &str) -> Option<&Tenant> {
        self.tenants
            .iter()
            .find(|t| t.tenant_ids.iter().any(|id| id == tenant_id))
    }
}

/// Where Entra takes the answer: one fixed address per cloud.
pub fn redirect_uri(authority: &str) -> String {
    format!("{authority}/common/federation/externalauthprovider")
}

/// The `iss` of a tenant's hints.
pub fn hint_issuer(authority: &str, tenant_id: &str) -> String {
    format!("{authority}/{tenant_id}/v2.0")
}

/// Where a tenant's signing keys are published.
pub fn keys_url(authority: &str, tenant_id: &str) -> String {
    format!("{authority}/{tenant_id}/discovery/v2.0/keys")
}

/// A tenant id as Entra writes it: a GUID, lower case.
pub fn is_tenant_id(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| {
            g.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_lower_case_guids() {
        assert!(is_tenant_id("72f988bf-86f1-41af-91ab-2d7cd011db47"));
        assert!(!is_tenant_id("72F988BF-86F1-41AF-91AB-2D7CD011DB47"));
        assert!(!is_tenant_id("72f988bf86f141af91ab2d7cd011db47"));
        assert!(!is_tenant_id("../../evil/x"));
    }

    #[test]
    fn the_test_authority_replaces_every_cloud() {
        let tenant = Tenant {
            name: "school".into(),
            tenant_ids: vec![],
            app_id: "a".into(),
            client_id: "c".into(),
            clouds: vec![Cloud::Global, Cloud::China],
            unknown_users: UnknownUsers::Refuse,
            link_by_username: false,
        };
        let mut config = EamConfig {
            issuer: "https://mfa.school.nl/entra".into(),
            tenants: vec![tenant.clone()],
            test_authority: None,
        };
        assert_eq!(
            config.all_authorities(),
            [
                "https://login.microsoftonline.com",
                "https://login.partner.microsoftonline.cn"
            ]
        );
        config.test_authority = Some("http://localhost:9".into());
        assert_eq!(config.authorities(&tenant), ["http://localhost:9"]);
    }
}
