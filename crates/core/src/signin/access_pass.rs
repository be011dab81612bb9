//! Temporary access passes: the helpdesk gives a user who lost their phone a pass; after the
//! password it stands in for the second factor, so they can register a new method. Only its
//! hash is stored; wrong passes count against the account like wrong codes.

use sha2::{Digest, Sha256};

use crate::audit::AuditKind;

use super::send::code_failure_key;
use super::{RequestContext, SignInError, SignInService, SignInState};

/// The pass as typed: letters and digits only, upper case ("k7qm-2fxr" = "K7QM2FXR").
pub fn normalize_pass(input: &str) -> String {
    input
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

pub fn pass_hash(input: &str) -> String {
    Sha256::digest(normalize_pass(input).as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const AMR_PASS: [&str; 2] = ["pwd", "tap"];

impl SignInService {
    /// Whether this sign-in may continue with a pass (its user holds a live one).
    pub async fn access_pass_offered(&self, state: &SignInState) -> Result<bool, SignInError> {
        let Some((_, user)) = state.second_factor() else {
            return Ok(false);
        };
        Ok(self.store.access_pass_live(user, self.clock.now()).await?)
    }

    pub async fn verify_access_pass(
        &self,
        state: &SignInState,
        input: &str,
        ctx: &RequestContext,
    ) -> Result<SignInState, SignInError> {
        if !self.access_pass_offered(state).await? {
            return Err(SignInError::WrongStep);
        }
        let user = state.user().ok_or(SignInError::WrongStep)?;
        self.reserve_attempt(user, ctx).await?;
        let now = self.clock.now();
        if !self
            .store
            .access_pass_use(user, &pass_hash(input), now)
            .await?
        {
            self.audit(
                AuditKind::CodeChecked,
                "wrong_access_pass",
                Some(user),
                None,
                ctx,
                None,
            )
            .await?;
            return Err(SignInError::WrongAccessPass);
        }
        self.store.failure_clear(&code_failure_key(user)).await?;
        self.audit(
            AuditKind::SignedIn,
            "ok",
            Some(user),
            None,
            ctx,
            Some("amr=pwd,tap".into()),
        )
        .await?;
        Ok(SignInState::SignedIn {
            user_id: user,
            auth_time: now,
            amr: AMR_PASS.iter().map(|s| s.to_string()).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_are_compared_as_typed_loosely() {
        assert_eq!(normalize_pass(" k7qm-2fxr 9hpa "), "K7QM2FXR9HPA");
        assert_eq!(pass_hash("k7qm-2fxr"), pass_hash("K7QM2FXR"));
        assert_ne!(pass_hash("K7QM2FXR"), pass_hash("K7QM2FXS"));
    }
}
