//! Public JSON Web Keys (RFC 7517) that others sign with — a DPoP proof's `jwk` header, a client's registered
//! key set for `private_key_jwt` — with their RFC 7638 thumbprints and the signature checks of the asymmetric
//! algorithms Tessera accepts from others.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256, RsaPublicKeyComponents,
    UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// JWK members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

/// The most keys a registered key set may hold.
pub const MAX_SET_KEYS: usize = 10;

/// An asymmetric signing algorithm accepted from others (never `none` or `HS*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    Es256,
    Rs256,
    Ps256,
    EdDsa,
}

impl Alg {
    pub const ALL: [Self; 4] = [Self::Es256, Self::Ps256, Self::Rs256, Self::EdDsa];

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
            Self::EdDsa => "EdDSA",
        }
    }
}

/// Why a JWK is not a usable public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwkError {
    /// It holds private (or symmetric) key material.
    Private,
    /// A member the key type needs is missing or not base64url.
    Incomplete,
    /// Not an EC P-256, RSA or Ed25519 key.
    Unsupported,
}

/// A public key, its members as sent (base64url, checked to decode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicJwk {
    P256 { x: String, y: String },
    Rsa { n: String, e: String },
    Ed25519 { x: String },
}

impl PublicJwk {
    /// A public key of a supported type, never a private one.
    pub fn parse(jwk: &Map<String, Value>) -> Result<Self, JwkError> {
        if PRIVATE_MEMBERS.iter().any(|member| jwk.contains_key(*member)) {
            return Err(JwkError::Private);
        }
        let member = |name: &str| {
            jwk.get(name)
                .and_then(Value::as_str)
                .filter(|text| !text.is_empty() && URL_SAFE_NO_PAD.decode(text).is_ok())
                .map(str::to_owned)
                .ok_or(JwkError::Incomplete)
        };
        match (
            jwk.get("kty").and_then(Value::as_str),
            jwk.get("crv").and_then(Value::as_str),
        ) {
            (Some("EC"), Some("P-256")) => Ok(Self::P256 {
                x: member("x")?,
                y: member("y")?,
            }),
            (Some("RSA"), _) => Ok(Self::Rsa {
                n: member("n")?,
                e: member("e")?,
            }),
            (Some("OKP"), Some("Ed25519")) => Ok(Self::Ed25519 { x: member("x")? }),
            _ => Err(JwkError::Unsupported),
        }
    }

    /// RFC 7638 §3: SHA-256 of the required members in lexicographic order, without whitespace. The members
    /// are base64url (checked in `parse`), so they need no escaping.
    pub fn thumbprint(&self) -> String {
        let canonical = match self {
            Self::P256 { x, y } => format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#),
            Self::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
            Self::Ed25519 { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
        };
        URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes()))
    }

    /// Whether `alg` is an algorithm of this kind of key.
    pub fn fits(&self, alg: Alg) -> bool {
        matches!(
            (self, alg),
            (Self::P256 { .. }, Alg::Es256)
                | (Self::Rsa { .. }, Alg::Rs256 | Alg::Ps256)
                | (Self::Ed25519 { .. }, Alg::EdDsa)
        )
    }

    /// Whether `signature` is this key's signature of `message` with `alg` (false when `alg` does not fit).
    pub fn verifies(&self, alg: Alg, message: &[u8], signature: &[u8]) -> bool {
        let bytes = |text: &str| URL_SAFE_NO_PAD.decode(text).unwrap_or_default();
        let verified = match (self, alg) {
            (Self::P256 { x, y }, Alg::Es256) => {
                let mut point = vec![4u8];
                point.extend(bytes(x));
                point.extend(bytes(y));
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, signature)
            }
            (Self::Rsa { n, e }, Alg::Rs256 | Alg::Ps256) => {
                let params = if alg == Alg::Rs256 {
                    &RSA_PKCS1_2048_8192_SHA256
                } else {
                    &RSA_PSS_2048_8192_SHA256
                };
                RsaPublicKeyComponents {
                    n: bytes(n),
                    e: bytes(e),
                }
                .verify(params, message, signature)
            }
            (Self::Ed25519 { x }, Alg::EdDsa) => UnparsedPublicKey::new(&ED25519, bytes(x)).verify(message, signature),
            _ => return false,
        };
        verified.is_ok()
    }
}

/// One key of a registered set, with what the set says of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetKey {
    pub kid: Option<String>,
    /// The one algorithm the key may be used with, when the set names it.
    pub alg: Option<Alg>,
    pub key: PublicJwk,
}

/// A JWK Set (RFC 7517 §5) of public signing keys, as a client registers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwkSet {
    pub keys: Vec<SetKey>,
}

impl JwkSet {
    /// Reads a set: an object whose `keys` holds 1 to [`MAX_SET_KEYS`] public keys. Keys for encryption
    /// only (`use: enc`) are left out; a set with no signing key, a private key, a key of an unsupported type
    /// or algorithm, or two keys with one `kid` is refused with the reason.
    pub fn parse(value: &Value) -> Result<Self, String> {
        let keys = value
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("must be a JWK Set: an object with a \"keys\" array")?;
        if keys.len() > MAX_SET_KEYS {
            return Err(format!("may hold at most {MAX_SET_KEYS} keys"));
        }
        let mut set = Vec::new();
        for (index, jwk) in keys.iter().enumerate() {
            let jwk = jwk.as_object().ok_or(format!("key {index} is not a JSON object"))?;
            if jwk.get("use").and_then(Value::as_str) == Some("enc") {
                continue;
            }
            let key = PublicJwk::parse(jwk).map_err(|e| match e {
                JwkError::Private => format!("key {index} holds private key material: register public keys only"),
                JwkError::Incomplete => format!("key {index} lacks a member its key type needs"),
                JwkError::Unsupported => format!("key {index} is not an EC P-256, RSA or Ed25519 key"),
            })?;
            let alg = match jwk.get("alg").and_then(Value::as_str) {
                None => None,
                Some(name) => {
                    let alg = Alg::parse(name).filter(|alg| key.fits(*alg));
                    Some(alg.ok_or(format!("key {index} names an algorithm it cannot sign with: {name}"))?)
                }
            };
            let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
            if kid.is_some() && set.iter().any(|other: &SetKey| other.kid == kid) {
                return Err(format!("key {index} repeats a kid"));
            }
            set.push(SetKey { kid, alg, key });
        }
        if set.is_empty() {
            return Err("holds no signing key".into());
        }
        Ok(Self { keys: set })
    }

    /// The keys that may have made a signature with `alg` under a header naming `kid`: the one key with that
    /// `kid`, or every key that fits the algorithm when the header names none.
    pub fn candidates(&self, alg: Alg, kid: Option<&str>) -> impl Iterator<Item = &PublicJwk> {
        self.keys
            .iter()
            .filter(move |k| kid.is_none_or(|kid| k.kid.as_deref() == Some(kid)))
            .filter(move |k| k.key.fits(alg) && k.alg.is_none_or(|only| only == alg))
            .map(|k| &k.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7638_example_thumbprint() {
        // RFC 7638 §3.1's RSA key and its thumbprint.
        let key = PublicJwk::Rsa {
            n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into(),
            e: "AQAB".into(),
        };
        assert_eq!(key.thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn private_keys_and_symmetric_algorithms_are_refused() {
        let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA", "d": "AAAA"});
        assert_eq!(PublicJwk::parse(jwk.as_object().unwrap()), Err(JwkError::Private));
        assert_eq!(Alg::parse("HS256"), None);
        assert_eq!(Alg::parse("none"), None);
    }

    #[test]
    fn a_set_keeps_its_signing_keys_and_refuses_what_cannot_sign() {
        let ec = serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA", "kid": "a"});
        let ed = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "b", "alg": "EdDSA"});
        let enc = serde_json::json!({"kty": "RSA", "n": "AAAA", "e": "AQAB", "use": "enc"});
        let set = JwkSet::parse(&serde_json::json!({"keys": [ec, ed, enc]})).unwrap();
        assert_eq!(set.keys.len(), 2);
        assert_eq!(set.candidates(Alg::Es256, None).count(), 1);
        assert_eq!(set.candidates(Alg::Es256, Some("b")).count(), 0);
        assert_eq!(set.candidates(Alg::EdDsa, Some("b")).count(), 1);
        assert_eq!(set.candidates(Alg::Rs256, None).count(), 0);

        for bad in [
            serde_json::json!([]),
            serde_json::json!({"keys": []}),
            serde_json::json!({"keys": [enc]}),
            serde_json::json!({"keys": [{"kty": "oct", "k": "AAAA"}]}),
            serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA", "alg": "RS256"}]}),
            serde_json::json!({"keys": [ec, ec]}),
        ] {
            assert!(JwkSet::parse(&bad).is_err(), "{bad}");
        }
    }
}
