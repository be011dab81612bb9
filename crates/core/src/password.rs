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
    (ok, ok && stale(&parsed, policy))
}

/// Argon2's working memory (one block per KiB of `argon2_memory_kib`), used by one hashing
/// thread at a time and reused for every hash, so a sign-in does not allocate and fault in
/// 19 MiB of fresh pages. Wiped after each use: nothing derived from a password stays behind.
pub struct Workspace {
    blocks: Vec<argon2::Block>,
}

/// Zeroes the blocks at memset speed (one volatile write per word, `Zeroize`'s way, took about
/// 1.2 ms of every check), then lets the compiler assume the memory is read, so the writes
/// cannot be dropped as dead: zeroize's own documented pattern for bulk data.
fn wipe(blocks: &mut [argon2::Block]) {
    blocks.fill(argon2::Block::default());
    zeroize::optimization_barrier(blocks);
}

impl Workspace {
    pub fn new(policy: &PasswordPolicy) -> Workspace {
        let count = argon2(policy)
            .map(|a| a.params().block_count())
            .unwrap_or_default();
        Workspace {
            blocks: vec![argon2::Block::default(); count],
        }
    }

    /// Runs `f` on `count` blocks of memory: this workspace's own when it is big enough (a
    /// hash with the policy's parameters), else a temporary one (an older or imported hash
    /// that asks for more). Either way the memory is wiped afterwards.
    fn with_blocks<T>(&mut self, count: usize, f: impl FnOnce(&mut [argon2::Block]) -> T) -> T {
        if count <= self.blocks.len() {
            let blocks = &mut self.blocks[..count];
            let result = f(blocks);
            wipe(blocks);
            result
        } else {
            let mut blocks = vec![argon2::Block::default(); count];
            let result = f(&mut blocks);
            wipe(&mut blocks);
            result
        }
    }

    /// Whether every block is zero (nothing of the last hash is left).
    pub fn is_wiped(&self) -> bool {
        self.blocks
            .iter()
            .all(|b| AsRef::<[u64]>::as_ref(b).iter().all(|w| *w == 0))
    }
}

/// [`hash`], in `workspace`'s memory.
pub fn hash_in(
    password: &str,
    salt: &[u8; 16],
    policy: &PasswordPolicy,
    workspace: &mut Workspace,
) -> Result<String, PasswordError> {
    let bad = |e: &dyn std::fmt::Display| PasswordError::BadParams(e.to_string());
    let argon = argon2(policy)?;
    let params = argon.params().clone();
    let salt_string = SaltString::encode_b64(salt).map_err(|e| bad(&e))?;
    let mut out = zeroize::Zeroizing::new(vec![
        0u8;
        params
            .output_len()
            .unwrap_or(Params::DEFAULT_OUTPUT_LEN)
    ]);
    let password = normalise(password);
    workspace
        .with_blocks(params.block_count(), |blocks| {
            argon.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, blocks)
        })
        .map_err(|e| bad(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: argon2::password_hash::ParamsString::try_from(&params).map_err(|e| bad(&e))?,
        salt: Some(salt_string.as_salt()),
        hash: Some(argon2::password_hash::Output::new(&out).map_err(|e| bad(&e))?),
    };
    Ok(phc.to_string())
}

/// [`verify`], in `workspace`'s memory.
pub fn verify_in(
    password: &str,
    phc: &str,
    policy: &PasswordPolicy,
    workspace: &mut Workspace,
) -> (bool, bool) {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return (false, false);
    };
    let ok = matches_in(normalise(password).as_bytes(), &parsed, workspace).unwrap_or(false);
    (ok, ok && stale(&parsed, policy))
}

/// Hashes `password` with the algorithm, version, parameters and salt `parsed` names, and
/// compares with its hash in constant time. `None`: `parsed` is not a usable Argon2 hash.
fn matches_in(
    password: &[u8],
    parsed: &PasswordHash<'_>,
    workspace: &mut Workspace,
) -> Option<bool> {
    use subtle::ConstantTimeEq;
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(parsed).ok()?;
    let expected = parsed.hash?;
    let mut salt = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = zeroize::Zeroizing::new(vec![0u8; expected.len()]);
    workspace
        .with_blocks(params.block_count(), |blocks| {
            argon.hash_password_into_with_memory(password, salt, &mut out, blocks)
        })
        .ok()?;
    Some(bool::from(out.as_slice().ct_eq(expected.as_bytes())))
}

/// A hash made with other parameters (or another algorithm) than the policy's.
fn stale(parsed: &PasswordHash<'_>, policy: &PasswordPolicy) -> bool {
    match Params::try_from(parsed) {
        Ok(p) => {
            parsed.algorithm.as_str() != "argon2id"
                || p.m_cost() != policy.argon2_memory_kib
                || p.t_cost() != policy.argon2_iterations
                || p.p_cost() != policy.argon2_parallelism
        }
        Err(_) => true,
    }
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

    #[test]
    fn the_workspace_gives_the_same_answers_and_is_wiped_after_each() {
        let p = cheap();
        let mut ws = Workspace::new(&p);
        let phc = hash_in("correct horse", &[1; 16], &p, &mut ws).unwrap();
        assert_eq!(phc, hash("correct horse", &[1; 16], &p).unwrap());
        assert!(ws.is_wiped(), "nothing of the hash stays in memory");
        assert_eq!(verify_in("correct horse", &phc, &p, &mut ws), (true, false));
        assert!(ws.is_wiped());
        assert_eq!(
            verify_in("correct horsE", &phc, &p, &mut ws),
            (false, false)
        );
        assert_eq!(verify_in("x", "not a hash", &p, &mut ws), (false, false));
        // Other parameters (more memory than the workspace has, another algorithm) verify too,
        // and ask for a rehash.
        let bigger = PasswordPolicy {
            argon2_memory_kib: 2048,
            ..p.clone()
        };
        let old = hash("correct horse", &[2; 16], &bigger).unwrap();
        assert_eq!(verify_in("correct horse", &old, &p, &mut ws), (true, true));
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"correct horse", &SaltString::encode_b64(&[3; 16]).unwrap())
        .unwrap()
        .to_string();
        assert_eq!(
            verify_in("correct horse", &argon2i, &p, &mut ws),
            verify("correct horse", &argon2i, &p)
        );
        assert_eq!(
            verify_in("correct horse", &argon2i, &p, &mut ws),
            (true, true)
        );
        assert!(ws.is_wiped());
    }
}
