use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use tweestap_core::ports::SmsState;
use tweestap_core::signin::{CodeTarget, Page, SendRefusal, SignInError, SignInState};

use super::{
    CsrfForm, describe, page_url, refusal_message, refusal_name, render, request_context,
    see_other, to_current_step,
};
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::i18n::t;
use crate::session::Session;

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
        SendRefusal::NetworkBudget,
        SendRefusal::CountryBudget,
        SendRefusal::GlobalBudget,
        SendRefusal::Blocked {
            until: tweestap_core::Timestamp(0),
        },
        SendRefusal::AccountLocked {
            retry_after_secs: 0,
        },
        SendRefusal::NumberNotAllowed,
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
    let resend = app.store.sms_resend_state(*user_id, now).await?;
    let wait = tweestap_core::signin::resend_wait(
        resend.sent_since_success,
        &app.policy.code,
        &app.policy.sms,
    );
    let wait_secs = resend
        .last_sent
        .map(|last| now.secs_until(last.plus_secs(wait)))
        .filter(|s| *s > 0);
    // Where the text message is: still on its way, or given up.
    let message = app
        .signin
        .message_status(&session.record.state)
        .await
        .map_err(super::internal)?;
    let sending = message
        .as_ref()
        .is_some_and(|m| matches!(m.state, SmsState::Queued | SmsState::Sending) && m.round == 0);
    let undeliverable = message.as_ref().is_some_and(|m| {
        matches!(m.state, SmsState::Failed | SmsState::Expired)
            || (!m.state.is_final() && m.round >= 1)
    });
    let error = error
        .or_else(|| undeliverable.then(|| refusal_message(ctx.lang, SendRefusal::GatewayDown).1));
    render(
        app,
        ctx,
        session,
        status,
        "code.html",
        context! {
            phone => super::display_phone(target.phone()),
            sent => challenge.is_some(),
            sending => sending && !undeliverable,
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
    /// "Don't ask again on this device" ticked.
    remember: Option<String>,
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
    let registering = matches!(
        &session.record.state,
        SignInState::AwaitingCode { target, .. } if target.is_registration()
    );
    match app
        .signin
        .verify_code(&session.record.state, &form.code, &request_context(&ctx))
        .await
    {
        Ok(next) => {
            let invite = app
                .signin
                .app_invitation(&next)
                .await
                .map_err(super::internal)?;
            // After a text message: invite the user to use an app next time.
            let to = invite.map(|_| "/security-info/invite");
            let remember = form.remember.is_some();
            super::second_step_done(&app, &ctx, &mut session, next, remember, to, registering).await
        }
        Err(SignInError::Store(e)) => Err(e.into()),
        // The method was removed meanwhile (reset by the helpdesk): start over.
        Err(SignInError::WrongStep) => {
            session.record.state = SignInState::Start;
            session.save(&app).await?;
            Ok(to_current_step(&app, &session))
        }
        Err(e) => {
            let (status, error) = describe(ctx.lang, &e)?;
            render_code_page(&app, &ctx, &session, status, Some(error), None).await
        }
    }
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
    let text = super::sms_text(&app, ctx.lang);
    match app
        .signin
        .send_code(&session.record.state, &request_context(&ctx), &text)
        .await
    {
        Ok(next) => {
            session.record.state = next;
            session.save(&app).await?;
            if super::delivery_failed(&app, &session.record.state).await? {
                let (status, error) = refusal_message(ctx.lang, SendRefusal::GatewayDown);
                return render_code_page(&app, &ctx, &session, status, Some(error), None).await;
            }
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
