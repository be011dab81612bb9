//! The security-info page: a signed-in user's own sign-in methods. Adding or removing one
//! needs a recent second-factor sign-in, and every change is announced by SMS and audited.
//!
//! `app` sets up authenticator apps, `phone` adds phones, `invite` asks SMS users to use an
//! app; this module has the page itself, removal, the default, devices and what they share.

mod app;
mod invite;
mod phone;

pub use app::{get_app_qr, get_app_setup, post_app_confirm, post_app_start, qr_image, setup_page};
pub use invite::{get_invite, post_invite_skip};
pub use phone::{get_phone_code, post_phone_confirm, post_phone_start};

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};
use tweestap_core::oidc::has_mfa;
use tweestap_core::signin::{Page, SignInError, SignInState};
use tweestap_core::{MethodId, UserId};

use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::i18n::t;
use crate::routes::{CsrfForm, describe, page_url, render, request_context, see_other};
use crate::session::Session;

const HERE: &str = "/security-info";

/// The signed-in user, and whether their second factor is recent enough to change methods.
/// `Err` is the response for a browser that is not signed in (off to the sign-in).
pub(crate) async fn signed_in(
    app: &AppState,
    ctx: &Ctx,
) -> Result<Result<(Session, UserId, bool), Response>, WebError> {
    let mut session = Session::load(app, ctx).await?;
    match &session.record.state {
        SignInState::SignedIn {
            user_id,
            auth_time,
            amr,
        } => {
            // A remembered device skipped the second factor: it cannot change the methods.
            let fresh = auth_time.secs_until(app.clock.now()) <= app.policy.session.fresh_mfa_secs
                && !amr.iter().any(|m| m == "remembered")
                && (has_mfa(amr)
                    // A helpdesk's access pass is there to register a new method with.
                    || amr.iter().any(|m| m == "tap")
                    || app.store.methods(*user_id).await?.is_empty());
            let user = *user_id;
            Ok(Ok((session, user, fresh)))
        }
        _ => {
            session.save(app).await?;
            let to = match session.record.state.page() {
                Page::SignIn => format!("{}?return_to={HERE}", page_url(Page::SignIn)),
                page => page_url(page).to_string(),
            };
            Ok(Err(see_other(app, &session, &to)))
        }
    }
}

/// For the forms that change methods: signed in, the form's own, and a second factor from
/// the last minutes. `Err` is the response to give instead (the sign-in, or this page
/// saying to confirm it's you first).
pub(crate) async fn changing(
    app: &AppState,
    ctx: &Ctx,
    csrf: &str,
) -> Result<Result<(Session, UserId), Response>, WebError> {
    let (session, user, fresh) = match signed_in(app, ctx).await? {
        Ok(v) => v,
        Err(response) => return Ok(Err(response)),
    };
    session.check_csrf(csrf)?;
    if !fresh {
        let error = t(ctx.lang, "security-not-fresh", &[]);
        let response = page(
            app,
            ctx,
            &session,
            user,
            false,
            StatusCode::FORBIDDEN,
            None,
            Some(error),
        )
        .await?;
        return Ok(Err(response));
    }
    Ok(Ok((session, user)))
}

/// Tells the account's owner about a change, on every channel: an addition (`None`: to the
/// phones it has now) or a removal (to the phones it had before it); by text, e-mail and the
/// tweestap app.
pub(crate) async fn announce(
    app: &AppState,
    ctx: &Ctx,
    user: UserId,
    removed_from: Option<&[tweestap_core::PhoneNumber]>,
) -> Result<(), WebError> {
    let notice = match removed_from {
        None => tweestap_core::notices::Notice::MethodAdded,
        Some(_) => tweestap_core::notices::Notice::MethodRemoved,
    };
    announce_notice(app, ctx, user, removed_from, notice).await
}

/// Tells the account's owner about `notice` on every channel it has.
pub(crate) async fn announce_notice(
    app: &AppState,
    ctx: &Ctx,
    user: UserId,
    phones: Option<&[tweestap_core::PhoneNumber]>,
    notice: tweestap_core::notices::Notice,
) -> Result<(), WebError> {
    let added = notice != tweestap_core::notices::Notice::MethodRemoved;
    let rc = request_context(ctx);
    // Phones with the tweestap app hear it too (an account may have no phone number).
    for m in app.store.methods(user).await? {
        if let tweestap_core::MethodKind::PushApp { subscription, .. } = &m.kind {
            let notice = crate::web_push::Notice::MethodsChanged { added };
            crate::web_push::notify(app, m.id, subscription.as_deref(), notice, ctx.lang);
        }
    }
    app.signin
        .announce(user, phones, notice, ctx.lang.code(), &rc)
        .await
        .map_err(crate::routes::internal)
}

#[derive(Serialize)]
struct MethodView {
    id: i64,
    name: String,
    /// The name the user gave it (apps, passkeys, phones with the tweestap app).
    label: Option<String>,
    added: String,
    last_used: Option<String>,
    is_default: bool,
}

#[derive(Serialize)]
struct DeviceView {
    id: i64,
    browser: String,
    added: String,
    until: String,
    last_used: Option<String>,
}

#[derive(Serialize)]
struct EventView {
    at: String,
    ok: bool,
    ip: String,
    place: Option<String>,
    browser: Option<String>,
    what: String,
}

fn when(ts: tweestap_core::Timestamp) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts.0)
        .map(|d| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                d.year(),
                u8::from(d.month()),
                d.day(),
                d.hour(),
                d.minute()
            )
        })
        .unwrap_or_default()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct InfoQuery {
    notice: Option<String>,
}

pub async fn get_security_info(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(q): Query<InfoQuery>,
) -> Result<Response, WebError> {
    let (session, user, fresh) = match signed_in(&app, &ctx).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    let notice = match q.notice.as_deref() {
        Some("app-added") => Some(t(ctx.lang, "security-app-added", &[])),
        Some("removed") => Some(t(ctx.lang, "security-method-removed", &[])),
        Some("default") => Some(t(ctx.lang, "security-default-set", &[])),
        Some("device") => Some(t(ctx.lang, "security-device-forgotten", &[])),
        Some("phone-added") => Some(t(ctx.lang, "security-phone-added", &[])),
        Some("passkey-added") => Some(t(ctx.lang, "security-passkey-added", &[])),
        Some("renamed") => Some(t(ctx.lang, "security-renamed", &[])),
        Some("push-added") => Some(t(ctx.lang, "security-push-added", &[])),
        Some("link-refused") => Some(t(ctx.lang, "app-link-refused", &[])),
        _ => None,
    };
    page(
        &app,
        &ctx,
        &session,
        user,
        fresh,
        StatusCode::OK,
        notice,
        None,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn page(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    user: UserId,
    fresh: bool,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let methods = app.store.methods(user).await?;
    let removable =
        methods.len() > 1 || app.policy.mfa == tweestap_core::policy::MfaRequirement::Optional;
    let methods: Vec<MethodView> = methods
        .iter()
        .map(|m| MethodView {
            id: m.id.0,
            name: crate::routes::method_name(ctx.lang, m),
            label: m.label().map(str::to_string),
            added: when(m.created_at),
            last_used: m.last_used_at.map(when),
            is_default: m.is_default,
        })
        .collect();
    let events: Vec<EventView> = app
        .store
        .audit_list(Some(user), 200)
        .await?
        .into_iter()
        .filter(|e| {
            e.kind == "sign_in.completed"
                || (e.kind == "sign_in.password" && e.outcome != "ok")
                || (e.kind == "sign_in.code" && e.outcome != "ok")
        })
        .take(10)
        .map(|e| EventView {
            at: when(e.at),
            ok: e.outcome == "ok",
            place: app
                .config
                .geoip
                .as_ref()
                .and_then(|g| g.place(e.ip.as_deref().unwrap_or(""), ctx.lang)),
            ip: e.ip.unwrap_or_default(),
            browser: e.user_agent.as_deref().map(crate::user_agent::describe),
            what: t(
                ctx.lang,
                match (e.kind.as_str(), e.outcome == "ok") {
                    ("sign_in.completed", _) => "security-event-signed-in",
                    ("sign_in.password", _) => "security-event-wrong-password",
                    _ => "security-event-wrong-code",
                },
                &[],
            ),
        })
        .collect();
    let devices: Vec<DeviceView> = app
        .store
        .devices(user, app.clock.now())
        .await?
        .into_iter()
        .map(|d| DeviceView {
            id: d.id,
            browser: d
                .user_agent
                .as_deref()
                .map(crate::user_agent::describe)
                .unwrap_or_else(|| t(ctx.lang, "security-device-unknown", &[])),
            added: when(d.created_at),
            until: when(d.expires_at),
            last_used: d.last_used_at.map(when),
        })
        .collect();
    let countries =
        crate::routes::register::country_options(app, ctx.lang, &app.policy.default_country);
    render(
        app,
        ctx,
        session,
        status,
        "security_info.html",
        context! {
            methods, removable, fresh, events, devices, countries, notice, error,
            webauthn => app.config.webauthn.is_some(),
        },
    )
}

/// "Confirm it's you": sign in again (password and second factor), then come back here.
pub async fn post_verify(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    if session.record.state.signed_in_user().is_some() {
        session.record.state = SignInState::Start;
    }
    session.record.return_to = Some(HERE.to_string());
    // A real second factor: a remembered device does not stand in for it.
    session.record.strict = true;
    session.save(&app).await?;
    Ok(see_other(&app, &session, page_url(Page::SignIn)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MethodForm {
    csrf: String,
    method: String,
    /// A new name (renaming only).
    label: String,
}

pub async fn post_remove(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<MethodForm>,
) -> Result<Response, WebError> {
    let (session, user) = match changing(&app, &ctx, &form.csrf).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    let Ok(id) = form.method.parse::<i64>() else {
        return Ok(see_other(&app, &session, HERE));
    };
    let rc = request_context(&ctx);
    match app
        .signin
        .remove_method(user, MethodId(id), session.id_hash(), &rc)
        .await
    {
        Ok(phones) => {
            announce(&app, &ctx, user, Some(&phones)).await?;
            Ok(see_other(&app, &session, "/security-info?notice=removed"))
        }
        Err(SignInError::WrongStep) => Ok(see_other(&app, &session, HERE)),
        Err(SignInError::Store(e)) => Err(e.into()),
        Err(e) => {
            let (status, error) = describe(ctx.lang, &e)?;
            page(&app, &ctx, &session, user, true, status, None, Some(error)).await
        }
    }
}

/// "Ask for this one first".
pub async fn post_default(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<MethodForm>,
) -> Result<Response, WebError> {
    let (session, user, _) = match signed_in(&app, &ctx).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    session.check_csrf(&form.csrf)?;
    let Ok(id) = form.method.parse::<i64>() else {
        return Ok(see_other(&app, &session, HERE));
    };
    let done = app
        .signin
        .set_default_method(user, MethodId(id), &request_context(&ctx))
        .await;
    back(&app, &session, done, "default")
}

/// After a change that needs no message of its own: this page with `notice`, or just this
/// page when nothing changed (not the user's method, another tab, an empty name).
fn back(
    app: &AppState,
    session: &Session,
    done: Result<(), SignInError>,
    notice: &str,
) -> Result<Response, WebError> {
    match done {
        Ok(()) => Ok(see_other(app, session, &format!("{HERE}?notice={notice}"))),
        Err(SignInError::WrongStep) => Ok(see_other(app, session, HERE)),
        Err(e) => Err(crate::routes::internal(e)),
    }
}

/// A name for a method that cannot be taken (control characters): the page again, saying why.
/// Checked before anything is used up (a passkey ceremony, an app's secret).
pub(crate) async fn check_label(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    user: UserId,
    label: &str,
) -> Result<Option<Response>, WebError> {
    if !tweestap_core::Label::refuses(label) {
        return Ok(None);
    }
    let error = Some(t(ctx.lang, "error-label-control", &[]));
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(Some(
        page(app, ctx, session, user, true, status, None, error).await?,
    ))
}

/// A new name for an app, passkey or linked phone.
pub async fn post_rename(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<MethodForm>,
) -> Result<Response, WebError> {
    let (session, user, _) = match signed_in(&app, &ctx).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    session.check_csrf(&form.csrf)?;
    let Ok(id) = form.method.parse::<i64>() else {
        return Ok(see_other(&app, &session, HERE));
    };
    if let Some(refused) = check_label(&app, &ctx, &session, user, &form.label).await? {
        return Ok(refused);
    }
    let done = app
        .signin
        .rename_method(user, MethodId(id), &form.label, &request_context(&ctx))
        .await;
    back(&app, &session, done, "renamed")
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DeviceForm {
    csrf: String,
    device: String,
}

/// "Forget this device": it asks for the second step again.
pub async fn post_forget_device(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<DeviceForm>,
) -> Result<Response, WebError> {
    let (session, user, _) = match signed_in(&app, &ctx).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    session.check_csrf(&form.csrf)?;
    let Ok(id) = form.device.parse::<i64>() else {
        return Ok(see_other(&app, &session, HERE));
    };
    app.signin
        .forget_device(user, id, &request_context(&ctx))
        .await
        .map_err(crate::routes::internal)?;
    Ok(see_other(&app, &session, "/security-info?notice=device"))
}

/// The first code of a new app or phone.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ConfirmForm {
    pub(super) csrf: String,
    pub(super) code: String,
}
