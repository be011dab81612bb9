use crate::audit::AuditKind;
use crate::domain::{Timestamp, UserId};
use crate::ports::Consumed;

use super::send::code_failure_key;
use super::{
    CodeCheck, CodeTarget, RequestContext, SignInError, SignInService, SignInState, check_code,
};

const AMR_MFA_SMS: [&str; 3] = ["pwd", "sms", "mfa"];

impl SignInService {
    /// Checks a typed code. Every attempt that is not a success counts against the account,
    /// and a resend does not reset that count. The attempt takes its place under the account's
    /// limit before the code is compared, atomically, so parallel guesses spread over several
    /// sign-ins (each with a live code) cannot pass the limit together.
    pub async fn verify_code(
        &self,
        state: &SignInState,
        input: &str,
        ctx: &RequestContext,
    ) -> Result<SignInState, SignInError> {
        let SignInState::AwaitingCode {
            flow,
            user_id,
            target,
            challenge,
        } = state
        else {
            return Err(SignInError::WrongStep);
        };
        let code = crate::domain::OtpCode::parse(input)?;
        let now = self.clock.now();
        let policy = &self.policy.code;
        self.reserve_attempt(*user_id, ctx).await?;

        let attempt = match challenge {
            Some(id) => self.store.challenge_attempt(*id).await?,
            None => None,
        };
        let outcome = match &attempt {
            Some(ch) if ch.flow == *flow && ch.user_id == *user_id => {
                check_code(ch, &self.keys.code.hash(flow, &code), now, policy)
            }
            _ => CodeCheck::Superseded,
        };
        let error = match outcome {
            CodeCheck::Accepted => {
                let id = attempt.as_ref().map(|c| c.id).ok_or(SignInError::NoCode)?;
                let register = match target {
                    CodeTarget::Register { phone } => Some((*user_id, phone)),
                    CodeTarget::Method { .. } => None,
                };
                match self.store.challenge_consume(id, now, register).await? {
                    Consumed::Done { new_method } => {
                        return self
                            .complete(*user_id, target, new_method.is_some(), now, ctx)
                            .await;
                    }
                    // Another tab registered a method meanwhile: start over rather than add a second.
                    Consumed::AlreadyRegistered => return Err(SignInError::WrongStep),
                    Consumed::AlreadyUsed => SignInError::CodeUsed,
                }
            }
            CodeCheck::Wrong { attempts_left } => SignInError::WrongCode { attempts_left },
            CodeCheck::Expired => SignInError::CodeExpired,
            CodeCheck::Exhausted => SignInError::CodeExhausted,
            CodeCheck::AlreadyUsed | CodeCheck::Superseded if challenge.is_none() => {
                SignInError::NoCode
            }
            CodeCheck::AlreadyUsed | CodeCheck::Superseded => SignInError::CodeUsed,
        };
        self.audit(
            AuditKind::CodeChecked,
            outcome_name(&error),
            Some(*user_id),
            None,
            ctx,
            None,
        )
        .await?;
        Err(error)
    }

    /// Too many wrong codes for this account (of any kind) within the window: no more tries
    /// until the oldest ages out. Resends and switching methods do not reset it.
    pub(super) async fn refuse_when_locked(
        &self,
        user_id: UserId,
        ctx: &RequestContext,
    ) -> Result<(), SignInError> {
        let now = self.clock.now();
        let policy = &self.policy.code;
        let fail_key = code_failure_key(user_id);
        let since = now.minus_secs(policy.failure_window_secs);
        if self.store.failure_count_since(&fail_key, since).await?
            < u64::from(policy.max_failures_per_account)
        {
            return Ok(());
        }
        let oldest = self
            .store
            .failure_oldest_since(&fail_key, since)
            .await?
            .unwrap_or(now);
        self.audit(
            AuditKind::CodeChecked,
            "account_locked",
            Some(user_id),
            None,
            ctx,
            None,
        )
        .await?;
        Err(SignInError::AccountLocked {
            retry_after_secs: now
                .secs_until(oldest.plus_secs(policy.failure_window_secs))
                .max(1),
        })
    }

    /// Takes one of the account's allowed failures before a code (SMS or app) is checked,
    /// atomically, so parallel guesses cannot pass the limit together. A right code gives it
    /// back (the count is cleared).
    pub(super) async fn reserve_attempt(
        &self,
        user_id: UserId,
        ctx: &RequestContext,
    ) -> Result<(), SignInError> {
        let now = self.clock.now();
        let policy = &self.policy.code;
        let reserved = self
            .store
            .failure_reserve(
                &code_failure_key(user_id),
                now,
                now.minus_secs(policy.failure_window_secs),
                policy.max_failures_per_account,
            )
            .await?;
        if reserved {
            return Ok(());
        }
        self.refuse_when_locked(user_id, ctx).await?;
        // Not locked by the count any more (it aged out meanwhile): one more try is fair.
        Err(SignInError::AccountLocked {
            retry_after_secs: 1,
        })
    }

    async fn complete(
        &self,
        user_id: UserId,
        target: &CodeTarget,
        registered: bool,
        now: Timestamp,
        ctx: &RequestContext,
    ) -> Result<SignInState, SignInError> {
        self.store.failure_clear(&code_failure_key(user_id)).await?;
        let code_ok =
            self.audit_event(AuditKind::CodeChecked, "ok", Some(user_id), None, ctx, None);
        let mut lines = vec![];
        match target {
            CodeTarget::Register { phone } if registered => {
                lines.push(self.audit_event(
                    AuditKind::MethodRegistered,
                    "ok",
                    Some(user_id),
                    None,
                    ctx,
                    Some(format!("method=sms phone={}", phone.masked())),
                ));
            }
            CodeTarget::Register { .. } => {}
            // When methods other than SMS exist (authenticator apps, passkeys), completing a
            // sign-in with one of them must also lift an "I didn't ask for this" SMS block:
            // the owner has proven themselves another way.
            CodeTarget::Method { method_id, .. } => {
                let touched = self.store.touch_method(*method_id, now).await;
                if !matches!(touched, Ok(true)) {
                    // The code was right and is used up: that is recorded whatever follows.
                    self.store.audit(&code_ok).await?;
                }
                // The method was removed (reset-mfa) while this code was out: no sign-in with it.
                if !touched? {
                    return Err(SignInError::WrongStep);
                }
            }
        }
        lines.insert(0, code_ok);
        lines.push(self.audit_event(
            AuditKind::SignedIn,
            "ok",
            Some(user_id),
            None,
            ctx,
            Some("amr=pwd,sms,mfa".into()),
        ));
        // The step's audit lines in one write.
        self.store.audit_all(&lines).await?;
        Ok(SignInState::SignedIn {
            user_id,
            auth_time: now,
            amr: AMR_MFA_SMS.iter().map(|s| s.to_string()).collect(),
        })
    }
}

fn outcome_name(error: &SignInError) -> &'static str {
    match error {
        SignInError::WrongCode { .. } => "wrong_code",
        SignInError::CodeExpired => "expired",
        SignInError::CodeExhausted => "exhausted",
        SignInError::CodeUsed => "used",
        SignInError::NoCode => "no_code",
        _ => "failed",
    }
}
