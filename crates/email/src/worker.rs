//! The worker that empties the e-mail queue: claims what is due (a lease, so a worker that
//! dies mid-send gives its messages back), sends, and records the outcome. A passing failure
//! is tried again after a growing wait; a refusal for good, or a message past its time, ends.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tweestap_core::ports::{
    Clock, EmailOutbox, MailError, MailSender, QueueWaker, QueuedEmail, StoreError,
};

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// How long a claimed message belongs to this worker; longer than any SMTP timeout.
    pub lease_secs: i64,
    /// First wait after a passing failure; it doubles with each try…
    pub retry_secs: i64,
    /// …up to this.
    pub max_retry_secs: i64,
    /// How often the queue is looked at when nobody wakes the worker (retries, other nodes,
    /// messages the command line queued).
    pub poll: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            lease_secs: 120,
            retry_secs: 30,
            max_retry_secs: 3600,
            poll: Duration::from_secs(2),
        }
    }
}

pub struct EmailWorker {
    outbox: Arc<dyn EmailOutbox>,
    mailer: Arc<dyn MailSender>,
    clock: Arc<dyn Clock>,
    settings: WorkerSettings,
    notify: Arc<Notify>,
    stopping: std::sync::atomic::AtomicBool,
}

struct Waker(Arc<Notify>);

impl QueueWaker for Waker {
    fn wake(&self) {
        self.0.notify_one();
    }
}

impl EmailWorker {
    pub fn new(
        outbox: Arc<dyn EmailOutbox>,
        mailer: Arc<dyn MailSender>,
        clock: Arc<dyn Clock>,
        settings: WorkerSettings,
    ) -> EmailWorker {
        EmailWorker {
            outbox,
            mailer,
            clock,
            settings,
            notify: Arc::new(Notify::new()),
            stopping: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// What the notices use to say "a message is waiting".
    pub fn waker(&self) -> Arc<dyn QueueWaker> {
        Arc::new(Waker(self.notify.clone()))
    }

    /// Asks `run` to finish after the messages it is sending.
    pub fn stop(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.notify.notify_one();
    }

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
                    tracing::error!(error = %e, "the e-mail queue could not be read; retrying");
                    tokio::time::sleep(self.settings.poll).await;
                }
            }
        }
    }

    /// Claims what is due and sends it, one after another; returns how many were handled.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let claimed = self
            .outbox
            .email_claim(now, now.plus_secs(self.settings.lease_secs), 16)
            .await?;
        let count = claimed.len();
        for message in claimed {
            self.process(message).await?;
        }
        Ok(count)
    }

    async fn process(&self, message: QueuedEmail) -> Result<(), StoreError> {
        let now = self.clock.now();
        if now >= message.expires_at {
            tracing::warn!(reference = %message.reference, "e-mail dropped: too late to be of use");
            return self
                .outbox
                .email_failed(message.id, "expired before it could be sent")
                .await;
        }
        match self
            .mailer
            .send(&message.to, &message.subject, &message.body)
            .await
        {
            Ok(()) => {
                tracing::info!(reference = %message.reference, "e-mail handed to the SMTP server");
                self.outbox.email_sent(message.id, self.clock.now()).await
            }
            Err(MailError::Permanent(why)) => {
                tracing::warn!(reference = %message.reference, error = %why, "e-mail refused for good");
                self.outbox.email_failed(message.id, &why).await
            }
            Err(MailError::Transient(why)) => {
                let wait = self
                    .settings
                    .retry_secs
                    .saturating_mul(1 << message.attempts.min(16))
                    .min(self.settings.max_retry_secs);
                tracing::warn!(reference = %message.reference, error = %why, retry_in_secs = wait, "e-mail not sent; will try again");
                self.outbox
                    .email_retry(message.id, now.plus_secs(wait), &why)
                    .await
            }
        }
    }
}
