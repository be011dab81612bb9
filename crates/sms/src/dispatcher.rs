use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tweestap_core::Keys;
use tweestap_core::metrics::Metrics;
use tweestap_core::ports::{
    Clock, OutgoingSms, QueueWaker, QueuedSms, SmsError, SmsGateway, SmsOutbox, SmsState,
    StoreError,
};

/// How the worker treats the gateway list.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// How often the whole list is tried before a message fails.
    pub max_rounds: u32,
    /// How long a claimed message belongs to this worker; longer than any gateway timeout.
    pub lease_secs: i64,
    /// First wait between rounds; it doubles each round…
    pub round_backoff_secs: i64,
    /// …up to this.
    pub max_backoff_secs: i64,
    /// How long a gateway that timed out or failed is passed over while another is up.
    pub down_for: Duration,
    /// How often the queue is looked at when nobody wakes the worker (retries, other nodes).
    pub poll: Duration,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        DispatchSettings {
            max_rounds: 100,
            lease_secs: 60,
            round_backoff_secs: 2,
            max_backoff_secs: 30,
            down_for: Duration::from_secs(30),
            poll: Duration::from_millis(500),
        }
    }
}

/// Empties the SMS outbox: each message goes to the first configured gateway; one that fails
/// passes it to the next at once; when all failed, the list is tried again after a growing
/// wait, until the code expires or `max_rounds` is reached. A message a gateway accepted is
/// never handed to that gateway again, also not after a crash in the middle of sending.
pub struct Dispatcher {
    outbox: Arc<dyn SmsOutbox>,
    gateways: Vec<Arc<dyn SmsGateway>>,
    keys: Arc<Keys>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    settings: DispatchSettings,
    notify: Arc<Notify>,
    /// Told each time a message's outcome (sent, retrying, failed) has been recorded: a
    /// sign-in waiting to hear whether its text went out is woken instead of polling.
    progress: Arc<Notify>,
    stopping: std::sync::atomic::AtomicBool,
    /// Until when each gateway counts as down: a message skips a gateway that just failed
    /// (while another is up) instead of waiting for its timeout again.
    down_until: std::sync::Mutex<Vec<Option<std::time::Instant>>>,
}

struct Waker(Arc<Notify>);

impl QueueWaker for Waker {
    fn wake(&self) {
        self.0.notify_one();
    }
}

impl Dispatcher {
    pub fn new(
        outbox: Arc<dyn SmsOutbox>,
        gateways: Vec<Arc<dyn SmsGateway>>,
        keys: Arc<Keys>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        settings: DispatchSettings,
    ) -> Dispatcher {
        let count = gateways.len();
        Dispatcher {
            outbox,
            gateways,
            keys,
            clock,
            metrics,
            settings,
            notify: Arc::new(Notify::new()),
            progress: Arc::new(Notify::new()),
            stopping: std::sync::atomic::AtomicBool::new(false),
            down_until: std::sync::Mutex::new(vec![None; count]),
        }
    }

    /// What the sign-in uses to say "a message is waiting".
    pub fn waker(&self) -> Arc<dyn QueueWaker> {
        Arc::new(Waker(self.notify.clone()))
    }

    /// Notified after every recorded outcome (see the field).
    pub fn progress(&self) -> Arc<Notify> {
        self.progress.clone()
    }

    /// Asks `run` to finish: it claims nothing more and returns once the messages it is
    /// sending have their outcome recorded, so a shutdown interrupts no send.
    pub fn stop(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.notify.notify_one();
    }

    /// Runs until [`Dispatcher::stop`]. Each claimed message is sent concurrently.
    pub async fn run(self: Arc<Self>) {
        while !self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            match self.run_once().await {
                Ok(0) => {
                    tokio::select! {
                        _ = self.notify.notified() => {}
                        _ = tokio::time::sleep(self.settings.poll) => {}
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "the SMS outbox could not be read; retrying");
                    tokio::time::sleep(self.settings.poll).await;
                }
            }
        }
    }

    /// Claims what is due and sends it; returns how many messages were handled.
    pub async fn run_once(self: &Arc<Self>) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let claimed = self
            .outbox
            .sms_claim(now, now.plus_secs(self.settings.lease_secs), 32)
            .await?;
        let count = claimed.len();
        let mut tasks = tokio::task::JoinSet::new();
        for message in claimed {
            let me = self.clone();
            tasks.spawn(async move {
                if let Err(e) = me.process(message).await {
                    tracing::error!(error = %e, "recording an SMS outcome failed");
                }
                me.progress.notify_waiters();
            });
        }
        while tasks.join_next().await.is_some() {}
        Ok(count)
    }

    /// The first gateway at or after `from` that may get this message, preferring gateways
    /// that are not known to be down.
    fn candidate(&self, from: u32, avoid: &[u32]) -> Option<u32> {
        let allowed: Vec<u32> = (from..self.gateways.len() as u32)
            .filter(|i| !avoid.contains(i))
            .collect();
        let now = std::time::Instant::now();
        let down = self.down_until.lock().unwrap_or_else(|e| e.into_inner());
        let up = allowed
            .iter()
            .copied()
            .find(|i| down[*i as usize].is_none_or(|until| until <= now));
        up.or_else(|| allowed.first().copied())
    }

    fn mark_down(&self, index: u32) {
        let mut down = self.down_until.lock().unwrap_or_else(|e| e.into_inner());
        down[index as usize] = Some(std::time::Instant::now() + self.settings.down_for);
    }

    fn mark_up(&self, index: u32) {
        let mut down = self.down_until.lock().unwrap_or_else(|e| e.into_inner());
        down[index as usize] = None;
    }

    async fn process(&self, message: QueuedSms) -> Result<(), StoreError> {
        let now = self.clock.now();
        if now >= message.expires_at {
            Metrics::inc(&self.metrics.sms_expired);
            tracing::warn!(reference = %message.reference, "SMS dropped: its code expired before a gateway took it");
            return self
                .outbox
                .sms_mark_final(
                    message.id,
                    SmsState::Expired,
                    "the code expired before a gateway took the message",
                    now,
                )
                .await;
        }
        let mut avoid = message.avoid.clone();
        if message.interrupted && !avoid.contains(&message.gateway_index) {
            // That gateway may have taken it just before the crash: never give it the same
            // message again, in this round or any later one.
            avoid.push(message.gateway_index);
        }
        let Some(index) = self
            .candidate(message.gateway_index, &avoid)
            .or_else(|| self.candidate(0, &avoid))
        else {
            Metrics::inc(&self.metrics.sms_failed);
            let reason = if self.gateways.is_empty() {
                "no SMS gateway is configured"
            } else {
                "every gateway may already have it (a send was interrupted or went unanswered); not sent again"
            };
            return self
                .outbox
                .sms_mark_final(message.id, SmsState::Failed, reason, now)
                .await;
        };
        let Ok(text) = self
            .keys
            .seal
            .open(&message.sealed_text, message.reference.as_bytes())
        else {
            Metrics::inc(&self.metrics.sms_failed);
            return self
                .outbox
                .sms_mark_final(
                    message.id,
                    SmsState::Failed,
                    "the queued text cannot be decrypted (was the secret key replaced?)",
                    now,
                )
                .await;
        };
        let gateway = &self.gateways[index as usize];
        let sms = OutgoingSms {
            to: message.phone.clone(),
            text: String::from_utf8_lossy(&text).into_owned(),
            reference: message.reference.clone(),
            valid_for_secs: now.secs_until(message.expires_at),
        };
        match gateway.send(&sms).await {
            Ok(accepted) => {
                self.mark_up(index);
                Metrics::inc(&self.metrics.sms_sent);
                tracing::info!(gateway = gateway.name(), reference = %message.reference, to = %message.phone.masked(), "SMS handed to gateway");
                self.outbox
                    .sms_mark_sent(
                        message.id,
                        gateway.name(),
                        accepted.provider_id.as_deref(),
                        self.clock.now(),
                    )
                    .await
            }
            Err(error) => {
                Metrics::inc(&self.metrics.sms_gateway_errors);
                tracing::warn!(gateway = gateway.name(), reference = %message.reference, error = %error, "SMS gateway failed");
                if matches!(error, SmsError::Uncertain(_)) {
                    avoid.push(index);
                }
                if !matches!(error, SmsError::Rejected(_)) {
                    self.mark_down(index);
                }
                self.after_failure(&message, index, &error, &avoid).await
            }
        }
    }

    async fn after_failure(
        &self,
        message: &QueuedSms,
        index: u32,
        error: &SmsError,
        avoid: &[u32],
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let detail = format!("{}: {error}", self.gateways[index as usize].name());
        if let Some(next) = self.candidate(index + 1, avoid) {
            // Fail over to the next gateway straight away.
            self.outbox
                .sms_mark_retry(message.id, next, message.round, now, &detail, avoid)
                .await?;
            self.notify.notify_one();
            return Ok(());
        }
        let round = message.round + 1;
        let Some(first) = self.candidate(0, avoid) else {
            Metrics::inc(&self.metrics.sms_failed);
            let reason =
                format!("every gateway may already have it; not sent again; last: {detail}");
            return self
                .outbox
                .sms_mark_final(message.id, SmsState::Failed, &reason, now)
                .await;
        };
        if round >= self.settings.max_rounds {
            Metrics::inc(&self.metrics.sms_failed);
            let reason = format!("every gateway failed, {round} times; last: {detail}");
            return self
                .outbox
                .sms_mark_final(message.id, SmsState::Failed, &reason, now)
                .await;
        }
        // Keep trying while the code is valid: waits of 2, 4, 8 … seconds, at most 30.
        let wait = self
            .settings
            .round_backoff_secs
            .saturating_mul(1 << (round - 1).min(16))
            .min(self.settings.max_backoff_secs);
        if now.plus_secs(wait) >= message.expires_at {
            Metrics::inc(&self.metrics.sms_expired);
            return self
                .outbox
                .sms_mark_final(
                    message.id,
                    SmsState::Expired,
                    &format!("the code expires before the next try; last: {detail}"),
                    now,
                )
                .await;
        }
        self.outbox
            .sms_mark_retry(
                message.id,
                first,
                round,
                now.plus_secs(wait),
                &detail,
                avoid,
            )
            .await
    }
}
