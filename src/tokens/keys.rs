//! RSA signing keys: generation, the RFC 7638 `kid`, and sealing the private part at rest under a key
//! derived from `TESSERA_SECRET_KEY`.

use aws_lc_rs::digest;
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::TokenError;
use super::sealing::{self, Purpose};
use crate::clock::UnixTime;
use crate::config::Secret;
use crate::store::signing_keys::SigningKeyRow;

/// The only signing algorithm Tessera uses.
pub const ALGORITHM: &str = "RS256";

/// A generated or unsealed RSA key: its PKCS#8 form and public components.
pub struct KeyMaterial {
    pub kid: String,
    pkcs8: Vec<u8>,
    /// Modulus, base64url.
    pub n: String,
    /// Public exponent, base64url.
    pub e: String,
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl KeyMaterial {
    /// Generates a new RSA key of `bits` (2048, 3072 or 4096).
    pub fn generate(bits: u32) -> Result<Self, TokenError> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            _ => return Err(TokenError::Key(format!("unsupported RSA key size {bits}"))),
        };
        let pair = KeyPair::generate(size).map_err(|_| TokenError::Key("RSA key generation failed".into()))?;
        let pkcs8: Pkcs8V1Der<'static> =
            AsDer::as_der(&pair).map_err(|_| TokenError::Key("cannot serialise the new key".into()))?;
        Self::from_pkcs8(pkcs8.as_ref().to_vec())
    }

    /// Reads a PKCS#8 DER RSA private key.
    pub fn from_pkcs8(pkcs8: Vec<u8>) -> Result<Self, TokenError> {
        let pair = self::parse(&pkcs8)?;
        let public = pair.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        Ok(Self {
            kid: thumbprint(&n, &e),
            pkcs8,
            n,
            e,
        })
    }

    /// The private key, PKCS#8 DER.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The parsed key pair, ready to sign.
    pub fn key_pair(&self) -> Result<KeyPair, TokenError> {
        parse(&self.pkcs8)
    }

    /// The row to store, made at `now` and signing from `activates_at`: the private key sealed when `secret`
    /// is set.
    pub fn to_row(
        &self,
        secret: Option<&Secret>,
        now: UnixTime,
        activates_at: UnixTime,
    ) -> Result<SigningKeyRow, TokenError> {
        Ok(SigningKeyRow {
            kid: self.kid.clone(),
            algorithm: ALGORITHM.into(),
            private_key: seal(&self.pkcs8, secret)?,
            public_n: self.n.clone(),
            public_e: self.e.clone(),
            created_at: now,
            retired_at: None,
            activates_at,
        })
    }

    /// Reads the private key back from a stored row.
    pub fn from_row(row: &SigningKeyRow, secret: Option<&Secret>) -> Result<Self, TokenError> {
        let material = Self::from_pkcs8(unseal(&row.kid, &row.private_key, secret)?)?;
        if material.kid != row.kid {
            return Err(TokenError::Key(format!(
                "signing key {} does not match its kid",
                row.kid
            )));
        }
        Ok(material)
    }
}

fn parse(pkcs8: &[u8]) -> Result<KeyPair, TokenError> {
    KeyPair::from_pkcs8(pkcs8).map_err(|e| TokenError::Key(format!("not an RSA PKCS#8 key: {e}")))
}

/// RFC 7638 §3: SHA-256 over the required members in lexicographic order, base64url.
pub fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes()))
}

/// Whether a stored private key is sealed.
pub fn is_sealed(stored: &str) -> bool {
    sealing::is_sealed(stored)
}

fn seal(pkcs8: &[u8], secret: Option<&Secret>) -> Result<String, TokenError> {
    sealing::seal(Purpose::SigningKey, pkcs8, secret)
        .map_err(|e| TokenError::Key(format!("sealing the signing key failed: {e}")))
}

fn unseal(kid: &str, stored: &str, secret: Option<&Secret>) -> Result<Vec<u8>, TokenError> {
    sealing::unseal(Purpose::SigningKey, stored, secret).map_err(|e| TokenError::Key(format!("signing key {kid}: {e}")))
}

/// The RS256 verifier of the published key with modulus `n` and exponent `e` (base64url), parsed once: a
/// signature check then costs only the RSA operation, not the key's set-up.
pub fn verifier(n: &str, e: &str) -> Result<ParsedPublicKey, TokenError> {
    let unreadable = |what: &str| TokenError::Key(format!("the public key's {what} is unreadable"));
    let n = URL_SAFE_NO_PAD.decode(n).map_err(|_| unreadable("modulus"))?;
    let e = URL_SAFE_NO_PAD.decode(e).map_err(|_| unreadable("exponent"))?;
    ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pkcs1_public_key(&n, &e))
        .map_err(|e| TokenError::Key(format!("the public key was refused: {e}")))
}

/// DER of the PKCS#1 `RSAPublicKey` (RFC 8017 §A.1.1): a SEQUENCE of the two unsigned big-endian INTEGERs.
fn pkcs1_public_key(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut body = der_unsigned_integer(n);
    body.extend(der_unsigned_integer(e));
    der(0x30, &body)
}

/// An INTEGER of the unsigned big-endian `value`: leading zeros dropped, one put back where the high bit is set.
fn der_unsigned_integer(value: &[u8]) -> Vec<u8> {
    let start = value
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(value.len().saturating_sub(1));
    let value = &value[start..];
    let mut content = Vec::with_capacity(value.len() + 1);
    if value.first().is_none_or(|&b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(value);
    der(0x02, &content)
}

/// A DER element: tag, definite length, content.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_thumbprint_example() {
        // The example key of RFC 7638 §3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(thumbprint(n, "AQAB"), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn sealed_keys_open_only_with_their_secret() {
        let material = KeyMaterial::generate(2048).unwrap();
        let secret = Secret::new("a secret of at least thirty-two characters");
        let row = material.to_row(Some(&secret), 0, 0).unwrap();
        assert!(is_sealed(&row.private_key));
        assert_eq!(KeyMaterial::from_row(&row, Some(&secret)).unwrap().kid, material.kid);
        let other = Secret::new("another secret of thirty-two characters!");
        let err = KeyMaterial::from_row(&row, Some(&other)).unwrap_err().to_string();
        assert!(err.contains("TESSERA_SECRET_KEY"), "{err}");
        assert!(KeyMaterial::from_row(&row, None).is_err());

        let plain = material.to_row(None, 0, 0).unwrap();
        assert!(!is_sealed(&plain.private_key));
        assert_eq!(KeyMaterial::from_row(&plain, Some(&secret)).unwrap().kid, material.kid);
    }

    #[test]
    fn the_verifier_of_a_keys_published_components_checks_its_signatures() {
        let material = KeyMaterial::generate(2048).unwrap();
        let pair = material.key_pair().unwrap();
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let mut signature = vec![0; pair.public_modulus_len()];
        pair.sign(
            &aws_lc_rs::signature::RSA_PKCS1_SHA256,
            &rng,
            b"header.payload",
            &mut signature,
        )
        .unwrap();
        let key = verifier(&material.n, &material.e).unwrap();
        assert!(key.verify_sig(b"header.payload", &signature).is_ok());
        assert!(key.verify_sig(b"header.payloae", &signature).is_err());
        signature[10] ^= 1;
        assert!(key.verify_sig(b"header.payload", &signature).is_err());
        assert!(verifier("not base64!", &material.e).is_err());
        let tiny = verifier("AQAB", "AQAB");
        assert!(tiny.is_err() || tiny.unwrap().verify_sig(b"header.payload", &signature).is_err());
    }

    #[test]
    fn der_integers_are_minimal_and_unsigned() {
        assert_eq!(
            der_unsigned_integer(&[0x01, 0x00, 0x01]),
            [0x02, 0x03, 0x01, 0x00, 0x01]
        );
        assert_eq!(der_unsigned_integer(&[0x00, 0x00, 0x7f]), [0x02, 0x01, 0x7f]);
        assert_eq!(der_unsigned_integer(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(der_unsigned_integer(&[]), [0x02, 0x01, 0x00]);
        let long = der(0x30, &[0; 300]);
        assert_eq!(long[..4], [0x30, 0x82, 0x01, 0x2c]);
        assert_eq!(long.len(), 304);
    }
}
