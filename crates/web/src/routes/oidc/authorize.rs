//! The authorization endpoint and the consent page. The browser goes through tweestap's own
//! sign-in (and its registration interrupt) with this request as the place to come back to;
//! only a finished sign-in that meets the request gets a code.

use axum::extract::{Form, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use tweestap_core::oidc::{
    AuthRequest, AuthorizeError, AuthorizeParams, Next, PageProblem, SignedInView, consent_counts,
    decide,
};
use tweestap_core::signin::{Page, SignInState};

use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::i18n::{Lang, t};
use crate::routes::{interstitial, page_url, render, see_other};
use crate::security::{FormTargets, form_target};
use crate::session::Session;

/// Reads the parameters; one that appears twice makes the request unreadable (RFC 6749 §3.1).
pub fn parse_params(raw: &str) -> Result<AuthorizeParams, PageProblem> {
    crate::routes::fields_once(raw).ok_or(PageProblem::Malformed)
}

fn problem(p: PageProblem) -> WebError {
    WebError::BadRequest(match p {
        PageProblem::MissingClient => "oidc-error-missing-client",
        PageProblem::UnknownClient => "oidc-error-unknown-client",
        PageProblem::MissingRedirectUri => "oidc-error-missing-redirect-uri",
        PageProblem::RedirectUriMismatch => "oidc-error-redirect-uri",
        PageProblem::Malformed => "oidc-error-malformed",
        PageProblem::TooLong => "oidc-error-too-long",
    })
}

pub async fn get_authorize(
    State(app): State<AppState>,
    ctx: Ctx,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    let params = parse_params(query.as_deref().unwrap_or("")).map_err(problem)?;
    authorize(&app, &ctx, &params, false).await
}

/// OpenID Connect Core §3.1.2.1: the endpoint accepts POST with a form body too. A post from
/// the application's site arrives without tweestap's (SameSite=Lax) cookie, so it is turned
/// into the same request as a GET, which the browser sends with it.
pub async fn post_authorize(body: String) -> Result<Response, WebError> {
    let params = parse_params(&body).map_err(problem)?;
    let url = format!("/oauth2/authorize?{}", params.to_query());
    if url.len() > MAX_RETURN_URL {
        return Err(problem(PageProblem::TooLong));
    }
    Ok(Redirect::to(&url).into_response())
}

/// The way back from the sign-in is kept in the session; beyond this it is refused.
const MAX_RETURN_URL: usize = 4096;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReauthForm {
    csrf: String,
    request: String,
    decision: String,
}

/// The user's answer to a question about an authorization request (sign in again, give a
/// second step): the session, the request and its parameters when they said "continue";
/// otherwise the response (the application hears `access_denied`, saying `why`).
async fn answered(
    app: &AppState,
    ctx: &Ctx,
    form: &ReauthForm,
    why: &str,
) -> Result<Result<(Session, AuthorizeParams, AuthRequest), Response>, WebError> {
    let session = Session::load(app, ctx).await?;
    session.check_csrf(&form.csrf)?;
    let params = parse_params(&form.request).map_err(problem)?;
    let req = match checked(app, &params).await? {
        Ok(req) => req,
        Err(response) => return Ok(Err(response)),
    };
    if form.decision != "continue" {
        return Ok(Err(redirect_error(&req, "access_denied", why)));
    }
    Ok(Ok((session, params, req)))
}

/// "Sign in again" (prompt=login, max_age): only the user's own click ends the current
/// sign-in, so a link on another site cannot sign them out.
pub async fn post_reauth(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ReauthForm>,
) -> Result<Response, WebError> {
    let (mut session, params, req) =
        match answered(&app, &ctx, &form, "the user did not sign in again").await? {
            Ok(v) => v,
            Err(response) => return Ok(response),
        };
    session.record.state = SignInState::Start;
    session.record.return_to = Some(return_url(&params)?);
    // A real second factor: a remembered device does not stand in for it.
    session.record.strict = true;
    session.save(&app).await?;
    Ok(see_other(&app, &session, &sign_in_url(&req, &ctx, None)))
}

/// "This application asks for a second step" (the sign-in had none, or only a remembered
/// device): only the user's own click starts it.
pub async fn post_step_up(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ReauthForm>,
) -> Result<Response, WebError> {
    let why = "the user did not give a second factor";
    let (mut session, params, _) = match answered(&app, &ctx, &form, why).await? {
        Ok(v) => v,
        Err(response) => return Ok(response),
    };
    session.record.return_to = Some(return_url(&params)?);
    if session.record.state.signed_in_user().is_some() {
        crate::routes::step_up(&app, &mut session).await?;
    }
    crate::routes::continue_to_step(&app, &ctx, &mut session).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ConsentForm {
    csrf: String,
    request: String,
    decision: String,
}

pub async fn post_consent(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ConsentForm>,
) -> Result<Response, WebError> {
    let session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    let params = parse_params(&form.request).map_err(problem)?;
    if form.decision == "deny" {
        let req = checked(&app, &params).await?;
        return match req {
            Ok(req) => Ok(redirect_error(&req, "access_denied", "the user declined")),
            Err(response) => Ok(response),
        };
    }
    authorize(&app, &ctx, &params, form.decision == "allow").await
}

/// The request checked against its client: a request, or the response to give instead.
async fn checked(
    app: &AppState,
    params: &AuthorizeParams,
) -> Result<Result<AuthRequest, Response>, WebError> {
    match app.oidc.authorize_request(params).await? {
        Ok(req) => Ok(Ok(req)),
        Err(AuthorizeError::Page(p)) => Err(problem(p)),
        Err(AuthorizeError::Redirect(url)) => Ok(Err(Redirect::to(&url).into_response())),
    }
}

fn redirect_error(req: &AuthRequest, error: &str, description: &str) -> Response {
    match req.error(error, description) {
        AuthorizeError::Redirect(url) => Redirect::to(&url).into_response(),
        AuthorizeError::Page(p) => problem(p).into_response(),
    }
}

#[derive(Serialize)]
struct ScopeView {
    name: String,
    description: String,
}

async fn authorize(
    app: &AppState,
    ctx: &Ctx,
    params: &AuthorizeParams,
    consent_given: bool,
) -> Result<Response, WebError> {
    let req = match checked(app, params).await? {
        Ok(req) => req,
        Err(response) => return Ok(response),
    };
    let mut session = Session::load(app, ctx).await?;
    let now = app.clock.now();
    session.save(app).await?;
    let view = match &session.record.state {
        SignInState::SignedIn {
            user_id,
            auth_time,
            amr,
        } => Some(SignedInView {
            user_id: *user_id,
            auth_time: *auth_time,
            amr,
        }),
        _ => None,
    };
    let consented = match &view {
        Some(v) if !req.client.first_party && !consent_given => {
            consent_counts(&req, app.oidc.consented(v.user_id, &req).await?)
        }
        _ => consent_given,
    };
    let next = decide(&req, view.as_ref(), now, consented);
    let signed_in = view.map(|v| (v.user_id, v.auth_time, v.amr.to_vec()));
    match next {
        Next::Fail(error, why) => Ok(redirect_error(&req, error, why)),
        Next::Issue => {
            let (user, auth_time, amr) = signed_in.ok_or(WebError::Internal(
                "a code for a browser that is not signed in".into(),
            ))?;
            if consent_given {
                app.oidc.record_consent(user, &req).await?;
            }
            let url = app.oidc.issue_code(&req, user, auth_time, &amr).await?;
            Ok(see_other(app, &session, &url))
        }
        Next::Consent => {
            let (user_id, _, _) = signed_in.ok_or(WebError::Internal(
                "consent for a browser that is not signed in".into(),
            ))?;
            let user = app
                .store
                .user_by_id(user_id)
                .await?
                .ok_or(WebError::NotFound)?;
            let scopes: Vec<ScopeView> = req
                .scopes
                .iter()
                .filter(|s| s.as_str() != "openid")
                .map(|s| ScopeView {
                    name: s.clone(),
                    description: t(ctx.lang, &format!("scope-{}", s.replace('_', "-")), &[]),
                })
                .collect();
            let mut page = render(
                app,
                ctx,
                &session,
                StatusCode::OK,
                "consent.html",
                context! {
                    client_name => req.client.name.clone(),
                    display_name => user.display_name,
                    username => user.username.as_str(),
                    scopes,
                    request => params.to_query(),
                },
            )?;
            if let Some(target) = form_target(req.redirect_uri.as_str()) {
                page.extensions_mut().insert(FormTargets(vec![target]));
            }
            Ok(page)
        }
        Next::SignIn { again: true } => {
            let mut page = render(
                app,
                ctx,
                &session,
                StatusCode::OK,
                "reauth.html",
                context! {
                    client_name => req.client.name.clone(),
                    request => params.to_query(),
                },
            )?;
            if let Some(target) = form_target(req.redirect_uri.as_str()) {
                page.extensions_mut().insert(FormTargets(vec![target]));
            }
            Ok(page)
        }
        // Nothing is written on the way: the sign-in page carries the request in its form.
        Next::SignIn { again: false } => {
            let back = return_url(params)?;
            if session.record.state.page() != Page::SignIn
                && session.record.state.signed_in_user().is_none()
            {
                // In the middle of signing in (e.g. the registration interrupt): carry on
                // there, and come back here afterwards, once the user says so.
                let fields = [("return_to", back.as_str())];
                let name = req.client.name.as_str();
                let action = "/sign-in/continue";
                return interstitial(app, ctx, &session, "continue", name, action, &fields, false);
            }
            Ok(see_other(
                app,
                &session,
                &sign_in_url(&req, ctx, Some(&back)),
            ))
        }
        Next::RegisterSecondFactor => {
            let request = params.to_query();
            let fields = [("request", request.as_str())];
            let name = req.client.name.as_str();
            let action = "/oauth2/step-up";
            let mut page =
                interstitial(app, ctx, &session, "step-up", name, action, &fields, true)?;
            if let Some(target) = form_target(req.redirect_uri.as_str()) {
                page.extensions_mut().insert(FormTargets(vec![target]));
            }
            Ok(page)
        }
    }
}

/// The sign-in page for this request: where to come back to, the username filled in from
/// `login_hint`, and the first of `ui_locales` that we speak as the page language.
fn sign_in_url(req: &AuthRequest, ctx: &Ctx, back: Option<&str>) -> String {
    let encode = tweestap_core::oidc::percent_encode;
    let mut query = Vec::new();
    if let Some(back) = back {
        query.push(format!("return_to={}", encode(back)));
    }
    if let Some(hint) = &req.login_hint {
        query.push(format!("hint={}", encode(hint)));
    }
    // prompt=login and max_age ask for a real sign-in: no remembered device stands in. (The
    // token says what happened either way: amr shows a remembered device.)
    if req.prompt.login || req.max_age.is_some() {
        query.push("strict=1".to_string());
    }
    let mut to = page_url(Page::SignIn).to_string();
    if !query.is_empty() {
        to = format!("{to}?{}", query.join("&"));
    }
    if let Some(lang) = req
        .ui_locales
        .iter()
        .find_map(|l| Lang::parse(l.split('-').next().unwrap_or("")))
        && lang != ctx.lang
    {
        let next = tweestap_core::oidc::percent_encode(&to);
        to = format!("/lang/{}?next={next}", lang.code());
    }
    to
}

/// Where the sign-in comes back to: this request, minus what forced the new sign-in.
fn return_url(params: &AuthorizeParams) -> Result<String, WebError> {
    let url = format!(
        "/oauth2/authorize?{}",
        params.after_reauthentication().to_query()
    );
    if url.len() > MAX_RETURN_URL {
        return Err(problem(PageProblem::TooLong));
    }
    Ok(url)
}
