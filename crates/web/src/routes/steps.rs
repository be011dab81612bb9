//! How a sign-in moves on after a POST: what a new step needs done first (a text sent, the
//! phone asked), where a finished sign-in goes, and what finishing does (a new session id, the
//! browser becoming known, the language kept, a first method announced).

use axum::response::Response;
use tweestap_core::signin::{Page, SignInError};

use super::devices::{remember_known_device, remembered_cookie, request_context};
use super::{internal, page_url, push, refusal_name, security_info, see_other, sms_text};
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::session::Session;

/// Where a browser goes once its state is settled: a finished sign-in goes back to what it
/// came for (an application, a protected site, a page), taken from the session so that it is
/// followed once; after a registration without one, the home page says it is all set.
/// Any other state goes to its step's page.
pub fn destination(session: &mut Session, registered: bool) -> String {
    match session.record.state.page() {
        Page::Home => session
            .record
            .return_to
            .take()
            .unwrap_or_else(|| if registered { "/?welcome=1" } else { "/" }.to_string()),
        page => page_url(page).to_string(),
    }
}

/// A second factor was verified: the session becomes `next` under a new id (no fixation), the
/// browser goes on (to `to`, or where the sign-in leads), and with "don't ask again" ticked it
/// gets a device token. `registered`: the second factor was the user's first method.
pub async fn second_step_done(
    app: &AppState,
    ctx: &Ctx,
    session: &mut Session,
    next: tweestap_core::signin::SignInState,
    remember: bool,
    to: Option<&str>,
    registered: bool,
) -> Result<Response, WebError> {
    if session.record.external.is_some() {
        return super::entra::answer(app, ctx, session, next, registered).await;
    }
    let user = next.signed_in_user();
    session.record.state = next;
    let target = match to {
        Some(to) => to.to_string(),
        None => destination(session, registered),
    };
    session.rotate(app).await?;
    let mut response = see_other(app, session, &target);
    if let Some(user) = user {
        signed_in_here(app, ctx, user, registered, &mut response).await?;
        remember_device_if_asked(app, ctx, remember, user, &mut response).await?;
    }
    Ok(response)
}

/// After a second factor was verified with "don't ask again" ticked: a device token for
/// this browser, as a long-lived cookie (only when the policy offers it).
async fn remember_device_if_asked(
    app: &AppState,
    ctx: &Ctx,
    asked: bool,
    user: tweestap_core::UserId,
    response: &mut Response,
) -> Result<(), WebError> {
    if !asked {
        return Ok(());
    }
    let Some(token) = app
        .signin
        .remember_device(user, &request_context(ctx))
        .await
        .map_err(internal)?
    else {
        return Ok(());
    };
    let max_age = i64::from(app.policy.session.remember_device_days) * 86_400;
    let attributes = format!("Lax; Max-Age={max_age}");
    let name = remembered_cookie(ctx.secure);
    crate::security::append_cookie(app, response, name, &token, &attributes);
    Ok(())
}

/// A sign-in finished in this browser: it becomes known to the account (its own password
/// budget, see `ThrottlePolicy`), its language is the one notices use while the user is away,
/// and a first method (the registration interrupt) is announced on every channel the account
/// has now (the new phone, the e-mail address).
pub async fn signed_in_here(
    app: &AppState,
    ctx: &Ctx,
    user: tweestap_core::UserId,
    registered: bool,
    response: &mut Response,
) -> Result<(), WebError> {
    if let Some(account) = app.store.user_by_id(user).await? {
        // Written only when it changed: most sign-ins are in the language of the last one.
        if account.language.as_deref() != Some(ctx.lang.code()) {
            app.store.user_set_language(user, ctx.lang.code()).await?;
        }
        remember_known_device(app, ctx, &account, response);
    }
    if registered {
        let notice = tweestap_core::notices::Notice::FirstMethod;
        security_info::announce_notice(app, ctx, user, None, notice).await?;
    }
    Ok(())
}

/// A signed-in user agreed to give a real second factor (an application or a site wants more
/// than this sign-in had): back to the second step, strict (a remembered device does not
/// stand in for it), under a new session id.
pub async fn step_up(app: &AppState, session: &mut Session) -> Result<(), WebError> {
    session.record.state = app
        .signin
        .step_up(&session.record.state)
        .await
        .map_err(internal)?;
    session.record.strict = true;
    session.rotate(app).await
}

/// After a POST moved the sign-in to a new step: do what the step needs done first (a text
/// message sent, the phone asked), then go to its page, or to where a finished sign-in leads.
/// Only POSTs start these: opening a page never sends anything.
pub async fn continue_to_step(
    app: &AppState,
    ctx: &Ctx,
    session: &mut Session,
) -> Result<Response, WebError> {
    use tweestap_core::signin::SignInState;
    match &session.record.state {
        SignInState::AwaitingCode {
            challenge: None, ..
        } => send_first_code(app, ctx, session).await,
        SignInState::AwaitingPush { approval: None, .. } => {
            // `ask_phone` saved the session before the phone was asked.
            let refused = push::ask_phone(app, ctx, session).await?;
            let to = page_url(session.record.state.page());
            Ok(refused.unwrap_or_else(|| see_other(app, session, to)))
        }
        _ => {
            let target = destination(session, false);
            session.save(app).await?;
            Ok(see_other(app, session, &target))
        }
    }
}

/// The code step's first text message. The session is saved before the wait for the
/// gateway's first answer, so the code page, opened meanwhile, finds the step.
async fn send_first_code(
    app: &AppState,
    ctx: &Ctx,
    session: &mut Session,
) -> Result<Response, WebError> {
    let text = sms_text(app, ctx.lang);
    let sent = app
        .signin
        .send_code(&session.record.state, &request_context(ctx), &text)
        .await;
    let problem = match sent {
        Ok(sent) => {
            session.record.state = sent;
            session.save(app).await?;
            delivery_failed(app, &session.record.state)
                .await?
                .then_some("gateway-down")
        }
        Err(SignInError::NotSent(refusal)) => {
            session.save(app).await?;
            Some(refusal_name(refusal))
        }
        Err(e) => return Err(internal(e)),
    };
    let page = page_url(Page::EnterCode);
    let to = match problem {
        Some(problem) => format!("{page}?problem={problem}"),
        None => page.to_string(),
    };
    Ok(see_other(app, session, &to))
}

/// Waits briefly for the first answer from a gateway, so a user hears straight away when no
/// text message can go out, instead of waiting for one that never comes. `true`: it failed.
/// The SMS worker says when it recorded an outcome; without one in this process (or should a
/// signal be missed) the status is looked at again every quarter second.
pub async fn delivery_failed(
    app: &AppState,
    state: &tweestap_core::signin::SignInState,
) -> Result<bool, WebError> {
    use tweestap_core::ports::SmsState;
    let deadline = tokio::time::Instant::now()
        + std::time::Duration::from_millis(app.policy.sms.wait_for_send_ms);
    let progress = app.config.sms_progress.clone();
    loop {
        // Listening before looking: an outcome recorded in between still wakes us.
        let mut woken = progress.as_ref().map(|p| Box::pin(p.notified()));
        if let Some(woken) = woken.as_mut() {
            woken.as_mut().enable();
        }
        match app.signin.message_status(state).await.map_err(internal)? {
            None => return Ok(false),
            Some(m) => match m.state {
                SmsState::Sent | SmsState::Delivered => return Ok(false),
                SmsState::Failed | SmsState::Expired => return Ok(true),
                // Every gateway has failed once; it keeps trying, but the user should know.
                SmsState::Queued | SmsState::Sending if m.round >= 1 => return Ok(true),
                SmsState::Queued | SmsState::Sending => {}
            },
        }
        let signal = async {
            match woken {
                Some(woken) => woken.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = signal => {}
            _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
            _ = tokio::time::sleep_until(deadline) => return Ok(false),
        }
    }
}
