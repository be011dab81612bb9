//! The invitation, after a sign-in by SMS, to use an authenticator app.

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;

use super::*;
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::routes::{CsrfForm, render, request_context, see_other};

/// The invitation, after a sign-in by SMS, to use an authenticator app from now on.
pub async fn get_invite(State(app): State<AppState>, ctx: Ctx) -> Result<Response, WebError> {
    let (session, _, _) = match signed_in(&app, &ctx).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    let Some(left) = app
        .signin
        .app_invitation(&session.record.state)
        .await
        .map_err(crate::routes::internal)?
    else {
        return Ok(crate::routes::to_current_step(&app, &session));
    };
    render(
        &app,
        &ctx,
        &session,
        StatusCode::OK,
        "app_invite.html",
        context! { left },
    )
}

pub async fn post_invite_skip(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let (mut session, _, _) = match signed_in(&app, &ctx).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    session.check_csrf(&form.csrf)?;
    let skipped = app
        .signin
        .skip_app_invitation(&session.record.state, &request_context(&ctx))
        .await
        .map_err(crate::routes::internal)?;
    if !skipped {
        return Ok(see_other(&app, &session, "/security-info/invite"));
    }
    let target = crate::routes::destination(&mut session, false);
    session.save(&app).await?;
    Ok(see_other(&app, &session, &target))
}
