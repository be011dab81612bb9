use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tweestap_core::Timestamp;
use tweestap_core::audit::{Actor, AuditEvent, AuditKind};
use tweestap_core::metrics::Metrics;
use tweestap_core::policy::SmsPolicy;
use tweestap_core::ports::{Clock, Store, StoreError};

/// Watches the share of sent codes that get used. SMS pumping (international revenue share
/// fraud) shows as many codes sent and few used: when the share over the last hour drops
/// below the threshold, it logs a warning, counts an alert metric and writes an audit event.
pub struct ConversionWatch {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    pub policy: SmsPolicy,
    last_alert: std::sync::Mutex<Option<Timestamp>>,
}

impl ConversionWatch {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        policy: SmsPolicy,
    ) -> Self {
        ConversionWatch {
            store,
            clock,
            metrics,
            policy,
            last_alert: std::sync::Mutex::new(None),
        }
    }

    /// One look at the last hour; `true` when it raised an alert (at most one per hour).
    pub async fn check(&self) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let (sent, verified) = self
            .store
            .sms_conversion_since(now.minus_secs(3600))
            .await?;
        let ratio = if sent == 0 {
            1.0
        } else {
            verified as f64 / sent as f64
        };
        self.metrics
            .sms_verified_ratio_milli
            .store((ratio.min(1.0) * 1000.0) as u64, Ordering::Relaxed);
        if sent < u64::from(self.policy.alert_min_sent)
            || ratio >= self.policy.alert_min_verified_ratio
        {
            return Ok(false);
        }
        {
            let mut last = self.last_alert.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| now < t.plus_secs(3600)) {
                return Ok(false);
            }
            *last = Some(now);
        }
        Metrics::inc(&self.metrics.sms_pumping_alerts);
        tracing::warn!(
            sent,
            verified,
            ratio = format!("{ratio:.2}"),
            threshold = self.policy.alert_min_verified_ratio,
            "few of the text messages sent in the last hour led to a sign-in: possible SMS pumping"
        );
        self.store
            .audit(&AuditEvent {
                at: now,
                kind: AuditKind::SmsConversionAlert,
                outcome: "alert",
                user_id: None,
                username: None,
                actor: Actor::User,
                ip: None,
                detail: Some(format!("sent={sent} verified={verified} ratio={ratio:.2}")),
                user_agent: None,
            })
            .await?;
        Ok(true)
    }

    pub async fn run(self: Arc<Self>, every: Duration) {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = self.check().await {
                tracing::warn!(error = %e, "checking the SMS conversion rate failed");
            }
        }
    }
}
