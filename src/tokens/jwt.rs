//! Compact JWS: signing with the parsed in-memory key, verification with the published keys (parsed once), in
//! the algorithm of the key named by `kid` (RS256, ES256 or EdDSA) and no other.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::TokenError;
use super::keyring::{KeySet, Signer};

/// Longest token accepted for verification; anything larger is refused before parsing.
const MAX_TOKEN_LEN: usize = 8 * 1024;

#[derive(Serialize)]
struct SigningHeader<'a> {
    alg: &'static str,
    typ: &'a str,
    kid: &'a str,
}

/// The only header members Tessera's tokens carry. Anything else (`jku`, `jwk`, `x5u`, `crit`, …) and any
/// duplicated member make the token invalid (RFC 7515 §4.1.11, RFC 8725 §3.1).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
}

/// Signs `claims` as a compact JWS with header `typ`.
pub fn sign<C: Serialize>(signer: &Signer, typ: &str, claims: &C) -> Result<String, TokenError> {
    let header = SigningHeader {
        alg: signer.alg.as_str(),
        typ,
        kid: &signer.kid,
    };
    let mut token = encode_json(&header)?;
    token.push('.');
    token.push_str(&encode_json(claims)?);
    let signature = signer.sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(token)
}

fn encode_json<T: Serialize>(value: &T) -> Result<String, TokenError> {
    let json = serde_json::to_vec(value).map_err(|e| TokenError::Key(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// Verifies the signature of `token` with a published key and returns its claims. The header must name a
/// known `kid`, that key's algorithm, and one of the `accepted_types` (compared case-insensitively, with or without the
/// `application/` prefix, RFC 7515 §4.1.9). Time and audience checks are the caller's.
pub fn verify<C: DeserializeOwned>(keys: &KeySet, token: &str, accepted_types: &[&str]) -> Result<C, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Invalid("The token is too long."));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Invalid("The token is not a signed JWT."));
    };
    let signing_input_len = header.len() + 1 + payload.len();
    let header: Header = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(TokenError::Invalid("The token header is malformed."))?;
    let typ = header.typ.unwrap_or_default().to_ascii_lowercase();
    let typ = typ.strip_prefix("application/").unwrap_or(&typ);
    if !accepted_types.iter().any(|accepted| accepted.eq_ignore_ascii_case(typ)) {
        return Err(TokenError::Invalid("The token is not of the expected type."));
    }
    let (alg, key) = header
        .kid
        .as_deref()
        .and_then(|kid| keys.verifier(kid))
        .ok_or(TokenError::Invalid("The token is signed with an unknown key."))?;
    // RFC 8725 §3.1: the algorithm is the key's, whatever else the header says.
    if header.alg != alg.as_str() {
        return Err(TokenError::Invalid("The token is not signed with its key's algorithm."));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Invalid("The token is malformed."))?;
    // The signing input is `header.payload` (RFC 7515 §5.2).
    let signing_input = &token[..signing_input_len];
    key.verify_sig(signing_input.as_bytes(), &signature)
        .map_err(|_| TokenError::Invalid("The token signature is invalid."))?;
    URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(TokenError::Invalid("The token is malformed."))
}
