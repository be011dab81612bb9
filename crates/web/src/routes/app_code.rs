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
            session.record.state = next;
            session.rotate(&app).await?;
            Ok(to_current_step(&app, &session))
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
