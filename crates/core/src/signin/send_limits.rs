use crate::domain::Timestamp;
use crate::policy::{CodePolicy, SmsPolicy};
use crate::ports::SendCounts;

use super::SendRefusal;

/// The wait before the next code, after `sent` codes the account has not used yet: the
/// cooldown doubles each time (1, 2, 4 … minutes) up to the configured maximum.
pub fn resend_wait(sent: u64, code: &CodePolicy, sms: &SmsPolicy) -> i64 {
    if sent == 0 {
        return 0;
    }
    let doublings = (sent - 1).min(20) as u32;
    code.resend_cooldown_secs
        .saturating_mul(1i64 << doublings)
        .min(sms.max_resend_wait_secs.max(code.resend_cooldown_secs))
}

/// May another code be sent now? Pure: the counts come from the store, the time from the clock.
pub fn may_send(
    counts: &SendCounts,
    now: Timestamp,
    code: &CodePolicy,
    sms: &SmsPolicy,
) -> Result<(), SendRefusal> {
    if let Some(until) = counts.blocked_until.filter(|until| now < *until) {
        return Err(SendRefusal::Blocked { until });
    }
    if counts.account_failures_in_window >= u64::from(code.max_failures_per_account) {
        let lifts = counts
            .oldest_failure_in_window
            .map(|t| t.plus_secs(code.failure_window_secs))
            .unwrap_or(now.plus_secs(code.failure_window_secs));
        return Err(SendRefusal::AccountLocked {
            retry_after_secs: now.secs_until(lifts).max(1),
        });
    }
    // The wait is against pumping and guessing: only codes nobody used start it. A sign-in
    // right after a successful one (a second device, an application's redirect) gets its code
    // at once.
    if let Some(last) = counts.last_sent_to_account
        && counts.sent_to_account_since_success > 0
    {
        let ready = last.plus_secs(resend_wait(counts.sent_to_account_since_success, code, sms));
        if now < ready {
            return Err(SendRefusal::Cooldown {
                retry_after_secs: now.secs_until(ready),
            });
        }
    }
    let over = |count: u64, limit: u32| count >= u64::from(limit);
    if over(
        counts.sent_to_account_last_hour,
        code.max_sends_per_account_per_hour,
    ) || over(counts.all_to_account_last_hour, code.max_codes_per_hour)
    {
        return Err(SendRefusal::AccountBudget);
    }
    if over(
        counts.sent_to_number_last_hour,
        code.max_sends_per_number_per_hour,
    ) || over(counts.all_to_number_last_hour, code.max_codes_per_hour)
    {
        return Err(SendRefusal::NumberBudget);
    }
    if over(
        counts.sent_from_network_last_hour,
        sms.max_sends_per_network_per_hour,
    ) {
        return Err(SendRefusal::NetworkBudget);
    }
    if over(
        counts.sent_to_country_last_hour,
        sms.max_sends_per_country_per_hour,
    ) {
        return Err(SendRefusal::CountryBudget);
    }
    if over(counts.sent_last_hour, sms.max_sends_per_hour)
        || over(counts.sent_last_day, sms.max_sends_per_day)
    {
        return Err(SendRefusal::GlobalBudget);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(counts: &SendCounts, now: i64) -> Result<(), SendRefusal> {
        may_send(
            counts,
            Timestamp(now),
            &CodePolicy::default(),
            &SmsPolicy::default(),
        )
    }

    #[test]
    fn first_code_is_always_allowed() {
        assert_eq!(check(&SendCounts::default(), 0), Ok(()));
    }

    #[test]
    fn the_wait_doubles_with_every_unused_code_up_to_32_minutes() {
        let (c, s) = (CodePolicy::default(), SmsPolicy::default());
        let waits: Vec<i64> = (1..=8).map(|n| resend_wait(n, &c, &s)).collect();
        assert_eq!(waits, vec![60, 120, 240, 480, 960, 1920, 1920, 1920]);
    }

    #[test]
    fn cooldown_ends_exactly_after_the_wait() {
        let counts = SendCounts {
            last_sent_to_account: Some(Timestamp(1000)),
            sent_to_account_since_success: 2,
            sent_to_account_last_hour: 2,
            ..Default::default()
        };
        assert_eq!(
            check(&counts, 1119),
            Err(SendRefusal::Cooldown {
                retry_after_secs: 1
            })
        );
        assert_eq!(check(&counts, 1120), Ok(()));
    }

    #[test]
    fn a_used_code_starts_no_wait_an_unused_one_does() {
        let used = SendCounts {
            last_sent_to_account: Some(Timestamp(1000)),
            sent_to_account_since_success: 0,
            sent_to_account_last_hour: 1,
            ..Default::default()
        };
        assert_eq!(check(&used, 1001), Ok(()));
        let unused = SendCounts {
            sent_to_account_since_success: 1,
            ..used
        };
        assert_eq!(
            check(&unused, 1001),
            Err(SendRefusal::Cooldown {
                retry_after_secs: 59
            })
        );
    }

    #[test]
    fn every_budget_refuses_at_its_limit() {
        let cases = [
            (
                SendCounts {
                    sent_to_account_last_hour: 5,
                    ..Default::default()
                },
                SendRefusal::AccountBudget,
            ),
            (
                SendCounts {
                    sent_to_number_last_hour: 5,
                    ..Default::default()
                },
                SendRefusal::NumberBudget,
            ),
            (
                SendCounts {
                    all_to_account_last_hour: 20,
                    ..Default::default()
                },
                SendRefusal::AccountBudget,
            ),
            (
                SendCounts {
                    all_to_number_last_hour: 20,
                    ..Default::default()
                },
                SendRefusal::NumberBudget,
            ),
            (
                SendCounts {
                    sent_from_network_last_hour: 200,
                    ..Default::default()
                },
                SendRefusal::NetworkBudget,
            ),
            (
                SendCounts {
                    sent_to_country_last_hour: 500,
                    ..Default::default()
                },
                SendRefusal::CountryBudget,
            ),
            (
                SendCounts {
                    sent_last_hour: 2000,
                    ..Default::default()
                },
                SendRefusal::GlobalBudget,
            ),
            (
                SendCounts {
                    sent_last_day: 20_000,
                    ..Default::default()
                },
                SendRefusal::GlobalBudget,
            ),
        ];
        for (counts, refusal) in cases {
            assert_eq!(check(&counts, 0), Err(refusal));
            // One below the limit passes.
            let mut below = counts;
            for field in [
                &mut below.sent_to_account_last_hour,
                &mut below.sent_to_number_last_hour,
                &mut below.all_to_account_last_hour,
                &mut below.all_to_number_last_hour,
                &mut below.sent_from_network_last_hour,
                &mut below.sent_to_country_last_hour,
                &mut below.sent_last_hour,
                &mut below.sent_last_day,
            ] {
                *field = field.saturating_sub(1);
            }
            assert_eq!(check(&below, 0), Ok(()), "{refusal:?}");
        }
    }

    #[test]
    fn a_reported_account_gets_nothing_until_the_block_ends() {
        let counts = SendCounts {
            blocked_until: Some(Timestamp(500)),
            ..Default::default()
        };
        assert_eq!(
            check(&counts, 499),
            Err(SendRefusal::Blocked {
                until: Timestamp(500)
            })
        );
        assert_eq!(check(&counts, 500), Ok(()));
    }

    #[test]
    fn too_many_wrong_codes_lock_sending_until_the_window_passes() {
        let counts = SendCounts {
            account_failures_in_window: 10,
            oldest_failure_in_window: Some(Timestamp(1000)),
            ..Default::default()
        };
        assert_eq!(
            check(&counts, 2000),
            Err(SendRefusal::AccountLocked {
                retry_after_secs: 2600
            })
        );
    }
}
