//! Proof Key for Code Exchange (RFC 7636), S256 only: `plain` protects nothing against an
//! attacker who can read the authorization request.

use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

fn unreserved(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A verifier is 43 to 128 unreserved characters (RFC 7636 §4.1).
pub fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len()) && unreserved(verifier)
}

/// An S256 challenge is the unpadded base64url of a SHA-256: 43 characters.
pub fn valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && unreserved(challenge)
}

pub fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    if !valid_verifier(verifier) {
        return false;
    }
    let computed = Base64UrlUnpadded::encode_string(&Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(valid_challenge(challenge));
        assert!(pkce_matches(challenge, verifier));
        assert!(!pkce_matches(challenge, &verifier.replace('d', "e")));
        // "plain": the verifier itself as the challenge.
        assert!(!pkce_matches(verifier, verifier));
        assert!(!pkce_matches(challenge, "short"));
    }
}
