use std::sync::Arc;

use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::domain::{
    CodeKey, Method, MethodId, MethodKind, OtpCode, PhoneNumber, Secret, Timestamp, UserId,
    Username,
};
use crate::policy::{MfaRequirement, Policy};
use crate::ports::{
    Clock, Entropy, NewChallenge, OutgoingSms, PasswordHashing, SmsCount, SmsGateway, SmsRecord,
    Store, random_hex,
};

use super::{
    CodeCheck, CodeTarget, RequestContext, SendCounts, SendRefusal, SignInError, SignInState,
    check_code, may_send,
};

/// Writes the text message for a code, in the user's language. The web layer owns the wording.
pub type SmsText<'a> = &'a (dyn Fn(&OtpCode) -> String + Send + Sync);

/// The sign-in use cases. Each takes the current state and returns the next one; the caller
/// stores it. None of them trusts the caller to have checked the step: each matches the state.
pub struct SignInService {
    pub store: Arc<dyn Store>,
    pub sms: Arc<dyn SmsGateway>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub passwords: Arc<dyn PasswordHashing>,
    pub code_key: CodeKey,
    pub policy: Arc<Policy>,
}

const AMR_MFA_SMS: [&str; 3] = ["pwd", "sms", "mfa"];

impl SignInService {
    /// Step 1: username and password. Unknown users and wrong passwords take the same path,
    /// including a full Argon2 verification, and end in the same error.
    pub async fn submit_password(
        &self,
        username_input: &str,
        password: Secret,
        ctx: &RequestContext,
    ) -> Result<SignInState, SignInError> {
        let now = self.clock.now();
        let parsed = Username::parse(username_input).ok();
        let typed_name = parsed
            .as_ref()
            .map(|u| u.as_str().to_string())
            .unwrap_or_else(|| username_input.trim().to_lowercase());
        let name_key = format!("pwd:user:{typed_name}");
        let ip_key = format!("pwd:ip:{}", ctx.network());
        let throttle = &self.policy.throttle;
        let since = now.minus_secs(throttle.window_secs);

        for (key, limit) in [
            (&name_key, throttle.password_failures_per_username),
            (&ip_key, throttle.password_failures_per_ip),
        ] {
            if self.store.failure_count_since(key, since).await? >= u64::from(limit) {
                let oldest = self
                    .store
                    .failure_oldest_since(key, since)
                    .await?
                    .unwrap_or(now);
                self.audit(
                    AuditKind::PasswordChecked,
                    "throttled",
                    None,
                    Some(&typed_name),
                    ctx,
                    None,
                )
                .await?;
                return Err(SignInError::Throttled {
                    retry_after_secs: now
                        .secs_until(oldest.plus_secs(throttle.window_secs))
                        .max(1),
                });
            }
        }

        let user = match &parsed {
            Some(username) => self.store.user_by_username(username).await?,
            None => None,
        };
        let stored_hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let check = self.passwords.verify(stored_hash, password.clone()).await;
        let user = match user {
            Some(user) if check.ok => user,
            _ => {
                self.store.failure_record(&name_key, now).await?;
                self.store.failure_record(&ip_key, now).await?;
                self.audit(
                    AuditKind::PasswordChecked,
                    "bad_credentials",
                    None,
                    Some(&typed_name),
                    ctx,
                    None,
                )
                .await?;
                return Err(SignInError::BadCredentials);
            }
        };
        if check.needs_rehash {
            // Best effort: the sign-in is valid either way; the next one will try again.
            if let Ok(phc) = self.passwords.hash(password).await {
                self.store.set_password_hash(user.id, &phc).await?;
            }
        }
        self.store.failure_clear(&name_key).await?;
        self.audit(
            AuditKind::PasswordChecked,
            "ok",
            Some(user.id),
            Some(&typed_name),
            ctx,
            None,
        )
        .await?;

        let flow = random_hex(self.entropy.as_ref(), 16);
        let methods = self.store.methods(user.id).await?;
        if let Some(method) = preferred(&methods) {
            let phone = method.phone().cloned().ok_or(SignInError::WrongStep)?;
            return Ok(SignInState::AwaitingCode {
                flow,
                user_id: user.id,
                target: CodeTarget::Method {
                    method_id: method.id,
                    phone,
                },
                challenge: None,
            });
        }
        match self.policy.mfa {
            MfaRequirement::Required => Ok(SignInState::MustRegister {
                flow,
                user_id: user.id,
            }),
            MfaRequirement::Optional => {
                self.audit(
                    AuditKind::SignedIn,
                    "ok",
                    Some(user.id),
                    None,
                    ctx,
                    Some("amr=pwd".into()),
                )
                .await?;
                Ok(SignInState::SignedIn {
                    user_id: user.id,
                    auth_time: now,
                    amr: vec!["pwd".to_string()],
                    just_registered: false,
                })
            }
        }
    }

    /// Registration: the number the user typed becomes the code's target. The phone is not
    /// registered until the code comes back.
    pub async fn register_phone(
        &self,
        state: &SignInState,
        country: &str,
        number: &str,
        ctx: &RequestContext,
        text: SmsText<'_>,
    ) -> Result<SignInState, SignInError> {
        let SignInState::MustRegister { flow, user_id } = state else {
            return Err(SignInError::WrongStep);
        };
        if !self
            .policy
            .allowed_countries
            .iter()
            .any(|c| c.eq_ignore_ascii_case(country))
        {
            return Err(
                crate::domain::PhoneError::CountryNotAllowed(country.to_uppercase()).into(),
            );
        }
        let phone = PhoneNumber::parse(number, country, &self.policy.allowed_countries)?;
        let next = SignInState::AwaitingCode {
            flow: flow.clone(),
            user_id: *user_id,
            target: CodeTarget::Register { phone },
            challenge: None,
        };
        self.send_code(&next, ctx, text).await
    }

    /// "Sign in another way": switch to another of the user's own methods and send it a code.
    pub async fn choose_method(
        &self,
        state: &SignInState,
        method_id: MethodId,
        ctx: &RequestContext,
        text: SmsText<'_>,
    ) -> Result<SignInState, SignInError> {
        let SignInState::AwaitingCode {
            flow,
            user_id,
            target: CodeTarget::Method { .. },
            ..
        } = state
        else {
            return Err(SignInError::WrongStep);
        };
        let methods = self.store.methods(*user_id).await?;
        // Only the user's own methods: an id from someone else's account is not found here.
        let method = methods
            .iter()
            .find(|m| m.id == method_id)
            .ok_or(SignInError::WrongStep)?;
        let phone = method.phone().cloned().ok_or(SignInError::WrongStep)?;
        let next = SignInState::AwaitingCode {
            flow: flow.clone(),
            user_id: *user_id,
            target: CodeTarget::Method { method_id, phone },
            challenge: None,
        };
        self.send_code(&next, ctx, text).await
    }

    /// The methods a user may choose from while signing in.
    pub async fn methods_for(&self, state: &SignInState) -> Result<Vec<Method>, SignInError> {
        match state {
            SignInState::AwaitingCode {
                user_id,
                target: CodeTarget::Method { .. },
                ..
            } => Ok(self.store.methods(*user_id).await?),
            _ => Err(SignInError::WrongStep),
        }
    }

    /// Sends a (new) code for the current step, within the budgets. A new code replaces the old.
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
        let now = self.clock.now();
        let phone = target.phone();
        let counts = self.send_counts(*user_id, phone, now).await?;
        if let Err(refusal) = may_send(&counts, now, &self.policy.code) {
            self.audit(
                AuditKind::CodeSendRefused,
                refusal_name(refusal),
                Some(*user_id),
                None,
                ctx,
                Some(format!("to={}", phone.masked())),
            )
            .await?;
            return Err(SignInError::NotSent(refusal));
        }

        let code = OtpCode::generate(self.entropy.as_ref());
        let challenge = self
            .store
            .challenge_create(&NewChallenge {
                flow: flow.clone(),
                user_id: *user_id,
                phone: phone.clone(),
                code_hash: self.code_key.hash(flow, &code),
                created_at: now,
                expires_at: now.plus_secs(self.policy.code.ttl_secs),
            })
            .await?;
        let sms = OutgoingSms {
            to: phone.clone(),
            text: text(&code),
            reference: random_hex(self.entropy.as_ref(), 8),
        };
        let result = self.sms.send(&sms).await;
        self.store
            .sms_record(&SmsRecord {
                user_id: Some(*user_id),
                phone: phone.clone(),
                gateway: self.sms.name().to_string(),
                status: if result.is_ok() { "sent" } else { "failed" }.to_string(),
                created_at: now,
            })
            .await?;
        let detail = format!("to={} ref={}", phone.masked(), sms.reference);
        if result.is_err() {
            self.audit(
                AuditKind::CodeSendRefused,
                "gateway_down",
                Some(*user_id),
                None,
                ctx,
                Some(detail),
            )
            .await?;
            return Err(SignInError::NotSent(SendRefusal::GatewayDown));
        }
        self.audit(
            AuditKind::CodeSent,
            "ok",
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

    /// Checks a typed code. Every attempt that is not a success counts against the account,
    /// and a resend does not reset that count.
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
        let code = OtpCode::parse(input)?;
        let now = self.clock.now();
        let policy = &self.policy.code;
        let fail_key = code_failure_key(*user_id);
        let since = now.minus_secs(policy.failure_window_secs);
        if self.store.failure_count_since(&fail_key, since).await?
            >= u64::from(policy.max_failures_per_account)
        {
            let oldest = self
                .store
                .failure_oldest_since(&fail_key, since)
                .await?
                .unwrap_or(now);
            self.audit(
                AuditKind::CodeChecked,
                "account_locked",
                Some(*user_id),
                None,
                ctx,
                None,
            )
            .await?;
            return Err(SignInError::AccountLocked {
                retry_after_secs: now
                    .secs_until(oldest.plus_secs(policy.failure_window_secs))
                    .max(1),
            });
        }

        let attempt = match challenge {
            Some(id) => self.store.challenge_attempt(*id).await?,
            None => None,
        };
        let outcome = match &attempt {
            Some(ch) if ch.flow == *flow && ch.user_id == *user_id => {
                check_code(ch, &self.code_key.hash(flow, &code), now, policy)
            }
            Some(_) => CodeCheck::Superseded,
            None => CodeCheck::Superseded,
        };
        let error = match outcome {
            CodeCheck::Accepted => {
                let id = attempt.as_ref().map(|c| c.id).ok_or(SignInError::NoCode)?;
                if self.store.challenge_consume(id, now).await? {
                    return self.complete(*user_id, target, now, ctx).await;
                }
                SignInError::CodeUsed
            }
            CodeCheck::Wrong { attempts_left } => SignInError::WrongCode { attempts_left },
            CodeCheck::Expired => SignInError::CodeExpired,
            CodeCheck::Exhausted => SignInError::CodeExhausted,
            CodeCheck::AlreadyUsed | CodeCheck::Superseded if challenge.is_none() => {
                SignInError::NoCode
            }
            CodeCheck::AlreadyUsed | CodeCheck::Superseded => SignInError::CodeUsed,
        };
        self.store.failure_record(&fail_key, now).await?;
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

    async fn complete(
        &self,
        user_id: UserId,
        target: &CodeTarget,
        now: Timestamp,
        ctx: &RequestContext,
    ) -> Result<SignInState, SignInError> {
        self.store.failure_clear(&code_failure_key(user_id)).await?;
        self.audit(AuditKind::CodeChecked, "ok", Some(user_id), None, ctx, None)
            .await?;
        match target {
            CodeTarget::Register { phone } => {
                let id = self
                    .store
                    .add_method(
                        user_id,
                        &MethodKind::Sms {
                            phone: phone.clone(),
                        },
                        now,
                    )
                    .await?;
                self.store.touch_method(id, now).await?;
                self.audit(
                    AuditKind::MethodRegistered,
                    "ok",
                    Some(user_id),
                    None,
                    ctx,
                    Some(format!("method=sms phone={}", phone.masked())),
                )
                .await?;
            }
            CodeTarget::Method { method_id, .. } => {
                self.store.touch_method(*method_id, now).await?
            }
        }
        self.audit(
            AuditKind::SignedIn,
            "ok",
            Some(user_id),
            None,
            ctx,
            Some("amr=pwd,sms,mfa".into()),
        )
        .await?;
        Ok(SignInState::SignedIn {
            user_id,
            auth_time: now,
            amr: AMR_MFA_SMS.iter().map(|s| s.to_string()).collect(),
            just_registered: target.is_registration(),
        })
    }

    async fn send_counts(
        &self,
        user: UserId,
        phone: &PhoneNumber,
        now: Timestamp,
    ) -> Result<SendCounts, SignInError> {
        let hour_ago = now.minus_secs(3600);
        let window = now.minus_secs(self.policy.code.failure_window_secs);
        let fail_key = code_failure_key(user);
        Ok(SendCounts {
            last_sent_to_account: self.store.sms_last_to_user(user).await?,
            sent_to_account_last_hour: self
                .store
                .sms_count_since(SmsCount::ToUser(user), hour_ago)
                .await?,
            sent_to_number_last_hour: self
                .store
                .sms_count_since(SmsCount::ToPhone(phone), hour_ago)
                .await?,
            account_failures_in_window: self.store.failure_count_since(&fail_key, window).await?,
            oldest_failure_in_window: self.store.failure_oldest_since(&fail_key, window).await?,
        })
    }

    pub async fn audit_sign_out(
        &self,
        user: Option<UserId>,
        ctx: &RequestContext,
    ) -> Result<(), SignInError> {
        self.audit(AuditKind::SignedOut, "ok", user, None, ctx, None)
            .await
    }

    async fn audit(
        &self,
        kind: AuditKind,
        outcome: &'static str,
        user_id: Option<UserId>,
        username: Option<&str>,
        ctx: &RequestContext,
        detail: Option<String>,
    ) -> Result<(), SignInError> {
        self.store
            .audit(&AuditEvent {
                at: self.clock.now(),
                kind,
                outcome,
                user_id,
                username: username.map(str::to_string),
                actor: Actor::User,
                ip: Some(ctx.ip.clone()),
                detail,
            })
            .await?;
        Ok(())
    }
}

fn code_failure_key(user: UserId) -> String {
    format!("code:user:{}", user.0)
}

/// The method to try first: the one used most recently, else the oldest.
fn preferred(methods: &[Method]) -> Option<&Method> {
    methods
        .iter()
        .max_by_key(|m| (m.last_used_at, std::cmp::Reverse(m.created_at)))
}

fn refusal_name(refusal: SendRefusal) -> &'static str {
    match refusal {
        SendRefusal::Cooldown { .. } => "cooldown",
        SendRefusal::AccountBudget => "account_budget",
        SendRefusal::NumberBudget => "number_budget",
        SendRefusal::AccountLocked { .. } => "account_locked",
        SendRefusal::GatewayDown => "gateway_down",
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
