use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tweestap_core::SigningAlg;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed")]
    Generate,
    #[error("the stored key is not a valid {0} PKCS#8 key")]
    BadKey(&'static str),
    #[error("signing failed")]
    Sign,
    #[error("token: {0}")]
    Token(#[from] jsonwebtoken::errors::Error),
}

/// A signing key: the private half as PKCS#8 DER (sealed before it is stored), the public
/// half as a JWK. ES256 (P-256) by default; RS256 (RSA 3072: 128-bit strength, as
/// NIST asks beyond 2030) for clients that need it.
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    pkcs8: Zeroizing<Vec<u8>>,
    jwk: serde_json::Value,
    rsa: Option<RsaKeyPair>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Reads `SEQUENCE { INTEGER n, INTEGER e }` (RFC 8017 RSAPublicKey), the DER aws-lc gives.
fn rsa_public_components(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    fn header(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (&t, rest) = input.split_first()?;
        if t != tag {
            return None;
        }
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        };
        (rest.len() >= len).then(|| rest.split_at(len))
    }
    let (seq, _) = header(der, 0x30)?;
    let (n, rest) = header(seq, 0x02)?;
    let (e, _) = header(rest, 0x02)?;
    let strip = |v: &[u8]| {
        v.iter()
            .skip_while(|b| **b == 0)
            .copied()
            .collect::<Vec<u8>>()
    };
    Some((strip(n), strip(e)))
}

impl SigningKey {
    /// A new key from the operating system's randomness.
    pub fn generate(kid: String, alg: SigningAlg) -> Result<SigningKey, KeyError> {
        let pkcs8 = match alg {
            SigningAlg::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                    .map_err(|_| KeyError::Generate)?
                    .as_ref()
                    .to_vec()
            }
            SigningAlg::Rs256 => {
                let pair =
                    RsaKeyPair::generate(KeySize::Rsa3072).map_err(|_| KeyError::Generate)?;
                AsDer::<Pkcs8V1Der>::as_der(&pair)
                    .map_err(|_| KeyError::Generate)?
                    .as_ref()
                    .to_vec()
            }
        };
        SigningKey::from_pkcs8(kid, alg, &pkcs8)
    }

    /// A key read back from storage (after unsealing).
    pub fn from_pkcs8(kid: String, alg: SigningAlg, pkcs8: &[u8]) -> Result<SigningKey, KeyError> {
        let (jwk, rsa) = match alg {
            SigningAlg::Es256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                    .map_err(|_| KeyError::BadKey("P-256"))?;
                // Uncompressed point: 0x04 ‖ X (32 bytes) ‖ Y (32 bytes).
                let point = pair.public_key().as_ref();
                if point.len() != 65 || point[0] != 4 {
                    return Err(KeyError::BadKey("P-256"));
                }
                let jwk = serde_json::json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
                    "kid": kid,
                    "use": "sig",
                    "alg": "ES256",
                });
                (jwk, None)
            }
            SigningAlg::Rs256 => {
                let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| KeyError::BadKey("RSA"))?;
                let (n, e) = rsa_public_components(pair.public_key().as_ref())
                    .ok_or(KeyError::BadKey("RSA"))?;
                let jwk = serde_json::json!({
                    "kty": "RSA",
                    "n": URL_SAFE_NO_PAD.encode(n),
                    "e": URL_SAFE_NO_PAD.encode(e),
                    "kid": kid,
                    "use": "sig",
                    "alg": "RS256",
                });
                (jwk, Some(pair))
            }
        };
        Ok(SigningKey {
            kid,
            alg,
            pkcs8: Zeroizing::new(pkcs8.to_vec()),
            jwk,
            rsa,
        })
    }

    /// The private key, for sealing before it is stored.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// An ES256 key's public point, uncompressed (0x04 ‖ X ‖ Y): what VAPID's `k=` carries.
    pub fn public_point(&self) -> Option<Vec<u8>> {
        let coordinate = |name: &str| URL_SAFE_NO_PAD.decode(self.jwk.get(name)?.as_str()?).ok();
        let (x, y) = (coordinate("x")?, coordinate("y")?);
        let mut point = vec![4u8];
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        (point.len() == 65).then_some(point)
    }

    /// The public key as a JWK (RFC 7517), as published in the JWKS.
    pub fn public_jwk(&self) -> serde_json::Value {
        self.jwk.clone()
    }

    /// The JWK to publish: an RSA key's carries a self-signed certificate valid from
    /// `not_before` (`x5c`, `x5t`; Entra requires them).
    pub fn certified_jwk(&self, not_before: i64) -> Result<serde_json::Value, KeyError> {
        let mut jwk = self.jwk.clone();
        if let Some(pair) = &self.rsa {
            let der = crate::certificate::self_signed(pair, &self.kid, not_before)?;
            crate::certificate::attach(&mut jwk, &der);
        }
        Ok(jwk)
    }

    /// Signs claims as a JWT with this key's `kid` in the header.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        match &self.rsa {
            None => {
                let mut header = Header::new(Algorithm::ES256);
                header.kid = Some(self.kid.clone());
                Ok(jsonwebtoken::encode(
                    &header,
                    claims,
                    &EncodingKey::from_ec_der(&self.pkcs8),
                )?)
            }
            Some(pair) => {
                // jsonwebtoken wants PKCS#1 for RSA; aws-lc signs from the PKCS#8 we keep.
                let header = serde_json::json!({ "alg": "RS256", "typ": "JWT", "kid": self.kid });
                let body = serde_json::to_vec(claims).map_err(|_| KeyError::Sign)?;
                let input = format!(
                    "{}.{}",
                    URL_SAFE_NO_PAD.encode(header.to_string()),
                    URL_SAFE_NO_PAD.encode(body)
                );
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    input.as_bytes(),
                    &mut signature,
                )
                .map_err(|_| KeyError::Sign)?;
                Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
            }
        }
    }

    /// Checks a token signed by this key (signature, and what `validation` asks).
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<T, KeyError> {
        verify_with_jwk(&self.jwk, token, validation)
    }
}

/// Checks a token against a published JWK.
pub fn verify_with_jwk<T: DeserializeOwned>(
    jwk: &serde_json::Value,
    token: &str,
    validation: &Validation,
) -> Result<T, KeyError> {
    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(jwk.clone()).map_err(|_| KeyError::BadKey("JWK"))?;
    let key = DecodingKey::from_jwk(&jwk)?;
    Ok(jsonwebtoken::decode::<T>(token, &key, validation)?.claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Claims {
        sub: String,
        exp: u64,
    }

    fn claims(sub: &str) -> Claims {
        Claims {
            sub: sub.into(),
            exp: 4_000_000_000,
        }
    }

    fn validation(alg: SigningAlg) -> Validation {
        Validation::new(match alg {
            SigningAlg::Es256 => Algorithm::ES256,
            SigningAlg::Rs256 => Algorithm::RS256,
        })
    }

    #[test]
    fn signs_and_verifies_with_the_kid_in_the_header() {
        for alg in SigningAlg::ALL {
            let key = SigningKey::generate("k1".into(), alg).unwrap();
            let token = key.sign(&claims("abc")).unwrap();
            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!(format!("{:?}", header.alg), alg.as_str());
            assert_eq!(header.kid.as_deref(), Some("k1"));
            let back: Claims = key.verify(&token, &validation(alg)).unwrap();
            assert_eq!(back, claims("abc"));
        }
    }

    #[test]
    fn a_key_survives_the_round_trip_through_storage() {
        for alg in SigningAlg::ALL {
            let key = SigningKey::generate("k1".into(), alg).unwrap();
            let again = SigningKey::from_pkcs8("k1".into(), alg, key.pkcs8()).unwrap();
            assert_eq!(key.public_jwk(), again.public_jwk());
            let token = again.sign(&claims("x")).unwrap();
            assert!(key.verify::<Claims>(&token, &validation(alg)).is_ok());
        }
    }

    #[test]
    fn another_key_or_a_changed_token_does_not_verify() {
        for alg in SigningAlg::ALL {
            let key = SigningKey::generate("k1".into(), alg).unwrap();
            let other = SigningKey::generate("k2".into(), alg).unwrap();
            let token = key.sign(&claims("x")).unwrap();
            assert!(other.verify::<Claims>(&token, &validation(alg)).is_err());
            let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
            parts[1] = URL_SAFE_NO_PAD.encode(br#"{"sub":"admin","exp":4000000000}"#);
            assert!(
                key.verify::<Claims>(&parts.join("."), &validation(alg))
                    .is_err()
            );
            assert!(SigningKey::from_pkcs8("bad".into(), alg, b"not a key").is_err());
        }
    }

    #[test]
    fn new_rsa_keys_have_at_least_3072_bits() {
        let key = SigningKey::generate("k1".into(), SigningAlg::Rs256).unwrap();
        let n = key.public_jwk()["n"].as_str().unwrap().to_string();
        let modulus = URL_SAFE_NO_PAD.decode(n).unwrap();
        assert!(modulus.len() * 8 >= 3072, "{} bits", modulus.len() * 8);
    }

    #[test]
    fn the_public_jwk_has_no_private_part() {
        for alg in SigningAlg::ALL {
            let key = SigningKey::generate("k1".into(), alg).unwrap();
            let jwk = key.public_jwk().to_string();
            for private in ["\"d\"", "\"p\"", "\"q\"", "\"dp\""] {
                assert!(!jwk.contains(private), "{alg:?}: {jwk}");
            }
        }
        let rsa = SigningKey::generate("r".into(), SigningAlg::Rs256).unwrap();
        assert_eq!(rsa.public_jwk()["e"], "AQAB");
    }
}
