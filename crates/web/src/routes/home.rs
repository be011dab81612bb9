use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Serialize;
use tweestap_core::signin::{Page, SignInState};

use super::{page_url, render, see_other, to_current_step};
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::i18n::t;
use crate::session::Session;

#[derive(Serialize)]
struct MethodView {
    name: String,
    added: String,
}

fn date(ts: tweestap_core::Timestamp) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts.0)
        .map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
        .unwrap_or_default()
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct HomeQuery {
    /// Just registered a first method: say it is all set (a notice, nothing more).
    welcome: Option<String>,
}

/// The signed-in landing page: who you are, your methods, and signing out.
pub async fn get_home(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(q): Query<HomeQuery>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.save(&app).await?;
    let SignInState::SignedIn { user_id, .. } = session.record.state else {
        let to = page_url(session.record.state.page());
        return Ok(see_other(&app, &session, to));
    };
    let Some(user) = app.store.user_by_id(user_id).await? else {
        // The account was removed while signed in.
        session.destroy(&app).await?;
        return Ok(see_other(&app, &session, page_url(Page::SignIn)));
    };
    let methods: Vec<MethodView> = app
        .store
        .methods(user_id)
        .await?
        .iter()
        .map(|m| MethodView {
            name: super::method_name(ctx.lang, m),
            added: date(m.created_at),
        })
        .collect();
    let notice = q.welcome.map(|_| t(ctx.lang, "welcome-notice", &[]));
    render(
        &app,
        &ctx,
        &session,
        StatusCode::OK,
        "home.html",
        context! {
            display_name => user.display_name,
            username => user.username.as_str(),
            methods,
            notice,
        },
    )
}

/// The old "all set" page: registration now ends on the page it leads to.
pub async fn get_done(State(app): State<AppState>, ctx: Ctx) -> Result<Response, WebError> {
    let session = Session::load(&app, &ctx).await?;
    Ok(to_current_step(&app, &session))
}
