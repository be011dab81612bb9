//! Authenticator apps: signing in with their codes, and setting one up (the secret is shown
//! once as a QR code; the app counts only after its first code came back right).

use crate::audit::AuditKind;
use crate::domain::{Method, MethodId, MethodKind, TotpSecret, UserId};

use super::send::code_failure_key;
use super::{RequestContext, SignInError, SignInService, SignInState};

/// An unfinished set-up is forgotten after this long.
pub const APP_SETUP_SECS: i64 = 15 * 60;

const AMR_MFA_APP: [&str; 3] = ["pwd", "otp", "mfa"];

/// A set-up in progress: what the page shows.
#[derive(Debug)]
pub struct AppSetup {
    pub method_id: MethodId,
    pub label: String,
    pub secret: TotpSecret,
}

impl SignInService {
    fn open_secret(&self, method: &Method) -> Result<TotpSecret, SignInError> {
        let MethodKind::Totp { sealed_secret, .. } = &method.kind else {
            return Err(SignInError::WrongStep);
        };
        let bytes = self
            .keys
            .seal
            .open(sealed_secret, &Method::seal_context(method.user_id))
            .map_err(|_| {
                SignInError::Store(crate::ports::StoreError::Backend(
                    "an app secret cannot be unsealed (was the secret key file replaced?)".into(),
                ))
            })?;
        Ok(TotpSecret::from_bytes(&bytes))
    }

    /// Checks a code from the user's authenticator app. Wrong codes count against the account
    /// like wrong SMS codes; a code (time step) works once.
    pub async fn verify_app_code(
        &self,
        state: &SignInState,
        input: &str,
        ctx: &RequestContext,
    ) -> Result<SignInState, SignInError> {
        let SignInState::AwaitingApp {
            user_id, method_id, ..
        } = state
        else {
            return Err(SignInError::WrongStep);
        };
        let input: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        crate::domain::OtpCode::parse(&input)?;
        self.reserve_attempt(*user_id, ctx).await?;
        let now = self.clock.now();
        let methods = self.store.methods(*user_id).await?;
        // The method was removed meanwhile (reset-mfa): no sign-in with it.
        let method = methods
            .iter()
            .find(|m| m.id == *method_id)
            .ok_or(SignInError::WrongStep)?;
        let MethodKind::Totp { last_step, .. } = &method.kind else {
            return Err(SignInError::WrongStep);
        };
        let secret = self.open_secret(method)?;
        let accepted = match secret.check(&input, now, *last_step) {
            Some(step) => self.store.app_accept_step(*method_id, step, now).await?,
            None => false,
        };
        if !accepted {
            // The failure was counted by `reserve_attempt`.
            self.audit(
                AuditKind::CodeChecked,
                "wrong_app_code",
                Some(*user_id),
                None,
                ctx,
                Some("method=app".into()),
            )
            .await?;
            return Err(SignInError::WrongAppCode);
        }
        self.store
            .failure_clear(&code_failure_key(*user_id))
            .await?;
        // The owner proved themselves without SMS: an "I didn't ask for this" block on texts
        // (which may have been someone else's attempt) is lifted.
        self.store.sms_unblock(*user_id).await?;
        self.audit(
            AuditKind::SignedIn,
            "ok",
            Some(*user_id),
            None,
            ctx,
            Some("amr=pwd,otp,mfa".into()),
        )
        .await?;
        Ok(SignInState::SignedIn {
            user_id: *user_id,
            auth_time: now,
            amr: AMR_MFA_APP.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// Starts (or restarts) setting up an app for a signed-in user: a new secret, sealed and
    /// stored as a pending method.
    pub async fn start_app_setup(
        &self,
        user: UserId,
        label: &str,
    ) -> Result<AppSetup, SignInError> {
        let label = crate::domain::Label::parse(label)?.into_string();
        let mut bytes = [0u8; 20];
        self.entropy.fill(&mut bytes);
        let secret = TotpSecret::from_bytes(&bytes);
        let mut nonce = [0u8; 12];
        self.entropy.fill(&mut nonce);
        let sealed = self
            .keys
            .seal
            .seal(secret.bytes(), &Method::seal_context(user), nonce);
        let method_id = self
            .store
            .app_pending_put(user, &label, &sealed, self.clock.now())
            .await?;
        Ok(AppSetup {
            method_id,
            label,
            secret,
        })
    }

    /// The set-up in progress, for showing its QR code again.
    pub async fn app_setup(&self, user: UserId) -> Result<Option<AppSetup>, SignInError> {
        let since = self.clock.now().minus_secs(APP_SETUP_SECS);
        let Some(method) = self.store.app_pending(user, since).await? else {
            return Ok(None);
        };
        let secret = self.open_secret(&method)?;
        let MethodKind::Totp { label, .. } = method.kind else {
            return Err(SignInError::WrongStep);
        };
        Ok(Some(AppSetup {
            method_id: method.id,
            label,
            secret,
        }))
    }

    /// Finishes the set-up with the app's first code. Wrong codes count like sign-in codes.
    pub async fn confirm_app(
        &self,
        user: UserId,
        input: &str,
        ctx: &RequestContext,
    ) -> Result<MethodId, SignInError> {
        self.confirm_app_setup(user, input, ctx, false).await
    }

    async fn confirm_app_setup(
        &self,
        user: UserId,
        input: &str,
        ctx: &RequestContext,
        only_if_first: bool,
    ) -> Result<MethodId, SignInError> {
        let input: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        crate::domain::OtpCode::parse(&input)?;
        let setup = self.app_setup(user).await?.ok_or(SignInError::WrongStep)?;
        self.reserve_attempt(user, ctx).await?;
        let now = self.clock.now();
        let Some(step) = setup.secret.check(&input, now, None) else {
            // The failure was counted by `reserve_attempt`.
            self.audit(
                AuditKind::CodeChecked,
                "wrong_app_code",
                Some(user),
                None,
                ctx,
                Some("method=app setup".into()),
            )
            .await?;
            return Err(SignInError::WrongAppCode);
        };
        if !self
            .store
            .app_confirm(setup.method_id, step, now, only_if_first)
            .await?
        {
            // Confirmed in another tab, replaced, or (registering) the user has a method now.
            return Err(SignInError::WrongStep);
        }
        self.store.failure_clear(&code_failure_key(user)).await?;
        self.audit(
            AuditKind::MethodRegistered,
            "ok",
            Some(user),
            None,
            ctx,
            Some(format!("method=app label={}", setup.label)),
        )
        .await?;
        Ok(setup.method_id)
    }

    /// The registration interrupt, "use an app instead": sets up an app for a user who has
    /// no method yet.
    pub async fn register_app(
        &self,
        state: &SignInState,
        label: &str,
    ) -> Result<SignInState, SignInError> {
        let SignInState::MustRegister { flow, user_id } = state else {
            return Err(SignInError::WrongStep);
        };
        if !self.store.methods(*user_id).await?.is_empty() {
            return Err(SignInError::WrongStep);
        }
        self.start_app_setup(*user_id, label).await?;
        Ok(SignInState::RegisteringApp {
            flow: flow.clone(),
            user_id: *user_id,
        })
    }

    /// The app's first code finishes the registration, and the sign-in.
    pub async fn finish_app_registration(
        &self,
        state: &SignInState,
        input: &str,
        ctx: &RequestContext,
    ) -> Result<SignInState, SignInError> {
        let SignInState::RegisteringApp { user_id, .. } = state else {
            return Err(SignInError::WrongStep);
        };
        // Only as the first method: adding a second needs a fresh second factor.
        self.confirm_app_setup(*user_id, input, ctx, true).await?;
        let now = self.clock.now();
        self.audit(
            AuditKind::SignedIn,
            "ok",
            Some(*user_id),
            None,
            ctx,
            Some("amr=pwd,otp,mfa".into()),
        )
        .await?;
        Ok(SignInState::SignedIn {
            user_id: *user_id,
            auth_time: now,
            amr: AMR_MFA_APP.iter().map(|s| s.to_string()).collect(),
        })
    }
}
