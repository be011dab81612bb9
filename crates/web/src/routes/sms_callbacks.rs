use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tweestap_core::metrics::Metrics;

use crate::app::AppState;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct KannelReport {
    /// Our message reference, put in the dlr-url when the message was handed over.
    r#ref: String,
    /// The gateway we handed the message to.
    gw: String,
    /// Our signature over reference and gateway: only URLs we made are believed.
    sig: String,
    /// Kannel's %d: 1 delivered, 2 undeliverable, 4 queued at the SMSC, 8 accepted by the
    /// SMSC, 16 rejected by the SMSC.
    r#type: u32,
}

/// Kannel's delivery reports (its `dlr-url`). Answers 403 to anything we did not sign.
pub async fn get_kannel_report(
    State(app): State<AppState>,
    Query(report): Query<KannelReport>,
) -> Response {
    if !app
        .signin
        .keys
        .callback
        .verify(&format!("{}:{}", report.r#ref, report.gw), &report.sig)
    {
        return (StatusCode::FORBIDDEN, "bad signature").into_response();
    }
    let now = app.clock.now();
    let outcome = match report.r#type {
        1 => Some((true, "delivered")),
        2 => Some((false, "undeliverable")),
        16 => Some((false, "rejected by the SMS centre")),
        _ => None,
    };
    if let Some((delivered, detail)) = outcome {
        match app
            .store
            .sms_delivery_report(&report.r#ref, &report.gw, delivered, detail, now)
            .await
        {
            Ok(true) if delivered => Metrics::inc(&app.metrics.sms_delivered),
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "storing a delivery report failed");
                return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
            }
        }
    }
    tracing::info!(reference = %report.r#ref, dlr_type = report.r#type, "delivery report");
    (StatusCode::OK, "ok").into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Signed {
    r#ref: String,
    gw: String,
    sig: String,
    /// Bird and Vonage put the status in the query of a GET.
    status: Option<String>,
}

/// Delivery reports of HTTP providers (Twilio posts a form with `MessageStatus`; Bird and
/// Vonage send `status`, in the query or a JSON body). Our reference and signature are in
/// the URL we gave the provider, so a report for someone else's message cannot be forged.
pub async fn post_http_report(
    State(app): State<AppState>,
    Query(q): Query<Signed>,
    body: axum::body::Bytes,
) -> Response {
    if !app
        .signin
        .keys
        .callback
        .verify(&format!("{}:{}", q.r#ref, q.gw), &q.sig)
    {
        return (StatusCode::FORBIDDEN, "bad signature").into_response();
    }
    let mut status = q.status.clone();
    if status.is_none() && !body.is_empty() {
        let form: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(&body).into_owned().collect();
        status = form
            .get("MessageStatus")
            .or_else(|| form.get("status"))
            .cloned();
        if status.is_none()
            && let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body)
        {
            status = json
                .get("status")
                .and_then(|v| v.as_str())
                .map(str::to_string);
        }
    }
    let outcome = match status.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("delivered") => Some(true),
        Some("undelivered" | "failed" | "delivery_failed" | "expired" | "rejected") => Some(false),
        _ => None,
    };
    if let Some(delivered) = outcome {
        let detail = status.unwrap_or_default();
        match app
            .store
            .sms_delivery_report(&q.r#ref, &q.gw, delivered, &detail, app.clock.now())
            .await
        {
            Ok(true) if delivered => Metrics::inc(&app.metrics.sms_delivered),
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "storing a delivery report failed");
                return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
            }
        }
    }
    (StatusCode::OK, "ok").into_response()
}

pub async fn get_http_report(state: State<AppState>, query: Query<Signed>) -> Response {
    post_http_report(state, query, axum::body::Bytes::new()).await
}

/// Prometheus metrics.
pub async fn get_metrics(State(app): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}
