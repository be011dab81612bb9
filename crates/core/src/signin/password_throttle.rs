//! Password guessing, kept expensive without handing strangers a way to lock people out.
//!
//! A hard lock after ten wrong passwords lets anyone keep a teacher out all day by typing
//! their username. Instead, after the free tries each further try waits, doubling up to an
//! hour. The waits are counted per name and client network (a stranger elsewhere does not
//! slow the owner's network down) and per name overall at a much higher threshold (so many
//! networks together still get only so many guesses); and a browser where the account signed
//! in before (it holds a signed, per-user device cookie) has a budget of its own that
//! attackers elsewhere cannot spend.

use crate::domain::Timestamp;
use crate::policy::ThrottlePolicy;

use super::{RequestContext, SignInError, SignInService};

/// How long (seconds) the next password for a bucket with `failures` recent wrong ones, the
/// newest at `last`, must wait; 0 when it may be tried now. `free`: the tries before waits.
pub fn password_wait(
    failures: u64,
    last: Option<Timestamp>,
    now: Timestamp,
    free: u32,
    policy: &ThrottlePolicy,
) -> i64 {
    let free = u64::from(free);
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

/// How long a counted attempt may still be on its way through the hashing line: the longest
/// wait in line, and a few seconds for the hash and the database around it.
fn in_flight_secs(policy: &crate::policy::PasswordPolicy) -> i64 {
    (policy.max_wait_ms / 1000) as i64 + 5
}

/// A device-cookie entry: 16 hex of nonce, then 32 hex of signature over user and nonce.
const NONCE_HEX: usize = 16;
const ENTRY_HEX: usize = NONCE_HEX + 32;
/// A shared computer remembers this many accounts; older ones fall off.
pub const KNOWN_DEVICE_ENTRIES: usize = 5;

/// Where one password attempt was counted (each key with the moment it was counted at):
/// given back when it turns out right, or when it was refused before being checked.
pub(super) struct PasswordBudget {
    /// The client address's count (not for a known device).
    ip: Option<(String, Timestamp)>,
    /// The ladders this attempt climbed: per device, or per name and network and per name.
    ladders: Vec<(String, Timestamp)>,
}

/// The throttle keys of a typed name: the prefix of its per-network ladders, and its overall
/// ladder. Keyed hashes: fixed in size, and no typed name (or password typed as one) is kept.
fn name_keys(keys: &crate::domain::Keys, typed_name: &str) -> (String, String) {
    let name = keys.throttle.sign(typed_name);
    (format!("pwd:net:{name}:"), format!("pwd:name:{name}"))
}

/// Ends the waits that guesses built up for a name (every network's, and the overall one).
pub async fn clear_name_waits(
    store: &dyn crate::ports::Store,
    keys: &crate::domain::Keys,
    name: &str,
) -> Result<(), crate::ports::StoreError> {
    let (per_network, overall) = name_keys(keys, name);
    store.failure_clear_prefix(&per_network).await?;
    store.failure_clear(&overall).await
}

impl SignInService {
    /// Counts one password attempt in its budgets, each atomically, before the password is
    /// checked. A browser known to the account (its device cookie, bound to the current
    /// password) has a budget of its own. Any other browser counts against the name from its
    /// network, the name overall (a higher threshold: a stranger elsewhere slows a name down
    /// only after many more tries), and its address. `Err` carries the seconds to wait;
    /// nothing stays counted then (and a waiting ladder costs no write at all).
    pub(super) async fn take_password_budget(
        &self,
        typed_name: &str,
        phc: Option<&str>,
        ctx: &RequestContext,
    ) -> Result<Result<PasswordBudget, i64>, SignInError> {
        let policy = &self.policy.throttle;
        let mut budget = PasswordBudget {
            ip: None,
            ladders: Vec::new(),
        };
        if let Some(nonce) =
            phc.and_then(|phc| self.known_device(&ctx.known_devices, typed_name, phc))
        {
            let key = format!("pwd:device:{}", self.keys.throttle.sign(&nonce));
            let free = policy.password_failures_per_username;
            return Ok(match self.take_password_try(&key, free).await? {
                Ok(at) => {
                    budget.ladders.push((key, at));
                    Ok(budget)
                }
                Err(wait) => Err(wait),
            });
        }
        let network = ctx.network();
        let (per_network, overall) = name_keys(&self.keys, typed_name);
        for (key, free) in [
            (
                format!("{per_network}{}", self.keys.throttle.sign(&network)),
                policy.password_failures_per_username,
            ),
            (overall, policy.password_failures_per_username_total),
        ] {
            match self.take_password_try(&key, free).await? {
                Ok(at) => budget.ladders.push((key, at)),
                Err(wait) => {
                    self.give_back_partly(&budget).await?;
                    return Ok(Err(wait));
                }
            }
        }
        let ip = format!("pwd:ip:{network}");
        let now = self.clock.now();
        let since = now.minus_secs(policy.window_secs);
        if !self
            .store
            .failure_reserve(&ip, now, since, policy.password_failures_per_ip)
            .await?
        {
            self.give_back_partly(&budget).await?;
            // A school's whole morning arrives from one address: attempts counted in the last
            // moments may still be in line for the hashing threads, and most will turn out
            // right and be given back. While the settled ones alone stay under the limit, the
            // address is told to try again in a moment (nothing is checked meanwhile), not to
            // wait until tomorrow.
            let recent = now.minus_secs(in_flight_secs(&self.policy.password));
            let settled = self
                .store
                .failure_count_since(&ip, since)
                .await?
                .saturating_sub(self.store.failure_count_since(&ip, recent).await?);
            if settled < u64::from(policy.password_failures_per_ip) {
                return Err(SignInError::Busy {
                    retry_after_secs: super::service::BUSY_RETRY_SECS,
                });
            }
            let oldest = self.store.failure_oldest_since(&ip, since).await?;
            let until = oldest.unwrap_or(now).plus_secs(policy.window_secs);
            return Ok(Err(now.secs_until(until)));
        }
        budget.ip = Some((ip, now));
        Ok(Ok(budget))
    }

    /// The password was right: the ladders start again, the address's count is given back.
    pub(super) async fn give_back(&self, budget: &PasswordBudget) -> Result<(), SignInError> {
        for (key, _) in &budget.ladders {
            self.store.failure_clear(key).await?;
        }
        if let Some((ip, at)) = &budget.ip {
            self.store.failure_unreserve(ip, *at).await?;
        }
        Ok(())
    }

    /// An attempt refused before its password was checked: it counts nowhere.
    pub(super) async fn give_back_partly(
        &self,
        budget: &PasswordBudget,
    ) -> Result<(), SignInError> {
        for (key, at) in budget.ladders.iter().chain(&budget.ip) {
            self.store.failure_unreserve(key, *at).await?;
        }
        Ok(())
    }

    /// One step on a ladder, taken atomically (a compare-and-set on the bucket's count), so
    /// parallel guesses cannot all slip through one opening. `free`: tries before waits.
    /// `Ok`: the moment it was counted at; `Err`: the seconds to wait.
    async fn take_password_try(
        &self,
        key: &str,
        free: u32,
    ) -> Result<Result<Timestamp, i64>, SignInError> {
        let policy = &self.policy.throttle;
        for _ in 0..8 {
            let now = self.clock.now();
            let since = now.minus_secs(policy.password_window_secs);
            let failures = self.store.failure_count_since(key, since).await?;
            let last = self.store.failure_latest_since(key, since).await?;
            let wait = password_wait(failures, last, now, free, policy);
            if wait > 0 {
                return Ok(Err(wait));
            }
            let limit = u32::try_from(failures + 1).unwrap_or(u32::MAX);
            if self.store.failure_reserve(key, now, since, limit).await? {
                return Ok(Ok(now));
            }
            // Another attempt took this opening first: look again.
        }
        Ok(Err(1))
    }

    /// The nonce of the device-cookie entry that this browser holds for `username` under its
    /// current password (`phc`), if any.
    fn known_device(&self, entries: &[String], username: &str, phc: &str) -> Option<String> {
        entries.iter().find_map(|entry| {
            if entry.len() != ENTRY_HEX || !entry.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let (nonce, signature) = entry.split_at(NONCE_HEX);
            self.keys
                .device
                .verify(&device_message(username, nonce, phc), signature)
                .then(|| nonce.to_string())
        })
    }

    /// The device cookie after a finished sign-in of `user`: a fresh entry for this account
    /// first, then the browser's entries for other accounts (a shared computer), at most
    /// [`KNOWN_DEVICE_ENTRIES`]. Bound to the current password: a new password ends it.
    pub fn known_device_cookie(
        &self,
        entries: &[String],
        user: &crate::domain::User,
    ) -> Option<String> {
        let username = user.username.as_str();
        let phc = user.password_hash.as_deref()?;
        let nonce = crate::ports::random_hex(self.entropy.as_ref(), NONCE_HEX / 2);
        let signature = self
            .keys
            .device
            .sign(&device_message(username, &nonce, phc));
        let mine = format!("{nonce}{signature}");
        let others = entries
            .iter()
            .filter(|e| {
                self.known_device(std::slice::from_ref(e), username, phc)
                    .is_none()
            })
            .filter(|e| e.len() == ENTRY_HEX && e.bytes().all(|b| b.is_ascii_hexdigit()))
            .cloned();
        Some(
            std::iter::once(mine)
                .chain(others)
                .take(KNOWN_DEVICE_ENTRIES)
                .collect::<Vec<_>>()
                .join("."),
        )
    }
}

/// What a device entry signs: the account, the entry's nonce, and the password it signed in
/// with (inside the MAC only), so a new password ends every entry.
fn device_message(username: &str, nonce: &str, phc: &str) -> String {
    format!("{username}\u{0}{nonce}\u{0}{phc}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_grows_only_after_the_free_tries_and_is_capped() {
        let p = ThrottlePolicy::default();
        let now = Timestamp(10_000);
        let last = Some(now);
        let wait = |n: u64, last: Option<Timestamp>| password_wait(n, last, now, 10, &p);
        assert_eq!(wait(0, None), 0);
        assert_eq!(wait(9, last), 0);
        let waits: Vec<i64> = (10..=19).map(|n| wait(n, last)).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        // Counted from the newest wrong password, to the second.
        assert_eq!(wait(10, Some(Timestamp(9_971))), 1);
        assert_eq!(wait(10, Some(Timestamp(9_970))), 0);
        assert_eq!(wait(1_000, last), 3600);
        // The overall count of a name starts waiting only after its own, higher, threshold.
        assert_eq!(password_wait(99, last, now, 100, &p), 0);
        assert_eq!(password_wait(100, last, now, 100, &p), 30);
    }
}
