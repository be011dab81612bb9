use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};
use tweestap_core::MethodId;
use tweestap_core::signin::{Page, SignInError};

use super::{describe, page_url, render, request_context, see_other, to_current_step};
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::session::Session;

#[derive(Serialize)]
struct MethodOption {
    id: i64,
    name: String,
}

fn choosing(page: Page) -> bool {
    matches!(
        page,
        Page::EnterCode | Page::EnterAppCode | Page::EnterPasskey | Page::AwaitPush
    )
}

/// "Sign in another way": the user's own methods (phones and authenticator apps), and nobody
/// else's.
async fn render_chooser(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, WebError> {
    let methods = match app.signin.methods_for(&session.record.state).await {
        Ok(methods) => methods,
        Err(SignInError::WrongStep) => {
            return Ok(see_other(app, session, page_url(Page::EnterCode)));
        }
        Err(e) => return Err(super::internal(e)),
    };
    let methods: Vec<MethodOption> = methods
        .iter()
        .map(|m| MethodOption {
            id: m.id.0,
            name: super::method_name(ctx.lang, m),
        })
        .collect();
    let pass_offered = app
        .signin
        .access_pass_offered(&session.record.state)
        .await
        .map_err(super::internal)?;
    render(
        app,
        ctx,
        session,
        status,
        "other_way.html",
        context! { methods, error, pass_offered, help_url => app.config.help_url.clone() },
    )
}

pub async fn get_other_way(State(app): State<AppState>, ctx: Ctx) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    if !choosing(session.record.state.page()) {
        return Ok(to_current_step(&app, &session));
    }
    session.save(&app).await?;
    render_chooser(&app, &ctx, &session, StatusCode::OK, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ChooseForm {
    csrf: String,
    method: String,
}

pub async fn post_other_way(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ChooseForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    if !choosing(session.record.state.page()) {
        return Ok(to_current_step(&app, &session));
    }
    let Ok(id) = form.method.parse::<i64>() else {
        return render_chooser(&app, &ctx, &session, StatusCode::UNPROCESSABLE_ENTITY, None).await;
    };
    let text = super::sms_text(&app, ctx.lang);
    match app
        .signin
        .choose_method(
            &session.record.state,
            MethodId(id),
            &request_context(&ctx),
            &text,
        )
        .await
    {
        Ok(next) => {
            session.record.state = next;
            session.save(&app).await?;
            if session.record.state.page() == Page::EnterCode
                && super::delivery_failed(&app, &session.record.state).await?
            {
                let to = format!("{}?problem=gateway-down", page_url(Page::EnterCode));
                return Ok(see_other(&app, &session, &to));
            }
            // The tweestap app is asked now, by this form, not by opening its page.
            super::continue_to_step(&app, &ctx, &mut session).await
        }
        // Not one of this user's methods (or not a choosing step): show the list again.
        Err(SignInError::WrongStep) => {
            render_chooser(&app, &ctx, &session, StatusCode::UNPROCESSABLE_ENTITY, None).await
        }
        Err(SignInError::Store(e)) => Err(e.into()),
        Err(e) => {
            let (status, error) = describe(ctx.lang, &e)?;
            render_chooser(&app, &ctx, &session, status, Some(error)).await
        }
    }
}
