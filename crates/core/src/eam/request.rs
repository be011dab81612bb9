//! The authorize request Entra's browser form posts, checked in the contract's order before
//! anyone is asked for anything.

use serde::{Deserialize, Serialize};

use super::config::{EamConfig, Tenant, redirect_uri};
use super::refusal::Refusal;
use crate::domain::{Timestamp, UserId};

/// The form fields of the request (others are ignored, as the contract says).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EamParams {
    pub scope: Option<String>,
    pub response_type: Option<String>,
    pub response_mode: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub nonce: Option<String>,
    pub state: Option<String>,
    pub id_token_hint: Option<String>,
    pub claims: Option<String>,
}

/// The acr values a possession factor (every method tweestap has) can meet, as Entra names
/// them. A request that asks only for `knowledge` or `inherence` cannot be answered.
const POSSESSION_ACRS: [&str; 4] = [
    "possessionorinherence",
    "knowledgeorpossession",
    "knowledgeorpossessionorinherence",
    "possession",
];

/// The amr values tweestap's methods produce (see [`super::answer::Factor`]).
pub const TWEESTAP_AMRS: [&str; 4] = ["sms", "otp", "swk", "fido"];

/// A request whose parameters passed; the hint is still to be checked.
#[derive(Debug, Clone)]
pub struct Checked<'a> {
    pub tenant: &'a Tenant,
    /// The Microsoft cloud (or the test stand-in) the request came through.
    pub authority: String,
    pub redirect_uri: String,
    pub client_id: String,
    pub nonce: String,
    pub state: Option<String>,
    pub hint: String,
    /// The requested acr values this sign-in can meet, in the request's order.
    pub acr_values: Vec<String>,
    /// The amr values Entra accepts.
    pub amr_values: Vec<String>,
}

/// Where the answer goes, even for a refusal: known only once the redirect URI is
/// Microsoft's and the client known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    pub redirect_uri: String,
    pub state: Option<String>,
}

/// The sign-in tweestap owes Entra an answer for, kept with the browser's session while the
/// user gives their second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub tenant_id: String,
    pub object_id: String,
    pub client_id: String,
    pub reply: ReplyTo,
    pub nonce: String,
    /// The hint's `sub`, which the answer's must equal.
    pub sub: String,
    pub acr_values: Vec<String>,
    pub amr_values: Vec<String>,
    /// When Entra stops waiting.
    pub deadline: Timestamp,
    pub user_id: UserId,
}

impl Pending {
    pub fn time_left(&self, now: Timestamp) -> i64 {
        now.secs_until(self.deadline).max(0)
    }
}

/// The contract's checks that need no key: the redirect URI exactly one of Microsoft's, a
/// known client, `response_type` / `response_mode` / `scope`, the `claims` request, a nonce
/// and a hint. On failure, where the answer may go (if anywhere) comes with the refusal.
pub fn check<'a>(
    config: &'a EamConfig,
    params: &EamParams,
) -> Result<Checked<'a>, (Refusal, Option<ReplyTo>)> {
    let all = config.all_authorities();
    let given = params.redirect_uri.as_deref().unwrap_or_default();
    let Some(authority) = all.into_iter().find(|a| redirect_uri(a) == given) else {
        return Err((Refusal::RedirectUri, None));
    };
    let Some(tenant) = params
        .client_id
        .as_deref()
        .and_then(|c| config.tenant_by_client(c))
    else {
        return Err((Refusal::UnknownClient, None));
    };
    let reply = ReplyTo {
        redirect_uri: given.to_string(),
        state: params.state.clone(),
    };
    let refuse = |r: Refusal| (r, Some(reply.clone()));
    if !config.authorities(tenant).contains(&authority) {
        return Err(refuse(Refusal::CloudNotAllowed));
    }
    // Documented once as `Id_token`: compared without regard to case.
    if !params
        .response_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("id_token"))
    {
        return Err(refuse(Refusal::ResponseType));
    }
    if params.response_mode.as_deref() != Some("form_post") {
        return Err(refuse(Refusal::ResponseMode));
    }
    if !params
        .scope
        .as_deref()
        .is_some_and(|s| s.split(' ').any(|s| s == "openid"))
    {
        return Err(refuse(Refusal::Scope));
    }
    let (acr_values, amr_values) = claims_request(params.claims.as_deref()).map_err(refuse)?;
    let nonce = match params.nonce.as_deref() {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => return Err(refuse(Refusal::Nonce)),
    };
    let hint = match params.id_token_hint.as_deref() {
        Some(h) if h.split('.').count() == 3 => h.to_string(),
        _ => return Err(refuse(Refusal::HintMalformed)),
    };
    Ok(Checked {
        tenant,
        authority,
        redirect_uri: reply.redirect_uri,
        client_id: tenant.client_id.clone(),
        nonce,
        state: reply.state,
        hint,
        acr_values,
        amr_values,
    })
}

/// The `claims` request (OpenID Connect Core §5.5): the acr values this sign-in can meet and
/// the amr values Entra accepts. Without one, Entra's usual request is assumed.
fn claims_request(claims: Option<&str>) -> Result<(Vec<String>, Vec<String>), Refusal> {
    let strings =
        |v: Option<&serde_json::Value>, key: &str| -> Result<Option<Vec<String>>, Refusal> {
            let Some(request) = v.and_then(|v| v.get(key)) else {
                return Ok(None);
            };
            if request.is_null() {
                return Ok(None);
            }
            let mut out = Vec::new();
            if let Some(one) = request.get("value") {
                out.push(one.as_str().ok_or(Refusal::Claims)?.to_string());
            }
            if let Some(many) = request.get("values") {
                for v in many.as_array().ok_or(Refusal::Claims)? {
                    out.push(v.as_str().ok_or(Refusal::Claims)?.to_string());
                }
            }
            Ok(Some(out))
        };
    let parsed: Option<serde_json::Value> = match claims {
        None | Some("") => None,
        Some(text) => Some(serde_json::from_str(text).map_err(|_| Refusal::Claims)?),
    };
    if parsed.as_ref().is_some_and(|p| !p.is_object()) {
        return Err(Refusal::Claims);
    }
    let id_token = parsed.as_ref().and_then(|p| p.get("id_token"));
    let acr =
        strings(id_token, "acr")?.unwrap_or_else(|| vec!["possessionorinherence".to_string()]);
    let acr: Vec<String> = acr
        .into_iter()
        .filter(|a| POSSESSION_ACRS.contains(&a.as_str()))
        .collect();
    if acr.is_empty() {
        return Err(Refusal::AcrUnsatisfiable);
    }
    let amr = strings(id_token, "amr")?.unwrap_or_else(|| TWEESTAP_AMRS.map(String::from).to_vec());
    Ok((acr, amr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eam::config::{Cloud, UnknownUsers};

    fn config() -> EamConfig {
        EamConfig {
            issuer: "https://mfa.school.nl/entra".into(),
            tenants: vec![Tenant {
                name: "school".into(),
                tenant_ids: vec!["72f988bf-86f1-41af-91ab-2d7cd011db47".into()],
                app_id: "app".into(),
                client_id: "school-client".into(),
                clouds: vec![Cloud::Global],
                unknown_users: UnknownUsers::Refuse,
                link_by_username: false,
            }],
            test_authority: None,
        }
    }

    fn params() -> EamParams {
        EamParams {
            scope: Some("openid".into()),
            response_type: Some("id_token".into()),
            response_mode: Some("form_post".into()),
            client_id: Some("school-client".into()),
            redirect_uri: Some(
                "https://login.microsoftonline.com/common/federation/externalauthprovider".into(),
            ),
            nonce: Some("n".into()),
            state: Some("s".into()),
            id_token_hint: Some("a.b.c".into()),
            claims: Some(r#"{"id_token":{"acr":{"essential":true,"values":["possessionorinherence"]},"amr":{"essential":true,"values":["sms","otp","fido"]}}}"#.into()),
        }
    }

    fn refusal(p: EamParams) -> (Refusal, bool) {
        let config = config();
        let (r, reply) = check(&config, &p).unwrap_err();
        (r, reply.is_some())
    }

    #[test]
    fn entras_request_passes() {
        let config = config();
        let checked = check(&config, &params()).unwrap();
        assert_eq!(checked.acr_values, ["possessionorinherence"]);
        assert_eq!(checked.amr_values, ["sms", "otp", "fido"]);
        assert_eq!(checked.authority, "https://login.microsoftonline.com");
        let mut p = params();
        p.response_type = Some("Id_token".into());
        p.claims = None;
        assert_eq!(check(&config, &p).unwrap().amr_values, TWEESTAP_AMRS);
    }

    #[test]
    fn each_check_refuses_in_order_and_says_where_the_answer_may_go() {
        let mut p = params();
        p.redirect_uri = Some("https://evil.example/common/federation/externalauthprovider".into());
        p.client_id = None;
        assert_eq!(refusal(p), (Refusal::RedirectUri, false));
        let mut p = params();
        p.redirect_uri =
            Some("https://login.microsoftonline.us/common/federation/externalauthprovider".into());
        assert_eq!(
            refusal(p),
            (Refusal::RedirectUri, false),
            "a cloud nobody uses"
        );
        let mut p = params();
        p.client_id = Some("other".into());
        assert_eq!(refusal(p), (Refusal::UnknownClient, false));
        let mut p = params();
        p.response_type = Some("code".into());
        assert_eq!(refusal(p), (Refusal::ResponseType, true));
        let mut p = params();
        p.response_mode = Some("query".into());
        assert_eq!(refusal(p), (Refusal::ResponseMode, true));
        let mut p = params();
        p.scope = Some("profile".into());
        assert_eq!(refusal(p), (Refusal::Scope, true));
        let mut p = params();
        p.claims = Some("{not json".into());
        assert_eq!(refusal(p), (Refusal::Claims, true));
        let mut p = params();
        p.claims = Some(r#"{"id_token":{"acr":{"values":["knowledge"]}}}"#.into());
        assert_eq!(refusal(p), (Refusal::AcrUnsatisfiable, true));
        let mut p = params();
        p.nonce = None;
        assert_eq!(refusal(p), (Refusal::Nonce, true));
        let mut p = params();
        p.id_token_hint = Some("not-a-jwt".into());
        assert_eq!(refusal(p), (Refusal::HintMalformed, true));
    }

    #[test]
    fn only_the_acr_values_a_possession_factor_meets_are_kept() {
        let mut p = params();
        p.claims = Some(
            r#"{"id_token":{"acr":{"values":["knowledge","possession","inherence"]}}}"#.into(),
        );
        let config = config();
        assert_eq!(check(&config, &p).unwrap().acr_values, ["possession"]);
    }
}
