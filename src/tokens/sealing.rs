//! Sealing secrets at rest (signing keys, TOTP seeds, PKCE verifiers, upstream providers' client secrets,
//! webhooks' signing secrets, `client_secret_jwt` clients' secrets): AES-256-GCM under a key derived with HKDF from
//! `TESSERA_SECRET_KEY`, one derived key per purpose. Without the secret a value is stored in the clear,
//! marked as such, and a warning is logged at start.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::opaque::random_bytes;
use crate::config::Secret;

const SEALED_PREFIX: &str = "v1:";
const PLAIN_PREFIX: &str = "plain:";
const HKDF_SALT: &[u8] = b"tessera signing-key sealing v1";

/// Why a stored value could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the value is stored in an unknown form")]
    Undecodable,
    #[error("the value is encrypted: set TESSERA_SECRET_KEY to the value it was created with")]
    SecretMissing,
    #[error("TESSERA_SECRET_KEY does not decrypt the value: it was sealed with another secret")]
    WrongSecret,
    #[error("the sealing key could not be derived")]
    Derivation,
}

/// What a sealed value is for; each purpose has its own key.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    SigningKey,
    TotpSecret,
    /// The PKCE verifier of a round trip to an upstream provider.
    PkceVerifier,
    /// The client secret of an upstream provider added through the admin API.
    ProviderSecret,
    /// The secret a webhook's deliveries are signed with.
    WebhookSecret,
    /// A `client_secret_jwt` client's secret: the HMAC key of its assertions (RFC 7523).
    ClientSecret,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::SigningKey => b"signing-key",
            Self::TotpSecret => b"totp-secret",
            Self::PkceVerifier => b"pkce-verifier",
            Self::ProviderSecret => b"provider-secret",
            Self::WebhookSecret => b"webhook-secret",
            Self::ClientSecret => b"client-secret",
        }
    }
}

/// Whether a stored value is sealed.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

/// The stored form of `plain`: sealed when `secret` is set.
pub fn seal(purpose: Purpose, plain: &[u8], secret: Option<&Secret>) -> Result<String, SealError> {
    let Some(secret) = secret else {
        return Ok(format!("{PLAIN_PREFIX}{}", URL_SAFE_NO_PAD.encode(plain)));
    };
    let nonce_bytes = random_bytes::<NONCE_LEN>();
    let mut sealed = plain.to_vec();
    key(purpose, secret)?
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce_bytes), Aad::empty(), &mut sealed)
        .map_err(|_| SealError::Derivation)?;
    let mut out = nonce_bytes.to_vec();
    out.extend_from_slice(&sealed);
    Ok(format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(out)))
}

/// The plain value of a stored one.
pub fn unseal(purpose: Purpose, stored: &str, secret: Option<&Secret>) -> Result<Vec<u8>, SealError> {
    if let Some(plain) = stored.strip_prefix(PLAIN_PREFIX) {
        return URL_SAFE_NO_PAD.decode(plain).map_err(|_| SealError::Undecodable);
    }
    let sealed = stored.strip_prefix(SEALED_PREFIX).ok_or(SealError::Undecodable)?;
    let secret = secret.ok_or(SealError::SecretMissing)?;
    let mut bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| SealError::Undecodable)?;
    if bytes.len() <= NONCE_LEN {
        return Err(SealError::Undecodable);
    }
    let mut ciphertext = bytes.split_off(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| SealError::Undecodable)?;
    let plain = key(purpose, secret)?
        .open_in_place(nonce, Aad::empty(), &mut ciphertext)
        .map_err(|_| SealError::WrongSecret)?;
    Ok(plain.to_vec())
}

fn key(purpose: Purpose, secret: &Secret) -> Result<LessSafeKey, SealError> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT).extract(secret.expose().as_bytes());
    let info = [purpose.label()];
    let okm = prk.expand(&info, &AES_256_GCM).map_err(|_| SealError::Derivation)?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_purpose_opens_only_its_own_values() {
        let secret = Secret::new("0123456789abcdef0123456789abcdef");
        let sealed = seal(Purpose::TotpSecret, b"seed", Some(&secret)).unwrap();
        assert!(is_sealed(&sealed));
        assert_eq!(unseal(Purpose::TotpSecret, &sealed, Some(&secret)).unwrap(), b"seed");
        assert_eq!(
            unseal(Purpose::SigningKey, &sealed, Some(&secret)),
            Err(SealError::WrongSecret)
        );
        assert_eq!(
            unseal(Purpose::TotpSecret, &sealed, None),
            Err(SealError::SecretMissing)
        );
        let other = Secret::new("another secret of at least 32 characters");
        assert_eq!(
            unseal(Purpose::TotpSecret, &sealed, Some(&other)),
            Err(SealError::WrongSecret)
        );
        let plain = seal(Purpose::TotpSecret, b"seed", None).unwrap();
        assert!(!is_sealed(&plain));
        assert_eq!(unseal(Purpose::TotpSecret, &plain, None).unwrap(), b"seed");
    }
}
