use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::ports::Entropy;

/// A six-digit one-time code. `Debug` hides it: codes must never reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(Zeroizing<String>);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum OtpCodeError {
    #[error("no code was entered")]
    Empty,
    #[error("a code is {len} digits")]
    WrongLength { len: usize },
    #[error("a code has digits only")]
    NotDigits,
}

impl OtpCode {
    pub const LEN: usize = 6;

    /// A uniformly random code. Rejection sampling avoids the bias `random % 10^6` would have.
    pub fn generate(entropy: &dyn Entropy) -> OtpCode {
        const RANGE: u32 = 1_000_000;
        const LIMIT: u32 = u32::MAX - (u32::MAX % RANGE);
        loop {
            let mut buf = [0u8; 4];
            entropy.fill(&mut buf);
            let n = u32::from_le_bytes(buf);
            if n < LIMIT {
                return OtpCode(Zeroizing::new(format!("{:06}", n % RANGE)));
            }
        }
    }

    /// Reads what a user typed or pasted: spaces and dashes ("123 456", "123-456") are ignored.
    pub fn parse(input: &str) -> Result<OtpCode, OtpCodeError> {
        let digits: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if digits.is_empty() {
            return Err(OtpCodeError::Empty);
        }
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(OtpCodeError::NotDigits);
        }
        if digits.len() != Self::LEN {
            return Err(OtpCodeError::WrongLength { len: Self::LEN });
        }
        Ok(OtpCode(Zeroizing::new(digits)))
    }

    /// The digits, for the text message only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpCode(******)")
    }
}

/// The server-side key that turns codes into [`CodeHash`]es. Kept out of the database, so a
/// copy of the database alone does not let anyone test the million possible codes.
#[derive(Clone)]
pub struct CodeKey(Zeroizing<Vec<u8>>);

impl CodeKey {
    pub fn new(bytes: Vec<u8>) -> CodeKey {
        CodeKey(Zeroizing::new(bytes))
    }

    /// Binds the code to the sign-in it was sent for: the same digits in another sign-in give
    /// another hash.
    pub fn hash(&self, flow: &str, code: &OtpCode) -> CodeHash {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(flow.as_bytes());
        mac.update(b"\0");
        mac.update(code.expose().as_bytes());
        CodeHash(mac.finalize().into_bytes().into())
    }
}

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey(***)")
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct CodeHash(pub [u8; 32]);

impl CodeHash {
    /// Constant-time: the time taken must not tell how many bytes matched.
    pub fn matches(&self, other: &CodeHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for CodeHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeHash(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A deterministic byte source for tests: counts upwards.
    struct Counter(Mutex<u64>);
    impl Entropy for Counter {
        fn fill(&self, buf: &mut [u8]) {
            let mut n = self.0.lock().unwrap();
            for b in buf.iter_mut() {
                *n = n
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *b = (*n >> 56) as u8;
            }
        }
    }

    #[test]
    fn generated_codes_are_six_digits_and_roughly_uniform() {
        let e = Counter(Mutex::new(7));
        let mut first_digit = [0u32; 10];
        for _ in 0..20_000 {
            let c = OtpCode::generate(&e);
            assert_eq!(c.expose().len(), 6);
            assert!(c.expose().chars().all(|c| c.is_ascii_digit()));
            first_digit[(c.expose().as_bytes()[0] - b'0') as usize] += 1;
        }
        for count in first_digit {
            assert!((1_600..2_400).contains(&count), "{first_digit:?}");
        }
    }

    #[test]
    fn parses_what_people_type() {
        assert_eq!(OtpCode::parse(" 123 456 ").unwrap().expose(), "123456");
        assert_eq!(OtpCode::parse("123-456").unwrap().expose(), "123456");
        assert_eq!(OtpCode::parse(""), Err(OtpCodeError::Empty));
        assert_eq!(
            OtpCode::parse("12345"),
            Err(OtpCodeError::WrongLength { len: 6 })
        );
        assert_eq!(OtpCode::parse("12345a"), Err(OtpCodeError::NotDigits));
    }

    #[test]
    fn debug_never_shows_the_digits() {
        let c = OtpCode::parse("123456").unwrap();
        assert!(!format!("{c:?}").contains("123456"));
    }

    #[test]
    fn hash_is_bound_to_the_flow_and_the_key() {
        let code = OtpCode::parse("123456").unwrap();
        let k = CodeKey::new(vec![1; 32]);
        assert!(k.hash("flow-a", &code).matches(&k.hash("flow-a", &code)));
        assert!(!k.hash("flow-a", &code).matches(&k.hash("flow-b", &code)));
        let other = CodeKey::new(vec![2; 32]);
        assert!(
            !k.hash("flow-a", &code)
                .matches(&other.hash("flow-a", &code))
        );
    }
}
