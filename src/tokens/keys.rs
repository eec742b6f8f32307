//! Signing keys — RSA (RS256, the default), EC P-256 (ES256) and Ed25519 (EdDSA): generation, the RFC 7638
//! `kid`, and sealing the private part at rest under a key derived from `TESSERA_SECRET_KEY`.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair, Ed25519KeyPair, ParsedPublicKey,
    RSA_PKCS1_2048_8192_SHA256,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::TokenError;
use super::jwk::PublicJwk;
use super::sealing::{self, Purpose};
use crate::clock::UnixTime;
use crate::config::Secret;
use crate::store::signing_keys::SigningKeyRow;

/// An algorithm Tessera signs its tokens with (RS256 unless a client asks for another).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    #[serde(rename = "RS256")]
    Rs256,
    #[serde(rename = "ES256")]
    Es256,
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl SigningAlg {
    pub const ALL: [Self; 3] = [Self::Rs256, Self::Es256, Self::EdDsa];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == name)
    }
}

impl std::fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A generated or unsealed key: its algorithm, PKCS#8 form and public key.
pub struct KeyMaterial {
    pub kid: String,
    pub alg: SigningAlg,
    pkcs8: Vec<u8>,
    pub public: PublicJwk,
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// A parsed private key, ready to sign.
pub enum KeyPairOf {
    Rsa(KeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl KeyMaterial {
    /// Generates a new RSA key of `bits` (2048, 3072 or 4096).
    pub fn generate(bits: u32) -> Result<Self, TokenError> {
        Self::generate_for(SigningAlg::Rs256, bits)
    }

    /// Generates a new key for `alg` (`rsa_bits` for RS256).
    pub fn generate_for(alg: SigningAlg, rsa_bits: u32) -> Result<Self, TokenError> {
        let failed = |what: &str| TokenError::Key(format!("{alg} key generation failed: {what}"));
        let pkcs8 = match alg {
            SigningAlg::Rs256 => {
                let size = match rsa_bits {
                    2048 => KeySize::Rsa2048,
                    3072 => KeySize::Rsa3072,
                    4096 => KeySize::Rsa4096,
                    _ => return Err(TokenError::Key(format!("unsupported RSA key size {rsa_bits}"))),
                };
                let pair = KeyPair::generate(size).map_err(|_| failed("RSA"))?;
                let der: Pkcs8V1Der<'static> = AsDer::as_der(&pair).map_err(|_| failed("serialising"))?;
                der.as_ref().to_vec()
            }
            SigningAlg::Es256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|pair| pair.to_pkcs8v1())
                .map_err(|_| failed("P-256"))?
                .as_ref()
                .to_vec(),
            SigningAlg::EdDsa => Ed25519KeyPair::generate()
                .and_then(|pair| pair.to_pkcs8v1())
                .map_err(|_| failed("Ed25519"))?
                .as_ref()
                .to_vec(),
        };
        Self::from_pkcs8_as(alg, pkcs8)
    }

    /// Reads a PKCS#8 DER RSA private key.
    pub fn from_pkcs8(pkcs8: Vec<u8>) -> Result<Self, TokenError> {
        Self::from_pkcs8_as(SigningAlg::Rs256, pkcs8)
    }

    /// Reads a PKCS#8 DER private key of `alg`.
    pub fn from_pkcs8_as(alg: SigningAlg, pkcs8: Vec<u8>) -> Result<Self, TokenError> {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let public = match parse(alg, &pkcs8)? {
            KeyPairOf::Rsa(pair) => {
                let public = pair.public_key();
                PublicJwk::Rsa {
                    n: b64(public.modulus().big_endian_without_leading_zero()),
                    e: b64(public.exponent().big_endian_without_leading_zero()),
                }
            }
            KeyPairOf::Ec(pair) => {
                let point = pair.public_key().as_ref();
                if point.len() != 65 {
                    return Err(TokenError::Key("not an uncompressed P-256 point".into()));
                }
                PublicJwk::P256 {
                    x: b64(&point[1..33]),
                    y: b64(&point[33..65]),
                }
            }
            KeyPairOf::Ed(pair) => PublicJwk::Ed25519 {
                x: b64(pair.public_key().as_ref()),
            },
        };
        Ok(Self {
            kid: public.thumbprint(),
            alg,
            pkcs8,
            public,
        })
    }

    /// The private key, PKCS#8 DER.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The parsed key pair, ready to sign.
    pub fn key_pair(&self) -> Result<KeyPairOf, TokenError> {
        parse(self.alg, &self.pkcs8)
    }

    /// The public key as a JWK with `kid`, `use` and `alg` (as the JWKS publishes it).
    pub fn jwk(&self) -> serde_json::Value {
        public_jwk(&self.kid, self.alg, &self.public)
    }

    /// The row to store, made at `now` and signing from `activates_at`: the private key sealed when `secret`
    /// is set.
    pub fn to_row(
        &self,
        secret: Option<&Secret>,
        now: UnixTime,
        activates_at: UnixTime,
    ) -> Result<SigningKeyRow, TokenError> {
        let (public_n, public_e) = match &self.public {
            PublicJwk::Rsa { n, e } => (n.clone(), e.clone()),
            PublicJwk::P256 { x, y } => (x.clone(), y.clone()),
            PublicJwk::Ed25519 { x } => (x.clone(), String::new()),
        };
        Ok(SigningKeyRow {
            kid: self.kid.clone(),
            algorithm: self.alg.as_str().into(),
            private_key: seal(&self.pkcs8, secret)?,
            public_n,
            public_e,
            created_at: now,
            retired_at: None,
            activates_at,
        })
    }

    /// Reads the private key back from a stored row.
    pub fn from_row(row: &SigningKeyRow, secret: Option<&Secret>) -> Result<Self, TokenError> {
        let alg = stored_alg(row)?;
        let material = Self::from_pkcs8_as(alg, unseal(&row.kid, &row.private_key, secret)?)?;
        if material.kid != row.kid {
            return Err(TokenError::Key(format!(
                "signing key {} does not match its kid",
                row.kid
            )));
        }
        Ok(material)
    }
}

/// The algorithm of a stored key.
pub fn stored_alg(row: &SigningKeyRow) -> Result<SigningAlg, TokenError> {
    SigningAlg::parse(&row.algorithm)
        .ok_or_else(|| TokenError::Key(format!("signing key {}: unknown algorithm {}", row.kid, row.algorithm)))
}

/// The public key of a stored row (its two public columns hold RSA's `n` and `e`, P-256's `x` and `y`, or
/// Ed25519's `x`).
pub fn stored_public(row: &SigningKeyRow) -> Result<(SigningAlg, PublicJwk), TokenError> {
    let alg = stored_alg(row)?;
    let public = match alg {
        SigningAlg::Rs256 => PublicJwk::Rsa {
            n: row.public_n.clone(),
            e: row.public_e.clone(),
        },
        SigningAlg::Es256 => PublicJwk::P256 {
            x: row.public_n.clone(),
            y: row.public_e.clone(),
        },
        SigningAlg::EdDsa => PublicJwk::Ed25519 {
            x: row.public_n.clone(),
        },
    };
    Ok((alg, public))
}

/// A public key as a JWKS entry.
pub fn public_jwk(kid: &str, alg: SigningAlg, public: &PublicJwk) -> serde_json::Value {
    let mut jwk = match public {
        PublicJwk::Rsa { n, e } => serde_json::json!({"kty": "RSA", "n": n, "e": e}),
        PublicJwk::P256 { x, y } => serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
        PublicJwk::Ed25519 { x } => serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x}),
    };
    jwk["use"] = "sig".into();
    jwk["alg"] = alg.as_str().into();
    jwk["kid"] = kid.into();
    jwk
}

fn parse(alg: SigningAlg, pkcs8: &[u8]) -> Result<KeyPairOf, TokenError> {
    let refused = |e: &dyn std::fmt::Display| TokenError::Key(format!("not a {alg} PKCS#8 key: {e}"));
    match alg {
        SigningAlg::Rs256 => KeyPair::from_pkcs8(pkcs8).map(KeyPairOf::Rsa).map_err(|e| refused(&e)),
        SigningAlg::Es256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
            .map(KeyPairOf::Ec)
            .map_err(|e| refused(&e)),
        SigningAlg::EdDsa => Ed25519KeyPair::from_pkcs8(pkcs8)
            .map(KeyPairOf::Ed)
            .map_err(|e| refused(&e)),
    }
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

/// The verifier of a published key of `alg`, parsed once: a signature check then costs only the key
/// operation, not the key's set-up.
pub fn verifier_of(alg: SigningAlg, public: &PublicJwk) -> Result<ParsedPublicKey, TokenError> {
    let unreadable = |what: &str| TokenError::Key(format!("the public key's {what} is unreadable"));
    let decode = |text: &str, what: &str| URL_SAFE_NO_PAD.decode(text).map_err(|_| unreadable(what));
    let refused = |e: &dyn std::fmt::Display| TokenError::Key(format!("the public key was refused: {e}"));
    match (alg, public) {
        (SigningAlg::Rs256, PublicJwk::Rsa { n, e }) => ParsedPublicKey::new(
            &RSA_PKCS1_2048_8192_SHA256,
            pkcs1_public_key(&decode(n, "modulus")?, &decode(e, "exponent")?),
        )
        .map_err(|e| refused(&e)),
        (SigningAlg::Es256, PublicJwk::P256 { x, y }) => {
            let mut point = vec![4u8];
            point.extend(decode(x, "x")?);
            point.extend(decode(y, "y")?);
            ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).map_err(|e| refused(&e))
        }
        (SigningAlg::EdDsa, PublicJwk::Ed25519 { x }) => {
            ParsedPublicKey::new(&ED25519, decode(x, "x")?).map_err(|e| refused(&e))
        }
        _ => Err(TokenError::Key(format!("the public key does not fit {alg}"))),
    }
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
    fn the_verifier_of_each_kind_of_key_checks_its_signatures() {
        for alg in SigningAlg::ALL {
            let material = KeyMaterial::generate_for(alg, 2048).unwrap();
            assert_eq!(
                KeyMaterial::from_pkcs8_as(alg, material.pkcs8().to_vec()).unwrap().kid,
                material.kid
            );
            let signer = super::super::keyring::Signer::from_material(&material).unwrap();
            let mut signature = signer.sign(b"header.payload").unwrap();
            let key = verifier_of(alg, &material.public).unwrap();
            assert!(key.verify_sig(b"header.payload", &signature).is_ok(), "{alg}");
            assert!(key.verify_sig(b"header.payloae", &signature).is_err(), "{alg}");
            signature[10] ^= 1;
            assert!(key.verify_sig(b"header.payload", &signature).is_err(), "{alg}");
            assert_eq!(material.jwk()["alg"], alg.as_str());
            // A row keeps the public key in its two columns, read back as it was.
            let row = material.to_row(None, 0, 0).unwrap();
            assert_eq!(stored_public(&row).unwrap(), (alg, material.public.clone()));
        }
        let rsa = KeyMaterial::generate(2048).unwrap();
        let PublicJwk::Rsa { e, .. } = &rsa.public else {
            unreachable!()
        };
        let garbled = PublicJwk::Rsa {
            n: "not base64!".into(),
            e: e.clone(),
        };
        assert!(verifier_of(SigningAlg::Rs256, &garbled).is_err());
        assert!(
            verifier_of(SigningAlg::Es256, &rsa.public).is_err(),
            "an RSA key is no P-256 key"
        );
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
