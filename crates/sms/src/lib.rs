//! SMS gateway adapters behind `tweestap-core`'s `SmsGateway` port, one module per gateway.
//!
//! - [`outbox`]: the development sink, one JSON line per message in a file.
//! - [`failover`]: an ordered list of gateways, tried in turn.

pub mod failover;
pub mod outbox;

pub use failover::Failover;
pub use outbox::{OutboxGateway, OutboxMessage, read_outbox};
