use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use tweestap_core::signin::ReportOutcome;

use super::{display_phone, internal, render, request_context};
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::session::Session;

/// "Didn't ask for this?" — the link at the end of every code message. Opening it only shows
/// what it is about (link checkers and previews open links too); reporting takes a button.
pub async fn get_report(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let session = Session::load(&app, &ctx).await?;
    let target = app.signin.report_target(&token).await.map_err(internal)?;
    let (status, phone) = match &target {
        Some(message) => (StatusCode::OK, Some(display_phone(&message.phone))),
        None => (StatusCode::NOT_FOUND, None),
    };
    render(
        &app,
        &ctx,
        &session,
        status,
        "report.html",
        context! { token, phone, done => false },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReportForm {
    csrf: String,
}

pub async fn post_report(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    Form(form): Form<ReportForm>,
) -> Result<Response, WebError> {
    let session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    match app
        .signin
        .report_unrequested(&token, &request_context(&ctx))
        .await
        .map_err(internal)?
    {
        ReportOutcome::Blocked { until } => {
            let until = time::OffsetDateTime::from_unix_timestamp(until.0)
                .map(|t| {
                    format!(
                        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                        t.year(),
                        u8::from(t.month()),
                        t.day(),
                        t.hour(),
                        t.minute()
                    )
                })
                .unwrap_or_default();
            render(
                &app,
                &ctx,
                &session,
                StatusCode::OK,
                "report.html",
                context! { done => true, until },
            )
        }
        ReportOutcome::Invalid => render(
            &app,
            &ctx,
            &session,
            StatusCode::NOT_FOUND,
            "report.html",
            context! { done => false, token },
        ),
    }
}
