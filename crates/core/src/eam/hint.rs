//! The `id_token_hint`: Entra's signed word about who passed its first factor. Microsoft
//! issues it already expired (so that nothing uses it as a token), so `exp` and `nbf` are
//! not checked; a fresh `iat` is required instead.

use base64ct::{Base64UrlUnpadded, Encoding};

use super::ENTRA_PATIENCE_SECS;
use super::config::{Tenant, hint_issuer, is_tenant_id};
use super::refusal::Refusal;
use crate::domain::Timestamp;

/// How far Entra's clock and ours may disagree.
pub const CLOCK_SKEW_SECS: i64 = 120;

/// The least time a step needs: a hint is refused when Entra would stop waiting sooner (no
/// text is sent for a step that cannot be finished).
pub const MIN_TIME_LEFT_SECS: i64 = 60;

/// A hint this old is refused.
pub const MAX_AGE_SECS: i64 = ENTRA_PATIENCE_SECS - MIN_TIME_LEFT_SECS;

/// What a checked hint says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub tenant_id: String,
    pub object_id: String,
    pub sub: String,
    /// Shown to people and, where an administrator allows it, used once to link an account;
    /// never the link itself (it can change).
    pub preferred_username: Option<String>,
    pub name: Option<String>,
    pub issued_at: Timestamp,
}

/// The hint's `tid`, read before its signature is checked: it says which tenant's keys to
/// fetch, and a tenant that is not the client's is refused before anything is fetched.
pub fn claimed_tenant(hint: &str, tenant: &Tenant) -> Result<String, Refusal> {
    let payload = hint.split('.').nth(1).ok_or(Refusal::HintMalformed)?;
    let bytes = Base64UrlUnpadded::decode_vec(payload).map_err(|_| Refusal::HintMalformed)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| Refusal::HintMalformed)?;
    let tid = claims
        .get("tid")
        .and_then(|t| t.as_str())
        .filter(|t| is_tenant_id(t))
        .ok_or(Refusal::WrongTenant)?;
    if !tenant.tenant_ids.iter().any(|id| id == tid) {
        return Err(Refusal::WrongTenant);
    }
    Ok(tid.to_string())
}

/// The checks after the signature: `iss` exactly the tenant's in this cloud, `tid` equal to
/// the tenant in it, `aud` the app registration, a fresh `iat`, and `oid` and `sub` present.
pub fn check_claims(
    claims: &serde_json::Value,
    tenant: &Tenant,
    authority: &str,
    tenant_id: &str,
    now: Timestamp,
) -> Result<Hint, Refusal> {
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
    };
    if text("tid") != Some(tenant_id) {
        return Err(Refusal::WrongTenant);
    }
    if text("iss") != Some(hint_issuer(authority, tenant_id).as_str()) {
        return Err(Refusal::WrongIssuer);
    }
    let audience_ok = match claims.get("aud") {
        Some(serde_json::Value::String(aud)) => *aud == tenant.app_id,
        Some(serde_json::Value::Array(auds)) => {
            auds.len() == 1 && auds[0].as_str() == Some(tenant.app_id.as_str())
        }
        _ => false,
    };
    if !audience_ok {
        return Err(Refusal::WrongAudience);
    }
    let iat = claims
        .get("iat")
        .and_then(|v| v.as_i64())
        .ok_or(Refusal::Stale)?;
    let age = now.0 - iat;
    if !(-CLOCK_SKEW_SECS..MAX_AGE_SECS).contains(&age) {
        return Err(Refusal::Stale);
    }
    let (Some(oid), Some(sub)) = (text("oid"), text("sub")) else {
        return Err(Refusal::NoSubject);
    };
    Ok(Hint {
        tenant_id: tenant_id.to_string(),
        object_id: oid.to_lowercase(),
        sub: sub.to_string(),
        preferred_username: text("preferred_username").map(str::to_string),
        name: text("name").map(str::to_string),
        issued_at: Timestamp(iat),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eam::config::{Cloud, UnknownUsers};
    use serde_json::json;

    const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const AUTHORITY: &str = "https://login.microsoftonline.com";

    fn tenant() -> Tenant {
        Tenant {
            name: "school".into(),
            tenant_ids: vec![TID.into()],
            app_id: "app-id".into(),
            client_id: "c".into(),
            clouds: vec![Cloud::Global],
            unknown_users: UnknownUsers::Refuse,
            link_by_username: false,
        }
    }

    fn claims(iat: i64) -> serde_json::Value {
        json!({
            "iss": format!("{AUTHORITY}/{TID}/v2.0"), "aud": "app-id", "tid": TID,
            "oid": "0A1B", "sub": "pairwise", "iat": iat, "exp": iat - 1,
            "preferred_username": "jan@school.nl",
        })
    }

    fn check(c: &serde_json::Value) -> Result<Hint, Refusal> {
        check_claims(c, &tenant(), AUTHORITY, TID, Timestamp(10_000))
    }

    #[test]
    fn an_expired_but_fresh_hint_is_believed() {
        let hint = check(&claims(9_990)).unwrap();
        assert_eq!(hint.object_id, "0a1b");
        assert_eq!(hint.sub, "pairwise");
    }

    #[test]
    fn every_claim_is_checked() {
        let with = |k: &str, v: serde_json::Value| {
            let mut c = claims(9_990);
            c[k] = v;
            check(&c).unwrap_err()
        };
        assert_eq!(
            with("iss", json!(format!("{AUTHORITY}/{TID}/v2.0/"))),
            Refusal::WrongIssuer
        );
        assert_eq!(
            with("tid", json!("00000000-0000-0000-0000-000000000000")),
            Refusal::WrongTenant
        );
        assert_eq!(with("aud", json!("other")), Refusal::WrongAudience);
        assert_eq!(
            with("aud", json!(["app-id", "other"])),
            Refusal::WrongAudience
        );
        assert_eq!(with("oid", json!("")), Refusal::NoSubject);
        assert_eq!(with("sub", serde_json::Value::Null), Refusal::NoSubject);
        assert_eq!(
            check(&claims(10_000 - MAX_AGE_SECS)).unwrap_err(),
            Refusal::Stale
        );
        assert_eq!(
            check(&claims(10_000 + CLOCK_SKEW_SECS + 1)).unwrap_err(),
            Refusal::Stale
        );
        assert!(check(&claims(10_000 - MAX_AGE_SECS + 1)).is_ok());
    }

    #[test]
    fn the_claimed_tenant_must_be_the_clients() {
        let encode = |c: serde_json::Value| {
            format!(
                "e30.{}.sig",
                Base64UrlUnpadded::encode_string(c.to_string().as_bytes())
            )
        };
        assert_eq!(claimed_tenant(&encode(claims(1)), &tenant()).unwrap(), TID);
        let mut other = claims(1);
        other["tid"] = json!("11111111-1111-1111-1111-111111111111");
        assert_eq!(
            claimed_tenant(&encode(other), &tenant()),
            Err(Refusal::WrongTenant)
        );
        assert_eq!(
            claimed_tenant("a.%%%.c", &tenant()),
            Err(Refusal::HintMalformed)
        );
    }
}
