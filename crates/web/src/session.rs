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
pub struct Session {
    id: String,
    pub record: SessionRecord,
    send_cookie: bool,
}

fn hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

pub fn cookie_name(app: &AppState) -> &'static str {
    // The __Host- prefix makes browsers refuse the cookie unless it is Secure, host-only and
    // for path "/": a sibling subdomain cannot plant or overwrite it.
    if app.config.secure_cookies() {
        "__Host-tweestap"
    } else {
        "tweestap_session"
    }
}

impl Session {
    /// The session named by the request's cookie, or a new one when there is none or it has
    /// timed out (idle or absolute).
    pub async fn load(app: &AppState, ctx: &Ctx) -> Result<Session, WebError> {
        let now = app.clock.now();
        let id = ctx
            .cookies
            .get(cookie_name(app))
            .filter(|id| is_session_id(id));
        let record = match id {
            Some(id) => app.store.session_get(&hash(id)).await?,
            None => None,
        };
        if let (Some(id), Some(record)) = (id, record) {
            let limits = &app.policy.session;
            let idle = record.last_seen_at.secs_until(now);
            let age = record.created_at.secs_until(now);
            if idle < limits.idle_timeout_secs && age < limits.absolute_timeout_secs {
                return Ok(Session {
                    id: id.clone(),
                    record,
                    send_cookie: false,
                });
            }
            app.store.session_delete(&record.id_hash).await?;
        }
        Ok(Session::fresh(app))
    }

    fn fresh(app: &AppState) -> Session {
        let now = app.clock.now();
        let id = random_hex(app.entropy.as_ref(), 32);
        Session {
            record: SessionRecord {
                id_hash: hash(&id),
                csrf_token: random_hex(app.entropy.as_ref(), 32),
                state: SignInState::Start,
                return_to: None,
                created_at: now,
                last_seen_at: now,
            },
            id,
            send_cookie: true,
        }
    }

    pub async fn save(&mut self, app: &AppState) -> Result<(), WebError> {
        self.record.last_seen_at = app.clock.now();
        app.store.session_put(&self.record).await?;
        Ok(())
    }

    /// A new id (and CSRF token) for the same session, after each authentication step, so an
    /// id known before a step (session fixation) is worthless after it.
    pub async fn rotate(&mut self, app: &AppState) -> Result<(), WebError> {
        app.store.session_delete(&self.record.id_hash).await?;
        let fresh = Session::fresh(app);
        self.id = fresh.id;
        self.record.id_hash = fresh.record.id_hash;
        self.record.csrf_token = fresh.record.csrf_token;
        self.record.created_at = fresh.record.created_at;
        self.send_cookie = true;
        self.save(app).await
    }

    /// Ends the session and starts an empty one in its place.
    pub async fn destroy(&mut self, app: &AppState) -> Result<(), WebError> {
        app.store.session_delete(&self.record.id_hash).await?;
        *self = Session::fresh(app);
        self.save(app).await
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
            let cookie = format!(
                "{}={}; Path=/; HttpOnly; SameSite=Lax{secure}",
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
