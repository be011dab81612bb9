//! Forward-auth for reverse proxies: the proxy asks, for every request to a protected site,
//! whether this browser is signed in (with a second factor). nginx's `auth_request` wants a
//! plain 401 and sends the browser to `/auth/start` itself; Traefik and Caddy pass on what
//! they get, so `/auth/forward` answers with the redirect.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tweestap_core::User;
use tweestap_core::oidc::{has_mfa, percent_encode};
use tweestap_core::ports::random_hex;
use tweestap_core::signin::SignInState;

use super::{page_url, see_other, to_current_step};
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::session::Session;

/// The signed-in user, when the sign-in included a second factor.
async fn verified_user(app: &AppState, ctx: &Ctx) -> Result<Option<User>, WebError> {
    let mut session = Session::load(app, ctx).await?;
    let SignInState::SignedIn { user_id, amr, .. } = &session.record.state else {
        return Ok(None);
    };
    if !has_mfa(amr) {
        return Ok(None);
    }
    let user = app.store.user_by_id(*user_id).await?;
    session.touch(app).await?;
    Ok(user)
}

fn identity(user: &User) -> Response {
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    let mut put = |name: &'static str, value: &str| {
        // Display names may hold any letter: sent as UTF-8 bytes, which proxies pass on.
        if let Ok(v) = HeaderValue::from_bytes(value.as_bytes()) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    put("remote-user", user.username.as_str());
    put("remote-name", &user.display_name);
    put("remote-subject", &user.subject);
    if let Some(email) = &user.email {
        put("remote-email", email);
    }
    response
}

/// nginx `auth_request`: 200 with the identity, or 401.
pub async fn get_nginx(State(app): State<AppState>, ctx: Ctx) -> Result<Response, WebError> {
    Ok(match verified_user(&app, &ctx).await? {
        Some(user) => identity(&user),
        None => StatusCode::UNAUTHORIZED.into_response(),
    })
}

/// Traefik `forwardAuth` / Caddy `forward_auth`: 200 with the identity, or a redirect to the
/// sign-in that comes back to the URL the proxy reports.
pub async fn get_forward(
    State(app): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if let Some(user) = verified_user(&app, &ctx).await? {
        return Ok(identity(&user));
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let original = match (
        header("x-forwarded-proto"),
        header("x-forwarded-host"),
        header("x-forwarded-uri"),
    ) {
        (Some(proto), Some(host), uri) => Some(format!("{proto}://{host}{}", uri.unwrap_or("/"))),
        _ => header("x-original-url").map(str::to_string),
    };
    match original.and_then(|url| allowed_return(&app, &url)) {
        Some(url) => {
            let start = format!(
                "{}/auth/start?rd={}",
                app.config.issuer(),
                percent_encode(&url)
            );
            Ok(Redirect::to(&start).into_response())
        }
        None => Ok(StatusCode::UNAUTHORIZED.into_response()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StartQuery {
    rd: Option<String>,
}

/// Where a proxy sends a browser that is not signed in: remembers the page it wanted and
/// starts the sign-in (or, when it is signed in already, goes straight back).
pub async fn get_start(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(q): Query<StartQuery>,
) -> Result<Response, WebError> {
    let target =
        q.rd.as_deref()
            .and_then(|rd| allowed_return(&app, rd))
            .ok_or(WebError::BadRequest("forward-auth-error-return-url"))?;
    let mut session = Session::load(&app, &ctx).await?;
    session.record.return_to = Some(target.clone());
    if let SignInState::SignedIn { user_id, amr, .. } = &session.record.state {
        if has_mfa(amr) {
            session.save(&app).await?;
            return Ok(see_other(&app, &session, &target));
        }
        // Signed in with the password alone (policy allows it), but the proxy wants more.
        let user_id = *user_id;
        session.record.state = if app.store.methods(user_id).await?.is_empty() {
            SignInState::MustRegister {
                flow: random_hex(app.entropy.as_ref(), 16),
                user_id,
            }
        } else {
            SignInState::Start
        };
        session.rotate(&app).await?;
        return Ok(to_current_step(&app, &session));
    }
    session.save(&app).await?;
    if session.record.state.signed_in_user().is_none() && session.record.state != SignInState::Start
    {
        return Ok(to_current_step(&app, &session));
    }
    Ok(see_other(
        &app,
        &session,
        page_url(tweestap_core::signin::Page::SignIn),
    ))
}

/// An absolute http(s) URL on one of the configured domains; nothing else is returned to.
pub fn allowed_return(app: &AppState, input: &str) -> Option<String> {
    let config = app.config.forward_auth.as_ref()?;
    if input.len() > 4096 {
        return None;
    }
    let url = url::Url::parse(input).ok()?;
    let scheme_ok = match url.scheme() {
        "https" => true,
        // Plain http only when tweestap itself runs on http (development, tests).
        "http" => !app.config.secure_cookies(),
        _ => false,
    };
    if !scheme_ok || !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    let allowed = config.domains.iter().any(|d| {
        let d = d.trim_start_matches('.').to_ascii_lowercase();
        host == d || host.ends_with(&format!(".{d}"))
    });
    allowed.then(|| url.to_string())
}
