use aws_lc_rs::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::agreement::{ECDH_P256, EphemeralPrivateKey, UnparsedPublicKey, agree_ephemeral};
use aws_lc_rs::hkdf::{HKDF_SHA256, KeyType, Salt};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

#[derive(Debug, thiserror::Error)]
pub enum EncryptError {
    #[error("the subscription's public key is not an uncompressed P-256 point")]
    BadPublicKey,
    #[error("the subscription's auth secret must be 16 bytes")]
    BadAuthSecret,
    #[error("the message is too long for one record ({0} bytes; at most 3993)")]
    TooLong(usize),
    #[error("encryption failed")]
    Crypto,
}

/// Record size we declare: one record holds the whole message.
const RECORD_SIZE: u32 = 4096;
pub const MAX_PLAINTEXT: usize = 3993;

struct Len(usize);
impl KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn hkdf(salt: &[u8], ikm: &[u8], info: &[&[u8]], len: usize) -> Result<Vec<u8>, EncryptError> {
    let mut out = vec![0u8; len];
    Salt::new(HKDF_SHA256, salt)
        .extract(ikm)
        .expand(info, Len(len))
        .map_err(|_| EncryptError::Crypto)?
        .fill(&mut out)
        .map_err(|_| EncryptError::Crypto)?;
    Ok(out)
}

/// Encrypts `plaintext` for a subscription (RFC 8291 §3 and RFC 8188): the body of the push
/// request, `salt ‖ record size ‖ key id length ‖ sender public key ‖ ciphertext`.
pub fn encrypt(
    ua_public: &[u8],
    auth_secret: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, EncryptError> {
    if ua_public.len() != 65 || ua_public[0] != 4 {
        return Err(EncryptError::BadPublicKey);
    }
    if auth_secret.len() != 16 {
        return Err(EncryptError::BadAuthSecret);
    }
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(EncryptError::TooLong(plaintext.len()));
    }
    let rng = SystemRandom::new();
    let ephemeral =
        EphemeralPrivateKey::generate(&ECDH_P256, &rng).map_err(|_| EncryptError::Crypto)?;
    let as_public = ephemeral
        .compute_public_key()
        .map_err(|_| EncryptError::Crypto)?
        .as_ref()
        .to_vec();
    let ecdh_secret = agree_ephemeral(
        ephemeral,
        UnparsedPublicKey::new(&ECDH_P256, ua_public),
        EncryptError::BadPublicKey,
        |secret| Ok(secret.to_vec()),
    )?;
    // RFC 8291 §3.3: the input keying material binds both public keys.
    let ikm = hkdf(
        auth_secret,
        &ecdh_secret,
        &[b"WebPush: info\0", ua_public, &as_public],
        32,
    )?;
    let mut salt = [0u8; 16];
    rng.fill(&mut salt).map_err(|_| EncryptError::Crypto)?;
    let cek = hkdf(&salt, &ikm, &[b"Content-Encoding: aes128gcm\0"], 16)?;
    let nonce = hkdf(&salt, &ikm, &[b"Content-Encoding: nonce\0"], 12)?;

    // One record, the last: the plaintext and the 0x02 delimiter (RFC 8188 §2).
    let mut record = plaintext.to_vec();
    record.push(2);
    let key =
        LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &cek).map_err(|_| EncryptError::Crypto)?);
    let nonce = Nonce::try_assume_unique_for_key(&nonce).map_err(|_| EncryptError::Crypto)?;
    key.seal_in_place_append_tag(nonce, Aad::empty(), &mut record)
        .map_err(|_| EncryptError::Crypto)?;

    let mut body = Vec::with_capacity(16 + 4 + 1 + 65 + record.len());
    body.extend_from_slice(&salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(65);
    body.extend_from_slice(&as_public);
    body.extend_from_slice(&record);
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_keys_and_long_messages_are_refused() {
        let mut point = vec![4u8; 65];
        point[1] = 1;
        assert!(matches!(
            encrypt(&[0u8; 33], &[0u8; 16], b"x"),
            Err(EncryptError::BadPublicKey)
        ));
        assert!(matches!(
            encrypt(&point, &[0u8; 15], b"x"),
            Err(EncryptError::BadAuthSecret)
        ));
        assert!(matches!(
            encrypt(&point, &[0u8; 16], &vec![0u8; 4000]),
            Err(EncryptError::TooLong(4000))
        ));
    }
}
