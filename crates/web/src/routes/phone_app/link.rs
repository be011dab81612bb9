//! Linking a phone: the computer shows a one-time QR link and follows the test approval; the
//! phone opens the link, creates its credential and gets its cookie.

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use base64::Engine;
use minijinja::context;
use serde::Deserialize;
use tweestap_core::ports::CeremonyPurpose;
use tweestap_core::signin::{APP_LINK_SECS, LinkStatus, PushStatus, SignInError};

use super::{APP_HOME, device_cookie, json, phone};
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::i18n::t;
use crate::routes::passkey::webauthn;
use crate::routes::{render, request_context, see_other};
use crate::session::Session;

// ---- On the computer: the security-info page starts linking a phone. ----

/// Starts linking (a fresh second factor required): a one-time link, shown as a QR code.
pub async fn post_link_start(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<crate::routes::CsrfForm>,
) -> Result<Response, WebError> {
    webauthn(&app)?;
    let (session, user) =
        match crate::routes::security_info::changing(&app, &ctx, &form.csrf).await? {
            Ok(v) => v,
            Err(response) => return Ok(response),
        };
    let token = app
        .signin
        .start_app_link(user)
        .await
        .map_err(crate::routes::internal)?;
    let link = format!(
        "{}/app/link?t={token}",
        app.config.public_url.as_str().trim_end_matches('/')
    );
    let qr = crate::qr::png(&link)
        .map(|png| {
            format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(png)
            )
        })
        .ok_or_else(|| WebError::Internal("QR code too large".into()))?;
    render(
        &app,
        &ctx,
        &session,
        StatusCode::OK,
        "app_link.html",
        context! { qr, link, minutes => APP_LINK_SECS / 60, number => None::<u8>, state => "waiting" },
    )
}

/// Where linking stands: waiting for the phone, the test request's number, done.
pub async fn get_link_status(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(q): Query<JsonQuery>,
) -> Result<Response, WebError> {
    let (session, user, _) = match crate::routes::security_info::signed_in(&app, &ctx).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    let since = app.clock.now().minus_secs(APP_LINK_SECS + 300);
    let status = app
        .signin
        .link_status(user, since)
        .await
        .map_err(crate::routes::internal)?;
    let mut to_confirm = None;
    let mut request = None;
    let (state, number) = match status {
        None => ("waiting", None),
        Some(LinkStatus::ToConfirm { request, details }) => {
            to_confirm = Some((request, details));
            ("confirm", None)
        }
        Some(LinkStatus::Push {
            request: id,
            status,
        }) => {
            request = Some(id);
            match status {
                PushStatus::Pending { number, .. } => ("pending", Some(number)),
                other => (other.as_str(), None),
            }
        }
    };
    if q.json.is_some() {
        return Ok(json(
            serde_json::json!({ "status": state, "number": number }),
        ));
    }
    if let Some((request, details)) = to_confirm {
        // What the computer knows of the phone that used the link, to tell a stranger's.
        let d: serde_json::Value = serde_json::from_str(&details).unwrap_or_default();
        let s = |k: &str| d[k].as_str().unwrap_or("?").to_string();
        let place = match d["place"].as_str() {
            Some(place) => format!("{place} ({})", s("ip")),
            None => s("ip"),
        };
        return render(
            &app,
            &ctx,
            &session,
            StatusCode::OK,
            "app_link.html",
            context! { state, request, browser => s("browser"), place },
        );
    }
    if state == "approved" {
        return Ok(see_other(
            &app,
            &session,
            "/security-info?notice=push-added",
        ));
    }
    render(
        &app,
        &ctx,
        &session,
        StatusCode::OK,
        "app_link.html",
        context! { number, state, request },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct JsonQuery {
    json: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ConfirmForm {
    csrf: String,
    request: String,
    decision: String,
}

/// "Is this your phone?" answered on the computer (signed in, with a fresh second factor):
/// yes lets the phone make its test approval; no cancels that phone's link.
pub async fn post_link_confirm(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, WebError> {
    let (session, user) =
        match crate::routes::security_info::changing(&app, &ctx, &form.csrf).await? {
            Ok(v) => v,
            Err(response) => return Ok(response),
        };
    let yes = form.decision == "yes";
    let decided = app
        .signin
        .decide_app_link(user, &form.request, yes, &request_context(&ctx))
        .await
        .map_err(crate::routes::internal)?;
    // Nothing to decide any more (answered, expired): the page says where linking stands.
    let to = if yes || !decided {
        "/security-info/tweestap-app"
    } else {
        "/security-info?notice=link-refused"
    };
    Ok(see_other(&app, &session, to))
}

// ---- On the phone: linking. ----

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LinkQuery {
    t: String,
}

pub async fn get_link(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(q): Query<LinkQuery>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.save(&app).await?;
    link_page(&app, &ctx, &session, &q.t, StatusCode::OK, None).await
}

async fn link_page(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    token: &str,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, WebError> {
    let webauthn = webauthn(app)?;
    let user = match app.signin.app_link_user(token).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            // Used by another phone first? Then nobody links with it now.
            let contested = app
                .signin
                .contest_app_link(token, &request_context(ctx))
                .await
                .map_err(crate::routes::internal)?;
            let key = if contested {
                "app-link-contested"
            } else {
                "app-link-invalid"
            };
            let error = t(ctx.lang, key, &[]);
            return render(
                app,
                ctx,
                session,
                StatusCode::NOT_FOUND,
                "app_phone.html",
                context! { linked => false, error },
            );
        }
        Err(e) => return Err(crate::routes::internal(e)),
    };
    if let Some(other) = phone(app, ctx).await?
        && other.user_id != user
    {
        return linked_elsewhere(app, ctx, session);
    }
    let account = app
        .store
        .user_by_id(user)
        .await?
        .ok_or(WebError::NotFound)?;
    // The phone's credential gets its own user handle: it is not one of the user's passkeys
    // (an authenticator keeps one credential per handle and would replace the passkey).
    let started = webauthn.start_registration(
        &format!("app:{}", account.subject),
        account.username.as_str(),
        &account.display_name,
        &[],
    );
    let (options, ceremony) =
        crate::routes::passkey::keep(app, user, CeremonyPurpose::LinkApp, started).await?;
    render(
        app,
        ctx,
        session,
        status,
        "app_link_phone.html",
        context! {
            options, ceremony, token, error,
            display_name => account.display_name,
            default_label => crate::user_agent::describe(ctx.user_agent.as_deref().unwrap_or("")),
        },
    )
}

/// This phone approves for another account: linking it here would silently take it away
/// from that one (and a link sent by someone else must not be able to do that).
fn linked_elsewhere(app: &AppState, ctx: &Ctx, session: &Session) -> Result<Response, WebError> {
    let error = t(ctx.lang, "app-link-other-account", &[]);
    render(
        app,
        ctx,
        session,
        StatusCode::CONFLICT,
        "app_phone.html",
        context! { linked => false, error },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LinkForm {
    csrf: String,
    t: String,
    ceremony: String,
    response: String,
    label: String,
}

pub async fn post_link(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<LinkForm>,
) -> Result<Response, WebError> {
    let session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    let webauthn = webauthn(&app)?;
    if tweestap_core::Label::refuses(&form.label) {
        let error = Some(t(ctx.lang, "error-label-control", &[]));
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return link_page(&app, &ctx, &session, &form.t, status, error).await;
    }
    let refused = || t(ctx.lang, "error-webauthn-refused", &[]);
    let Some(user) = app
        .signin
        .app_link_user(&form.t)
        .await
        .map_err(crate::routes::internal)?
    else {
        return link_page(&app, &ctx, &session, &form.t, StatusCode::NOT_FOUND, None).await;
    };
    let credential = match app
        .signin
        .ceremony_take(&form.ceremony, user, CeremonyPurpose::LinkApp)
        .await
    {
        Ok(state) => webauthn.finish_registration(&state, &form.response).ok(),
        Err(_) => None,
    };
    let Some(credential) = credential else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return link_page(&app, &ctx, &session, &form.t, status, Some(refused())).await;
    };
    // Linked before to this account: the new link replaces that one (same phone, new key).
    let replaces = match phone(&app, &ctx).await? {
        Some(old) if old.user_id != user => return linked_elsewhere(&app, &ctx, &session),
        Some(old) => Some(old.id),
        None => None,
    };
    let label = if form.label.trim().is_empty() {
        t(ctx.lang, "app-default-name", &[])
    } else {
        form.label
    };
    // What the computer will show about this phone before it may link.
    let details = crate::routes::devices::device_details(&app, &ctx).to_string();
    let (device_token, _) = match app
        .signin
        .finish_app_link(
            &form.t,
            user,
            &label,
            &credential.id,
            &credential.stored,
            replaces,
            &details,
            &request_context(&ctx),
        )
        .await
    {
        Ok(v) => v,
        Err(SignInError::Store(e)) => return Err(e.into()),
        Err(e @ SignInError::PushBlocked { .. }) => {
            let (status, error) = crate::routes::describe(ctx.lang, &e)?;
            return render(
                &app,
                &ctx,
                &session,
                status,
                "app_phone.html",
                context! { linked => false, error },
            );
        }
        Err(_) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return link_page(&app, &ctx, &session, &form.t, status, Some(refused())).await;
        }
    };
    let mut response = session.finish(&app, Redirect::to(APP_HOME));
    // Strict: no other site can make the phone answer anything. (400 days: browsers' limit.)
    crate::security::append_cookie(
        &app,
        &mut response,
        device_cookie(&app),
        &device_token,
        "Strict; Max-Age=34560000",
    );
    Ok(response)
}
