//! Routes: one module per page (or pair of GET/POST handlers).

mod app_code;
mod assets;
mod code;
mod demo;
mod devices;
mod entra;
mod forward_auth;
mod home;
mod lang;
mod oidc;
mod other_way;
mod passkey;
mod phone_app;
mod push;
mod register;
mod report;
mod security_info;
mod sign_in;
mod sms_callbacks;
mod steps;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::{Html, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use tweestap_core::signin::{Page, SendRefusal, SignInError};

use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::i18n::{Arg, Lang, t};
use crate::session::Session;

pub use devices::request_context;
pub use steps::{
    continue_to_step, delivery_failed, destination, second_step_done, signed_in_here, step_up,
};

/// The largest request body accepted (bytes). Every form here is a few short fields; the
/// limit keeps a stranger from making tweestap read (and perhaps store) megabytes.
pub const FORM_LIMIT: usize = 8 * 1024;
/// WebAuthn answers (attestation and assertion JSON) are larger than a form, never this large.
const WEBAUTHN_LIMIT: usize = 32 * 1024;

pub fn router(state: AppState) -> Router {
    let webauthn = || DefaultBodyLimit::max(WEBAUTHN_LIMIT);
    let routes = match &state.eam {
        Some(eam) => entra::routes(Router::new(), eam),
        None => Router::new(),
    };
    routes
        .route("/", get(home::get_home))
        .route(
            "/sign-in",
            get(sign_in::get_sign_in).post(sign_in::post_sign_in),
        )
        .route("/sign-in/restart", post(sign_in::post_restart))
        .route("/sign-in/cancel", post(sign_in::post_cancel))
        .route(
            "/sign-in/phone",
            get(register::get_phone_registration).post(register::post_phone_registration),
        )
        .route("/sign-in/code", get(code::get_code).post(code::post_code))
        .route("/sign-in/code/resend", post(code::post_resend))
        .route(
            "/sign-in/app",
            get(app_code::get_app_code).post(app_code::post_app_code),
        )
        .route("/sign-in/phone/app", post(app_code::post_register_app))
        .route(
            "/sign-in/pass",
            get(app_code::get_access_pass).post(app_code::post_access_pass),
        )
        .route(
            "/sign-in/app-setup",
            get(app_code::get_register_app).post(app_code::post_register_app_code),
        )
        .route(
            "/sign-in/app-setup/qr.png",
            get(app_code::get_register_app_qr),
        )
        .route(
            "/sign-in/passkey",
            get(passkey::get_sign_in).post(passkey::post_sign_in.layer(webauthn())),
        )
        .route("/sign-in/push", get(push::get_push).post(push::post_push))
        .route("/sign-in/push/retry", post(push::post_retry))
        .route("/sign-in/push/status", get(push::get_status))
        .route(
            "/security-info/passkey",
            get(passkey::get_add).post(passkey::post_add.layer(webauthn())),
        )
        .route(
            "/security-info/tweestap-app",
            get(phone_app::get_link_status).post(phone_app::post_link_start),
        )
        .route(
            "/security-info/tweestap-app/confirm",
            post(phone_app::post_link_confirm),
        )
        .route("/app/", get(phone_app::get_home))
        .route(
            "/app/link",
            get(phone_app::get_link).post(phone_app::post_link.layer(webauthn())),
        )
        .route("/app/options", post(phone_app::post_options))
        .route(
            "/app/approve",
            post(phone_app::post_approve).layer(webauthn()),
        )
        .route("/app/deny", post(phone_app::post_deny))
        .route("/app/report", post(phone_app::post_report))
        .route("/app/subscription", post(phone_app::post_subscription))
        .route("/app/manifest.webmanifest", get(assets::get_manifest))
        .route("/app/sw.js", get(assets::get_service_worker))
        .route("/app/icon.svg", get(assets::get_icon))
        .route("/security-info", get(security_info::get_security_info))
        .route(
            "/security-info/app",
            get(security_info::get_app_setup).post(security_info::post_app_start),
        )
        .route("/security-info/app/qr.png", get(security_info::get_app_qr))
        .route(
            "/security-info/app/confirm",
            post(security_info::post_app_confirm),
        )
        .route("/security-info/remove", post(security_info::post_remove))
        .route("/security-info/default", post(security_info::post_default))
        .route("/security-info/rename", post(security_info::post_rename))
        .route(
            "/security-info/phone",
            get(security_info::get_phone_code).post(security_info::post_phone_start),
        )
        .route(
            "/security-info/phone/confirm",
            post(security_info::post_phone_confirm),
        )
        .route("/security-info/invite", get(security_info::get_invite))
        .route(
            "/security-info/invite/skip",
            post(security_info::post_invite_skip),
        )
        .route(
            "/security-info/device/forget",
            post(security_info::post_forget_device),
        )
        .route("/security-info/verify", post(security_info::post_verify))
        .route(
            "/sign-in/other-way",
            get(other_way::get_other_way).post(other_way::post_other_way),
        )
        .route("/sign-in/done", get(home::get_done))
        .route("/sign-out", post(sign_in::post_sign_out))
        .route("/lang/{code}", get(lang::get_lang))
        .route("/demo/phone", get(demo::get_demo_phone))
        .route("/static/app.css", get(assets::get_css))
        .route("/static/app.js", get(assets::get_js))
        .route(
            "/r/{token}",
            get(report::get_report).post(report::post_report),
        )
        .route("/sms/dlr/kannel", get(sms_callbacks::get_kannel_report))
        .route(
            "/sms/dlr/http",
            get(sms_callbacks::get_http_report).post(sms_callbacks::post_http_report),
        )
        .route(
            "/sms/dlr/account",
            get(sms_callbacks::get_account_report).post(sms_callbacks::post_account_report),
        )
        .route("/metrics", get(sms_callbacks::get_metrics))
        .route("/oauth2/jwks", get(oidc::get_jwks))
        .route(
            "/.well-known/openid-configuration",
            get(oidc::get_discovery),
        )
        .route(
            "/oauth2/authorize",
            get(oidc::authorize::get_authorize).post(oidc::authorize::post_authorize),
        )
        .route("/oauth2/consent", post(oidc::authorize::post_consent))
        .route("/oauth2/reauth", post(oidc::authorize::post_reauth))
        .route("/oauth2/step-up", post(oidc::authorize::post_step_up))
        .route("/sign-in/continue", post(sign_in::post_continue))
        .route(
            "/oauth2/token",
            post(oidc::token::post_token).options(oidc::preflight),
        )
        .route(
            "/oauth2/revoke",
            post(oidc::token::post_revoke).options(oidc::preflight),
        )
        .route(
            "/oauth2/userinfo",
            get(oidc::userinfo::userinfo)
                .post(oidc::userinfo::userinfo)
                .options(oidc::preflight),
        )
        .route(
            "/oauth2/logout",
            get(oidc::logout::get_logout).post(oidc::logout::post_logout),
        )
        .route("/auth/nginx", get(forward_auth::get_nginx))
        .route("/auth/forward", get(forward_auth::get_forward))
        .route(
            "/auth/start",
            get(forward_auth::get_start).post(forward_auth::post_start),
        )
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { WebError::NotFound })
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::error::render_errors,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::security::headers,
        ))
        .layer(middleware::from_fn(crate::access_log::log_requests))
        .with_state(state)
}

/// A form whose only field is the CSRF token (buttons such as "cancel" or "sign out").
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct CsrfForm {
    pub csrf: String,
}

/// An authorization request's parameters, from its query (`None` when unreadable).
pub fn authorize_params(query: &str) -> Option<tweestap_core::oidc::AuthorizeParams> {
    oidc::authorize::parse_params(query).ok()
}

/// The site a forward-auth return (`/auth/start?rd=…`) leads to, when it is allowed.
pub fn forward_auth_return(app: &AppState, query: &str) -> Option<String> {
    forward_auth::return_target(app, query)
}

/// Where each step of the sign-in lives.
pub fn page_url(page: Page) -> &'static str {
    match page {
        Page::SignIn => "/sign-in",
        Page::RegisterPhone => "/sign-in/phone",
        Page::EnterCode => "/sign-in/code",
        Page::EnterAppCode => "/sign-in/app",
        Page::EnterPasskey => "/sign-in/passkey",
        Page::AwaitPush => "/sign-in/push",
        Page::RegisterApp => "/sign-in/app-setup",
        Page::Home => "/",
    }
}

/// Sends the browser to the page its sign-in is at. Used whenever a request does not fit the
/// current step: typing a later step's URL never skips a step.
pub fn to_current_step(app: &AppState, session: &Session) -> Response {
    let target = match session.record.state.page() {
        Page::Home => session
            .record
            .return_to
            .clone()
            .unwrap_or_else(|| "/".to_string()),
        page => page_url(page).to_string(),
    };
    session.finish(app, Redirect::to(&target))
}

pub fn see_other(app: &AppState, session: &Session, to: &str) -> Response {
    session.finish(app, Redirect::to(to))
}

/// Form or query fields read into `T`. A field given twice makes the whole unreadable
/// (`None`): which of the two counts would be a guess (RFC 6749 §3.1).
pub fn fields_once<T: serde::de::DeserializeOwned>(raw: &str) -> Option<T> {
    let mut map = serde_json::Map::new();
    for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        let value = serde_json::Value::String(value.into_owned());
        if map.insert(name.into_owned(), value).is_some() {
            return None;
        }
    }
    serde_json::from_value(serde_json::Value::Object(map)).ok()
}

/// A masked number for a page, with no-break spaces so it never wraps in the middle.
/// A method as the user knows it: "Text message to +31 •• •••• ••78", "Passkey (Laptop)".
pub fn method_name(lang: Lang, m: &tweestap_core::Method) -> String {
    use tweestap_core::MethodKind as K;
    match &m.kind {
        K::Sms { phone } => t(
            lang,
            "method-sms",
            &[("phone", Arg::Str(&display_phone(phone)))],
        ),
        K::Totp { label, .. } => t(lang, "method-app", &[("app", Arg::Str(label))]),
        K::Passkey { label, .. } => t(lang, "method-passkey", &[("name", Arg::Str(label))]),
        K::PushApp { label, .. } => t(lang, "method-push", &[("name", Arg::Str(label))]),
    }
}

pub fn display_phone(phone: &tweestap_core::PhoneNumber) -> String {
    phone.masked().replace(' ', "\u{a0}")
}

/// Renders a page with what every page needs (language, organisation, CSRF token).
pub fn render(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    status: StatusCode,
    template: &str,
    page: Value,
) -> Result<Response, WebError> {
    // After a POST the language switch returns to the step's own page (a POST URL cannot be
    // opened with GET).
    let here = if ctx.is_get {
        ctx.path.as_str()
    } else {
        page_url(session.record.state.page())
    };
    let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
    let full = context! {
        lang => ctx.lang.code(),
        other_lang => ctx.lang.other().code(),
        lang_switch_href => format!("/lang/{}?next={next}", ctx.lang.other().code()),
        org => app.config.organisation.clone(),
        csrf => session.csrf(),
        demo => app.config.demo_outbox.is_some(),
        // Entra asks for a real second factor every time: no "don't ask again" for it.
        remember_days => if session.record.external.is_some() { 0 } else { app.policy.session.remember_device_days },
        entra_left => session.record.external.as_ref().map(|p| p.time_left(app.clock.now())),
        ..page
    };
    let body = app.templates.render(template, full)?;
    let mut response = session.finish(
        app,
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            Html(body),
        ),
    );
    if let Some(target) = session.record.return_to.as_deref().and_then(return_target) {
        response
            .extensions_mut()
            .insert(crate::security::FormTargets(vec![target]));
    }
    Ok(response)
}

/// A page with one question and a button that POSTs the answer: for what must not happen
/// on a GET (a link elsewhere could trigger it), such as asking for a second step or carrying
/// on with a sign-in under way. `fields` travel in the form; `target` names where it leads.
#[allow(clippy::too_many_arguments)]
pub fn interstitial(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    kind: &str,
    target: &str,
    action: &str,
    fields: &[(&str, &str)],
    cancel: bool,
) -> Result<Response, WebError> {
    let title = t(ctx.lang, &format!("{kind}-title"), &[]);
    let intro = t(
        ctx.lang,
        &format!("{kind}-intro"),
        &[("app", Arg::Str(target))],
    );
    render(
        app,
        ctx,
        session,
        StatusCode::OK,
        "interstitial.html",
        context! { title, intro, action, fields, cancel },
    )
}

/// Where finishing this sign-in leads, for the page's `form-action`: the application of an
/// authorization request, or a forward-auth site.
pub fn return_target(return_to: &str) -> Option<String> {
    for (prefix, name) in [
        ("/oauth2/authorize?", "redirect_uri"),
        ("/auth/start?", "rd"),
    ] {
        if let Some(query) = return_to.strip_prefix(prefix) {
            let target = url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == name)?
                .1;
            return crate::security::form_target(&target);
        }
    }
    crate::security::form_target(return_to)
}

fn minutes(secs: i64) -> i64 {
    (secs + 59) / 60
}

/// The user's message for a sign-in error, and the status that goes with it. Internal
/// failures are not messages: they become a 500 page with a reference.
pub fn describe(lang: Lang, error: &SignInError) -> Result<(StatusCode, String), WebError> {
    use SignInError as E;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let too_many = StatusCode::TOO_MANY_REQUESTS;
    Ok(match error {
        E::BadCredentials => (unprocessable, t(lang, "error-bad-credentials", &[])),
        E::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, t(lang, "error-busy", &[])),
        E::Throttled { retry_after_secs } => (
            too_many,
            t(
                lang,
                "error-throttled",
                &[("minutes", Arg::Num(minutes(*retry_after_secs)))],
            ),
        ),
        E::Phone(p) => (unprocessable, phone_message(lang, p)),
        E::Label(_) => (unprocessable, t(lang, "error-label-control", &[])),
        E::MalformedCode(tweestap_core::OtpCodeError::Empty) => {
            (unprocessable, t(lang, "error-code-empty", &[]))
        }
        E::MalformedCode(_) => (unprocessable, t(lang, "error-code-format", &[])),
        E::WrongCode { attempts_left: 0 } => (unprocessable, t(lang, "error-code-wrong-last", &[])),
        E::WrongCode { attempts_left } => (
            unprocessable,
            t(
                lang,
                "error-code-wrong",
                &[("left", Arg::Num(i64::from(*attempts_left)))],
            ),
        ),
        E::WrongAppCode => (unprocessable, t(lang, "error-app-code-wrong", &[])),
        E::LastMethod => (unprocessable, t(lang, "error-last-method", &[])),
        E::PhoneAlreadyAdded => (unprocessable, t(lang, "error-phone-already-added", &[])),
        E::WrongAccessPass => (unprocessable, t(lang, "error-access-pass", &[])),
        E::CodeExpired => (unprocessable, t(lang, "error-code-expired", &[])),
        E::CodeUsed => (unprocessable, t(lang, "error-code-used", &[])),
        E::CodeExhausted => (unprocessable, t(lang, "error-code-exhausted", &[])),
        E::NoCode => (unprocessable, t(lang, "error-no-code", &[])),
        E::AccountLocked { retry_after_secs } => (
            too_many,
            t(
                lang,
                "error-account-locked",
                &[("minutes", Arg::Num(minutes(*retry_after_secs)))],
            ),
        ),
        E::NotSent(refusal) => refusal_message(lang, *refusal),
        E::WebAuthnRefused => (unprocessable, t(lang, "error-webauthn-refused", &[])),
        E::PushBlocked { .. } => (StatusCode::FORBIDDEN, t(lang, "error-push-blocked", &[])),
        E::PushRefused(tweestap_core::approval::StartRefusal::Pending) => {
            (too_many, t(lang, "error-push-pending", &[]))
        }
        E::PushRefused(tweestap_core::approval::StartRefusal::HourlyCap) => {
            (too_many, t(lang, "error-push-cap", &[]))
        }
        E::PushRefused(tweestap_core::approval::StartRefusal::Paused { retry_after_secs }) => (
            too_many,
            t(
                lang,
                "error-push-paused",
                &[("minutes", Arg::Num(minutes(*retry_after_secs)))],
            ),
        ),
        E::WrongStep => return Err(WebError::Internal("wrong step reached describe()".into())),
        E::Store(e) => return Err(WebError::Internal(e.to_string())),
    })
}

pub fn refusal_message(lang: Lang, refusal: SendRefusal) -> (StatusCode, String) {
    let too_many = StatusCode::TOO_MANY_REQUESTS;
    match refusal {
        SendRefusal::Cooldown { retry_after_secs } => (
            too_many,
            t(
                lang,
                "error-cooldown",
                &[("seconds", Arg::Num(retry_after_secs))],
            ),
        ),
        SendRefusal::AccountBudget => (too_many, t(lang, "error-account-budget", &[])),
        SendRefusal::NumberBudget => (too_many, t(lang, "error-number-budget", &[])),
        SendRefusal::AccountLocked { retry_after_secs } => (
            too_many,
            t(
                lang,
                "error-account-locked",
                &[("minutes", Arg::Num(minutes(retry_after_secs)))],
            ),
        ),
        SendRefusal::NetworkBudget | SendRefusal::CountryBudget | SendRefusal::GlobalBudget => {
            (too_many, t(lang, "error-sms-busy", &[]))
        }
        SendRefusal::NumberNotAllowed => (
            StatusCode::FORBIDDEN,
            t(lang, "error-number-not-allowed", &[]),
        ),
        SendRefusal::Blocked { .. } => (StatusCode::FORBIDDEN, t(lang, "error-sms-blocked", &[])),
        SendRefusal::GatewayDown => (
            StatusCode::SERVICE_UNAVAILABLE,
            t(lang, "error-gateway-down", &[]),
        ),
    }
}

/// Short names for refusals, for the `?problem=` of a redirect. Only these are accepted back.
pub fn refusal_name(refusal: SendRefusal) -> &'static str {
    match refusal {
        SendRefusal::Cooldown { .. } => "cooldown",
        SendRefusal::AccountBudget => "account-budget",
        SendRefusal::NumberBudget => "number-budget",
        SendRefusal::AccountLocked { .. } => "account-locked",
        SendRefusal::NetworkBudget => "network-budget",
        SendRefusal::CountryBudget => "country-budget",
        SendRefusal::GlobalBudget => "global-budget",
        SendRefusal::Blocked { .. } => "blocked",
        SendRefusal::NumberNotAllowed => "number-not-allowed",
        SendRefusal::GatewayDown => "gateway-down",
    }
}

fn phone_message(lang: Lang, error: &tweestap_core::PhoneError) -> String {
    use tweestap_core::PhoneError as P;
    match error {
        P::Empty => t(lang, "error-phone-empty", &[]),
        P::NotANumber => t(lang, "error-phone-not-a-number", &[]),
        P::TooShort => t(lang, "error-phone-too-short", &[]),
        P::TooLong => t(lang, "error-phone-too-long", &[]),
        P::Invalid | P::UnknownCountry(_) => t(lang, "error-phone-invalid", &[]),
        P::NotMobile(_) => t(lang, "error-phone-not-mobile", &[]),
        P::CountryNotAllowed(code) => {
            let name = tweestap_core::country(code)
                .map(|c| c.name(lang.code()))
                .unwrap_or(code);
            t(lang, "error-phone-country", &[("country", Arg::Str(name))])
        }
    }
}

/// The text-message writer for this request's language; the report link points back here.
pub fn sms_text(
    app: &AppState,
    lang: Lang,
) -> impl Fn(&tweestap_core::OtpCode, Option<&str>) -> String + Send + Sync + '_ {
    move |code, token| {
        let link = token.map(|t| {
            format!(
                "{}/r/{t}",
                app.config.public_url.as_str().trim_end_matches('/')
            )
        });
        crate::sms_text::sign_in_code(
            lang,
            &app.config.organisation,
            &app.config.host(),
            code,
            link.as_deref(),
        )
    }
}

/// Internal failures inside a use case are the only errors that escape as 500s.
pub fn internal(error: SignInError) -> WebError {
    WebError::Internal(error.to_string())
}
