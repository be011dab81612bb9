//! The phone's side of a sign-in: the requests waiting for it, the number picked with the
//! phone's WebAuthn proof, deny and "this wasn't me", and its Web Push subscription.

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};
use tweestap_core::approval::{Answer, AnswerOutcome};
use tweestap_core::ports::CeremonyPurpose;
use tweestap_core::signin::SignInError;
use tweestap_core::{Method, MethodKind};

use super::{json, phone};
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::i18n::t;
use crate::routes::passkey::webauthn;
use crate::routes::{render, request_context, see_other};
use crate::session::Session;

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
    /// A link's request the computer has not confirmed yet: nothing to answer.
    confirmed: bool,
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
            r @ ("approved" | "denied" | "reported" | "wrong_number" | "expired"
            | "already_answered"),
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
        .map_err(crate::routes::internal)?
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
                confirmed: a.confirmed,
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
        .map_err(crate::routes::internal)?
        .ok_or(WebError::NotFound)?;
    let MethodKind::PushApp { credential, .. } = &phone.kind else {
        return Err(WebError::NotFound);
    };
    // The ceremony is bound to the request: an assertion for one cannot answer another.
    let started = webauthn(&app)?
        .start_authentication(std::slice::from_ref(credential))
        .map(|(options, state)| {
            let bound = serde_json::json!({ "request": form.request, "state": state });
            (options, bound.to_string())
        });
    let (options, ceremony) =
        crate::routes::passkey::keep(&app, phone.user_id, CeremonyPurpose::Approve, started)
            .await?;
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
    let proved = proves(&app, &phone, credential, &form).await?;
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

/// Whether the form carries this phone's WebAuthn answer (user verification) to a ceremony
/// started for this very request. Keeps the credential's new signature counter.
async fn proves(
    app: &AppState,
    phone: &Method,
    credential: &str,
    form: &AnswerForm,
) -> Result<bool, WebError> {
    let Ok(bound) = app
        .signin
        .ceremony_take(&form.ceremony, phone.user_id, CeremonyPurpose::Approve)
        .await
    else {
        return Ok(false);
    };
    let bound: serde_json::Value = serde_json::from_str(&bound).unwrap_or_default();
    if bound["request"].as_str() != Some(form.request.as_str()) {
        return Ok(false);
    }
    let state = bound["state"].as_str().unwrap_or_default();
    let stored = [credential.to_string()];
    match webauthn(app)?.finish_authentication(state, &form.response, &stored) {
        Ok(answer) => {
            if let Some(updated) = answer.updated {
                app.store.credential_update(phone.id, &updated).await?;
            }
            Ok(true)
        }
        Err(e) => {
            tracing::info!("approval refused: {e}");
            Ok(false)
        }
    }
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
    let outcome = match app
        .signin
        .answer_push(phone, request, answer, &request_context(ctx))
        .await
    {
        Ok(o) => o,
        // Not this phone's request (another account's, another phone's, or made up).
        Err(SignInError::WrongStep) => return Err(WebError::NotFound),
        Err(e) => return Err(crate::routes::internal(e)),
    };
    let counter = match outcome.outcome {
        AnswerOutcome::Approved => Some(&app.metrics.push_approved),
        AnswerOutcome::Denied | AnswerOutcome::WrongNumber => Some(&app.metrics.push_denied),
        AnswerOutcome::Reported => Some(&app.metrics.push_reported),
        AnswerOutcome::Expired | AnswerOutcome::AlreadyAnswered => None,
    };
    if let Some(counter) = counter {
        tweestap_core::metrics::Metrics::inc(counter);
    }
    if outcome.linked {
        // A phone was added to the account: tell its phones, as for any new method.
        crate::routes::security_info::announce(app, ctx, phone.user_id, None).await?;
    }
    let result = outcome.outcome.as_str();
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
