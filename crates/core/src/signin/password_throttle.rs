//! Password guessing, kept expensive without handing strangers a way to lock people out.
//!
//! A hard lock after ten wrong passwords lets anyone keep a teacher out all day by typing
//! their username. Instead, after the free tries each further try waits, doubling up to an
//! hour; and a browser where the account signed in before (it holds a signed, per-user device
//! cookie) has a budget of its own that attackers elsewhere cannot spend.

use crate::domain::Timestamp;
use crate::policy::ThrottlePolicy;

use super::{SignInError, SignInService};

/// How long (seconds) the next password for a bucket with `failures` recent wrong ones, the
/// newest at `last`, must wait; 0 when it may be tried now.
pub fn password_wait(
    failures: u64,
    last: Option<Timestamp>,
    now: Timestamp,
    policy: &ThrottlePolicy,
) -> i64 {
    let free = u64::from(policy.password_failures_per_username);
    let Some(last) = last.filter(|_| failures >= free) else {
        return 0;
    };
    let doublings = (failures - free).min(30) as u32;
    let delay = policy
        .password_delay_secs
        .saturating_mul(1i64 << doublings)
        .min(policy.password_max_delay_secs);
    now.secs_until(last.plus_secs(delay)).max(0)
}

/// A device-cookie entry: 16 hex of nonce, then 32 hex of signature over user and nonce.
const NONCE_HEX: usize = 16;
const ENTRY_HEX: usize = NONCE_HEX + 32;
/// A shared computer remembers this many accounts; older ones fall off.
pub const KNOWN_DEVICE_ENTRIES: usize = 5;

impl SignInService {
    /// The budget a password attempt is counted in: taken atomically (a compare-and-set on the
    /// bucket's count), so parallel guesses cannot all slip through one opening. `Err` carries
    /// the seconds to wait.
    pub(super) async fn take_password_try(
        &self,
        key: &str,
    ) -> Result<Result<(), i64>, SignInError> {
        let policy = &self.policy.throttle;
        for _ in 0..8 {
            let now = self.clock.now();
            let since = now.minus_secs(policy.password_window_secs);
            let failures = self.store.failure_count_since(key, since).await?;
            let last = self.store.failure_latest_since(key, since).await?;
            let wait = password_wait(failures, last, now, policy);
            if wait > 0 {
                return Ok(Err(wait));
            }
            let limit = u32::try_from(failures + 1).unwrap_or(u32::MAX);
            if self.store.failure_reserve(key, now, since, limit).await? {
                return Ok(Ok(()));
            }
            // Another attempt took this opening first: look again.
        }
        Ok(Err(1))
    }

    /// The nonce of the device-cookie entry that this browser holds for `username`, if any.
    pub(super) fn known_device(&self, entries: &[String], username: &str) -> Option<String> {
        entries.iter().find_map(|entry| {
            if entry.len() != ENTRY_HEX || !entry.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let (nonce, signature) = entry.split_at(NONCE_HEX);
            self.keys
                .device
                .verify(&device_message(username, nonce), signature)
                .then(|| nonce.to_string())
        })
    }

    /// The device cookie after a right password for `username`: a fresh entry for this account
    /// first, then the browser's entries for other accounts (a shared computer), at most
    /// [`KNOWN_DEVICE_ENTRIES`].
    pub fn known_device_cookie(&self, entries: &[String], username: &str) -> String {
        let nonce = crate::ports::random_hex(self.entropy.as_ref(), NONCE_HEX / 2);
        let signature = self.keys.device.sign(&device_message(username, &nonce));
        let mine = format!("{nonce}{signature}");
        let others = entries
            .iter()
            .filter(|e| {
                self.known_device(std::slice::from_ref(e), username)
                    .is_none()
            })
            .filter(|e| e.len() == ENTRY_HEX && e.bytes().all(|b| b.is_ascii_hexdigit()))
            .cloned();
        std::iter::once(mine)
            .chain(others)
            .take(KNOWN_DEVICE_ENTRIES)
            .collect::<Vec<_>>()
            .join(".")
    }
}

fn device_message(username: &str, nonce: &str) -> String {
    format!("{username}\u{0}{nonce}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_grows_only_after_the_free_tries_and_is_capped() {
        let p = ThrottlePolicy::default();
        let now = Timestamp(10_000);
        let last = Some(now);
        assert_eq!(password_wait(0, None, now, &p), 0);
        assert_eq!(password_wait(9, last, now, &p), 0);
        let waits: Vec<i64> = (10..=19).map(|n| password_wait(n, last, now, &p)).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        // Counted from the newest wrong password, to the second.
        assert_eq!(password_wait(10, Some(Timestamp(9_971)), now, &p), 1);
        assert_eq!(password_wait(10, Some(Timestamp(9_970)), now, &p), 0);
        assert_eq!(password_wait(1_000, last, now, &p), 3600);
    }
}
