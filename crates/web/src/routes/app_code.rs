//! The sign-in step for a code from an authenticator app.

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use tweestap_core::signin::{Page, SignInError, SignInState};

use super::{describe, render, request_context, to_current_step};
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::session::Session;

async fn render_page(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, WebError> {
    let label = match &session.record.state {
        SignInState::AwaitingApp {
            user_id, method_id, ..
        } => app
            .store
            .methods(*user_id)
            .await?
            .into_iter()
            .find(|m| m.id == *method_id)
            .and_then(|m| match m.kind {
                tweestap_core::MethodKind::Totp { label, .. } => Some(label),
                _ => None,
            })
            .unwrap_or_default(),
        _ => String::new(),
    };
    render(
        app,
        ctx,
        session,
        status,
        "app_code.html",
        context! { error, label },
    )
}

pub async fn get_app_code(State(app): State<AppState>, ctx: Ctx) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    if session.record.state.page() != Page::EnterAppCode {
        return Ok(to_current_step(&app, &session));
    }
    session.save(&app).await?;
    render_page(&app, &ctx, &session, StatusCode::OK, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AppCodeForm {
    csrf: String,
    code: String,
    /// "Don't ask again on this device" ticked.
    remember: Option<String>,
}

pub async fn post_app_code(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<AppCodeForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    if session.record.state.page() != Page::EnterAppCode {
        return Ok(to_current_step(&app, &session));
    }
    match app
        .signin
        .verify_app_code(&session.record.state, &form.code, &request_context(&ctx))
        .await
    {
        Ok(next) => {
            let remember = form.remember.is_some();
            super::second_step_done(&app, &ctx, &mut session, next, remember, None, false).await
        }
        Err(SignInError::Store(e)) => Err(e.into()),
        // The app was removed meanwhile: start over.
        Err(SignInError::WrongStep) => {
            session.record.state = SignInState::Start;
            session.save(&app).await?;
            Ok(to_current_step(&app, &session))
        }
        Err(e) => {
            let (status, error) = describe(ctx.lang, &e)?;
            render_page(&app, &ctx, &session, status, Some(error)).await
        }
    }
}

/// The registration interrupt's "use an app instead".
pub async fn post_register_app(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<super::CsrfForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    if session.record.state.page() != Page::RegisterPhone {
        return Ok(to_current_step(&app, &session));
    }
    let label = crate::i18n::t(ctx.lang, "security-app-default-name", &[]);
    match app.signin.register_app(&session.record.state, &label).await {
        Ok(next) => {
            session.record.state = next;
            session.save(&app).await?;
            Ok(to_current_step(&app, &session))
        }
        Err(SignInError::WrongStep) => Ok(to_current_step(&app, &session)),
        Err(e) => Err(super::internal(e)),
    }
}

fn registering_user(session: &Session) -> Option<tweestap_core::UserId> {
    match &session.record.state {
        SignInState::RegisteringApp { user_id, .. } => Some(*user_id),
        _ => None,
    }
}

pub async fn get_register_app(State(app): State<AppState>, ctx: Ctx) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    let Some(user) = registering_user(&session) else {
        return Ok(to_current_step(&app, &session));
    };
    session.save(&app).await?;
    register_app_page(&app, &ctx, &mut session, user, StatusCode::OK, None).await
}

async fn register_app_page(
    app: &AppState,
    ctx: &Ctx,
    session: &mut Session,
    user: tweestap_core::UserId,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, WebError> {
    match app.signin.app_setup(user).await.map_err(super::internal)? {
        Some(setup) => {
            super::security_info::setup_page(app, ctx, session, user, &setup, status, error, true)
                .await
        }
        // The set-up timed out: back to the choice.
        None => {
            if let SignInState::RegisteringApp { flow, user_id } = &session.record.state {
                session.record.state = SignInState::MustRegister {
                    flow: flow.clone(),
                    user_id: *user_id,
                };
                session.save(app).await?;
            }
            Ok(to_current_step(app, session))
        }
    }
}

pub async fn get_register_app_qr(
    State(app): State<AppState>,
    ctx: Ctx,
) -> Result<Response, WebError> {
    let session = Session::load(&app, &ctx).await?;
    let user = registering_user(&session).ok_or(WebError::NotFound)?;
    super::security_info::qr_image(&app, user).await
}

pub async fn post_register_app_code(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<AppCodeForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    let Some(user) = registering_user(&session) else {
        return Ok(to_current_step(&app, &session));
    };
    match app
        .signin
        .finish_app_registration(&session.record.state, &form.code, &request_context(&ctx))
        .await
    {
        Ok(next) if session.record.external.is_some() => {
            super::entra::answer(&app, &ctx, &mut session, next, true).await
        }
        Ok(next) => {
            session.record.state = next;
            let target = super::destination(&mut session, true);
            session.rotate(&app).await?;
            let mut response = super::see_other(&app, &session, &target);
            super::signed_in_here(&app, &ctx, user, true, &mut response).await?;
            Ok(response)
        }
        Err(SignInError::Store(e)) => Err(e.into()),
        Err(SignInError::WrongStep) => {
            register_app_page(&app, &ctx, &mut session, user, StatusCode::OK, None).await
        }
        Err(e) => {
            let (status, error) = describe(ctx.lang, &e)?;
            register_app_page(&app, &ctx, &mut session, user, status, Some(error)).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PassForm {
    csrf: String,
    pass: String,
}

/// The helpdesk's temporary access pass instead of the second factor.
pub async fn get_access_pass(State(app): State<AppState>, ctx: Ctx) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    if !app
        .signin
        .access_pass_offered(&session.record.state)
        .await
        .map_err(super::internal)?
    {
        return Ok(to_current_step(&app, &session));
    }
    session.save(&app).await?;
    render(
        &app,
        &ctx,
        &session,
        StatusCode::OK,
        "access_pass.html",
        context! {},
    )
}

pub async fn post_access_pass(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<PassForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    match app
        .signin
        .verify_access_pass(&session.record.state, &form.pass, &request_context(&ctx))
        .await
    {
        Ok(next) if session.record.external.is_some() => {
            super::entra::answer(&app, &ctx, &mut session, next, false).await
        }
        Ok(next) => {
            session.record.state = next;
            // Straight to registering a new method.
            session.record.return_to = Some("/security-info".to_string());
            session.rotate(&app).await?;
            Ok(to_current_step(&app, &session))
        }
        Err(SignInError::Store(e)) => Err(e.into()),
        Err(SignInError::WrongStep) => Ok(to_current_step(&app, &session)),
        Err(e) => {
            let (status, error) = describe(ctx.lang, &e)?;
            render(
                &app,
                &ctx,
                &session,
                status,
                "access_pass.html",
                context! { error },
            )
        }
    }
}
