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
    /// The browser sent a cookie (its value may name no row). Without one, a response to a
    /// form post sets none: a cross-site post arrives without the (SameSite=Lax) cookie, and a
    /// new cookie in its answer would replace the browser's, signing the user out.
    from_cookie: bool,
    /// Loaded for a GET: it may keep an existing session alive, never create one.
    for_get: bool,
    /// An Entra sign-in's session, under its own cookie (see [`entra_cookie_name`]).
    entra: bool,
    /// The Entra cookie names a session that has ended: the response removes it.
    clear_entra_cookie: bool,
}

/// An Entra sign-in (external MFA method) lives under its own cookie, read only on the
/// sign-in pages: Entra's cross-site form post must set a cookie, and with the ordinary one
/// it would replace (sign out) the browser's own tweestap sign-in, which anyone holding an
/// unused hint could then do to someone else. `__Host-` like the main cookie, so no sibling
/// subdomain can plant one.
pub fn entra_cookie_name(app: &AppState) -> &'static str {
    if app.config.secure_cookies() {
        "__Host-tweestap-entra"
    } else {
        "tweestap_entra"
    }
}

/// The pages an Entra sign-in's steps are on (the only ones that read its cookie).
fn on_sign_in_pages(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    path == "/sign-in" || path.starts_with("/sign-in/")
}

/// How long after Entra stopped waiting its sign-in's page still says so (then the browser
/// is back to its own session).
const ENTRA_GRACE_SECS: i64 = 600;

pub(crate) fn hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

pub fn cookie_name(app: &AppState) -> &'static str {
    // The __Host- prefix makes browsers refuse the cookie unless it is Secure, host-only and
    // for path "/": a sibling subdomain cannot plant or overwrite it. (Forward-auth has its
    // own cookie, signed and naming this session, for the hosts behind the proxy.)
    if app.config.secure_cookies() {
        "__Host-tweestap"
    } else {
        "tweestap_session"
    }
}

fn csrf_for(app: &AppState, id: &str) -> String {
    app.signin.keys.csrf.sign(id)
}

impl Session {
    /// The session named by the request's cookie, or a new one when there is none or it has
    /// timed out (idle or absolute).
    pub async fn load(app: &AppState, ctx: &Ctx) -> Result<Session, WebError> {
        let mut session = Session::named_by_cookie(app, ctx).await?;
        session.for_get = ctx.is_get;
        Ok(session)
    }

    async fn named_by_cookie(app: &AppState, ctx: &Ctx) -> Result<Session, WebError> {
        let mut entra_cookie_stale = false;
        if let Some(id) = ctx
            .cookies
            .get(entra_cookie_name(app))
            .filter(|id| is_session_id(id) && on_sign_in_pages(&ctx.path))
        {
            let now = app.clock.now();
            match app.store.session_get(&hash(id)).await? {
                Some(record)
                    if within_limits(app, &record)
                        && record
                            .external
                            .as_ref()
                            .is_some_and(|p| now.0 < p.deadline.0 + ENTRA_GRACE_SECS) =>
                {
                    return Ok(Session::stored(app, id, record, true));
                }
                _ => entra_cookie_stale = true,
            }
        }
        let mut session = Session::named_by_main_cookie(app, ctx).await?;
        session.clear_entra_cookie = entra_cookie_stale;
        Ok(session)
    }

    async fn named_by_main_cookie(app: &AppState, ctx: &Ctx) -> Result<Session, WebError> {
        let Some(id) = ctx
            .cookies
            .get(cookie_name(app))
            .filter(|id| is_session_id(id))
        else {
            let mut fresh = Session::fresh(app);
            fresh.send_cookie = ctx.is_get;
            fresh.from_cookie = false;
            return Ok(fresh);
        };
        match app.store.session_get(&hash(id)).await? {
            Some(record) => {
                if within_limits(app, &record) {
                    return Ok(Session::stored(app, id, record, false));
                }
                app.store.session_delete(&record.id_hash).await?;
                Ok(Session::fresh(app))
            }
            // A visitor who only looked at a page: keep their id (their form carries its token).
            None => Ok(Session::with_id(app, id.clone(), false)),
        }
    }

    /// A new session for a browser Entra sent (a cross-site form post, so without the
    /// cookie): its cookie is sent even though the request is a POST, replacing any sign-in
    /// this browser had here. Only made once Entra's signed hint has been checked, so a
    /// stranger's form cannot do it.
    pub fn for_external(app: &AppState) -> Session {
        let mut session = Session::fresh(app);
        session.entra = true;
        session
    }

    /// The session a cookie named, as stored (under the Entra cookie: `entra`).
    fn stored(app: &AppState, id: &str, mut record: SessionRecord, entra: bool) -> Session {
        record.csrf_token = csrf_for(app, id);
        Session {
            id: id.to_string(),
            record,
            send_cookie: false,
            stored: true,
            from_cookie: true,
            for_get: false,
            entra,
            clear_entra_cookie: false,
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
                strict: false,
                external: None,
            },
            id,
            send_cookie,
            stored: false,
            from_cookie: true,
            for_get: false,
            entra: false,
            clear_entra_cookie: false,
        }
    }

    /// Stores the session, unless there is nothing worth storing (an anonymous visitor). A GET
    /// only keeps an existing session alive: it never creates one (a link or a prefetch cannot
    /// make tweestap write anything).
    pub async fn save(&mut self, app: &AppState) -> Result<(), WebError> {
        let nothing_to_keep = self.record.state == SignInState::Start
            && self.record.return_to.is_none()
            && !self.record.strict;
        if !self.stored && (nothing_to_keep || self.for_get) {
            return Ok(());
        }
        self.record.last_seen_at = app.clock.now();
        if !self.stored {
            app.store.session_insert(&self.record).await?;
            self.stored = true;
        } else if !app.store.session_update(&self.record).await? {
            self.ended_meanwhile(app);
        }
        Ok(())
    }

    /// The session ended while this request ran (signed out elsewhere, a method removed, a
    /// new password): it stays ended. This browser starts over at its next request; no cookie
    /// is sent now (a parallel request of the same browser may have set a newer one).
    fn ended_meanwhile(&mut self, app: &AppState) {
        *self = Session::fresh(app);
        self.send_cookie = false;
    }

    /// A new id (and so a new CSRF token) for the same session, after each authentication
    /// step, so an id known before a step (session fixation) is worthless after it.
    pub async fn rotate(&mut self, app: &AppState) -> Result<(), WebError> {
        let old_id_hash = std::mem::take(&mut self.record.id_hash);
        let fresh = Session::fresh(app);
        self.id = fresh.id;
        self.record.id_hash = fresh.record.id_hash;
        self.record.csrf_token = fresh.record.csrf_token;
        self.record.created_at = fresh.record.created_at;
        self.send_cookie = true;
        if !self.stored {
            return self.save(app).await;
        }
        self.record.last_seen_at = app.clock.now();
        // One write: the old id stops working as the new one starts.
        if !app.store.session_rekey(&old_id_hash, &self.record).await? {
            // Ended meanwhile: a step finished in this request must not bring it back.
            self.ended_meanwhile(app);
        }
        Ok(())
    }

    /// Ends the session and starts an empty one in its place (with a new cookie only for a
    /// browser that had one).
    pub async fn destroy(&mut self, app: &AppState) -> Result<(), WebError> {
        if self.stored {
            app.store.session_delete(&self.record.id_hash).await?;
        }
        if self.entra {
            // The browser's own session (if any) was never touched: only the Entra cookie goes.
            *self = Session::fresh(app);
            self.send_cookie = false;
            self.clear_entra_cookie = true;
            return Ok(());
        }
        let had_cookie = self.from_cookie;
        *self = Session::fresh(app);
        self.send_cookie = had_cookie;
        self.from_cookie = had_cookie;
        Ok(())
    }

    /// Ends an Entra sign-in's session (its cookie goes) and becomes the browser's own.
    pub async fn leave_external(&mut self, app: &AppState, ctx: &Ctx) -> Result<(), WebError> {
        let for_get = self.for_get;
        self.destroy(app).await?;
        *self = Session::named_by_main_cookie(app, ctx).await?;
        self.for_get = for_get;
        self.clear_entra_cookie = true;
        Ok(())
    }

    /// The hash of this session's id: what the database knows it by.
    pub fn id_hash(&self) -> &str {
        &self.record.id_hash
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
        use crate::security::append_cookie;
        let mut response = response.into_response();
        if self.clear_entra_cookie {
            append_cookie(
                app,
                &mut response,
                entra_cookie_name(app),
                "",
                "Lax; Max-Age=0",
            );
        }
        if self.send_cookie {
            let name = if self.entra {
                entra_cookie_name(app)
            } else {
                cookie_name(app)
            };
            append_cookie(app, &mut response, name, &self.id, "Lax");
        }
        response
    }
}

/// Neither idle nor older than the absolute limit.
fn within_limits(app: &AppState, record: &SessionRecord) -> bool {
    let now = app.clock.now();
    let limits = &app.policy.session;
    record.last_seen_at.secs_until(now) < limits.idle_timeout_secs
        && record.created_at.secs_until(now) < limits.absolute_timeout_secs
}

pub(crate) fn is_session_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
}
