use sha2::{Digest, Sha256};

use crate::audit::AuditKind;
use crate::domain::{OtpCode, Timestamp, UserId};
use crate::ports::{NewChallenge, NewQueuedSms, SendCountsQuery, SmsStatus, random_hex};

use super::{
    CodeTarget, RequestContext, SendRefusal, SignInError, SignInService, SignInState, may_send,
};

/// Writes the text message for a code, in the user's language; the second argument is the
/// token for the "didn't ask for this?" link, when there is one. The web layer owns the wording.
pub type SmsText<'a> = &'a (dyn Fn(&OtpCode, Option<&str>) -> String + Send + Sync);

pub(super) fn code_failure_key(user: UserId) -> String {
    format!("code:user:{}", user.0)
}

/// How long a "didn't ask for this?" link keeps working.
const REPORT_LINK_SECS: i64 = 7 * 24 * 3600;

/// The outcome of an owner's report of an unrequested code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportOutcome {
    /// Sends to the account are blocked until then.
    Blocked { until: Timestamp },
    /// The link is unknown, used or too old.
    Invalid,
}

impl SignInService {
    /// Queues a (new) code for the current step, within the budgets. The code and its text
    /// message are written in one transaction; a worker sends it. A new code replaces the old.
    pub async fn send_code(
        &self,
        state: &SignInState,
        ctx: &RequestContext,
        text: SmsText<'_>,
    ) -> Result<SignInState, SignInError> {
        let SignInState::AwaitingCode {
            flow,
            user_id,
            target,
            ..
        } = state
        else {
            return Err(SignInError::WrongStep);
        };
        // A method removed since the password (reset-mfa, a new phone) gets no more codes.
        if let CodeTarget::Method { method_id, phone } = target {
            let methods = self.store.methods(*user_id).await?;
            if !methods
                .iter()
                .any(|m| m.id == *method_id && m.phone() == Some(phone))
            {
                return Err(SignInError::WrongStep);
            }
        }
        // The allow-list applies to every send, also to numbers registered before it narrowed.
        let country = target.phone().country();
        if !self
            .policy
            .allowed_countries
            .iter()
            .any(|c| c.eq_ignore_ascii_case(country))
        {
            return Err(SignInError::NotSent(SendRefusal::NumberNotAllowed));
        }
        let now = self.clock.now();
        let phone = target.phone();
        let code = OtpCode::generate(self.entropy.as_ref());
        let reference = random_hex(self.entropy.as_ref(), 8);
        let report_token = self
            .policy
            .sms
            .report_link
            .then(|| random_hex(self.entropy.as_ref(), 9));
        let body = text(&code, report_token.as_deref());
        let mut nonce = [0u8; 12];
        self.entropy.fill(&mut nonce);
        let network = ctx.network();
        let failure_key = code_failure_key(*user_id);
        let policy = &self.policy;
        let decision = self
            .store
            .challenge_create(
                &NewChallenge {
                    flow: flow.clone(),
                    user_id: *user_id,
                    phone: phone.clone(),
                    code_hash: self.keys.code.hash(flow, &code),
                    created_at: now,
                    expires_at: now.plus_secs(policy.code.ttl_secs),
                },
                &NewQueuedSms {
                    reference: reference.clone(),
                    user_id: Some(*user_id),
                    phone: phone.clone(),
                    sealed_text: self
                        .keys
                        .seal
                        .seal(body.as_bytes(), reference.as_bytes(), nonce),
                    network: Some(network.clone()),
                    report_token_hash: report_token.as_deref().map(token_hash),
                    created_at: now,
                    expires_at: now.plus_secs(policy.code.ttl_secs),
                },
                &SendCountsQuery {
                    user: *user_id,
                    phone,
                    network: &network,
                    now,
                    failure_key: &failure_key,
                    failure_since: now.minus_secs(policy.code.failure_window_secs),
                },
                &|counts| may_send(counts, now, &policy.code, &policy.sms),
            )
            .await?;
        let detail = format!("to={} ref={reference}", phone.masked());
        let challenge = match decision {
            Ok(challenge) => challenge,
            Err(refusal) => {
                self.audit(
                    AuditKind::CodeSendRefused,
                    refusal_name(refusal),
                    Some(*user_id),
                    None,
                    ctx,
                    Some(detail),
                )
                .await?;
                return Err(SignInError::NotSent(refusal));
            }
        };
        self.sms_queue.wake();
        self.audit(
            AuditKind::CodeSent,
            "queued",
            Some(*user_id),
            None,
            ctx,
            Some(detail),
        )
        .await?;
        Ok(SignInState::AwaitingCode {
            flow: flow.clone(),
            user_id: *user_id,
            target: target.clone(),
            challenge: Some(challenge),
        })
    }

    /// Where the text message of the current code is (queued, sent, failed …).
    pub async fn message_status(
        &self,
        state: &SignInState,
    ) -> Result<Option<SmsStatus>, SignInError> {
        match state {
            SignInState::AwaitingCode {
                challenge: Some(id),
                ..
            } => Ok(self.store.sms_for_challenge(*id).await?),
            _ => Ok(None),
        }
    }

    /// The message a "didn't ask for this?" link belongs to, while the link is valid.
    pub async fn report_target(&self, token: &str) -> Result<Option<SmsStatus>, SignInError> {
        if token.len() > 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let found = self.store.sms_report_lookup(&token_hash(token)).await?;
        let now = self.clock.now();
        Ok(found.filter(|m| m.created_at.plus_secs(REPORT_LINK_SECS) > now))
    }

    /// The phone's owner says they did not ask for this code: stop sending codes to the account
    /// for a while, and tell the administrators through the audit trail.
    pub async fn report_unrequested(
        &self,
        token: &str,
        ctx: &RequestContext,
    ) -> Result<ReportOutcome, SignInError> {
        let Some(message) = self.report_target(token).await? else {
            return Ok(ReportOutcome::Invalid);
        };
        let Some(user) = message.user_id else {
            return Ok(ReportOutcome::Invalid);
        };
        let until = self
            .clock
            .now()
            .plus_secs(self.policy.sms.report_block_secs);
        self.store
            .sms_block(
                user,
                until,
                Some(&token_hash(token)),
                "owner reported an unrequested code",
            )
            .await?;
        self.audit(
            AuditKind::UnrequestedCodeReported,
            "blocked",
            Some(user),
            None,
            ctx,
            Some(format!(
                "ref={} to={}",
                message.reference,
                message.phone.masked()
            )),
        )
        .await?;
        Ok(ReportOutcome::Blocked { until })
    }
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn refusal_name(refusal: SendRefusal) -> &'static str {
    match refusal {
        SendRefusal::Cooldown { .. } => "cooldown",
        SendRefusal::AccountBudget => "account_budget",
        SendRefusal::NumberBudget => "number_budget",
        SendRefusal::NetworkBudget => "network_budget",
        SendRefusal::CountryBudget => "country_budget",
        SendRefusal::GlobalBudget => "global_budget",
        SendRefusal::Blocked { .. } => "blocked_by_report",
        SendRefusal::AccountLocked { .. } => "account_locked",
        SendRefusal::NumberNotAllowed => "number_not_allowed",
        SendRefusal::GatewayDown => "gateway_down",
    }
}
