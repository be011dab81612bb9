use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use tweestap_core::Secret;
use tweestap_core::eam::Refusal;
use tweestap_core::signin::{Page, SignInError, SignInState};

use super::{CsrfForm, describe, render, request_context, see_other, to_current_step};
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::i18n::t;
use crate::return_to::accepted_return_to;
use crate::session::Session;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignInQuery {
    return_to: Option<String>,
    signed_out: Option<String>,
    /// A username to fill in (an application's `login_hint`).
    hint: Option<String>,
    /// The application asked for a real sign-in (`prompt=login`, `max_age`).
    strict: Option<String>,
}

pub async fn get_sign_in(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SignInQuery>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.save(&app).await?;
    if session.record.state.page() != Page::SignIn {
        return Ok(to_current_step(&app, &session));
    }
    // Where to come back to travels in the form, not the session: opening this page (a link,
    // a prefetch) writes nothing. Applications' and proxies' returns are checked again here.
    let return_to = match q.return_to.as_deref() {
        Some(target) => accepted_return_to(&app, target).await,
        None => None,
    };
    if return_to.is_some() {
        // Shown with this page only (its form-action reaches the application); not stored.
        session.record.return_to = return_to.clone();
    }
    let notice = q.signed_out.map(|_| t(ctx.lang, "signed-out", &[]));
    let strict = q.strict.is_some();
    render(
        &app,
        &ctx,
        &session,
        StatusCode::OK,
        "sign_in.html",
        context! {
            notice, return_to, strict,
            username => q.hint.as_deref().unwrap_or("").trim(),
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignInForm {
    csrf: String,
    username: String,
    password: String,
    /// Where to come back to, as the sign-in page carried it (checked again).
    return_to: String,
    /// A real second factor is asked for (see `SignInQuery::strict`).
    strict: Option<String>,
}

/// The password form. Its script sends it in the background (header `X-Tweestap-Fetch`), so
/// that in a rush it can send it again with the password already typed: such a request gets
/// the way on as `{"location": …}` (a script cannot read a redirect), everything else as is.
pub async fn post_sign_in(
    State(app): State<AppState>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    form: Form<SignInForm>,
) -> Result<Response, WebError> {
    let response = sign_in(app, ctx, form).await?;
    let location = response
        .headers()
        .get(axum::http::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(str::to_string);
    match location {
        Some(location) if headers.contains_key("x-tweestap-fetch") => {
            let (mut parts, _) = response.into_parts();
            parts.status = StatusCode::OK;
            parts.headers.remove(axum::http::header::LOCATION);
            parts.headers.insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            );
            let body = serde_json::json!({ "location": location }).to_string();
            Ok(Response::from_parts(parts, axum::body::Body::from(body)))
        }
        _ => Ok(response),
    }
}

async fn sign_in(
    app: AppState,
    ctx: Ctx,
    Form(form): Form<SignInForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    // Only a return that passes the checks is kept, or carried in the form shown again.
    let return_to = match form.return_to.as_str() {
        "" => None,
        target => accepted_return_to(&app, target).await,
    };
    if return_to.is_some() {
        session.record.return_to = return_to.clone();
    }
    if form.strict.is_some() {
        session.record.strict = true;
    }
    let strict = form.strict.is_some();
    let again = |status, error: String, session: &Session| {
        render(
            &app,
            &ctx,
            session,
            status,
            "sign_in.html",
            context! { error, return_to, strict, username => form.username.trim() },
        )
    };
    // A stale page (expired session) or a forged form: nothing is checked, but the person
    // gets the form back with a fresh token and their username, not a dead end.
    if session.check_csrf(&form.csrf).is_err() {
        let message = t(ctx.lang, "error-form-expired", &[]);
        return again(StatusCode::FORBIDDEN, message, &session);
    }
    if session.record.state.page() != Page::SignIn {
        return Ok(to_current_step(&app, &session));
    }
    if form.username.trim().is_empty() {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            t(ctx.lang, "error-username-empty", &[]),
            &session,
        );
    }
    if form.password.is_empty() {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            t(ctx.lang, "error-password-empty", &[]),
            &session,
        );
    }
    // Nothing this long is anyone's username or password; refused before anything is hashed,
    // counted or stored.
    if form.username.len() > MAX_USERNAME_BYTES {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            t(ctx.lang, "error-username-too-long", &[]),
            &session,
        );
    }
    if form.password.len() > MAX_PASSWORD_BYTES {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            t(ctx.lang, "error-password-too-long", &[]),
            &session,
        );
    }
    // A password typed here is a sign-in to tweestap itself, not an answer to Entra (which
    // named its own account). The Entra sign-in ends and the form comes back under the
    // browser's own session, with its own token: nothing typed into one session is carried
    // into the other.
    if session.record.external.is_some() {
        session.leave_external(&app, &ctx).await?;
        return Ok(see_other(&app, &session, "/sign-in"));
    }
    let mut rc = request_context(&ctx);
    // A sign-in that must verify a real second factor ("confirm it's you", prompt=login,
    // max_age): a remembered device does not stand in for it.
    if session.record.strict {
        rc.device_token = None;
    }
    let next = match app
        .signin
        .submit_password(&form.username, Secret::new(form.password.clone()), &rc)
        .await
    {
        Ok(next) => next,
        Err(SignInError::Store(e)) => return Err(e.into()),
        Err(e) => {
            let (status, message) = describe(ctx.lang, &e)?;
            let mut page = again(status, message, &session)?;
            if let SignInError::Busy { retry_after_secs } = e {
                // Not audited (nothing was checked, and a rush makes thousands): counted.
                tweestap_core::metrics::Metrics::inc(&app.metrics.password_busy);
                // The page's script sends the same form again after this (the typed password
                // never comes back in a page); without it the person presses the button.
                page.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(retry_after_secs),
                );
            }
            return Ok(page);
        }
    };
    session.record.state = next;
    session.rotate(&app).await?;
    let mut response = super::continue_to_step(&app, &ctx, &mut session).await?;
    // The password alone finished the sign-in (the policy allows it, or a remembered device).
    if let Some(user) = session.record.state.signed_in_user() {
        super::signed_in_here(&app, &ctx, user, false, &mut response).await?;
    }
    Ok(response)
}

/// Longest username and password accepted (bytes). A username is far shorter; NIST asks that
/// passwords of at least 64 characters be allowed.
const MAX_USERNAME_BYTES: usize = 256;
const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ContinueForm {
    csrf: String,
    return_to: String,
}

/// "Carry on with the sign-in under way, then go where this link wanted" (an application or
/// a protected site opened mid-sign-in): the return is checked again before it is kept.
pub async fn post_continue(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ContinueForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    if let Some(target) = accepted_return_to(&app, &form.return_to).await {
        session.record.return_to = Some(target);
    }
    super::continue_to_step(&app, &ctx, &mut session).await
}

/// "Use another account": back to the start, forgetting whoever got past the password.
pub async fn post_restart(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    if session.record.state.signed_in_user().is_none() {
        session.record.state = SignInState::Start;
        if session.record.external.is_some() {
            // Entra named the account: "another account" ends Entra's sign-in instead.
            return super::entra::give_up(&app, &ctx, &mut session, Refusal::Denied).await;
        }
        session.save(&app).await?;
    }
    Ok(to_current_step(&app, &session))
}

/// "Cancel" on the code page: while registering, back to the phone form; otherwise back to
/// the start.
pub async fn post_cancel(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    session.record.state = match &session.record.state {
        SignInState::AwaitingCode {
            flow,
            user_id,
            target,
            ..
        } if target.is_registration() => SignInState::MustRegister {
            flow: flow.clone(),
            user_id: *user_id,
        },
        // "Use a phone instead" while setting up an app: back to the choice.
        SignInState::RegisteringApp { flow, user_id } => SignInState::MustRegister {
            flow: flow.clone(),
            user_id: *user_id,
        },
        SignInState::SignedIn { .. } => session.record.state.clone(),
        _ => SignInState::Start,
    };
    if session.record.state == SignInState::Start && session.record.external.is_some() {
        // Cancelling the second step Entra asked for: Entra hears `access_denied`.
        return super::entra::give_up(&app, &ctx, &mut session, Refusal::Denied).await;
    }
    session.save(&app).await?;
    Ok(to_current_step(&app, &session))
}

pub async fn post_sign_out(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    let user = session.record.state.user();
    session.destroy(&app).await?;
    app.signin
        .audit_sign_out(user, &request_context(&ctx))
        .await
        .map_err(super::internal)?;
    Ok(see_other(&app, &session, "/sign-in?signed_out=1"))
}
