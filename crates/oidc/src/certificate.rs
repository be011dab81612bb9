//! A self-signed X.509 certificate for an RSA signing key, for the JWK's `x5c`: Microsoft
//! Entra accepts a provider's keys only with one (the external MFA method contract). Nothing
//! checks a chain; the certificate only wraps the public key, so a few DER structures written
//! here are enough, without an X.509 library in the build.

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::KeyError;

/// 1.2.840.113549.1.1.11, sha256WithRSAEncryption.
const SHA256_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
/// 1.2.840.113549.1.1.1, rsaEncryption.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// 2.5.4.3, commonName.
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// A positive INTEGER from big-endian unsigned bytes.
fn unsigned_integer(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        vec![0]
    } else {
        Vec::new()
    };
    content.extend_from_slice(&trimmed);
    tlv(0x02, &content)
}

fn algorithm(oid: &[u8]) -> Vec<u8> {
    sequence(&[&tlv(0x06, oid), &[0x05, 0x00]])
}

fn name(common_name: &str) -> Vec<u8> {
    let attribute = sequence(&[&tlv(0x06, COMMON_NAME), &tlv(0x0c, common_name.as_bytes())]);
    sequence(&[&tlv(0x31, &attribute)])
}

/// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime after.
fn time(unix: i64) -> Result<Vec<u8>, KeyError> {
    let at = time::OffsetDateTime::from_unix_timestamp(unix).map_err(|_| KeyError::Generate)?;
    let (year, month, day) = (at.year(), u8::from(at.month()), at.day());
    let (h, m, s) = (at.hour(), at.minute(), at.second());
    Ok(if (1950..2050).contains(&year) {
        let text = format!("{:02}{month:02}{day:02}{h:02}{m:02}{s:02}Z", year % 100);
        tlv(0x17, text.as_bytes())
    } else {
        let text = format!("{year:04}{month:02}{day:02}{h:02}{m:02}{s:02}Z");
        tlv(0x18, text.as_bytes())
    })
}

/// "No well-defined expiration date" (RFC 5280 §4.1.2.5): the key's life is the key ring's
/// business (rotation), not the certificate's.
const NO_EXPIRY: &[u8] = b"99991231235959Z";

/// The DER certificate for `pair`, valid from `not_before` (Unix seconds), serial from the kid.
pub fn self_signed(pair: &RsaKeyPair, kid: &str, not_before: i64) -> Result<Vec<u8>, KeyError> {
    let spki = sequence(&[
        &algorithm(RSA_ENCRYPTION),
        &tlv(0x03, &[&[0u8][..], pair.public_key().as_ref()].concat()),
    ]);
    let subject = name(&format!("tweestap signing key {kid}"));
    let serial = unsigned_integer(&digest(&SHA256, kid.as_bytes()).as_ref()[..16]);
    let tbs = sequence(&[
        &[0xa0, 0x03, 0x02, 0x01, 0x02], // [0] EXPLICIT version v3
        &serial,
        &algorithm(SHA256_WITH_RSA),
        &subject,
        &sequence(&[&time(not_before)?, &tlv(0x18, NO_EXPIRY)]),
        &subject,
        &spki,
    ]);
    let mut signature = vec![0u8; pair.public_modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        &tbs,
        &mut signature,
    )
    .map_err(|_| KeyError::Sign)?;
    let signature = tlv(0x03, &[&[0u8][..], &signature].concat());
    Ok(sequence(&[&tbs, &algorithm(SHA256_WITH_RSA), &signature]))
}

/// Adds `x5c` (the certificate, standard base64) and its thumbprints `x5t` (SHA-1, what
/// Entra reads) and `x5t#S256` to a JWK (RFC 7517 §4.7–4.9).
pub fn attach(jwk: &mut serde_json::Value, der: &[u8]) {
    jwk["x5c"] = serde_json::json!([STANDARD.encode(der)]);
    jwk["x5t"] = URL_SAFE_NO_PAD
        .encode(digest(&SHA1_FOR_LEGACY_USE_ONLY, der))
        .into();
    jwk["x5t#S256"] = URL_SAFE_NO_PAD.encode(digest(&SHA256, der)).into();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_use_the_long_form_past_127_bytes() {
        assert_eq!(tlv(0x04, &[1; 3]), vec![0x04, 3, 1, 1, 1]);
        assert_eq!(&tlv(0x04, &[0; 200])[..3], &[0x04, 0x81, 200]);
        assert_eq!(&tlv(0x04, &[0; 400])[..4], &[0x04, 0x82, 0x01, 0x90]);
    }

    #[test]
    fn integers_stay_positive_and_minimal() {
        assert_eq!(unsigned_integer(&[0, 0, 0x7f]), vec![0x02, 1, 0x7f]);
        assert_eq!(unsigned_integer(&[0x80]), vec![0x02, 2, 0, 0x80]);
        assert_eq!(unsigned_integer(&[]), vec![0x02, 1, 0]);
    }

    #[test]
    fn times_switch_to_generalized_time_in_2050() {
        assert_eq!(time(0).unwrap(), tlv(0x17, b"700101000000Z"));
        assert_eq!(time(2_524_608_000).unwrap(), tlv(0x18, b"20500101000000Z"));
    }
}
