//! Linking a phone's tweestap app: a one-time link shown as a QR code, the phone's own
//! WebAuthn credential, and the test approval that makes it count.

use crate::audit::AuditKind;
use crate::domain::{Method, MethodId, MethodKind, Timestamp, UserId};
use crate::ports::ApprovalPurpose;

use super::push::PushStatus;
use super::{RequestContext, SignInError, SignInService};

/// Where linking a phone stands, as the computer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkStatus {
    /// A phone registered its key with the link; the user must say on the computer whether it
    /// is theirs. `details`: browser, place and address of the phone (JSON).
    ToConfirm { request: String, details: String },
    /// The test approval (after the computer's yes).
    Push { request: String, status: PushStatus },
}

/// A link shown as a QR code works this long, once.
pub const APP_LINK_SECS: i64 = 10 * 60;

impl SignInService {
    /// Starts linking a phone: a one-time link (returned once; only its hash is kept).
    pub async fn start_app_link(&self, user: UserId) -> Result<String, SignInError> {
        let token = crate::ports::random_hex(self.entropy.as_ref(), 32);
        let now = self.clock.now();
        self.store
            .app_link_put(
                user,
                &super::device_token_hash(&token),
                now,
                now.plus_secs(APP_LINK_SECS),
            )
            .await?;
        Ok(token)
    }

    /// The account a live link belongs to.
    pub async fn app_link_user(&self, token: &str) -> Result<Option<UserId>, SignInError> {
        Ok(self
            .store
            .app_link_user(&super::device_token_hash(token), self.clock.now())
            .await?)
    }

    /// Finishes linking on the phone: uses the link (once), stores the phone's credential as
    /// a tweestap app that counts after its test approval, and makes that request, which
    /// waits until the computer that showed the QR code says the phone is the user's.
    /// `details`: what the computer shows about the phone (browser, place, address; JSON).
    /// Returns the phone's cookie token (shown once) and the new method.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_app_link(
        &self,
        token: &str,
        user: UserId,
        label: &str,
        credential_id: &str,
        credential: &str,
        replaces: Option<MethodId>,
        details: &str,
        ctx: &RequestContext,
    ) -> Result<(String, MethodId), SignInError> {
        let label = crate::domain::Label::parse(label)?.into_string();
        let now = self.clock.now();
        if let Some(until) = self.push_blocked(user).await? {
            return Err(SignInError::PushBlocked { until });
        }
        if !self
            .store
            .app_link_use(&super::device_token_hash(token), now)
            .await?
        {
            return Err(SignInError::WebAuthnRefused);
        }
        let device_token = crate::ports::random_hex(self.entropy.as_ref(), 32);
        let kind = MethodKind::PushApp {
            label,
            credential_id: credential_id.to_string(),
            credential: credential.to_string(),
            subscription: None,
        };
        let id = self
            .store
            .credential_method_add(
                user,
                &kind,
                Some(&super::device_token_hash(&device_token)),
                replaces,
                now,
            )
            .await?;
        let method = Method {
            id,
            user_id: user,
            kind,
            created_at: now,
            last_used_at: None,
            is_default: false,
        };
        self.new_request(&method, ApprovalPurpose::Link, details, ctx)
            .await?;
        Ok((device_token, id))
    }

    /// Where linking a phone stands, for the computer's page: a phone waiting to be confirmed,
    /// the test request's state and number, or `None` before a phone got that far.
    pub async fn link_status(
        &self,
        user: UserId,
        since: Timestamp,
    ) -> Result<Option<LinkStatus>, SignInError> {
        let Some(a) = self.store.approval_latest_link(user).await? else {
            return Ok(None);
        };
        if a.created_at < since {
            return Ok(None);
        }
        let status = self.push_status(user, &a.id).await?;
        Ok(Some(match status {
            PushStatus::Pending { .. } if !a.confirmed => LinkStatus::ToConfirm {
                request: a.id,
                details: a.context,
            },
            status => LinkStatus::Push {
                request: a.id,
                status,
            },
        }))
    }

    /// The computer's answer to "a phone wants to link: is it yours?". Yes: the phone may
    /// make its test approval (with the number the computer then shows). No: that phone's
    /// link is cancelled. `false` when there was nothing to decide (answered, expired).
    pub async fn decide_app_link(
        &self,
        user: UserId,
        request: &str,
        yes: bool,
        ctx: &RequestContext,
    ) -> Result<bool, SignInError> {
        let now = self.clock.now();
        let until = now.plus_secs(self.policy.push.ttl_secs.max(120));
        let decided = self
            .store
            .approval_link_decide(request, user, yes, now, until)
            .await?;
        if decided {
            let outcome = if yes { "confirmed" } else { "refused" };
            let detail = Some(format!("request={request}"));
            self.audit(
                AuditKind::LinkConfirmed,
                outcome,
                Some(user),
                None,
                ctx,
                detail,
            )
            .await?;
        }
        Ok(decided)
    }

    /// A link opened again after another phone used it: the owner, beaten to it (a photo of
    /// the QR code on a shared screen), must not end up confirming the other phone on the
    /// computer. Every link request of the account still waiting is closed; `true` when the
    /// link was such a spent one.
    pub async fn contest_app_link(
        &self,
        token: &str,
        ctx: &RequestContext,
    ) -> Result<bool, SignInError> {
        let now = self.clock.now();
        let hash = super::device_token_hash(token);
        let Some(user) = self.store.app_link_spent(&hash, now).await? else {
            return Ok(false);
        };
        if self.store.approvals_link_cancel(user, now).await? > 0 {
            self.audit(
                AuditKind::LinkConfirmed,
                "contested",
                Some(user),
                None,
                ctx,
                None,
            )
            .await?;
        }
        Ok(true)
    }

    /// The tweestap app a phone's cookie belongs to.
    pub async fn phone_app(&self, device_token: &str) -> Result<Option<Method>, SignInError> {
        Ok(self
            .store
            .push_method_by_device(&super::device_token_hash(device_token))
            .await?)
    }
}
