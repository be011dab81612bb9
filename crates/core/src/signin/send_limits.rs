use crate::domain::Timestamp;
use crate::policy::CodePolicy;

use super::SendRefusal;

/// What the store counted about recent sends and failures, for one decision.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendCounts {
    pub last_sent_to_account: Option<Timestamp>,
    pub sent_to_account_last_hour: u64,
    pub sent_to_number_last_hour: u64,
    pub account_failures_in_window: u64,
    /// The oldest failure still in the window, to say when the lock lifts.
    pub oldest_failure_in_window: Option<Timestamp>,
}

/// May another code be sent now? Pure: the counts come from the store, the time from the clock.
pub fn may_send(
    counts: &SendCounts,
    now: Timestamp,
    policy: &CodePolicy,
) -> Result<(), SendRefusal> {
    if counts.account_failures_in_window >= u64::from(policy.max_failures_per_account) {
        let lifts = counts
            .oldest_failure_in_window
            .map(|t| t.plus_secs(policy.failure_window_secs))
            .unwrap_or(now.plus_secs(policy.failure_window_secs));
        return Err(SendRefusal::AccountLocked {
            retry_after_secs: now.secs_until(lifts).max(1),
        });
    }
    if let Some(last) = counts.last_sent_to_account {
        let ready = last.plus_secs(policy.resend_cooldown_secs);
        if now < ready {
            return Err(SendRefusal::Cooldown {
                retry_after_secs: now.secs_until(ready),
            });
        }
    }
    if counts.sent_to_account_last_hour >= u64::from(policy.max_sends_per_account_per_hour) {
        return Err(SendRefusal::AccountBudget);
    }
    if counts.sent_to_number_last_hour >= u64::from(policy.max_sends_per_number_per_hour) {
        return Err(SendRefusal::NumberBudget);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_code_is_always_allowed() {
        assert_eq!(
            may_send(&SendCounts::default(), Timestamp(0), &CodePolicy::default()),
            Ok(())
        );
    }

    #[test]
    fn cooldown_ends_exactly_after_the_configured_wait() {
        let p = CodePolicy::default();
        let counts = SendCounts {
            last_sent_to_account: Some(Timestamp(1000)),
            sent_to_account_last_hour: 1,
            ..Default::default()
        };
        assert_eq!(
            may_send(&counts, Timestamp(1059), &p),
            Err(SendRefusal::Cooldown {
                retry_after_secs: 1
            })
        );
        assert_eq!(may_send(&counts, Timestamp(1060), &p), Ok(()));
    }

    #[test]
    fn hourly_budgets_per_account_and_per_number() {
        let p = CodePolicy::default();
        let account = SendCounts {
            sent_to_account_last_hour: 5,
            ..Default::default()
        };
        assert_eq!(
            may_send(&account, Timestamp(0), &p),
            Err(SendRefusal::AccountBudget)
        );
        let number = SendCounts {
            sent_to_number_last_hour: 5,
            ..Default::default()
        };
        assert_eq!(
            may_send(&number, Timestamp(0), &p),
            Err(SendRefusal::NumberBudget)
        );
    }

    #[test]
    fn too_many_wrong_codes_lock_sending_until_the_window_passes() {
        let p = CodePolicy::default();
        let counts = SendCounts {
            account_failures_in_window: 10,
            oldest_failure_in_window: Some(Timestamp(1000)),
            ..Default::default()
        };
        assert_eq!(
            may_send(&counts, Timestamp(2000), &p),
            Err(SendRefusal::AccountLocked {
                retry_after_secs: 2600
            })
        );
    }
}
