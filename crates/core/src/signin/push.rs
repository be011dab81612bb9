//! Signing in by approving on the phone (the tweestap app), with number matching: requests,
//! answers, the sign-in page going on, linking a phone, and "this wasn't me". The rules are in
//! [`crate::approval`]; the WebAuthn check of an approval is done by the adapter before
//! [`SignInService::answer_push`] is called with `Answer::Approve`.

use crate::approval::{self, Answer, AnswerOutcome, ApprovalStatus};
use crate::audit::AuditKind;
use crate::domain::{Method, MethodKind, Timestamp, UserId};
use crate::ports::{ApprovalPurpose, StoredApproval};

use super::{RequestContext, SignInError, SignInService, SignInState};

/// After a request's time is up, an approval given in time may still be used this long (the
/// page continues within a second; a slow network gets some slack, an idle tab does not).
const CONTINUE_GRACE_SECS: i64 = 30;

/// What the waiting sign-in page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushStatus {
    Pending { number: u8, expires_at: Timestamp },
    Approved,
    Denied,
    WrongNumber,
    Reported,
    Expired,
}

impl PushStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PushStatus::Pending { .. } => "pending",
            PushStatus::Approved => "approved",
            PushStatus::Denied => "denied",
            PushStatus::WrongNumber => "wrong_number",
            PushStatus::Reported => "reported",
            PushStatus::Expired => "expired",
        }
    }
}

/// What became of a phone's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushAnswer {
    pub outcome: AnswerOutcome,
    /// It completed linking a phone: a new method, to be announced like any other.
    pub linked: bool,
}

/// A request just made: who to notify, and how.
#[derive(Debug, Clone)]
pub struct PushStarted {
    pub state: SignInState,
    pub approval_id: String,
    /// The app's Web Push subscription, when it has one.
    pub subscription: Option<String>,
}

impl SignInService {
    /// Makes the approval request a sign-in waits for (within the caps: one at a time, a number
    /// per hour, a pause after denials, none while the owner's report blocks push).
    pub async fn start_push(
        &self,
        state: &SignInState,
        context: &str,
        ctx: &RequestContext,
    ) -> Result<PushStarted, SignInError> {
        let SignInState::AwaitingPush {
            flow,
            user_id,
            method_id,
            ..
        } = state
        else {
            return Err(SignInError::WrongStep);
        };
        let methods = self.store.methods(*user_id).await?;
        let method = methods
            .iter()
            .find(|m| m.id == *method_id)
            .ok_or(SignInError::WrongStep)?;
        let (id, subscription) = self
            .new_request(method, ApprovalPurpose::SignIn, context, ctx)
            .await?;
        Ok(PushStarted {
            state: SignInState::AwaitingPush {
                flow: flow.clone(),
                user_id: *user_id,
                method_id: *method_id,
                approval: Some(id.clone()),
            },
            approval_id: id,
            subscription,
        })
    }

    pub(super) async fn new_request(
        &self,
        method: &Method,
        purpose: ApprovalPurpose,
        context: &str,
        ctx: &RequestContext,
    ) -> Result<(String, Option<String>), SignInError> {
        let MethodKind::PushApp { subscription, .. } = &method.kind else {
            return Err(SignInError::WrongStep);
        };
        let user = method.user_id;
        let now = self.clock.now();
        let refused = |outcome: &'static str, e: SignInError| async move {
            self.audit(
                AuditKind::PushRequested,
                outcome,
                Some(user),
                None,
                ctx,
                None,
            )
            .await?;
            Err::<(String, Option<String>), _>(e)
        };
        if let Some(until) = self.push_blocked(user).await? {
            return refused("blocked", SignInError::PushBlocked { until }).await;
        }
        let policy = &self.policy.push;
        if purpose == ApprovalPurpose::SignIn {
            let history = self
                .store
                .approval_history(user, now, policy.pause_secs)
                .await?;
            if let Err(why) = approval::may_start(&history, now, policy) {
                return refused("refused", SignInError::PushRefused(why)).await;
            }
        }
        let (number, offered) = approval::numbers(self.entropy.as_ref());
        let id = crate::ports::random_hex(self.entropy.as_ref(), 16);
        let stored = self
            .store
            .approval_insert(
                &StoredApproval {
                    id: id.clone(),
                    user_id: user,
                    method_id: method.id,
                    purpose,
                    number,
                    offered,
                    context: context.to_string(),
                    created_at: now,
                    // Linking has the phone in hand already, but the person walks between two
                    // screens: never less than the sign-in's time.
                    expires_at: now.plus_secs(match purpose {
                        ApprovalPurpose::SignIn => self.policy.push.ttl_secs,
                        ApprovalPurpose::Link => self.policy.push.ttl_secs.max(120),
                    }),
                    status: ApprovalStatus::Pending,
                    consumed: false,
                    // A link waits for the computer that showed the QR code (see app_link).
                    confirmed: purpose == ApprovalPurpose::SignIn,
                },
                (purpose == ApprovalPurpose::SignIn).then_some(policy.max_per_hour),
            )
            .await?;
        if !stored {
            // Another sign-in got there in the same moment: the caps hold, atomically.
            let history = self
                .store
                .approval_history(user, now, policy.pause_secs)
                .await?;
            let why = approval::may_start(&history, now, policy)
                .err()
                .unwrap_or(approval::StartRefusal::Pending);
            return refused("refused", SignInError::PushRefused(why)).await;
        }
        self.audit(
            AuditKind::PushRequested,
            "ok",
            Some(user),
            None,
            ctx,
            Some(format!("request={id}")),
        )
        .await?;
        Ok((id, subscription.clone()))
    }

    /// Until when a "this wasn't me" report blocks push for the account, if it still does.
    pub(super) async fn push_blocked(
        &self,
        user: UserId,
    ) -> Result<Option<Timestamp>, SignInError> {
        let now = self.clock.now();
        Ok(self
            .store
            .push_blocked_until(user)
            .await?
            .filter(|until| now < *until))
    }

    /// Where a request stands, for the page waiting for it. Only its own user's.
    pub async fn push_status(
        &self,
        user: UserId,
        approval_id: &str,
    ) -> Result<PushStatus, SignInError> {
        let a = self
            .store
            .approval_get(approval_id)
            .await?
            .filter(|a| a.user_id == user)
            .ok_or(SignInError::WrongStep)?;
        Ok(match a.status {
            ApprovalStatus::Pending if self.clock.now() >= a.expires_at => PushStatus::Expired,
            ApprovalStatus::Pending => PushStatus::Pending {
                number: a.number,
                expires_at: a.expires_at,
            },
            // Not used in time: the page must not offer a "continue" that cannot work.
            ApprovalStatus::Approved
                if !a.consumed
                    && self.clock.now() > a.expires_at.plus_secs(CONTINUE_GRACE_SECS) =>
            {
                PushStatus::Expired
            }
            ApprovalStatus::Approved => PushStatus::Approved,
            ApprovalStatus::Denied => PushStatus::Denied,
            ApprovalStatus::WrongNumber => PushStatus::WrongNumber,
            ApprovalStatus::Reported => PushStatus::Reported,
        })
    }

    /// The sign-in page goes on: only with an approved request of this sign-in, once.
    pub async fn push_continue(
        &self,
        state: &SignInState,
        ctx: &RequestContext,
    ) -> Result<SignInState, SignInError> {
        let SignInState::AwaitingPush {
            user_id,
            method_id,
            approval: Some(approval_id),
            ..
        } = state
        else {
            return Err(SignInError::WrongStep);
        };
        let now = self.clock.now();
        let Some(approval) = self
            .store
            .approval_get(approval_id)
            .await?
            .filter(|a| a.user_id == *user_id && a.method_id == *method_id)
        else {
            return Err(SignInError::WrongStep);
        };
        // The phone must still be one of the user's methods, and push not blocked by a report
        // made since; an approval is used once, soon after it was given.
        let phone_still_there = self
            .store
            .methods(*user_id)
            .await?
            .iter()
            .any(|m| m.id == *method_id);
        let blocked = self.push_blocked(*user_id).await?.is_some();
        if approval.status != ApprovalStatus::Approved
            || !phone_still_there
            || blocked
            || !self
                .store
                .approval_consume(
                    approval_id,
                    now,
                    approval.expires_at.plus_secs(CONTINUE_GRACE_SECS),
                )
                .await?
        {
            return Err(SignInError::WebAuthnRefused);
        }
        self.signed_in_with(*user_id, *method_id, "push", ctx).await
    }

    /// The phone's app: requests waiting for it.
    pub async fn push_pending(&self, phone: &Method) -> Result<Vec<StoredApproval>, SignInError> {
        Ok(self
            .store
            .approvals_pending(phone.id, self.clock.now())
            .await?)
    }

    /// A request addressed to this phone (`None` for anyone else's: another account's or
    /// another phone's requests cannot be seen or answered).
    pub async fn push_request_for(
        &self,
        phone: &Method,
        approval_id: &str,
    ) -> Result<Option<StoredApproval>, SignInError> {
        Ok(self
            .store
            .approval_get(approval_id)
            .await?
            .filter(|a| a.method_id == phone.id && a.user_id == phone.user_id))
    }

    /// The phone's answer. An approval must come with the phone's WebAuthn proof (checked by
    /// the caller against a ceremony for this request); deny and report need the phone only.
    pub async fn answer_push(
        &self,
        phone: &Method,
        approval_id: &str,
        answer: Answer,
        ctx: &RequestContext,
    ) -> Result<PushAnswer, SignInError> {
        let Some(request) = self.push_request_for(phone, approval_id).await? else {
            return Err(SignInError::WrongStep);
        };
        // A link nobody confirmed on the computer yet cannot be answered at all.
        if !request.confirmed {
            return Err(SignInError::WrongStep);
        }
        let now = self.clock.now();
        let rules = approval::Approval {
            id: request.id.clone(),
            user_id: request.user_id,
            number: request.number,
            created_at: request.created_at,
            expires_at: request.expires_at,
            status: request.status,
        };
        // Linking is not a sign-in: "this wasn't me" there only cancels it (whoever holds the
        // QR code must not be able to block the account's texts).
        let answer = match (request.purpose, answer) {
            (ApprovalPurpose::Link, Answer::Report) => Answer::Deny,
            (_, a) => a,
        };
        let mut outcome = approval::answer(&rules, answer, now);
        if let Some(status) = outcome.status()
            && !self.store.approval_answer(&request.id, status, now).await?
        {
            // Another answer got there first.
            outcome = AnswerOutcome::AlreadyAnswered;
        }
        let user = request.user_id;
        let linking = request.purpose == ApprovalPurpose::Link;
        self.audit(
            AuditKind::PushAnswered,
            outcome.as_str(),
            Some(user),
            None,
            ctx,
            Some(format!("request={}", request.id)),
        )
        .await?;
        match outcome {
            AnswerOutcome::WrongNumber => {
                self.store
                    .failure_record(&super::send::code_failure_key(user), now)
                    .await?;
            }
            AnswerOutcome::Reported => self.report_push(user, ctx).await?,
            AnswerOutcome::Approved if linking => {
                self.store.push_method_confirm(phone.id, now).await?;
                self.audit(
                    AuditKind::MethodRegistered,
                    "ok",
                    Some(user),
                    None,
                    ctx,
                    Some(format!(
                        "method=push label={}",
                        phone.label().unwrap_or_default()
                    )),
                )
                .await?;
            }
            _ => {}
        }
        Ok(PushAnswer {
            outcome,
            linked: linking && outcome == AnswerOutcome::Approved,
        })
    }

    /// "This wasn't me": push and SMS stop for the account, and administrators are told.
    async fn report_push(&self, user: UserId, ctx: &RequestContext) -> Result<(), SignInError> {
        let now = self.clock.now();
        let until = now.plus_secs(self.policy.push.report_block_secs);
        let reason = "the owner reported a push approval request they did not make";
        self.store.push_block(user, until, reason, now).await?;
        // An approval given by mistake, not yet used, is void as well.
        self.store.approvals_report_all(user, now).await?;
        self.store.sms_block(user, until, None, reason).await?;
        self.audit(
            AuditKind::PushReported,
            "blocked",
            Some(user),
            None,
            ctx,
            Some(format!("until={}", until.0)),
        )
        .await
    }
}
