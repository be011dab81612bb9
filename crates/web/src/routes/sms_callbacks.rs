use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tweestap_core::metrics::Metrics;

use crate::app::AppState;

/// Applies one delivery report and answers the provider. A storage failure answers 503 so
/// the provider tries again later.
async fn apply_report(
    app: &AppState,
    reference: &str,
    gateway: &str,
    delivered: bool,
    detail: &str,
) -> Response {
    match app
        .store
        .sms_delivery_report(reference, gateway, delivered, detail, app.clock.now())
        .await
    {
        Ok(true) if delivered => Metrics::inc(&app.metrics.sms_delivered),
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = %e, "storing a delivery report failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
        }
    }
    (StatusCode::OK, "ok").into_response()
}

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
    tracing::info!(reference = %report.r#ref, dlr_type = report.r#type, "delivery report");
    match report.r#type {
        1 => apply_report(&app, &report.r#ref, &report.gw, true, "delivered").await,
        2 => apply_report(&app, &report.r#ref, &report.gw, false, "undeliverable").await,
        16 => {
            apply_report(
                &app,
                &report.r#ref,
                &report.gw,
                false,
                "rejected by the SMS centre",
            )
            .await
        }
        // 4 (queued at the SMS centre) and 8 (accepted by it) change nothing for us.
        _ => (StatusCode::OK, "ok").into_response(),
    }
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
    match outcome {
        Some(delivered) => {
            apply_report(
                &app,
                &q.r#ref,
                &q.gw,
                delivered,
                &status.unwrap_or_default(),
            )
            .await
        }
        None => (StatusCode::OK, "ok").into_response(),
    }
}

pub async fn get_http_report(state: State<AppState>, query: Query<Signed>) -> Response {
    post_http_report(state, query, axum::body::Bytes::new()).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AccountWide {
    gw: String,
    token: String,
    /// Spryng sends `REFERENCE` and `STATUS` as query parameters.
    #[serde(rename = "REFERENCE")]
    reference: Option<String>,
    #[serde(rename = "STATUS")]
    status: Option<String>,
}

/// Account-wide delivery reports: CM.com posts JSON (`messages.msg.reference`,
/// `messages.msg.status.code`: 2 delivered, 1 rejected, 3 failed); Spryng calls with
/// `REFERENCE` and `STATUS` (Delivered / Not Delivered). The reference inside names the message.
pub async fn post_account_report(
    State(app): State<AppState>,
    Query(q): Query<AccountWide>,
    body: axum::body::Bytes,
) -> Response {
    // The token (from `tweestap sms report-url`) is bound to the gateway's name.
    if q.gw.is_empty()
        || !app
            .signin
            .keys
            .callback
            .verify(&format!("account-report:{}", q.gw), &q.token)
    {
        return (StatusCode::FORBIDDEN, "bad token").into_response();
    }
    let mut report: Option<(String, Option<bool>, String)> = q.reference.clone().map(|r| {
        let status = q.status.clone().unwrap_or_default();
        let outcome = match status.to_ascii_lowercase().as_str() {
            "delivered" => Some(true),
            "not delivered" | "undelivered" | "failed" => Some(false),
            _ => None,
        };
        (r, outcome, status)
    });
    if report.is_none()
        && let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body)
    {
        let msg = &json["messages"]["msg"];
        if let Some(reference) = msg["reference"].as_str() {
            let code = msg["status"]["code"]
                .as_str()
                .map(str::to_string)
                .or_else(|| msg["status"]["code"].as_i64().map(|c| c.to_string()));
            let outcome = match code.as_deref() {
                Some("2") => Some(true),
                Some("1" | "3") => Some(false),
                _ => None,
            };
            report = Some((
                reference.to_string(),
                outcome,
                format!("status code {}", code.unwrap_or_default()),
            ));
        }
    }
    let Some((reference, Some(delivered), detail)) = report else {
        return (StatusCode::OK, "ok").into_response();
    };
    apply_report(&app, &reference, &q.gw, delivered, &detail).await
}

pub async fn get_account_report(state: State<AppState>, query: Query<AccountWide>) -> Response {
    post_account_report(state, query, axum::body::Bytes::new()).await
}

/// Prometheus metrics, for loopback and the configured scrapers only: the counters tell an
/// outsider how busy sign-ins are and whether an attack is being noticed.
pub async fn get_metrics(State(app): State<AppState>, ctx: crate::context::Ctx) -> Response {
    // Loopback means this machine only when no proxy forwarded the request: a proxy on the
    // same machine would otherwise make /metrics public.
    let local = app.config.loopback_is_local && !ctx.proxied;
    let allowed = ctx
        .ip
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| (ip.is_loopback() && local) || app.config.metrics_allow.contains(&ip));
    if !allowed {
        return crate::error::WebError::NotFound.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}
