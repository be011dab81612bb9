//! Passkeys: adding one, and signing in with one as the second factor. The WebAuthn checks
//! themselves (signature, challenge, origin, user verification) are done by the WebAuthn
//! adapter before these are called; here: whose credential it is, counting failures, the
//! audit trail, and what the sign-in becomes.

use crate::audit::AuditKind;
use crate::domain::{MethodId, MethodKind, UserId};
use crate::ports::CeremonyPurpose;

use super::send::code_failure_key;
use super::{RequestContext, SignInError, SignInService, SignInState};

/// A WebAuthn ceremony must be answered within this long.
pub const CEREMONY_SECS: i64 = 5 * 60;

/// Proof of possession of a key, with user verification (RFC 8176).
pub(crate) const AMR_KEY: [&str; 3] = ["pwd", "pop", "mfa"];

/// What a WebAuthn answer proved: which credential answered, and its new counter.
#[derive(Debug, Clone)]
pub struct WebAuthnProof {
    pub credential_id: String,
    pub updated: Option<String>,
}

impl SignInService {
    /// Keeps a ceremony's state until the browser answers (in the database, so any node can
    /// finish it); returns the ceremony's id.
    pub async fn ceremony_start(
        &self,
        user: UserId,
        purpose: CeremonyPurpose,
        state: &str,
    ) -> Result<String, SignInError> {
        let id = crate::ports::random_hex(self.entropy.as_ref(), 16);
        let expires = self.clock.now().plus_secs(CEREMONY_SECS);
        self.store
            .ceremony_put(&id, user, purpose, state, expires)
            .await?;
        Ok(id)
    }

    /// Takes a ceremony's state, once.
    pub async fn ceremony_take(
        &self,
        id: &str,
        user: UserId,
        purpose: CeremonyPurpose,
    ) -> Result<String, SignInError> {
        self.store
            .ceremony_take(id, user, purpose, self.clock.now())
            .await?
            .ok_or(SignInError::WebAuthnRefused)
    }

    /// The stored credentials of a user's passkeys (what an authentication may be answered
    /// with).
    pub async fn passkey_credentials(&self, user: UserId) -> Result<Vec<String>, SignInError> {
        Ok(self
            .store
            .methods(user)
            .await?
            .into_iter()
            .filter_map(|m| match m.kind {
                MethodKind::Passkey { credential, .. } => Some(credential),
                _ => None,
            })
            .collect())
    }

    /// Counts a passkey attempt against the account like a code, before its answer is checked
    /// (so parallel answers cannot all pass the limit check first).
    pub async fn passkey_attempt(
        &self,
        state: &SignInState,
        ctx: &RequestContext,
    ) -> Result<UserId, SignInError> {
        let SignInState::AwaitingPasskey { user_id, .. } = state else {
            return Err(SignInError::WrongStep);
        };
        self.reserve_attempt(*user_id, ctx).await?;
        Ok(*user_id)
    }

    /// Finishes a passkey sign-in. `proof` is `None` when the WebAuthn answer was refused.
    pub async fn passkey_signed_in(
        &self,
        state: &SignInState,
        proof: Option<WebAuthnProof>,
        ctx: &RequestContext,
    ) -> Result<SignInState, SignInError> {
        let SignInState::AwaitingPasskey { user_id, .. } = state else {
            return Err(SignInError::WrongStep);
        };
        let user_id = *user_id;
        let methods = self.store.methods(user_id).await?;
        // Only this user's own passkeys: a valid answer with someone else's is a failure.
        let method = proof.as_ref().and_then(|p| {
            methods.iter().find(|m| {
                matches!(&m.kind, MethodKind::Passkey { credential_id, .. }
                    if *credential_id == p.credential_id)
            })
        });
        let Some(method) = method else {
            self.audit(
                AuditKind::CodeChecked,
                "passkey_refused",
                Some(user_id),
                None,
                ctx,
                Some("method=passkey".into()),
            )
            .await?;
            return Err(SignInError::WebAuthnRefused);
        };
        if let Some(updated) = proof.and_then(|p| p.updated) {
            self.store.credential_update(method.id, &updated).await?;
        }
        self.signed_in_with(user_id, method.id, "passkey", ctx)
            .await
    }

    /// The end of every key-based sign-in (passkey, push approval).
    pub(crate) async fn signed_in_with(
        &self,
        user_id: UserId,
        method: MethodId,
        what: &str,
        ctx: &RequestContext,
    ) -> Result<SignInState, SignInError> {
        let now = self.clock.now();
        self.store.touch_method(method, now).await?;
        self.store.failure_clear(&code_failure_key(user_id)).await?;
        // Proved without SMS: an "I didn't ask for this" block on texts is lifted.
        self.store.sms_unblock(user_id).await?;
        self.audit(
            AuditKind::SignedIn,
            "ok",
            Some(user_id),
            None,
            ctx,
            Some(format!("amr={} method={what}", AMR_KEY.join(","))),
        )
        .await?;
        Ok(SignInState::SignedIn {
            user_id,
            auth_time: now,
            amr: AMR_KEY.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// Adds a passkey a signed-in user just registered.
    pub async fn add_passkey(
        &self,
        user: UserId,
        label: &str,
        credential_id: &str,
        credential: &str,
        ctx: &RequestContext,
    ) -> Result<MethodId, SignInError> {
        let label = crate::domain::Label::parse(label)?.into_string();
        let id = self
            .store
            .credential_method_add(
                user,
                &MethodKind::Passkey {
                    label: label.clone(),
                    credential_id: credential_id.to_string(),
                    credential: credential.to_string(),
                },
                None,
                None,
                self.clock.now(),
            )
            .await?;
        self.audit(
            AuditKind::MethodRegistered,
            "ok",
            Some(user),
            None,
            ctx,
            Some(format!("method=passkey label={label}")),
        )
        .await?;
        Ok(id)
    }
}
