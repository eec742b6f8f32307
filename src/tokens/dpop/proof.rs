//! One DPoP proof (RFC 9449 §4.2–4.3): a compact JWS with `typ: dpop+jwt`, an asymmetric `alg`, and the
//! public key that signed it in its `jwk` header; its claims name the request (`htm`, `htu`), its time
//! (`iat`), a unique `jti`, and — presented with an access token — that token's hash (`ath`). The key's
//! RFC 7638 thumbprint is the `jkt` tokens are bound to.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::{DpopError, PROOF_WINDOW_SECS, ProofTarget};
use crate::clock::UnixTime;
use crate::tokens::jwk::{Alg, JwkError, PublicJwk};

/// RFC 9449 §4.2: the proof's `typ` header.
const PROOF_TYPE: &str = "dpop+jwt";
/// The longest proof read (one with an RSA-4096 key is well under this).
const MAX_PROOF_LEN: usize = 8 * 1024;
/// The longest `jti` accepted.
const MAX_JTI_LEN: usize = 256;

/// What a valid proof says, for the caller's own checks (nonce, replay, binding).
#[derive(Debug)]
pub(super) struct CheckedProof {
    /// The JWK SHA-256 thumbprint of the proof's key (RFC 7638), base64url.
    pub jkt: String,
    pub jti: String,
    pub iat: UnixTime,
    pub nonce: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    typ: Option<String>,
    alg: String,
    jwk: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct Claims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    ath: Option<String>,
    nonce: Option<String>,
}

fn invalid(why: &'static str) -> DpopError {
    DpopError::InvalidProof(why)
}

/// RFC 9449 §4.3 checks 1–9, 11 and 12 of `proof` for a request to `target` at `now` (`ath` when an
/// `access_token` is presented with it). The nonce (check 10) and the replay record are the caller's.
pub(super) fn check(
    proof: &str,
    target: ProofTarget<'_>,
    access_token: Option<&str>,
    now: UnixTime,
) -> Result<CheckedProof, DpopError> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(invalid("The DPoP proof is too long."));
    }
    let mut parts = proof.split('.');
    let (Some(header_part), Some(claims_part), Some(signature_part), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("The DPoP proof is not a compact JWS."));
    };
    let header: Header = decode_json(header_part).ok_or(invalid("The DPoP proof's header is unreadable."))?;
    if header.typ.as_deref() != Some(PROOF_TYPE) {
        return Err(invalid("The DPoP proof's typ must be dpop+jwt."));
    }
    // RFC 9449 §4.3 check 5: an asymmetric algorithm only.
    let alg = Alg::parse(&header.alg).ok_or(invalid("The DPoP proof's alg is not supported."))?;
    // Check 6: a public key of a supported type, never a private one.
    let jwk = header.jwk.ok_or(invalid("The DPoP proof has no jwk header."))?;
    let key = PublicJwk::parse(&jwk).map_err(|e| match e {
        JwkError::Private => invalid("The DPoP proof's jwk must be a public key."),
        JwkError::Incomplete => invalid("The DPoP proof's jwk is incomplete."),
        JwkError::Unsupported => invalid("The DPoP proof's jwk is of an unsupported key type."),
    })?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_part)
        .map_err(|_| invalid("The DPoP proof's signature is unreadable."))?;
    let signing_input = &proof[..header_part.len() + 1 + claims_part.len()];
    // Check 7: the signature by this key, with an `alg` that fits it.
    if !key.fits(alg) {
        return Err(invalid("The DPoP proof's alg does not fit its jwk."));
    }
    if !key.verifies(alg, signing_input.as_bytes(), &signature) {
        return Err(invalid("The DPoP proof's signature does not verify."));
    }
    let claims: Claims = decode_json(claims_part).ok_or(invalid("The DPoP proof's claims are unreadable."))?;
    let jti = claims
        .jti
        .filter(|jti| !jti.is_empty() && jti.len() <= MAX_JTI_LEN)
        .ok_or(invalid("The DPoP proof needs a jti."))?;
    if claims.htm.as_deref() != Some(target.method) {
        return Err(invalid("The DPoP proof's htm is not this request's method."));
    }
    if !claims.htu.as_deref().is_some_and(|htu| same_uri(htu, target.url)) {
        return Err(invalid("The DPoP proof's htu is not this request's URL."));
    }
    // RFC 9449 §11.1: a proof is accepted only within a short window around its creation (either way, for
    // clock skew).
    let iat = claims.iat.ok_or(invalid("The DPoP proof needs an iat."))?;
    if now.abs_diff(iat) > PROOF_WINDOW_SECS.unsigned_abs() {
        return Err(invalid("The DPoP proof's iat is too far from the server's time."));
    }
    if let Some(token) = access_token {
        let expected = URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes()));
        let matches = claims
            .ath
            .is_some_and(|ath| bool::from(ath.as_bytes().ct_eq(expected.as_bytes())));
        if !matches {
            return Err(invalid("The DPoP proof's ath does not match the access token."));
        }
    }
    Ok(CheckedProof {
        jkt: key.thumbprint(),
        jti,
        iat,
        nonce: claims.nonce,
    })
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// RFC 9449 §4.3 check 9: `htu` and the request's URL compared without query and fragment, after the
/// normalisation of RFC 3986 §6.2.2–6.2.3 (case of scheme and host, default port, percent-encoding, dot
/// segments).
fn same_uri(htu: &str, request_url: &str) -> bool {
    let normalise = |text: &str| {
        url::Url::parse(text).ok().map(|mut url| {
            url.set_query(None);
            url.set_fragment(None);
            url
        })
    };
    match (normalise(htu), normalise(request_url)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_compare_without_query_and_fragment_after_normalisation() {
        assert!(same_uri(
            "HTTPS://Server.Example:443/token?x=1#f",
            "https://server.example/token"
        ));
        assert!(!same_uri(
            "https://server.example/token2",
            "https://server.example/token"
        ));
        assert!(!same_uri("not a url", "https://server.example/token"));
    }

    /// An EdDSA proof by a new Ed25519 key for `GET https://id.example/userinfo` at `iat`, with `alg` as given.
    fn ed25519_proof(alg: &str, iat: UnixTime) -> (String, String) {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
        let pair = Ed25519KeyPair::generate().unwrap();
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        let header =
            serde_json::json!({"typ": "dpop+jwt", "alg": alg, "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x}});
        let claims = serde_json::json!({"jti": "j1", "htm": "GET", "htu": "https://id.example/userinfo", "iat": iat,
            "ath": URL_SAFE_NO_PAD.encode(digest(&SHA256, b"token"))});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = URL_SAFE_NO_PAD.encode(pair.sign(input.as_bytes()).as_ref());
        (format!("{input}.{signature}"), PublicJwk::Ed25519 { x }.thumbprint())
    }

    const TARGET: ProofTarget<'static> = ProofTarget {
        method: "GET",
        url: "https://id.example/userinfo",
    };

    #[test]
    fn an_ed25519_proof_checks_and_names_its_key() {
        let (proof, jkt) = ed25519_proof("EdDSA", 1_000);
        let checked = check(&proof, TARGET, Some("token"), 1_030).unwrap();
        assert_eq!((checked.jkt, checked.jti.as_str(), checked.iat), (jkt, "j1", 1_000));
        assert!(
            check(&proof, TARGET, Some("another token"), 1_030).is_err(),
            "ath of another token"
        );
        assert!(check(&proof, TARGET, Some("token"), 1_061).is_err(), "too old");
        let at = proof.rfind('.').unwrap() + 1;
        let other = if proof[at..].starts_with('A') { "B" } else { "A" };
        let tampered = format!("{}{other}{}", &proof[..at], &proof[at + 1..]);
        assert!(check(&tampered, TARGET, Some("token"), 1_030).is_err(), "signature");
        let (mismatched, _) = ed25519_proof("ES256", 1_000);
        assert!(
            check(&mismatched, TARGET, Some("token"), 1_030).is_err(),
            "alg of another key type"
        );
    }
}
