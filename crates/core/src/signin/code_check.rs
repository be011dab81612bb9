use crate::domain::{CodeHash, Timestamp};
use crate::policy::CodePolicy;
use crate::ports::Challenge;

/// What checking a typed code against a stored challenge found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Accepted,
    Wrong {
        attempts_left: u32,
    },
    Expired,
    /// This code had its allowed tries; a new one must be requested.
    Exhausted,
    AlreadyUsed,
    /// A newer code was sent; only that one counts.
    Superseded,
}

/// Decides on one attempt. `challenge.attempts` must already include this attempt (the store
/// counts it atomically before the comparison, so parallel guesses cannot exceed the limit).
/// A code is valid while `now < expires_at`.
pub fn check_code(
    challenge: &Challenge,
    typed: &CodeHash,
    now: Timestamp,
    policy: &CodePolicy,
) -> CodeCheck {
    if challenge.used_at.is_some() {
        return CodeCheck::AlreadyUsed;
    }
    if challenge.superseded {
        return CodeCheck::Superseded;
    }
    if now >= challenge.expires_at {
        return CodeCheck::Expired;
    }
    if challenge.attempts > policy.max_attempts_per_code {
        return CodeCheck::Exhausted;
    }
    if challenge.code_hash.matches(typed) {
        CodeCheck::Accepted
    } else {
        CodeCheck::Wrong {
            attempts_left: policy.max_attempts_per_code - challenge.attempts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CodeKey, OtpCode, PhoneNumber, UserId};
    use crate::ports::ChallengeId;

    fn challenge(attempts: u32) -> (Challenge, CodeKey) {
        let key = CodeKey::new(vec![9; 32]);
        let code = OtpCode::parse("424242").unwrap();
        let c = Challenge {
            id: ChallengeId(1),
            flow: "flow".into(),
            user_id: UserId(1),
            phone: PhoneNumber::from_stored("+31612345678").unwrap(),
            code_hash: key.hash("flow", &code),
            created_at: Timestamp(1000),
            expires_at: Timestamp(1600),
            attempts,
            used_at: None,
            superseded: false,
        };
        (c, key)
    }

    fn typed(key: &CodeKey, digits: &str) -> CodeHash {
        key.hash("flow", &OtpCode::parse(digits).unwrap())
    }

    #[test]
    fn valid_until_just_before_expiry() {
        let p = CodePolicy::default();
        let (c, k) = challenge(1);
        assert_eq!(
            check_code(&c, &typed(&k, "424242"), Timestamp(1000 + 599), &p),
            CodeCheck::Accepted
        );
        assert_eq!(
            check_code(&c, &typed(&k, "424242"), Timestamp(1000 + 600), &p),
            CodeCheck::Expired
        );
        assert_eq!(
            check_code(&c, &typed(&k, "424242"), Timestamp(1000 + 601), &p),
            CodeCheck::Expired
        );
    }

    #[test]
    fn wrong_codes_count_down_then_the_code_is_exhausted() {
        let p = CodePolicy::default();
        let (c, k) = challenge(1);
        assert_eq!(
            check_code(&c, &typed(&k, "000000"), Timestamp(1001), &p),
            CodeCheck::Wrong { attempts_left: 4 }
        );
        let (c, k) = challenge(5);
        assert_eq!(
            check_code(&c, &typed(&k, "000000"), Timestamp(1001), &p),
            CodeCheck::Wrong { attempts_left: 0 }
        );
        // The sixth attempt fails even with the right code.
        let (c, k) = challenge(6);
        assert_eq!(
            check_code(&c, &typed(&k, "424242"), Timestamp(1001), &p),
            CodeCheck::Exhausted
        );
    }

    #[test]
    fn used_and_superseded_codes_never_pass() {
        let p = CodePolicy::default();
        let (mut c, k) = challenge(1);
        c.used_at = Some(Timestamp(1001));
        assert_eq!(
            check_code(&c, &typed(&k, "424242"), Timestamp(1002), &p),
            CodeCheck::AlreadyUsed
        );
        let (mut c, k) = challenge(1);
        c.superseded = true;
        assert_eq!(
            check_code(&c, &typed(&k, "424242"), Timestamp(1002), &p),
            CodeCheck::Superseded
        );
    }
}
