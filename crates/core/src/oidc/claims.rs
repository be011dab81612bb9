//! What an ID token and the userinfo endpoint say about a user.

use serde_json::{Map, Value, json};

use crate::domain::{Method, User};
use crate::ports::Grant;

/// The `acr` of a sign-in with a second factor, and of one with the password alone.
pub const ACR_MFA: &str = "urn:tweestap:acr:mfa";
pub const ACR_PWD: &str = "urn:tweestap:acr:pwd";

pub fn has_mfa(amr: &[String]) -> bool {
    amr.iter().any(|m| m == "mfa")
}

pub fn acr_for(amr: &[String]) -> &'static str {
    if has_mfa(amr) { ACR_MFA } else { ACR_PWD }
}

/// The claims the granted scopes release (OpenID Connect Core §5.4).
pub fn user_claims(user: &User, methods: &[Method], scopes: &[String]) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.subject));
    let has = |s: &str| scopes.iter().any(|g| g == s);
    if has("profile") {
        claims.insert("name".into(), json!(user.display_name));
        claims.insert("preferred_username".into(), json!(user.username.as_str()));
    }
    if has("email")
        && let Some(email) = &user.email
    {
        claims.insert("email".into(), json!(email));
    }
    if has("phone")
        && let Some(phone) = methods.iter().find_map(|m| m.phone())
    {
        // Registered by SMS code: the user proved they hold it.
        claims.insert("phone_number".into(), json!(phone.e164()));
        claims.insert("phone_number_verified".into(), json!(true));
    }
    claims
}

/// What an ID token says besides the user: who issued it, for whom, when.
pub struct IdToken<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub now: i64,
    pub ttl: i64,
    /// The authorization request's nonce (only in the token issued for the code).
    pub nonce: Option<&'a str>,
}

impl IdToken<'_> {
    /// The claims (OpenID Connect Core §2).
    pub fn claims(&self, user: &User, methods: &[Method], grant: &Grant) -> Value {
        let mut claims = user_claims(user, methods, &grant.scopes);
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("aud".into(), json!(self.client_id));
        claims.insert("azp".into(), json!(self.client_id));
        claims.insert("iat".into(), json!(self.now));
        claims.insert("exp".into(), json!(self.now + self.ttl));
        claims.insert("auth_time".into(), json!(grant.auth_time.0));
        claims.insert("acr".into(), json!(acr_for(&grant.amr)));
        claims.insert("amr".into(), json!(grant.amr));
        if let Some(nonce) = self.nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        Value::Object(claims)
    }
}
