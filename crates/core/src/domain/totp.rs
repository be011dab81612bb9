//! Time-based one-time passwords (RFC 6238) as authenticator apps compute them: HMAC-SHA1,
//! 30-second steps, 6 digits (what Microsoft and Google Authenticator, Aegis, FreeOTP and
//! 1Password all accept from a QR code).

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::Timestamp;

pub const TOTP_PERIOD_SECS: i64 = 30;
pub const TOTP_DIGITS: u32 = 6;
/// Steps accepted either side of now: a phone clock a little off still works (RFC 6238 §5.2).
pub const TOTP_SKEW_STEPS: i64 = 1;

/// A shared secret: 160 random bits (RFC 4226 §4 recommends the hash's length).
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

impl TotpSecret {
    pub fn from_bytes(bytes: &[u8]) -> TotpSecret {
        TotpSecret(Zeroizing::new(bytes.to_vec()))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret as people type it into an app: base32, in groups of four.
    pub fn for_typing(&self) -> String {
        base32(&self.0)
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The code for one time step.
    pub fn code_at_step(&self, step: i64) -> u32 {
        let mut mac = Hmac::<Sha1>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(&step.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        // Dynamic truncation (RFC 4226 §5.3).
        let offset = usize::from(digest[19] & 0x0f);
        let binary = (u32::from(digest[offset]) & 0x7f) << 24
            | u32::from(digest[offset + 1]) << 16
            | u32::from(digest[offset + 2]) << 8
            | u32::from(digest[offset + 3]);
        binary % 10u32.pow(TOTP_DIGITS)
    }

    /// The step a typed code belongs to, if it is right within the allowed skew; steps at or
    /// before `last_used` never count again (a code works once).
    pub fn check(&self, typed: &str, now: Timestamp, last_used: Option<i64>) -> Option<i64> {
        let typed = typed.trim();
        if typed.len() != TOTP_DIGITS as usize || !typed.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = now.0.div_euclid(TOTP_PERIOD_SECS);
        let mut found = None;
        // Every candidate is compared (no early exit), in constant time.
        for step in current - TOTP_SKEW_STEPS..=current + TOTP_SKEW_STEPS {
            let expected = format!(
                "{:0width$}",
                self.code_at_step(step),
                width = TOTP_DIGITS as usize
            );
            let fresh = last_used.is_none_or(|last| step > last);
            if bool::from(expected.as_bytes().ct_eq(typed.as_bytes())) && fresh && found.is_none() {
                found = Some(step);
            }
        }
        found
    }

    /// The `otpauth://` URI an app reads from the QR code (Google's Key Uri Format).
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let enc = crate::oidc::percent_encode;
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_PERIOD_SECS}",
            enc(issuer),
            enc(account),
            base32(&self.0),
            enc(issuer),
        )
    }
}

/// RFC 4648 base32 without padding (what authenticator apps expect).
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 (the 8-digit codes' last 6 digits are the 6-digit codes).
    #[test]
    fn rfc6238_test_vectors() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890");
        for (time, code8) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            let step = time / TOTP_PERIOD_SECS;
            assert_eq!(
                format!("{:06}", secret.code_at_step(step)),
                &code8[2..],
                "t={time}"
            );
            assert_eq!(secret.check(&code8[2..], Timestamp(time), None), Some(step));
        }
    }

    #[test]
    fn skew_is_one_step_and_a_code_works_once() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890");
        let now = Timestamp(1_111_111_111);
        let step = now.0 / 30;
        let code = |s: i64| format!("{:06}", secret.code_at_step(s));
        assert_eq!(secret.check(&code(step - 1), now, None), Some(step - 1));
        assert_eq!(secret.check(&code(step + 1), now, None), Some(step + 1));
        assert_eq!(secret.check(&code(step - 2), now, None), None);
        assert_eq!(secret.check(&code(step + 2), now, None), None);
        assert_eq!(secret.check(&code(step), now, Some(step)), None, "replay");
        assert_eq!(
            secret.check(&code(step - 1), now, Some(step)),
            None,
            "older"
        );
        assert_eq!(
            secret.check(&code(step + 1), now, Some(step)),
            Some(step + 1)
        );
        assert_eq!(secret.check("12345", now, None), None);
        assert_eq!(secret.check("abcdef", now, None), None);
    }

    #[test]
    fn base32_and_the_uri() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        let secret = TotpSecret::from_bytes(b"12345678901234567890");
        assert_eq!(
            secret.otpauth_uri("mbo Rijnland", "j.jansen"),
            "otpauth://totp/mbo%20Rijnland:j.jansen?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=mbo%20Rijnland&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(secret.for_typing().split(' ').count(), 8);
        assert_eq!(format!("{secret:?}"), "TotpSecret(…)");
    }
}
