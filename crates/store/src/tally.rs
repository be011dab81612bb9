//! What the running totals of text messages count (`sms_tallies`), the same on every backend.

use tweestap_core::{Timestamp, UserId};

/// What a total counts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope {
    /// Every message of the installation (key `""`).
    All,
    Network,
    Country,
    /// Codes to one account (notices are not codes).
    Account,
    /// Codes to one number.
    Number,
}

impl Scope {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Network => "network",
            Self::Country => "country",
            Self::Account => "account",
            Self::Number => "number",
        }
    }
}

pub(crate) fn account_key(user: UserId) -> String {
    user.0.to_string()
}

/// Where a window starts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Window {
    /// Messages at or after this second.
    AtOrAfter(Timestamp),
    /// Messages strictly after this second.
    After(Timestamp),
}
