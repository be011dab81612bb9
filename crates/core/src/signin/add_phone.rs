//! A signed-in user adds a phone (from the security-info page): the number gets a code, and
//! becomes a method when the code comes back right. The same budgets and attempt limits as
//! at sign-in apply.

use crate::audit::AuditKind;
use crate::domain::{MethodId, MethodKind, OtpCode, PhoneNumber, UserId};
use crate::ports::Consumed;

use super::send::code_failure_key;
use super::{
    CodeCheck, CodeTarget, RequestContext, SignInError, SignInService, SignInState, SmsText,
    check_code,
};

impl SignInService {
    /// Sends a code to the new number; the step waits in the store until the code returns.
    pub async fn start_add_phone(
        &self,
        user: UserId,
        country: &str,
        number: &str,
        ctx: &RequestContext,
        text: SmsText<'_>,
    ) -> Result<PhoneNumber, SignInError> {
        let phone = self.parse_new_phone(user, country, number, ctx).await?;
        if self
            .store
            .methods(user)
            .await?
            .iter()
            .any(|m| m.phone() == Some(&phone))
        {
            return Err(SignInError::PhoneAlreadyAdded);
        }
        let step = SignInState::AwaitingCode {
            flow: crate::ports::random_hex(self.entropy.as_ref(), 16),
            user_id: user,
            target: CodeTarget::Register {
                phone: phone.clone(),
            },
            challenge: None,
        };
        let sent = self.send_code(&step, ctx, text).await?;
        let json = serde_json::to_string(&sent)
            .map_err(|e| SignInError::Store(crate::ports::StoreError::Backend(e.to_string())))?;
        self.store
            .phone_addition_put(user, &json, self.clock.now())
            .await?;
        Ok(phone)
    }

    /// The number being added, while its code is still valid.
    pub async fn adding_phone(&self, user: UserId) -> Result<Option<PhoneNumber>, SignInError> {
        Ok(self.pending_addition(user).await?.map(|(phone, ..)| phone))
    }

    async fn pending_addition(
        &self,
        user: UserId,
    ) -> Result<Option<(PhoneNumber, String, crate::ports::ChallengeId)>, SignInError> {
        let since = self.clock.now().minus_secs(self.policy.code.ttl_secs);
        let Some(json) = self.store.phone_addition(user, since).await? else {
            return Ok(None);
        };
        match serde_json::from_str::<SignInState>(&json) {
            Ok(SignInState::AwaitingCode {
                flow,
                target: CodeTarget::Register { phone },
                challenge: Some(challenge),
                ..
            }) => Ok(Some((phone, flow, challenge))),
            _ => Ok(None),
        }
    }

    /// Checks the code sent to the new number; right, and the number is a method.
    pub async fn confirm_add_phone(
        &self,
        user: UserId,
        input: &str,
        ctx: &RequestContext,
    ) -> Result<MethodId, SignInError> {
        let code = OtpCode::parse(input)?;
        let (phone, flow, challenge) = self
            .pending_addition(user)
            .await?
            .ok_or(SignInError::WrongStep)?;
        // Counted against the account before the comparison (see `verify_code`).
        self.reserve_attempt(user, ctx).await?;
        let now = self.clock.now();
        let attempt = self.store.challenge_attempt(challenge).await?;
        let outcome = match &attempt {
            Some(ch) if ch.flow == flow && ch.user_id == user => check_code(
                ch,
                &self.keys.code.hash(&flow, &code),
                now,
                &self.policy.code,
            ),
            _ => CodeCheck::Superseded,
        };
        let error = match outcome {
            CodeCheck::Accepted => {
                match self.store.challenge_consume(challenge, now, None).await? {
                    Consumed::Done { .. } => {
                        let id = self
                            .store
                            .add_method(
                                user,
                                &MethodKind::Sms {
                                    phone: phone.clone(),
                                },
                                now,
                            )
                            .await?;
                        self.store.phone_addition_delete(user).await?;
                        self.store.failure_clear(&code_failure_key(user)).await?;
                        self.audit(
                            AuditKind::MethodRegistered,
                            "ok",
                            Some(user),
                            None,
                            ctx,
                            Some(format!("method=sms phone={}", phone.masked())),
                        )
                        .await?;
                        return Ok(id);
                    }
                    _ => SignInError::CodeUsed,
                }
            }
            CodeCheck::Wrong { attempts_left } => SignInError::WrongCode { attempts_left },
            CodeCheck::Expired => SignInError::CodeExpired,
            CodeCheck::Exhausted => SignInError::CodeExhausted,
            CodeCheck::AlreadyUsed | CodeCheck::Superseded => SignInError::CodeUsed,
        };
        self.audit(
            AuditKind::CodeChecked,
            "wrong_code",
            Some(user),
            None,
            ctx,
            Some("adding a phone".into()),
        )
        .await?;
        Err(error)
    }
}
