//! The answer Entra gets: a form the browser posts to the redirect URI, carrying an id_token
//! (or an `error`) and the request's `state`.

use serde::Serialize;

use super::refusal::Refusal;
use super::request::{Pending, ReplyTo};
use crate::domain::Timestamp;
use crate::signin::SignInState;

/// What the user did for their second factor, as Entra's single `amr` value names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Sms,
    AppCode,
    /// Approval in the tweestap app: a device-bound software key signs the answer.
    Push,
    Passkey,
    /// A helpdesk's temporary access pass: a one-time code given out of band.
    AccessPass,
}

impl Factor {
    pub fn amr(self) -> &'static str {
        match self {
            Factor::Sms => "sms",
            Factor::AppCode | Factor::AccessPass => "otp",
            Factor::Push => "swk",
            Factor::Passkey => "fido",
        }
    }

    /// The factor a finished step proved: the step the user was on, and what the sign-in
    /// recorded (an access pass can end any step).
    pub fn of_step(step: &SignInState, amr: &[String]) -> Option<Factor> {
        if amr.iter().any(|a| a == "tap") {
            return Some(Factor::AccessPass);
        }
        match step {
            SignInState::AwaitingCode { .. } => Some(Factor::Sms),
            SignInState::AwaitingApp { .. } | SignInState::RegisteringApp { .. } => {
                Some(Factor::AppCode)
            }
            SignInState::AwaitingPush { .. } => Some(Factor::Push),
            SignInState::AwaitingPasskey { .. } => Some(Factor::Passkey),
            _ => None,
        }
    }
}

/// A form for the browser to post (auto-submitted; a button where scripts do not run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FormPost {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

/// How long the answer's id_token is good for: Entra reads it at once.
const ID_TOKEN_SECS: i64 = 300;

/// The id_token's claims: `iss` exactly the discovery issuer, `aud` the client id, `sub` the
/// hint's, the nonce, one `acr` Entra asked for and exactly one `amr` for what was done.
pub fn id_token_claims(
    pending: &Pending,
    issuer: &str,
    factor: Factor,
    now: Timestamp,
) -> Result<serde_json::Value, Refusal> {
    let amr = factor.amr();
    if !pending.amr_values.iter().any(|a| a == amr) {
        return Err(Refusal::MethodNotAccepted);
    }
    let acr = pending
        .acr_values
        .first()
        .ok_or(Refusal::MethodNotAccepted)?;
    Ok(serde_json::json!({
        "iss": issuer,
        "aud": pending.client_id,
        "sub": pending.sub,
        "nonce": pending.nonce,
        "iat": now.0,
        "exp": now.0 + ID_TOKEN_SECS,
        "auth_time": now.0,
        "acr": acr,
        "amr": [amr],
    }))
}

fn with_state(mut fields: Vec<(String, String)>, reply: &ReplyTo) -> FormPost {
    if let Some(state) = &reply.state {
        fields.push(("state".into(), state.clone()));
    }
    FormPost {
        action: reply.redirect_uri.clone(),
        fields,
    }
}

pub fn success(pending: &Pending, id_token: String) -> FormPost {
    with_state(vec![("id_token".into(), id_token)], &pending.reply)
}

/// The refusal for Entra, when it may hear one.
pub fn failure(reply: &ReplyTo, refusal: Refusal) -> Option<FormPost> {
    let error = refusal.error()?;
    Some(with_state(
        vec![
            ("error".into(), error.into()),
            ("error_description".into(), refusal.to_string()),
        ],
        reply,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;

    fn pending(amr: &[&str]) -> Pending {
        Pending {
            tenant_id: "t".into(),
            object_id: "o".into(),
            client_id: "client".into(),
            reply: ReplyTo {
                redirect_uri:
                    "https://login.microsoftonline.com/common/federation/externalauthprovider"
                        .into(),
                state: Some("st".into()),
            },
            nonce: "n".into(),
            sub: "pairwise".into(),
            acr_values: vec!["possession".into(), "possessionorinherence".into()],
            amr_values: amr.iter().map(|s| s.to_string()).collect(),
            deadline: Timestamp(400),
            user_id: UserId(1),
        }
    }

    #[test]
    fn the_answer_names_one_acr_and_exactly_one_amr() {
        let claims = id_token_claims(
            &pending(&["sms", "fido"]),
            "https://i/x",
            Factor::Passkey,
            Timestamp(100),
        )
        .unwrap();
        assert_eq!(claims["amr"], serde_json::json!(["fido"]));
        assert_eq!(claims["acr"], "possession");
        assert_eq!(claims["aud"], "client");
        assert_eq!(claims["sub"], "pairwise");
        assert_eq!(claims["nonce"], "n");
        assert_eq!(
            id_token_claims(&pending(&["sms"]), "i", Factor::Push, Timestamp(1)),
            Err(Refusal::MethodNotAccepted)
        );
    }

    #[test]
    fn a_refusal_carries_the_state_and_never_goes_where_it_must_not() {
        let p = pending(&[]);
        let form = failure(&p.reply, Refusal::Denied).unwrap();
        assert_eq!(
            form.fields[0],
            ("error".to_string(), "access_denied".to_string())
        );
        assert_eq!(
            form.fields.last().unwrap(),
            &("state".to_string(), "st".to_string())
        );
        assert!(failure(&p.reply, Refusal::RedirectUri).is_none());
    }

    #[test]
    fn the_step_names_the_factor() {
        let step = SignInState::AwaitingPasskey {
            flow: "f".into(),
            user_id: UserId(1),
        };
        assert_eq!(Factor::of_step(&step, &[]), Some(Factor::Passkey));
        assert_eq!(
            Factor::of_step(&step, &["pwd".into(), "tap".into()]),
            Some(Factor::AccessPass)
        );
        assert_eq!(Factor::of_step(&SignInState::Start, &[]), None);
    }
}
