//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). An application may send the
//! user back only to a post-logout URI registered for it; without proof of who is signing
//! out (an `id_token_hint` for this browser's user), the user is asked first, so a link on
//! another site cannot sign people out.

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};
use tweestap_core::oidc::append_query;

use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::routes::{render, request_context, see_other};
use crate::security::{FormTargets, form_target};
use crate::session::Session;

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
pub struct LogoutParams {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    client_id: Option<String>,
    /// Only on our own confirmation form.
    #[serde(skip_serializing)]
    csrf: Option<String>,
}

pub async fn get_logout(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(params): Query<LogoutParams>,
) -> Result<Response, WebError> {
    logout(&app, &ctx, params, false).await
}

pub async fn post_logout(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(params): Form<LogoutParams>,
) -> Result<Response, WebError> {
    let confirmed = match params.csrf.as_deref() {
        Some(token) => {
            Session::load(&app, &ctx).await?.check_csrf(token)?;
            true
        }
        None => false,
    };
    logout(&app, &ctx, params, confirmed).await
}

async fn logout(
    app: &AppState,
    ctx: &Ctx,
    params: LogoutParams,
    confirmed: bool,
) -> Result<Response, WebError> {
    // A hint that no longer verifies (its key retired, say) counts as no hint: the user is
    // asked instead of proof being assumed.
    let hint = match params.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
        Some(token) => app.oidc.id_token_hint(token).await,
        None => None,
    };
    let client_id = match (&hint, params.client_id.as_deref()) {
        (Some((aud, _)), Some(given)) if aud != given => {
            return Err(WebError::BadRequest("oidc-error-logout-hint"));
        }
        (Some((aud, _)), _) => Some(aud.clone()),
        (None, given) => given.map(str::to_string),
    };
    let target = match params
        .post_logout_redirect_uri
        .as_deref()
        .filter(|u| !u.is_empty())
    {
        None => None,
        Some(uri) => {
            let client = match client_id.as_deref() {
                Some(id) => app.oidc.client(id).await?,
                None => None,
            };
            let registered =
                client.is_some_and(|c| c.post_logout_uris.iter().any(|u| u.as_str() == uri));
            if !registered {
                return Err(WebError::BadRequest("oidc-error-logout-uri"));
            }
            let mut query = vec![];
            if let Some(state) = params.state.as_deref() {
                query.push(("state", state));
            }
            Some(append_query(uri, &query))
        }
    };

    let mut session = Session::load(app, ctx).await?;
    let user = session.record.state.user();
    let subject = match session.record.state.signed_in_user() {
        Some(id) => app.store.user_by_id(id).await?.map(|u| u.subject),
        None => None,
    };
    let proven = matches!((&hint, &subject), (Some((_, sub)), Some(current)) if sub == current);
    if subject.is_some() && !proven && !confirmed {
        let client_name = match client_id.as_deref() {
            Some(id) => app.oidc.client(id).await?.map(|c| c.name),
            None => None,
        };
        let mut page = render(
            app,
            ctx,
            &session,
            StatusCode::OK,
            "logout.html",
            context! { params => params.clone(), client_name },
        )?;
        if let Some(source) = target.as_deref().and_then(form_target) {
            page.extensions_mut().insert(FormTargets(vec![source]));
        }
        return Ok(page);
    }
    session.destroy(app).await?;
    app.signin
        .audit_sign_out(user, &request_context(ctx))
        .await
        .map_err(crate::routes::internal)?;
    let to = target.unwrap_or_else(|| "/sign-in?signed_out=1".to_string());
    Ok(see_other(app, &session, &to))
}
