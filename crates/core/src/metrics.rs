//! Counters for operators, exposed in Prometheus' text format. Plain atomics: cheap, no
//! registry, no global state — one `Metrics` value is shared by whoever counts.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    pub sms_queued: AtomicU64,
    pub sms_sent: AtomicU64,
    pub sms_failed: AtomicU64,
    pub sms_expired: AtomicU64,
    pub sms_gateway_errors: AtomicU64,
    pub sms_delivered: AtomicU64,
    pub sms_pumping_alerts: AtomicU64,
    /// Codes verified per code sent over the last hour, in thousandths (1000 = all).
    pub sms_verified_ratio_milli: AtomicU64,
    /// Push approval: requests made, and refused by the caps, pause or a report's block.
    pub push_requested: AtomicU64,
    pub push_refused: AtomicU64,
    /// Answers from phones: approved; denied or the wrong number; "this wasn't me".
    pub push_approved: AtomicU64,
    pub push_denied: AtomicU64,
    pub push_reported: AtomicU64,
    /// Password attempts answered "busy, trying again in a moment" (nothing checked).
    pub password_busy: AtomicU64,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        for (name, help, value) in [
            (
                "tweestap_sms_queued_total",
                "Text messages queued.",
                get(&self.sms_queued),
            ),
            (
                "tweestap_sms_sent_total",
                "Text messages a gateway accepted.",
                get(&self.sms_sent),
            ),
            (
                "tweestap_sms_failed_total",
                "Text messages no gateway accepted.",
                get(&self.sms_failed),
            ),
            (
                "tweestap_sms_expired_total",
                "Text messages dropped because their code expired first.",
                get(&self.sms_expired),
            ),
            (
                "tweestap_sms_gateway_errors_total",
                "Failed attempts at a gateway.",
                get(&self.sms_gateway_errors),
            ),
            (
                "tweestap_sms_delivered_total",
                "Delivery reports saying delivered.",
                get(&self.sms_delivered),
            ),
            (
                "tweestap_sms_pumping_alerts_total",
                "Alerts: too few sent codes were used (SMS pumping?).",
                get(&self.sms_pumping_alerts),
            ),
            (
                "tweestap_push_requested_total",
                "Push approval requests sent to phones.",
                get(&self.push_requested),
            ),
            (
                "tweestap_push_refused_total",
                "Push approval requests refused: one pending, hourly cap, pause or block.",
                get(&self.push_refused),
            ),
            (
                "tweestap_push_approved_total",
                "Push approval requests approved with the right number.",
                get(&self.push_approved),
            ),
            (
                "tweestap_push_denied_total",
                "Push approval requests denied, or answered with the wrong number.",
                get(&self.push_denied),
            ),
            (
                "tweestap_push_reported_total",
                "Push approval requests reported as 'this wasn't me' (MFA fatigue?).",
                get(&self.push_reported),
            ),
            (
                "tweestap_password_busy_total",
                "Password attempts asked to retry in a moment: the hashing line was full, or an address's limit held only attempts still in line.",
                get(&self.password_busy),
            ),
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
            ));
        }
        out.push_str(&format!(
            "# HELP tweestap_sms_verified_ratio Codes used per code sent, last hour.\n# TYPE tweestap_sms_verified_ratio gauge\ntweestap_sms_verified_ratio {:.3}\n",
            get(&self.sms_verified_ratio_milli) as f64 / 1000.0
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        Metrics::inc(&m.sms_sent);
        m.sms_verified_ratio_milli.store(250, Ordering::Relaxed);
        let text = m.render();
        assert!(text.contains("tweestap_sms_sent_total 1\n"));
        assert!(text.contains("tweestap_sms_verified_ratio 0.250\n"));
    }
}
