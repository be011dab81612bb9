use serde::{Deserialize, Serialize};

/// A point in time, as whole seconds since the Unix epoch (UTC).
///
/// Seconds are precise enough for every rule here (code expiry, cooldowns, budgets) and store
/// the same way in every database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn plus_secs(self, secs: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(secs))
    }

    pub fn minus_secs(self, secs: i64) -> Timestamp {
        Timestamp(self.0.saturating_sub(secs))
    }

    /// Seconds from `self` until `later` (negative when `later` is earlier).
    pub fn secs_until(self, later: Timestamp) -> i64 {
        later.0.saturating_sub(self.0)
    }
}
