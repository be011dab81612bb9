//! Setting up an authenticator app from the security-info page (also the QR code and the set-up
//! page the registration interrupt shows).

use axum::extract::{Form, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;
use tweestap_core::UserId;
use tweestap_core::signin::SignInError;

use super::*;
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::i18n::t;
use crate::routes::{describe, render, request_context, see_other};
use crate::session::Session;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StartForm {
    csrf: String,
    label: String,
}

pub async fn post_app_start(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<StartForm>,
) -> Result<Response, WebError> {
    let (session, user) = match changing(&app, &ctx, &form.csrf).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    if let Some(refused) = super::check_label(&app, &ctx, &session, user, &form.label).await? {
        return Ok(refused);
    }
    let label = if form.label.trim().is_empty() {
        t(ctx.lang, "security-app-default-name", &[])
    } else {
        form.label
    };
    app.signin
        .start_app_setup(user, &label)
        .await
        .map_err(crate::routes::internal)?;
    Ok(see_other(&app, &session, "/security-info/app"))
}

pub async fn get_app_setup(State(app): State<AppState>, ctx: Ctx) -> Result<Response, WebError> {
    let (session, user, fresh) = match signed_in(&app, &ctx).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    // The secret is shown only to a session that could have started the set-up itself.
    if !fresh {
        return Ok(see_other(&app, &session, HERE));
    }
    app_setup_page(&app, &ctx, &session, user, StatusCode::OK, None).await
}

async fn app_setup_page(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    user: UserId,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, WebError> {
    let Some(setup) = app
        .signin
        .app_setup(user)
        .await
        .map_err(crate::routes::internal)?
    else {
        return Ok(see_other(app, session, HERE));
    };
    setup_page(app, ctx, session, user, &setup, status, error, false).await
}

/// The QR code, the key for typing and the form for the first code (also used by the
/// registration interrupt, with `registering`).
#[allow(clippy::too_many_arguments)]
pub async fn setup_page(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    user: UserId,
    setup: &tweestap_core::signin::AppSetup,
    status: StatusCode,
    error: Option<String>,
    registering: bool,
) -> Result<Response, WebError> {
    let account = app
        .store
        .user_by_id(user)
        .await?
        .map(|u| u.username.as_str().to_string())
        .unwrap_or_default();
    render(
        app,
        ctx,
        session,
        status,
        "app_setup.html",
        context! {
            secret => setup.secret.for_typing(),
            uri => setup.secret.otpauth_uri(&app.config.organisation, &account),
            label => setup.label.clone(),
            error,
            registering,
            qr => if registering { "/sign-in/app-setup/qr.png" } else { "/security-info/app/qr.png" },
            action => if registering { "/sign-in/app-setup" } else { "/security-info/app/confirm" },
        },
    )
}

/// The set-up's QR code. Only its owner, signed in, gets it; never cached.
pub async fn get_app_qr(State(app): State<AppState>, ctx: Ctx) -> Result<Response, WebError> {
    let (_, user, fresh) = match signed_in(&app, &ctx).await? {
        Ok(v) => v,
        Err(_) => return Err(WebError::NotFound),
    };
    if !fresh {
        return Err(WebError::NotFound);
    }
    qr_image(&app, user).await
}

/// The QR code (PNG) of a user's app set-up in progress.
pub async fn qr_image(app: &AppState, user: UserId) -> Result<Response, WebError> {
    let setup = app
        .signin
        .app_setup(user)
        .await
        .map_err(crate::routes::internal)?
        .ok_or(WebError::NotFound)?;
    let account = app
        .store
        .user_by_id(user)
        .await?
        .map(|u| u.username.as_str().to_string())
        .unwrap_or_default();
    let image = crate::qr::png(&setup.secret.otpauth_uri(&app.config.organisation, &account))
        .ok_or_else(|| WebError::Internal("QR code too large".into()))?;
    Ok(([(header::CONTENT_TYPE, "image/png")], image).into_response())
}

pub async fn post_app_confirm(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, WebError> {
    let (session, user) = match changing(&app, &ctx, &form.csrf).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    let rc = request_context(&ctx);
    match app.signin.confirm_app(user, &form.code, &rc).await {
        Ok(_) => {
            announce(&app, &ctx, user, None).await?;
            // Set up from the invitation during a sign-in: on to where the user was going.
            let mut session = session;
            if let Some(next) = session.record.return_to.take() {
                session.save(&app).await?;
                return Ok(see_other(&app, &session, &next));
            }
            Ok(see_other(&app, &session, "/security-info?notice=app-added"))
        }
        Err(SignInError::WrongStep) => Ok(see_other(&app, &session, HERE)),
        Err(SignInError::Store(e)) => Err(e.into()),
        Err(e) => {
            let (status, error) = describe(ctx.lang, &e)?;
            app_setup_page(&app, &ctx, &session, user, status, Some(error)).await
        }
    }
}
