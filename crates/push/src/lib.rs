//! Web Push for sign-in approvals: a message to a browser's push subscription, encrypted so
//! the push service cannot read it (RFC 8291, `aes128gcm`), and signed with the server's
//! VAPID key so the push service knows who sends (RFC 8292). The payload carries only a
//! request id and display text; the approval itself goes back over an authenticated request.

mod encrypt;
mod send;

pub use encrypt::{EncryptError, encrypt};
pub use send::{PushError, PushOutcome, PushSender, Subscription, Urgency, vapid_header};
