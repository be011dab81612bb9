use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed")]
    Generate,
    #[error("the stored key is not a valid P-256 PKCS#8 key")]
    BadKey,
    #[error("token: {0}")]
    Token(#[from] jsonwebtoken::errors::Error),
}

/// An ES256 signing key: the private half as PKCS#8 DER (to be sealed before storing), the
/// public half as a JWK.
pub struct SigningKey {
    pub kid: String,
    pkcs8: Zeroizing<Vec<u8>>,
    x: String,
    y: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new P-256 key from the operating system's randomness.
    pub fn generate(kid: String) -> Result<SigningKey, KeyError> {
        let document =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| KeyError::Generate)?;
        SigningKey::from_pkcs8(kid, document.as_ref())
    }

    /// A key read back from storage (after unsealing).
    pub fn from_pkcs8(kid: String, pkcs8: &[u8]) -> Result<SigningKey, KeyError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
            .map_err(|_| KeyError::BadKey)?;
        // Uncompressed point: 0x04 ‖ X (32 bytes) ‖ Y (32 bytes).
        let point = pair.public_key().as_ref();
        if point.len() != 65 || point[0] != 4 {
            return Err(KeyError::BadKey);
        }
        Ok(SigningKey {
            kid,
            pkcs8: Zeroizing::new(pkcs8.to_vec()),
            x: URL_SAFE_NO_PAD.encode(&point[1..33]),
            y: URL_SAFE_NO_PAD.encode(&point[33..65]),
        })
    }

    /// The private key, for sealing before it is stored.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public key as a JWK (RFC 7517), as published in the JWKS.
    pub fn public_jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "EC",
            "crv": "P-256",
            "x": self.x,
            "y": self.y,
            "kid": self.kid,
            "use": "sig",
            "alg": "ES256",
        })
    }

    /// Signs claims as a JWT with this key's `kid` in the header.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_ec_der(&self.pkcs8),
        )?)
    }

    /// Checks a token signed by this key (signature, expiry, and what `validation` asks).
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<T, KeyError> {
        let key = DecodingKey::from_ec_components(&self.x, &self.y)?;
        Ok(jsonwebtoken::decode::<T>(token, &key, validation)?.claims)
    }
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

    fn far_future() -> u64 {
        4_000_000_000
    }

    #[test]
    fn signs_and_verifies_with_the_kid_in_the_header() {
        let key = SigningKey::generate("k1".into()).unwrap();
        let claims = Claims {
            sub: "abc".into(),
            exp: far_future(),
        };
        let token = key.sign(&claims).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some("k1"));
        let back: Claims = key
            .verify(&token, &Validation::new(Algorithm::ES256))
            .unwrap();
        assert_eq!(back, claims);
    }

    #[test]
    fn a_key_survives_the_round_trip_through_storage() {
        let key = SigningKey::generate("k1".into()).unwrap();
        let again = SigningKey::from_pkcs8("k1".into(), key.pkcs8()).unwrap();
        assert_eq!(key.public_jwk(), again.public_jwk());
        let token = again
            .sign(&Claims {
                sub: "x".into(),
                exp: far_future(),
            })
            .unwrap();
        assert!(
            key.verify::<Claims>(&token, &Validation::new(Algorithm::ES256))
                .is_ok()
        );
    }

    #[test]
    fn another_key_or_a_changed_token_does_not_verify() {
        let key = SigningKey::generate("k1".into()).unwrap();
        let other = SigningKey::generate("k2".into()).unwrap();
        let token = key
            .sign(&Claims {
                sub: "x".into(),
                exp: far_future(),
            })
            .unwrap();
        assert!(
            other
                .verify::<Claims>(&token, &Validation::new(Algorithm::ES256))
                .is_err()
        );
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(br#"{"sub":"admin","exp":4000000000}"#);
        assert!(
            key.verify::<Claims>(&parts.join("."), &Validation::new(Algorithm::ES256))
                .is_err()
        );
        assert!(SigningKey::from_pkcs8("bad".into(), b"not a key").is_err());
    }

    #[test]
    fn the_public_jwk_is_what_independent_verifiers_need() {
        let key = SigningKey::generate("k1".into()).unwrap();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.public_jwk()).unwrap();
        let token = key
            .sign(&Claims {
                sub: "x".into(),
                exp: far_future(),
            })
            .unwrap();
        let decoding = DecodingKey::from_jwk(&jwk).unwrap();
        assert!(
            jsonwebtoken::decode::<Claims>(&token, &decoding, &Validation::new(Algorithm::ES256))
                .is_ok()
        );
        assert!(
            !key.public_jwk().to_string().contains("\"d\""),
            "no private part in the JWK"
        );
    }
}
