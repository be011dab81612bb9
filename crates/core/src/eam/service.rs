//! The external-method use cases: take Entra's request (every check, then the account), and
//! answer it once the second step is done.

use std::sync::Arc;

use super::ENTRA_PATIENCE_SECS;
use super::answer::{self, Factor, FormPost};
use super::config::{EamConfig, UnknownUsers, keys_url};
use super::hint::{self, Hint};
use super::refusal::Refusal;
use super::request::{self, Checked, EamParams, Pending, ReplyTo};
use crate::audit::AuditKind;
use crate::domain::{NewUser, SigningAlg, UserId, Username};
use crate::ports::{
    Clock, Entropy, HintSignatures, SignatureProblem, StoreError, TokenSigner, random_hex,
};
use crate::signin::{RequestContext, SignInService, SignInState};

/// A taken request: what to keep with the session and the step to show.
#[derive(Debug)]
pub struct Begun {
    pub pending: Pending,
    pub state: SignInState,
}

/// A refusal, and the form that tells Entra (when it may be told).
#[derive(Debug)]
pub struct Refused {
    pub refusal: Refusal,
    pub reply: Option<FormPost>,
}

/// Something broke (the database, signing): not the user's or Entra's doing.
#[derive(Debug, thiserror::Error)]
pub enum EamFailure {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<crate::signin::SignInError> for EamFailure {
    fn from(e: crate::signin::SignInError) -> EamFailure {
        EamFailure::Internal(e.to_string())
    }
}

pub struct EamService {
    pub config: Arc<EamConfig>,
    pub signatures: Arc<dyn HintSignatures>,
    pub signer: Arc<dyn TokenSigner>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
}

type Outcome<T> = Result<Result<T, Refused>, EamFailure>;

impl EamService {
    /// Entra's request, checked in the contract's order; then the account it names (linked,
    /// linked by username where allowed, made, or refused) and the step to ask for.
    pub async fn begin(
        &self,
        signin: &SignInService,
        params: &EamParams,
        ctx: &RequestContext,
    ) -> Outcome<Begun> {
        let checked = match request::check(&self.config, params) {
            Ok(checked) => checked,
            Err((refusal, reply)) => {
                return self
                    .refused(signin, refusal, reply.as_ref(), None, ctx)
                    .await;
            }
        };
        let reply = ReplyTo {
            redirect_uri: checked.redirect_uri.clone(),
            state: checked.state.clone(),
        };
        let hint = match self.believe(signin, &checked).await {
            Ok(hint) => hint,
            Err(refusal) => return self.refused(signin, refusal, Some(&reply), None, ctx).await,
        };
        let user = match self.account(signin, &checked, &hint, ctx).await? {
            Ok(user) => user,
            Err(refusal) => return self.refused(signin, refusal, Some(&reply), None, ctx).await,
        };
        let state = signin.second_step_for(user).await?;
        let now = self.clock.now();
        // Entra started waiting when it minted the hint (or now, if its clock is ahead).
        let deadline = hint.issued_at.min(now).plus_secs(ENTRA_PATIENCE_SECS);
        self.audit(
            signin,
            AuditKind::EntraRequested,
            "ok",
            Some(user),
            ctx,
            &hint.tenant_id,
        )
        .await?;
        Ok(Ok(Begun {
            pending: Pending {
                tenant_id: hint.tenant_id,
                object_id: hint.object_id,
                client_id: checked.client_id,
                reply,
                nonce: checked.nonce,
                sub: hint.sub,
                acr_values: checked.acr_values,
                amr_values: checked.amr_values,
                deadline,
                user_id: user,
            },
            state,
        }))
    }

    /// The hint checked: tenant, signature (Entra's keys), claims, and used only once.
    async fn believe(
        &self,
        signin: &SignInService,
        checked: &Checked<'_>,
    ) -> Result<Hint, Refusal> {
        let tenant_id = hint::claimed_tenant(&checked.hint, checked.tenant)?;
        let url = keys_url(&checked.authority, &tenant_id);
        let claims = self
            .signatures
            .verify(&checked.hint, &url)
            .await
            .map_err(|p| match p {
                SignatureProblem::Unavailable => Refusal::KeysUnavailable,
                SignatureProblem::UnknownKey => Refusal::UnknownKey,
                SignatureProblem::Invalid => Refusal::BadSignature,
            })?;
        let now = self.clock.now();
        let hint =
            hint::check_claims(&claims, checked.tenant, &checked.authority, &tenant_id, now)?;
        // A keyed hash: the table cannot be used to rebuild or recognise a hint elsewhere.
        let hash = signin
            .keys
            .audit
            .sign(&format!("entra-hint:{}", checked.hint));
        // Kept past the last moment the hint is accepted (its age below MAX_AGE_SECS).
        let expires = hint.issued_at.plus_secs(ENTRA_PATIENCE_SECS);
        match signin.store.entra_hint_use(&hash, expires, now).await {
            Ok(true) => Ok(hint),
            Ok(false) => Err(Refusal::Replayed),
            Err(_) => Err(Refusal::KeysUnavailable),
        }
    }

    /// The account of the Entra user: by (tenant, object id) only, once linked.
    async fn account(
        &self,
        signin: &SignInService,
        checked: &Checked<'_>,
        hint: &Hint,
        ctx: &RequestContext,
    ) -> Result<Result<UserId, Refusal>, EamFailure> {
        let store = &signin.store;
        if let Some(user) = store.entra_user(&hint.tenant_id, &hint.object_id).await? {
            return Ok(Ok(user));
        }
        let tenant = checked.tenant;
        let username = hint
            .preferred_username
            .as_deref()
            .and_then(|u| Username::parse(u).ok());
        let now = self.clock.now();
        let existing = match &username {
            Some(username) => store.user_by_username(username).await?,
            None => None,
        };
        if let Some(existing) = existing {
            if tenant.link_by_username
                && store
                    .entra_link(&hint.tenant_id, &hint.object_id, existing.id, now)
                    .await?
            {
                self.audit(
                    signin,
                    AuditKind::EntraLinked,
                    "by_username",
                    Some(existing.id),
                    ctx,
                    &hint.tenant_id,
                )
                .await?;
                return Ok(Ok(existing.id));
            }
            // Not allowed, or that account belongs to another Entra user already.
            return Ok(Err(match tenant.unknown_users {
                UnknownUsers::Refuse => Refusal::UnknownUser,
                UnknownUsers::Register => Refusal::UsernameTaken,
            }));
        }
        let (UnknownUsers::Register, Some(username)) = (tenant.unknown_users, username) else {
            return Ok(Err(Refusal::UnknownUser));
        };
        let new = NewUser {
            display_name: hint
                .name
                .clone()
                .unwrap_or_else(|| username.as_str().to_string()),
            username,
            email: None,
            password_hash: None,
            phone: None,
        };
        let subject = random_hex(self.entropy.as_ref(), 16);
        match store
            .entra_create_user(&hint.tenant_id, &hint.object_id, &new, &subject, now)
            .await
        {
            Ok(user) => {
                self.audit(
                    signin,
                    AuditKind::EntraLinked,
                    "created",
                    Some(user),
                    ctx,
                    &hint.tenant_id,
                )
                .await?;
                Ok(Ok(user))
            }
            // The name was taken meanwhile, or a parallel request linked this Entra user.
            Err(StoreError::Conflict(_)) => Ok(store
                .entra_user(&hint.tenant_id, &hint.object_id)
                .await?
                .ok_or(Refusal::UsernameTaken)),
            Err(e) => Err(e.into()),
        }
    }

    /// The answer once the second step is done: `step` is the step the user was on, `done`
    /// the signed-in state it led to.
    pub async fn finish(
        &self,
        signin: &SignInService,
        pending: &Pending,
        step: &SignInState,
        done: &SignInState,
        ctx: &RequestContext,
    ) -> Outcome<FormPost> {
        let now = self.clock.now();
        let SignInState::SignedIn { user_id, amr, .. } = done else {
            return Err(EamFailure::Internal(
                "finish before the step was done".into(),
            ));
        };
        if *user_id != pending.user_id {
            return Err(EamFailure::Internal("the step was another user's".into()));
        }
        if pending.time_left(now) == 0 {
            return self.give_up(signin, pending, Refusal::TimeUp, ctx).await;
        }
        let claims = Factor::of_step(step, amr)
            .ok_or(Refusal::MethodNotAccepted)
            .and_then(|f| {
                answer::id_token_claims(pending, &self.config.issuer, f, now).map(|c| (f, c))
            });
        let (factor, claims) = match claims {
            Ok(v) => v,
            Err(refusal) => return self.give_up(signin, pending, refusal, ctx).await,
        };
        let token = self
            .signer
            .sign(SigningAlg::Rs256, &claims)
            .await
            .map_err(|e| EamFailure::Internal(e.to_string()))?;
        self.audit(
            signin,
            AuditKind::EntraAnswered,
            "ok",
            Some(pending.user_id),
            ctx,
            factor.amr(),
        )
        .await?;
        Ok(Ok(answer::success(pending, token)))
    }

    /// Ends an Entra sign-in without a second factor: the user said no, or time ran out.
    pub async fn give_up(
        &self,
        signin: &SignInService,
        pending: &Pending,
        refusal: Refusal,
        ctx: &RequestContext,
    ) -> Outcome<FormPost> {
        self.refused(
            signin,
            refusal,
            Some(&pending.reply),
            Some(pending.user_id),
            ctx,
        )
        .await
    }

    async fn refused<T>(
        &self,
        signin: &SignInService,
        refusal: Refusal,
        reply: Option<&ReplyTo>,
        user: Option<UserId>,
        ctx: &RequestContext,
    ) -> Outcome<T> {
        let kind = match user {
            None => AuditKind::EntraRequested,
            Some(_) => AuditKind::EntraAnswered,
        };
        // Before the client is known anyone can send anything: not worth a row each.
        if reply.is_some() {
            self.audit(signin, kind, refusal.code(), user, ctx, "")
                .await?;
        }
        Ok(Err(Refused {
            refusal,
            reply: reply.and_then(|r| answer::failure(r, refusal)),
        }))
    }

    async fn audit(
        &self,
        signin: &SignInService,
        kind: AuditKind,
        outcome: &'static str,
        user: Option<UserId>,
        ctx: &RequestContext,
        detail: &str,
    ) -> Result<(), EamFailure> {
        let detail = (!detail.is_empty()).then(|| detail.to_string());
        Ok(signin.audit(kind, outcome, user, None, ctx, detail).await?)
    }
}
