use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use tweestap_core::Secret;
use tweestap_core::signin::{Page, SignInError, SignInState};

use super::{
    CsrfForm, describe, page_url, refusal_name, render, request_context, see_other, to_current_step,
};
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::i18n::t;
use crate::return_to::safe_return_to;
use crate::session::Session;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignInQuery {
    return_to: Option<String>,
    signed_out: Option<String>,
    /// A username to fill in (an application's `login_hint`).
    hint: Option<String>,
}

pub async fn get_sign_in(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SignInQuery>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    // Applications' and proxies' return paths are set by their own endpoints after checking
    // them, never taken from a link (their targets widen the page's form-action).
    if let Some(target) = q
        .return_to
        .as_deref()
        .and_then(safe_return_to)
        .filter(|t| !t.starts_with("/oauth2/") && !t.starts_with("/auth/"))
    {
        session.record.return_to = Some(target);
    }
    session.save(&app).await?;
    if session.record.state.page() != Page::SignIn {
        return Ok(to_current_step(&app, &session));
    }
    let notice = q.signed_out.map(|_| t(ctx.lang, "signed-out", &[]));
    render(
        &app,
        &ctx,
        &session,
        StatusCode::OK,
        "sign_in.html",
        context! { notice, username => q.hint.as_deref().unwrap_or("").trim() },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignInForm {
    csrf: String,
    username: String,
    password: String,
}

pub async fn post_sign_in(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<SignInForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    let again = |status, error: String, session: &Session| {
        render(
            &app,
            &ctx,
            session,
            status,
            "sign_in.html",
            context! { error, username => form.username.trim() },
        )
    };
    // A stale page (expired session) or a forged form: nothing is checked, but the person
    // gets the form back with a fresh token and their username, not a dead end.
    if session.check_csrf(&form.csrf).is_err() {
        let message = t(ctx.lang, "error-form-expired", &[]);
        return again(StatusCode::FORBIDDEN, message, &session);
    }
    if session.record.state.page() != Page::SignIn {
        return Ok(to_current_step(&app, &session));
    }
    if form.username.trim().is_empty() {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            t(ctx.lang, "error-username-empty", &[]),
            &session,
        );
    }
    if form.password.is_empty() {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            t(ctx.lang, "error-password-empty", &[]),
            &session,
        );
    }
    // Nothing this long is anyone's username or password; refused before anything is hashed,
    // counted or stored.
    if form.username.len() > MAX_USERNAME_BYTES {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            t(ctx.lang, "error-username-too-long", &[]),
            &session,
        );
    }
    if form.password.len() > MAX_PASSWORD_BYTES {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            t(ctx.lang, "error-password-too-long", &[]),
            &session,
        );
    }
    let mut rc = request_context(&ctx);
    // "Confirm it's you" before changing sign-in methods needs a real second factor: a
    // remembered device does not stand in for it there.
    if session.record.return_to.as_deref() == Some("/security-info") {
        rc.device_token = None;
    }
    let next = match app
        .signin
        .submit_password(&form.username, Secret::new(form.password.clone()), &rc)
        .await
    {
        Ok(next) => next,
        Err(SignInError::Store(e)) => return Err(e.into()),
        Err(e) => {
            let (status, message) = describe(ctx.lang, &e)?;
            return again(status, message, &session);
        }
    };
    session.record.state = next;
    session.rotate(&app).await?;
    let mut response = first_step_done(&app, &ctx, &mut session, &rc).await?;
    if let Ok(username) = tweestap_core::Username::parse(&form.username) {
        super::remember_known_device(&app, &ctx, &username, &mut response);
    }
    Ok(response)
}

/// Longest username and password accepted (bytes). A username is far shorter; NIST asks that
/// passwords of at least 64 characters be allowed.
const MAX_USERNAME_BYTES: usize = 256;
const MAX_PASSWORD_BYTES: usize = 1024;

/// After the password: on to the second step (a user with a phone gets the code straight
/// away: no extra click).
async fn first_step_done(
    app: &AppState,
    ctx: &Ctx,
    session: &mut Session,
    rc: &tweestap_core::signin::RequestContext,
) -> Result<Response, WebError> {
    if let SignInState::AwaitingCode {
        challenge: None, ..
    } = &session.record.state
    {
        let text = super::sms_text(app, ctx.lang);
        match app.signin.send_code(&session.record.state, rc, &text).await {
            Ok(sent) => {
                session.record.state = sent;
                session.save(app).await?;
                if super::delivery_failed(app, &session.record.state).await? {
                    let to = format!("{}?problem=gateway-down", page_url(Page::EnterCode));
                    return Ok(see_other(app, session, &to));
                }
            }
            Err(SignInError::NotSent(refusal)) => {
                let to = format!(
                    "{}?problem={}",
                    page_url(Page::EnterCode),
                    refusal_name(refusal)
                );
                return Ok(see_other(app, session, &to));
            }
            Err(e) => return Err(super::internal(e)),
        }
    }
    Ok(to_current_step(app, session))
}

/// "Use another account": back to the start, forgetting whoever got past the password.
pub async fn post_restart(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    if session.record.state.signed_in_user().is_none() {
        session.record.state = SignInState::Start;
        session.save(&app).await?;
    }
    Ok(to_current_step(&app, &session))
}

/// "Cancel" on the code page: while registering, back to the phone form; otherwise back to
/// the start.
pub async fn post_cancel(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    session.record.state = match &session.record.state {
        SignInState::AwaitingCode {
            flow,
            user_id,
            target,
            ..
        } if target.is_registration() => SignInState::MustRegister {
            flow: flow.clone(),
            user_id: *user_id,
        },
        // "Use a phone instead" while setting up an app: back to the choice.
        SignInState::RegisteringApp { flow, user_id } => SignInState::MustRegister {
            flow: flow.clone(),
            user_id: *user_id,
        },
        SignInState::SignedIn { .. } => session.record.state.clone(),
        _ => SignInState::Start,
    };
    session.save(&app).await?;
    Ok(to_current_step(&app, &session))
}

pub async fn post_sign_out(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    let user = session.record.state.user();
    session.destroy(&app).await?;
    app.signin
        .audit_sign_out(user, &request_context(&ctx))
        .await
        .map_err(super::internal)?;
    Ok(see_other(&app, &session, "/sign-in?signed_out=1"))
}
