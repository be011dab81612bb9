//! Push approval with number matching: the rules, with no I/O. The sign-in page shows a
//! number; the phone app offers three and the user picks the one on the screen, then approves
//! with the device credential, denies, or reports "this wasn't me". (The app, the device
//! credential and the push delivery build on this; see `tweestap-push`.)
//!
//! Why number matching: a plain "approve" button gets approved by tired users under attack
//! (MFA fatigue). Why the caps: twenty sign-in attempts must not become twenty notifications.

use crate::domain::{Timestamp, UserId};
use crate::ports::Entropy;

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApprovalPolicy {
    /// A request is answered within this long, or not at all.
    pub ttl_secs: i64,
    /// Requests per account per hour.
    pub max_per_hour: u32,
    /// After this many denials in a row, push pauses for the account…
    pub pause_after_denials: u32,
    /// …for this long (the user is offered another method meanwhile).
    pub pause_secs: i64,
    /// After "this wasn't me", push and SMS stop for the account this long (unless an
    /// administrator clears the flag first).
    pub report_block_secs: i64,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        ApprovalPolicy {
            ttl_secs: 120,
            max_per_hour: 5,
            pause_after_denials: 3,
            pause_secs: 3600,
            report_block_secs: 86_400,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Denied,
    /// The wrong number was picked (a failed attempt).
    WrongNumber,
    /// "This wasn't me": push and SMS stop for the account, the helpdesk is told.
    Reported,
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Denied => "denied",
            ApprovalStatus::WrongNumber => "wrong_number",
            ApprovalStatus::Reported => "reported",
        }
    }

    pub fn parse(s: &str) -> Option<ApprovalStatus> {
        [
            ApprovalStatus::Pending,
            ApprovalStatus::Approved,
            ApprovalStatus::Denied,
            ApprovalStatus::WrongNumber,
            ApprovalStatus::Reported,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

#[derive(Debug, Clone)]
pub struct Approval {
    pub id: String,
    pub user_id: UserId,
    /// The number on the sign-in screen (10 to 99).
    pub number: u8,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub status: ApprovalStatus,
}

/// What the phone sent back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Approve { number: u8 },
    Deny,
    Report,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerOutcome {
    Approved,
    /// The wrong number was picked: a failed attempt, and the request is closed (a second
    /// guess would make number matching a one-in-three lottery).
    WrongNumber,
    Denied,
    Reported,
    Expired,
    /// Answered before: a request is answered once.
    AlreadyAnswered,
}

impl AnswerOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerOutcome::Approved => "approved",
            AnswerOutcome::WrongNumber => "wrong_number",
            AnswerOutcome::Denied => "denied",
            AnswerOutcome::Reported => "reported",
            AnswerOutcome::Expired => "expired",
            AnswerOutcome::AlreadyAnswered => "already_answered",
        }
    }

    /// What the request becomes (`None`: it stays as it was).
    pub fn status(self) -> Option<ApprovalStatus> {
        match self {
            AnswerOutcome::Approved => Some(ApprovalStatus::Approved),
            AnswerOutcome::WrongNumber => Some(ApprovalStatus::WrongNumber),
            AnswerOutcome::Denied => Some(ApprovalStatus::Denied),
            AnswerOutcome::Reported => Some(ApprovalStatus::Reported),
            AnswerOutcome::Expired | AnswerOutcome::AlreadyAnswered => None,
        }
    }
}

/// Decides on an answer. The store records it only if the request is still pending at that
/// moment (a conditional update), so two answers cannot both count.
pub fn answer(approval: &Approval, answer: Answer, now: Timestamp) -> AnswerOutcome {
    if approval.status != ApprovalStatus::Pending {
        return AnswerOutcome::AlreadyAnswered;
    }
    // "This wasn't me" is always heard, even late: it is the owner's alarm.
    if answer == Answer::Report {
        return AnswerOutcome::Reported;
    }
    if now >= approval.expires_at {
        return AnswerOutcome::Expired;
    }
    match answer {
        Answer::Approve { number } if number == approval.number => AnswerOutcome::Approved,
        Answer::Approve { .. } => AnswerOutcome::WrongNumber,
        Answer::Deny => AnswerOutcome::Denied,
        Answer::Report => AnswerOutcome::Reported,
    }
}

/// An account's recent requests, as the store counts them.
#[derive(Debug, Clone, Default)]
pub struct ApprovalHistory {
    /// A request is still pending (not answered, not expired).
    pub pending: bool,
    pub started_last_hour: u32,
    /// Denials and wrong numbers since the last approval.
    pub failures_in_a_row: u32,
    pub last_failure_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartRefusal {
    /// One at a time: the open request must be answered or expire first.
    Pending,
    HourlyCap,
    Paused {
        retry_after_secs: i64,
    },
}

pub fn may_start(
    history: &ApprovalHistory,
    now: Timestamp,
    policy: &ApprovalPolicy,
) -> Result<(), StartRefusal> {
    if history.pending {
        return Err(StartRefusal::Pending);
    }
    if history.failures_in_a_row >= policy.pause_after_denials
        && let Some(last) = history.last_failure_at
    {
        let until = last.plus_secs(policy.pause_secs);
        if now < until {
            return Err(StartRefusal::Paused {
                retry_after_secs: now.secs_until(until),
            });
        }
    }
    if history.started_last_hour >= policy.max_per_hour {
        return Err(StartRefusal::HourlyCap);
    }
    Ok(())
}

/// The number for the screen, and the three the phone offers (distinct, 10 to 99, the right
/// one at a random place).
pub fn numbers(entropy: &dyn Entropy) -> (u8, [u8; 3]) {
    let pick = || {
        let mut b = [0u8; 1];
        // Rejection sampling: 90 values, no modulo bias.
        loop {
            entropy.fill(&mut b);
            if b[0] < 180 {
                return 10 + b[0] % 90;
            }
        }
    };
    let right = pick();
    let mut offered = [right; 3];
    for i in 1..3 {
        let mut n = pick();
        while offered[..i].contains(&n) {
            n = pick();
        }
        offered[i] = n;
    }
    let mut b = [0u8; 1];
    entropy.fill(&mut b);
    offered.swap(0, usize::from(b[0] % 3));
    (right, offered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(number: u8) -> Approval {
        Approval {
            id: "a".into(),
            user_id: UserId(1),
            number,
            created_at: Timestamp(1000),
            expires_at: Timestamp(1120),
            status: ApprovalStatus::Pending,
        }
    }

    #[test]
    fn the_right_number_in_time_approves_once() {
        let a = pending(37);
        assert_eq!(
            answer(&a, Answer::Approve { number: 37 }, Timestamp(1119)),
            AnswerOutcome::Approved
        );
        assert_eq!(
            answer(&a, Answer::Approve { number: 73 }, Timestamp(1100)),
            AnswerOutcome::WrongNumber
        );
        assert_eq!(
            answer(&a, Answer::Approve { number: 37 }, Timestamp(1120)),
            AnswerOutcome::Expired
        );
        assert_eq!(
            answer(&a, Answer::Deny, Timestamp(1100)),
            AnswerOutcome::Denied
        );
        assert_eq!(
            answer(&a, Answer::Report, Timestamp(5000)),
            AnswerOutcome::Reported,
            "a report counts even late"
        );
        let answered = Approval {
            status: ApprovalStatus::Approved,
            ..pending(37)
        };
        assert_eq!(
            answer(&answered, Answer::Approve { number: 37 }, Timestamp(1100)),
            AnswerOutcome::AlreadyAnswered
        );
    }

    #[test]
    fn one_at_a_time_a_cap_per_hour_and_a_pause_after_denials() {
        let policy = ApprovalPolicy::default();
        let now = Timestamp(10_000);
        assert_eq!(may_start(&ApprovalHistory::default(), now, &policy), Ok(()));
        let pending = ApprovalHistory {
            pending: true,
            ..Default::default()
        };
        assert_eq!(
            may_start(&pending, now, &policy),
            Err(StartRefusal::Pending)
        );
        let busy = ApprovalHistory {
            started_last_hour: 5,
            ..Default::default()
        };
        assert_eq!(may_start(&busy, now, &policy), Err(StartRefusal::HourlyCap));
        let denied = ApprovalHistory {
            failures_in_a_row: 3,
            last_failure_at: Some(Timestamp(9_000)),
            ..Default::default()
        };
        assert_eq!(
            may_start(&denied, now, &policy),
            Err(StartRefusal::Paused {
                retry_after_secs: 2_600
            })
        );
        assert_eq!(may_start(&denied, Timestamp(12_600), &policy), Ok(()));
    }

    struct Counter(std::sync::atomic::AtomicU8);
    impl Entropy for Counter {
        fn fill(&self, buf: &mut [u8]) {
            for b in buf {
                *b = self.0.fetch_add(97, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    #[test]
    fn three_distinct_two_digit_numbers_with_the_right_one_among_them() {
        let entropy = Counter(std::sync::atomic::AtomicU8::new(0));
        for _ in 0..200 {
            let (right, offered) = numbers(&entropy);
            assert!((10..=99).contains(&right));
            assert!(offered.contains(&right));
            assert!(offered.iter().all(|n| (10..=99).contains(n)));
            assert!(
                offered[0] != offered[1] && offered[1] != offered[2] && offered[0] != offered[2]
            );
        }
    }
}
