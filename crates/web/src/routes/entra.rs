//! Microsoft Entra ID's external MFA method: the discovery document and keys Entra reads, the
//! authorize endpoint its browser form posts to, and the answer posted back. The rules live
//! in `tweestap_core::eam`; the steps in between are tweestap's own sign-in pages.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Router};
use minijinja::context;
use serde_json::json;
use tweestap_core::SigningAlg;
use tweestap_core::eam::{EamParams, EamService, FormPost, Refusal, Refused};
use tweestap_core::signin::SignInState;

use super::{CsrfForm, render, request_context, signed_in_here};
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::security::{FormTargets, form_target};
use crate::session::Session;

/// The routes under the issuer's path (it may carry one: `https://mfa.school.nl/entra`).
pub fn routes(router: Router<AppState>, eam: &EamService) -> Router<AppState> {
    let path = url::Url::parse(&eam.config.issuer)
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_default();
    router
        .route(
            &format!("{path}/.well-known/openid-configuration"),
            axum::routing::get(get_discovery),
        )
        .route(&format!("{path}/jwks"), axum::routing::get(get_jwks))
        .route(
            &format!("{path}/authorize"),
            axum::routing::post(post_authorize),
        )
        .route("/sign-in/entra/cancel", axum::routing::post(post_cancel))
}

fn eam(app: &AppState) -> Result<&EamService, WebError> {
    app.eam.as_deref().ok_or(WebError::NotFound)
}

/// JSON with an exact `Content-Length` (Entra refuses metadata without one).
fn document(body: String, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The discovery document Entra reads (and caches for a day): only what this profile uses.
pub async fn get_discovery(State(app): State<AppState>) -> Result<Response, WebError> {
    let issuer = eam(&app)?.config.issuer.clone();
    let body = app.entra_discovery.get_or_init(|| discovery(&issuer));
    Ok(document(body.clone(), "application/json"))
}

fn discovery(issuer: &str) -> String {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "jwks_uri": format!("{issuer}/jwks"),
        "scopes_supported": ["openid"],
        "response_types_supported": ["id_token"],
        "response_modes_supported": ["form_post"],
        "grant_types_supported": ["implicit"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claim_types_supported": ["normal"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr"],
        "claims_parameter_supported": true,
        "acr_values_supported": [
            "possessionorinherence", "knowledgeorpossession",
            "knowledgeorpossessionorinherence", "possession"
        ],
    })
    .to_string()
}

/// The RS256 keys, each with its certificate (`x5c`, `x5t`): what Entra can use. The next key
/// is here days before it signs; a retired one stays while its tokens may still be read.
pub async fn get_jwks(State(app): State<AppState>) -> Result<Response, WebError> {
    let keys = eam(&app)?
        .signer
        .jwks(Some(SigningAlg::Rs256))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(document(keys.to_string(), "application/jwk-set+json"))
}

/// Entra's browser arrives here (a cross-site form post, so without tweestap's cookie). Once
/// every check has passed, the browser gets a new session on the second step of the account
/// the hint names; before that nothing is stored but the audit line.
pub async fn post_authorize(
    State(app): State<AppState>,
    ctx: Ctx,
    body: String,
) -> Result<Response, WebError> {
    let eam = eam(&app)?;
    let rc = request_context(&ctx);
    let Some(params) = super::fields_once::<EamParams>(&body) else {
        let session = Session::load(&app, &ctx).await?;
        return refused_page(&app, &ctx, &session, Refusal::Malformed, None);
    };
    let begun = match eam.begin(&app.signin, &params, &rc).await? {
        Ok(begun) => begun,
        Err(Refused { refusal, reply }) => {
            let session = Session::load(&app, &ctx).await?;
            return refused_page(&app, &ctx, &session, refusal, reply);
        }
    };
    let mut session = Session::for_external(&app);
    session.record.state = begun.state;
    session.record.external = Some(begun.pending);
    // A real second factor each time: Entra asks for one.
    session.record.strict = true;
    session.save(&app).await?;
    super::continue_to_step(&app, &ctx, &mut session).await
}

/// "Cancel: this wasn't me", or "back to Microsoft" once the time is up: Entra hears
/// `access_denied` and this sign-in ends here.
pub async fn post_cancel(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    let Some(pending) = session.record.external.clone() else {
        return Ok(super::to_current_step(&app, &session));
    };
    let why = if pending.time_left(app.clock.now()) == 0 {
        Refusal::TimeUp
    } else {
        Refusal::Denied
    };
    give_up(&app, &ctx, &mut session, why).await
}

/// Ends the Entra sign-in of this session without a second factor and tells Entra why.
pub async fn give_up(
    app: &AppState,
    ctx: &Ctx,
    session: &mut Session,
    why: Refusal,
) -> Result<Response, WebError> {
    let pending = session.record.external.take().ok_or(WebError::NotFound)?;
    let outcome = eam(app)?
        .give_up(&app.signin, &pending, why, &request_context(ctx))
        .await?;
    session.destroy(app).await?;
    match outcome {
        Ok(form)
        | Err(Refused {
            reply: Some(form), ..
        }) => answer_page(app, ctx, session, form, Some(why)),
        Err(Refused { reply: None, .. }) => Err(WebError::Internal("no way back to Entra".into())),
    }
}

/// The second step is done in a session that answers Entra: the id_token goes back instead
/// of a tweestap sign-in (Entra checked the password; the browser is not signed in here).
/// `registered`: the step was the user's first method.
pub async fn answer(
    app: &AppState,
    ctx: &Ctx,
    session: &mut Session,
    next: SignInState,
    registered: bool,
) -> Result<Response, WebError> {
    let pending = session.record.external.take().ok_or(WebError::NotFound)?;
    let step = std::mem::take(&mut session.record.state);
    let outcome = eam(app)?
        .finish(&app.signin, &pending, &step, &next, &request_context(ctx))
        .await?;
    session.destroy(app).await?;
    match outcome {
        Ok(form) => {
            let mut response = answer_page(app, ctx, session, form, None)?;
            if let Some(user) = next.signed_in_user() {
                signed_in_here(app, ctx, user, registered, &mut response).await?;
            }
            Ok(response)
        }
        Err(Refused {
            refusal,
            reply: Some(form),
        }) => answer_page(app, ctx, session, form, Some(refusal)),
        Err(Refused { reply: None, .. }) => Err(WebError::Internal("no way back to Entra".into())),
    }
}

/// The page that takes the browser back to Entra with `form`: an answer (`why` is `None`) or
/// a user's "no" goes by itself (a button where scripts do not run); any other refusal is
/// shown with its reason first.
fn answer_page(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    form: FormPost,
    why: Option<Refusal>,
) -> Result<Response, WebError> {
    let target = form_target(&form.action);
    let (status, message) = match why {
        None => (StatusCode::OK, "eam-done-text"),
        Some(refusal) => (StatusCode::FORBIDDEN, refusal.key()),
    };
    let auto = matches!(why, None | Some(Refusal::Denied));
    let success = why.is_none();
    let mut response = render(
        app,
        ctx,
        session,
        status,
        "entra_answer.html",
        context! { success, message, form, auto },
    )?;
    // Browsers apply form-action to the redirects after the post too, and where Microsoft
    // sends the browser next (the application the student signs in to) is not known here.
    // The page's one form goes to a checked Microsoft address; other https places are allowed
    // only for what follows it.
    let mut targets: Vec<String> = target.into_iter().collect();
    targets.push("https:".into());
    response.extensions_mut().insert(FormTargets(targets));
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        "no-store".parse().expect("static header"),
    );
    Ok(response)
}

/// A request refused before any step: the reason, and a way back to Entra when it may hear.
fn refused_page(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    refusal: Refusal,
    reply: Option<FormPost>,
) -> Result<Response, WebError> {
    match reply {
        Some(form) => answer_page(app, ctx, session, form, Some(refusal)),
        None => render(
            app,
            ctx,
            session,
            StatusCode::BAD_REQUEST,
            "entra_answer.html",
            context! { success => false, message => refusal.key() },
        ),
    }
}
