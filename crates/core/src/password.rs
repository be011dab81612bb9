//! Argon2id password hashing as pure functions: the salt comes in as an argument; running them
//! off the async runtime is the adapter's job (see `ports::PasswordHashing`).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use thiserror::Error;
use unicode_normalization::UnicodeNormalization;

use crate::policy::PasswordPolicy;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("the password is shorter than {min} characters")]
    TooShort { min: usize },
    #[error("the password is longer than {max} characters")]
    TooLong { max: usize },
    #[error("not an Argon2 hash in PHC format (it should start with $argon2id$)")]
    BadHash,
    #[error("invalid Argon2 parameters: {0}")]
    BadParams(String),
}

pub const MAX_LENGTH: usize = 1024;
/// The most memory an imported hash may ask for per verification (256 MiB).
const MAX_IMPORT_MEMORY_KIB: u32 = 262_144;

/// NFKC, so the same password typed on different keyboards (composed or decomposed accents)
/// verifies; NIST SP 800-63B asks for this. No other change: no trimming, no case folding.
fn normalise(password: &str) -> String {
    password.nfkc().collect()
}

pub fn argon2(policy: &PasswordPolicy) -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(
        policy.argon2_memory_kib,
        policy.argon2_iterations,
        policy.argon2_parallelism,
        None,
    )
    .map_err(|e| PasswordError::BadParams(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks a new password against the length rules (counted in characters, not bytes).
pub fn check_new(password: &str, policy: &PasswordPolicy) -> Result<(), PasswordError> {
    let chars = normalise(password).chars().count();
    if chars < policy.min_length {
        return Err(PasswordError::TooShort {
            min: policy.min_length,
        });
    }
    if chars > MAX_LENGTH {
        return Err(PasswordError::TooLong { max: MAX_LENGTH });
    }
    Ok(())
}

pub fn hash(
    password: &str,
    salt: &[u8; 16],
    policy: &PasswordPolicy,
) -> Result<String, PasswordError> {
    let salt = SaltString::encode_b64(salt).map_err(|e| PasswordError::BadParams(e.to_string()))?;
    let hashed = argon2(policy)?
        .hash_password(normalise(password).as_bytes(), &salt)
        .map_err(|e| PasswordError::BadParams(e.to_string()))?;
    Ok(hashed.to_string())
}

/// Validates a PHC string brought in from elsewhere (a CSV import).
pub fn parse_phc(phc: &str) -> Result<(), PasswordError> {
    let parsed = PasswordHash::new(phc).map_err(|_| PasswordError::BadHash)?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(PasswordError::BadHash);
    }
    let params = Params::try_from(&parsed).map_err(|e| PasswordError::BadParams(e.to_string()))?;
    // A hash with absurd parameters would cost that much memory or time at every sign-in.
    if params.m_cost() > MAX_IMPORT_MEMORY_KIB || params.t_cost() > 10 || params.p_cost() > 8 {
        return Err(PasswordError::BadParams(format!(
            "m={} t={} p={} is too costly (at most m={MAX_IMPORT_MEMORY_KIB} t=10 p=8)",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        )));
    }
    Ok(())
}

/// `(matches, needs_rehash)`. An unparseable hash simply does not match.
pub fn verify(password: &str, phc: &str, policy: &PasswordPolicy) -> (bool, bool) {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return (false, false);
    };
    // The hash carries its own parameters; verify with those, then compare with the policy.
    let ok = Argon2::default()
        .verify_password(normalise(password).as_bytes(), &parsed)
        .is_ok();
    let current = Params::try_from(&parsed).ok();
    let stale = match current {
        Some(p) => {
            parsed.algorithm.as_str() != "argon2id"
                || p.m_cost() != policy.argon2_memory_kib
                || p.t_cost() != policy.argon2_iterations
                || p.p_cost() != policy.argon2_parallelism
        }
        None => true,
    };
    (ok, ok && stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordPolicy {
        PasswordPolicy {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            ..PasswordPolicy::default()
        }
    }

    #[test]
    fn hashes_verify_and_salts_differ() {
        let p = cheap();
        let a = hash("correct horse", &[1; 16], &p).unwrap();
        let b = hash("correct horse", &[2; 16], &p).unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert_eq!(verify("correct horse", &a, &p), (true, false));
        assert_eq!(verify("correct horsE", &a, &p), (false, false));
        parse_phc(&a).unwrap();
    }

    #[test]
    fn composed_and_decomposed_passwords_are_the_same() {
        let p = cheap();
        let h = hash("cr\u{00e8}me br\u{00fb}l\u{00e9}e", &[3; 16], &p).unwrap();
        assert!(verify("cre\u{0300}me bru\u{0302}le\u{0301}e", &h, &p).0);
    }

    #[test]
    fn changed_parameters_ask_for_a_rehash_only_on_success() {
        let old = cheap();
        let h = hash("geheim-wachtwoord", &[4; 16], &old).unwrap();
        let new = PasswordPolicy {
            argon2_iterations: 2,
            ..old.clone()
        };
        assert_eq!(verify("geheim-wachtwoord", &h, &new), (true, true));
        assert_eq!(verify("fout", &h, &new), (false, false));
    }

    #[test]
    fn length_rules_count_characters() {
        let p = PasswordPolicy::default();
        assert_eq!(
            check_new("1234567", &p),
            Err(PasswordError::TooShort { min: 8 })
        );
        assert!(check_new("12345678", &p).is_ok());
        assert!(check_new(&"🙂".repeat(8), &p).is_ok());
        assert!(check_new(&"x".repeat(200), &p).is_ok());
    }

    #[test]
    fn imported_hashes_with_absurd_costs_are_refused() {
        let huge = "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$XfkpxWgOAF2WfHb/A9yJM1q3lcrvZKQnA1uD2bsN3Ko";
        assert!(matches!(parse_phc(huge), Err(PasswordError::BadParams(_))));
    }

    #[test]
    fn foreign_hashes_are_refused() {
        assert_eq!(parse_phc("plaintext"), Err(PasswordError::BadHash));
        assert_eq!(
            parse_phc("$2b$12$abcdefghijklmnopqrstuuB1ZbS8Xw7yQ8q8rC7M1tC1H1K1H1K1H"),
            Err(PasswordError::BadHash)
        );
    }
}
