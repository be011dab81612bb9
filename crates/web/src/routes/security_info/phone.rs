//! Adding a phone from the security-info page: a code to the new number first.

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use tweestap_core::UserId;
use tweestap_core::signin::SignInError;

use super::*;
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::routes::{describe, render, request_context, see_other};
use crate::session::Session;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PhoneForm {
    csrf: String,
    country: String,
    phone: String,
}

/// Add a phone: a code goes to the new number first.
pub async fn post_phone_start(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<PhoneForm>,
) -> Result<Response, WebError> {
    let (session, user) = match changing(&app, &ctx, &form.csrf).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    let text = crate::routes::sms_text(&app, ctx.lang);
    match app
        .signin
        .start_add_phone(
            user,
            &form.country,
            &form.phone,
            &request_context(&ctx),
            &text,
        )
        .await
    {
        Ok(_) => Ok(see_other(&app, &session, "/security-info/phone")),
        Err(SignInError::Store(e)) => Err(e.into()),
        Err(SignInError::NotSent(refusal)) => {
            let (status, error) = crate::routes::refusal_message(ctx.lang, refusal);
            page(&app, &ctx, &session, user, true, status, None, Some(error)).await
        }
        Err(e) => {
            let (status, error) = describe(ctx.lang, &e)?;
            page(&app, &ctx, &session, user, true, status, None, Some(error)).await
        }
    }
}

pub async fn get_phone_code(State(app): State<AppState>, ctx: Ctx) -> Result<Response, WebError> {
    let (session, user, _) = match signed_in(&app, &ctx).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    phone_code_page(&app, &ctx, &session, user, StatusCode::OK, None).await
}

async fn phone_code_page(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    user: UserId,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, WebError> {
    let Some(phone) = app
        .signin
        .adding_phone(user)
        .await
        .map_err(crate::routes::internal)?
    else {
        return Ok(see_other(app, session, HERE));
    };
    render(
        app,
        ctx,
        session,
        status,
        "phone_add.html",
        context! { phone => crate::routes::display_phone(&phone), error },
    )
}

pub async fn post_phone_confirm(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, WebError> {
    let (session, user) = match changing(&app, &ctx, &form.csrf).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    let rc = request_context(&ctx);
    match app.signin.confirm_add_phone(user, &form.code, &rc).await {
        Ok(_) => {
            announce(&app, &ctx, user, None).await?;
            Ok(see_other(
                &app,
                &session,
                "/security-info?notice=phone-added",
            ))
        }
        Err(SignInError::WrongStep) => Ok(see_other(&app, &session, HERE)),
        Err(SignInError::Store(e)) => Err(e.into()),
        Err(e) => {
            let (status, error) = describe(ctx.lang, &e)?;
            phone_code_page(&app, &ctx, &session, user, status, Some(error)).await
        }
    }
}
