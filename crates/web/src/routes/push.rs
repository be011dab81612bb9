//! The sign-in step that waits for approval in the tweestap app: the page shows the number to
//! pick on the phone, follows the request live (app.js polls the status) and has a plain
//! "continue" button for browsers without JavaScript.

use axum::extract::{Form, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use tweestap_core::eam::Refusal;
use tweestap_core::signin::{Page, PushStatus, SignInError, SignInState};

use super::{CsrfForm, describe, render, request_context, to_current_step};
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::i18n::t;
use crate::session::Session;

/// What the phone shows about this sign-in: the application, browser, place, address.
async fn request_details(app: &AppState, ctx: &Ctx, session: &Session) -> String {
    let mut application = None;
    if let Some(query) = session
        .record
        .return_to
        .as_deref()
        .and_then(|r| r.strip_prefix("/oauth2/authorize?"))
        && let Some((_, id)) =
            url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "client_id")
        && let Ok(id) = tweestap_core::ClientId::parse(&id)
        && let Ok(Some(client)) = app.store.client_get(&id).await
    {
        application = Some(client.name);
    }
    let mut details = super::devices::device_details(app, ctx);
    details["application"] = serde_json::json!(application);
    details.to_string()
}

async fn page(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, WebError> {
    let (number, state) = match &session.record.state {
        SignInState::AwaitingPush {
            user_id,
            approval: Some(id),
            ..
        } => match app.signin.push_status(*user_id, id).await {
            Ok(PushStatus::Pending { number, .. }) => (Some(number), "pending"),
            Ok(s) => (None, s.as_str()),
            Err(_) => (None, "expired"),
        },
        _ => (None, "none"),
    };
    let message = match state {
        "denied" => Some(t(ctx.lang, "push-denied", &[])),
        "wrong_number" => Some(t(ctx.lang, "push-wrong-number", &[])),
        "reported" => Some(t(ctx.lang, "push-reported", &[])),
        "expired" => Some(t(ctx.lang, "push-expired", &[])),
        "none" if error.is_none() => Some(t(ctx.lang, "push-not-sent", &[])),
        _ => None,
    };
    render(
        app,
        ctx,
        session,
        status,
        "push_wait.html",
        context! { number, state, message, error },
    )
}

/// The waiting page. Opening it asks nothing of the phone (a link, a reload or a browser's
/// prefetch must not): the request was made by the form that led here.
pub async fn get_push(State(app): State<AppState>, ctx: Ctx) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    if session.record.state.page() != Page::AwaitPush {
        return Ok(to_current_step(&app, &session));
    }
    session.save(&app).await?;
    page(&app, &ctx, &session, StatusCode::OK, None).await
}

/// Asks the phone to approve this sign-in (for POSTs only). `Some`: the request was refused
/// (caps, pause, block), and this is the page that says why.
pub(super) async fn ask_phone(
    app: &AppState,
    ctx: &Ctx,
    session: &mut Session,
) -> Result<Option<Response>, WebError> {
    let details = request_details(app, ctx, session).await;
    match app
        .signin
        .start_push(&session.record.state, &details, &request_context(ctx))
        .await
    {
        Ok(started) => {
            tweestap_core::metrics::Metrics::inc(&app.metrics.push_requested);
            let SignInState::AwaitingPush { method_id, .. } = started.state else {
                return Err(WebError::Internal("push started without a phone".into()));
            };
            session.record.state = started.state;
            session.save(app).await?;
            let notice = crate::web_push::Notice::Request {
                id: started.approval_id,
            };
            let sub = started.subscription.as_deref();
            crate::web_push::notify(app, method_id, sub, notice, ctx.lang);
            Ok(None)
        }
        Err(SignInError::Store(e)) => Err(e.into()),
        // The phone was removed meanwhile: start over.
        Err(SignInError::WrongStep) => {
            session.record.state = SignInState::Start;
            session.save(app).await?;
            Ok(Some(to_current_step(app, session)))
        }
        Err(e) => {
            if matches!(
                e,
                SignInError::PushRefused(_) | SignInError::PushBlocked { .. }
            ) {
                tweestap_core::metrics::Metrics::inc(&app.metrics.push_refused);
            }
            session.save(app).await?;
            let (status, error) = describe(ctx.lang, &e)?;
            Ok(Some(page(app, ctx, session, status, Some(error)).await?))
        }
    }
}

/// "Continue": works once the phone approved (the page's script presses it by itself).
pub async fn post_push(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    if session.record.state.page() != Page::AwaitPush {
        return Ok(to_current_step(&app, &session));
    }
    match app
        .signin
        .push_continue(&session.record.state, &request_context(&ctx))
        .await
    {
        Ok(next) => {
            super::second_step_done(&app, &ctx, &mut session, next, false, None, false).await
        }
        Err(SignInError::Store(e)) => Err(e.into()),
        Err(_) if session.record.external.is_some() && denied(&app, &session).await => {
            // "No, this wasn't me" on the phone: Entra hears it too.
            super::entra::give_up(&app, &ctx, &mut session, Refusal::Denied).await
        }
        Err(_) => {
            let error = t(ctx.lang, "push-not-approved-yet", &[]);
            page(
                &app,
                &ctx,
                &session,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(error),
            )
            .await
        }
    }
}

/// Whether the phone said no to this sign-in's request.
async fn denied(app: &AppState, session: &Session) -> bool {
    let SignInState::AwaitingPush {
        user_id,
        approval: Some(id),
        ..
    } = &session.record.state
    else {
        return false;
    };
    matches!(
        app.signin.push_status(*user_id, id).await,
        Ok(PushStatus::Denied)
    )
}

/// "Send a new request" (after one expired or was refused): within the same caps.
pub async fn post_retry(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    if let SignInState::AwaitingPush { approval, .. } = &mut session.record.state {
        *approval = None;
    }
    super::continue_to_step(&app, &ctx, &mut session).await
}

/// The request's state for the page's script: `{"status": "pending" | "approved" | ...}`.
pub async fn get_status(State(app): State<AppState>, ctx: Ctx) -> Result<Response, WebError> {
    let session = Session::load(&app, &ctx).await?;
    let status = match &session.record.state {
        SignInState::AwaitingPush {
            user_id,
            approval: Some(id),
            ..
        } => app
            .signin
            .push_status(*user_id, id)
            .await
            .map(|s| s.as_str())
            .unwrap_or("expired"),
        _ => "none",
    };
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "status": status }).to_string(),
    )
        .into_response())
}
