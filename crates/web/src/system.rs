//! The clock and randomness of the real world, and a clock tests can move.

use std::sync::atomic::{AtomicI64, Ordering};

use tweestap_core::Timestamp;
use tweestap_core::ports::{Clock, Entropy};

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Timestamp(secs)
    }
}

/// A clock that only moves when told to: tests check expiry at the exact second, no sleeping.
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: i64) -> ManualClock {
        ManualClock(AtomicI64::new(start))
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

/// The operating system's CSPRNG.
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) {
        // Without randomness nothing here is safe: failing loudly is the only option.
        getrandom::fill(buf).expect("the operating system's random number generator failed");
    }
}
