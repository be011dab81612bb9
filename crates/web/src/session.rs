use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tweestap_core::ports::{SessionRecord, random_hex};
use tweestap_core::signin::SignInState;

use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;

/// A browser's session. The cookie carries 256 random bits; the database keeps only their
/// SHA-256, so a copy of the database cannot be used to hijack sessions.
///
/// A visitor who has only looked at the sign-in page has no row at all: the CSRF token is
/// derived from the session id with a server key, so nothing needs storing until the first
/// form is sent. Anonymous page views cannot fill the database.
pub struct Session {
    id: String,
    pub record: SessionRecord,
    send_cookie: bool,
    /// A row exists for this session.
    stored: bool,
}

fn hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

fn cookie_domain(app: &AppState) -> Option<&str> {
    app.config
        .forward_auth
        .as_ref()
        .and_then(|f| f.cookie_domain.as_deref())
}

pub fn cookie_name(app: &AppState) -> &'static str {
    // The __Host- prefix makes browsers refuse the cookie unless it is Secure, host-only and
    // for path "/": a sibling subdomain cannot plant or overwrite it. A cookie shared with a
    // parent domain (forward-auth) cannot be host-only; __Secure- still demands https.
    match (app.config.secure_cookies(), cookie_domain(app).is_some()) {
        (true, false) => "__Host-tweestap",
        (true, true) => "__Secure-tweestap",
        (false, _) => "tweestap_session",
    }
}

fn csrf_for(app: &AppState, id: &str) -> String {
    app.signin.keys.callback.sign(&format!("csrf:{id}"))
}

impl Session {
    /// The session named by the request's cookie, or a new one when there is none or it has
    /// timed out (idle or absolute).
    pub async fn load(app: &AppState, ctx: &Ctx) -> Result<Session, WebError> {
        let now = app.clock.now();
        let Some(id) = ctx
            .cookies
            .get(cookie_name(app))
            .filter(|id| is_session_id(id))
        else {
            return Ok(Session::fresh(app));
        };
        match app.store.session_get(&hash(id)).await? {
            Some(mut record) => {
                let limits = &app.policy.session;
                let idle = record.last_seen_at.secs_until(now);
                let age = record.created_at.secs_until(now);
                if idle < limits.idle_timeout_secs && age < limits.absolute_timeout_secs {
                    record.csrf_token = csrf_for(app, id);
                    return Ok(Session {
                        id: id.clone(),
                        record,
                        send_cookie: false,
                        stored: true,
                    });
                }
                app.store.session_delete(&record.id_hash).await?;
                Ok(Session::fresh(app))
            }
            // A visitor who only looked at a page: keep their id (their form carries its token).
            None => Ok(Session::with_id(app, id.clone(), false)),
        }
    }

    fn fresh(app: &AppState) -> Session {
        Session::with_id(app, random_hex(app.entropy.as_ref(), 32), true)
    }

    fn with_id(app: &AppState, id: String, send_cookie: bool) -> Session {
        let now = app.clock.now();
        Session {
            record: SessionRecord {
                id_hash: hash(&id),
                csrf_token: csrf_for(app, &id),
                state: SignInState::Start,
                return_to: None,
                created_at: now,
                last_seen_at: now,
            },
            id,
            send_cookie,
            stored: false,
        }
    }

    /// Stores the session, unless there is nothing worth storing (an anonymous visitor).
    pub async fn save(&mut self, app: &AppState) -> Result<(), WebError> {
        if !self.stored
            && self.record.state == SignInState::Start
            && self.record.return_to.is_none()
        {
            return Ok(());
        }
        self.record.last_seen_at = app.clock.now();
        app.store.session_put(&self.record).await?;
        self.stored = true;
        Ok(())
    }

    /// Keeps a signed-in session alive from requests that only read it (forward-auth), writing
    /// at most once a minute.
    pub async fn touch(&mut self, app: &AppState) -> Result<(), WebError> {
        if self.stored && self.record.last_seen_at.secs_until(app.clock.now()) >= 60 {
            self.save(app).await?;
        }
        Ok(())
    }

    /// A new id (and so a new CSRF token) for the same session, after each authentication
    /// step, so an id known before a step (session fixation) is worthless after it.
    pub async fn rotate(&mut self, app: &AppState) -> Result<(), WebError> {
        if self.stored {
            app.store.session_delete(&self.record.id_hash).await?;
        }
        let fresh = Session::fresh(app);
        self.id = fresh.id;
        self.record.id_hash = fresh.record.id_hash;
        self.record.csrf_token = fresh.record.csrf_token;
        self.record.created_at = fresh.record.created_at;
        self.send_cookie = true;
        self.stored = false;
        self.save(app).await
    }

    /// Ends the session and starts an empty one in its place.
    pub async fn destroy(&mut self, app: &AppState) -> Result<(), WebError> {
        if self.stored {
            app.store.session_delete(&self.record.id_hash).await?;
        }
        *self = Session::fresh(app);
        Ok(())
    }

    pub fn check_csrf(&self, token: &str) -> Result<(), WebError> {
        let expected = self.record.csrf_token.as_bytes();
        if token.len() == expected.len() && bool::from(token.as_bytes().ct_eq(expected)) {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }

    pub fn csrf(&self) -> &str {
        &self.record.csrf_token
    }

    /// Adds the cookie to a response when the browser does not have the current id yet.
    pub fn finish(&self, app: &AppState, response: impl IntoResponse) -> Response {
        let mut response = response.into_response();
        if self.send_cookie {
            let secure = if app.config.secure_cookies() {
                "; Secure"
            } else {
                ""
            };
            let domain = cookie_domain(app)
                .map(|d| format!("; Domain={d}"))
                .unwrap_or_default();
            let cookie = format!(
                "{}={}; Path=/; HttpOnly; SameSite=Lax{secure}{domain}",
                cookie_name(app),
                self.id
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        response
    }
}

fn is_session_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
}
