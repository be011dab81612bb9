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
    /// Our signature over the reference: only URLs we made are believed.
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
    if !app.signin.keys.callback.verify(&report.r#ref, &report.sig) {
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
            .sms_delivery_report(&report.r#ref, delivered, detail, now)
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
