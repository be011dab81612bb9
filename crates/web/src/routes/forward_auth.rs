//! Forward-auth for reverse proxies: the proxy asks, for every request to a protected site,
//! whether this browser is signed in (with a second factor). nginx's `auth_request` wants a
//! plain 401 and sends the browser to `/auth/start` itself; Traefik and Caddy pass on what
//! they get, so `/auth/forward` answers with the redirect.

use axum::extract::{Form, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use tweestap_core::User;
use tweestap_core::oidc::{has_mfa, percent_encode};
use tweestap_core::signin::{Page, SignInState};

use super::{continue_to_step, interstitial, page_url, see_other, step_up};
use crate::app::{AppState, ForwardAuthConfig};
use crate::context::Ctx;
use crate::error::WebError;
use crate::session::{Session, is_session_id};

/// The forward-auth cookie. Never the sign-in session's id: the proxy passes cookies on to the
/// sites behind it, and those must not be able to act as the user at tweestap. Shared with
/// `cookie_domain` when the protected sites are other hosts.
fn cookie_name(app: &AppState) -> &'static str {
    let shared = forward_config(app).is_some_and(|f| f.cookie_domain.is_some());
    match (app.config.secure_cookies(), shared) {
        (true, false) => "__Host-tweestap-fa",
        (true, true) => "__Secure-tweestap-fa",
        (false, _) => "tweestap_fa",
    }
}

fn forward_config(app: &AppState) -> Option<&ForwardAuthConfig> {
    app.config.forward_auth.as_ref()
}

fn set_cookie(app: &AppState, response: &mut Response, value: &str) {
    let domain = forward_config(app)
        .and_then(|f| f.cookie_domain.as_deref())
        .map(|d| format!("; Domain={d}"))
        .unwrap_or_default();
    let attributes = format!("Lax{domain}");
    crate::security::append_cookie(app, response, cookie_name(app), value, &attributes);
}

/// The forward-auth cookie's value for a sign-in session: the session's id hash (which cannot
/// be turned back into the session's cookie) and a signature over it. It keeps no state of its
/// own, so it ends exactly when the sign-in session ends, and its value is not a session id.
fn cookie_value(app: &AppState, session_hash: &str) -> String {
    format!(
        "{session_hash}.{}",
        app.signin.keys.forward_auth.sign(session_hash)
    )
}

/// The sign-in session a forward-auth cookie names, when its signature holds.
fn session_named(app: &AppState, value: &str) -> Option<String> {
    let (hash, signature) = value.split_once('.')?;
    (is_session_id(hash) && app.signin.keys.forward_auth.verify(hash, signature))
        .then(|| hash.to_string())
}

/// The user of the sign-in session the request's forward-auth cookie names, when that session
/// is alive and its sign-in included a second factor (or a remembered device). A proxy's question is not the user's
/// activity: it does not keep the sign-in alive, so a browser left signed in on a shared
/// computer loses the protected sites when its sign-in idles out, however much they are used.
async fn verified_user(app: &AppState, ctx: &Ctx) -> Result<Option<User>, WebError> {
    if forward_config(app).is_none() {
        return Ok(None);
    }
    let Some(hash) = ctx
        .cookies
        .get(cookie_name(app))
        .and_then(|value| session_named(app, value))
    else {
        return Ok(None);
    };
    let Some(record) = app.store.session_get(&hash).await? else {
        return Ok(None);
    };
    let now = app.clock.now();
    let limits = &app.policy.session;
    if record.last_seen_at.secs_until(now) >= limits.idle_timeout_secs
        || record.created_at.secs_until(now) >= limits.absolute_timeout_secs
    {
        return Ok(None);
    }
    let SignInState::SignedIn { user_id, amr, .. } = &record.state else {
        return Ok(None);
    };
    if !passes(app, amr) {
        return Ok(None);
    }
    Ok(app.store.user_by_id(*user_id).await?)
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

/// The return URL from `?rd=…`. It is the last parameter and taken whole: nginx cannot
/// URL-encode `$request_uri`, so `rd=https://wiki/page?a=1&b=2` must keep its `&b=2`. An
/// encoded one (as `/auth/forward` sends) is decoded.
fn return_url_param(query: &str) -> Option<String> {
    let raw = query.strip_prefix("rd=")?;
    let encoded = raw.starts_with("http%3A") || raw.starts_with("https%3A");
    if encoded {
        url::form_urlencoded::parse(format!("rd={raw}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    } else {
        Some(raw.to_string())
    }
}

/// The site a `/auth/start` query returns to, when it is one of the configured domains.
pub fn return_target(app: &AppState, query: &str) -> Option<String> {
    return_url_param(query).and_then(|rd| allowed_return(app, &rd))
}

/// Where a sign-in that should end at `target` comes back to, to get the proxy's cookie.
fn start_path(target: &str) -> String {
    format!("/auth/start?rd={}", percent_encode(target))
}

/// Whether a sign-in passes the proxy: a second factor, or (where the configuration allows
/// it) a remembered device that stood in for one.
fn passes(app: &AppState, amr: &[String]) -> bool {
    let remembered = forward_config(app).is_some_and(|f| f.accept_remembered_devices)
        && amr.iter().any(|m| m == "remembered");
    has_mfa(amr) || remembered
}

/// Where a proxy sends a browser that is not signed in (and where a finished sign-in comes
/// back to). A signed-in browser gets its cookie and goes back to the site; anything that
/// would change the session (asking for a second step, carrying on with a sign-in under
/// way) is a question with a button: a GET here writes nothing.
pub async fn get_start(
    State(app): State<AppState>,
    ctx: Ctx,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    let target = query
        .as_deref()
        .and_then(|q| return_target(&app, q))
        .ok_or(WebError::BadRequest("forward-auth-error-return-url"))?;
    let mut session = Session::load(&app, &ctx).await?;
    session.save(&app).await?;
    let host = url::Url::parse(&target)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let kind = match &session.record.state {
        SignInState::SignedIn { amr, .. } if passes(&app, amr) => {
            let value = cookie_value(&app, session.id_hash());
            let mut response = see_other(&app, &session, &target);
            set_cookie(&app, &mut response, &value);
            return Ok(response);
        }
        SignInState::Start => {
            let to = format!(
                "{}?return_to={}",
                page_url(Page::SignIn),
                percent_encode(&start_path(&target))
            );
            return Ok(see_other(&app, &session, &to));
        }
        // Signed in with the password alone (the policy allows it), but the site wants more.
        SignInState::SignedIn { .. } => "step-up",
        _ => "continue",
    };
    let fields = [("rd", target.as_str())];
    interstitial(
        &app,
        &ctx,
        &session,
        kind,
        &host,
        "/auth/start",
        &fields,
        false,
    )
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct StartForm {
    csrf: String,
    rd: String,
}

/// The answer to `get_start`'s question: ask for the second step, or carry on with the
/// sign-in under way; either way, come back to the site afterwards.
pub async fn post_start(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<StartForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    let target = allowed_return(&app, &form.rd)
        .ok_or(WebError::BadRequest("forward-auth-error-return-url"))?;
    session.record.return_to = Some(start_path(&target));
    if matches!(&session.record.state, SignInState::SignedIn { amr, .. } if !passes(&app, amr)) {
        step_up(&app, &mut session).await?;
    }
    continue_to_step(&app, &ctx, &mut session).await
}

/// An absolute http(s) URL on one of the configured domains; nothing else is returned to.
pub fn allowed_return(app: &AppState, input: &str) -> Option<String> {
    let config = forward_config(app)?;
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

#[cfg(test)]
mod tests {
    use super::return_url_param;

    #[test]
    fn the_return_url_is_taken_whole_or_decoded() {
        assert_eq!(
            return_url_param("rd=https://wiki.school.nl/p?a=1&b=2").as_deref(),
            Some("https://wiki.school.nl/p?a=1&b=2")
        );
        assert_eq!(
            return_url_param("rd=https%3A%2F%2Fwiki.school.nl%2Fp%3Fa%3D1%26b%3D2").as_deref(),
            Some("https://wiki.school.nl/p?a=1&b=2")
        );
        assert_eq!(return_url_param("x=1&rd=https://a"), None);
    }
}
