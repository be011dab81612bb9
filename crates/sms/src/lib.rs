//! SMS delivery: gateway adapters behind `tweestap-core`'s `SmsGateway` port, and the worker
//! that empties the durable outbox through them.
//!
//! - [`outbox`]: the development sink, one JSON line per message in a file.
//! - [`http`]: any HTTP SMS provider, with presets for CM.com, Bird, Spryng, Twilio, Vonage.
//! - [`kannel`]: Kannel's `sendsms` interface, with delivery reports.
//! - [`alert`]: the SMS-pumping alarm (few sent codes used).
//! - [`dispatcher`]: the worker: failover down the gateway list, retries, expiry.

pub mod alert;
pub mod dispatcher;
pub mod http;
pub mod kannel;
pub mod outbox;

pub use alert::ConversionWatch;
pub use dispatcher::{DispatchSettings, Dispatcher};
pub use http::{BodyFormat, HttpGateway, HttpTemplate, Preset};
pub use kannel::KannelGateway;
pub use outbox::{OutboxGateway, OutboxMessage, read_outbox};
