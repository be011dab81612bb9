//! E-mail for tweestap. Owns the SMTP adapter ([`SmtpMailer`], behind the core's
//! `MailSender` port) and the worker that empties the durable e-mail queue ([`EmailWorker`]).
//! Knows nothing of what the messages say: the web layer writes them, the core queues them.

mod mailer;
#[cfg(feature = "test-sink")]
pub mod sink;
mod worker;

pub use mailer::{Security, SmtpError, SmtpMailer, SmtpSettings};
pub use worker::{EmailWorker, WorkerSettings};
