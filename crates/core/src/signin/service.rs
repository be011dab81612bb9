use std::sync::Arc;

use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::domain::{Keys, Method, MethodId, PhoneNumber, Secret, UserId, Username};
use crate::policy::{MfaRequirement, Policy};
use crate::ports::{Clock, Entropy, PasswordHashing, QueueWaker, Store, random_hex};

use super::{CodeTarget, RequestContext, SignInError, SignInState};

/// How long a person is asked to wait when every password check is taken.
pub(super) const BUSY_RETRY_SECS: i64 = 2;

/// The sign-in use cases. Each takes the current state and returns the next one; the caller
/// stores it. None of them trusts the caller to have checked the step: each matches the state.
pub struct SignInService {
    pub store: Arc<dyn Store>,
    /// Tells the SMS worker that a message is waiting.
    pub sms_queue: Arc<dyn QueueWaker>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub passwords: Arc<dyn PasswordHashing>,
    pub keys: Arc<Keys>,
    pub policy: Arc<Policy>,
    /// Security notices on every channel an account has.
    pub notices: Arc<crate::notices::Notifier>,
}

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
        // People type passwords into the username field: the audit trail keeps only a
        // keyed fingerprint of names that are not accounts.
        let fingerprint = format!("typed={}", self.keys.audit.sign(&typed_name));
        let user = match &parsed {
            Some(username) => self.store.user_by_username(username).await?,
            None => None,
        };
        let phc = user.as_ref().and_then(|u| u.password_hash.as_deref());
        // A place in the hashing line first: a rush beyond what the threads can serve in time
        // is turned away before it is counted anywhere or costs a write. (Taking the place only
        // after the budgets, so that attempts the throttles refuse never hold one, was tried
        // and measured: at 130/s every refused place had cost six writes first, and served
        // requests got slower; see docs/benchmarks.md.)
        let Some(ticket) = self.passwords.admit() else {
            return Err(SignInError::Busy {
                retry_after_secs: BUSY_RETRY_SECS,
            });
        };
        let budget = match self.take_password_budget(&typed_name, phc, ctx).await? {
            Ok(budget) => budget,
            Err(secs) => {
                // Refused: the place goes back before the audit line is written.
                drop(ticket);
                self.audit(
                    AuditKind::PasswordChecked,
                    "throttled",
                    None,
                    None,
                    ctx,
                    Some(fingerprint),
                )
                .await?;
                return Err(SignInError::Throttled {
                    retry_after_secs: secs.max(1),
                });
            }
        };
        let stored_hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let check = self
            .passwords
            .verify(ticket, stored_hash, password.clone())
            .await;
        let user = match user {
            Some(user) if check.ok => user,
            Some(user) => {
                self.audit(
                    AuditKind::PasswordChecked,
                    "bad_credentials",
                    Some(user.id),
                    Some(&typed_name),
                    ctx,
                    None,
                )
                .await?;
                return Err(SignInError::BadCredentials);
            }
            None => {
                self.audit(
                    AuditKind::PasswordChecked,
                    "bad_credentials",
                    None,
                    None,
                    ctx,
                    Some(fingerprint),
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
        self.give_back(&budget).await?;
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
        if !methods.is_empty() && self.remembered(user.id, ctx).await? {
            self.audit(
                AuditKind::SignedIn,
                "ok",
                Some(user.id),
                None,
                ctx,
                Some("amr=pwd,remembered".into()),
            )
            .await?;
            // No second factor was verified now: the sign-in says so, and whatever needs one
            // (an application that requires it, `prompt=login`, changing methods) asks for it.
            return Ok(SignInState::SignedIn {
                user_id: user.id,
                auth_time: now,
                amr: ["pwd", "remembered"].map(String::from).to_vec(),
            });
        }
        if let Some(method) = preferred(&methods, self.policy.ask_strongest_first) {
            return Ok(step_for(flow, user.id, method));
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
                })
            }
        }
    }

    /// A signed-in user whose sign-in had no real second factor (the password alone where the
    /// policy allows it, or a remembered device) and now needs one. A user with methods signs
    /// in again, password and second factor (the caller makes it strict: no remembered device):
    /// a second factor alone, approved out of habit on the owner's phone, must not turn a
    /// browser someone left open into a fresh sign-in that may change the methods. A user
    /// without methods registers one (the password was given in this sign-in).
    pub async fn step_up(&self, state: &SignInState) -> Result<SignInState, SignInError> {
        let SignInState::SignedIn { user_id, .. } = state else {
            return Err(SignInError::WrongStep);
        };
        if self.store.methods(*user_id).await?.is_empty() {
            return Ok(SignInState::MustRegister {
                flow: random_hex(self.entropy.as_ref(), 16),
                user_id: *user_id,
            });
        }
        Ok(SignInState::Start)
    }

    /// The second step for a user whose first factor was checked elsewhere (Entra's password,
    /// for the external MFA method): always a real one, never a remembered device, and a user
    /// without methods registers one whatever the policy says (the step is all that is asked).
    pub async fn second_step_for(&self, user: UserId) -> Result<SignInState, SignInError> {
        let flow = random_hex(self.entropy.as_ref(), 16);
        let methods = self.store.methods(user).await?;
        Ok(match preferred(&methods, self.policy.ask_strongest_first) {
            Some(method) => step_for(flow, user, method),
            None => SignInState::MustRegister {
                flow,
                user_id: user,
            },
        })
    }

    /// Whether this browser holds a live "remembered device" token of this user.
    async fn remembered(&self, user: UserId, ctx: &RequestContext) -> Result<bool, SignInError> {
        if self.policy.session.remember_device_days == 0 {
            return Ok(false);
        }
        let Some(token) = ctx.device_token.as_deref() else {
            return Ok(false);
        };
        Ok(self
            .store
            .device_use(&device_token_hash(token), user, self.clock.now())
            .await?)
    }

    /// "Don't ask again on this device": a new token for this browser (returned once; only its
    /// hash is stored), or `None` when the policy does not offer it.
    pub async fn remember_device(
        &self,
        user: UserId,
        ctx: &RequestContext,
    ) -> Result<Option<String>, SignInError> {
        let days = self.policy.session.remember_device_days;
        if days == 0 {
            return Ok(None);
        }
        let token = random_hex(self.entropy.as_ref(), 32);
        let now = self.clock.now();
        self.store
            .device_add(&crate::ports::NewDevice {
                user_id: user,
                token_hash: device_token_hash(&token),
                user_agent: ctx
                    .user_agent
                    .as_deref()
                    .map(|ua| ua.chars().take(200).collect()),
                created_at: now,
                expires_at: now.plus_secs(i64::from(days) * 86_400),
            })
            .await?;
        self.audit(
            AuditKind::DeviceRemembered,
            "ok",
            Some(user),
            None,
            ctx,
            None,
        )
        .await?;
        Ok(Some(token))
    }

    /// Forgets one of the user's remembered devices.
    pub async fn forget_device(
        &self,
        user: UserId,
        id: i64,
        ctx: &RequestContext,
    ) -> Result<bool, SignInError> {
        let removed = self.store.device_remove(user, id).await?;
        if removed {
            self.audit(
                AuditKind::DevicesForgotten,
                "ok",
                Some(user),
                None,
                ctx,
                Some(format!("device_id={id}")),
            )
            .await?;
        }
        Ok(removed)
    }

    /// Registration: the number the user typed becomes the code's target. The phone is not
    /// registered until the code comes back.
    pub async fn register_phone(
        &self,
        state: &SignInState,
        country: &str,
        number: &str,
        ctx: &RequestContext,
        text: super::SmsText<'_>,
    ) -> Result<SignInState, SignInError> {
        let SignInState::MustRegister { flow, user_id } = state else {
            return Err(SignInError::WrongStep);
        };
        // Registration is for users without a method; an old tab must not add a second phone.
        if !self.store.methods(*user_id).await?.is_empty() {
            return Err(SignInError::WrongStep);
        }
        let phone = self.parse_new_phone(*user_id, country, number, ctx).await?;
        let next = SignInState::AwaitingCode {
            flow: flow.clone(),
            user_id: *user_id,
            target: CodeTarget::Register { phone },
            challenge: None,
        };
        self.send_code(&next, ctx, text).await
    }

    /// A number typed to be registered: allowed country, mobile, parsed. Refusals that are
    /// toll-fraud limits are audited.
    pub(super) async fn parse_new_phone(
        &self,
        user_id: UserId,
        country: &str,
        number: &str,
        ctx: &RequestContext,
    ) -> Result<PhoneNumber, SignInError> {
        let parsed = if self
            .policy
            .allowed_countries
            .iter()
            .any(|c| c.eq_ignore_ascii_case(country))
        {
            PhoneNumber::parse(number, country, &self.policy.allowed_countries)
        } else {
            Err(crate::domain::PhoneError::CountryNotAllowed(
                country.to_uppercase(),
            ))
        };
        match parsed {
            Ok(phone) => Ok(phone),
            Err(e) => {
                // Countries and number kinds we refuse are toll-fraud limits: keep a trace.
                let outcome = match e {
                    crate::domain::PhoneError::CountryNotAllowed(_) => Some("country_not_allowed"),
                    crate::domain::PhoneError::NotMobile(_) => Some("not_a_mobile_number"),
                    _ => None,
                };
                if let Some(outcome) = outcome {
                    self.audit(
                        AuditKind::CodeSendRefused,
                        outcome,
                        Some(user_id),
                        None,
                        ctx,
                        Some(e.to_string()),
                    )
                    .await?;
                }
                Err(e.into())
            }
        }
    }

    /// "Sign in another way": switch to another of the user's own methods and send it a code.
    pub async fn choose_method(
        &self,
        state: &SignInState,
        method_id: MethodId,
        ctx: &RequestContext,
        text: super::SmsText<'_>,
    ) -> Result<SignInState, SignInError> {
        let (flow, user_id) = state.second_factor().ok_or(SignInError::WrongStep)?;
        let (flow, user_id) = (&flow.to_string(), &user_id);
        let methods = self.store.methods(*user_id).await?;
        // Only the user's own methods: an id from someone else's account is not found here.
        let method = methods
            .iter()
            .find(|m| m.id == method_id)
            .ok_or(SignInError::WrongStep)?;
        let next = step_for(flow.clone(), *user_id, method);
        match next {
            SignInState::AwaitingCode { .. } => self.send_code(&next, ctx, text).await,
            other => Ok(other),
        }
    }

    /// The methods a user may choose from while signing in.
    pub async fn methods_for(&self, state: &SignInState) -> Result<Vec<Method>, SignInError> {
        match state.second_factor() {
            Some((_, user_id)) => Ok(self.store.methods(user_id).await?),
            None => Err(SignInError::WrongStep),
        }
    }

    pub async fn audit_sign_out(
        &self,
        user: Option<UserId>,
        ctx: &RequestContext,
    ) -> Result<(), SignInError> {
        self.audit(AuditKind::SignedOut, "ok", user, None, ctx, None)
            .await
    }

    pub(crate) async fn audit(
        &self,
        kind: AuditKind,
        outcome: &'static str,
        user_id: Option<UserId>,
        username: Option<&str>,
        ctx: &RequestContext,
        detail: Option<String>,
    ) -> Result<(), SignInError> {
        let event = self.audit_event(kind, outcome, user_id, username, ctx, detail);
        self.store.audit(&event).await?;
        Ok(())
    }

    /// An audit line of this request, to be written with others (`Store::audit_all`).
    pub(crate) fn audit_event(
        &self,
        kind: AuditKind,
        outcome: &'static str,
        user_id: Option<UserId>,
        username: Option<&str>,
        ctx: &RequestContext,
        detail: Option<String>,
    ) -> AuditEvent {
        AuditEvent {
            at: self.clock.now(),
            kind,
            outcome,
            user_id,
            username: username.map(str::to_string),
            actor: Actor::User,
            ip: Some(ctx.ip.clone()),
            detail,
            user_agent: ctx
                .user_agent
                .as_deref()
                .map(|ua| ua.chars().take(200).collect()),
        }
    }
}

/// The method a sign-in starts with: with `strongest_first` the strongest kind
/// (passkey, then the tweestap app, then a code app, then a phone); then the
/// one the user chose; then the one used last (the user's habit); then the oldest.
fn preferred(methods: &[Method], strongest_first: bool) -> Option<&Method> {
    methods.iter().max_by_key(|m| {
        (
            if strongest_first { m.strength() } else { 0 },
            m.is_default,
            m.last_used_at,
            std::cmp::Reverse(m.created_at),
        )
    })
}

/// The step that asks for a method's code. An SMS still has to be sent; an app has its code.
fn step_for(flow: String, user_id: UserId, method: &Method) -> SignInState {
    match &method.kind {
        crate::domain::MethodKind::Sms { phone } => SignInState::AwaitingCode {
            flow,
            user_id,
            target: CodeTarget::Method {
                method_id: method.id,
                phone: phone.clone(),
            },
            challenge: None,
        },
        crate::domain::MethodKind::Totp { .. } => SignInState::AwaitingApp {
            flow,
            user_id,
            method_id: method.id,
        },
        crate::domain::MethodKind::Passkey { .. } => SignInState::AwaitingPasskey { flow, user_id },
        crate::domain::MethodKind::PushApp { .. } => SignInState::AwaitingPush {
            flow,
            user_id,
            method_id: method.id,
            approval: None,
        },
    }
}

/// SHA-256 of a remembered-device token: what the database keeps.
pub fn device_token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod preferred_tests {
    use super::preferred;
    use crate::domain::{Method, MethodId, MethodKind, PhoneNumber, Timestamp, UserId};

    fn method(id: i64, app: bool, default: bool, used: Option<i64>) -> Method {
        Method {
            id: MethodId(id),
            user_id: UserId(1),
            kind: if app {
                MethodKind::Totp {
                    label: "a".into(),
                    sealed_secret: vec![],
                    last_step: None,
                }
            } else {
                MethodKind::Sms {
                    phone: PhoneNumber::from_stored("+31612345678").unwrap(),
                }
            },
            created_at: Timestamp(id),
            last_used_at: used.map(Timestamp),
            is_default: default,
        }
    }

    #[test]
    fn strongest_then_chosen_then_last_used() {
        let both = [
            method(1, false, false, Some(100)),
            method(2, true, false, Some(50)),
        ];
        assert_eq!(preferred(&both, false).unwrap().id, MethodId(1), "habit");
        assert_eq!(preferred(&both, true).unwrap().id, MethodId(2), "strongest");
        let chosen = [
            method(1, false, true, Some(10)),
            method(2, true, false, Some(50)),
        ];
        assert_eq!(preferred(&chosen, false).unwrap().id, MethodId(1), "chosen");
        assert_eq!(preferred(&chosen, true).unwrap().id, MethodId(2));
        assert!(preferred(&[], false).is_none());
    }
}
