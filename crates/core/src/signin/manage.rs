//! What a signed-in user does with their methods beyond adding one: removing one, choosing
//! the default, and the notices that announce every change; and the invitation to use an app.

use crate::audit::AuditKind;
use crate::domain::{Method, MethodId, MethodKind, UserId};

use super::{RequestContext, SignInError, SignInService, SignInState};

impl SignInService {
    /// Tells the account's owner that its sign-in methods changed, on every channel it has
    /// (texts to `phones`, or to the phones it has now; its e-mail address), so a thief who
    /// got in cannot quietly add their own. Texts go out even while blocked by a report: this
    /// is the owner's alarm.
    pub async fn announce(
        &self,
        user: UserId,
        phones: Option<&[crate::domain::PhoneNumber]>,
        notice: crate::notices::Notice,
        lang: &str,
        ctx: &RequestContext,
    ) -> Result<(), SignInError> {
        let Some(account) = self.store.user_by_id(user).await? else {
            return Ok(());
        };
        let current: Vec<_>;
        let phones = match phones {
            Some(phones) => phones,
            None => {
                current = crate::domain::Method::phones(&self.store.methods(user).await?);
                &current
            }
        };
        let actor = crate::audit::Actor::User;
        self.notices
            .announce(&account, phones, notice, Some(lang), actor, Some(&ctx.ip))
            .await?;
        Ok(())
    }

    /// Removes one of the user's methods; never the last one when the policy requires a
    /// second factor. Whoever added it may be signed in with it elsewhere: the account's other
    /// sessions (all but `keep`, this browser's), remembered devices and application tokens
    /// end with it. Returns the phones the account had before, to announce the removal to.
    pub async fn remove_method(
        &self,
        user: UserId,
        method: MethodId,
        keep: &str,
        ctx: &RequestContext,
    ) -> Result<Vec<crate::domain::PhoneNumber>, SignInError> {
        let methods = self.store.methods(user).await?;
        let phones = crate::domain::Method::phones(&methods);
        let Some(target) = methods.iter().find(|m| m.id == method) else {
            return Err(SignInError::WrongStep);
        };
        if methods.len() == 1 && self.policy.mfa == crate::policy::MfaRequirement::Required {
            return Err(SignInError::LastMethod);
        }
        let what = match &target.kind {
            MethodKind::Sms { phone } => format!("method=sms phone={}", phone.masked()),
            MethodKind::Totp { label, .. } => format!("method=app label={label}"),
            MethodKind::Passkey { label, .. } => format!("method=passkey label={label}"),
            MethodKind::PushApp { label, .. } => format!("method=push label={label}"),
        };
        let keep_one = self.policy.mfa == crate::policy::MfaRequirement::Required;
        if !self.store.method_remove(user, method, keep_one).await? {
            // Another tab removed the other one meanwhile: this is the last one now.
            let still_there = self
                .store
                .methods(user)
                .await?
                .iter()
                .any(|m| m.id == method);
            return Err(if still_there {
                SignInError::LastMethod
            } else {
                SignInError::WrongStep
            });
        }
        crate::revoke::end_access(self.store.as_ref(), user, Some(keep), self.clock.now()).await?;
        self.audit(
            AuditKind::MethodRemoved,
            "ok",
            Some(user),
            None,
            ctx,
            Some(what),
        )
        .await?;
        Ok(phones)
    }

    /// A new name for an app, passkey or linked phone (see [`crate::domain::Label`]; an empty
    /// name is refused as `WrongStep`, which the page treats as "nothing changed").
    pub async fn rename_method(
        &self,
        user: UserId,
        method: MethodId,
        label: &str,
        ctx: &RequestContext,
    ) -> Result<(), SignInError> {
        let label = match crate::domain::Label::parse(label) {
            Ok(label) => label.into_string(),
            Err(crate::domain::LabelError::Empty) => return Err(SignInError::WrongStep),
            Err(e) => return Err(e.into()),
        };
        if !self.store.method_rename(user, method, &label).await? {
            return Err(SignInError::WrongStep);
        }
        self.audit(
            AuditKind::MethodRenamed,
            "ok",
            Some(user),
            None,
            ctx,
            Some(format!("method_id={} label={label}", method.0)),
        )
        .await
    }

    /// The user's choice of the method to be asked for first.
    pub async fn set_default_method(
        &self,
        user: UserId,
        method: MethodId,
        ctx: &RequestContext,
    ) -> Result<(), SignInError> {
        if !self.store.method_set_default(user, method).await? {
            return Err(SignInError::WrongStep);
        }
        self.audit(
            AuditKind::MethodDefaultSet,
            "ok",
            Some(user),
            None,
            ctx,
            Some(format!("method_id={}", method.0)),
        )
        .await
    }

    /// Whether to invite this user, just signed in by SMS, to use an app instead; and how
    /// many "not now"s they have left.
    pub async fn app_invitation(&self, state: &SignInState) -> Result<Option<u32>, SignInError> {
        let campaign = &self.policy.app_campaign;
        let SignInState::SignedIn { user_id, amr, .. } = state else {
            return Ok(None);
        };
        if !campaign.enabled || !amr.iter().any(|m| m == "sms") {
            return Ok(None);
        }
        if self
            .store
            .methods(*user_id)
            .await?
            .iter()
            .any(Method::is_app)
        {
            return Ok(None);
        }
        let skips = self.store.app_invite_skips(*user_id).await?;
        Ok(Some(campaign.skips_allowed.saturating_sub(skips)))
    }

    /// "Not now" — refused once the allowed number is used up.
    pub async fn skip_app_invitation(
        &self,
        state: &SignInState,
        ctx: &RequestContext,
    ) -> Result<bool, SignInError> {
        match self.app_invitation(state).await? {
            Some(left) if left > 0 => {
                let user = state.signed_in_user().ok_or(SignInError::WrongStep)?;
                self.store.app_invite_skip(user).await?;
                self.audit(
                    AuditKind::AppInviteSkipped,
                    "ok",
                    Some(user),
                    None,
                    ctx,
                    Some(format!("left={}", left - 1)),
                )
                .await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
