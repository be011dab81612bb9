use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use tweestap_core::signin::{CodeTarget, Page, SendRefusal, SignInError, SignInState};

use super::{
    describe, page_url, refusal_message, refusal_name, render, request_context, see_other,
    to_current_step,
};
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::i18n::t;
use crate::session::Session;
use crate::sms_text;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodeQuery {
    problem: Option<String>,
    resent: Option<String>,
}

/// A problem named in the query string. Only known names map to a message; anything else is
/// ignored, so the URL cannot be used to put text on the page.
fn problem_from_query(name: &str) -> Option<SendRefusal> {
    [
        SendRefusal::Cooldown {
            retry_after_secs: 0,
        },
        SendRefusal::AccountBudget,
        SendRefusal::NumberBudget,
        SendRefusal::AccountLocked {
            retry_after_secs: 0,
        },
        SendRefusal::GatewayDown,
    ]
    .into_iter()
    .find(|r| refusal_name(*r) == name)
}

async fn render_code_page(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
) -> Result<Response, WebError> {
    let SignInState::AwaitingCode {
        user_id,
        target,
        challenge,
        ..
    } = &session.record.state
    else {
        return Ok(to_current_step(app, session));
    };
    // How long until a new code may be asked for, for the button's countdown.
    let now = app.clock.now();
    let wait_secs = app
        .store
        .sms_last_to_user(*user_id)
        .await?
        .map(|last| now.secs_until(last.plus_secs(app.policy.code.resend_cooldown_secs)))
        .filter(|s| *s > 0);
    render(
        app,
        ctx,
        session,
        status,
        "code.html",
        context! {
            phone => super::display_phone(target.phone()),
            sent => challenge.is_some(),
            registering => matches!(target, CodeTarget::Register { .. }),
            error,
            notice,
            wait_secs,
        },
    )
}

pub async fn get_code(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(q): Query<CodeQuery>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    if session.record.state.page() != Page::EnterCode {
        return Ok(to_current_step(&app, &session));
    }
    session.save(&app).await?;
    let (status, error) = match q.problem.as_deref().and_then(problem_from_query) {
        // The numbers in the message are only known at the moment of refusal; a reloaded page
        // shows the general text (the countdown button carries the exact wait).
        Some(SendRefusal::Cooldown { .. }) => (StatusCode::OK, None),
        Some(refusal) => (StatusCode::OK, Some(refusal_message(ctx.lang, refusal).1)),
        None => (StatusCode::OK, None),
    };
    let notice = q.resent.map(|_| t(ctx.lang, "code-resent", &[]));
    render_code_page(&app, &ctx, &session, status, error, notice).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    csrf: String,
    code: String,
}

pub async fn post_code(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    if session.record.state.page() != Page::EnterCode {
        return Ok(to_current_step(&app, &session));
    }
    match app
        .signin
        .verify_code(&session.record.state, &form.code, &request_context(&ctx))
        .await
    {
        Ok(next) => {
            session.record.state = next;
            session.rotate(&app).await?;
            Ok(to_current_step(&app, &session))
        }
        Err(SignInError::Store(e)) => Err(e.into()),
        Err(e) => {
            let (status, error) = describe(ctx.lang, &e)?;
            render_code_page(&app, &ctx, &session, status, Some(error), None).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn post_resend(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    if session.record.state.page() != Page::EnterCode {
        return Ok(to_current_step(&app, &session));
    }
    let text = |code: &_| {
        sms_text::sign_in_code(ctx.lang, &app.config.organisation, &app.config.host(), code)
    };
    match app
        .signin
        .send_code(&session.record.state, &request_context(&ctx), &text)
        .await
    {
        Ok(next) => {
            session.record.state = next;
            session.save(&app).await?;
            Ok(see_other(
                &app,
                &session,
                &format!("{}?resent=1", page_url(Page::EnterCode)),
            ))
        }
        Err(SignInError::Store(e)) => Err(e.into()),
        Err(e) => {
            let (status, error) = describe(ctx.lang, &e)?;
            render_code_page(&app, &ctx, &session, status, Some(error), None).await
        }
    }
}
