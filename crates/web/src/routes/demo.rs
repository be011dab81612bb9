use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Serialize;

use super::render;
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::session::Session;

#[derive(Serialize)]
struct MessageView {
    to: String,
    text: String,
    created_at: String,
    time: String,
}

/// Demo mode only: the text messages the outbox gateway "sent", so a newcomer can walk the
/// whole flow without a phone. In any other mode this page does not exist.
pub async fn get_demo_phone(State(app): State<AppState>, ctx: Ctx) -> Result<Response, WebError> {
    let Some(path) = app.config.demo_outbox.clone() else {
        return Err(WebError::NotFound);
    };
    let mut session = Session::load(&app, &ctx).await?;
    session.save(&app).await?;
    let messages = tokio::task::spawn_blocking(move || tweestap_sms::read_outbox(&path))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(|e| WebError::Internal(format!("reading the outbox: {e}")))?;
    let messages: Vec<MessageView> = messages
        .into_iter()
        .rev()
        .take(50)
        .map(|m| MessageView {
            to: m.to,
            text: m.text,
            // "2026-11-25T01:09:34.05Z" → "01:09:34 UTC": the demo phone shows the time only.
            time: m
                .created_at
                .get(11..19)
                .map(|t| format!("{t} UTC"))
                .unwrap_or_default(),
            created_at: m.created_at,
        })
        .collect();
    render(
        &app,
        &ctx,
        &session,
        StatusCode::OK,
        "demo_phone.html",
        context! { messages },
    )
}
