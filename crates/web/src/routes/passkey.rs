//! Passkeys: signing in with one (the second step), and adding one on the security-info page.
//! The browser part is `navigator.credentials` in app.js; the page carries the options and the
//! form carries the answer back, with the ceremony's id (its state waits in the database).

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use tweestap_core::UserId;
use tweestap_core::ports::CeremonyPurpose;
use tweestap_core::signin::{Page, SignInError, SignInState, WebAuthnProof};

use super::{describe, render, request_context, see_other, to_current_step};
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::i18n::t;
use crate::session::Session;

pub fn webauthn(app: &AppState) -> Result<&tweestap_webauthn::WebAuthn, WebError> {
    app.config.webauthn.as_deref().ok_or(WebError::NotFound)
}

/// Keeps a just-started ceremony's state in the database until the browser answers; returns
/// the options for the browser and the ceremony's id for the form.
pub async fn keep(
    app: &AppState,
    user: UserId,
    purpose: CeremonyPurpose,
    started: Result<(String, String), tweestap_webauthn::WebAuthnError>,
) -> Result<(String, String), WebError> {
    let (options, state) = started.map_err(|e| WebError::Internal(e.to_string()))?;
    let ceremony = app
        .signin
        .ceremony_start(user, purpose, &state)
        .await
        .map_err(super::internal)?;
    Ok((options, ceremony))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CeremonyForm {
    csrf: String,
    ceremony: String,
    /// The browser's `PublicKeyCredential`, as JSON.
    response: String,
    /// A name for a new passkey.
    label: String,
    remember: Option<String>,
}

async fn sign_in_page(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    user: UserId,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, WebError> {
    let webauthn = webauthn(app)?;
    let credentials = app
        .signin
        .passkey_credentials(user)
        .await
        .map_err(super::internal)?;
    if credentials.is_empty() {
        // Removed meanwhile (another tab, the helpdesk): choose another way.
        return Ok(see_other(app, session, "/sign-in/other-way"));
    }
    let started = webauthn.start_authentication(&credentials);
    let (options, ceremony) = keep(app, user, CeremonyPurpose::SignInPasskey, started).await?;
    render(
        app,
        ctx,
        session,
        status,
        "passkey.html",
        context! { options, ceremony, error, action => "/sign-in/passkey", mode => "get" },
    )
}

pub async fn get_sign_in(State(app): State<AppState>, ctx: Ctx) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    let SignInState::AwaitingPasskey { user_id, .. } = session.record.state else {
        return Ok(to_current_step(&app, &session));
    };
    session.save(&app).await?;
    sign_in_page(&app, &ctx, &session, user_id, StatusCode::OK, None).await
}

pub async fn post_sign_in(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CeremonyForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    if session.record.state.page() != Page::EnterPasskey {
        return Ok(to_current_step(&app, &session));
    }
    let rc = request_context(&ctx);
    let state = session.record.state.clone();
    let result = async {
        let user = app.signin.passkey_attempt(&state, &rc).await?;
        let ceremony = app
            .signin
            .ceremony_take(&form.ceremony, user, CeremonyPurpose::SignInPasskey)
            .await?;
        let stored = app.signin.passkey_credentials(user).await?;
        let proof = webauthn(&app)
            .ok()
            .and_then(|w| {
                w.finish_authentication(&ceremony, &form.response, &stored)
                    .map_err(|e| tracing::info!("passkey refused: {e}"))
                    .ok()
            })
            .map(|a| WebAuthnProof {
                credential_id: a.credential_id,
                updated: a.updated,
            });
        app.signin.passkey_signed_in(&state, proof, &rc).await
    }
    .await;
    match result {
        Ok(next) => {
            let remember = form.remember.is_some();
            super::second_step_done(&app, &ctx, &mut session, next, remember, None, false).await
        }
        Err(SignInError::Store(e)) => Err(e.into()),
        Err(SignInError::WrongStep) => Ok(to_current_step(&app, &session)),
        Err(e) => {
            let (status, error) = describe(ctx.lang, &e)?;
            let user = session.record.state.user().ok_or(WebError::NotFound)?;
            sign_in_page(&app, &ctx, &session, user, status, Some(error)).await
        }
    }
}

/// Adding a passkey: the page starts the ceremony (a fresh second factor required).
pub async fn get_add(State(app): State<AppState>, ctx: Ctx) -> Result<Response, WebError> {
    let (session, user, fresh) = match super::security_info::signed_in(&app, &ctx).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    if !fresh {
        return Ok(see_other(&app, &session, "/security-info"));
    }
    add_page(&app, &ctx, &session, user, StatusCode::OK, None).await
}

async fn add_page(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    user: UserId,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, WebError> {
    let webauthn = webauthn(app)?;
    let account = app
        .store
        .user_by_id(user)
        .await?
        .ok_or(WebError::NotFound)?;
    let existing = app
        .signin
        .passkey_credentials(user)
        .await
        .map_err(super::internal)?;
    let started = webauthn.start_registration(
        &account.subject,
        account.username.as_str(),
        &account.display_name,
        &existing,
    );
    let (options, ceremony) = keep(app, user, CeremonyPurpose::AddPasskey, started).await?;
    render(
        app,
        ctx,
        session,
        status,
        "passkey.html",
        context! {
            options, ceremony, error, adding => true,
            action => "/security-info/passkey", mode => "create",
            default_label => crate::user_agent::describe(ctx.user_agent.as_deref().unwrap_or("")),
        },
    )
}

async fn refused(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    user: UserId,
) -> Result<Response, WebError> {
    let error = t(ctx.lang, "error-webauthn-refused", &[]);
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    add_page(app, ctx, session, user, status, Some(error)).await
}

pub async fn post_add(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CeremonyForm>,
) -> Result<Response, WebError> {
    let (session, user) = match super::security_info::changing(&app, &ctx, &form.csrf).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    let check = super::security_info::check_label(&app, &ctx, &session, user, &form.label);
    if let Some(refused) = check.await? {
        return Ok(refused);
    }
    let Ok(state) = app
        .signin
        .ceremony_take(&form.ceremony, user, CeremonyPurpose::AddPasskey)
        .await
    else {
        return refused(&app, &ctx, &session, user).await;
    };
    let credential = match webauthn(&app)?.finish_registration(&state, &form.response) {
        Ok(c) => c,
        Err(e) => {
            tracing::info!("passkey registration refused: {e}");
            return refused(&app, &ctx, &session, user).await;
        }
    };
    let label = if form.label.trim().is_empty() {
        t(ctx.lang, "passkey-default-name", &[])
    } else {
        form.label
    };
    match app
        .signin
        .add_passkey(
            user,
            &label,
            &credential.id,
            &credential.stored,
            &request_context(&ctx),
        )
        .await
    {
        Ok(_) => {}
        Err(SignInError::Store(tweestap_core::ports::StoreError::Conflict(_))) => {
            return refused(&app, &ctx, &session, user).await;
        }
        Err(e) => return Err(super::internal(e)),
    }
    super::security_info::announce(&app, &ctx, user, None).await?;
    Ok(see_other(
        &app,
        &session,
        "/security-info?notice=passkey-added",
    ))
}
