//! The tweestap app: a web app (installable, served here) on the user's phone that approves
//! sign-ins with number matching. Linked from the security-info page through a one-time QR
//! link; the phone proves itself with its own WebAuthn credential (fingerprint, face or PIN),
//! and a cookie tells this server which linked phone is asking for its requests.

use axum::extract::{Form, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use minijinja::context;
use serde::{Deserialize, Serialize};
use tweestap_core::approval::{Answer, AnswerOutcome};
use tweestap_core::ports::CeremonyPurpose;
use tweestap_core::signin::{APP_LINK_SECS, PushStatus, SignInError};
use tweestap_core::{Method, MethodKind};

use super::passkey::webauthn;
use super::{render, request_context, see_other};
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::i18n::t;
use crate::session::Session;

const APP_HOME: &str = "/app/";

fn device_cookie(app: &AppState) -> &'static str {
    if app.config.secure_cookies() {
        "__Host-tweestap_app"
    } else {
        "tweestap_app"
    }
}

/// The linked phone this browser is, if any.
async fn phone(app: &AppState, ctx: &Ctx) -> Result<Option<Method>, WebError> {
    let Some(token) = ctx.cookies.get(device_cookie(app)) else {
        return Ok(None);
    };
    app.signin.phone_app(token).await.map_err(super::internal)
}

// ---- On the computer: the security-info page starts linking a phone. ----

/// Starts linking (a fresh second factor required): a one-time link, shown as a QR code.
pub async fn post_link_start(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<super::CsrfForm>,
) -> Result<Response, WebError> {
    webauthn(&app)?;
    let (session, user) = match super::security_info::changing(&app, &ctx, &form.csrf).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    let token = app
        .signin
        .start_app_link(user)
        .await
        .map_err(super::internal)?;
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
    let (session, user, _) = match super::security_info::signed_in(&app, &ctx).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    let since = app.clock.now().minus_secs(APP_LINK_SECS + 300);
    let status = app
        .signin
        .link_status(user, since)
        .await
        .map_err(super::internal)?;
    let (state, number) = match status {
        None => ("waiting", None),
        Some(PushStatus::Pending { number, .. }) => ("pending", Some(number)),
        Some(PushStatus::Approved) => ("approved", None),
        Some(other) => (other.as_str(), None),
    };
    if q.json.is_some() {
        return Ok(json(
            serde_json::json!({ "status": state, "number": number }),
        ));
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
        context! { number, state },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct JsonQuery {
    json: Option<String>,
}

fn json(value: serde_json::Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
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
            let error = t(ctx.lang, "app-link-invalid", &[]);
            return render(
                app,
                ctx,
                session,
                StatusCode::NOT_FOUND,
                "app_phone.html",
                context! { linked => false, error },
            );
        }
        Err(e) => return Err(super::internal(e)),
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
        super::passkey::keep(app, user, CeremonyPurpose::LinkApp, started).await?;
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
    let refused = || t(ctx.lang, "error-webauthn-refused", &[]);
    let Some(user) = app
        .signin
        .app_link_user(&form.t)
        .await
        .map_err(super::internal)?
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
    let (device_token, _) = match app
        .signin
        .finish_app_link(
            &form.t,
            user,
            &label,
            &credential.id,
            &credential.stored,
            replaces,
            &request_context(&ctx),
        )
        .await
    {
        Ok(v) => v,
        Err(SignInError::Store(e)) => return Err(e.into()),
        Err(e @ SignInError::PushBlocked { .. }) => {
            let (status, error) = super::describe(ctx.lang, &e)?;
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
    let secure = if app.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    // Strict: no other site can make the phone answer anything.
    let cookie = format!(
        "{}={device_token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=34560000{secure}",
        device_cookie(&app)
    );
    let mut response = session.finish(&app, Redirect::to(APP_HOME));
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

// ---- On the phone: the requests. ----

#[derive(Serialize)]
struct RequestView {
    id: String,
    offered: [u8; 3],
    application: Option<String>,
    browser: Option<String>,
    place: Option<String>,
    ip: Option<String>,
    time: String,
    /// For the script to show the phone's local time.
    iso: String,
    linking: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct HomeQuery {
    result: Option<String>,
}

pub async fn get_home(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(q): Query<HomeQuery>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.save(&app).await?;
    let notice = match q.result.as_deref() {
        Some(
            r @ ("approved" | "denied" | "reported" | "wrong_number" | "expired" | "answered"),
        ) => Some(t(ctx.lang, &format!("app-result-{r}"), &[])),
        _ => None,
    };
    home(&app, &ctx, &session, StatusCode::OK, notice).await
}

async fn home(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    status: StatusCode,
    message: Option<String>,
) -> Result<Response, WebError> {
    // A refusal is an error; a result from the query string is a notice.
    let (notice, error) = if status.is_success() {
        (message, None)
    } else {
        (None, message)
    };
    let Some(phone) = phone(app, ctx).await? else {
        return render(
            app,
            ctx,
            session,
            status,
            "app_phone.html",
            context! { linked => false, notice, error },
        );
    };
    let requests: Vec<RequestView> = app
        .signin
        .push_pending(&phone)
        .await
        .map_err(super::internal)?
        .into_iter()
        .map(|a| {
            let c: serde_json::Value = serde_json::from_str(&a.context).unwrap_or_default();
            let s = |k: &str| c[k].as_str().map(str::to_string);
            RequestView {
                id: a.id,
                offered: a.offered,
                application: s("application"),
                browser: s("browser"),
                place: s("place"),
                ip: s("ip"),
                time: clock_time(a.created_at),
                iso: time::OffsetDateTime::from_unix_timestamp(a.created_at.0)
                    .ok()
                    .and_then(|d| {
                        d.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .unwrap_or_default(),
                linking: a.purpose == tweestap_core::ports::ApprovalPurpose::Link,
            }
        })
        .collect();
    let account = app
        .store
        .user_by_id(phone.user_id)
        .await?
        .map(|u| u.display_name)
        .unwrap_or_default();
    let has_subscription = matches!(
        &phone.kind,
        MethodKind::PushApp {
            subscription: Some(_),
            ..
        }
    );
    render(
        app,
        ctx,
        session,
        status,
        "app_phone.html",
        context! {
            linked => true, requests, notice, error, account,
            label => phone.label().unwrap_or_default(),
            vapid => app.config.push.as_ref().map(|p| p.public_key.clone()),
            has_subscription,
        },
    )
}

fn clock_time(ts: tweestap_core::Timestamp) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts.0)
        .map(|d| format!("{:02}:{:02} UTC", d.hour(), d.minute()))
        .unwrap_or_default()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AnswerForm {
    csrf: String,
    request: String,
    number: String,
    ceremony: String,
    response: String,
}

/// The WebAuthn options for approving one request with this phone's credential (app.js asks
/// for them when a number is picked).
pub async fn post_options(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<AnswerForm>,
) -> Result<Response, WebError> {
    let session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    let phone = phone(&app, &ctx).await?.ok_or(WebError::NotFound)?;
    app.signin
        .push_request_for(&phone, &form.request)
        .await
        .map_err(super::internal)?
        .ok_or(WebError::NotFound)?;
    let MethodKind::PushApp { credential, .. } = &phone.kind else {
        return Err(WebError::NotFound);
    };
    let (options, state) = webauthn(&app)?
        .start_authentication(std::slice::from_ref(credential))
        .map_err(|e| WebError::Internal(e.to_string()))?;
    // The ceremony is bound to the request: an assertion for one cannot answer another.
    let bound = serde_json::json!({ "request": form.request, "state": state }).to_string();
    let ceremony = app
        .signin
        .ceremony_start(phone.user_id, CeremonyPurpose::Approve, &bound)
        .await
        .map_err(super::internal)?;
    let options: serde_json::Value = serde_json::from_str(&options).unwrap_or_default();
    Ok(json(
        serde_json::json!({ "ceremony": ceremony, "options": options }),
    ))
}

/// Approving: the number picked, with the phone's WebAuthn answer (user verification).
pub async fn post_approve(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<AnswerForm>,
) -> Result<Response, WebError> {
    let session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    let phone = phone(&app, &ctx).await?.ok_or(WebError::NotFound)?;
    let MethodKind::PushApp { credential, .. } = &phone.kind else {
        return Err(WebError::NotFound);
    };
    let Ok(number) = form.number.trim().parse::<u8>() else {
        let error = t(ctx.lang, "app-number-missing", &[]);
        return home(
            &app,
            &ctx,
            &session,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(error),
        )
        .await;
    };
    // Without the phone's own proof there is no approval.
    let proved = match app
        .signin
        .ceremony_take(&form.ceremony, phone.user_id, CeremonyPurpose::Approve)
        .await
    {
        Ok(bound) => {
            let bound: serde_json::Value = serde_json::from_str(&bound).unwrap_or_default();
            bound["request"].as_str() == Some(form.request.as_str())
                && match webauthn(&app)?.finish_authentication(
                    bound["state"].as_str().unwrap_or_default(),
                    &form.response,
                    std::slice::from_ref(credential),
                ) {
                    Ok(a) => {
                        if let Some(updated) = a.updated {
                            app.store.credential_update(phone.id, &updated).await?;
                        }
                        true
                    }
                    Err(e) => {
                        tracing::info!("approval refused: {e}");
                        false
                    }
                }
        }
        Err(_) => false,
    };
    if !proved {
        let error = t(ctx.lang, "error-webauthn-refused", &[]);
        return home(
            &app,
            &ctx,
            &session,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(error),
        )
        .await;
    }
    answer(
        &app,
        &ctx,
        &session,
        &phone,
        &form.request,
        Answer::Approve { number },
    )
    .await
}

pub async fn post_deny(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<AnswerForm>,
) -> Result<Response, WebError> {
    refuse(&app, &ctx, &form, Answer::Deny).await
}

pub async fn post_report(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<AnswerForm>,
) -> Result<Response, WebError> {
    refuse(&app, &ctx, &form, Answer::Report).await
}

/// Deny and "this wasn't me" need the phone (its cookie), not its fingerprint: saying no is
/// never dangerous.
async fn refuse(
    app: &AppState,
    ctx: &Ctx,
    form: &AnswerForm,
    no: Answer,
) -> Result<Response, WebError> {
    let session = Session::load(app, ctx).await?;
    session.check_csrf(&form.csrf)?;
    let phone = phone(app, ctx).await?.ok_or(WebError::NotFound)?;
    answer(app, ctx, &session, &phone, &form.request, no).await
}

async fn answer(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    phone: &Method,
    request: &str,
    answer: Answer,
) -> Result<Response, WebError> {
    let linking = app
        .signin
        .push_request_for(phone, request)
        .await
        .map_err(super::internal)?
        .is_some_and(|r| r.purpose == tweestap_core::ports::ApprovalPurpose::Link);
    let outcome = match app
        .signin
        .answer_push(phone, request, answer, &request_context(ctx))
        .await
    {
        Ok(o) => o,
        // Not this phone's request (another account's, another phone's, or made up).
        Err(SignInError::WrongStep) => return Err(WebError::NotFound),
        Err(e) => return Err(super::internal(e)),
    };
    let counter = match outcome {
        AnswerOutcome::Approved => Some(&app.metrics.push_approved),
        AnswerOutcome::Denied | AnswerOutcome::WrongNumber => Some(&app.metrics.push_denied),
        AnswerOutcome::Reported => Some(&app.metrics.push_reported),
        AnswerOutcome::Expired | AnswerOutcome::AlreadyAnswered => None,
    };
    if let Some(counter) = counter {
        tweestap_core::metrics::Metrics::inc(counter);
    }
    if linking && outcome == AnswerOutcome::Approved {
        // A phone was added to the account: tell its phones, as for any new method.
        super::security_info::announce(app, ctx, phone.user_id, None).await?;
    }
    let result = match outcome {
        AnswerOutcome::Approved => "approved",
        AnswerOutcome::WrongNumber => "wrong_number",
        AnswerOutcome::Denied => "denied",
        AnswerOutcome::Reported => "reported",
        AnswerOutcome::Expired => "expired",
        AnswerOutcome::AlreadyAnswered => "answered",
    };
    Ok(see_other(app, session, &format!("/app/?result={result}")))
}

/// The phone's Web Push subscription (`PushSubscription.toJSON()`), from app.js.
pub async fn post_subscription(
    State(app): State<AppState>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    body: String,
) -> Result<Response, WebError> {
    let session = Session::load(&app, &ctx).await?;
    let csrf = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    session.check_csrf(csrf)?;
    let phone = phone(&app, &ctx).await?.ok_or(WebError::NotFound)?;
    let notifier = app.config.push.as_ref().ok_or(WebError::NotFound)?;
    let sub: serde_json::Value =
        serde_json::from_str(&body).map_err(|_| WebError::BadRequest("error-bad-request"))?;
    let endpoint = sub["endpoint"].as_str().unwrap_or_default();
    let p256dh = sub["keys"]["p256dh"].as_str().unwrap_or_default();
    let auth = sub["keys"]["auth"].as_str().unwrap_or_default();
    if p256dh.is_empty() || auth.is_empty() || p256dh.len() > 200 || auth.len() > 100 {
        return Err(WebError::BadRequest("error-bad-request"));
    }
    notifier.sender.check_endpoint(endpoint).map_err(|e| {
        tracing::info!("push subscription refused: {e}");
        WebError::BadRequest("error-bad-request")
    })?;
    // The phone's language, for the notification's text (the sign-in may be in another).
    let stored = serde_json::json!({
        "endpoint": endpoint,
        "keys": { "p256dh": p256dh, "auth": auth },
        "lang": ctx.lang.code(),
    })
    .to_string();
    app.store
        .push_subscription_set(phone.id, Some(&stored))
        .await?;
    Ok(json(serde_json::json!({ "ok": true })))
}

pub async fn get_manifest(State(app): State<AppState>) -> Response {
    let manifest = serde_json::json!({
        "name": format!("tweestap · {}", app.config.organisation),
        "short_name": "tweestap",
        "start_url": APP_HOME,
        "scope": APP_HOME,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1f4e79",
        "icons": [{ "src": "/app/icon.svg", "sizes": "any", "type": "image/svg+xml" }],
    });
    (
        [(header::CONTENT_TYPE, "application/manifest+json")],
        manifest.to_string(),
    )
        .into_response()
}

const SERVICE_WORKER: &str = include_str!("../../static/sw.js");
const ICON: &str = include_str!("../../static/icon.svg");

pub async fn get_service_worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SERVICE_WORKER,
    )
        .into_response()
}

pub async fn get_icon() -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml")], ICON).into_response()
}
